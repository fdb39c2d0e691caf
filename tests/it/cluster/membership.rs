//! Membership as every clpd shows it: formation, a node killed and back,
//! two nodes, clpd waiting for Corosync.

use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};

/// How long the others may take to see a killed node Offline: the token
/// timeout, consensus (1.2 tokens), the new membership, CPG's report, then
/// clpd's paced snapshot; four tokens plus two seconds bound it.
fn offline_within(token_ms: u64) -> Duration {
    Duration::from_millis(4 * token_ms + 2000)
}

fn all_names(rig: &ClusterRig) -> Vec<String> {
    rig.nodes.iter().map(|n| n.name.clone()).collect()
}

/// Waits until every node in `observers` shows exactly `online` Online.
fn wait_shown(rig: &ClusterRig, observers: &[usize], online: &[&str], limit: Duration) {
    rig.wait_for(
        &format!("nodes {observers:?} showing exactly {online:?} Online"),
        limit,
        |rig| {
            observers
                .iter()
                .all(|o| rig.shows(*o, online))
                .then_some(())
        },
    );
}

#[test]
fn three_servers_form_a_cluster_and_a_killed_one_goes_offline_then_comes_back() {
    if skip("three_servers_form") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    rig.start_all();
    let names = all_names(&rig);
    let every: Vec<&str> = names.iter().map(String::as_str).collect();
    wait_shown(&rig, &[0, 1, 2], &every, FORM);

    // node3 crashes: SIGKILL of Corosync and clpd.
    let killed = Instant::now();
    rig.nodes[2].kill();
    wait_shown(&rig, &[0, 1], &["node1", "node2"], offline_within(TOKEN_MS));
    eprintln!(
        "kill to Offline on both others: {} ms (token {TOKEN_MS} ms)",
        killed.elapsed().as_millis()
    );

    // It comes back: Online everywhere again.
    rig.nodes[2].start_corosync();
    rig.nodes[2].start_clpd();
    wait_shown(&rig, &[0, 1, 2], &every, FORM);
}

#[test]
fn two_servers_form_a_cluster() {
    if skip("two_servers_form") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.start_all();
    wait_shown(&rig, &[0, 1], &["node1", "node2"], FORM);
}

#[test]
fn a_reload_that_adds_a_server_shows_it_offline_and_keeps_the_members() {
    if skip("reload_adds_a_server") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    rig.start_all();
    wait_shown(&rig, &[0, 1], &["node1", "node2"], FORM);
    // A third server joins the configuration before its machine is up.
    let three = rig.clp_conf(3, "");
    for node in &rig.nodes {
        node.push(&three);
    }
    rig.wait_for(
        "both showing node3 Offline beside two Online",
        FORM,
        |rig| {
            (0..2)
                .all(|o| rig.shows_with(o, &["node1", "node2"], 3))
                .then_some(())
        },
    );
}

#[test]
fn clpd_started_before_corosync_waits_and_joins_when_it_comes_up() {
    if skip("clpd_before_corosync") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    for node in &mut rig.nodes {
        node.start_clpd();
    }
    // Each clpd runs alone, says why, and keeps trying.
    rig.wait_for("both clpd saying Corosync is not reachable", FORM, |rig| {
        rig.nodes
            .iter()
            .all(|n| {
                std::fs::read_to_string(n.root().join("var/log/clp/nm.log.cur"))
                    .is_ok_and(|log| log.contains("Corosync is not reachable"))
            })
            .then_some(())
    });
    // Each shows itself starting (waiting for the other: the server sync
    // wait) and the other Offline.
    use clp::status::ServerState::{Offline, OnlinePending};
    for (node, want) in [(0, [OnlinePending, Offline]), (1, [Offline, OnlinePending])] {
        rig.wait_for("each clpd showing itself Online Pending", FORM, |rig| {
            let states = rig.nodes[node].server_states()?;
            states.iter().map(|(_, s)| *s).eq(want).then_some(())
        });
    }
    for node in &mut rig.nodes {
        node.start_corosync();
    }
    wait_shown(&rig, &[0, 1], &["node1", "node2"], FORM);
}

#[test]
fn a_frozen_server_and_a_cut_off_one_go_offline_and_come_back() {
    if skip("frozen_and_cut_off") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    rig.start_all();
    let names = all_names(&rig);
    let every: Vec<&str> = names.iter().map(String::as_str).collect();
    wait_shown(&rig, &[0, 1, 2], &every, FORM);

    // node3 freezes (SIGSTOP of Corosync and clpd): the others drop it.
    let frozen = Instant::now();
    rig.nodes[2].signal(nix::sys::signal::Signal::SIGSTOP);
    wait_shown(&rig, &[0, 1], &["node1", "node2"], offline_within(TOKEN_MS));
    eprintln!(
        "freeze to Offline on both others: {} ms (token {TOKEN_MS} ms)",
        frozen.elapsed().as_millis()
    );
    rig.nodes[2].signal(nix::sys::signal::Signal::SIGCONT);
    wait_shown(&rig, &[0, 1, 2], &every, FORM);

    // node3's only link goes down: each side sees the other Offline, and
    // node3, alone of three, loses quorum.
    let cut = Instant::now();
    rig.link(2, false);
    wait_shown(&rig, &[0, 1], &["node1", "node2"], offline_within(TOKEN_MS));
    eprintln!(
        "link down to Offline on both others: {} ms (token {TOKEN_MS} ms)",
        cut.elapsed().as_millis()
    );
    wait_shown(&rig, &[2], &["node3"], offline_within(TOKEN_MS));
    rig.wait_for("node3 logging its loss of quorum", FORM, |rig| {
        std::fs::read_to_string(rig.nodes[2].root().join("var/log/clp/nm.log.cur"))
            .is_ok_and(|log| log.contains("has no quorum"))
            .then_some(())
    });
    rig.link(2, true);
    wait_shown(&rig, &[0, 1, 2], &every, FORM);
}

/// The names of a process's threads.
fn thread_names(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|c| c.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn one_server_runs_without_any_corosync_code_path() {
    // Needs no root and no Corosync: that is the point.
    let rig = crate::daemon::Rig::new();
    rig.install(&crate::daemon::conf(&[], ""));
    rig.start();
    let pid = rig.wait_for("clpd running", || rig.daemon_pid());
    let names = rig.wait_for("clpd's threads", || {
        let names = thread_names(pid);
        names.iter().any(|n| n == "signals").then_some(names)
    });
    assert!(
        !names.iter().any(|n| n == "corosync"),
        "a one-server clpd started the cluster thread: {names:?}"
    );
    let nm = std::fs::read_to_string(rig.root().join("var/log/clp/nm.log.cur")).unwrap_or_default();
    assert!(!nm.contains("Corosync"), "{nm}");
    rig.stop_daemon();
}
