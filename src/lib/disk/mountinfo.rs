//! What is mounted where, from `/proc/self/mountinfo` (the mount namespace
//! clpd runs in: a private one in tests sees only its own mounts).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The `st_dev` of files on this mount (`major:minor`, field 3).
    pub dev: u64,
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// The mount source as the kernel names it (a device path, or a word).
    pub source: String,
}

/// The mounts of clpd's mount namespace.
pub fn read() -> Result<Vec<MountEntry>, String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|text| parse(&text))
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))
}

/// Parses mountinfo text; lines it cannot read are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let mut fields = line.split(' ');
    let _id = fields.next()?;
    let _parent = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let _root = fields.next()?;
    let mount_point = unescape(fields.next()?);
    // Optional fields (shared:N, master:N, ...) end with a lone "-".
    let mut rest = fields.skip_while(|f| *f != "-").skip(1);
    let fs_type = unescape(rest.next()?);
    let source = unescape(rest.next()?);
    Some(MountEntry {
        dev: rustix::fs::makedev(major.parse().ok()?, minor.parse().ok()?),
        mount_point: PathBuf::from(mount_point),
        fs_type,
        source,
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The device number of a block device; an error naming it otherwise.
pub fn block_device(device: &str) -> Result<u64, String> {
    let meta = std::fs::metadata(device).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("device {device} does not exist; check parameters/device and that this server sees the disk")
        }
        _ => format!("cannot read device {device}: {e}"),
    })?;
    if !meta.file_type().is_block_device() {
        return Err(format!(
            "{device} is not a block device; parameters/device must name the disk's block device"
        ));
    }
    Ok(meta.rdev())
}

/// The mounts of device `rdev` (found by number, so another name of the
/// same device, a symlink under /dev/disk/by-*, counts too).
pub fn mounts_of(mounts: &[MountEntry], rdev: u64) -> Vec<&MountEntry> {
    mounts.iter().filter(|m| m.dev == rdev).collect()
}

/// The mount at exactly `point`, the last one when several are stacked
/// (the one that is visible).
pub fn mount_at<'a>(mounts: &'a [MountEntry], point: &Path) -> Option<&'a MountEntry> {
    mounts.iter().rev().find(|m| m.mount_point == point)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
35 22 7:3 / /tmp/a\\040b rw,relatime shared:5 master:2 - ext4 /dev/loop3 rw
36 22 0:45 / /proc rw - proc proc rw
37 35 7:4 / /tmp/a\\040b rw - xfs /dev/loop4 rw
";

    #[test]
    fn lines_are_read_with_their_escapes_and_optional_fields() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 4);
        assert_eq!(m[1].mount_point, PathBuf::from("/tmp/a b"));
        assert_eq!(m[1].fs_type, "ext4");
        assert_eq!(m[1].source, "/dev/loop3");
        assert_eq!(m[1].dev, rustix::fs::makedev(7, 3));
        assert_eq!(m[2].source, "proc");
    }

    #[test]
    fn the_visible_mount_of_a_point_is_the_last_one() {
        let m = parse(SAMPLE);
        let top = mount_at(&m, Path::new("/tmp/a b")).unwrap();
        assert_eq!(top.source, "/dev/loop4");
        assert_eq!(mounts_of(&m, rustix::fs::makedev(7, 3)).len(), 1);
        assert!(mount_at(&m, Path::new("/tmp/a")).is_none());
    }

    #[test]
    fn a_broken_line_is_skipped() {
        assert!(parse("garbage\n1 2 x / /p rw - ext4 /dev/x rw\n").is_empty());
    }

    #[test]
    fn missing_and_non_block_devices_are_named() {
        let e = block_device("/nonexistent/dev/sdz9").unwrap_err();
        assert!(e.contains("/nonexistent/dev/sdz9 does not exist"), "{e}");
        let e = block_device("/proc/self/mountinfo").unwrap_err();
        assert!(e.contains("is not a block device"), "{e}");
    }
}
