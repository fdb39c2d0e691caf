//! The parameters of the resource monitors: `sraw` (the system's CPU, memory,
//! swap, open files and disk usage) and `psrw` (each process's memory, open
//! files, threads, and zombies).

use serde::Serialize;
use std::time::Duration;

/// One watched quantity: whether it is watched, its limit, and how long the
/// limit must be reached before the monitor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threshold {
    pub enabled: bool,
    /// A percentage or a count, as the quantity says.
    pub limit: u64,
    pub duration: Duration,
}

/// The usage of one mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskThreshold {
    /// The mount point.
    pub mount: String,
    /// Percentage used at which the monitor is in error (CLUSTERPRO's
    /// "warning" level).
    pub error_rate: u32,
    /// Percentage used at which the monitor warns (CLUSTERPRO's "notice"
    /// level); 0: none.
    pub warning_rate: u32,
    pub duration: Duration,
}

/// `sraw`: thresholds on the whole system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrawSpec {
    /// Percentage of all CPUs busy.
    pub cpu: Threshold,
    /// Percentage of memory used (not available).
    pub memory: Threshold,
    /// Percentage of swap used (never reached without swap).
    pub swap: Threshold,
    /// Percentage of the kernel's maximum of open files (`fs.file-max`).
    pub files: Threshold,
    /// An absolute count of open files as well (clp's; 0: none), for kernels
    /// whose maximum is so large that a percentage of it never comes.
    pub files_count: u64,
    pub disks: Vec<DiskThreshold>,
}

/// `psrw`: thresholds each watched process is held to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsrwSpec {
    /// The processes watched: a pattern as psw's (`*`, `?`) on the command
    /// line or the name; empty: every process.
    pub process_name: String,
    /// Growth of the resident memory above what it was when first seen, in
    /// percent.
    pub memory: Threshold,
    /// Resident memory below this many MiB never counts as a leak.
    pub memory_floor_mib: u64,
    /// Open files in percent of the process's own limit (`RLIMIT_NOFILE`).
    pub files: Threshold,
    /// Threads of one process.
    pub threads: Threshold,
    /// A zombie (defunct) process left unreaped (the limit is unused).
    pub zombies: Threshold,
}
