//! diskw: is the disk (or the file system on it) answering?
//!
//! `parameters/object` names a device or a file (a directory for WRITE(FILE)),
//! `parameters/method` how it is checked and `parameters/size` how many bytes
//! are read or written:
//!
//! | method | what one check does |
//! |---|---|
//! | `TUR`, `TUR(generic)`, `TUR(legacy)` | SCSI TEST UNIT READY through the SG_IO ioctl (see `sg`). The three are one code path: SG_IO works on every SCSI block and sg device of a current kernel, and the legacy `SCSI_IOCTL_TEST_UNIT_READY` ioctl answers the same question through the same midlayer. A device that does not take SCSI commands (loop, virtio-blk, dm, md, nvme, a file) is an error saying so, never Normal |
//! | `READ` | reads `size` bytes from offset 0 (fewer when the device is smaller). The object's cached pages for that range are dropped first (`posix_fadvise(DONTNEED)`), so each check reaches the device instead of the page cache |
//! | `READ(O_DIRECT)` | the same read with `O_DIRECT` into a 4096-aligned buffer, `size` rounded up to the logical block size (BLKSSZGET for a block device, 512 otherwise) |
//! | `READ(RAW)`, `READ(VxVM)` | the aligned direct read of `READ(O_DIRECT)`: Linux raw devices (`/dev/raw/rawN`, bound through `parameters/rawdevice`) are gone since 5.14 and `O_DIRECT` on the block device is what they did; a character device (a VxVM `rdsk` volume) is read unbuffered as it is, without the flag, which character devices refuse |
//! | `WRITE(FILE)` | when the object is a directory, writes `size` bytes to an unnamed file in it (`O_TMPFILE`), `fsync`s and closes it (which frees it); on a file system without `O_TMPFILE`, to a new file `.clp-diskw.<monitor>.<random>` created with `O_EXCL\|O_NOFOLLOW` and removed after. When the object does not exist, that path is the file, created the same way. An existing non-directory is refused (it would be overwritten). No name a user could plant (symlink, hard link) is ever opened for writing |
//! | `Dummy Read` | not supported: every check reports a Warning saying so (a Warning starts no recovery, so a configuration carried over from CLUSTERPRO cannot reboot the machine over a method clp does not have) |
//!
//! Every I/O error is an Error naming the object, the operation and the
//! errno text. An empty device (a detached loop device reads 0 bytes) is an
//! error too.
//!
//! The object path is used as configured, never moved under a relocated
//! `CLP_ROOT`: it names a real device or file system to watch, not one of
//! clp's own files (tests point it at their own loop devices and mounts).
//!
//! A diskw with Active timing whose `target` is a disk resource also checks,
//! before its I/O, that the resource's file system is still mounted on its
//! mount point (the mount there is of the resource's device, in
//! `/proc/self/mountinfo`): a device that still reads well under a file
//! system someone unmounted (or that the kernel dropped) is an error, and the
//! group recovers as for a failing disk. The mount point is the resource's
//! as clpd mounts it (under a relocated root in tests).
//!
//! A check blocks on its worker thread (`probe`): a device that hangs keeps
//! that one thread in the read while the monitor engine reports the timeout,
//! and later checks fail at once ("the previous check is still running")
//! until the read returns. SG_IO carries the monitor's timeout to the device.

mod sg;
mod write;

use write::{write_in_dir, write_named};

use std::alloc::Layout;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::time::Duration;

use crate::model::DiskwSpec;
use crate::vocab::CheckResult;

/// How a diskw checks its object (`parameters/method`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// TUR, TUR(generic), TUR(legacy).
    Tur,
    Read,
    /// READ(O_DIRECT).
    ReadDirect,
    /// READ(RAW), READ(VxVM): direct on block devices and files, plain on
    /// character devices.
    ReadRaw,
    /// WRITE(FILE).
    WriteFile,
    /// Dummy Read, or anything else: reported, not checked.
    Unsupported(String),
}

impl Method {
    pub fn parse(s: &str) -> Method {
        let t = s.trim();
        let is = |name: &str| t.eq_ignore_ascii_case(name);
        if is("TUR") || is("TUR(generic)") || is("TUR(legacy)") {
            Method::Tur
        } else if is("READ") || t.is_empty() {
            Method::Read
        } else if is("READ(O_DIRECT)") {
            Method::ReadDirect
        } else if is("READ(RAW)") || is("READ(VxVM)") {
            Method::ReadRaw
        } else if is("WRITE(FILE)") {
            Method::WriteFile
        } else {
            Method::Unsupported(t.to_string())
        }
    }
}

/// Chunk of one read or write call.
const CHUNK: usize = 1 << 20;
/// Alignment of the O_DIRECT buffer (covers 512 and 4096-byte sectors).
const ALIGN: usize = 4096;
/// `BLKSSZGET` (`_IO(0x12, 104)`): the logical block size of a block device.
const BLKSSZGET: libc::c_ulong = 0x1268;

/// diskw as a probe.
pub struct DiskwProbe {
    monitor: String,
    object: PathBuf,
    method: Method,
    size: u64,
    /// Reused between checks: plain buffer for READ and WRITE(FILE).
    buf: Vec<u8>,
    /// Reused between checks: aligned buffer for the direct reads.
    aligned: Option<AlignedBuf>,
    /// The disk resource whose mount is checked first, when the monitor's
    /// Active target is one.
    mount: Option<MountCheck>,
}

/// A disk resource's mount, as diskw checks it.
#[derive(Debug, Clone)]
pub struct MountCheck {
    pub resource: String,
    pub device: String,
    pub point: PathBuf,
}

impl MountCheck {
    /// Whether `device` is what is mounted on `point` now.
    fn check(&self) -> Result<(), String> {
        let point = crate::disk::real_path(&self.point);
        let mounts = crate::disk::mountinfo::read()?;
        let here = crate::disk::mountinfo::mount_at(&mounts, &point);
        let rdev = crate::disk::mountinfo::block_device(&self.device).ok();
        match here {
            Some(m) if Some(m.dev) == rdev || m.source == self.device => Ok(()),
            Some(m) => Err(format!(
                "disk resource {}: {} holds {}, not {}",
                self.resource,
                point.display(),
                m.source,
                self.device
            )),
            None => Err(format!(
                "disk resource {}: {} is no longer mounted on {}",
                self.resource,
                self.device,
                point.display()
            )),
        }
    }
}

impl DiskwProbe {
    pub fn new(monitor: &str, spec: &DiskwSpec) -> Self {
        let method = Method::parse(&spec.method);
        // WRITE(FILE) writes where `parameters/file` says, when it is set.
        let target = match (&method, &spec.file) {
            (Method::WriteFile, Some(file)) => file.as_str(),
            _ => spec.object.as_str(),
        };
        DiskwProbe {
            monitor: monitor.to_string(),
            object: PathBuf::from(target.trim()),
            method,
            size: spec.size.max(1),
            buf: Vec::new(),
            aligned: None,
            mount: None,
        }
    }

    /// Checks `mount` before each I/O.
    pub fn with_mount(mut self, mount: Option<MountCheck>) -> Self {
        self.mount = mount;
        self
    }

    fn name(&self) -> String {
        self.object.display().to_string()
    }

    fn tur(&self, timeout: Duration) -> CheckResult {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.object)
        {
            Ok(f) => f,
            Err(e) => return open_failed(&self.name(), &e),
        };
        // A UNIT ATTENTION is reported once per event (reset, media change):
        // ask again; more than a few in a row is an error of its own.
        let mut last = String::new();
        for _ in 0..3 {
            match sg::test_unit_ready(file.as_fd(), timeout) {
                Ok(answer) => match sg::judge(&answer) {
                    sg::Verdict::Ready => return CheckResult::Ok,
                    sg::Verdict::UnitAttention(m) => last = m,
                    sg::Verdict::Failed(m) => {
                        return CheckResult::Failed(format!("{}: {m}", self.name()));
                    }
                },
                Err(sg::SgError::NotScsi(e)) => {
                    return CheckResult::Failed(format!(
                        "{} is not a SCSI device (SG_IO: {e}); use READ or READ(O_DIRECT)",
                        self.name()
                    ));
                }
                Err(sg::SgError::Other(e)) => {
                    return CheckResult::Failed(format!(
                        "{}: TEST UNIT READY (SG_IO) failed: {e}",
                        self.name()
                    ));
                }
            }
        }
        CheckResult::Failed(format!(
            "{}: TEST UNIT READY keeps answering {last}",
            self.name()
        ))
    }

    fn read(&mut self) -> CheckResult {
        let file = match File::open(&self.object) {
            Ok(f) => f,
            Err(e) => return open_failed(&self.name(), &e),
        };
        let want = usize::try_from(self.size).unwrap_or(usize::MAX);
        // Drop the cached pages of the range: the read must reach the device.
        // SAFETY: plain syscall on an open descriptor; no memory involved.
        let _ = unsafe {
            libc::posix_fadvise(
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
                libc::off_t::try_from(want).unwrap_or(libc::off_t::MAX),
                libc::POSIX_FADV_DONTNEED,
            )
        };
        if self.buf.len() < want.min(CHUNK) {
            self.buf = vec![0; want.min(CHUNK)];
        }
        let name = self.name();
        read_all(&name, want, |off| {
            let n = (want - off).min(CHUNK);
            (&file).read(&mut self.buf[..n])
        })
    }

    fn read_direct(&mut self, raw: bool) -> CheckResult {
        let name = self.name();
        let meta = match std::fs::metadata(&self.object) {
            Ok(m) => m,
            Err(e) => return open_failed(&name, &e),
        };
        // Character devices refuse O_DIRECT and are unbuffered anyway.
        let direct = !(raw && meta.file_type().is_char_device());
        let mut opts = OpenOptions::new();
        opts.read(true);
        if direct {
            opts.custom_flags(libc::O_DIRECT);
        }
        let file = match opts.open(&self.object) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                return CheckResult::Failed(format!(
                    "{name}: cannot open with O_DIRECT ({e}): the file system does not support direct I/O; use READ"
                ));
            }
            Err(e) => return open_failed(&name, &e),
        };
        let block = if meta.file_type().is_block_device() {
            logical_block_size(&file).unwrap_or(512).max(512)
        } else {
            512
        };
        let want = round_up(usize::try_from(self.size).unwrap_or(usize::MAX), block);
        let chunk = round_up(want.min(CHUNK), ALIGN.max(block));
        if self.aligned.as_ref().is_none_or(|b| b.len() < chunk) {
            self.aligned = AlignedBuf::new(chunk);
        }
        let Some(buf) = self.aligned.as_mut() else {
            return CheckResult::Failed(format!("{name}: cannot allocate a {chunk}-byte buffer"));
        };
        read_all(&name, want, |off| {
            let n = (want - off).min(chunk);
            let r = (&file).read(&mut buf.as_mut_slice()[..n]);
            match r {
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{e} (the device or file system refused an aligned {n}-byte direct read)"
                    ),
                )),
                other => other,
            }
        })
    }

    fn write_file(&mut self) -> CheckResult {
        let want = usize::try_from(self.size).unwrap_or(usize::MAX);
        if self.buf.len() < want.min(CHUNK) {
            self.buf = vec![0; want.min(CHUNK)];
        }
        for (i, b) in self.buf.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        match std::fs::symlink_metadata(&self.object) {
            Ok(m) if m.is_dir() => write_in_dir(&self.object, &self.monitor, want, &self.buf, true),
            Ok(_) => CheckResult::Failed(format!(
                "{}: exists and is not a directory; WRITE(FILE) needs a directory (or a path that does not exist) to write its own file in",
                self.name()
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                write_named(&self.object, want, &self.buf)
            }
            Err(e) => open_failed(&self.name(), &e),
        }
    }
}

impl super::Probe for DiskwProbe {
    fn check(&mut self, timeout: Duration) -> CheckResult {
        if self.object.as_os_str().is_empty() {
            return CheckResult::Failed("no object (parameters/object) to check".into());
        }
        if let Some(Err(e)) = self.mount.as_ref().map(MountCheck::check) {
            return CheckResult::Failed(e);
        }
        match self.method.clone() {
            Method::Tur => self.tur(timeout),
            Method::Read => self.read(),
            Method::ReadDirect => self.read_direct(false),
            Method::ReadRaw => self.read_direct(true),
            Method::WriteFile => self.write_file(),
            Method::Unsupported(m) => CheckResult::Warning(format!(
                "method {m} is not supported by clp; {} is not checked (use READ, READ(O_DIRECT), TUR or WRITE(FILE))",
                self.name()
            )),
        }
    }
}

fn open_failed(name: &str, e: &io::Error) -> CheckResult {
    CheckResult::Failed(format!("{name}: cannot open: {e}"))
}

/// Reads up to `want` bytes through `step(offset)`; a short read ends the
/// object (a device smaller than `size`), an empty object is an error.
fn read_all(
    name: &str,
    want: usize,
    mut step: impl FnMut(usize) -> io::Result<usize>,
) -> CheckResult {
    let mut off = 0usize;
    while off < want {
        match step(off) {
            Ok(0) => break,
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return CheckResult::Failed(format!("{name}: read error at byte {off}: {e}"));
            }
        }
    }
    if off == 0 && want > 0 {
        return CheckResult::Failed(format!(
            "{name}: nothing to read (0 bytes: an empty or detached device)"
        ));
    }
    CheckResult::Ok
}

fn logical_block_size(file: &File) -> Option<usize> {
    let mut size: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which is valid.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(file),
            BLKSSZGET as _,
            &mut size as *mut libc::c_int,
        )
    };
    (rc == 0 && size > 0)
        .then(|| usize::try_from(size).ok())
        .flatten()
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to).saturating_mul(to).max(to)
}

/// A zeroed buffer aligned for O_DIRECT.
struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the buffer is owned memory with no thread affinity.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    fn new(len: usize) -> Option<AlignedBuf> {
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        Some(AlignedBuf { ptr, layout })
    }

    fn len(&self) -> usize {
        self.layout.size()
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` points to `len` initialised (zeroed) bytes owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

// ---- diskw in the kinds table (monitor::kinds) ------------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::{DiskwProbe, MountCheck};
    use crate::model::{DiskwSpec, Monitor, MonitorKind, ResourceKind, Timing};

    pub const KIND: Kind = Kind {
        name: "diskw",
        checks: Checks::OwnThread(probe),
        read,
        detail,
    };

    /// Device I/O that may hang: abandoned at the timeout, later checks fail
    /// at once until it returns.
    fn probe(monitor: &Monitor, ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Diskw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(
            DiskwProbe::new(&monitor.name, spec).with_mount(mount_check(monitor, ctx)),
        ))
    }

    /// The mount to check: the Active target's, when it is a disk resource.
    fn mount_check(monitor: &Monitor, ctx: &ProbeContext) -> Option<MountCheck> {
        if monitor.timing != Timing::Active {
            return None;
        }
        let target = ctx.cluster.resource(monitor.target.as_deref()?)?;
        let ResourceKind::Disk(disk) = &target.kind else {
            return None;
        };
        Some(MountCheck {
            resource: target.name.clone(),
            device: disk.device.clone(),
            point: crate::host::under_root(&ctx.paths, &disk.mount_point),
        })
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Diskw(DiskwSpec {
            object: p.text("parameters/object"),
            file: Some(p.text("parameters/file")).filter(|f| !f.is_empty()),
            method: p.text("parameters/method"),
            size: u64::try_from(p.int("parameters/size")).unwrap_or(512),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Diskw(d) = kind else {
            return Vec::new();
        };
        vec![
            ("Method", d.method.clone(), true),
            ("Monitor Target", d.object.clone(), true),
            ("I/O Size", d.size.to_string(), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Probe;
    use std::path::Path;

    fn probe(object: &Path, method: &str, size: u64) -> DiskwProbe {
        DiskwProbe::new(
            "d1",
            &DiskwSpec {
                object: object.display().to_string(),
                file: None,
                method: method.into(),
                size,
            },
        )
    }

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn methods() {
        assert_eq!(Method::parse("TUR"), Method::Tur);
        assert_eq!(Method::parse("TUR(generic)"), Method::Tur);
        assert_eq!(Method::parse("tur(legacy)"), Method::Tur);
        assert_eq!(Method::parse(" READ "), Method::Read);
        assert_eq!(Method::parse(""), Method::Read);
        assert_eq!(Method::parse("READ(O_DIRECT)"), Method::ReadDirect);
        assert_eq!(Method::parse("READ(RAW)"), Method::ReadRaw);
        assert_eq!(Method::parse("READ(VxVM)"), Method::ReadRaw);
        assert_eq!(Method::parse("WRITE(FILE)"), Method::WriteFile);
        assert_eq!(
            Method::parse("Dummy Read"),
            Method::Unsupported("Dummy Read".into())
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(round_up(2_000_000, 512), 2_000_384);
        assert_eq!(round_up(512, 512), 512);
        assert_eq!(round_up(1, 4096), 4096);
        assert_eq!(round_up(0, 512), 512);
    }

    #[test]
    fn reads_a_file_plain_and_direct() {
        // O_DIRECT needs a file system that supports it (ext4, xfs; tmpfs
        // since Linux 6.6).
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("img");
        std::fs::write(&f, vec![7u8; 3 * 4096]).unwrap();
        assert_eq!(probe(&f, "READ", 2_000_000).check(T), CheckResult::Ok);
        assert_eq!(probe(&f, "READ", 100).check(T), CheckResult::Ok);
        assert_eq!(probe(&f, "READ(O_DIRECT)", 512).check(T), CheckResult::Ok);
        assert_eq!(probe(&f, "READ(O_DIRECT)", 5000).check(T), CheckResult::Ok);
        assert_eq!(probe(&f, "READ(RAW)", 512).check(T), CheckResult::Ok);
    }

    #[test]
    fn missing_and_empty_objects_fail_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        for m in ["READ", "READ(O_DIRECT)", "TUR"] {
            let r = probe(&missing, m, 512).check(T);
            assert!(
                matches!(&r, CheckResult::Failed(s) if s.contains("nope: cannot open: No such file")),
                "{m}: {r:?}"
            );
        }
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            probe(&empty, "READ", 512).check(T),
            CheckResult::Failed(s) if s.contains("nothing to read")
        ));
        assert!(matches!(
            probe(Path::new(""), "READ", 512).check(T),
            CheckResult::Failed(s) if s.contains("no object")
        ));
    }

    #[test]
    fn read_errors_carry_the_errno_text() {
        // Reading a directory: EISDIR at byte 0.
        let dir = tempfile::tempdir().unwrap();
        let r = probe(dir.path(), "READ", 512).check(T);
        assert!(
            matches!(&r, CheckResult::Failed(s) if s.contains("read error at byte 0: Is a directory")),
            "{r:?}"
        );
    }

    #[test]
    fn tur_on_a_file_is_not_scsi() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("img");
        std::fs::write(&f, [0u8; 512]).unwrap();
        for m in ["TUR", "TUR(generic)", "TUR(legacy)"] {
            let r = probe(&f, m, 512).check(T);
            assert!(
                matches!(&r, CheckResult::Failed(s)
                    if s.contains("img is not a SCSI device") && s.contains("use READ or READ(O_DIRECT)")),
                "{m}: {r:?}"
            );
        }
    }

    #[test]
    fn write_file_in_a_directory_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            probe(dir.path(), "WRITE(FILE)", 100_000).check(T),
            CheckResult::Ok
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A path that does not exist yet is the file itself.
        let f = dir.path().join("probe.dat");
        assert_eq!(probe(&f, "WRITE(FILE)", 10).check(T), CheckResult::Ok);
        assert!(!f.exists());
        // An existing file is never overwritten.
        std::fs::write(&f, b"precious").unwrap();
        assert!(matches!(
            probe(&f, "WRITE(FILE)", 10).check(T),
            CheckResult::Failed(s) if s.contains("is not a directory")
        ));
        assert_eq!(std::fs::read(&f).unwrap(), b"precious");
        // A directory that cannot be written to.
        let gone = dir.path().join("missing/sub");
        assert!(matches!(
            probe(&gone, "WRITE(FILE)", 10).check(T),
            CheckResult::Failed(s) if s.contains("cannot create a file: No such file")
        ));
    }

    #[test]
    fn dummy_read_is_a_warning_not_a_check() {
        let r = probe(Path::new("/dev/null"), "Dummy Read", 512).check(T);
        assert!(
            matches!(&r, CheckResult::Warning(s) if s.contains("Dummy Read is not supported")),
            "{r:?}"
        );
    }
}
