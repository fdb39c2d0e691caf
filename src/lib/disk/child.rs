//! fsck, mount and umount as children of the disk worker: each in a process
//! group of its own, waited for with a deadline (a pidfd, no polling), the
//! whole group killed at the deadline or when the operation is given up
//! ([`Cancel`], an eventfd the same poll waits on), always reaped.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

/// Time between SIGTERM and SIGKILL of a child past its deadline.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// At most this much of a child's output is kept for the log.
const OUTPUT_CAP: usize = 16 * 1024;

/// "Give up": set by the daemon when the engine no longer waits for the
/// operation; wakes a wait in progress at once.
#[derive(Debug)]
pub struct Cancel {
    given_up: AtomicBool,
    wake: OwnedFd,
}

impl Cancel {
    pub fn new() -> Result<Cancel, String> {
        let wake = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|e| format!("cannot make an eventfd: {e}"))?;
        Ok(Cancel {
            given_up: AtomicBool::new(false),
            wake,
        })
    }

    pub fn cancel(&self) {
        self.given_up.store(true, Ordering::Release);
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    pub fn is_cancelled(&self) -> bool {
        self.given_up.load(Ordering::Acquire)
    }
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The exit code; None when a signal ended it or it overran.
    pub code: Option<i32>,
    pub timed_out: bool,
    /// Killed because the operation was given up.
    pub cancelled: bool,
    /// stdout and stderr together, trimmed, at most [`OUTPUT_CAP`] bytes.
    pub output: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit code N: output", "killed after T s", for messages.
    pub fn describe(&self, timeout: Duration) -> String {
        let what = match (self.code, self.timed_out) {
            _ if self.cancelled => "was killed: the operation was given up".to_string(),
            (_, true) => format!(
                "did not finish within {} s and was killed",
                timeout.as_secs()
            ),
            (Some(c), _) => format!("exited with code {c}"),
            (None, _) => "was ended by a signal".to_string(),
        };
        let out = self.output.replace('\n', " / ");
        if out.is_empty() {
            what
        } else {
            format!("{what}: {out}")
        }
    }
}

/// Runs `program args` and waits at most `timeout` for it (less when
/// `cancel` is set meanwhile).
pub fn run(
    program: &str,
    args: &[String],
    timeout: Duration,
    cancel: Option<&Cancel>,
) -> Result<Ran, String> {
    let (reader, writer) =
        std::io::pipe().map_err(|e| format!("cannot make a pipe for {program}: {e}"))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| format!("cannot make a pipe for {program}: {e}"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .env("LC_ALL", "C")
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    // The reader gets its own thread: a child that fills the pipe must not
    // stall; the output arrives by channel once the pipe closes.
    let (tx, rx) = std::sync::mpsc::channel();
    let reading = std::thread::Builder::new()
        .name("disk-output".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            let mut reader = reader;
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            let _ = tx.send(kept);
        });
    let ended = wait_for(&child, timeout, cancel);
    let (timed_out, cancelled) = match ended {
        Waited::Ended => (false, false),
        Waited::Deadline => (true, false),
        Waited::Cancelled => (false, true),
    };
    if timed_out || cancelled {
        kill_group(&child, KILL_GRACE);
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for {program}: {e}"))?;
    // A grandchild may hold the pipe open: the output is not worth waiting for.
    let output = match reading {
        Ok(_) => rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Ok(Ran {
        code: if timed_out || cancelled {
            None
        } else {
            status.code()
        },
        timed_out,
        cancelled,
        output: String::from_utf8_lossy(&output).trim().to_string(),
    })
}

/// How a wait for a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waited {
    Ended,
    Deadline,
    Cancelled,
}

/// Waits until `child` ends, `timeout` passes or `cancel` is set.
fn wait_for(child: &Child, timeout: Duration, cancel: Option<&Cancel>) -> Waited {
    if cancel.is_some_and(Cancel::is_cancelled) {
        return Waited::Cancelled;
    }
    let Ok(fd) = pidfd_open(Pid::from_child(child), PidfdFlags::empty()) else {
        // No pidfd (a very old kernel): the caller's blocking wait decides.
        return Waited::Ended;
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Waited::Deadline;
        }
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = vec![PollFd::new(&fd, PollFlags::IN)];
        if let Some(c) = cancel {
            fds.push(PollFd::new(&c.wake, PollFlags::IN));
        }
        match poll(&mut fds, Some(&ts)) {
            Ok(_) if !fds[0].revents().is_empty() => return Waited::Ended,
            Ok(_) if cancel.is_some_and(Cancel::is_cancelled) => return Waited::Cancelled,
            Ok(0) => return Waited::Deadline,
            Ok(_) | Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return Waited::Ended,
        }
    }
}

/// SIGTERM to the child's process group, SIGKILL after `grace`.
fn kill_group(child: &Child, grace: Duration) {
    let Ok(pgid) = i32::try_from(child.id()) else {
        return;
    };
    let group = nix::unistd::Pid::from_raw(pgid);
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
    if wait_for(child, grace, None) != Waited::Ended {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Ran {
        run("/bin/sh", &["-c".into(), script.into()], timeout, None).unwrap()
    }

    #[test]
    fn exit_code_and_output_are_kept() {
        let ran = sh("echo out; echo err >&2; exit 4", Duration::from_secs(10));
        assert_eq!(ran.code, Some(4));
        assert!(!ran.timed_out);
        assert_eq!(ran.output, "out\nerr");
        assert_eq!(
            ran.describe(Duration::from_secs(10)),
            "exited with code 4: out / err"
        );
    }

    #[test]
    fn an_overrun_kills_the_whole_group() {
        let start = Instant::now();
        let ran = sh("sleep 30 & sleep 30; wait", Duration::from_millis(200));
        assert!(ran.timed_out && ran.code.is_none(), "{ran:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(
            ran.describe(Duration::from_secs(1))
                .starts_with("did not finish within 1 s")
        );
    }

    #[test]
    fn a_missing_program_is_named() {
        let e = run("/nonexistent/fsck", &[], Duration::from_secs(1), None).unwrap_err();
        assert!(e.starts_with("cannot run /nonexistent/fsck"), "{e}");
    }

    #[test]
    fn giving_up_kills_the_child_at_once() {
        let cancel = std::sync::Arc::new(Cancel::new().unwrap());
        let other = std::sync::Arc::clone(&cancel);
        let giver = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            other.cancel();
        });
        let start = Instant::now();
        let ran = run(
            "/bin/sh",
            &["-c".into(), "sleep 30".into()],
            Duration::from_secs(60),
            Some(&cancel),
        )
        .unwrap();
        giver.join().unwrap();
        assert!(
            ran.cancelled && !ran.timed_out && ran.code.is_none(),
            "{ran:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(
            ran.describe(Duration::from_secs(60)),
            "was killed: the operation was given up"
        );
        // Given up before it starts: killed without waiting.
        let ran = run(
            "/bin/sh",
            &["-c".into(), "sleep 30".into()],
            Duration::from_secs(60),
            Some(&cancel),
        )
        .unwrap();
        assert!(ran.cancelled, "{ran:?}");
    }
}
