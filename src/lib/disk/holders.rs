//! Is the file system really gone? An unmount detaches it from clpd's mount
//! namespace only: a namespace made while it was mounted (a container, a
//! service with a private /tmp, `unshare`) holds a copy of the mount, and
//! the file system lives on there, writable, after clpd's unmount succeeds.
//! Another server mounting the shared disk then would corrupt it.
//!
//! The kernel answers the question: a block device whose file system is
//! mounted anywhere cannot be opened with `O_EXCL` (EBUSY). The namespaces
//! that still mount it are found through `/proc/<pid>/mountinfo`, one
//! process named per namespace.

use std::os::unix::fs::OpenOptionsExt;

use super::mountinfo;
use super::users::User;

/// Whether `device` is free: no file system on it is mounted anywhere, no
/// program holds it exclusively. Errors other than EBUSY say nothing about
/// it (free then: the mount checks decide).
pub fn device_is_free(device: &str) -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(device)
    {
        Ok(_) => true,
        Err(e) => e.raw_os_error() != Some(libc::EBUSY),
    }
}

/// One process of each mount namespace (other than clpd's) where device
/// number `dev` is mounted, with where.
pub fn namespaces_mounting(dev: u64) -> Vec<(User, String)> {
    let own_ns = std::fs::read_link("/proc/self/ns/mnt").ok();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    let mut pids: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if Some(&ns) == own_ns.as_ref() || seen.contains(&ns) {
            continue;
        }
        seen.push(ns);
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
            continue;
        };
        if let Some(m) = mountinfo::parse(&text).into_iter().find(|m| m.dev == dev) {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default();
            out.push((User { pid, name }, m.mount_point.display().to_string()));
        }
    }
    out
}

/// "the mount namespace of sleep (pid 12) on /x, ..." for messages.
pub fn describe(found: &[(User, String)]) -> String {
    if found.is_empty() {
        return "no mount namespace found mounting it (a program may hold the device open exclusively)".into();
    }
    found
        .iter()
        .map(|(u, at)| format!("the mount namespace of {u} on {at}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_and_a_missing_device_are_free() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(device_is_free(f.path().to_str().unwrap()));
        assert!(device_is_free("/nonexistent/dev/sdz9"));
    }

    #[test]
    fn nothing_mounts_an_unused_device_number() {
        assert!(namespaces_mounting(rustix::fs::makedev(4095, 1_048_000)).is_empty());
        assert!(describe(&[]).starts_with("no mount namespace found"));
        let found = vec![(
            User {
                pid: 12,
                name: "sleep".into(),
            },
            "/x".to_string(),
        )];
        assert_eq!(
            describe(&found),
            "the mount namespace of sleep (pid 12) on /x"
        );
    }
}
