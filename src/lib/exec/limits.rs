//! The open-files limit: clpd needs a descriptor per watched process, per
//! probe socket and per log, so a thousand monitors pass the usual soft limit
//! of 1024 (systemd's default). clpd raises its own soft limit to the hard
//! one; the scripts it starts get the soft limit clpd started with, since
//! programs that use select(2) break on descriptors above 1023.

use std::sync::atomic::{AtomicU64, Ordering};

/// The soft limit scripts get; `u64::MAX`: leave theirs as inherited.
static SCRIPT_SOFT_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Raises this process's soft open-files limit to its hard limit and keeps the
/// previous soft limit for scripts. Returns (previous soft, new soft).
pub fn raise_open_files_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call filling a struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        SCRIPT_SOFT_LIMIT.store(before, Ordering::Relaxed);
    }
    Ok((before, limit.rlim_max))
}

/// In a new child before exec: back to the soft limit clpd started with.
/// Only a system call (async-signal-safe), no allocation.
pub(super) fn restore_for_child() {
    let soft = SCRIPT_SOFT_LIMIT.load(Ordering::Relaxed);
    if soft == u64::MAX {
        return;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = soft.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
