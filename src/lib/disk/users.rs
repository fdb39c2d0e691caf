//! The processes that keep a file system busy: an open file, a working or
//! root directory, the executable, or a mapping on it.
//!
//! Files are compared by device number (`st_dev` of what `/proc/<pid>/fd/*`,
//! `cwd`, `root` and `exe` point to; the device column of `maps`), not by
//! path: a path seen from another mount namespace or through a bind mount
//! would not start with the mount point, the device number is the same.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A process using the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub pid: i32,
    /// `comm`, for messages.
    pub name: String,
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.name, self.pid)
    }
}

/// Every process (but clpd itself) with something open on device `dev`.
pub fn users_of(dev: u64) -> Vec<User> {
    let own = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<User> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own && *pid != 1)
        .filter(|pid| uses(&Path::new("/proc").join(pid.to_string()), dev))
        .filter_map(|pid| {
            let pid = i32::try_from(pid).ok()?;
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default();
            Some(User { pid, name })
        })
        .collect();
    out.sort_by_key(|u| u.pid);
    out
}

/// Whether the process at `proc_dir` uses device `dev`.
fn uses(proc_dir: &Path, dev: u64) -> bool {
    let on_dev = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.dev() == dev);
    if ["cwd", "root", "exe"]
        .iter()
        .any(|link| on_dev(&proc_dir.join(link)))
    {
        return true;
    }
    if let Ok(fds) = std::fs::read_dir(proc_dir.join("fd"))
        && fds.flatten().any(|fd| on_dev(&fd.path()))
    {
        return true;
    }
    std::fs::read_to_string(proc_dir.join("maps")).is_ok_and(|maps| maps_use(&maps, dev))
}

/// Whether a `maps` text maps a file of device `dev` (the fourth column,
/// `major:minor` in hex).
fn maps_use(maps: &str, dev: u64) -> bool {
    maps.lines().any(|line| {
        line.split_whitespace()
            .nth(3)
            .and_then(|d| d.split_once(':'))
            .and_then(|(ma, mi)| {
                Some(rustix::fs::makedev(
                    u32::from_str_radix(ma, 16).ok()?,
                    u32::from_str_radix(mi, 16).ok()?,
                ))
            })
            .is_some_and(|d| d == dev)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_matched_by_device_number() {
        let maps = "\
55d0c000-55d0d000 r--p 00000000 fd:01 1234 /usr/bin/cat
7f00-7f01 r--p 00000000 07:03 99 /mnt/x/lib.so
7f02-7f03 rw-p 00000000 00:00 0
";
        assert!(maps_use(maps, rustix::fs::makedev(7, 3)));
        assert!(maps_use(maps, rustix::fs::makedev(0xfd, 1)));
        assert!(!maps_use(maps, rustix::fs::makedev(7, 4)));
    }

    #[test]
    fn a_process_with_a_file_open_is_found_and_clpd_never_is() {
        let dir = tempfile::tempdir().unwrap();
        let dev = std::fs::metadata(dir.path()).unwrap().dev();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(dir.path())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let found = users_of(dev);
        let _ = child.kill();
        let _ = child.wait();
        let me = found
            .iter()
            .find(|u| u.pid == pid)
            .expect("the sleep is found");
        assert_eq!(me.name, "sleep");
        assert!(found.iter().all(|u| u.pid != std::process::id() as i32));
        assert_eq!(me.to_string(), format!("sleep (pid {pid})"));
    }
}
