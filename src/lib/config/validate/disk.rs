//! The shared disk resource (`disk`): its device, mount point, fsck and
//! mount/umount settings.

use super::*;

impl Validator<'_, '_> {
    pub(super) fn disk(&mut self, obj: &Obj<'_>) -> DiskSpec {
        let disk_type = obj.text("parameters/disktype");
        if disk_type == "raw" || disk_type == "vxvm" {
            self.report.error(
                obj.line_of("parameters/disktype"),
                obj.at("parameters/disktype"),
                format!(
                    "disk type {disk_type} is not supported: clp's disk resource mounts a file system on a block device (disktype disk or lvm)"
                ),
            );
        }
        let device = obj.text("parameters/device");
        if !device.is_empty() && !device.starts_with('/') {
            self.report.error(
                obj.line_of("parameters/device"),
                obj.at("parameters/device"),
                format!("device \"{device}\" must be an absolute path, e.g. /dev/sdb1"),
            );
        }
        let mount_point = obj.text("parameters/mount/point");
        if !mount_point.is_empty() && (!mount_point.starts_with('/') || mount_point == "/") {
            self.report.error(
                obj.line_of("parameters/mount/point"),
                obj.at("parameters/mount/point"),
                format!(
                    "mount point \"{mount_point}\" must be an absolute path other than /, e.g. /mnt/disk1"
                ),
            );
        }
        let timing = match obj.int("parameters/fsck/timing") {
            0 => FsckTiming::Never,
            1 => FsckTiming::Always,
            _ => FsckTiming::EveryNth(obj.u32("parameters/fsck/interval").max(1)),
        };
        DiskSpec {
            disk_type,
            device,
            mount_point,
            fs: obj.text("parameters/fs"),
            mount_options: obj.text("parameters/mount/option"),
            mount_timeout: obj.secs("parameters/mount/timeout"),
            mount_retry: obj.u32("parameters/mount/retry"),
            fsck_on_mount_failure: obj.flag("parameters/mount/action"),
            umount_timeout: obj.secs("parameters/umount/timeout"),
            umount_retry: obj.u32("parameters/umount/retry"),
            umount_interval: obj.secs("parameters/umount/interval"),
            umount_kill: obj.text("parameters/umount/action") == "kill",
            fsck: FsckPolicy {
                timing,
                option: obj.text("parameters/fsck/option"),
                timeout: obj.secs("parameters/fsck/timeout"),
            },
        }
    }
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
