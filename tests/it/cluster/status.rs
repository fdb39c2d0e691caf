//! The whole cluster on every server: the servers' reports merged into each
//! status.json (groups where they run, monitors per server, heartbeat lines
//! per link), `nm` alerts for servers and links, and a server running
//! another configuration.

use std::time::{Duration, Instant};

use clp::status::{HeartbeatState, MonitorState, ServerState, Snapshot};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::monitor::{escalation, genw, monitors};

/// How long a change may take to show on another server: the report's
/// pacing, CPG, the paced write; a membership change adds Corosync's
/// detection (four tokens); a link Corosync's ping timeout and the links'
/// read period.
const SHOWN: Duration = Duration::from_secs(10);

/// A group `g1` (exec `r1`, not started automatically) and a genw `m1` that
/// fails on a node while the file `fail.m1` exists in the node's directory.
fn cluster_extras() -> String {
    let mon = genw("m1").emergency(&escalation(0, 0, 1));
    format!(
        "  <group name=\"g1\"><gid>0</gid><start>0</start><resource name=\"exec@r1\"/></group>\n  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"r1\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n{}",
        monitors(&[mon])
    )
}

const SCRIPTS: &[(&str, &str)] = &[
    ("g1/r1/start.sh", "exit 0"),
    ("g1/r1/stop.sh", "exit 0"),
    ("monitor.s/m1/genw.sh", "[ ! -e \"$N/fail.m1\" ]"),
];

/// A rig of three servers with [`cluster_extras`], running, all Online on all.
fn three_running() -> ClusterRig {
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    rig.install(&rig.clp_conf(3, &cluster_extras()), SCRIPTS);
    rig.start_all();
    rig.wait_for("all three Online on every server", FORM, |rig| {
        (0..3)
            .all(|o| rig.shows(o, &["node1", "node2", "node3"]))
            .then_some(())
    });
    rig
}

fn snapshot_of(rig: &ClusterRig, node: usize) -> Option<Snapshot> {
    rig.nodes[node].snapshot()
}

/// The state of monitor `name` on each server, as node `observer` shows it.
fn monitor_rows(snap: &Snapshot, name: &str) -> Option<(MonitorState, Vec<MonitorState>)> {
    let m = snap.monitors.iter().find(|m| m.name == name)?;
    Some((m.status, m.servers.iter().map(|s| s.status).collect()))
}

/// The heartbeat `hb` line under `server` as node `observer` shows it.
fn heartbeat(rig: &ClusterRig, observer: usize, server: &str, hb: &str) -> Option<HeartbeatState> {
    let snap = snapshot_of(rig, observer)?;
    let s = snap.servers.iter().find(|s| s.name == server)?;
    s.heartbeats.iter().find(|h| h.name == hb).map(|h| h.status)
}

fn alert_log(rig: &ClusterRig, node: usize) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join("var/log/clp/alert.log"))
        .unwrap_or_default()
}

#[test]
fn every_server_shows_the_groups_where_they_run_and_the_monitors_per_server() {
    if skip("every_server_shows_the_whole_cluster") {
        return;
    }
    let mut rig = three_running();
    // Every monitor row on every server: Normal on all three.
    rig.wait_for("m1 Normal on every server, on every server", SHOWN, |rig| {
        (0..3)
            .all(|o| {
                snapshot_of(rig, o)
                    .and_then(|s| monitor_rows(&s, "m1"))
                    .is_some_and(|(all, rows)| {
                        all == MonitorState::Normal && rows == vec![MonitorState::Normal; 3]
                    })
            })
            .then_some(())
    });

    // g1 started on node2: current node2 everywhere, in clpstat's text too.
    let out = rig.nodes[1].command(crate::daemon::CLPGRP, &["-s", "g1"]);
    assert_eq!(out.code, 0, "clpgrp -s g1 on node2: {}", out.all());
    let started = Instant::now();
    rig.wait_for("g1 current node2 on node1 and node3", SHOWN, |rig| {
        [0, 2]
            .iter()
            .all(|o| {
                snapshot_of(rig, *o).is_some_and(|s| {
                    s.groups
                        .iter()
                        .any(|g| g.name == "g1" && g.current.as_deref() == Some("node2"))
                })
            })
            .then_some(())
    });
    eprintln!(
        "group started on node2 to shown on node1 and node3: {} ms",
        started.elapsed().as_millis()
    );
    let text = rig.nodes[0].command(crate::daemon::CLPSTAT, &[]);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout
            .lines()
            .any(|l| l.contains("current") && l.trim_end().ends_with(": node2")),
        "clpstat on node1:\n{}",
        text.stdout
    );

    let np = rig.nodes[0].command(crate::daemon::CLPSTAT, &["-p"]);
    assert!(
        np.stdout.contains("  Quorum : Yes\n"),
        "clpstat -p:\n{}",
        np.all()
    );

    // m1 fails on node3 only: Caution in the cluster view, Error on node3's row.
    std::fs::write(rig.nodes[2].file("fail.m1"), "").unwrap();
    rig.wait_for("m1 Caution on node1 with node3's row Error", SHOWN, |rig| {
        snapshot_of(rig, 0)
            .and_then(|s| monitor_rows(&s, "m1"))
            .filter(|(all, rows)| {
                *all == MonitorState::Caution
                    && rows
                        == &vec![
                            MonitorState::Normal,
                            MonitorState::Normal,
                            MonitorState::Error,
                        ]
            })
    });

    // node3 crashes: Offline on both others, its report dropped (its
    // monitor row Offline, not its last Error), and nm alert 2.
    let killed = Instant::now();
    rig.nodes[2].kill();
    rig.wait_for("node3 Offline on node1 and node2", SHOWN, |rig| {
        (0..2)
            .all(|o| rig.shows(o, &["node1", "node2"]))
            .then_some(())
    });
    eprintln!(
        "kill to Offline on both others: {} ms (token {TOKEN_MS} ms)",
        killed.elapsed().as_millis()
    );
    rig.wait_for(
        "m1 Normal again on node1, node3's row Offline",
        SHOWN,
        |rig| {
            snapshot_of(rig, 0)
                .and_then(|s| monitor_rows(&s, "m1"))
                .filter(|(all, rows)| {
                    *all == MonitorState::Normal && rows[2] == MonitorState::Offline
                })
        },
    );
    rig.wait_for("nm 2 for node3 in node1's alert log", SHOWN, |rig| {
        alert_log(rig, 0)
            .contains("Server node3 has been stopped.")
            .then_some(())
    });
}

#[test]
fn one_link_down_turns_its_heartbeat_lines_without_a_membership_change() {
    if skip("one_link_down") {
        return;
    }
    let rig = three_running();
    rig.wait_for("lankhb2 Normal under every server on node1", SHOWN, |rig| {
        ["node1", "node2", "node3"]
            .iter()
            .all(|s| heartbeat(rig, 0, s, "lankhb2") == Some(HeartbeatState::Normal))
            .then_some(())
    });
    // node3's second link goes down: nobody hears node3 on it (Error under
    // node3), node1 and node2 are heard by one of two others (Caution).
    let cut = Instant::now();
    rig.link_on(2, 1, false);
    rig.wait_for(
        "lankhb2 Error under node3, Caution under node1",
        SHOWN,
        |rig| {
            (heartbeat(rig, 0, "node3", "lankhb2") == Some(HeartbeatState::Error)
                && heartbeat(rig, 0, "node1", "lankhb2") == Some(HeartbeatState::Caution)
                && heartbeat(rig, 1, "node3", "lankhb2") == Some(HeartbeatState::Error))
            .then_some(())
        },
    );
    eprintln!(
        "link down to the heartbeat lines on node1: {} ms",
        cut.elapsed().as_millis()
    );
    // The other link carries the membership: everyone still Online.
    for o in 0..3 {
        assert!(
            rig.shows(o, &["node1", "node2", "node3"]),
            "node{} after the cut:\n{}",
            o + 1,
            rig.dump()
        );
        assert_eq!(
            heartbeat(&rig, o, "node3", "lankhb1"),
            Some(HeartbeatState::Normal)
        );
    }
    rig.wait_for("nm 4 for lankhb2 of node3 on node1", SHOWN, |rig| {
        alert_log(rig, 0)
            .contains("Resource lankhb2 of server node3 has stopped.")
            .then_some(())
    });
    rig.link_on(2, 1, true);
    rig.wait_for("lankhb2 Normal again under node3 on node1", SHOWN, |rig| {
        (heartbeat(rig, 0, "node3", "lankhb2") == Some(HeartbeatState::Normal)
            && heartbeat(rig, 0, "node1", "lankhb2") == Some(HeartbeatState::Normal))
        .then_some(())
    });
}

#[test]
fn one_of_two_links_cut_between_two_servers_is_caution_under_both() {
    if skip("two_servers_one_link_cut") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.start_all();
    let both = ["node1", "node2"];
    rig.wait_for(
        "both links Normal under both servers on both",
        FORM,
        |rig| {
            (0..2)
                .all(|o| {
                    rig.shows(o, &both)
                        && both.iter().all(|s| {
                            ["lankhb1", "lankhb2"]
                                .iter()
                                .all(|hb| heartbeat(rig, o, s, hb) == Some(HeartbeatState::Normal))
                        })
                })
                .then_some(())
        },
    );
    // node2's second link is cut (its port on the rig's bridge): Corosync on
    // each side sees that link down for the other. Neither end can be
    // blamed, and the first link keeps both members: Caution, not Error.
    let cut = Instant::now();
    rig.link_on(1, 1, false);
    rig.wait_for("lankhb2 Caution under both servers on both", SHOWN, |rig| {
        (0..2)
            .all(|o| {
                both.iter()
                    .all(|s| heartbeat(rig, o, s, "lankhb2") == Some(HeartbeatState::Caution))
            })
            .then_some(())
    });
    eprintln!(
        "two servers, link cut to Caution on both: {} ms",
        cut.elapsed().as_millis()
    );
    for o in 0..2 {
        assert!(rig.shows(o, &both), "node{}:\n{}", o + 1, rig.dump());
        for s in both {
            assert_eq!(
                heartbeat(&rig, o, s, "lankhb1"),
                Some(HeartbeatState::Normal)
            );
        }
    }
    let text = rig.nodes[0].command(crate::daemon::CLPSTAT, &[]).stdout;
    let cautions = text
        .lines()
        .filter(|l| l.trim_start().starts_with("lankhb2") && l.contains(": Caution"))
        .count();
    assert_eq!(cautions, 2, "{text}");
    rig.link_on(1, 1, true);
    rig.wait_for("lankhb2 Normal again on node1", SHOWN, |rig| {
        both.iter()
            .all(|s| heartbeat(rig, 0, s, "lankhb2") == Some(HeartbeatState::Normal))
            .then_some(())
    });
}

#[test]
fn a_server_with_another_configuration_is_reported_and_starts_no_group() {
    if skip("another_configuration") {
        return;
    }
    let mut rig = three_running();
    // A push while node3 is down (forced: node3 skipped) leaves node3 with
    // the clp.conf the other two had before (it differs by a comment).
    rig.nodes[2].kill();
    rig.wait_for("node3 Offline on node1", SHOWN, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    let other = rig.clp_conf(3, &cluster_extras()).replace(
        "<group name=\"g1\">",
        "<group name=\"g1\"><comment>changed</comment>",
    );
    let key = rig.nodes[0].authkey();
    rig.nodes[0].push_with(&other, key.as_deref(), SCRIPTS);
    rig.nodes[2].start_corosync();
    rig.nodes[2].start_clpd();
    rig.wait_for("node3 Caution on node1 and on node3", SHOWN, |rig| {
        [0, 2]
            .iter()
            .all(|o| {
                rig.nodes[*o].server_states().is_some_and(|states| {
                    states.iter().all(|(name, state)| match name.as_str() {
                        "node3" => *state == ServerState::Caution,
                        _ => *state == ServerState::Online,
                    })
                })
            })
            .then_some(())
    });
    let out = rig.nodes[2].command(crate::daemon::CLPGRP, &["-s", "g1"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all()
            .contains("configuration (clp.conf) of node3 differs"),
        "{}",
        out.all()
    );
    // The others may still start it.
    let out = rig.nodes[0].command(crate::daemon::CLPGRP, &["-s", "g1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    // The log has a writer thread of its own: the line may land a moment
    // after the status that showed node3 Caution.
    rig.wait_for("node1 logging that node3 differs", SHOWN, |rig| {
        std::fs::read_to_string(rig.nodes[0].root().join("var/log/clp/nm.log.cur"))
            .is_ok_and(|nm| nm.contains("of node3 differs from the cluster's"))
            .then_some(())
    });
}

#[test]
fn clpstat_h_shows_the_cluster_as_the_server_named_sees_it() {
    if skip("clpstat_h") {
        return;
    }
    let mut rig = three_running();
    // node1 asking for node2's view prints what node2 prints itself: the
    // same merged servers, with `*` on node2. Both read node2's snapshot,
    // so once nothing changes in between they are equal byte for byte.
    for view in [&[][..], &["-m"][..], &["-n"][..], &["-g"][..]] {
        let asked: Vec<&str> = view.iter().copied().chain(["-h", "node2"]).collect();
        rig.wait_for(
            &format!("clpstat {asked:?} on node1 = clpstat {view:?} on node2"),
            SHOWN,
            |rig| {
                let remote = rig.nodes[0].command(crate::daemon::CLPSTAT, &asked);
                let local = rig.nodes[1].command(crate::daemon::CLPSTAT, view);
                (remote.code == 0 && local.code == 0 && remote.stdout == local.stdout).then_some(())
            },
        );
    }
    let json = rig.nodes[0].command(crate::daemon::CLPSTAT, &["--json", "-h", "node2"]);
    json.expect_code(0);
    let snap: Snapshot = serde_json::from_str(&json.stdout).expect("clpstat --json -h: a snapshot");
    let local: Vec<&str> = snap
        .servers
        .iter()
        .filter(|s| s.local)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(local, ["node2"], "{}", json.stdout);
    // -h naming this server reads the local snapshot, as on one server.
    let own = rig.nodes[0].command(crate::daemon::CLPSTAT, &["-h", "node1"]);
    own.expect_code(0);
    assert!(own.stdout.contains("*node1"), "{}", own.stdout);

    let unknown = rig.nodes[0].command(crate::daemon::CLPSTAT, &["-h", "node9"]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown
            .stderr
            .contains("Invalid server name: node9. Servers are: node1, node2, node3"),
        "{}",
        unknown.all()
    );
    let both = rig.nodes[0].command(crate::daemon::CLPSTAT, &["--local", "-h", "node2"]);
    assert_ne!(both.code, 0);
    assert!(both.stderr.contains("give one of them"), "{}", both.all());

    rig.nodes[2].kill();
    rig.wait_for("node3 Offline on node1", SHOWN, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    let gone = rig.nodes[0].command(crate::daemon::CLPSTAT, &["-h", "node3"]);
    assert_ne!(gone.code, 0);
    assert!(
        gone.stderr
            .contains("server node3 is not a member of the cluster now (Offline)"),
        "{}",
        gone.all()
    );
}
