//! clpd's typed rejections as the operator reads them: the exact line each
//! command prints, its exit code, and `clpgrp` on every group skipping the
//! groups already as asked (decided on the rejection's type, not its words).

use clp::status::RunState;

use crate::daemon::{CLPCL, CLPGRP, CLPRSC, Rig, conf, exec, group};
use crate::util::Output;

const CLPMONCTRL: &str = env!("CARGO_BIN_EXE_clpmonctrl");

/// Asserts the exit code and the whole of stderr.
fn refused(out: &Output, code: i32, stderr: &str) {
    out.expect_code(code);
    assert_eq!(out.stderr, stderr);
    assert_eq!(out.stdout, "");
}

fn succeeded(out: &Output) {
    out.success();
    assert_eq!(out.stdout, "Command succeeded.\n");
}

#[test]
fn daemon_rejections_read_as_clusterpro_wording_with_their_exit_codes() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["ra", "rb"]);
    rig.recording_scripts("h", &["rh"]);
    rig.install(&conf(
        &[
            ("g", &[exec("ra"), exec("rb").depends("ra")]),
            ("h", &[exec("rh")]),
        ],
        "",
    ));
    rig.start_online();

    refused(
        &rig.run(CLPGRP, &["-s", "g"]),
        8,
        "clpgrp: error: group g is already online\n",
    );
    refused(
        &rig.run(CLPGRP, &["-m", "g"]),
        8,
        "clpgrp: error: There is no appropriate destination for group g: this cluster has one server (n1)\n",
    );
    refused(
        &rig.run(CLPGRP, &["-m", "g", "-a", "n1"]),
        8,
        "clpgrp: error: Group g is already on server n1; there is no other server to move it to\n",
    );
    refused(
        &rig.run(CLPGRP, &["-t", "nosuch"]),
        4,
        "clpgrp: error: Invalid group name: nosuch. Groups are: g, h\n",
    );
    refused(
        &rig.run(CLPRSC, &["-s", "ra"]),
        8,
        "clprsc: error: resource ra is already online\n",
    );
    refused(
        &rig.run(CLPRSC, &["-t", "ra"]),
        8,
        "clprsc: error: rb depend(s) on resource ra and is not offline; stop it first or use -f\n",
    );
    refused(
        &rig.run(CLPRSC, &["-s", "nosuch"]),
        4,
        "clprsc: error: Invalid resource name: nosuch. Resources are: ra, rb, rh\n",
    );
    refused(
        &rig.run(CLPMONCTRL, &["-s", "-m", "nosuch"]),
        4,
        "clpmonctrl: error: Invalid monitor resource name: nosuch. Monitors are:\n",
    );

    // Every group: those already online (on this server) are skipped.
    succeeded(&rig.run(CLPGRP, &["-s"]));
    succeeded(&rig.run(CLPGRP, &["-m", "-a", "n1"]));

    succeeded(&rig.run(CLPGRP, &["-t", "h"]));
    rig.wait_snap("h Offline", |s| group(s, "h").status == RunState::Offline);
    refused(
        &rig.run(CLPGRP, &["-t", "h"]),
        8,
        "clpgrp: error: group h is already offline\n",
    );
    refused(
        &rig.run(CLPRSC, &["-t", "rh"]),
        8,
        "clprsc: error: resource rh is already offline\n",
    );
    refused(
        &rig.run(CLPRSC, &["-s", "rb"]),
        8,
        "clprsc: error: resource rb is already online\n",
    );
    // Stopping every group stops g and skips h, already offline.
    succeeded(&rig.run(CLPGRP, &["-t"]));
    rig.wait_snap("g Offline", |s| group(s, "g").status == RunState::Offline);
    refused(
        &rig.run(CLPRSC, &["-s", "rb"]),
        8,
        "clprsc: error: resource rb depends on ra, which is not online; start it first or use -f\n",
    );

    rig.run(CLPCL, &["-t"]).success();
    let not_running = "the cluster service is not running; start it with clpcl -s\n";
    refused(
        &rig.run(CLPGRP, &["-s", "g"]),
        8,
        &format!("clpgrp: error: {not_running}"),
    );
    refused(
        &rig.run(CLPCL, &["--suspend"]),
        8,
        &format!("clpcl: error: {not_running}"),
    );
    rig.stop_daemon();
}
