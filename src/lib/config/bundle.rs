//! The installed configuration packed for another server, and unpacked there.
//!
//! A push to the other members of a cluster sends what the local push just
//! installed: clp.conf, the scripts tree and the cluster key, as a gzipped
//! tar. The receiver unpacks it into a private directory and installs that
//! directory with [`super::install::push`], the very function a local push
//! uses, so it is checked and installed in the same way. Unpacking trusts
//! nothing in the archive: only directories and regular files, only the
//! names a configuration directory holds, relative paths without `..`,
//! modes without special bits, and bounded sizes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::{AUTHKEY_FILE, CONFIG_FILE, Paths, SCRIPTS_DIR};

/// The largest packed configuration: its base64 must fit, with the request
/// around it, in one frame of the local socket (1 MiB).
pub const MAX_BUNDLE: usize = 640 * 1024;

/// The most bytes a bundle may unpack to (a bomb stops here).
pub const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

/// The most entries a bundle may hold.
pub const MAX_ENTRIES: usize = 20_000;

/// Packs the installed configuration of `paths`: clp.conf, scripts/ and,
/// when there is one, the cluster key.
pub fn pack_installed(paths: &Paths) -> Result<Vec<u8>> {
    let conf = paths.config_file();
    if !conf.is_file() {
        return Err(ClpError::not_found(format!(
            "no configuration is installed ({} does not exist)",
            conf.display()
        )));
    }
    pack(
        &conf,
        &paths.scripts_dir(),
        &paths.authkey_file(),
        &paths.config_dir(),
    )
}

/// Packs the configuration directory `dir` (clp.conf, scripts/) for one
/// other server (`clpcfctrl --push -h HOST`), with the directory's cluster
/// key, else `installed_key` (this server's, which every member shares).
pub fn pack_dir(dir: &Path, installed_key: &Path) -> Result<Vec<u8>> {
    let conf = dir.join(CONFIG_FILE);
    if !conf.is_file() {
        return Err(ClpError::not_found(format!(
            "{} does not exist; give the directory holding clp.conf with -x",
            conf.display()
        )));
    }
    let own_key = dir.join(AUTHKEY_FILE);
    let key = if fs::symlink_metadata(&own_key).is_ok() {
        own_key
    } else {
        installed_key.to_path_buf()
    };
    pack(&conf, &dir.join(SCRIPTS_DIR), &key, dir)
}

fn pack(conf: &Path, scripts: &Path, key: &Path, dir: &Path) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    // Links are packed as links, which the receiver refuses: a push never
    // installs one, so one here means someone changed the files by hand.
    tar.follow_symlinks(false);
    let packing = |e: io::Error| ClpError::io("cannot pack", dir, e);
    tar.append_path_with_name(conf, CONFIG_FILE)
        .map_err(packing)?;
    if scripts.is_dir() {
        tar.append_dir_all(SCRIPTS_DIR, scripts).map_err(packing)?;
    }
    if fs::symlink_metadata(key).is_ok() {
        tar.append_path_with_name(key, AUTHKEY_FILE)
            .map_err(packing)?;
    }
    let bytes = tar
        .into_inner()
        .and_then(GzEncoder::finish)
        .map_err(packing)?;
    if bytes.len() > MAX_BUNDLE {
        return Err(ClpError::new(
            ErrorKind::Usage,
            format!(
                "the configuration packs to {} bytes, more than the {MAX_BUNDLE} a push can send to the other servers: \
                 make the scripts directory smaller, or install it on each server with clpcfctrl --push there",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// Unpacks `bundle` into `dest`, an empty private directory.
pub fn unpack(bundle: &[u8], dest: &Path) -> Result<()> {
    let bad = |why: String| {
        ClpError::config(format!(
            "the configuration received is not one clp installs: {why}; nothing was installed"
        ))
    };
    let mut archive = tar::Archive::new(GzDecoder::new(bundle));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a packed configuration ({e})")))?;
    let mut budget = MAX_UNPACKED;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| bad(format!("a damaged archive ({e})")))?;
        if count >= MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let name = entry
            .path()
            .map_err(|e| bad(format!("an entry without a readable name ({e})")))?
            .into_owned();
        let relative = checked_name(&name).ok_or_else(|| {
            bad(format!(
                "{} is not clp.conf, authkey or a path under scripts/",
                name.display()
            ))
        })?;
        let target = dest.join(&relative);
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o600) & 0o777;
        if kind.is_dir() {
            mkdirs(&target)?;
        } else if kind.is_file() {
            let size = entry.size();
            if size > budget {
                return Err(bad(format!("more than {MAX_UNPACKED} bytes unpacked")));
            }
            budget -= size;
            if let Some(parent) = target.parent() {
                mkdirs(parent)?;
            }
            write_entry(&mut entry, &target, mode)?;
        } else {
            return Err(bad(format!(
                "{} is not a regular file or a directory",
                name.display()
            )));
        }
    }
    Ok(())
}

/// Writes a configuration packed by another server into `dest` as a local
/// `clpcfctrl --pull` writes the installed one: clp.conf, scripts/ and the
/// cluster key (0600). Unpacked first into a private directory inside
/// `dest`, with every check [`unpack`] makes, and removed afterwards.
pub fn unpack_pulled(bundle: &[u8], dest: &Path) -> Result<()> {
    use super::tree::{self, CONF_MODE, Links};
    fs::create_dir_all(dest).map_err(|e| ClpError::io("cannot create", dest, e))?;
    let staged = tree::fresh_dir(dest, ".clpcfctrl-pull-")?;
    let copied = unpack(bundle, &staged).and_then(|()| {
        let conf = staged.join(CONFIG_FILE);
        if !conf.is_file() {
            return Err(ClpError::config(
                "the configuration received holds no clp.conf".to_string(),
            ));
        }
        tree::copy_file(&conf, dest, CONFIG_FILE, CONF_MODE)?;
        let scripts = staged.join(SCRIPTS_DIR);
        if scripts.is_dir() {
            tree::copy_tree(&scripts, dest, SCRIPTS_DIR, Links::Keep)?;
        }
        let key = staged.join(AUTHKEY_FILE);
        if key.is_file() {
            tree::copy_file(&key, dest, AUTHKEY_FILE, super::cluster_key::KEY_MODE)?;
        }
        Ok(())
    });
    let removed = tree::remove_tree(&staged);
    copied.and(removed)
}

/// `name` when it is one a configuration directory holds.
fn checked_name(name: &Path) -> Option<PathBuf> {
    let mut parts = Vec::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    let first = parts.first()?.to_str()?;
    let allowed = match first {
        CONFIG_FILE | AUTHKEY_FILE => parts.len() == 1,
        SCRIPTS_DIR => true,
        _ => false,
    };
    allowed.then(|| parts.iter().collect())
}

fn mkdirs(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ClpError::io("cannot create", dir, e))
}

fn write_entry(entry: &mut impl Read, target: &Path, mode: u32) -> Result<()> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(target)
        .map_err(|e| ClpError::io("cannot create", target, e))?;
    io::copy(entry, &mut file)
        .and_then(|_| file.flush())
        .map_err(|e| ClpError::io("cannot write", target, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn installed(root: &Path) -> Paths {
        let paths = Paths::new(root);
        let scripts = paths.scripts_dir().join("g/r");
        fs::create_dir_all(&scripts).unwrap();
        fs::write(paths.config_file(), "<root/>\n").unwrap();
        fs::write(scripts.join("start.sh"), "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(scripts.join("start.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(paths.authkey_file(), [7u8; 128]).unwrap();
        fs::set_permissions(paths.authkey_file(), fs::Permissions::from_mode(0o600)).unwrap();
        paths
    }

    #[test]
    fn the_installed_configuration_unpacks_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let paths = installed(root.path());
        let bundle = pack_installed(&paths).unwrap();
        let dest = tempfile::tempdir().unwrap();
        unpack(&bundle, dest.path()).unwrap();
        let d = dest.path();
        assert_eq!(fs::read(d.join(CONFIG_FILE)).unwrap(), b"<root/>\n");
        let start = d.join("scripts/g/r/start.sh");
        assert_eq!(fs::read(&start).unwrap(), b"#!/bin/sh\nexit 0\n");
        let mode = fs::metadata(&start).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        assert_eq!(fs::read(d.join(AUTHKEY_FILE)).unwrap(), vec![7u8; 128]);
    }

    fn archive(entries: &[(&str, tar::EntryType, &[u8], u32)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (name, kind, body, mode) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(body.len() as u64);
            header.set_mode(*mode);
            if kind.is_symlink() {
                header.set_link_name("/etc/shadow").unwrap();
            }
            // Written raw, so that names a builder refuses can be tried.
            let bytes = name.as_bytes();
            header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            header.set_cksum();
            tar.append(&header, *body).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn names_outside_a_configuration_links_and_devices_are_refused() {
        use tar::EntryType::{Char, Regular, Symlink};
        for (entries, said) in [
            (
                vec![("../etc/passwd", Regular, &b"x"[..], 0o644)],
                "../etc/passwd",
            ),
            (
                vec![("/etc/cron.d/x", Regular, &b"x"[..], 0o644)],
                "/etc/cron.d/x",
            ),
            (
                vec![("other.conf", Regular, &b"x"[..], 0o644)],
                "other.conf",
            ),
            (
                vec![("scripts/../../x", Regular, &b"x"[..], 0o644)],
                "scripts/../../x",
            ),
            (vec![("scripts/l", Symlink, &b""[..], 0o777)], "scripts/l"),
            (vec![("scripts/tty", Char, &b""[..], 0o666)], "scripts/tty"),
        ] {
            let dest = tempfile::tempdir().unwrap();
            let err = unpack(&archive(&entries), dest.path()).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Config);
            assert!(err.message.contains(said), "{said}: {}", err.message);
            assert!(!dest.path().parent().unwrap().join("x").exists());
        }
        let dest = tempfile::tempdir().unwrap();
        assert!(unpack(b"not gzip at all", dest.path()).is_err());
    }

    #[test]
    fn special_mode_bits_do_not_survive_unpacking() {
        let bundle = archive(&[
            ("clp.conf", tar::EntryType::Regular, b"<root/>", 0o644),
            (
                "scripts/s.sh",
                tar::EntryType::Regular,
                b"#!/bin/sh",
                0o6755,
            ),
        ]);
        let dest = tempfile::tempdir().unwrap();
        unpack(&bundle, dest.path()).unwrap();
        let mode = fs::metadata(dest.path().join("scripts/s.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
    }

    #[test]
    fn a_configuration_too_large_to_send_is_refused_with_the_way_out() {
        let root = tempfile::tempdir().unwrap();
        let paths = installed(root.path());
        // Bytes that do not compress.
        let mut noise = vec![0u8; MAX_BUNDLE + 1024];
        let mut x: u32 = 2_463_534_242;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        fs::write(paths.scripts_dir().join("blob"), noise).unwrap();
        let err = pack_installed(&paths).unwrap_err();
        assert!(err.message.contains("more than"), "{}", err.message);
    }
}
