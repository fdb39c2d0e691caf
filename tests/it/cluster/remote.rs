//! Commands aimed at another server (`-h HOST`, `clpcl -a`): forwarded by
//! the local clpd over Corosync, carried out by the target's clpd.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use clp::status::{RunState, ServiceState};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::{CLPCL, CLPGRP};

const CLPREXEC: &str = env!("CARGO_BIN_EXE_clprexec");
const CLPMONCTRL: &str = env!("CARGO_BIN_EXE_clpmonctrl");

/// A command's own answer (forwarding, the group's scripts).
const ANSWER: Duration = Duration::from_secs(15);

/// The rig's servers, each with its own group `g<i>` (one exec resource
/// `r<i>` whose scripts succeed at once; its policy names that server only,
/// so it runs there and nowhere else), installed on every node, running and
/// formed.
fn running_rig(n: usize) -> ClusterRig {
    running_rig_with(n, &[])
}

/// As [`running_rig`], with more scripts installed (paths under `scripts/`).
fn running_rig_with(n: usize, extra: &[(&str, &str)]) -> ClusterRig {
    let mut rig = ClusterRig::new(n, TOKEN_MS);
    let names: Vec<String> = rig.nodes.iter().map(|n| n.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut groups = String::new();
    let mut resources = String::new();
    let mut paths = Vec::new();
    for i in 1..=n {
        groups += &format!(
            "  <group name=\"g{i}\"><gid>{i}</gid><policy name=\"node{i}\"><order>0</order></policy><resource name=\"exec@r{i}\"/></group>\n"
        );
        resources += &format!(
            "    <exec name=\"r{i}\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n"
        );
        paths.push((format!("g{i}/r{i}/start.sh"), format!("g{i}/r{i}/stop.sh")));
    }
    let conf = rig.clp_conf(
        n,
        &format!("{groups}  <resource>\n    <types name=\"exec\"/>\n{resources}  </resource>\n"),
    );
    // Each node's group leaves a mark in the node's directory ($N) while it
    // runs: what a node runs, whatever the merged view shows.
    let mut scripts: Vec<(&str, &str)> = Vec::new();
    for (start, stop) in &paths {
        scripts.push((start, "touch \"$N/g-online\""));
        scripts.push((stop, "rm -f \"$N/g-online\""));
    }
    scripts.extend_from_slice(extra);
    rig.install(&conf, &scripts);
    rig.start_all();
    rig.wait_for("every node showing every server Online", FORM, |rig| {
        (0..n).all(|o| rig.shows(o, &names)).then_some(())
    });
    rig
}

/// Whether node `node` runs its copy of g now (its scripts' mark).
fn group_state(rig: &ClusterRig, node: usize) -> Option<RunState> {
    let online = rig.nodes[node].file("g-online").exists();
    Some(if online {
        RunState::Online
    } else {
        RunState::Offline
    })
}

fn service(rig: &ClusterRig, node: usize) -> Option<ServiceState> {
    rig.nodes[node].snapshot().map(|s| s.cluster.service)
}

fn wait_group(rig: &ClusterRig, node: usize, want: RunState) {
    rig.wait_for(
        &format!("group g {want:?} on node{}", node + 1),
        ANSWER,
        |rig| (group_state(rig, node) == Some(want)).then_some(()),
    );
}

#[test]
fn group_commands_reach_the_server_h_names_and_say_why_when_they_cannot() {
    if skip("group_commands_reach_the_server_h_names") {
        return;
    }
    let mut rig = running_rig(3);
    for node in 0..3 {
        wait_group(&rig, node, RunState::Online);
    }

    // node1 stops g2 on node2; node1's own g1 stays.
    rig.nodes[0]
        .command(CLPGRP, &["-t", "g2", "-h", "node2"])
        .success();
    wait_group(&rig, 1, RunState::Offline);
    assert_eq!(group_state(&rig, 0), Some(RunState::Online));
    // ... and starts it again; the answer is node2's own.
    rig.nodes[0]
        .command(CLPGRP, &["-s", "g2", "-h", "node2"])
        .success();
    wait_group(&rig, 1, RunState::Online);
    let again = rig.nodes[0].command(CLPGRP, &["-s", "g2", "-h", "node2"]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("group g2 is already online"),
        "{}",
        again.all()
    );
    // -h naming this server is a local request, as on one server.
    rig.nodes[0]
        .command(CLPGRP, &["-t", "g1", "-h", "node1"])
        .success();
    wait_group(&rig, 0, RunState::Offline);

    // A name no server has: the known ones are listed.
    let unknown = rig.nodes[0].command(CLPGRP, &["-t", "g1", "-h", "node9"]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown
            .stderr
            .contains("Invalid server name: node9. Servers are: node1, node2, node3"),
        "{}",
        unknown.all()
    );

    // node3 crashes: once the others see it Offline, a request for it is
    // refused at once, nothing sent.
    rig.nodes[2].kill();
    rig.wait_for("node1 showing node3 Offline", FORM, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    let asked = Instant::now();
    let offline = rig.nodes[0].command(CLPGRP, &["-t", "g3", "-h", "node3"]);
    let took = asked.elapsed();
    assert_ne!(offline.code, 0);
    assert!(
        offline
            .stderr
            .contains("server node3 is not a member of the cluster now (Offline)"),
        "{}",
        offline.all()
    );
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    eprintln!("Offline target rejected in {} ms", took.as_millis());

    // node2's clpd hangs (its Corosync keeps it a member): the wait given
    // ends the request, and the operator learns the outcome is unknown.
    rig.nodes[1].signal_clpd(Signal::SIGSTOP);
    let asked = Instant::now();
    let frozen = rig.nodes[0].command(CLPGRP, &["-t", "g2", "-h", "node2", "--apito", "2"]);
    let took = asked.elapsed();
    rig.nodes[1].signal_clpd(Signal::SIGCONT);
    assert_ne!(frozen.code, 0);
    assert!(
        frozen.stderr.contains(
            "server node2 did not answer within 2 s; whether the request was carried out is unknown"
        ),
        "{}",
        frozen.all()
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "answered in {took:?}"
    );
    eprintln!(
        "frozen target: deadline rejection after {} ms",
        took.as_millis()
    );
}

#[test]
fn clpcl_stops_and_starts_every_server_with_a_line_each() {
    if skip("clpcl_stops_and_starts_every_server") {
        return;
    }
    let rig = running_rig(2);
    for node in 0..2 {
        wait_group(&rig, node, RunState::Online);
    }
    let stop = rig.nodes[0].command(CLPCL, &["-t", "-a"]);
    stop.success();
    assert_eq!(
        stop.stdout,
        "Stop node1 : Command succeeded.\nStop node2 : Command succeeded.\n"
    );
    for node in 0..2 {
        rig.wait_for("the service Offline", ANSWER, |rig| {
            (service(rig, node) == Some(ServiceState::Offline)).then_some(())
        });
        wait_group(&rig, node, RunState::Offline);
    }
    // clpd and Corosync stay up as the agent: each server shows both
    // services stopped (Offline, as CLUSTERPRO shows a stopped cluster), and
    // the start below still reaches the other server.
    for observer in 0..2 {
        rig.wait_for("both servers shown Offline", ANSWER, |rig| {
            rig.shows(observer, &[]).then_some(())
        });
    }

    let start = rig.nodes[1].command(CLPCL, &["-s", "-a"]);
    start.success();
    assert_eq!(
        start.stdout,
        "Start node1 : Command succeeded.\nStart node2 : Command succeeded.\n"
    );
    for node in 0..2 {
        wait_group(&rig, node, RunState::Online);
    }
}

#[test]
fn clprexec_runs_a_script_of_the_target_and_logs_a_notice_there() {
    if skip("clprexec_runs_a_script_of_the_target") {
        return;
    }
    let rig = running_rig_with(
        2,
        &[
            ("trnreq/mark.sh", "echo \"$(hostname)\" > ./ran"),
            ("trnreq/fail.sh", "exit 3"),
        ],
    );
    let trnreq = |node: usize| rig.nodes[node].root().join("etc/clp/scripts/trnreq");

    let ran = rig.nodes[0].command(CLPREXEC, &["--script", "mark.sh", "-h", "node2"]);
    ran.success();
    assert_eq!(ran.stdout, "Command succeeded.\n");
    assert!(trnreq(1).join("ran").is_file(), "{}", rig.dump());
    assert!(!trnreq(0).join("ran").exists());

    let failed = rig.nodes[0].command(CLPREXEC, &["--script", "fail.sh", "-h", "node2"]);
    assert_ne!(failed.code, 0);
    assert!(
        failed.stderr.contains("script fail.sh ended: exit 3"),
        "{}",
        failed.all()
    );

    // Only names of trnreq/, never a path from the caller.
    let path = rig.nodes[0].command(CLPREXEC, &["--script", "../g2/r2/start.sh", "-h", "node2"]);
    assert_ne!(path.code, 0);
    assert!(
        path.stderr.contains("is not a script name"),
        "{}",
        path.all()
    );
    let missing = rig.nodes[0].command(CLPREXEC, &["--script", "nope.sh", "-h", "node2"]);
    assert!(
        missing
            .stderr
            .contains("Invalid script name: nope.sh. Scripts are: fail.sh, mark.sh"),
        "{}",
        missing.all()
    );

    rig.nodes[0]
        .command(
            CLPREXEC,
            &["--notice", "mrw1", "-k", "db.down", "-h", "node2"],
        )
        .success();
    let alert_log = rig.nodes[1].root().join("var/log/clp/alert.log");
    let want = "There was a notification (mrw1: db.down) from external (IP=node1).";
    rig.wait_for("the notice in node2's alert log", ANSWER, |_| {
        std::fs::read_to_string(&alert_log)
            .is_ok_and(|t| t.contains(want))
            .then_some(())
    });
}

#[test]
fn clpstdn_stops_every_member_and_asks_each_for_its_shutdown() {
    if skip("clpstdn_every_member") {
        return;
    }
    let mut rig = running_rig(3);
    for node in 0..3 {
        wait_group(&rig, node, RunState::Online);
    }
    // node3 is down already: nothing to stop there.
    rig.nodes[2].kill();
    rig.wait_for("node1 showing node3 Offline", FORM, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    let asked = Instant::now();
    let out = rig.nodes[0].command(crate::daemon::CLPSTDN, &[]);
    out.success();
    eprintln!("clpstdn on two members: {} ms", asked.elapsed().as_millis());
    assert_eq!(out.stdout, "Command succeeded.\n");
    assert!(
        out.stderr
            .contains("server node3 is not a member of the cluster now (Offline): skipped"),
        "{}",
        out.all()
    );
    for node in 0..2 {
        rig.wait_for("the service Offline", ANSWER, |rig| {
            (service(rig, node) == Some(ServiceState::Offline)).then_some(())
        });
        wait_group(&rig, node, RunState::Offline);
        // Under the rig's relocated roots the built-in shutdown refuses:
        // that it was asked is what shows here.
        rig.wait_for("the shutdown asked (and refused)", ANSWER, |rig| {
            std::fs::read_to_string(rig.nodes[node].root().join("var/log/clp/pm.log.cur"))
                .unwrap_or_default()
                .contains("refused to shutdown the OS")
                .then_some(())
        });
    }
}

#[test]
fn clprsc_clpmonctrl_and_clpdown_reach_the_server_h_names() {
    if skip("clprsc_clpmonctrl_clpdown_h") {
        return;
    }
    let rig = running_rig(2);
    for node in 0..2 {
        wait_group(&rig, node, RunState::Online);
    }
    let log = |node: usize, module: &str| {
        std::fs::read_to_string(
            rig.nodes[node]
                .root()
                .join(format!("var/log/clp/{module}.log.cur")),
        )
        .unwrap_or_default()
    };
    // A resource of node2, stopped and started from node1.
    rig.nodes[0]
        .command(crate::daemon::CLPRSC, &["-t", "r2", "-h", "node2"])
        .success();
    wait_group(&rig, 1, RunState::Offline);
    assert_eq!(group_state(&rig, 0), Some(RunState::Online));
    rig.nodes[0]
        .command(crate::daemon::CLPRSC, &["-s", "r2", "-h", "node2"])
        .success();
    wait_group(&rig, 1, RunState::Online);

    // Monitoring suspended on node2 (its rm log says so), not on node1.
    rig.nodes[0]
        .command(CLPMONCTRL, &["-s", "-h", "node2"])
        .success();
    rig.wait_for("the suspension in node2's rm log", ANSWER, |_| {
        log(1, "rm").contains("clpmonctrl: Suspend").then_some(())
    });
    assert!(!log(0, "rm").contains("clpmonctrl: Suspend"));

    // node2 stopped and asked to shut down from node1; node1 keeps running.
    rig.nodes[0]
        .command(crate::daemon::CLPDOWN, &["-h", "node2"])
        .success();
    rig.wait_for("node2's service Offline", ANSWER, |rig| {
        (service(rig, 1) == Some(ServiceState::Offline)).then_some(())
    });
    wait_group(&rig, 1, RunState::Offline);
    rig.wait_for(
        "the shutdown asked (and refused) in node2's pm log",
        ANSWER,
        |_| {
            log(1, "pm")
                .contains("refused to shutdown the OS")
                .then_some(())
        },
    );
    assert_eq!(service(&rig, 0), Some(ServiceState::Online));
    assert_eq!(group_state(&rig, 0), Some(RunState::Online));
}
