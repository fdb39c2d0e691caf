//! The lock that serialises `clpcfctrl --push`.
//!
//! A lock anyone can open is a lock anyone can hold: a user who can read the
//! lock file can `flock` it and block every push. So the file lives in a
//! directory only its owner may enter ([`Paths::push_lock_dir`], 0700), is
//! itself 0600, and is opened without following links. What we find there that
//! we did not make (another owner, group/other access, a link, several names)
//! is replaced before use. After taking the lock we check that the name still
//! refers to the file we locked, so a replacement racing with us is noticed.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, Flock, FlockArg, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstat, fstatat};
use nix::unistd::{UnlinkatFlags, fchown, geteuid, unlinkat};

use crate::error::{ClpError, Result};
use crate::paths::Paths;

const LOCK_FILE: &str = "push.lock";

/// Held while a push runs; dropping it releases the lock.
#[derive(Debug)]
pub struct PushLock {
    _lock: Flock<File>,
}

fn nix_io(what: &str, path: &Path, e: Errno) -> ClpError {
    ClpError::io(what, path, io::Error::from(e))
}

/// Takes the push lock, waiting for a push that holds it.
pub fn lock_pushes(paths: &Paths) -> Result<PushLock> {
    let dir_path = paths.push_lock_dir();
    let dir = private_dir(&dir_path)?;
    let path = dir_path.join(LOCK_FILE);
    let name = OsStr::new(LOCK_FILE);
    // Each round either returns or removes something that was not ours; a
    // handful of rounds only repeats when someone keeps racing us.
    for _ in 0..16 {
        let fd = match openat(
            &dir,
            name,
            OFlag::O_RDWR
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        ) {
            Ok(fd) => fd,
            // A link, or something we cannot open as a file: not ours, replace it.
            Err(Errno::ELOOP | Errno::EISDIR | Errno::ENXIO) => {
                remove(&dir, name, &path)?;
                continue;
            }
            Err(e) => return Err(nix_io("cannot open", &path, e)),
        };
        let st = fstat(&fd).map_err(|e| nix_io("cannot stat", &path, e))?;
        if !is_ours(&st) {
            remove(&dir, name, &path)?;
            continue;
        }
        let file = File::from(fd);
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| nix_io("cannot lock", &path, e))?;
        // Still the file the name refers to? (It may have been replaced while we waited.)
        match fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino => {
                return Ok(PushLock { _lock: lock });
            }
            Ok(_) | Err(Errno::ENOENT) => continue,
            Err(e) => return Err(nix_io("cannot stat", &path, e)),
        }
    }
    Err(ClpError::new(
        crate::ErrorKind::Failed,
        format!(
            "{} keeps being replaced while clpcfctrl locks it; find what writes to {} and stop it",
            path.display(),
            dir_path.display()
        ),
    ))
}

/// A lock file we made: a plain file of ours, with one name, that no one else
/// may open.
fn is_ours(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG
        && st.st_uid == geteuid().as_raw()
        && st.st_mode & 0o077 == 0
        && st.st_nlink == 1
}

fn remove(dir: &Dir, name: &OsStr, path: &Path) -> Result<()> {
    let flags = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st)
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR =>
        {
            // A directory planted under the lock's name: move it out of the way
            // by removing it as a tree.
            return crate::config::tree::remove_tree(path);
        }
        Ok(_) => UnlinkatFlags::NoRemoveDir,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(nix_io("cannot stat", path, e)),
    };
    match unlinkat(dir, name, flags) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(nix_io("cannot remove", path, e)),
    }
}

/// Creates or opens the lock directory and makes it ours and 0700, whoever
/// made it and however: through its descriptor, never following a link.
fn private_dir(path: &Path) -> Result<Dir> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ClpError::io("cannot create", parent, e))?;
    }
    match nix::unistd::mkdir(path, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(nix_io("cannot create", path, e)),
    }
    let dir = Dir::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::ELOOP | Errno::ENOTDIR => ClpError::new(
            crate::ErrorKind::Failed,
            format!(
                "{} is not a directory (a symbolic link or a file): remove it; clpcfctrl --push keeps its lock there",
                path.display()
            ),
        ),
        e => nix_io("cannot open", path, e),
    })?;
    let st = fstat(&dir).map_err(|e| nix_io("cannot stat", path, e))?;
    if st.st_uid != geteuid().as_raw() {
        fchown(&dir, Some(geteuid()), None)
            .map_err(|e| nix_io("cannot take ownership of", path, e))?;
    }
    if st.st_mode & 0o7777 != 0o700 {
        fchmod(&dir, Mode::from_bits_truncate(0o700))
            .map_err(|e| nix_io("cannot set the mode of", path, e))?;
    }
    Ok(dir)
}
