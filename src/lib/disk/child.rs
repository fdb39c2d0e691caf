//! fsck, mount and umount as children of the disk worker: each in a process
//! group of its own, waited for with a deadline (a pidfd, no polling), the
//! whole group killed at the deadline, always reaped.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

/// Time between SIGTERM and SIGKILL of a child past its deadline.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// At most this much of a child's output is kept for the log.
const OUTPUT_CAP: usize = 16 * 1024;

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The exit code; None when a signal ended it or it overran.
    pub code: Option<i32>,
    pub timed_out: bool,
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

/// Runs `program args` and waits at most `timeout` for it.
pub fn run(program: &str, args: &[String], timeout: Duration) -> Result<Ran, String> {
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
    let timed_out = !wait_for(&child, timeout);
    if timed_out {
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
        code: if timed_out { None } else { status.code() },
        timed_out,
        output: String::from_utf8_lossy(&output).trim().to_string(),
    })
}

/// Waits until `child` ends or `timeout` passes; true when it ended.
fn wait_for(child: &Child, timeout: Duration) -> bool {
    let Ok(fd) = pidfd_open(Pid::from_child(child), PidfdFlags::empty()) else {
        // No pidfd (a very old kernel): the caller's blocking wait decides.
        return true;
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return true,
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
    if !wait_for(child, grace) {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Ran {
        run("/bin/sh", &["-c".into(), script.into()], timeout).unwrap()
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
        let e = run("/nonexistent/fsck", &[], Duration::from_secs(1)).unwrap_err();
        assert!(e.starts_with("cannot run /nonexistent/fsck"), "{e}");
    }
}
