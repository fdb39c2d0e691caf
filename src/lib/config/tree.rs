//! Copying configuration trees as root without trusting them.
//!
//! `clpcfctrl` runs as root and reads and writes directories other users may be
//! able to change (the directory given to `--push`, the one given to `--pull`).
//! So below the directory it was given, every entry is opened relative to its
//! parent's descriptor with `O_NOFOLLOW`: a symbolic link planted in the tree, or
//! swapped in while the copy runs, is never followed. Files are written under a
//! new name created with `O_EXCL` and then renamed over the target, so an
//! existing file or link at the target is replaced, never written through.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat, renameat};
use nix::sys::stat::{Mode, SFlag, fchmod, fstat, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, fchown, getegid, geteuid, symlinkat, unlinkat};

use crate::error::{ClpError, ErrorKind, Result};

/// Mode of the installed directories. clpd (root) is the only one running the
/// scripts; reading them stays open to others as before, like the rest of /etc.
pub const DIR_MODE: u32 = 0o755;
/// Mode of clp.conf wherever clp writes it: it holds passwords (SMTP, httpw).
pub const CONF_MODE: u32 = 0o600;

/// The mode a script is installed with: the read and execute bits it was given
/// (so a 0755 script stays 0755 and a 0700 one stays 0700), write for its owner
/// only, and no setuid, setgid or sticky bit.
pub fn script_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o600
}

/// What to do with a symbolic link found in a tree being copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Refuse it (a tree being pushed).
    Refuse,
    /// Copy it as a link (an installed tree from before links were refused: the
    /// backup and `--pull` must still reproduce it).
    Keep,
}

/// Why push refuses an entry of a scripts tree with this `st_mode`, if it does.
fn refusal(mode: u32) -> Option<&'static str> {
    let kind = SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits());
    if kind == SFlag::S_IFLNK {
        Some("is a symbolic link")
    } else if kind == SFlag::S_IFBLK {
        Some("is a block device")
    } else if kind == SFlag::S_IFCHR {
        Some("is a character device")
    } else if kind == SFlag::S_IFIFO {
        Some("is a FIFO")
    } else if kind == SFlag::S_IFSOCK {
        Some("is a socket")
    } else if kind == SFlag::S_IFREG {
        match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
            (true, true) => Some("is setuid and setgid"),
            (true, false) => Some("is setuid"),
            (false, true) => Some("is setgid"),
            (false, false) => None,
        }
    } else {
        None
    }
}

/// Every entry of the scripts tree `scripts` that push refuses, as
/// `path: reason`, in path order. A missing tree has none.
pub fn refused_entries(scripts: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match std::fs::symlink_metadata(scripts) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ClpError::io("cannot stat", scripts, e)),
        Ok(meta) => scan(scripts, &meta, &mut out)?,
    }
    Ok(out)
}

fn scan(path: &Path, meta: &std::fs::Metadata, out: &mut Vec<String>) -> Result<()> {
    if let Some(why) = refusal(meta.mode()) {
        out.push(format!("{}: {why}", path.display()));
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)
        .and_then(|d| {
            d.map(|e| e.map(|e| e.path()))
                .collect::<io::Result<Vec<_>>>()
        })
        .map_err(|e| ClpError::io("cannot read", path, e))?;
    entries.sort();
    for entry in entries {
        let meta = std::fs::symlink_metadata(&entry)
            .map_err(|e| ClpError::io("cannot stat", &entry, e))?;
        scan(&entry, &meta, out)?;
    }
    Ok(())
}

fn nix_io(what: &str, path: &Path, e: Errno) -> ClpError {
    ClpError::io(what, path, io::Error::from(e))
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// Opens the directory `path`; a symbolic link as its last component is refused.
fn open_dir_nofollow(path: &Path) -> Result<Dir> {
    Dir::open(path, DIR_FLAGS, Mode::empty()).map_err(|e| not_a_dir(path, e))
}

fn not_a_dir(path: &Path, e: Errno) -> ClpError {
    match e {
        Errno::ELOOP | Errno::ENOTDIR => ClpError::new(
            ErrorKind::Failed,
            format!(
                "{} is not a directory (a symbolic link or a file): remove or rename it",
                path.display()
            ),
        ),
        e => nix_io("cannot open", path, e),
    }
}

/// Creates (or opens an existing) directory `name` in `parent`. A new one gets
/// [`DIR_MODE`] whatever the umask; a symbolic link in its place is refused.
fn make_dir_at(parent: &Dir, name: &OsStr, label: &Path) -> Result<Dir> {
    let created = match mkdirat(parent, name, Mode::from_bits_truncate(0o700)) {
        Ok(()) => true,
        Err(Errno::EEXIST) => false,
        Err(e) => return Err(nix_io("cannot create", label, e)),
    };
    let dir =
        Dir::openat(parent, name, DIR_FLAGS, Mode::empty()).map_err(|e| not_a_dir(label, e))?;
    if created {
        own(&dir, label)?;
        fchmod(&dir, Mode::from_bits_truncate(DIR_MODE))
            .map_err(|e| nix_io("cannot set the mode of", label, e))?;
    }
    Ok(dir)
}

/// Gives what we created to the installing user and group, so a setgid parent
/// directory cannot hand it to another group.
fn own(fd: impl AsFd, label: &Path) -> Result<()> {
    fchown(fd, Some(geteuid()), Some(getegid()))
        .map_err(|e| nix_io("cannot set the owner of", label, e))
}

/// Copies the tree `src` into `dest_parent/name` (created when missing; files
/// already there of other names are left alone). Files get [`script_mode`] of
/// their mode; directories created get [`DIR_MODE`]. Symbolic links, devices,
/// FIFOs, sockets and setuid/setgid files are refused with `Links::Refuse`
/// (links are copied as links with `Links::Keep`).
pub fn copy_tree(src: &Path, dest_parent: &Path, name: &str, links: Links) -> Result<()> {
    let from = open_dir_nofollow(src)?;
    let parent = Dir::open(
        dest_parent,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| nix_io("cannot open", dest_parent, e))?;
    let dest = dest_parent.join(name);
    let to = make_dir_at(&parent, OsStr::new(name), &dest)?;
    copy_dir(from, src, &to, &dest, links)
}

fn copy_dir(
    mut from: Dir,
    from_label: &Path,
    to: &Dir,
    to_label: &Path,
    links: Links,
) -> Result<()> {
    let mut names: Vec<OsString> = Vec::new();
    for entry in from.iter() {
        let entry = entry.map_err(|e| nix_io("cannot read", from_label, e))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_owned());
        }
    }
    names.sort();
    for name in names {
        let src = from_label.join(&name);
        let dest = to_label.join(&name);
        let st = fstatat(&from, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| nix_io("cannot stat", &src, e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFDIR {
            let sub = Dir::openat(&from, name.as_os_str(), DIR_FLAGS, Mode::empty())
                .map_err(|e| not_a_dir(&src, e))?;
            let sub_to = make_dir_at(to, &name, &dest)?;
            copy_dir(sub, &src, &sub_to, &dest, links)?;
        } else if kind == SFlag::S_IFLNK && links == Links::Keep {
            let target = readlinkat(&from, name.as_os_str())
                .map_err(|e| nix_io("cannot read link", &src, e))?;
            replace(to, &name, &dest, |dir, tmp| {
                symlinkat(target.as_os_str(), dir, tmp)
            })?;
        } else {
            copy_file_at(&from, &name, &src, to, &name, &dest)?;
        }
    }
    to.as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .and_then(|f| f.sync_all())
        .map_err(|e| ClpError::io("cannot sync", to_label, e))
}

/// Opens a file to copy without following a link and without blocking on a
/// FIFO, and refuses what is not a plain file.
fn open_source(dir: Option<&Dir>, name: &OsStr, label: &Path, follow: bool) -> Result<File> {
    let mut flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let fd = match dir {
        Some(d) => openat(d, name, flags, Mode::empty()),
        None => nix::fcntl::open(label, flags, Mode::empty()),
    }
    .map_err(|e| match e {
        Errno::ELOOP => refused(label, "is a symbolic link"),
        e => nix_io("cannot open", label, e),
    })?;
    let st = fstat(&fd).map_err(|e| nix_io("cannot stat", label, e))?;
    if let Some(why) = refusal(st.st_mode) {
        return Err(refused(label, why));
    }
    if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
        return Err(refused(label, "is not a regular file"));
    }
    Ok(File::from(fd))
}

fn refused(label: &Path, why: &str) -> ClpError {
    ClpError::config(format!(
        "{}: {why}; clpcfctrl installs only directories and regular files: remove it from the tree and push again",
        label.display()
    ))
}

fn copy_file_at(
    from: &Dir,
    name: &OsStr,
    src: &Path,
    to: &Dir,
    to_name: &OsStr,
    dest: &Path,
) -> Result<()> {
    let mut input = open_source(Some(from), name, src, false)?;
    let mode = input
        .metadata()
        .map_err(|e| ClpError::io("cannot stat", src, e))?
        .mode();
    write_new(to, to_name, dest, script_mode(mode), |out| {
        io::copy(&mut input, out).map(drop)
    })
    .map_err(|e| with_source(e, src))
}

fn with_source(mut e: ClpError, src: &Path) -> ClpError {
    if e.kind == ErrorKind::Io && !e.message.contains(&src.display().to_string()) {
        e.message.push_str(&format!(" (copying {})", src.display()));
    }
    e
}

/// Copies the file `src` (a link as its last component is followed: the caller
/// named it) to `dest_dir/name` with `mode`.
pub fn copy_file(src: &Path, dest_dir: &Path, name: &str, mode: u32) -> Result<()> {
    let mut input = open_source(None, OsStr::new(""), src, true)?;
    let dir = Dir::open(
        dest_dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| nix_io("cannot open", dest_dir, e))?;
    let dest = dest_dir.join(name);
    write_new(&dir, OsStr::new(name), &dest, mode, |out| {
        io::copy(&mut input, out).map(drop)
    })
    .map_err(|e| with_source(e, src))
}

/// Writes `dir/name` through a new file: created with `O_EXCL` under a
/// temporary name, owned by us, given `mode`, synced, then renamed over `name`.
fn write_new(
    dir: &Dir,
    name: &OsStr,
    label: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    let mut fill = Some(fill);
    replace(dir, name, label, |dir, tmp| {
        let fd = openat(
            dir,
            tmp,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        let mut file = File::from(fd);
        fchown(&file, Some(geteuid()), Some(getegid()))?;
        if let Some(fill) = fill.take() {
            fill(&mut file).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        fchmod(&file, Mode::from_bits_truncate(mode))?;
        file.sync_all()
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    })
}

/// Creates a new entry under a temporary name with `create`, then renames it
/// over `name`. A stale temporary entry (a crash, or planted) is removed first.
fn replace(
    dir: &Dir,
    name: &OsStr,
    label: &Path,
    mut create: impl FnMut(&Dir, &OsStr) -> nix::Result<()>,
) -> Result<()> {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".clp-new-{}", std::process::id()));
    match unlinkat(dir, tmp.as_os_str(), UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(nix_io("cannot remove", &label.with_file_name(&tmp), e)),
    }
    let result = create(dir, &tmp)
        .and_then(|()| renameat(dir, tmp.as_os_str(), dir, name))
        .map_err(|e| nix_io("cannot write", label, e));
    if result.is_err() {
        let _ = unlinkat(dir, tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
    }
    result
}

/// Creates a new, empty directory in `parent`, private to us (0700), under a
/// name no one else can have chosen in advance.
pub fn fresh_dir(parent: &Path, prefix: &str) -> Result<PathBuf> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for n in 0u32..64 {
        let dir = parent.join(format!(
            "{prefix}{}-{:08x}",
            std::process::id(),
            seed.wrapping_add(n.wrapping_mul(0x9e37_79b9))
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ClpError::io("cannot create", &dir, e)),
        }
    }
    Err(ClpError::new(
        ErrorKind::Failed,
        format!(
            "cannot create a temporary directory in {}: too many entries named {prefix}*; remove them",
            parent.display()
        ),
    ))
}

/// Removes a tree without following links (a missing one is fine).
pub fn remove_tree(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClpError::io("cannot remove", dir, e)),
    }
}

/// Removes the entries of `dir` whose names start with `prefix`: what an
/// interrupted push left behind (called under the push lock, so no push owns them).
pub fn remove_leftovers(dir: &Path, prefix: &str) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ClpError::io("cannot read", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| ClpError::io("cannot read", dir, e))?;
        if entry.file_name().as_bytes().starts_with(prefix.as_bytes()) {
            let path = entry.path();
            let is_dir = std::fs::symlink_metadata(&path)
                .map(|m| m.is_dir())
                .unwrap_or(false);
            if is_dir {
                remove_tree(&path)?;
            } else {
                std::fs::remove_file(&path).map_err(|e| ClpError::io("cannot remove", &path, e))?;
            }
        }
    }
    Ok(())
}

/// fsyncs a directory, so the renames in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| ClpError::io("cannot sync", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_modes_drop_group_and_other_write_and_special_bits() {
        assert_eq!(script_mode(0o755), 0o755);
        assert_eq!(script_mode(0o700), 0o700);
        assert_eq!(script_mode(0o777), 0o755);
        assert_eq!(script_mode(0o4775), 0o755);
        assert_eq!(script_mode(0o2644), 0o644);
        assert_eq!(script_mode(0o1666), 0o644);
        assert_eq!(script_mode(0o500), 0o700);
    }

    #[test]
    fn refusals_name_the_kind() {
        assert_eq!(refusal(0o100755), None);
        assert_eq!(refusal(0o040777), None);
        assert_eq!(refusal(0o104755), Some("is setuid"));
        assert_eq!(refusal(0o102755), Some("is setgid"));
        assert_eq!(refusal(0o106755), Some("is setuid and setgid"));
        assert_eq!(refusal(0o120777), Some("is a symbolic link"));
        assert_eq!(refusal(0o010644), Some("is a FIFO"));
        assert_eq!(refusal(0o140755), Some("is a socket"));
        assert_eq!(refusal(0o060600), Some("is a block device"));
        assert_eq!(refusal(0o020600), Some("is a character device"));
    }
}
