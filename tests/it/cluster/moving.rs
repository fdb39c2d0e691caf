//! A group on its way between two servers, as clpstat shows it on both:
//! `Offline Pending` on the source while its stop.sh runs (and until the
//! destination shows it), then `Online Pending` on the destination while its
//! start.sh runs, then Online there; never Offline (nowhere) in between.

use std::time::{Duration, Instant};

use clp::vocab::RunState;

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::{CLPGRP, CLPSTAT};

/// How long start.sh and stop.sh take once the node has `slow`.
const SLOW_SECS: u64 = 2;

/// A move with its slow scripts, under load.
const MOVED: Duration = Duration::from_secs(60);

fn conf(rig: &ClusterRig) -> String {
    rig.clp_conf(
        2,
        "  <clp><cluster><syncwait>20</syncwait><releasedeadline>1</releasedeadline></cluster></clp>
  <group name=\"g\"><gid>0</gid><resource name=\"exec@r\"/></group>
  <resource>
    <types name=\"exec\"/>
    <exec name=\"r\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>
  </resource>
",
    )
}

/// g's state and current server as node `i`'s status.json shows it.
fn shown(rig: &ClusterRig, i: usize) -> Option<(RunState, Option<String>)> {
    let snapshot = rig.nodes[i].snapshot()?;
    let g = snapshot.groups.into_iter().find(|g| g.name == "g")?;
    Some((g.status, g.current))
}

/// clpstat's line of group g on node `i`.
fn clpstat_line(rig: &ClusterRig, i: usize) -> String {
    let out = rig.nodes[i].command(CLPSTAT, &[]);
    out.stdout
        .lines()
        .find(|l| l.trim_start().starts_with("g ") || l.trim_start().starts_with("g:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_moving_group_shows_offline_pending_then_online_pending_on_every_server() {
    if skip("moving_group_status") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let slow = format!("[ -e \"$N/slow\" ] && sleep {SLOW_SECS};");
    let start = format!("{slow} touch \"$N/g-online\"");
    let stop = format!("{slow} rm -f \"$N/g-online\"");
    rig.install(
        &conf(&rig),
        &[("g/r/start.sh", &start), ("g/r/stop.sh", &stop)],
    );
    rig.start_all();
    rig.wait_for("both servers Online on both", FORM, |rig| {
        (rig.shows(0, &["node1", "node2"]) && rig.shows(1, &["node1", "node2"])).then_some(())
    });
    let online_on = |server: &str| Some((RunState::Online, Some(server.to_string())));
    rig.wait_for("g Online on node1 as both show it", MOVED, |rig| {
        (shown(rig, 0) == online_on("node1") && shown(rig, 1) == online_on("node1")).then_some(())
    });
    for node in &rig.nodes {
        std::fs::write(node.file("slow"), "").unwrap();
    }

    // The move runs on a thread; both servers' views are sampled meanwhile,
    // and clpstat's text once in each pending state.
    let mut seen: [Vec<(RunState, Option<String>)>; 2] = [Vec::new(), Vec::new()];
    let mut lines: Vec<String> = Vec::new();
    std::thread::scope(|scope| {
        let rig = &rig;
        let mover = scope.spawn(move || rig.nodes[0].command(CLPGRP, &["-m", "g"]));
        let deadline = Instant::now() + MOVED;
        let mut text_of = [false, false];
        while !mover.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the move did not end\n{}",
                rig.dump()
            );
            for (i, log) in seen.iter_mut().enumerate() {
                if let Some(state) = shown(rig, i)
                    && log.last() != Some(&state)
                {
                    log.push(state);
                }
            }
            let pending = [RunState::OfflinePending, RunState::OnlinePending];
            for (k, state) in pending.iter().enumerate() {
                if !text_of[k] && shown(rig, 1).is_some_and(|(s, _)| s == *state) {
                    text_of[k] = true;
                    lines.push(clpstat_line(rig, 1));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = mover.join().unwrap();
        assert_eq!(out.code, 0, "clpgrp -m g: {}\n{}", out.all(), rig.dump());
    });
    rig.wait_for("g Online on node2 as both show it", MOVED, |rig| {
        (shown(rig, 0) == online_on("node2") && shown(rig, 1) == online_on("node2")).then_some(())
    });
    for (i, log) in seen.iter_mut().enumerate() {
        if let Some(state) = shown(&rig, i)
            && log.last() != Some(&state)
        {
            log.push(state);
        }
    }
    eprintln!(
        "node1 showed {:?}\nnode2 showed {:?}\nclpstat on node2: {lines:?}",
        seen[0], seen[1]
    );
    let expected = vec![
        (RunState::Online, Some("node1".to_string())),
        (RunState::OfflinePending, Some("node1".to_string())),
        (RunState::OnlinePending, Some("node2".to_string())),
        (RunState::Online, Some("node2".to_string())),
    ];
    for (i, log) in seen.iter().enumerate() {
        assert_eq!(log, &expected, "as node{} showed it\n{}", i + 1, rig.dump());
    }
    assert!(
        lines.len() == 2
            && lines[0].contains("Offline Pending")
            && lines[1].contains("Online Pending"),
        "{lines:?}"
    );
}
