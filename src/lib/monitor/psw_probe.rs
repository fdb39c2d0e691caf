//! psw as a probe: the processes it has seen matching are followed through
//! pidfds, so that most checks need neither a /proc scan nor a thread.
//!
//! A /proc scan reads two files of every process on the machine; a thousand
//! monitors at 1 s shared one a second, and that was most of their cost. A
//! check wants to know whether `min` processes with the name still run: a
//! process it saw matching answers that as long as it lives, and its pidfd
//! says so without reading anything (an exited process's pidfd is readable;
//! a pidfd is never another process's, whatever happens to the pid).
//!
//! So a check is, in order:
//!
//! * **on the loop** ([`Probe::answer_now`]): Normal when at least `min`
//!   followed processes are alive and their names were read at most
//!   [`CONFIRM_EVERY`] ago; otherwise the check goes to the pool;
//! * **on the pool** ([`Probe::check`]): the followed processes' names are
//!   read again (a process may have executed another program, or renamed
//!   itself); those that no longer match or have ended are dropped, and
//!   candidates from the latest shared scan (up to [`CONFIRM_EVERY`] old)
//!   make up the number, each confirmed by its name read now and a pidfd
//!   opened before that read. Only when that does not reach `min` is a check
//!   counted in a fresh shared scan, as before: every Error comes from a
//!   fresh scan, so a failure always describes the machine as it is.
//!
//! What this changes for an operator: a process that keeps running under the
//! name it matched is counted exactly as before; a process that stays alive
//! but changes its command line so that it no longer matches is seen within
//! [`CONFIRM_EVERY`] instead of at the next check.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

use super::psw::{ProcScan, SHARED_SCAN, glob, join_args, judge, read_into};
use crate::vocab::CheckResult;

/// How long a followed process's name counts without being read again.
pub const CONFIRM_EVERY: Duration = Duration::from_secs(5);

/// One process seen matching.
struct Followed {
    pid: u32,
    pidfd: OwnedFd,
}

/// psw as a probe (a /proc read can block on a process stuck in the kernel:
/// off the loop).
pub struct PswProbe {
    pattern: String,
    min: u32,
    /// At most `min` processes seen matching.
    followed: Vec<Followed>,
    /// When the names of `followed` were last read.
    confirmed: Option<Instant>,
}

impl PswProbe {
    pub fn new(spec: &crate::model::PswSpec) -> Self {
        PswProbe {
            pattern: spec.process_name.clone(),
            min: spec.min_count,
            followed: Vec::new(),
            confirmed: None,
        }
    }

    fn wanted(&self) -> usize {
        self.min as usize
    }

    /// Every followed process still runs (no pidfd readable); one system
    /// call, never blocks.
    fn all_alive(&self) -> bool {
        if self.followed.is_empty() {
            return true;
        }
        let mut fds: Vec<PollFd<'_>> = self
            .followed
            .iter()
            .map(|f| PollFd::new(&f.pidfd, PollFlags::IN))
            .collect();
        match poll(&mut fds, Some(&rustix::time::Timespec::default())) {
            Ok(0) => true,
            Ok(_) => false,
            Err(_) => false,
        }
    }

    /// Reads the followed processes' names again; keeps those that still
    /// match and live.
    fn reconfirm(&mut self) {
        self.followed
            .retain(|f| still_matches(&self.pattern, f.pid) && alive(&f.pidfd));
    }

    /// Follows candidates of `scan` (not followed yet) until `min` are, each
    /// confirmed now.
    fn follow_from(&mut self, scan: &ProcScan) {
        for pid in scan.matching_pids(&self.pattern) {
            if self.followed.len() >= self.wanted() {
                return;
            }
            if self.followed.iter().any(|f| f.pid == pid) {
                continue;
            }
            if let Some(f) = confirm(&self.pattern, pid) {
                self.followed.push(f);
            }
        }
    }

    fn enough(&self) -> bool {
        self.followed.len() >= self.wanted()
    }
}

impl super::Probe for PswProbe {
    /// Most checks: the followed processes live, their names were read
    /// lately. In the loop, no thread.
    fn answer_now(&mut self) -> Option<CheckResult> {
        if self.min == 0 {
            return Some(CheckResult::Ok);
        }
        let fresh = self
            .confirmed
            .is_some_and(|at| at.elapsed() <= CONFIRM_EVERY);
        (fresh && self.enough() && self.all_alive()).then_some(CheckResult::Ok)
    }

    fn check(&mut self, timeout: Duration) -> CheckResult {
        let now = Instant::now();
        let before = self.followed.len();
        self.reconfirm();
        if self.followed.len() < before {
            // A process seen matching has ended or changed: a scan taken
            // before that must not count it any more (for any psw monitor).
            SHARED_SCAN.invalidate(now);
        }
        if !self.enough()
            && let Some(scan) = SHARED_SCAN.recent(now, CONFIRM_EVERY)
        {
            self.follow_from(&scan);
        }
        if self.enough() {
            self.confirmed = Some(now);
            return CheckResult::Ok;
        }
        let budget = if timeout.is_zero() {
            Duration::from_secs(60)
        } else {
            timeout * 9 / 10
        };
        match SHARED_SCAN.get(now, now + budget, ProcScan::take) {
            Some(scan) => {
                let found = scan.count(&self.pattern);
                if found >= self.wanted() {
                    self.follow_from(&scan);
                    self.confirmed = Some(now);
                }
                judge(&self.pattern, self.min, found)
            }
            None => CheckResult::Failed(
                "the /proc scan shared by the psw monitors has not ended within the timeout \
                 (a process may be stuck in the kernel)"
                    .into(),
            ),
        }
    }
}

/// A pidfd for `pid` whose process matches `pattern` now: the pidfd is opened
/// first and checked after the name is read, so the name read is that
/// process's (had it ended in between, the pid could be another's).
fn confirm(pattern: &str, pid: u32) -> Option<Followed> {
    let pidfd = pidfd_open(
        Pid::from_raw(i32::try_from(pid).ok()?)?,
        PidfdFlags::empty(),
    )
    .ok()?;
    (still_matches(pattern, pid) && alive(&pidfd)).then_some(Followed { pid, pidfd })
}

/// Whether the process `pid` matches `pattern` by its command line or name,
/// read now.
fn still_matches(pattern: &str, pid: u32) -> bool {
    let pid_text = pid.to_string();
    let mut path = String::with_capacity(32);
    let mut buf = Vec::with_capacity(256);
    if !read_into(&mut path, &pid_text, "cmdline", &mut buf) {
        return false;
    }
    let cmdline = join_args(&buf);
    if cmdline.is_empty() {
        // A kernel thread or a zombie: psw counts neither as a follower.
        return false;
    }
    if glob(pattern, &cmdline) {
        return true;
    }
    read_into(&mut path, &pid_text, "comm", &mut buf)
        && glob(
            pattern,
            &String::from_utf8_lossy(buf.strip_suffix(b"\n").unwrap_or(&buf)),
        )
}

/// The process of `pidfd` has not ended.
fn alive(pidfd: &OwnedFd) -> bool {
    let fd = pidfd.as_fd();
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(
        poll(&mut fds, Some(&rustix::time::Timespec::default())),
        Ok(0)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::PswSpec;
    use crate::monitor::Probe;

    fn probe(pattern: &str, min: u32) -> PswProbe {
        PswProbe::new(&PswSpec {
            process_name: pattern.into(),
            min_count: min,
        })
    }

    /// Starts `n` `sleep <arg>` and waits until a scan shows them.
    fn sleeps(arg: &str, n: usize) -> Vec<std::process::Child> {
        let pattern = format!("sleep {arg}");
        // Those already running count too: wait for the new ones to have
        // exec'd (before that their command line is this test binary's).
        let before = super::super::psw::count(&pattern);
        let children: Vec<_> = (0..n)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg(arg)
                    .spawn()
                    .unwrap()
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while super::super::psw::count(&pattern) < before + n && Instant::now() < deadline {
            std::thread::yield_now();
        }
        // The shared scan is the whole test binary's: one another test took
        // a moment ago does not show these (clpd invalidates it likewise
        // when it starts processes).
        SHARED_SCAN.invalidate(Instant::now());
        children
    }

    fn end(mut child: std::process::Child) {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A sleep argument no other test binary running on this machine uses.
    fn unique(seconds: u32) -> String {
        format!("{seconds}.{}", std::process::id())
    }

    #[test]
    fn followed_processes_answer_on_the_loop_until_one_ends() {
        let arg = unique(418);
        let mut children = sleeps(&arg, 2);
        let mut p = probe(&format!("sleep {arg}"), 2);
        assert_eq!(p.answer_now(), None, "nothing followed yet: to the pool");
        assert_eq!(p.check(Duration::from_secs(5)), CheckResult::Ok);
        assert_eq!(p.followed.len(), 2);
        assert_eq!(p.answer_now(), Some(CheckResult::Ok));
        end(children.pop().unwrap());
        // Its pidfd tells at once, without a scan.
        assert_eq!(p.answer_now(), None);
        let result = p.check(Duration::from_secs(5));
        assert!(
            matches!(&result, CheckResult::Failed(m) if m.contains("1 process")),
            "{result:?}"
        );
        let more = sleeps(&arg, 1);
        // The scan of the failed check was fresh; after the invalidation a
        // recovery makes, the next check counts in a new one.
        SHARED_SCAN.invalidate(Instant::now());
        assert_eq!(p.check(Duration::from_secs(5)), CheckResult::Ok);
        assert_eq!(p.answer_now(), Some(CheckResult::Ok));
        children.into_iter().chain(more).for_each(end);
    }

    #[test]
    fn a_followed_process_that_changes_its_name_stops_counting_at_the_next_confirmation() {
        // A shell that runs under one command line, then executes another.
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let then = unique(419);
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while [ ! -e {} ]; do sleep 0.02; done; exec sleep {then}",
                go.display()
            ))
            .spawn()
            .unwrap();
        let pattern = format!(
            "sh -c while [ ! -e {} ]; do sleep 0.02; done; exec sleep {then}",
            go.display()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while super::super::psw::count(&pattern) < 1 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        SHARED_SCAN.invalidate(Instant::now());
        let mut p = probe(&pattern, 1);
        assert_eq!(p.check(Duration::from_secs(5)), CheckResult::Ok);
        std::fs::write(&go, "").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while super::super::psw::count(&format!("sleep {then}")) < 1 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        // Alive, so the loop still answers from what it confirmed lately...
        assert_eq!(p.answer_now(), Some(CheckResult::Ok));
        // ...until the confirmation is due: then the name is read again.
        p.confirmed = Some(Instant::now() - CONFIRM_EVERY - Duration::from_millis(1));
        assert_eq!(p.answer_now(), None);
        SHARED_SCAN.invalidate(Instant::now());
        assert!(matches!(
            p.check(Duration::from_secs(5)),
            CheckResult::Failed(_)
        ));
        assert!(p.followed.is_empty());
        end(child);
    }

    #[test]
    fn zero_wanted_is_normal_without_a_scan() {
        let mut p = probe("no such process 420", 0);
        assert_eq!(p.answer_now(), Some(CheckResult::Ok));
    }
}
