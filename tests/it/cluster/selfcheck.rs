//! The self-check against a really deaf clpd: its cluster thread (the one
//! that dispatches Corosync's callbacks) is stopped alone, by ptrace, as if
//! stuck in a call to Corosync, while a server leaves. The thread beside it
//! still asks Corosync who is in the group, so clpd says it no longer hears
//! Corosync, raises the alert, says again that the thread seems stuck, and
//! once the thread runs again it reconnects and shows the membership as it is.

use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};

/// One thread of another process stopped by ptrace (the others run on);
/// running again when dropped (also when the test failed).
struct FrozenThread {
    tid: libc::pid_t,
}

impl FrozenThread {
    fn freeze(tid: libc::pid_t) -> FrozenThread {
        // SAFETY: plain ptrace requests on a thread id; no memory is passed.
        let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) };
        assert_eq!(
            seized,
            0,
            "PTRACE_SEIZE of thread {tid}: {}",
            std::io::Error::last_os_error()
        );
        let frozen = FrozenThread { tid };
        // SAFETY: as above.
        let interrupted = unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) };
        assert_eq!(
            interrupted,
            0,
            "PTRACE_INTERRUPT: {}",
            std::io::Error::last_os_error()
        );
        let mut status = 0;
        // SAFETY: waits for the traced thread's stop; `status` is ours.
        let waited = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        assert_eq!(waited, tid, "waitpid: {}", std::io::Error::last_os_error());
        frozen
    }
}

impl Drop for FrozenThread {
    fn drop(&mut self) {
        // SAFETY: detaching a thread this test seized; it runs on.
        unsafe { libc::ptrace(libc::PTRACE_DETACH, self.tid, 0, 0) };
    }
}

/// The id of the thread named `name` of process `pid`.
fn thread_named(pid: i32, name: &str) -> Option<libc::pid_t> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .filter_map(Result::ok)
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == name)
        })
        .and_then(|task| task.file_name().to_str()?.parse().ok())
}

#[test]
fn a_clpd_whose_cluster_thread_stops_hearing_says_so_and_recovers_when_it_runs_again() {
    if skip("self_check_deaf") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    rig.start_all();
    let every = ["node1", "node2", "node3"];
    rig.wait_for("all three Online on every node", FORM, |rig| {
        (0..3).all(|o| rig.shows(o, &every)).then_some(())
    });
    rig.wait_for("node1's self-check running", FORM, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("clpd checks with each answer")
            .then_some(())
    });
    let clpd = rig.nodes[0].clpd_pid().expect("node1's clpd runs");
    let tid = thread_named(clpd, "corosync").expect("clpd's cluster thread");
    let frozen = FrozenThread::freeze(tid);

    // node3 crashes; node1's clpd cannot hear it, Corosync's answers tell.
    let killed = Instant::now();
    rig.nodes[2].kill();
    let bound = selfcheck_bound();
    rig.wait_for("node1 saying it no longer hears Corosync", bound, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("clpd no longer hears Corosync's membership")
            .then_some(())
    });
    eprintln!(
        "deafness said {} ms after the kill",
        killed.elapsed().as_millis()
    );
    let alerts = rig.nodes[0].alerts();
    assert!(
        alerts
            .iter()
            .any(|a| a.module == "nm" && a.event_id == 80 && a.message.contains("node3")),
        "no nm 80 for node3: {alerts:?}"
    );
    // The reconnection it asked for cannot happen while the thread is stuck:
    // said again, with what to do.
    rig.wait_for(
        "node1 saying its cluster thread seems stuck",
        bound,
        |rig| {
            rig.nodes[0]
                .nm_log()
                .contains("the cluster thread seems stuck")
                .then_some(())
        },
    );

    // The thread runs again: it reconnects, and node1 shows what is.
    drop(frozen);
    rig.wait_for("node1 reconnecting at its own request", FORM, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("clpd asked for a new connection")
            .then_some(())
    });
    rig.wait_for("node1 showing node3 Offline", FORM, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    // node1's reconnection is news to node2 as well: its status may show it
    // a write later than node1's own.
    rig.wait_for("node2 showing node1 back and node3 Offline", FORM, |rig| {
        rig.shows(1, &["node1", "node2"]).then_some(())
    });
    // node2 heard everything, answers agreeing every LINK_READ_EVERY for the
    // whole test: that the check runs is said once per connection, not at
    // every answer.
    let log = rig.nodes[1].nm_log();
    let said = log.matches("clpd checks with each answer").count();
    let connections = log.matches("connected to Corosync as node").count();
    assert!(
        (1..=connections).contains(&said),
        "said {said} times over {connections} connection(s):\n{log}"
    );
}

/// The self-check's own bound, plus the link reader's period and Corosync's
/// detection of a dead node (four tokens), plus slack for a loaded machine.
fn selfcheck_bound() -> Duration {
    clp::cluster::hearing::DEAF_AFTER
        + clp::cluster::links::LINK_READ_EVERY
        + Duration::from_millis(4 * TOKEN_MS)
        + Duration::from_secs(10)
}
