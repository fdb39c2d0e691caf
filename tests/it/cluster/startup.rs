//! The server sync wait: the first start of the service starts the groups
//! only once every server has reported (or the wait has passed), so that a
//! server running another configuration never starts them.

use std::time::{Duration, Instant};

use clp::status::{ServerState, ServiceState};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::CLPSTAT;

/// A change shown on another server, a group's scripts.
const SHOWN: Duration = Duration::from_secs(15);

/// Group `ga` (started automatically; its script leaves `ga-online` in the
/// node's directory while it runs) and the sync wait `wait_secs`.
fn conf(rig: &ClusterRig, servers: usize, wait_secs: u64, comment: &str) -> String {
    let extra = format!(
        "  <clp><cluster><syncwait>{wait_secs}</syncwait></cluster></clp>\n  <group name=\"ga\"><gid>0</gid><comment>{comment}</comment><resource name=\"exec@ra\"/></group>\n  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"ra\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n"
    );
    rig.clp_conf(servers, &extra)
}

const SCRIPTS: &[(&str, &str)] = &[
    ("ga/ra/start.sh", "touch \"$N/ga-online\""),
    ("ga/ra/stop.sh", "rm -f \"$N/ga-online\""),
];

fn runs_ga(rig: &ClusterRig, node: usize) -> bool {
    rig.nodes[node].file("ga-online").exists()
}

fn log(rig: &ClusterRig, node: usize, file: &str) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join("var/log/clp").join(file))
        .unwrap_or_default()
}

fn service(rig: &ClusterRig, node: usize) -> Option<ServiceState> {
    rig.nodes[node].snapshot().map(|s| s.cluster.service)
}

#[test]
fn a_server_with_another_configuration_starts_its_service_but_not_its_groups() {
    if skip("another_configuration_no_groups") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    rig.install(&conf(&rig, 3, 60, "first"), SCRIPTS);
    rig.start_all();
    // ga runs on one server: the first of its policy (all servers by
    // priority).
    rig.wait_for("ga running on node1", FORM, |rig| {
        runs_ga(rig, 0).then_some(())
    });
    assert!(!runs_ga(&rig, 1) && !runs_ga(&rig, 2), "{}", rig.dump());
    for node in 0..3 {
        let alerts = log(&rig, node, "alert.log");
        assert!(
            alerts.contains("Waiting for all servers to start.")
                && alerts.contains("All servers have started."),
            "node{}: {alerts}",
            node + 1
        );
    }

    // node3 misses a push while it is down and comes back with the old one
    // (started by its boot: the sync wait, then the decision).
    rig.nodes[2].kill();
    rig.wait_for("node3 Offline on node1", SHOWN, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    // As after a reboot: nothing runs there, and clpd's state is of an
    // earlier boot (so it starts the service instead of taking over).
    let _ = std::fs::remove_file(rig.nodes[2].file("ga-online"));
    let state = rig.nodes[2].root().join("var/lib/clp/state.json");
    let mut persisted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    persisted["boot_id"] = "an earlier boot".into();
    std::fs::write(&state, serde_json::to_vec(&persisted).unwrap()).unwrap();
    let key = rig.nodes[0].authkey();
    rig.nodes[0].push_with(&conf(&rig, 3, 60, "second"), key.as_deref(), SCRIPTS);
    let back = Instant::now();
    rig.nodes[2].start_corosync();
    rig.nodes[2].start_clpd();
    rig.wait_for("node3 deciding not to start its groups", FORM, |rig| {
        log(rig, 2, "nm.log.cur")
            .contains("its groups are not started")
            .then_some(())
    });
    eprintln!(
        "node3 back to its groups held: {} ms",
        back.elapsed().as_millis()
    );
    assert!(!runs_ga(&rig, 2), "node3 started ga:\n{}", rig.dump());
    // The wait is over (Starting no more); the snapshot follows the log line.
    rig.wait_for("node3's service Online", SHOWN, |rig| {
        (service(rig, 2) == Some(ServiceState::Online)).then_some(())
    });
    rig.wait_for("node3 Caution on node1", SHOWN, |rig| {
        rig.nodes[0]
            .server_states()
            .is_some_and(|s| s.contains(&("node3".to_string(), ServerState::Caution)))
            .then_some(())
    });
    // Brought in line, it may run them again: ga moves there. (The push
    // carries node1's scripts, whose mark is node1's: the status shows where
    // it runs.)
    rig.nodes[0].push_with(&conf(&rig, 3, 60, "second"), key.as_deref(), SCRIPTS);
    rig.wait_for("node3 Online on node1", SHOWN, |rig| {
        rig.shows(0, &["node1", "node2", "node3"]).then_some(())
    });
    rig.nodes[2]
        .command(crate::daemon::CLPGRP, &["-m", "ga", "-a", "node3"])
        .success();
    rig.wait_for("ga shown on node3", SHOWN, |rig| {
        let out = rig.nodes[0].command(crate::daemon::CLPGRP, &["-n", "ga"]);
        (out.stdout.trim() == "node3").then_some(())
    });
}

#[test]
fn a_server_alone_ends_its_sync_wait_and_starts_its_groups_once_quorate() {
    if skip("alone_sync_wait") {
        return;
    }
    const WAIT_SECS: u64 = 6;
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.install(&conf(&rig, 2, WAIT_SECS, ""), SCRIPTS);
    let started = Instant::now();
    rig.nodes[0].start_corosync();
    rig.nodes[0].start_clpd();
    // The service runs at once (clpcl -s is answered) but shows that it
    // waits: Starting, this server Online Pending; the group waits.
    rig.wait_for("node1's service Starting", SHOWN, |rig| {
        (service(rig, 0) == Some(ServiceState::Starting)).then_some(())
    });
    let stat = rig.nodes[0].command(CLPSTAT, &[]);
    let json = rig.nodes[0].command(CLPSTAT, &["--json"]);
    if started.elapsed() < Duration::from_secs(WAIT_SECS) {
        assert!(!runs_ga(&rig, 0), "ga started before the wait ended");
        let line = stat.stdout.lines().find(|l| l.contains("*node1 "));
        assert!(
            line.is_some_and(|l| l.contains(": Online Pending")),
            "{}",
            stat.stdout
        );
        let snap: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(snap["cluster"]["service"], "Starting", "{}", json.stdout);
        assert_eq!(snap["servers"][0]["status"], "Online Pending");
        assert_eq!(snap["groups"][0]["status"], "Offline");
    }
    // Alone in a two-server cluster it has no quorum (Corosync's two_node
    // waits for both servers once): the wait ends, no group starts.
    rig.wait_for(
        "node1 holding its groups for want of quorum",
        Duration::from_secs(WAIT_SECS) + SHOWN,
        |rig| {
            log(rig, 0, "rc.log.cur")
                .contains("partition has no quorum: it starts and takes over no group")
                .then_some(())
        },
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(WAIT_SECS), "{took:?}");
    assert!(!runs_ga(&rig, 0), "{}", rig.dump());
    // node2 comes: quorum, and ga starts on node1 (its policy's first).
    rig.nodes[1].start_corosync();
    rig.nodes[1].start_clpd();
    rig.wait_for("ga running on node1", FORM, |rig| {
        runs_ga(rig, 0).then_some(())
    });
    eprintln!(
        "node1 alone, then node2: ga running after {} ms",
        started.elapsed().as_millis()
    );
    assert!(!runs_ga(&rig, 1), "{}", rig.dump());
    rig.wait_for("node1's service Online after the wait", SHOWN, |rig| {
        (service(rig, 0) == Some(ServiceState::Online)
            && rig.nodes[0]
                .server_states()
                .is_some_and(|s| s[0] == ("node1".to_string(), ServerState::Online)))
        .then_some(())
    });
    let alerts = log(&rig, 0, "alert.log");
    assert!(
        alerts.contains(
            "Timeout occurred during the wait for startup of all servers. (Cannot communicate with some servers.)"
        ),
        "{alerts}"
    );
}
