//! WRITE(FILE): the write that must never go through a name another user
//! could have planted in the watched directory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::vocab::CheckResult;

/// WRITE(FILE) in a directory. The directory may be writable by users who
/// could plant a symlink or a hard link at any name clp would pick, and clpd
/// runs as root: so the file has no name at all (`O_TMPFILE`), and the file
/// is gone when it is closed. A file system without `O_TMPFILE` gets a fresh
/// random name created with `O_EXCL|O_NOFOLLOW`, which never opens anything
/// that already exists, removed right after.
pub(super) fn write_in_dir(
    dir: &Path,
    monitor: &str,
    want: usize,
    pattern: &[u8],
    tmpfile: bool,
) -> CheckResult {
    let dname = dir.display().to_string();
    if tmpfile {
        let opened = OpenOptions::new()
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE | libc::O_NOFOLLOW)
            .open(dir);
        match opened {
            Ok(f) => {
                return match write_sync(f, want, pattern) {
                    Ok(()) => CheckResult::Ok,
                    Err(detail) => CheckResult::Failed(format!("{dname} (unnamed file): {detail}")),
                };
            }
            // EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR: the
            // kernel does not know the flag and saw O_DIRECTORY alone.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP) | Some(libc::EISDIR)
                ) => {}
            Err(e) => {
                return CheckResult::Failed(format!("{dname}: cannot create a file: {e}"));
            }
        }
    }
    let target = dir.join(format!(
        ".clp-diskw.{}.{}",
        file_safe(monitor),
        random_hex()
    ));
    write_named(&target, want, pattern)
}

/// WRITE(FILE) to a path that must not exist yet: created with
/// `O_EXCL|O_NOFOLLOW` (a planted link or file makes the check fail instead
/// of being written through), removed after.
pub(super) fn write_named(target: &Path, want: usize, pattern: &[u8]) -> CheckResult {
    let name = target.display().to_string();
    let opened = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(target);
    let f = match opened {
        Ok(f) => f,
        Err(e) => return CheckResult::Failed(format!("{name}: cannot create a file: {e}")),
    };
    let result = write_sync(f, want, pattern);
    // Never leave the file behind, whatever failed. Only the name is
    // removed: whatever sits there now, unlinking it writes to no file.
    let removed = std::fs::remove_file(target);
    if let Err(detail) = result {
        return CheckResult::Failed(format!("{name}: {detail}"));
    }
    match removed {
        Ok(()) => CheckResult::Ok,
        Err(e) => CheckResult::Failed(format!("{name}: cannot remove: {e}")),
    }
}

/// 16 hex digits from the kernel's random source (the clock as a last
/// resort: `O_EXCL` keeps even a guessed name safe, only the check fails).
fn random_hex() -> String {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most `b.len()` bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if usize::try_from(n).ok() != Some(b.len()) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes `want` bytes from `pattern` into the new file `f`, fsyncs it.
fn write_sync(mut f: File, want: usize, pattern: &[u8]) -> Result<(), String> {
    let mut off = 0usize;
    while off < want {
        let n = (want - off).min(pattern.len());
        f.write_all(&pattern[..n])
            .map_err(|e| format!("write error at byte {off}: {e}"))?;
        off += n;
    }
    f.sync_all().map_err(|e| format!("fsync failed: {e}"))
}

/// A monitor name made safe as part of a file name.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_without_o_tmpfile_uses_a_fresh_name_and_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        // A planted link at the name older versions used is left alone.
        let planted = dir.path().join(".clp-diskw.d1");
        std::os::unix::fs::symlink("/nonexistent/target", &planted).unwrap();
        let pat = [5u8; 64];
        assert_eq!(
            write_in_dir(dir.path(), "d1", 1000, &pat, false),
            CheckResult::Ok
        );
        assert_eq!(
            write_in_dir(dir.path(), "d1", 1000, &pat, true),
            CheckResult::Ok
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [planted.file_name().unwrap()]);
        assert_ne!(random_hex(), random_hex());
        // A name that exists is never opened: the check fails instead.
        let r = write_named(&planted, 10, &pat);
        assert!(
            matches!(&r, CheckResult::Failed(s) if s.contains("cannot create a file: File exists")),
            "{r:?}"
        );
    }
}
