//! Containment of scripts in cgroup v2, where it is available.
//!
//! A process group is a weak fence: a script's child that calls `setsid`
//! leaves it and survives every timeout and stop. A cgroup cannot be left
//! without privileges, so where clpd can create cgroups each script run gets
//! one of its own, and killing the run kills the whole cgroup.
//!
//! Layout, under clpd's own cgroup `C` (from `/proc/self/cgroup`, on the
//! cgroup2 mount found in `/proc/self/mountinfo`):
//!
//! * `C/clp-<root>-clpd`: clpd itself, moved there at start when `C` is not
//!   the root cgroup. A cgroup that has processes cannot have controllers
//!   enabled for its children ("no internal processes"); with clpd in a leaf,
//!   `C` stays an inner node a delegating manager (systemd's `Delegate=yes`)
//!   can use. In the root cgroup (a container, a machine without systemd) the
//!   rule does not apply and clpd stays where it is.
//! * `C/clp-<root>-<clpd pid>-<n>-<script>`: one per script run, created
//!   just before the spawn; the child enters it between fork and exec, so
//!   everything it starts is born inside. Once it is empty (the watcher
//!   follows `cgroup.events`) it is kept as the spare of its script (see
//!   [`Spares`]) or removed; all are removed at clpd's exit (which waits up
//!   to [`EXIT_GRACE`] for runs whose last processes are ending, such as a
//!   job stop.sh has just signalled) and start.
//!
//! `<root>` is a hash of the `CLP_ROOT` path: clpd's of different roots (the
//! integration tests run many at once) never share a name, and clpd only ever
//! removes directories with its own prefix. A run that outlives its script
//! (the application a start script launched) keeps its cgroup until it ends;
//! clpd's pid in the name keeps a restarted clpd from reusing it.
//!
//! One script run per cgroup, not one cgroup per resource: a kill of a run
//! that timed out is asynchronous (TERM, grace, KILL), and must not reach the
//! next script of the same resource, started meanwhile.
//!
//! Killing a run: SIGTERM to the process group and to every member of the
//! cgroup (each through a pidfd, after checking it is still a member), then
//! after the grace SIGKILL to the group and `cgroup.kill` (Linux 5.14).
//!
//! Without a writable cgroup2 hierarchy with `cgroup.kill` (not mounted, a
//! read-only or foreign hierarchy, no privileges, an old kernel) or with
//! `CLP_CONTAINMENT=pgroup`, scripts are contained by their process group
//! only, as before; clpd's start-up log says which is in force.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustix::process::{Pid as RPid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

/// clpd's environment variable that forces process groups only.
pub const CONTAINMENT_ENV: &str = "CLP_CONTAINMENT";

/// Where clpd creates the cgroups of its script runs.
#[derive(Debug)]
pub struct Cgroups {
    /// clpd's cgroup when it started (the parent of every cgroup we create).
    base: PathBuf,
    /// `clp-<root hash>-`: the prefix of everything we create.
    prefix: String,
    /// Where clpd moved itself, when it did.
    leaf: Option<PathBuf>,
    next: AtomicU64,
    /// clpd started in the root cgroup (exempt from the no-internal-processes
    /// rule: clpd stays there).
    is_root: bool,
    /// Emptied run cgroups waiting for the next run of their script.
    spares: Arc<Spares>,
}

/// How many emptied run cgroups are kept at most (one per script: about one
/// per exec resource script and genw monitor).
const MAX_SPARES: usize = 1024;

/// Emptied run cgroups kept for the next run of the same script, by label.
///
/// A genw monitor starts a check every interval and a recovery runs the same
/// stop.sh and start.sh again: creating and removing a cgroup each time cost
/// a mkdir on the way to the script and an rmdir after it. A cgroup is only
/// kept once it is empty (no process of its run is left: nothing a pending
/// kill could still reach) and is then used by one run at a time, so the
/// rule "one script run per cgroup" holds at every moment. The label in its
/// name stays right, since it only serves the same script again.
#[derive(Debug)]
pub(super) struct Spares {
    /// `<prefix><clpd pid>-`: what precedes `<n>-<label>` in our names.
    own: String,
    by_label: Mutex<HashMap<String, RunCgroup>>,
}

impl Spares {
    fn new(own: String) -> Spares {
        Spares {
            own,
            by_label: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, label: &str) -> Option<RunCgroup> {
        self.by_label.lock().ok()?.remove(label)
    }

    /// Keeps the empty run cgroup `cg` (and its open descriptors) for its
    /// script's next run; gives it back when it is not one of ours, its
    /// script has a spare already, or there are enough (the caller removes
    /// it).
    pub fn keep(&self, cg: RunCgroup) -> Result<(), RunCgroup> {
        let Some(label) = cg
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&self.own))
            .and_then(|rest| rest.split_once('-'))
            .map(|(_, label)| label.to_string())
        else {
            return Err(cg);
        };
        let Ok(mut spares) = self.by_label.lock() else {
            return Err(cg);
        };
        if spares.len() >= MAX_SPARES || spares.contains_key(&label) {
            return Err(cg);
        }
        spares.insert(label, cg);
        Ok(())
    }
}

/// Which mechanism contains scripts, and why.
#[derive(Debug)]
pub enum Containment {
    Cgroups(Cgroups),
    /// Process groups only, with the reason.
    ProcessGroups(String),
}

impl Containment {
    /// Decides the mechanism for a clpd whose root is `root`.
    pub fn detect(root: &Path) -> Containment {
        if std::env::var(CONTAINMENT_ENV).is_ok_and(|v| v == "pgroup") {
            return Containment::ProcessGroups(format!("{CONTAINMENT_ENV}=pgroup"));
        }
        match Cgroups::set_up(root) {
            Ok(c) => Containment::Cgroups(c),
            Err(why) => Containment::ProcessGroups(why),
        }
    }

    /// For clpd's start-up log.
    pub fn describe(&self) -> String {
        match self {
            Containment::Cgroups(c) => format!(
                "scripts are contained in cgroups {}/{}* (cgroup v2{})",
                c.base.display(),
                c.prefix,
                c.leaf
                    .as_ref()
                    .map_or_else(String::new, |l| format!("; clpd runs in {}", l.display()))
            ),
            Containment::ProcessGroups(why) => {
                format!("scripts are contained by their process group only: {why}")
            }
        }
    }
}

/// Removes the empty cgroups a clpd of `root` started from this process's
/// cgroup created and left behind: runs whose last process ended after that
/// clpd had exited (a test's teardown kills them after clpd). Only names
/// with that root's prefix are touched.
pub fn remove_leftovers(root: &Path) {
    if let Ok(c) = Cgroups::locate(root) {
        c.remove_empty();
    }
}

/// Kills every process in `dir`, the cgroup of a script run that a dead clpd
/// of `root` left in flight (its leader may be gone while children that
/// called `setsid` live on). Only a run cgroup of that root, beside this
/// clpd's, and not one of this clpd's own runs, is touched. Ok(false) when it
/// is gone already.
pub fn kill_interrupted_run(root: &Path, dir: &Path) -> Result<bool, String> {
    let c = Cgroups::locate(root)?;
    let own = format!("{}{}-", c.prefix, std::process::id());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if dir.parent() != Some(c.base.as_path())
        || !name.starts_with(&c.prefix)
        || name.starts_with(&own)
    {
        return Err(format!(
            "{} is not a run cgroup of an earlier clpd of this root; left alone",
            dir.display()
        ));
    }
    if !dir.is_dir() {
        return Ok(false);
    }
    fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"))
        .map_err(|e| format!("cannot kill cgroup {}: {e}", dir.display()))?;
    Ok(true)
}

impl Cgroups {
    /// clpd's cgroup and the names of its runs, without creating anything.
    fn locate(root: &Path) -> Result<Cgroups, String> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let (mount_root, mount_point) = cgroup2_mount(&mountinfo)
            .ok_or_else(|| "no cgroup v2 file system is mounted".to_string())?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let path = unified_path(&own).ok_or_else(|| {
            "clpd is in no cgroup v2 (no 0:: line in /proc/self/cgroup)".to_string()
        })?;
        let rel = path
            .strip_prefix(&mount_root)
            .ok()
            .filter(|_| !path.to_string_lossy().ends_with(" (deleted)"))
            .ok_or_else(|| {
                format!(
                    "clpd's cgroup {} is not under the mounted part {} of the hierarchy",
                    path.display(),
                    mount_root.display()
                )
            })?;
        let prefix = format!("clp-{:012x}-", root_hash(root) & 0xffff_ffff_ffff);
        Ok(Cgroups {
            base: mount_point.join(rel),
            spares: Arc::new(Spares::new(format!("{prefix}{}-", std::process::id()))),
            prefix,
            leaf: None,
            next: AtomicU64::new(0),
            is_root: rel == Path::new(""),
        })
    }

    fn set_up(root: &Path) -> Result<Cgroups, String> {
        let mut cg = Self::locate(root)?;
        cg.remove_empty();
        // Whether we may create cgroups here, and whether the kernel can kill one.
        let probe = cg
            .base
            .join(format!("{}probe-{}", cg.prefix, std::process::id()));
        fs::create_dir(&probe)
            .map_err(|e| format!("cannot create a cgroup in {}: {e}", cg.base.display()))?;
        let has_kill = probe.join("cgroup.kill").exists();
        let _ = fs::remove_dir(&probe);
        if !has_kill {
            return Err("the kernel has no cgroup.kill (Linux 5.14 or later needed)".into());
        }
        if !cg.is_root {
            let leaf = cg.base.join(format!("{}clpd", cg.prefix));
            match fs::create_dir(&leaf) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", leaf.display())),
            }
            if let Err(e) = fs::write(leaf.join("cgroup.procs"), std::process::id().to_string()) {
                let _ = fs::remove_dir(&leaf);
                return Err(format!(
                    "cannot move clpd into {}: {e} (under systemd, clp.service needs Delegate=yes)",
                    leaf.display()
                ));
            }
            cg.leaf = Some(leaf);
        }
        Ok(cg)
    }

    /// The emptied run cgroups kept for reuse (the watcher fills them).
    pub(super) fn spares(&self) -> Arc<Spares> {
        Arc::clone(&self.spares)
    }

    /// The cgroup of one script run, opened: the spare of its script when
    /// there is one, else a new one. The child is born into it (`clone3`
    /// with `CLONE_INTO_CGROUP`).
    pub(super) fn create_run(&self, program: &Path, label: Option<&str>) -> io::Result<RunCgroup> {
        let label = match label {
            Some(l) => clean_label(l),
            None => script_label(program),
        };
        if let Some(cg) = self.spares.take(&label) {
            return Ok(cg);
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.base.join(format!("{}{n}-{label}", self.spares.own));
        fs::create_dir(&dir)?;
        RunCgroup::open(dir.clone()).inspect_err(|_| {
            let _ = fs::remove_dir(&dir);
        })
    }

    /// Removes every empty cgroup with our prefix (not clpd's leaf): what
    /// runs of this or an earlier clpd of the same root left behind. Returns
    /// those that still have processes.
    pub fn remove_empty(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.base) else {
            return Vec::new();
        };
        let mut busy = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let dir = e.path();
            if name.starts_with(&self.prefix)
                && Some(&dir) != self.leaf.as_ref()
                && e.file_type().is_ok_and(|t| t.is_dir())
                // EBUSY while processes remain: it is removed later.
                && fs::remove_dir(&dir).is_err()
            {
                busy.push(dir);
            }
        }
        busy
    }

    /// At clpd's exit: removes the empty run cgroups (a run whose last
    /// processes are ending, a job stop.sh has just signalled, within
    /// [`EXIT_GRACE`]), moves clpd back where it started and removes its
    /// leaf (both best effort: a manager that enabled controllers in the base
    /// refuses the move, and the leaf stays).
    pub fn clean_up(&self) {
        let deadline = std::time::Instant::now() + EXIT_GRACE;
        for dir in self.remove_empty() {
            remove_once_empty(&dir, deadline);
        }
        if let Some(leaf) = &self.leaf {
            let back = fs::write(
                self.base.join("cgroup.procs"),
                std::process::id().to_string(),
            );
            match back {
                Ok(()) => {
                    if let Err(e) = fs::remove_dir(leaf) {
                        tracing::debug!(target: "exec", "cannot remove {}: {e}", leaf.display());
                    }
                }
                Err(e) => {
                    tracing::debug!(target: "exec", "cannot move clpd back to {}: {e}", self.base.display());
                }
            }
        }
    }
}

/// How long clpd's exit waits for the processes of its runs that are ending
/// (their cgroups are removed once empty; a run that lives on keeps its
/// cgroup, which the next clpd of the root removes once empty).
pub const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Removes the run cgroup `dir` once its last process has ended, waiting for
/// that (the kernel's `populated 0` in `cgroup.events`) until `deadline`.
fn remove_once_empty(dir: &Path, deadline: std::time::Instant) {
    let Ok(mut events) = RunCgroup::open(dir.to_path_buf()) else {
        return;
    };
    loop {
        if !events.populated() {
            let _ = fs::remove_dir(dir);
            return;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            tracing::debug!(target: "exec", "{} still has processes; left for the next clpd", dir.display());
            return;
        }
        let timeout = rustix::time::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &events.events,
            rustix::event::PollFlags::PRI,
        )];
        if rustix::event::poll(&mut fds, Some(&timeout)).is_err() {
            return;
        }
    }
}

fn open_dir(dir: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_DIRECTORY)
        .open(dir)
}

/// A run's cgroup as the watcher follows it.
#[derive(Debug)]
pub(super) struct RunCgroup {
    pub dir: PathBuf,
    /// The directory itself, open for `CLONE_INTO_CGROUP`.
    pub dir_fd: fs::File,
    /// `cgroup.events`, polled for POLLPRI: the kernel signals every change of
    /// `populated`.
    pub events: fs::File,
}

impl RunCgroup {
    /// Both stay open while the cgroup serves runs, a spare's included: a
    /// genw check at 1 s would otherwise open them every second.
    pub fn open(dir: PathBuf) -> io::Result<RunCgroup> {
        let dir_fd = open_dir(&dir)?;
        let events = fs::File::open(dir.join("cgroup.events"))?;
        Ok(RunCgroup {
            dir,
            dir_fd,
            events,
        })
    }

    /// Whether processes remain (true when it cannot be read: keep it).
    pub fn populated(&mut self) -> bool {
        // One positioned read from the start (`populated` is the first
        // line; the file is two short lines): a look after every script's
        // end, so one system call instead of a seek and reads to the end.
        let mut buf = [0u8; 256];
        let text = match std::os::unix::fs::FileExt::read_at(&self.events, &mut buf, 0) {
            Ok(n) if n < buf.len() => String::from_utf8_lossy(&buf[..n]).into_owned(),
            _ => {
                let mut text = String::new();
                if self.events.rewind().is_err() || self.events.read_to_string(&mut text).is_err() {
                    return true;
                }
                text
            }
        };
        !text.lines().any(|l| l.trim() == "populated 0")
    }

    /// SIGTERM (or any signal) to every member, each through a pidfd taken
    /// while it is still a member: a pid reused by a stranger is never hit.
    pub fn signal_members(&self, sig: Signal) {
        let Ok(procs) = fs::read_to_string(self.dir.join("cgroup.procs")) else {
            return;
        };
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let Some(p) = RPid::from_raw(pid) else {
                continue;
            };
            let Ok(fd) = pidfd_open(p, PidfdFlags::empty()) else {
                continue;
            };
            if is_member(pid, &self.dir) {
                let _ = pidfd_send_signal(fd.as_fd(), sig);
            }
        }
    }

    /// `cgroup.kill`: SIGKILL to every member, including processes forked
    /// while it happens.
    pub fn kill(&self) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))?
            .write_all(b"1")
    }

    pub fn remove(&self) -> io::Result<()> {
        fs::remove_dir(&self.dir)
    }

    pub fn events_fd(&self) -> &fs::File {
        &self.events
    }
}

/// Whether pid's `/proc/<pid>/cgroup` names `dir` (checked after its pidfd
/// was opened: if the pid was reused in between, the stranger is not in our
/// cgroup, and the pidfd is the stranger's, so nothing is sent). Names are
/// unique (root hash, clpd pid, counter): the last component suffices.
fn is_member(pid: i32, dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    let Some(path) = unified_path(&text) else {
        return false;
    };
    let name = dir.file_name();
    path.file_name() == name && name.is_some()
}

/// `(root within the hierarchy, mount point)` of the first cgroup2 mount.
fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, PathBuf)> {
    mountinfo.lines().find_map(|l| {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        let (before, after) = l.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let f: Vec<&str> = before.split_whitespace().collect();
        Some((unescape(f.get(3)?), unescape(f.get(4)?)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

/// The cgroup v2 path of a `/proc/<pid>/cgroup` text (its `0::` line).
fn unified_path(text: &str) -> Option<PathBuf> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from)
}

/// FNV-1a of the root path: stable across builds, unlike std's hasher.
fn root_hash(root: &Path) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `<resource dir>-<script stem>` made safe and short, so that an operator
/// reading `systemd-cgls` sees whose run it is.
fn script_label(program: &Path) -> String {
    let stem = program
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let parent = program
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    let raw = match (parent, stem) {
        (Some(p), Some(s)) => format!("{p}-{s}"),
        (None, Some(s)) => s,
        _ => "script".into(),
    };
    clean_label(&raw)
}

/// `raw` as a part of a cgroup's name: letters, digits, `-` and `_`, at most
/// 48 characters.
fn clean_label(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_and_the_own_path() {
        let mountinfo = "\
30 23 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_mount(mountinfo),
            Some(("/".into(), "/sys/fs/cgroup/unified".into()))
        );
        assert_eq!(cgroup2_mount("30 23 0:26 / /x rw - ext4 /dev/sda rw"), None);
        assert_eq!(
            cgroup2_mount("1 2 0:3 /a\\040b /mnt/c\\134g rw - cgroup2 none rw"),
            Some(("/a b".into(), "/mnt/c\\g".into()))
        );
        assert_eq!(
            unified_path("4:memory:/x\n0::/system.slice/clp.service\n"),
            Some("/system.slice/clp.service".into())
        );
        assert_eq!(unified_path("4:memory:/x\n"), None);
    }

    #[test]
    fn names_are_stable_safe_and_distinct_per_root() {
        assert_eq!(root_hash(Path::new("/")), root_hash(Path::new("/")));
        assert_ne!(
            root_hash(Path::new("/tmp/a")),
            root_hash(Path::new("/tmp/b"))
        );
        assert_eq!(
            script_label(Path::new("/etc/clp/scripts/g/web server/start.sh")),
            "web_server-start"
        );
        assert_eq!(script_label(Path::new("/bin/sh")), "bin-sh");
    }
}
