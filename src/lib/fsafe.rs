//! Files and directories clpd owns as root, made so that no other local user
//! can block, redirect or read them.
//!
//! The threats are an unprivileged user who
//! * holds an `flock` on a file clpd locks (clpd would wait, or think another
//!   clpd runs): clpd locks only files of mode 0600 that it owns, so nobody else
//!   can open them, let alone lock them;
//! * plants a symlink where clpd creates a file (root would write through it):
//!   clpd's directories are owned by clpd's user and not writable by others, and
//!   the leaf of every private path is opened with `O_NOFOLLOW`;
//! * reads secrets: directories are 0700/0750, files 0600/0640 whatever umask
//!   clpd inherited ([`set_daemon_umask`]).
//!
//! "clpd's user" is root on a real server; tests and demos run everything as
//! one unprivileged user under a relocated root, and the same rules hold for it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{ClpError, ErrorKind, Result};

/// The mode of `run/clp`: clpd's user and group may list it (clpstat as root).
pub const RUN_DIR_MODE: u32 = 0o750;
/// The mode of `var/log/clp`: logs may hold what scripts print.
pub const LOG_DIR_MODE: u32 = 0o750;
/// The mode of `var/lib/clp`: state and configuration backups (passwords).
pub const STATE_DIR_MODE: u32 = 0o700;
/// The mode of log files.
pub const LOG_FILE_MODE: u32 = 0o640;
/// The mode of files only clpd's user may read (lock, state, clp.conf).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// clpd creates files readable by its user only unless it says otherwise;
/// children get the conventional 022 back (see the executor).
pub const DAEMON_UMASK: u32 = 0o077;

/// Sets clpd's umask to [`DAEMON_UMASK`]. Call before any file is created.
pub fn set_daemon_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(DAEMON_UMASK));
}

/// Creates `dir` (and missing parents) and makes sure the directory itself is
/// safe for clpd: a real directory (not a symlink), owned by clpd's user, with
/// no permission beyond `mode`. A directory owned by another user is refused
/// (someone else could replace what clpd writes there); looser modes are
/// tightened. Parents are created with `mode` too but not otherwise changed:
/// they belong to the system (`/run`, `/var/log`).
pub fn private_dir(dir: &Path, mode: u32) -> Result<()> {
    match fs::DirBuilder::new().recursive(true).mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) => return Err(ClpError::io("cannot create directory", dir, e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| ClpError::io("cannot stat", dir, e))?;
    if !meta.file_type().is_dir() {
        return Err(ClpError::new(
            ErrorKind::Permission,
            format!(
                "{} is not a directory (a symlink or file is in the way); remove it so clpd can create its directory",
                dir.display()
            ),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(ClpError::new(
            ErrorKind::Permission,
            format!(
                "{} is owned by uid {}, not by clpd's user (uid {me}); another user could replace what clpd writes there: chown it to uid {me}",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o7777 & !mode != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(|e| ClpError::io("cannot set the mode of", dir, e))?;
    }
    Ok(())
}

/// Opens (creating when missing) the lock file `path` of mode 0600 for clpd's
/// user. A file that is not a regular file owned by clpd's user with mode 0600
/// is replaced by a new one: whoever might hold the old one open (from before
/// its mode was fixed) then holds a lock on a file nobody uses.
pub fn open_lock_file(path: &Path) -> Result<File> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PRIVATE_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)
    };
    match open() {
        Ok(f) if is_private_file(&f) => return Ok(f),
        Ok(_) => {}
        // ELOOP: a symlink is in the way; it is replaced like a foreign file.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {}
        Err(e) => return Err(ClpError::io("cannot open", path, e)),
    }
    fs::remove_file(path).map_err(|e| ClpError::io("cannot replace", path, e))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| ClpError::io("cannot create", path, e))?;
    // Whatever the umask: exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))
        .map_err(|e| ClpError::io("cannot set the mode of", path, e))?;
    Ok(file)
}

/// A regular file owned by clpd's user that nobody else can open.
fn is_private_file(file: &File) -> bool {
    let me = rustix::process::geteuid().as_raw();
    file.metadata()
        .is_ok_and(|m| m.file_type().is_file() && m.uid() == me && m.mode() & 0o077 == 0)
}

/// Opens `path` for appending without following a symlink at its leaf,
/// creating it with `create_mode` (exactly, whatever the umask) when missing;
/// an existing file keeps its mode. Only a regular file is accepted (a FIFO
/// or device would block or misdirect root's writes).
pub fn open_append_nofollow(path: &Path, create_mode: u32) -> io::Result<File> {
    let open = |create: bool| {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(create)
            .mode(create_mode)
            // O_NONBLOCK: a FIFO planted at `path` must not block the open; it
            // is refused below. Regular files ignore the flag.
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)
    };
    let file = match open(false) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let f = match open(true) {
                Ok(f) => f,
                // Created by another writer in between: open theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false)?,
                Err(e) => return Err(e),
            };
            f.set_permissions(fs::Permissions::from_mode(create_mode))?;
            f
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// [`open_append_nofollow`] for clp's own logs: an existing file of clpd's
/// user with more permissions than `mode` (written by an older version at
/// 0644) is brought down to `mode`.
pub fn open_log_file(path: &Path, mode: u32) -> io::Result<File> {
    let file = open_append_nofollow(path, mode)?;
    let meta = file.metadata()?;
    if meta.mode() & 0o7777 & !mode != 0 && meta.uid() == rustix::process::geteuid().as_raw() {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(file)
}

/// Writes `bytes` to `path` atomically with exactly `mode`: a new temp file
/// in the same directory (created exclusively, never through a symlink), then
/// rename.
///
/// `durable` adds the fsyncs that make the new content outlive a crash or a
/// reset of the OS: the temp file's data before the rename, then the
/// directory (the rename itself is an update of the directory, and so is a
/// directory created on the way). The daemon's runtime files do without them:
/// a killed clpd loses nothing that reached the page cache, and state.json is
/// trusted only within the boot that wrote it, so fsyncs on every batch would
/// only slow recovery (tens of ms under I/O load). What must outlive a reboot
/// (the reboot count before a reboot, panic or reset) is durable.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> Result<()> {
    write_atomically_with(&mut RealFs { mode }, path, bytes, durable)
}

/// [`write_file_atomically`] through the steps of `fs`.
pub(crate) fn write_atomically_with(
    fs: &mut dyn AtomicFs,
    path: &Path,
    bytes: &[u8],
    durable: bool,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
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
        let _ = fs::remove_file(&tmp);
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
/// still taken: a recorder wraps [`RealFs`]).
pub(crate) trait AtomicFs {
    fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<File>;
    fn sync_file(&mut self, tmp: &Path, file: &File) -> io::Result<()>;
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// The real steps; new files get exactly `mode`.
pub(crate) struct RealFs {
    pub mode: u32,
}

impl AtomicFs for RealFs {
    fn write_new(&mut self, tmp: &Path, bytes: &[u8]) -> io::Result<File> {
        use std::io::Write;
        // A temp file left by a killed writer with our pid (pid reuse) is ours to drop.
        let _ = fs::remove_file(tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(tmp)?;
        f.set_permissions(fs::Permissions::from_mode(self.mode))?;
        f.write_all(bytes)?;
        Ok(f)
    }

    fn sync_file(&mut self, _tmp: &Path, file: &File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_tightens_and_refuses_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir, 0o750).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o750);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&dir, 0o700).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o700);

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = private_dir(&link, 0o700).unwrap_err();
        assert!(err.message.contains("not a directory"), "{}", err.message);
    }

    #[test]
    fn lock_file_is_private_and_replaces_a_loose_or_linked_one() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let f = open_lock_file(&path).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o600);
        drop(f);
        // A world-readable file left by an older version is replaced: whoever
        // opened and locked it then holds a lock nobody else uses.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let squatter = File::open(&path).unwrap();
        squatter.lock().unwrap();
        let f = open_lock_file(&path).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o600);
        f.try_lock().unwrap();
        drop(f);
        drop(squatter);
        // A planted symlink is replaced, its target untouched.
        let target = tmp.path().join("victim");
        fs::write(&target, b"keep").unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let f = open_lock_file(&path).unwrap();
        assert!(f.metadata().unwrap().file_type().is_file());
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn atomic_write_sets_the_mode_and_replaces_links() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let path = tmp.path().join("state.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_file_atomically(&path, b"new", 0o600, true).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        write_file_atomically(&path, b"newer", 0o644, false).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o644);
    }

    #[test]
    fn append_refuses_symlinks_and_sets_the_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.log");
        let f = open_append_nofollow(&path, 0o640).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o640);
        // An existing file keeps its mode; a log file is tightened.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
        let f = open_append_nofollow(&path, 0o640).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o604);
        let f = open_log_file(&path, 0o640).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o640);
        let link = tmp.path().join("b.log");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(open_append_nofollow(&link, 0o640).is_err());
        // A FIFO with a reader would take the open: refused, without blocking.
        let fifo = tmp.path().join("c.log");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        assert!(open_append_nofollow(&fifo, 0o640).is_err());
    }
}
