//! The shared disk resource (`disk`): what activating and deactivating one
//! does on this machine. Both run on a worker thread of clpd (they wait for
//! fsck, mount and umount, each with its timeout); the answer goes back to
//! the engine as a resource operation's result.
//!
//! Activation:
//!
//! 1. the device must be a block device, and mounted nowhere (in clpd's mount
//!    namespace) but, possibly, on this resource's mount point: a device
//!    mounted elsewhere is never checked or mounted (a second mount of a
//!    shared disk corrupts it). Found mounted on its own point (clpd was
//!    restarted, or an operator mounted it), it is taken as online as it is.
//! 2. fsck when `parameters/fsck/timing` says so (before every mount, or
//!    before every n-th mount counted per resource in clpd's state
//!    directory), with `parameters/fsck/option`: exit 0 and 1 are fine, 2
//!    (reboot needed) and 4 or more fail the activation. clp never makes a
//!    file system (no automatic mkfs).
//! 3. the mount point is created when missing, then `mount -t FS -o OPTIONS
//!    DEVICE POINT` (mount(8) rather than mount(2): it reads the options
//!    as CLUSTERPRO passes them, and a child that hangs can be abandoned at
//!    its timeout, a syscall cannot), tried `1 + mount/retry` times, with
//!    one fsck after the first failure when `mount/action` asks for it.
//! 4. the mount must then be seen in mountinfo.
//!
//! Deactivation: `umount POINT`; when it fails, the processes using the file
//! system ([`users`]) get SIGTERM after the first failure and SIGKILL after
//! later ones (`umount/action` kill), each time followed by a wait of up to
//! `umount/interval` for them to end, for `umount/retry` more attempts. A
//! lazy unmount is never done: it would report success while files are
//! still open for writing; the failure names the processes instead.

pub mod child;
pub mod holders;
pub mod mountinfo;
pub mod users;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::sys::signal::Signal;
use tracing::{info, warn};

use crate::model::{DiskSpec, FsckTiming};
pub use child::Cancel;
use mountinfo::{MountEntry, block_device, mount_at, mounts_of};
use users::{User, users_of};

/// One disk resource's work, with what the daemon resolved for it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub resource: String,
    pub spec: DiskSpec,
    /// The mount point on this machine (under a relocated root in tests).
    pub mount_point: PathBuf,
    /// Where the mounts since the last fsck are counted.
    pub mount_count: PathBuf,
}

/// How an activation ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activated {
    Mounted {
        checked: bool,
    },
    /// It was mounted on its point already.
    Adopted,
}

/// Brings the disk up. `cancel` is set when the engine gives up on this
/// operation (its resource timeout): the fsck or mount at work is killed,
/// and nothing of the disk stays mounted (the group may be started on
/// another server, which will check and mount the same device).
pub fn activate(plan: &Plan, cancel: &Cancel) -> Result<Activated, String> {
    let result = bring_up(plan, cancel);
    if !cancel.is_cancelled() {
        return result;
    }
    let undone = match undo_mount(plan) {
        Ok(true) => "; unmounted again",
        Ok(false) => "",
        Err(e) => {
            warn!(target: "rc", resource = %plan.resource, "{e}");
            "; it could not be unmounted again (see the log)"
        }
    };
    Err(format!(
        "activation of {} given up (its resource timeout passed){undone}",
        plan.resource
    ))
}

fn bring_up(plan: &Plan, cancel: &Cancel) -> Result<Activated, String> {
    let spec = &plan.spec;
    let rdev = block_device(&spec.device)?;
    prepare_mount_point(&plan.mount_point)?;
    // mountinfo names mount points by their real path.
    let point = &real_path(&plan.mount_point);
    let mounts = mountinfo::read()?;
    if let Some(found) = mounted_here(&mounts, rdev, point)? {
        info!(target: "rc", resource = %plan.resource, "{} is mounted on {} already ({}); taken as online", spec.device, point.display(), found.fs_type);
        return Ok(Activated::Adopted);
    }
    // Not mounted in clpd's namespace: it must not be mounted in any other
    // either (fsck or a second mount of a live file system corrupts it).
    if !holders::device_is_free(&spec.device) {
        return Err(format!(
            "{} is in use: its file system is mounted in {}; clp never checks or mounts a device in use elsewhere",
            spec.device,
            holders::describe(&holders::namespaces_mounting(rdev))
        ));
    }
    let mut checked = false;
    if fsck_due(plan) {
        fsck(plan, cancel)?;
        checked = true;
    }
    let attempts = spec.mount_retry.saturating_add(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if cancel.is_cancelled() {
            return Err("given up".into());
        }
        let ran = child::run(
            "mount",
            &mount_args(spec, point),
            spec.mount_timeout,
            Some(cancel),
        )?;
        if ran.success() {
            verify_mounted(plan, point, rdev)?;
            count_mount(plan, checked);
            return Ok(Activated::Mounted { checked });
        }
        last = ran.describe(spec.mount_timeout);
        warn!(target: "rc", resource = %plan.resource, "mount of {} on {} failed (attempt {attempt} of {attempts}): {last}", spec.device, point.display());
        if spec.fsck_on_mount_failure && !checked && attempt < attempts {
            fsck(plan, cancel)?;
            checked = true;
        }
    }
    Err(format!(
        "cannot mount {} on {}: mount {last}; check parameters/device, parameters/fs and parameters/mount/option",
        spec.device,
        point.display()
    ))
}

/// Unmounts the resource's device from its point after a given-up
/// activation; true when there was something to unmount.
fn undo_mount(plan: &Plan) -> Result<bool, String> {
    let point = real_path(&plan.mount_point);
    let mounts = mountinfo::read()?;
    let ours = block_device(&plan.spec.device)
        .is_ok_and(|rdev| mount_at(&mounts, &point).is_some_and(|m| m.dev == rdev));
    if !ours {
        return Ok(false);
    }
    let ran = child::run(
        "umount",
        &[point.display().to_string()],
        plan.spec.umount_timeout,
        None,
    )?;
    if ran.success() {
        Ok(true)
    } else {
        Err(format!(
            "cannot unmount {} after its activation was given up: umount {}",
            point.display(),
            ran.describe(plan.spec.umount_timeout)
        ))
    }
}

/// Takes the disk down.
pub fn deactivate(plan: &Plan) -> Result<(), String> {
    let spec = &plan.spec;
    let point = &real_path(&plan.mount_point);
    let mounts = mountinfo::read()?;
    let Some(ours) = mount_at(&mounts, point).cloned() else {
        info!(target: "rc", resource = %plan.resource, "nothing is mounted on {}; {} is down already", point.display(), plan.resource);
        return Ok(());
    };
    if !is_our_device(&ours, spec) {
        return Err(format!(
            "{} holds {} ({}), not {}: clp unmounts only its own device; unmount it by hand",
            point.display(),
            ours.source,
            ours.fs_type,
            spec.device
        ));
    }
    let attempts = spec.umount_retry.saturating_add(1);
    let mut last = String::new();
    let mut using = Vec::new();
    for attempt in 1..=attempts {
        let args = vec![point.display().to_string()];
        let ran = child::run("umount", &args, spec.umount_timeout, None)?;
        if ran.success() {
            return verify_unmounted(plan, point, &ours);
        }
        last = ran.describe(spec.umount_timeout);
        using = users_of(ours.dev);
        warn!(target: "rc", resource = %plan.resource, "unmount of {} failed (attempt {attempt} of {attempts}): {last}; in use by: {}", point.display(), names(&using));
        if attempt == attempts {
            break;
        }
        if spec.umount_kill && !using.is_empty() {
            let signal = if attempt == 1 {
                Signal::SIGTERM
            } else {
                Signal::SIGKILL
            };
            end_users(plan, &using, signal);
        } else {
            std::thread::sleep(spec.umount_interval);
        }
    }
    Err(format!(
        "cannot unmount {} ({}): umount {last}; processes using it: {}; clp does not unmount lazily (they could still be writing): stop them and stop the group again",
        point.display(),
        spec.device,
        names(&using)
    ))
}

/// The device's mount on `point`, if it is mounted there; an error when it
/// is mounted anywhere else, or when something else holds `point`.
fn mounted_here<'a>(
    mounts: &'a [MountEntry],
    rdev: u64,
    point: &Path,
) -> Result<Option<&'a MountEntry>, String> {
    let of_device = mounts_of(mounts, rdev);
    if let Some(here) = of_device.iter().find(|m| m.mount_point == point) {
        return Ok(Some(here));
    }
    if let Some(elsewhere) = of_device.first() {
        return Err(format!(
            "{} is mounted on {} already: clp never checks or mounts a device that is mounted elsewhere (a second mount of a shared disk corrupts it); unmount it there first",
            elsewhere.source,
            elsewhere.mount_point.display()
        ));
    }
    if let Some(other) = mount_at(mounts, point) {
        return Err(format!(
            "{} has {} ({}) mounted on it already; free the mount point first",
            point.display(),
            other.source,
            other.fs_type
        ));
    }
    Ok(None)
}

fn prepare_mount_point(point: &Path) -> Result<(), String> {
    match std::fs::metadata(point) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "mount point {} exists and is not a directory",
            point.display()
        )),
        Err(_) => std::fs::create_dir_all(point)
            .map_err(|e| format!("cannot create mount point {}: {e}", point.display())),
    }
}

fn mount_args(spec: &DiskSpec, point: &Path) -> Vec<String> {
    let mut args = Vec::new();
    if !spec.fs.is_empty() {
        args.extend(["-t".to_string(), spec.fs.clone()]);
    }
    if !spec.mount_options.is_empty() {
        args.extend(["-o".to_string(), spec.mount_options.clone()]);
    }
    args.extend([spec.device.clone(), point.display().to_string()]);
    args
}

fn fsck_args(spec: &DiskSpec) -> Vec<String> {
    let mut args = Vec::new();
    if !spec.fs.is_empty() {
        args.extend(["-t".to_string(), spec.fs.clone()]);
    }
    args.extend(spec.fsck.option.split_whitespace().map(str::to_string));
    args.push(spec.device.clone());
    args
}

/// Runs fsck and reads its exit code (fsck(8): bits 1 corrected, 2 reboot
/// needed, 4 left uncorrected, 8 operational error, ...).
fn fsck(plan: &Plan, cancel: &Cancel) -> Result<(), String> {
    let spec = &plan.spec;
    let started = Instant::now();
    info!(target: "rc", resource = %plan.resource, "checking {} (fsck {})", spec.device, fsck_args(spec).join(" "));
    let ran = child::run("fsck", &fsck_args(spec), spec.fsck.timeout, Some(cancel))?;
    let took = started.elapsed().as_millis();
    match ran.code {
        Some(0) | Some(1) => {
            info!(target: "rc", resource = %plan.resource, "fsck of {} finished with code {} in {took} ms", spec.device, ran.code.unwrap_or(0));
            reset_count(plan);
            Ok(())
        }
        Some(2) | Some(3) => Err(format!(
            "fsck of {} asks for a reboot (exit code 2): the file system was repaired while in use; reboot, then start the group",
            spec.device
        )),
        _ => Err(format!(
            "fsck of {} failed: fsck {}; repair the file system by hand (clp never runs mkfs)",
            spec.device,
            ran.describe(spec.fsck.timeout)
        )),
    }
}

fn fsck_due(plan: &Plan) -> bool {
    match plan.spec.fsck.timing {
        FsckTiming::Never => false,
        FsckTiming::Always => true,
        FsckTiming::EveryNth(n) => read_count(plan).saturating_add(1) >= n,
    }
}

fn read_count(plan: &Plan) -> u32 {
    std::fs::read_to_string(&plan.mount_count)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Counts an unchecked mount (the count is of the mounts since the last
/// check: with interval n, mount n after a check is checked again). A
/// failed write only makes the next fsck come sooner or later; it is logged.
fn count_mount(plan: &Plan, checked: bool) {
    if !matches!(plan.spec.fsck.timing, FsckTiming::EveryNth(_)) {
        return;
    }
    let n = if checked {
        0
    } else {
        read_count(plan).saturating_add(1)
    };
    write_count(plan, n);
}

fn reset_count(plan: &Plan) {
    if matches!(plan.spec.fsck.timing, FsckTiming::EveryNth(_)) {
        write_count(plan, 0);
    }
}

fn write_count(plan: &Plan, n: u32) {
    if let Err(e) = std::fs::write(&plan.mount_count, format!("{n}\n")) {
        warn!(target: "rc", resource = %plan.resource, "cannot record the mount count in {}: {e}", plan.mount_count.display());
    }
}

fn verify_mounted(plan: &Plan, point: &Path, rdev: u64) -> Result<(), String> {
    let mounts = mountinfo::read()?;
    match mount_at(&mounts, point) {
        Some(m) if m.dev == rdev => Ok(()),
        _ => Err(format!(
            "mount reported success but {} is not mounted on {}",
            plan.spec.device,
            point.display()
        )),
    }
}

fn verify_unmounted(plan: &Plan, point: &Path, ours: &MountEntry) -> Result<(), String> {
    let mounts = mountinfo::read()?;
    if let Some(m) = mount_at(&mounts, point)
        && m.dev == ours.dev
    {
        return Err(format!(
            "umount reported success but {} is still mounted on {}",
            plan.spec.device,
            point.display()
        ));
    }
    // Gone from clpd's namespace; alive in another one, it could still be
    // written while another server mounts the disk.
    if !holders::device_is_free(&plan.spec.device) {
        return Err(format!(
            "unmounted from {}, but the file system on {} is still mounted in {}: it stays alive and writable there; unmount it there (nsenter -t PID -m umount POINT) or end those processes, then stop the group again",
            point.display(),
            plan.spec.device,
            holders::describe(&holders::namespaces_mounting(ours.dev))
        ));
    }
    Ok(())
}

/// `path` with its symbolic links resolved (as mountinfo shows it); as
/// given when it does not exist.
pub fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether the mount on the point is this resource's device: by number
/// while the device exists, by name once it is gone.
fn is_our_device(mount: &MountEntry, spec: &DiskSpec) -> bool {
    match block_device(&spec.device) {
        Ok(rdev) => mount.dev == rdev,
        Err(_) => mount.source == spec.device,
    }
}

/// Signals the processes using the file system and waits, up to
/// `umount/interval`, for them to end.
fn end_users(plan: &Plan, using: &[User], signal: Signal) {
    let mut fds: Vec<OwnedFd> = Vec::new();
    for user in using {
        warn!(target: "rc", resource = %plan.resource, "sending {signal} to {user}, which keeps {} busy", plan.mount_point.display());
        if let Some(pid) = rustix::process::Pid::from_raw(user.pid)
            && let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        {
            let _ = rustix::process::pidfd_send_signal(&fd, rustix_signal(signal));
            fds.push(fd);
        }
    }
    let deadline = Instant::now() + plan.spec.umount_interval;
    for fd in &fds {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut pfd = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let _ = rustix::event::poll(&mut pfd, Some(&ts));
    }
}

fn rustix_signal(signal: Signal) -> rustix::process::Signal {
    match signal {
        Signal::SIGKILL => rustix::process::Signal::KILL,
        _ => rustix::process::Signal::TERM,
    }
}

fn names(users: &[User]) -> String {
    if users.is_empty() {
        return "none found".into();
    }
    users
        .iter()
        .map(User::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FsckPolicy;
    use std::time::Duration;

    fn plan(dir: &Path, timing: FsckTiming) -> Plan {
        Plan {
            resource: "disk1".into(),
            spec: DiskSpec {
                disk_type: "disk".into(),
                device: "/dev/loop9".into(),
                mount_point: "/mnt/x".into(),
                fs: "ext4".into(),
                mount_options: "rw,noatime".into(),
                mount_timeout: Duration::from_secs(120),
                mount_retry: 3,
                fsck_on_mount_failure: true,
                umount_timeout: Duration::from_secs(300),
                umount_retry: 3,
                umount_interval: Duration::from_secs(5),
                umount_kill: true,
                fsck: FsckPolicy {
                    timing,
                    option: "-y -f".into(),
                    timeout: Duration::from_secs(7200),
                },
            },
            mount_point: dir.join("mnt/x"),
            mount_count: dir.join("disk-disk1.mounts"),
        }
    }

    #[test]
    fn every_nth_mount_since_the_last_check_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), FsckTiming::EveryNth(3));
        let mut checked_at = Vec::new();
        for mount in 1..=7 {
            let due = fsck_due(&p);
            if due {
                checked_at.push(mount);
                reset_count(&p);
            }
            count_mount(&p, due);
        }
        assert_eq!(checked_at, [3, 6]);
    }

    #[test]
    fn always_and_never_need_no_count() {
        let dir = tempfile::tempdir().unwrap();
        let always = plan(dir.path(), FsckTiming::Always);
        let never = plan(dir.path(), FsckTiming::Never);
        for _ in 0..3 {
            assert!(fsck_due(&always) && !fsck_due(&never));
            count_mount(&always, true);
            count_mount(&never, false);
        }
        assert!(!always.mount_count.exists());
    }

    #[test]
    fn mount_and_fsck_arguments() {
        let p = plan(Path::new("/r"), FsckTiming::Always);
        assert_eq!(
            mount_args(&p.spec, &p.mount_point),
            ["-t", "ext4", "-o", "rw,noatime", "/dev/loop9", "/r/mnt/x"]
        );
        assert_eq!(fsck_args(&p.spec), ["-t", "ext4", "-y", "-f", "/dev/loop9"]);
        let mut bare = p.spec.clone();
        bare.fs.clear();
        bare.mount_options.clear();
        assert_eq!(mount_args(&bare, Path::new("/m")), ["/dev/loop9", "/m"]);
    }

    #[test]
    fn a_device_mounted_elsewhere_or_a_taken_point_is_refused() {
        let mounts = mountinfo::parse(
            "35 22 7:3 / /elsewhere rw - ext4 /dev/loop3 rw\n36 22 7:4 / /mine rw - ext4 /dev/loop4 rw\n",
        );
        let loop3 = rustix::fs::makedev(7, 3);
        let e = mounted_here(&mounts, loop3, Path::new("/mine")).unwrap_err();
        assert!(
            e.contains("/dev/loop3 is mounted on /elsewhere already"),
            "{e}"
        );
        let here = mounted_here(&mounts, loop3, Path::new("/elsewhere")).unwrap();
        assert_eq!(here.map(|m| m.source.as_str()), Some("/dev/loop3"));
        let e = mounted_here(&mounts, rustix::fs::makedev(7, 5), Path::new("/mine")).unwrap_err();
        assert!(
            e.contains("/mine has /dev/loop4 (ext4) mounted on it already"),
            "{e}"
        );
        assert!(
            mounted_here(&mounts, rustix::fs::makedev(7, 5), Path::new("/free"))
                .unwrap()
                .is_none()
        );
    }
}
