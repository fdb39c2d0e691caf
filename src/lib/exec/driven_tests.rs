//! A driven executor with real processes: its owner waits on its descriptor
//! (with a deadline, never a fixed sleep) and takes what ended.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::super::{Containment, Executor, Finished, Outcome, Output, ScriptSpec};

/// Long enough for a loaded machine, short enough to fail fast.
const WAIT: Duration = Duration::from_secs(10);

fn driven() -> Executor {
    Executor::driven(Containment::ProcessGroups("a test".into())).unwrap()
}

fn sh(code: &str, timeout: Option<Duration>) -> ScriptSpec {
    ScriptSpec {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".into(), code.into()],
        env: Vec::new(),
        cwd: PathBuf::from("/"),
        output: Output::Discard,
        timeout,
        kill_grace: Duration::from_millis(200),
        identify: false,
        cgroup_label: None,
    }
}

/// What an owner's loop does: wait on the descriptor until the executor's
/// next wake, take what ended; until `tag` ended or the deadline.
fn wait_for(ex: &Executor, tag: u64) -> Option<Finished> {
    wait_seeing(ex, tag, &mut Vec::new())
}

/// [`wait_for`], keeping the tags of every end reported meanwhile in `seen`.
fn wait_seeing(ex: &Executor, tag: u64, seen: &mut Vec<u64>) -> Option<Finished> {
    let give_up = Instant::now() + WAIT;
    let mut wakes = 0;
    while Instant::now() < give_up {
        let until = ex.next_wake().map_or(give_up, |at| at.min(give_up));
        let left = until.saturating_duration_since(Instant::now());
        let timeout = Timespec::try_from(left).unwrap();
        let fd = ex.ready_fd().expect("a driven executor has a descriptor");
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&timeout));
        wakes += 1;
        assert!(wakes < 1000, "the descriptor stays readable: a busy loop");
        let ended = ex.take_finished();
        seen.extend(ended.iter().map(|f| f.tag));
        if let Some(f) = ended.into_iter().find(|f| f.tag == tag) {
            return Some(f);
        }
    }
    None
}

#[test]
fn a_driven_executor_reports_an_end_through_its_descriptor_without_a_thread() {
    let ex = driven();
    assert!(ex.thread.is_none());
    let spawned = ex.spawn(7, sh("exit 3", None)).unwrap();
    let f = wait_for(&ex, 7).expect("the end is reported");
    assert_eq!((f.pid, f.outcome), (spawned.pid, Outcome::Exited(3)));
    // Reaped: no zombie left behind.
    assert!(!std::path::Path::new(&format!("/proc/{}", spawned.pid)).exists());
    // Nothing more to report, and nothing to wake for.
    assert!(ex.take_finished().is_empty());
    assert!(ex.next_wake().is_none());
}

#[test]
fn a_driven_executor_kills_a_run_at_its_timeout_when_its_owner_wakes_in_time() {
    let ex = driven();
    let started = Instant::now();
    // The group ignores SIGTERM: the SIGKILL after the grace ends it.
    ex.spawn(
        8,
        sh(
            "trap '' TERM; sleep 30 & wait",
            Some(Duration::from_millis(100)),
        ),
    )
    .unwrap();
    assert!(ex.next_wake().is_some(), "the timeout is a wake-up");
    let f = wait_for(&ex, 8).expect("the run is killed");
    assert_eq!(f.outcome, Outcome::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_forgotten_run_of_a_driven_executor_is_reaped_without_a_report() {
    let ex = driven();
    let forgotten = ex.spawn(9, sh("exit 0", None)).unwrap();
    ex.forget(9);
    ex.spawn(10, sh("exit 1", None)).unwrap();
    let mut seen = Vec::new();
    let f = wait_seeing(&ex, 10, &mut seen).expect("the other run is reported");
    assert_eq!(f.outcome, Outcome::Exited(1));
    assert!(!seen.contains(&9), "{seen:?}");
    let give_up = Instant::now() + WAIT;
    let proc_dir = format!("/proc/{}", forgotten.pid);
    while std::path::Path::new(&proc_dir).exists() && Instant::now() < give_up {
        assert!(ex.take_finished().iter().all(|f| f.tag != 9));
        let fd = ex.ready_fd().unwrap();
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let _ = poll(
            &mut fds,
            Some(&Timespec::try_from(Duration::from_millis(50)).unwrap()),
        );
    }
    assert!(!std::path::Path::new(&proc_dir).exists(), "reaped");
}
