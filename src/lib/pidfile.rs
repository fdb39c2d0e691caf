//! The daemon's pid and lock file (`run/clp/clpd.pid`).
//!
//! clpd holds an exclusive `flock` on the file for its whole life and writes its
//! pid into it. Other programs decide "is clpd running?" by trying the lock, never
//! by the pid alone: a stale pid may belong to an unrelated process by now, and
//! signalling it would be harmful.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{ClpError, Result};

/// Whether clpd holds the lock, and its pid when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonState {
    NotRunning,
    Running(i32),
}

/// Looks at the pid file without disturbing a running daemon.
pub fn probe(pid_file: &Path) -> Result<DaemonState> {
    let file = match OpenOptions::new().read(true).open(pid_file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DaemonState::NotRunning),
        Err(e) => return Err(ClpError::io("cannot open", pid_file, e)),
    };
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // We got the lock: nobody holds it, so no daemon. Dropping releases it.
        Ok(_unlocked) => Ok(DaemonState::NotRunning),
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            file.read_to_string(&mut text)
                .map_err(|e| ClpError::io("cannot read", pid_file, e))?;
            match text.trim().parse::<i32>() {
                Ok(pid) if pid > 0 => Ok(DaemonState::Running(pid)),
                // Locked but the pid is not written yet: the daemon is starting.
                _ => Ok(DaemonState::Running(0)),
            }
        }
        Err((_, errno)) => Err(ClpError::io(
            "cannot lock",
            pid_file,
            std::io::Error::from(errno),
        )),
    }
}

/// Asks a running clpd to reload its configuration (SIGHUP). Returns the pid
/// that was signalled, or None when no daemon runs.
pub fn request_reload(pid_file: &Path) -> Result<Option<i32>> {
    match probe(pid_file)? {
        DaemonState::Running(pid) if pid > 0 => {
            kill(Pid::from_raw(pid), Signal::SIGHUP).map_err(|e| {
                ClpError::failed(format!("cannot signal clpd (pid {pid}) to reload: {e}"))
            })?;
            Ok(Some(pid))
        }
        DaemonState::Running(_) | DaemonState::NotRunning => Ok(None),
    }
}

/// Takes the lock for the daemon and writes its pid. Fails with
/// `AlreadyRunning` when another clpd holds it. Keep the returned lock alive.
pub fn acquire(pid_file: &Path) -> Result<Flock<File>> {
    use std::io::{Seek, Write};
    if let Some(dir) = pid_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(pid_file)
        .map_err(|e| ClpError::io("cannot open", pid_file, e))?;
    // A `probe` by clpstat holds a shared lock for an instant: try a few times
    // before concluding that another clpd runs.
    let mut file = file;
    let mut attempt = 0;
    let locked = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Err((f, Errno::EWOULDBLOCK)) if attempt < 20 => {
                attempt += 1;
                file = f;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => break other,
        }
    };
    let mut lock = match locked {
        Ok(l) => l,
        Err((_, Errno::EWOULDBLOCK)) => {
            let pid = match probe(pid_file)? {
                DaemonState::Running(p) => p.to_string(),
                DaemonState::NotRunning => "?".into(),
            };
            return Err(ClpError::new(
                crate::error::ErrorKind::AlreadyRunning,
                format!(
                    "clpd is already running (pid {pid}, lock {})",
                    pid_file.display()
                ),
            ));
        }
        Err((_, errno)) => {
            return Err(ClpError::io(
                "cannot lock",
                pid_file,
                std::io::Error::from(errno),
            ));
        }
    };
    lock.set_len(0)
        .and_then(|()| lock.rewind())
        .and_then(|()| writeln!(lock, "{}", std::process::id()))
        .and_then(|()| lock.sync_all())
        .map_err(|e| ClpError::io("cannot write", pid_file, e))?;
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_tells_running_from_stale() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("run/clpd.pid");
        assert_eq!(probe(&pid_file).unwrap(), DaemonState::NotRunning);
        // A stale pid file without a lock holder is "not running".
        std::fs::create_dir_all(pid_file.parent().unwrap()).unwrap();
        std::fs::write(&pid_file, "1\n").unwrap();
        assert_eq!(probe(&pid_file).unwrap(), DaemonState::NotRunning);
        assert_eq!(request_reload(&pid_file).unwrap(), None);
        let lock = acquire(&pid_file).unwrap();
        assert_eq!(
            probe(&pid_file).unwrap(),
            DaemonState::Running(std::process::id() as i32)
        );
        drop(lock);
        assert_eq!(probe(&pid_file).unwrap(), DaemonState::NotRunning);
    }
}
