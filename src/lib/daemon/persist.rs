//! State that survives a daemon restart: `var/lib/clp/state.json`.
//!
//! Written atomically (temp file, fsync, rename) after every batch that changed
//! it. Besides the engine's view (which resources are online, asynchronous pids
//! with their start times), it records the scripts in flight with their process
//! groups, so a restarted daemon can kill what a killed one left half-done, and
//! the boot id, so "the operator stopped the service" is honoured across a daemon
//! restart but not across a reboot.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Persisted;
use crate::error::{ClpError, Result};
use crate::paths::Paths;

/// A script that was running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub resource: String,
    pub pgid: u32,
    pub start_time: u64,
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
}

pub fn state_path(paths: &Paths) -> PathBuf {
    paths.state_dir().join("state.json")
}

/// This boot's id (empty when unknown).
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Reads the state file; a missing or unreadable one is an empty state (with the
/// reason, for the log).
pub fn load(path: &Path) -> (StateFile, Option<String>) {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(state) => (state, None),
            Err(e) => (
                StateFile::default(),
                Some(format!(
                    "{} is unreadable ({e}); starting from an empty state",
                    path.display()
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (StateFile::default(), None),
        Err(e) => (
            StateFile::default(),
            Some(format!("cannot read {}: {e}", path.display())),
        ),
    }
}

/// Writes the state file atomically; `durable` makes it survive a crash of
/// the OS too (see [`write_atomically`]). Before a reboot-type final action
/// the daemon saves durably: the reboot budget must remember the reboot.
pub fn save(path: &Path, state: &StateFile, durable: bool) -> Result<()> {
    save_with(&mut RealFs, path, state, durable)
}

fn save_with(fs: &mut dyn AtomicFs, path: &Path, state: &StateFile, durable: bool) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| ClpError::failed(e.to_string()))?;
    write_atomically_with(fs, path, &bytes, durable)
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, rename.
///
/// `durable` adds the fsyncs that make the new content outlive a crash or a
/// reset of the OS: the temp file's data before the rename, then the
/// directory (the rename itself is an update of the directory, and so is a
/// directory created on the way). The daemon's runtime files do without them:
/// a killed clpd loses nothing that reached the page cache, and state.json is
/// trusted only within the boot that wrote it (after a crash of the OS it is a
/// new boot), so fsyncs on every batch would only slow recovery (tens of ms
/// under I/O load). What must outlive a reboot (the reboot count before a
/// reboot, panic or reset) is durable.
pub fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    write_atomically_with(&mut RealFs, path, bytes, durable)
}

fn write_atomically_with(
    fs: &mut dyn AtomicFs,
    path: &Path,
    bytes: &[u8],
    durable: bool,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
        if durable {
            // The new directory's own entry lives in its parent.
            let parent = dir.parent().unwrap_or(Path::new("/"));
            fs.sync_dir(parent)
                .map_err(|e| ClpError::io("cannot fsync the directory", parent, e))?;
        }
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = fs
        .write_new(&tmp, bytes)
        .and_then(|f| {
            if durable {
                fs.sync_file(&tmp, &f)
            } else {
                Ok(())
            }
        })
        .and_then(|()| fs.rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ClpError::io("cannot write", path, e));
    }
    if durable {
        fs.sync_dir(dir)
            .map_err(|e| ClpError::io("cannot fsync the directory", dir, e))?;
    }
    Ok(())
}

/// The file-system steps of an atomic write. A seam, so that a test can see
/// which steps a durable write takes and in which order (the real steps are
/// still taken: the recorder wraps [`RealFs`]).
trait AtomicFs {
    fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> std::io::Result<File>;
    fn sync_file(&mut self, tmp: &Path, file: &File) -> std::io::Result<()>;
    fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()>;
    fn sync_dir(&mut self, dir: &Path) -> std::io::Result<()>;
}

struct RealFs;

impl AtomicFs for RealFs {
    fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> std::io::Result<File> {
        let mut f = File::create(tmp)?;
        f.write_all(bytes)?;
        Ok(f)
    }

    fn sync_file(&mut self, _tmp: &Path, file: &File) -> std::io::Result<()> {
        file.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&mut self, dir: &Path) -> std::io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClpEvent, PersistedResource, PersistedState};

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
            }],
            reboots: vec![7],
        };
        save(&p, &state, true).unwrap();
        assert_eq!(load(&p), (state, None));
        std::fs::write(&p, "{not json").unwrap();
        let (empty, why) = load(&p);
        assert_eq!(empty, StateFile::default());
        assert!(why.unwrap().contains("unreadable"));
    }

    /// Takes the real steps and records them.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl AtomicFs for Recorder {
        fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> std::io::Result<File> {
            self.0.push(format!("write {}", name(tmp)));
            RealFs.write_new(tmp, bytes)
        }
        fn sync_file(&mut self, tmp: &Path, file: &File) -> std::io::Result<()> {
            self.0.push(format!("fsync {}", name(tmp)));
            RealFs.sync_file(tmp, file)
        }
        fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
            self.0.push(format!("rename {} {}", name(from), name(to)));
            RealFs.rename(from, to)
        }
        fn sync_dir(&mut self, dir: &Path) -> std::io::Result<()> {
            self.0.push(format!("fsync-dir {}", name(dir)));
            RealFs.sync_dir(dir)
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
        save_with(&mut rec, &p, &state, true).unwrap();
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
        save_with(&mut rec, &p, &state, true).unwrap();
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
        save_with(&mut rec, &p, &state, false).unwrap();
        assert_eq!(
            rec.0,
            ["write .state.json.tmp", "rename .state.json.tmp state.json"]
        );
    }
}
