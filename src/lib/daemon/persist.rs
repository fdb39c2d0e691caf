//! State that survives a daemon restart: `var/lib/clp/state.json`.
//!
//! Written atomically (temp file, fsync, rename) after every batch that changed
//! it. Besides the engine's view (which resources are online, asynchronous pids
//! with their start times), it records the scripts in flight with their process
//! groups, so a restarted daemon can kill what a killed one left half-done, and
//! the boot id, so "the operator stopped the service" is honoured across a daemon
//! restart but not across a reboot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Persisted;
use crate::engine::storm::RestartHistory;
use crate::error::{ClpError, Result};
use crate::paths::Paths;

/// A script that was running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub resource: String,
    pub pgid: u32,
    pub start_time: u64,
    /// The run's cgroup: what it started lives there even after its leader
    /// died, sessions of their own included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// `/proc/sys/kernel/random/boot_id` when written.
    pub boot_id: String,
    /// The operator stopped the service (`clpcl -t`): do not start it again on this boot.
    pub stopped_by_operator: bool,
    pub engine: Persisted,
    pub in_flight: Vec<InFlight>,
    /// Unix seconds of reboot-type final actions (the reboot budget, rm 100).
    #[serde(default)]
    pub reboots: Vec<u64>,
    /// Recent monitor restarts per target (restart storms), on the monotonic
    /// clock of this boot: see [`monotonic_ms`].
    #[serde(default)]
    pub restarts: Vec<RestartHistory>,
    /// The servers this one lost when it released its groups as the
    /// isolated side of a partition: until each is back (a member that
    /// reported), this server claims no group, also after a restart of clpd
    /// or a reboot (`daemon/isolation.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isolated_from: Vec<String>,
}

/// Milliseconds of the system's monotonic clock (CLOCK_MONOTONIC, the clock of
/// `Instant`). Unlike wall time it does not jump when the clock is set, and
/// unlike an `Instant` it means the same in every process of one boot: a
/// restarted clpd compares the restart times its predecessor saved with it
/// (the state file is trusted only on the boot that wrote it).
pub fn monotonic_ms() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(u64::try_from(t.tv_nsec / 1_000_000).unwrap_or(0))
}

pub fn state_path(paths: &Paths) -> PathBuf {
    paths.state_file()
}

/// This boot's id (empty when unknown).
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A state file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// What was wrong, naming the file.
    pub why: String,
    /// Where the damaged file (or directory) was moved for support, if it could be.
    pub kept: Option<PathBuf>,
    /// It was last written on this boot (or its age is unknown): an earlier
    /// clpd of this boot may have left groups running.
    pub this_boot: bool,
}

/// Reads the state file. A missing one is an empty state. A damaged one (not
/// JSON of ours, not a regular file, unreadable) is an empty state too, and is
/// moved aside to `state.json.corrupt-<time>` so that the next write does not
/// destroy what support needs to see, and so that it is reported only once.
pub fn load(path: &Path) -> (StateFile, Option<Damaged>) {
    let why = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (StateFile::default(), None),
        Err(e) => format!("cannot read {}: {e}", path.display()),
        Ok(meta) if !meta.is_file() => format!("{} is not a regular file", path.display()),
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(state) => return (state, None),
                Err(_) if bytes.is_empty() => format!("{} is empty", path.display()),
                Err(e) => format!("{} is not a valid state file ({e})", path.display()),
            },
            Err(e) => format!("cannot read {}: {e}", path.display()),
        },
    };
    let this_boot = written_this_boot(path);
    let kept = keep_aside(path);
    (
        StateFile::default(),
        Some(Damaged {
            why,
            kept,
            this_boot,
        }),
    )
}

/// Whether `path` was modified after this boot began. Unknown counts as yes
/// (the cautious answer). The comparison is on wall time, which is all a file
/// records: the boot's wall-clock start is now minus CLOCK_BOOTTIME.
fn written_this_boot(path: &Path) -> bool {
    let Ok(modified) = std::fs::symlink_metadata(path).and_then(|m| m.modified()) else {
        return true;
    };
    let up = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let up = std::time::Duration::new(
        u64::try_from(up.tv_sec).unwrap_or(0),
        u32::try_from(up.tv_nsec).unwrap_or(0),
    );
    match std::time::SystemTime::now().checked_sub(up) {
        Some(boot) => modified >= boot,
        None => true,
    }
}

/// Renames the damaged `path` to `<name>.corrupt-<local time>` in its directory.
fn keep_aside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut dest = dir.join(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while dest.symlink_metadata().is_ok() {
        n += 1;
        dest = dir.join(format!("{name}.corrupt-{stamp}.{n}"));
    }
    std::fs::rename(path, &dest).ok().map(|()| dest)
}

/// The bytes of the state file. The daemon hands them to its file writer
/// (durably before a reboot-type final action: the reboot budget must
/// remember the reboot; see [`crate::fsafe::write_file_atomically`]).
pub fn encode(state: &StateFile) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(state).map_err(|e| ClpError::failed(e.to_string()))
}

/// Writes `bytes` to `path` atomically, readable by clpd's user only (see
/// [`crate::fsafe::write_file_atomically`], and for `durable`).
pub fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    crate::fsafe::write_file_atomically(path, bytes, crate::fsafe::PRIVATE_FILE_MODE, durable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClpEvent, PersistedResource, PersistedState};
    use crate::fsafe::{AtomicFs, RealFs};
    use std::fs::File;

    #[test]
    fn round_trip_and_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let state = StateFile {
            boot_id: "b".into(),
            stopped_by_operator: false,
            engine: Persisted {
                service_online: true,
                resources: vec![PersistedResource {
                    name: "r".into(),
                    state: PersistedState::Online {
                        event: ClpEvent::Start,
                        pid: None,
                    },
                }],
            },
            in_flight: vec![InFlight {
                resource: "x".into(),
                pgid: 5,
                start_time: 6,
                cgroup: Some(PathBuf::from("/sys/fs/cgroup/clp-x-1-0-r-start")),
            }],
            reboots: vec![7],
            restarts: vec![RestartHistory {
                target: "resource:r".into(),
                at_ms: vec![8, 9],
            }],
            isolated_from: vec!["node2".into()],
        };
        write_atomically(&p, &encode(&state).unwrap(), true).unwrap();
        assert_eq!(load(&p), (state, None));
        std::fs::write(&p, "{not json").unwrap();
        let (empty, damaged) = load(&p);
        assert_eq!(empty, StateFile::default());
        let damaged = damaged.unwrap();
        assert!(
            damaged.why.contains("not a valid state file"),
            "{damaged:?}"
        );
        assert!(damaged.this_boot, "written just now");
        // Kept aside as it was: the next load finds nothing to report.
        let kept = damaged.kept.unwrap();
        assert_eq!(std::fs::read(&kept).unwrap(), b"{not json");
        assert!(!p.exists());
        assert_eq!(load(&p), (StateFile::default(), None));
    }

    /// Takes the real steps and records them.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl AtomicFs for Recorder {
        fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> std::io::Result<File> {
            self.0.push(format!("write {}", name(tmp)));
            private().write_new(tmp, bytes)
        }
        fn sync_file(&mut self, tmp: &Path, file: &File) -> std::io::Result<()> {
            self.0.push(format!("fsync {}", name(tmp)));
            private().sync_file(tmp, file)
        }
        fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
            self.0.push(format!("rename {} {}", name(from), name(to)));
            private().rename(from, to)
        }
        fn sync_dir(&mut self, dir: &Path) -> std::io::Result<()> {
            self.0.push(format!("fsync-dir {}", name(dir)));
            private().sync_dir(dir)
        }
    }

    fn private() -> RealFs {
        RealFs {
            mode: crate::fsafe::PRIVATE_FILE_MODE,
        }
    }

    fn name(p: &Path) -> String {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .replace(&format!(".tmp-{}", std::process::id()), ".tmp")
    }

    #[test]
    fn a_durable_save_fsyncs_the_file_then_the_directory() {
        let top = tempfile::tempdir().unwrap();
        let p = top.path().join("lib").join("state.json");
        let state = StateFile {
            reboots: vec![42],
            ..StateFile::default()
        };
        // First save: the directory is created, and its entry made durable.
        let mut rec = Recorder::default();
        crate::fsafe::write_atomically_with(&mut rec, &p, &encode(&state).unwrap(), true).unwrap();
        let top_name = name(top.path());
        assert_eq!(
            rec.0,
            [
                format!("fsync-dir {top_name}"),
                "write .state.json.tmp".into(),
                "fsync .state.json.tmp".into(),
                "rename .state.json.tmp state.json".into(),
                "fsync-dir lib".into(),
            ]
        );
        assert_eq!(load(&p).0, state);
        // Later saves: file, rename, directory.
        let mut rec = Recorder::default();
        crate::fsafe::write_atomically_with(&mut rec, &p, &encode(&state).unwrap(), true).unwrap();
        assert_eq!(
            rec.0,
            [
                "write .state.json.tmp",
                "fsync .state.json.tmp",
                "rename .state.json.tmp state.json",
                "fsync-dir lib",
            ]
        );
        // Not durable: no fsync at all.
        let mut rec = Recorder::default();
        crate::fsafe::write_atomically_with(&mut rec, &p, &encode(&state).unwrap(), false).unwrap();
        assert_eq!(
            rec.0,
            ["write .state.json.tmp", "rename .state.json.tmp state.json"]
        );
    }
}
