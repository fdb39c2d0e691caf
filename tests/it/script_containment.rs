//! Containment of scripts: a child that leaves the script's process group
//! (`setsid`) still dies with the script when its run is killed, where
//! cgroup v2 is in force; process groups remain the fallback.
//!
//! An escaped child is identified by pid and start time, and killed by the
//! test (through a pidfd, after checking its start time) only if it survived,
//! so a stranger that got the pid is never hit.

use std::path::PathBuf;

use clp::exec::process_start_time;
use clp::status::RunState;
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

use crate::daemon::{CLPGRP, REC_START, Rig, alive, conf, exec, pid_in, res};

/// A child that calls setsid and sleeps, its pid in `$T/escaped`, then the
/// script hangs.
const ESCAPE_AND_HANG: &str =
    r#"setsid sleep 1000 & echo $! > "$T/escaped"; echo hanging >> "$LOG"; sleep 1000"#;

/// A process recognised by pid and start time.
struct Proc {
    pid: i32,
    start: u64,
}

impl Proc {
    fn from_file(rig: &Rig, file: &str) -> Proc {
        let pid = pid_in(rig, file);
        let start = rig.wait_for("the escaped child's start time", || {
            // It may still be the shell between fork and exec: same process.
            process_start_time(u32::try_from(pid).ok()?)
        });
        Proc { pid, start }
    }

    fn running(&self) -> bool {
        alive(self.pid) && process_start_time(self.pid as u32) == Some(self.start)
    }

    /// SIGKILL through a pidfd taken while it is still this process.
    fn kill(&self) {
        let Some(p) = Pid::from_raw(self.pid) else {
            return;
        };
        if let Ok(fd) = pidfd_open(p, PidfdFlags::empty())
            && self.running()
        {
            let _ = pidfd_send_signal(&fd, Signal::KILL);
        }
    }
}

/// Kills the escaped child at the end of a test if it is still there.
struct Reaper(Option<Proc>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            p.kill();
        }
    }
}

/// `(base, prefix)` of the cgroups clpd said it uses, from its start-up log.
fn cgroup_prefix(rig: &Rig) -> Option<(PathBuf, String)> {
    let logs = rig.daemon_logs();
    let rest = logs.split("scripts are contained in cgroups ").nth(1)?;
    let spec = rest.split('*').next()?;
    let (base, prefix) = spec.rsplit_once('/')?;
    Some((PathBuf::from(base), prefix.to_string()))
}

fn ours(base: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(base)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

fn cgroup_v2_writable() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/mountinfo")
            .is_ok_and(|m| m.lines().any(|l| l.contains(" - cgroup2 ")))
}

#[test]
fn containment_start_timeout_kills_a_child_that_called_setsid() {
    if !cgroup_v2_writable() {
        eprintln!("skipped: needs root and a cgroup v2 mount");
        return;
    }
    let rig = Rig::new();
    rig.script("g", "slow", "start.sh", ESCAPE_AND_HANG);
    rig.script("g", "slow", "stop.sh", "exit 0");
    rig.install(&crate::daemon::slow_start_conf());
    rig.start();
    let mut reaper = Reaper(None);
    let escaped = Proc::from_file(&rig, "escaped");
    assert!(escaped.running());
    let run_cgroups = cgroup_prefix(&rig).map(|(base, prefix)| ours(&base, &prefix));
    rig.wait_snap("slow Online Failure", |s| {
        res(s, "slow").status == RunState::OnlineFailure
    });
    reaper.0 = Some(escaped);
    rig.wait_for("the escaped child to die with its run", || {
        (!reaper.0.as_ref().unwrap().running()).then_some(())
    });
    // Dead: nothing for the reaper to do (its pid may be someone else's now).
    reaper.0 = None;
    let (base, prefix) = cgroup_prefix(&rig).unwrap_or_else(|| {
        panic!(
            "clpd did not contain scripts in cgroups:\n{}",
            rig.daemon_logs()
        )
    });
    assert!(
        run_cgroups.is_some_and(|c| !c.is_empty()),
        "no cgroup of the run"
    );
    rig.stop_daemon();
    // Every cgroup clpd created is gone (its own leaf included).
    let left = ours(&base, &prefix);
    assert!(left.is_empty(), "{left:?}");
}

/// A job that takes a while to end after stop.sh's SIGTERM (it was just
/// signalled when clpd stops): clpd's exit waits for it, then removes its
/// run's cgroup, instead of leaving an empty one behind.
#[test]
fn containment_leaves_no_cgroup_of_a_job_that_ends_just_after_the_stop() {
    if !cgroup_v2_writable() {
        eprintln!("skipped: needs root and a cgroup v2 mount");
        return;
    }
    let rig = Rig::new();
    // The asynchronous job: on TERM, it ends its child, then itself 0.3 s later.
    rig.script(
        "g",
        "job",
        "start.sh",
        r#"trap 'kill $child; sleep 0.3; exit 0' TERM
echo $$ > "$T/job.pid"
sleep 1000 & child=$!
wait $child"#,
    );
    rig.script("g", "job", "stop.sh", r#"kill "$CLP_PID""#);
    rig.install(&crate::daemon::conf(
        &[("g", &[crate::daemon::exec("job").asynchronous()])],
        "",
    ));
    rig.start();
    let job = Proc::from_file(&rig, "job.pid");
    let (base, prefix) = cgroup_prefix(&rig).expect("cgroups in force");
    assert!(!ours(&base, &prefix).is_empty(), "no cgroup of the run");
    rig.stop_daemon();
    assert!(!job.running(), "the job outlived clpd's exit");
    let left = ours(&base, &prefix);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn containment_stop_timeout_kills_a_child_that_called_setsid() {
    if !cgroup_v2_writable() {
        eprintln!("skipped: needs root and a cgroup v2 mount");
        return;
    }
    let rig = Rig::new();
    rig.script("g", "r", "start.sh", REC_START);
    rig.script("g", "r", "stop.sh", ESCAPE_AND_HANG);
    rig.install(&conf(&[("g", &[exec("r").stop_timeout(2)])], ""));
    rig.start_online();
    let stop = std::thread::scope(|s| {
        let h = s.spawn(|| rig.run(CLPGRP, &["-t", "g"]));
        let escaped = Proc::from_file(&rig, "escaped");
        let mut reaper = Reaper(Some(escaped));
        rig.wait_for("the escaped child to die with the stop script", || {
            (!reaper.0.as_ref().unwrap().running()).then_some(())
        });
        reaper.0 = None;
        h.join().unwrap()
    });
    assert_ne!(stop.code, 0, "the stop timed out: {stop:?}");
    let (base, prefix) = cgroup_prefix(&rig).expect("cgroups in force");
    rig.stop_daemon();
    let left = ours(&base, &prefix);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn containment_falls_back_to_the_process_group() {
    // CLP_CONTAINMENT=pgroup: what clpd does where cgroups are unavailable.
    let mut rig = Rig::new();
    rig.setenv("CLP_CONTAINMENT", "pgroup");
    rig.script(
        "g",
        "slow",
        "start.sh",
        r#"sleep 1000 & echo $! > "$T/child"; setsid sleep 1000 & echo $! > "$T/escaped"; sleep 1000"#,
    );
    rig.script("g", "slow", "stop.sh", "exit 0");
    rig.install(&crate::daemon::slow_start_conf());
    rig.start();
    let child = Proc::from_file(&rig, "child");
    let escaped = Proc::from_file(&rig, "escaped");
    let _reaper = Reaper(Some(escaped));
    rig.wait_snap("slow Online Failure", |s| {
        res(s, "slow").status == RunState::OnlineFailure
    });
    // The process group still dies on the timeout.
    rig.wait_for("the script's child to die", || {
        (!child.running()).then_some(())
    });
    assert!(
        rig.daemon_logs()
            .contains("scripts are contained by their process group only: CLP_CONTAINMENT=pgroup"),
        "{}",
        rig.daemon_logs()
    );
    rig.stop_daemon();
}

/// clpd dies (kill -9) while a start script runs, after a child of it called
/// setsid: the next clpd kills the interrupted run's whole cgroup, so the
/// escaped child does not run on beside the recovery.
#[test]
fn containment_a_run_interrupted_by_a_dead_clpd_is_killed_whole_by_the_next() {
    if !cgroup_v2_writable() {
        eprintln!("skipped: needs root and a cgroup v2 mount");
        return;
    }
    let rig = Rig::new();
    rig.script("g", "slow", "start.sh", ESCAPE_AND_HANG);
    rig.script("g", "slow", "stop.sh", "exit 0");
    rig.install(&conf(&[("g", &[exec("slow")])], ""));
    rig.start();
    let escaped = Proc::from_file(&rig, "escaped");
    let mut reaper = Reaper(None);
    rig.wait_for("the start script in flight in the state", || {
        let state = std::fs::read_to_string(rig.root().join("var/lib/clp/state.json")).ok()?;
        state.contains("\"cgroup\"").then_some(())
    });
    rig.kill_daemon();
    assert!(
        escaped.running(),
        "the escaped child runs on after clpd died"
    );
    reaper.0 = Some(escaped);

    rig.start();
    rig.wait_for("the escaped child killed with its interrupted run", || {
        (!reaper.0.as_ref().unwrap().running()).then_some(())
    });
    reaper.0 = None;
    // The log writer may write the line a moment after the kill.
    rig.wait_for("the cgroup's kill in the log", || {
        rig.daemon_logs().contains("killed cgroup ").then_some(())
    });
    rig.stop_daemon();
}
