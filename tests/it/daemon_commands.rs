//! The real clpd driven by the operation commands: asynchronous start scripts
//! and `CLP_PID`, clpgrp and clprsc, reloading the configuration while groups
//! run, and the FailSafe-style example scripts run unchanged.

use std::fs;
use std::path::Path;

use clp::status::{RunState, ServiceState};

use crate::daemon::{
    CLPCL, CLPGRP, CLPRSC, CLPSTAT, HOST, REC_STOP, Rig, alive, all_in, conf, exec, group, pid_in,
    res,
};
use crate::util::copy_dir;

#[test]
fn daemon_async_start_is_online_at_once_and_stop_gets_its_pid() {
    let rig = Rig::new();
    rig.script(
        "g",
        "app",
        "start.sh",
        r#"echo $$ > "$T/app.pid"; echo "start app" >> "$LOG"; exec sleep 300"#,
    );
    rig.script(
        "g",
        "app",
        "stop.sh",
        &format!("{REC_STOP}\nkill \"$CLP_PID\""),
    );
    rig.install(&conf(&[("g", &[exec("app").asynchronous()])], ""));
    rig.start();
    // Online while the start script still runs.
    let snap = rig.wait_snap("app Online with a pid", |s| {
        res(s, "app").status == RunState::Online && res(s, "app").pid.is_some()
    });
    let pid = pid_in(&rig, "app.pid");
    assert_eq!(res(&snap, "app").pid, Some(u32::try_from(pid).unwrap()));
    assert!(alive(pid), "the async start script must still run");
    rig.assert_logged("rc", 31, "Activating app resource has completed.");

    let out = rig.run(CLPGRP, &["-t", "g"]);
    out.success();
    assert_eq!(
        rig.lines_starting("stop app"),
        [format!("stop app GROUPSTOP pid={pid}")]
    );
    rig.wait_gone(pid, "the async start script killed by stop.sh");
    let snap = rig.wait_snap("app Offline without a pid", |s| {
        res(s, "app").status == RunState::Offline && res(s, "app").pid.is_none()
    });
    assert_eq!(group(&snap, "g").status, RunState::Offline);
    rig.stop_daemon();
}

#[test]
fn daemon_group_and_resource_commands() {
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

    // -n prints the server while online, nothing while offline.
    let out = rig.run(CLPGRP, &["-n", "g"]);
    out.success();
    assert_eq!(out.stdout, format!("{HOST}\n"));
    let out = rig.run(CLPGRP, &["-t", "g"]);
    out.success();
    assert_eq!(out.stdout, "Command succeeded.\n");
    rig.wait_snap("g Offline", |s| group(s, "g").status == RunState::Offline);
    let out = rig.run(CLPGRP, &["-n", "g"]);
    out.success();
    assert_eq!(out.stdout, "");
    assert_eq!(
        group(&rig.snapshot().unwrap(), "h").status,
        RunState::Online
    );
    let out = rig.run(CLPGRP, &["-s", "g"]);
    out.success();
    assert_eq!(out.stdout, "Command succeeded.\n");
    rig.wait_snap("g Online", |s| group(s, "g").status == RunState::Online);
    assert_eq!(rig.run(CLPGRP, &["-n", "g"]).stdout, format!("{HOST}\n"));

    // Already online / offline: refused (8), naming the group.
    let out = rig.run(CLPGRP, &["-s", "g"]);
    out.expect_code(8);
    assert!(
        out.stderr.contains("group g is already online"),
        "{}",
        out.stderr
    );

    // -m: a single server has no destination.
    let out = rig.run(CLPGRP, &["-m", "g"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("no appropriate destination for group g"),
        "{}",
        out.stderr
    );
    let out = rig.run(CLPGRP, &["-m", "g", "-a", "elsewhere"]);
    out.expect_code(4);
    assert!(out.stderr.contains("Servers are: n1"), "{}", out.stderr);

    // Unknown groups: exit 4 and the list of groups.
    for args in [["-s", "nosuch"], ["-t", "nosuch"], ["-n", "nosuch"]] {
        let out = rig.run(CLPGRP, &args);
        out.expect_code(4);
        assert!(
            out.stderr
                .contains("Invalid group name: nosuch. Groups are: g, h"),
            "{args:?}: {}",
            out.stderr
        );
    }

    // clprsc -n.
    assert_eq!(rig.run(CLPRSC, &["-n", "ra"]).stdout, format!("{HOST}\n"));
    let out = rig.run(CLPRSC, &["-n", "nosuch"]);
    out.expect_code(4);
    assert!(
        out.stderr.contains("Resources are: ra, rb, rh"),
        "{}",
        out.stderr
    );

    // Stopping ra while its dependent rb is online: refused, naming rb.
    let stops_before = rig.lines_starting("stop").len();
    let out = rig.run(CLPRSC, &["-t", "ra"]);
    out.expect_code(8);
    assert!(out.stderr.contains("rb"), "{}", out.stderr);
    assert_eq!(
        rig.lines_starting("stop").len(),
        stops_before,
        "nothing may stop"
    );
    // With -f the dependent stops first.
    rig.run(CLPRSC, &["-t", "ra", "-f"]).success();
    let snap = rig.wait_snap("ra and rb Offline", |s| {
        all_in(s, &["ra", "rb"], RunState::Offline)
    });
    assert_eq!(group(&snap, "h").status, RunState::Online);
    let lines = rig.lines();
    let stops: Vec<&String> = lines.iter().filter(|l| l.starts_with("stop")).collect();
    assert_eq!(
        stops[stops_before..],
        ["stop rb GROUPSTOP pid=", "stop ra GROUPSTOP pid="],
        "{lines:#?}"
    );
    assert_eq!(rig.run(CLPRSC, &["-n", "ra"]).stdout, "");

    // Starting rb while ra is offline: refused; with -f ra starts first.
    let starts_before = rig.lines_starting("start").len();
    let out = rig.run(CLPRSC, &["-s", "rb"]);
    out.expect_code(8);
    assert!(out.stderr.contains("ra"), "{}", out.stderr);
    assert_eq!(rig.lines_starting("start").len(), starts_before);
    let out = rig.run(CLPRSC, &["-s", "rb", "-f"]);
    out.success();
    assert_eq!(out.stdout, "Command succeeded.\n");
    rig.wait_snap("ra and rb Online", |s| {
        all_in(s, &["ra", "rb"], RunState::Online)
    });
    let lines = rig.lines();
    let starts: Vec<&String> = lines.iter().filter(|l| l.starts_with("start")).collect();
    assert!(
        starts[starts_before].starts_with("start ra START")
            && starts[starts_before + 1].starts_with("start rb START"),
        "{lines:#?}"
    );
    assert_eq!(rig.run(CLPRSC, &["-n", "rb"]).stdout, format!("{HOST}\n"));
    // A single resource stop without dependents.
    rig.run(CLPRSC, &["-t", "rb"]).success();
    rig.wait_snap("rb Offline, ra Online", |s| {
        res(s, "rb").status == RunState::Offline && res(s, "ra").status == RunState::Online
    });
    rig.assert_alert("rc", 83, "Starting a single resource rb.");
    rig.stop_daemon();
}

#[test]
fn daemon_reload_keeps_online_groups_and_adds_new_ones() {
    let rig = Rig::new();
    rig.recording_scripts("g1", &["r1"]);
    rig.install(&conf(&[("g1", &[exec("r1")])], ""));
    let before = rig.start_online();

    // clpcfctrl --push while running: the new group appears Offline.
    rig.recording_scripts("g2", &["r2"]);
    rig.write_conf(&conf(&[("g1", &[exec("r1")]), ("g2", &[exec("r2")])], ""));
    let out = rig.push();
    assert!(
        out.stdout.contains("clpd reloaded the configuration."),
        "{}",
        out.stdout
    );
    let snap = rig.wait_snap("group g2 in the snapshot", |s| {
        s.groups.iter().any(|g| g.name == "g2")
    });
    assert_eq!(group(&snap, "g2").status, RunState::Offline);
    assert_eq!(group(&snap, "g1").status, RunState::Online);
    assert_ne!(snap.cluster.config_digest, before.cluster.config_digest);
    assert_eq!(snap.cluster.service, ServiceState::Online);
    assert_eq!(rig.lines_starting("start r1").len(), 1, "{}", rig.dump());
    assert!(rig.lines_starting("stop").is_empty(), "{}", rig.dump());
    rig.run(CLPGRP, &["-s", "g2"]).success();

    // SIGHUP after installing a file by hand: another group appears.
    rig.recording_scripts("g3", &["r3"]);
    rig.write_conf(&conf(
        &[
            ("g1", &[exec("r1")]),
            ("g2", &[exec("r2")]),
            ("g3", &[exec("r3")]),
        ],
        "",
    ));
    let live = rig.root().join("etc/clp");
    fs::copy(rig.cfg().join("clp.conf"), live.join("clp.conf")).unwrap();
    copy_dir(&rig.cfg().join("scripts/g3"), &live.join("scripts/g3"));
    rig.signal_daemon(nix::sys::signal::Signal::SIGHUP);
    let snap = rig.wait_snap("group g3 in the snapshot", |s| {
        s.groups.iter().any(|g| g.name == "g3")
    });
    assert_eq!(group(&snap, "g3").status, RunState::Offline);
    assert_eq!(group(&snap, "g1").status, RunState::Online);
    assert_eq!(group(&snap, "g2").status, RunState::Online);
    assert_eq!(rig.lines_starting("start r1").len(), 1, "{}", rig.dump());
    assert_eq!(rig.lines_starting("start r2").len(), 1, "{}", rig.dump());
    assert!(rig.lines_starting("start r3").is_empty(), "{}", rig.dump());
    rig.run(CLPSTAT, &[]).success();
    rig.stop_daemon();
}

#[test]
fn daemon_runs_the_failsafe_example_scripts_unchanged() {
    let mut rig = Rig::new();
    let examples =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/failsafe-scripts");
    let examples = if examples.is_dir() {
        examples
    } else {
        Path::new("/work/shared/examples/failsafe-scripts").to_path_buf()
    };
    let dest = rig.cfg().join("scripts/failover1/exec");
    copy_dir(&examples, &dest);
    for f in ["start.sh", "stop.sh"] {
        assert_eq!(
            fs::read(dest.join(f)).unwrap(),
            fs::read(examples.join(f)).unwrap()
        );
    }
    // The scripts read STATE_LOG from their environment: clpd passes it on
    // because CLP_SCRIPT_ENV names it (scripts get a clean environment).
    let state_log = rig.t().join("state.log");
    rig.setenv("STATE_LOG", state_log.to_str().unwrap());
    rig.setenv("CLP_SCRIPT_ENV", "STATE_LOG");
    rig.install(&conf(&[("failover1", &[exec("exec")])], ""));
    rig.start_online();
    let pid = rig.daemon_pid().unwrap();
    let environ = fs::read(format!("/proc/{pid}/environ")).unwrap();
    let wanted = format!("STATE_LOG={}", state_log.display());
    assert!(
        environ.split(|b| *b == 0).any(|e| e == wanted.as_bytes()),
        "the detached clpd did not inherit STATE_LOG"
    );
    let read = || crate::daemon::read_lines(&state_log);
    assert_eq!(
        read(),
        [
            "start.sh failover1/exec: START on home server (priority 1)",
            "start.sh failover1/exec: application started",
        ]
    );
    rig.run(CLPCL, &["-t"]).success();
    rig.wait_service_offline();
    assert_eq!(
        read()[2..],
        [
            "stop.sh failover1/exec: START stop because of CLUSTERSHUTDOWN on HOME server",
            "stop.sh failover1/exec: application stopped",
        ]
    );
    // And a group stop and restart take the same branches.
    rig.start_online();
    rig.run(CLPGRP, &["-t", "failover1"]).success();
    let lines = read();
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "stop.sh failover1/exec: START stop because of GROUPSTOP on HOME server",
            "stop.sh failover1/exec: application stopped",
        ]
    );
    assert!(
        !lines.iter().any(|l| l.contains("not started")
            || l.contains("not stopped")
            || l.contains("disk not ready")),
        "{lines:#?}"
    );
    rig.stop_daemon();
}

/// A thousand monitors need more descriptors than the usual soft limit of
/// 1024: clpd raises its own to the hard limit, and its scripts still get the
/// soft limit clpd started with (select(2)-based programs break above 1023).
#[test]
fn daemon_raises_its_open_files_limit_and_scripts_keep_the_one_it_started_with() {
    use std::os::unix::process::CommandExt;
    let rig = Rig::new();
    rig.script(
        "g",
        "r",
        "start.sh",
        r#"ulimit -n > "$T/nofile"; echo "start r" >> "$LOG""#,
    );
    rig.script("g", "r", "stop.sh", "exit 0");
    rig.install(&conf(&[("g", &[exec("r")])], ""));
    let mut cmd = rig.command(CLPCL);
    cmd.arg("-s");
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    crate::util::run(&mut cmd).success();
    let nofile = rig.wait_for("the start script's limit", || {
        fs::read_to_string(rig.t().join("nofile"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    assert_eq!(nofile.trim(), "512");
    let pid = rig.wait_for("clpd's pid", || rig.daemon_pid());
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[3..5], ["4096", "4096"], "{line}");
    rig.stop_daemon();
}
