//! Is clpd running? The lock file `run/clp/clpd.lock` and the pid file
//! `run/clp/clpd.pid`.
//!
//! clpd holds an exclusive `flock` on the lock file for its whole life and
//! writes its pid into it. Other programs decide "is clpd running?" by trying
//! the lock, never by the pid alone: a stale pid may belong to an unrelated
//! process by now, and signalling it would be harmful.
//!
//! The lock file is mode 0600 and owned by clpd's user (see [`crate::fsafe`]):
//! no other user can open it, so no other user can hold its lock and make clpd
//! refuse to start, or make clpstat mistake a dead daemon for a live one. The
//! pid file is for people and tools that expect one (`cat clpd.pid`); nothing
//! here trusts it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;

/// Whether clpd holds the lock, and its pid when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonState {
    NotRunning,
    Running(i32),
}

/// Looks at the lock file without disturbing a running daemon.
pub fn probe(paths: &Paths) -> Result<DaemonState> {
    let lock_file = paths.lock_file();
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(&lock_file)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DaemonState::NotRunning),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(ClpError::new(
                ErrorKind::Permission,
                format!(
                    "cannot open {}: only clpd's user (root) may run this command; log in as root",
                    lock_file.display()
                ),
            ));
        }
        Err(e) => return Err(ClpError::io("cannot open", &lock_file, e)),
    };
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // We got the lock: nobody holds it, so no daemon. Dropping releases it.
        Ok(_unlocked) => Ok(DaemonState::NotRunning),
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            file.read_to_string(&mut text)
                .map_err(|e| ClpError::io("cannot read", &lock_file, e))?;
            match text.trim().parse::<i32>() {
                Ok(pid) if pid > 0 => Ok(DaemonState::Running(pid)),
                // Locked but the pid is not written yet: the daemon is starting.
                _ => Ok(DaemonState::Running(0)),
            }
        }
        Err((_, errno)) => Err(ClpError::io(
            "cannot lock",
            &lock_file,
            std::io::Error::from(errno),
        )),
    }
}

/// Asks a running clpd to reload its configuration (SIGHUP). Returns the pid
/// that was signalled, or None when no daemon runs.
pub fn request_reload(paths: &Paths) -> Result<Option<i32>> {
    match probe(paths)? {
        DaemonState::Running(pid) if pid > 0 => {
            kill(Pid::from_raw(pid), Signal::SIGHUP).map_err(|e| {
                ClpError::failed(format!("cannot signal clpd (pid {pid}) to reload: {e}"))
            })?;
            Ok(Some(pid))
        }
        DaemonState::Running(_) | DaemonState::NotRunning => Ok(None),
    }
}

/// The lock held by a running clpd; dropping it removes the pid file and
/// releases the lock.
pub struct DaemonLock {
    _lock: Flock<File>,
    pid_file: std::path::PathBuf,
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Takes the lock for the daemon and writes its pid (into the lock file and
/// the pid file). Fails with `AlreadyRunning` when another clpd holds it.
/// Keep the returned lock alive. Creates `run/clp` private to clpd's user.
pub fn acquire(paths: &Paths) -> Result<DaemonLock> {
    crate::fsafe::private_dir(&paths.run_dir(), crate::fsafe::RUN_DIR_MODE)?;
    let lock_file = paths.lock_file();
    let mut file = crate::fsafe::open_lock_file(&lock_file)?;
    // A `probe` by clpstat holds a shared lock for an instant: try a few times
    // before concluding that another clpd runs. Only clpd's user can open the
    // file, so a lock that stays is another clpd.
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
            let pid = match probe(paths)? {
                DaemonState::Running(p) => p.to_string(),
                DaemonState::NotRunning => "?".into(),
            };
            return Err(ClpError::new(
                ErrorKind::AlreadyRunning,
                format!(
                    "clpd is already running (pid {pid}, lock {})",
                    lock_file.display()
                ),
            ));
        }
        Err((_, errno)) => {
            return Err(ClpError::io(
                "cannot lock",
                &lock_file,
                std::io::Error::from(errno),
            ));
        }
    };
    let pid = std::process::id();
    lock.set_len(0)
        .and_then(|()| lock.rewind())
        .and_then(|()| writeln!(lock, "{pid}"))
        .map_err(|e| ClpError::io("cannot write", &lock_file, e))?;
    let pid_file = paths.pid_file();
    crate::fsafe::write_file_atomically(&pid_file, format!("{pid}\n").as_bytes(), 0o644, false)?;
    Ok(DaemonLock {
        _lock: lock,
        pid_file,
    })
}

/// Leaves the "start the cluster service" request for the next clpd.
pub fn request_service_start(paths: &Paths) -> Result<()> {
    crate::fsafe::private_dir(&paths.run_dir(), crate::fsafe::RUN_DIR_MODE)?;
    crate::fsafe::write_file_atomically(
        &paths.start_request_file(),
        b"start\n",
        crate::fsafe::PRIVATE_FILE_MODE,
        false,
    )
}

/// Takes the request left by [`request_service_start`]: true when there was one.
pub fn take_service_start_request(paths: &Paths) -> bool {
    std::fs::remove_file(paths.start_request_file()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_tells_running_from_stale() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        assert_eq!(probe(&paths).unwrap(), DaemonState::NotRunning);
        // A stale lock file without a holder is "not running".
        std::fs::create_dir_all(paths.run_dir()).unwrap();
        std::fs::write(paths.lock_file(), "1\n").unwrap();
        assert_eq!(probe(&paths).unwrap(), DaemonState::NotRunning);
        assert_eq!(request_reload(&paths).unwrap(), None);
        let lock = acquire(&paths).unwrap();
        let me = std::process::id() as i32;
        assert_eq!(probe(&paths).unwrap(), DaemonState::Running(me));
        assert_eq!(
            std::fs::read_to_string(paths.pid_file()).unwrap(),
            format!("{me}\n")
        );
        drop(lock);
        assert_eq!(probe(&paths).unwrap(), DaemonState::NotRunning);
        assert!(!paths.pid_file().exists());
    }
}
