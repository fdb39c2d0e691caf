//! The cluster key: the secret Corosync encrypts and authenticates the
//! servers' traffic with, so that only the cluster's servers join.
//!
//! Generated once, by the first push of a clp.conf of several servers, from
//! the kernel's random source; kept 0600 beside clp.conf and reused by every
//! later push, so that servers holding the same key keep talking. Never
//! logged or printed: only its path appears in messages.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{ClpError, Result};
use crate::fsafe;

/// The key's length: Corosync's maximum (corosync-keygen's default).
pub const KEY_LEN: usize = 256;
/// The key's mode: readable by root only.
pub const KEY_MODE: u32 = 0o600;

/// A fresh key from the kernel's random source (getrandom(2)).
pub fn generate() -> Result<Vec<u8>> {
    let mut key = vec![0u8; KEY_LEN];
    let mut filled = 0;
    while filled < KEY_LEN {
        match rustix::rand::getrandom(&mut key[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(ClpError::failed(format!(
                    "cannot generate the cluster key: getrandom failed: {e}"
                )));
            }
        }
    }
    Ok(key)
}

/// Writes a fresh key to `path` atomically and durably, mode 0600.
pub fn write_new(path: &Path) -> Result<()> {
    fsafe::write_file_atomically(path, &generate()?, KEY_MODE, true)
}

/// Checks that the key installed at `path` can be reused: a regular file
/// (not a link), owned by us, not readable or writable by others, of the
/// right length. Ok(false) when there is none.
pub fn check_installed(path: &Path) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(ClpError::io("cannot read", path, e)),
    };
    let problem = if !meta.file_type().is_file() {
        Some("is not a regular file".to_string())
    } else if meta.uid() != nix::unistd::geteuid().as_raw() {
        Some(format!("is owned by uid {}, not by us", meta.uid()))
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some(format!(
            "has mode {:o}: others may read or change it",
            meta.permissions().mode() & 0o7777
        ))
    } else if meta.len() != KEY_LEN as u64 {
        Some(format!("is {} bytes long, not {KEY_LEN}", meta.len()))
    } else {
        None
    };
    match problem {
        None => Ok(true),
        Some(why) => Err(ClpError::config(format!(
            "the cluster key {} {why}: remove it and push again to generate a new one on this server, \
             or copy the cluster's key there (mode 0600): every server needs the same key",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_private_random_and_reusable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authkey");
        assert!(!check_installed(&path).unwrap());
        write_new(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!(meta.len(), KEY_LEN as u64);
        assert!(check_installed(&path).unwrap());
        let first = fs::read(&path).unwrap();
        assert_ne!(first, vec![0u8; KEY_LEN]);
        // Two keys differ.
        write_new(&dir.path().join("other")).unwrap();
        assert_ne!(first, fs::read(dir.path().join("other")).unwrap());
    }

    #[test]
    fn a_key_others_can_read_or_a_link_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authkey");
        write_new(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_installed(&path).unwrap_err().to_string();
        assert!(
            err.contains("has mode 644") && err.contains("remove it"),
            "{err}"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = check_installed(&link).unwrap_err().to_string();
        assert!(err.contains("is not a regular file"), "{err}");
        fs::write(dir.path().join("short"), b"x").unwrap();
        fs::set_permissions(dir.path().join("short"), fs::Permissions::from_mode(0o600)).unwrap();
        let err = check_installed(&dir.path().join("short"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 bytes long"), "{err}");
    }
}
