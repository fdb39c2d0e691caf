//! A server whose clpd alone stopped (its Corosync runs on): no partition.
//! Groups it released (`clpcl -t`) move over; groups a SIGKILLed clpd still
//! owns are held (rc 77) until its clpd returns and takes them again.

use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::{CLPCL, CLPGRP};

const MOVED: Duration = Duration::from_secs(30);

fn conf(rig: &ClusterRig) -> String {
    let extra = "  <clp><cluster><syncwait>20</syncwait><releasedeadline>1</releasedeadline></cluster></clp>\n  <group name=\"g\"><gid>0</gid><resource name=\"exec@r\"/></group>\n  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"r\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n";
    rig.clp_conf(2, extra)
}

const START: &str = "echo \"start $CLP_EVENT\" >> \"$N/g-log\"; touch \"$N/g-online\"";
const STOP: &str = "echo \"stop $CLP_EVENT\" >> \"$N/g-log\"; rm -f \"$N/g-online\"";

fn runs(rig: &ClusterRig, node: usize) -> bool {
    rig.nodes[node].file("g-online").exists()
}

fn alerts(rig: &ClusterRig, node: usize) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join("var/log/clp/alert.log"))
        .unwrap_or_default()
}

fn rc_log(rig: &ClusterRig, node: usize) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join("var/log/clp/rc.log.cur"))
        .unwrap_or_default()
}

fn owner_seen_by(rig: &ClusterRig, node: usize) -> String {
    rig.nodes[node]
        .command(CLPGRP, &["-n", "g"])
        .stdout
        .trim()
        .to_string()
}

#[test]
fn a_server_whose_clpd_alone_stopped_is_no_partition_and_keeps_what_it_did_not_release() {
    if skip("clpd_stop") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.install(
        &conf(&rig),
        &[("g/r/start.sh", START), ("g/r/stop.sh", STOP)],
    );
    rig.start_all();
    rig.wait_for("both servers Online on both", FORM, |rig| {
        (0..2)
            .all(|o| rig.shows(o, &["node1", "node2"]))
            .then_some(())
    });
    rig.wait_for("g running on node1", MOVED, |rig| {
        runs(rig, 0).then_some(())
    });

    // clpcl -t on node1 stops and releases g (it stays stopped, as with
    // CLUSTERPRO); node1's clpd then ends (killed): it owns nothing, nothing
    // is held, and the operator may start g on node2.
    rig.nodes[0].command(CLPCL, &["-t"]).success();
    rig.wait_for("g released by node1", MOVED, |rig| {
        (!runs(rig, 0) && rc_log(rig, 1).contains("group g released by node1")).then_some(())
    });
    rig.nodes[0].kill_clpd();
    rig.wait_for("node2 deciding node1's clpd stopped", MOVED, |rig| {
        rig.nodes[1]
            .nm_log()
            .contains("clpd on node1 stopped")
            .then_some(())
    });
    assert!(
        rig.nodes[1].nm_log().contains("it owns no group"),
        "{}",
        rig.dump()
    );
    rig.nodes[1].command(CLPGRP, &["-s", "g"]).success();
    assert!(runs(&rig, 1), "{}", rig.dump());
    rig.nodes[0].start_clpd();
    rig.wait_for("node1 back on both", FORM, |rig| {
        (0..2)
            .all(|o| rig.shows(o, &["node1", "node2"]))
            .then_some(())
    });

    // SIGKILL of node2's clpd: g (still running there) is held on node1,
    // past the release deadline; no NP verdict; rc 77 says why.
    rig.nodes[1].kill_clpd();
    let killed = Instant::now();
    rig.wait_for("node1 holding g", MOVED, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("clpd on node2 stopped")
            .then_some(())
    });
    eprintln!(
        "clpd of node2 SIGKILLed -> node1 decided it only stopped in {} ms (token {TOKEN_MS} ms)",
        killed.elapsed().as_millis()
    );
    rig.wait_for("rc 77 on node1", MOVED, |rig| {
        alerts(rig, 0)
            .contains("cannot communicate with some servers")
            .then_some(())
    });
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        assert!(!runs(&rig, 0), "g failed over to node1\n{}", rig.dump());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(runs(&rig, 1), "{}", rig.dump());
    let log = rig.nodes[0].nm_log();
    assert!(!log.contains("contact with node2 was lost"), "{log}");

    // node2's clpd returns: it takes g over again, all is normal.
    rig.nodes[1].start_clpd();
    rig.wait_for("node2 back and owning g", FORM, |rig| {
        ((0..2).all(|o| rig.shows(o, &["node1", "node2"])) && owner_seen_by(rig, 0) == "node2")
            .then_some(())
    });
    assert!(runs(&rig, 1) && !runs(&rig, 0), "{}", rig.dump());
}
