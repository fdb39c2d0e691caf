//! The one reader of the status snapshot on disk, for clpstat and every
//! command that needs clpd's view (group and monitor names, the server name).
//!
//! A file is only trustworthy while its writer lives, so the daemon's lock
//! decides first: no lock holder means clpd is not running (whatever the file
//! says), and a snapshot written by another pid than the lock holder is stale
//! (a previous clpd wrote it; the new one has not yet). Every such case is an
//! error of kind [`ErrorKind::NotRunning`] (exit code 6).

use std::path::{Path, PathBuf};

use super::Snapshot;
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;
use crate::pidfile::{self, DaemonState};

/// Where clpd writes its snapshot.
pub fn snapshot_path(paths: &Paths) -> PathBuf {
    paths.status_file()
}

/// How the snapshot on disk relates to the clpd that runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Written by the running clpd: what it shows is current.
    Live,
    /// Nobody holds the daemon's lock.
    NotRunning,
    /// clpd holds its lock but has not written its pid yet.
    Starting,
    /// clpd (`pid`) runs but has not written a snapshot yet.
    Missing { pid: i32 },
    /// The snapshot names another writer than the running clpd (`pid`).
    OtherWriter { writer: Option<i64>, pid: i32 },
}

impl Staleness {
    /// Judges a snapshot: `writer` is None when there is no file, else the
    /// `daemon_pid` it names (None when it names none).
    pub fn judge(daemon: DaemonState, writer: Option<Option<i64>>) -> Staleness {
        let pid = match daemon {
            DaemonState::NotRunning => return Staleness::NotRunning,
            DaemonState::Running(pid) if pid <= 0 => return Staleness::Starting,
            DaemonState::Running(pid) => pid,
        };
        match writer {
            None => Staleness::Missing { pid },
            Some(w) if w == Some(i64::from(pid)) => Staleness::Live,
            Some(writer) => Staleness::OtherWriter { writer, pid },
        }
    }

    /// Ok when live, else the error that tells the operator what to do.
    fn check(self, paths: &Paths, file: &Path) -> Result<()> {
        let message = match self {
            Staleness::Live => return Ok(()),
            Staleness::NotRunning => format!(
                "clpd is not running (no daemon holds {}); start it with clpcl -s",
                paths.lock_file().display()
            ),
            Staleness::Starting => format!(
                "clpd is starting (it holds {} but has not written its pid yet); retry in a moment",
                paths.lock_file().display()
            ),
            Staleness::Missing { pid } => format!(
                "the status snapshot is stale ({} is missing, clpd is pid {pid}); \
                 clpd writes it once it has started, retry in a moment",
                file.display()
            ),
            Staleness::OtherWriter { writer, pid } => format!(
                "the status snapshot is stale (written by {}, clpd is pid {pid}); \
                 clpd rewrites {} after its next event; if this persists, check clpd's log",
                writer.map_or_else(|| "an unknown pid".to_string(), |w| format!("pid {w}")),
                file.display()
            ),
        };
        Err(ClpError::new(ErrorKind::NotRunning, message))
    }
}

/// The snapshot written by the running clpd, or why there is none to trust.
pub fn read(paths: &Paths) -> Result<Snapshot> {
    let file = snapshot_path(paths);
    let daemon = pidfile::probe(paths)?;
    // Whether clpd runs is decided before the file is read: a dead daemon's
    // snapshot is not worth opening.
    let without_file = Staleness::judge(daemon, None);
    if matches!(without_file, Staleness::NotRunning | Staleness::Starting) {
        without_file.check(paths, &file)?;
    }
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            without_file.check(paths, &file)?;
            return Err(ClpError::io("cannot read", &file, e));
        }
        Err(e) => return Err(ClpError::io("cannot read", &file, e)),
    };
    // The writer's pid is checked before the full parse: a snapshot left by an
    // older clpd may not match today's schema, and "stale" is the useful answer.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| unreadable(&file, &e))?;
    let writer = value.get("daemon_pid").and_then(serde_json::Value::as_i64);
    Staleness::judge(daemon, Some(writer)).check(paths, &file)?;
    serde_json::from_value(value).map_err(|e| unreadable(&file, &e))
}

fn unreadable(file: &Path, e: &serde_json::Error) -> ClpError {
    ClpError::failed(format!(
        "cannot read the status snapshot {}: {e} (was it written by another clp version?)",
        file.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ClusterStatus, SCHEMA_VERSION, ServiceState};

    fn written_by(paths: &Paths, pid: u32) {
        let snapshot = Snapshot {
            schema: SCHEMA_VERSION,
            generated_at_ms: 0,
            generated_at: "2026/01/01 00:00:00".into(),
            daemon_pid: pid,
            version: "test".into(),
            cluster: ClusterStatus {
                name: "c".into(),
                service: ServiceState::Online,
                config_digest: "0".into(),
                quorum: None,
            },
            servers: vec![],
            groups: vec![],
            monitors: vec![],
        };
        std::fs::create_dir_all(paths.run_dir()).unwrap();
        std::fs::write(snapshot_path(paths), serde_json::to_vec(&snapshot).unwrap()).unwrap();
    }

    fn refused(paths: &Paths) -> String {
        let e = read(paths).expect_err("not a live snapshot");
        assert_eq!(e.kind, ErrorKind::NotRunning, "{e}");
        e.message
    }

    #[test]
    fn judging_tells_live_from_stale() {
        use DaemonState::{NotRunning, Running};
        assert_eq!(
            Staleness::judge(NotRunning, Some(Some(7))),
            Staleness::NotRunning
        );
        assert_eq!(
            Staleness::judge(Running(0), Some(Some(7))),
            Staleness::Starting
        );
        assert_eq!(
            Staleness::judge(Running(7), None),
            Staleness::Missing { pid: 7 }
        );
        assert_eq!(Staleness::judge(Running(7), Some(Some(7))), Staleness::Live);
        assert_eq!(
            Staleness::judge(Running(7), Some(Some(6))),
            Staleness::OtherWriter {
                writer: Some(6),
                pid: 7
            }
        );
        assert_eq!(
            Staleness::judge(Running(7), Some(None)),
            Staleness::OtherWriter {
                writer: None,
                pid: 7
            }
        );
    }

    #[test]
    fn a_snapshot_is_stale_when_its_daemon_is_gone_or_another_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let me = std::process::id();
        // The file of a clpd that is gone: nobody holds the lock.
        written_by(&paths, me);
        assert!(
            refused(&paths).starts_with("clpd is not running (no daemon holds "),
            "{}",
            refused(&paths)
        );
        // This process plays the running clpd from now on.
        let _lock = pidfile::acquire(&paths).unwrap();
        let snapshot = read(&paths).unwrap();
        assert_eq!(snapshot.daemon_pid, me);
        // A file left by an earlier clpd.
        written_by(&paths, me + 1);
        let message = refused(&paths);
        assert!(
            message.starts_with(&format!(
                "the status snapshot is stale (written by pid {}, clpd is pid {me}); ",
                me + 1
            )),
            "{message}"
        );
        std::fs::remove_file(snapshot_path(&paths)).unwrap();
        assert!(refused(&paths).contains("is missing"));
    }
}
