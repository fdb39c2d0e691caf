//! `clpcl` on a server of a cluster where nothing runs yet: `clpcl -s` starts
//! Corosync (the configured command: here the rig's `start-corosync.sh`),
//! then clpd, and the server joins; `clpcl -t` stops the cluster service
//! only, Corosync and clpd staying up as the agent that takes `-h` and `-a`
//! commands; `clpcl -s -a` starts this server and names the ones it cannot
//! reach.

use std::time::{Duration, Instant};

use clp::status::ServerState;

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::{CLPCL, CLPSTAT};

/// A change shown on another server (reports, CPG, the paced write).
const SHOWN: Duration = Duration::from_secs(10);

/// The state of `server` on `observer`'s `clpstat` (text), if listed.
fn clpstat_state(rig: &ClusterRig, observer: usize, server: &str) -> Option<String> {
    let out = rig.nodes[observer].command(CLPSTAT, &[]);
    out.stdout.lines().find_map(|line| {
        let (name, state) = line.split_once(':')?;
        let name = name.trim().trim_start_matches('*');
        (name.split_whitespace().next() == Some(server) && name.contains("..."))
            .then(|| state.trim().to_string())
    })
}

#[test]
fn clpcl_s_starts_corosync_then_clpd_and_the_server_joins() {
    if skip("clpcl_s_starts_corosync") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.nodes[0].start_corosync();
    rig.nodes[0].start_clpd();
    // node1 waits for node2 (the server sync wait): Online Pending.
    rig.wait_for(
        "node1 Online Pending, node2 Offline on node1",
        FORM,
        |rig| {
            let states = rig.nodes[0].server_states()?;
            (states
                == [
                    ("node1".to_string(), ServerState::OnlinePending),
                    ("node2".to_string(), ServerState::Offline),
                ])
            .then_some(())
        },
    );
    assert_eq!(rig.nodes[1].started_corosync(), None);

    // node2: neither Corosync nor clpd runs.
    let asked = Instant::now();
    let start = rig.nodes[1].command(CLPCL, &["-s"]);
    start.success();
    assert_eq!(start.stdout, "Start node2 : Command succeeded.\n");
    let corosync = rig.nodes[1]
        .started_corosync()
        .unwrap_or_else(|| panic!("clpcl -s started no Corosync\n{}", rig.dump()));
    assert!(rig.nodes[1].launched_clpd().is_some(), "no clpd on node2");
    rig.wait_for("node2 Online in node1's clpstat", FORM, |rig| {
        (clpstat_state(rig, 0, "node2").as_deref() == Some("Online")
            && rig.shows(0, &["node1", "node2"]))
        .then_some(())
    });
    eprintln!(
        "clpcl -s on a bare node to Online on the other: {} ms",
        asked.elapsed().as_millis()
    );

    // clpcl -t stops the cluster service only: the others show the server
    // Offline, and its Corosync and clpd stay up (it is still a member) to
    // take commands from any server.
    let stop = rig.nodes[1].command(CLPCL, &["-t"]);
    stop.success();
    assert_eq!(stop.stdout, "Stop node2 : Command succeeded.\n");
    rig.wait_for("node2 Offline on node1", SHOWN, |rig| {
        rig.shows(0, &["node1"]).then_some(())
    });
    assert_eq!(rig.nodes[1].started_corosync(), Some(corosync));
    let members = rig.nodes[0]
        .snapshot()
        .and_then(|s| s.cluster.quorum)
        .map(|q| q.members)
        .unwrap_or_default();
    assert_eq!(members, ["node1", "node2"], "{}", rig.dump());

    // Started again from the other server; Corosync is not started twice.
    let again = rig.nodes[0].command(CLPCL, &["-s", "-h", "node2"]);
    again.success();
    assert_eq!(again.stdout, "Start node2 : Command succeeded.\n");
    rig.wait_for("node2 Online again on node1", SHOWN, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    rig.nodes[1].command(CLPCL, &["-s"]).success();
    assert_eq!(rig.nodes[1].started_corosync(), Some(corosync));
    assert_eq!(
        rig.nodes[1]
            .server_states()
            .unwrap_or_default()
            .iter()
            .map(|(_, s)| *s)
            .collect::<Vec<_>>(),
        [ServerState::Online, ServerState::Online]
    );
}

#[test]
fn clpcl_s_a_starts_this_server_and_names_the_ones_it_cannot_reach() {
    if skip("clpcl_s_a_on_bare_nodes") {
        return;
    }
    let rig = ClusterRig::new(2, TOKEN_MS);
    let start = rig.nodes[0].command(CLPCL, &["-s", "-a"]);
    assert_ne!(start.code, 0, "{}", start.all());
    assert!(
        start
            .stdout
            .starts_with("Start node1 : Command succeeded.\n"),
        "{}",
        start.all()
    );
    assert!(
        start.stderr.contains("Start node2 : "),
        "the failure names node2: {}",
        start.all()
    );
    eprintln!("clpcl -s -a with node2 down: {}", start.stderr.trim());
    assert!(rig.nodes[0].started_corosync().is_some());
    assert!(rig.nodes[1].started_corosync().is_none());

    // node2 started on its own joins; -s -a then succeeds for both.
    rig.nodes[1].command(CLPCL, &["-s"]).success();
    rig.wait_for("both Online on both", FORM, |rig| {
        (rig.shows(0, &["node1", "node2"]) && rig.shows(1, &["node1", "node2"])).then_some(())
    });
    let all = rig.nodes[0].command(CLPCL, &["-s", "-a"]);
    all.success();
    assert_eq!(
        all.stdout,
        "Start node1 : Command succeeded.\nStart node2 : Command succeeded.\n"
    );
}
