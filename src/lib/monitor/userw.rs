//! userw: user-space stall detection.
//!
//! # Methods
//!
//! * `softdog`, `keepalive` (and `ipmi`): all three drive the standard Linux
//!   watchdog interface of the device `clp/watchdog/device` (default
//!   `/dev/watchdog`; under a relocated `CLP_ROOT` the path is placed under the
//!   root, so tests and demos never touch the real device). CLUSTERPRO's
//!   `keepalive` needs its own clpkhb/clpka kernel modules and `ipmi` its IPMI
//!   tools; clp ships no kernel module, so whatever driver provides the Linux
//!   watchdog API does the job: `softdog`, a hardware watchdog, or
//!   `ipmi_watchdog` for the BMC. What the driver does at expiry (reset or
//!   panic: `parameters/action`) is the driver's configuration, e.g.
//!   `softdog soft_panic=1` for PANIC.
//!   - The device is opened by the monitor's worker thread at its first check
//!     (not on the daemon's loop, where a stuck driver could stall everything;
//!     and not before `firstmonwait`, so no keepalive is owed before the first
//!     check). Right after the open, `WDIOC_SETTIMEOUT` sets the watchdog
//!     timeout to the heartbeat timeout when `usehb` is 1, else to the
//!     monitor's timeout (whole seconds, rounded up).
//!   - Each check writes a keepalive: `WDIOC_KEEPALIVE`, or one byte (`.`) to
//!     a device, or a stand-in (FIFO, regular file), that lacks the ioctl.
//!   - `stop()` (monitoring stops cleanly) does the magic close: write `V`,
//!     then close, which disarms a driver without `nowayout`.
//!   - If user space stalls past the timeout, no keepalive comes and the
//!     kernel resets the machine: that is the point.
//! * `none`: no device. Each check measures the monitor's own scheduling
//!   delay: how much later than "end of the previous check + interval" it
//!   ran (the engine schedules the next check one interval after a result).
//!
//! For every method the same delay is measured and reported: Warning past 80%
//! of the limit (the timeout above), Failed with the delay past the limit.
//!
//! `repopen`/`repwrite`/`writesize`/`mkthread`, when set, are done at each
//! check before the keepalive, so a file system or a process table that hangs
//! also holds back the keepalive: open (create/truncate) the dummy file
//! `var/lib/clp/userw-<monitor>.dummy` under the root, write `writesize` bytes
//! and fsync it, close it; create and join a thread. An error there is a
//! Failed check, but the keepalive is still written (an ENOSPC is not worth a
//! machine reset).
//!
//! Verified here (no watchdog driver can be loaded on the test machines):
//! against a FIFO and a regular file standing in for the device (keepalive
//! bytes arrive at each check, `V` then end of file at `stop()`), the missing
//! device, the delay computation and the ioctl numbers (checked against
//! <linux/watchdog.h>). Not verified here: the ioctls against a real driver.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::ioctl::{Getter, Opcode, Updater, ioctl, opcode};
use tracing::{info, warn};

use crate::model::{Monitor, UserwSpec};
use crate::vocab::CheckResult;

/// `WDIOC_KEEPALIVE` = `_IOR('W', 5, int)`.
pub const WDIOC_KEEPALIVE: Opcode = opcode::read::<libc::c_int>(b'W', 5);
/// `WDIOC_SETTIMEOUT` = `_IOWR('W', 6, int)`.
pub const WDIOC_SETTIMEOUT: Opcode = opcode::read_write::<libc::c_int>(b'W', 6);
/// `WDIOC_GETTIMEOUT` = `_IOR('W', 7, int)`.
pub const WDIOC_GETTIMEOUT: Opcode = opcode::read::<libc::c_int>(b'W', 7);

/// The byte written as a keepalive when the ioctl is not available.
pub const KEEPALIVE_BYTE: u8 = b'.';
/// The magic-close byte.
pub const MAGIC_CLOSE: u8 = b'V';

/// The open watchdog device.
struct Watchdog {
    file: File,
    /// Keepalives are written bytes (a stand-in or a driver without the ioctl).
    by_write: bool,
}

/// userw as a probe.
pub struct UserwProbe {
    name: String,
    /// None for method `none`.
    device: Option<PathBuf>,
    open: Option<Watchdog>,
    /// The stall limit (and the watchdog timeout).
    limit: Duration,
    interval: Duration,
    /// End of the previous check.
    last: Option<Instant>,
    dummy_file: Option<PathBuf>,
    dummy_write: bool,
    write_size: usize,
    dummy_thread: bool,
    buffer: Vec<u8>,
}

impl UserwProbe {
    /// A probe for `monitor` (a userw with `spec`); `device` is the device
    /// path already placed under the root.
    pub fn new(
        monitor: &Monitor,
        spec: &UserwSpec,
        settings: &crate::model::ClusterSettings,
        device: PathBuf,
        state_dir: &std::path::Path,
    ) -> Self {
        let limit = if spec.use_heartbeat_timing {
            settings.heartbeat_timeout
        } else {
            monitor.timeout
        };
        UserwProbe {
            name: monitor.name.clone(),
            device: (spec.method != "none").then_some(device),
            open: None,
            limit,
            interval: monitor.interval,
            last: None,
            dummy_file: (spec.dummy_open || spec.dummy_write)
                .then(|| state_dir.join(format!("userw-{}.dummy", monitor.name))),
            dummy_write: spec.dummy_write,
            write_size: usize::try_from(spec.write_size).unwrap_or(10_000),
            dummy_thread: spec.dummy_thread,
            buffer: Vec::new(),
        }
    }

    /// The watchdog timeout in whole seconds (rounded up, at least 1).
    pub fn timeout_secs(&self) -> libc::c_int {
        let ms = self.limit.as_millis().div_ceil(1000).max(1);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    }

    /// Opens the device and sets its timeout; Err names the path.
    fn open_device(&mut self, path: &std::path::Path) -> Result<Option<String>, String> {
        // O_NONBLOCK: a FIFO stand-in without a reader fails (ENXIO) instead
        // of blocking, and a full one fails (EAGAIN) instead of hanging.
        let file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "watchdog device {} does not exist (load a watchdog driver such as softdog, \
                     or set clp/watchdog/device)",
                    path.display()
                ),
                _ => format!("cannot open the watchdog device {}: {e}", path.display()),
            })?;
        let wanted = self.timeout_secs();
        let mut secs = wanted;
        // SAFETY: WDIOC_SETTIMEOUT reads and writes one int, which `secs` is.
        let set = unsafe {
            ioctl(
                &file,
                Updater::<WDIOC_SETTIMEOUT, libc::c_int>::new(&mut secs),
            )
        };
        let mut note = None;
        let by_write = match set {
            Ok(()) => {
                info!(target: "rm", monitor = %self.name,
                    "watchdog {} armed with a timeout of {secs} s", path.display());
                if secs != wanted {
                    note = Some(format!(
                        "watchdog {} runs with a timeout of {secs} s instead of {wanted} s",
                        path.display()
                    ));
                }
                false
            }
            Err(e) if e == rustix::io::Errno::NOTTY => {
                info!(target: "rm", monitor = %self.name,
                    "{} is not a watchdog driver (no ioctls): a stand-in, keepalives are written bytes",
                    path.display());
                true
            }
            Err(e) => {
                // SAFETY: WDIOC_GETTIMEOUT writes one int.
                let current =
                    unsafe { ioctl(&file, Getter::<WDIOC_GETTIMEOUT, libc::c_int>::new()) };
                let text = format!(
                    "watchdog {} refused a timeout of {wanted} s ({e}); it keeps {}",
                    path.display(),
                    current.map_or("its own".to_string(), |s| format!("{s} s"))
                );
                warn!(target: "rm", monitor = %self.name, "{text}");
                note = Some(text);
                false
            }
        };
        self.open = Some(Watchdog { file, by_write });
        Ok(note)
    }

    /// One keepalive to the open device.
    fn keepalive(&mut self, path: &std::path::Path) -> Result<(), String> {
        let Some(wd) = self.open.as_mut() else {
            return Ok(());
        };
        if !wd.by_write {
            // SAFETY: WDIOC_KEEPALIVE takes (and ignores) a pointer to an int.
            match unsafe { ioctl(&wd.file, Getter::<WDIOC_KEEPALIVE, libc::c_int>::new()) } {
                Ok(_) => return Ok(()),
                Err(e)
                    if e == rustix::io::Errno::NOTTY
                        || e == rustix::io::Errno::OPNOTSUPP
                        || e == rustix::io::Errno::INVAL =>
                {
                    wd.by_write = true
                }
                Err(e) => {
                    return Err(format!(
                        "keepalive to the watchdog device {} failed: {e}",
                        path.display()
                    ));
                }
            }
        }
        match wd.file.write(&[KEEPALIVE_BYTE]) {
            Ok(1) => Ok(()),
            Ok(_) => Err(format!(
                "keepalive to the watchdog device {} wrote nothing",
                path.display()
            )),
            Err(e) => {
                // Reopen at the next check (a stand-in's reader may come back).
                self.open = None;
                Err(format!(
                    "keepalive to the watchdog device {} failed: {e}",
                    path.display()
                ))
            }
        }
    }

    /// The dummy file and thread work; Err describes what failed.
    fn dummy_work(&mut self) -> Result<(), String> {
        if let Some(path) = &self.dummy_file {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // In clpd's private state directory; never through a link all the same.
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(self.dummy_write)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
                .open(path)
                .map_err(|e| format!("cannot open the dummy file {}: {e}", path.display()))?;
            if self.dummy_write {
                if self.buffer.len() != self.write_size {
                    self.buffer = vec![0; self.write_size];
                }
                file.write_all(&self.buffer)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| format!("cannot write the dummy file {}: {e}", path.display()))?;
            }
        }
        if self.dummy_thread {
            std::thread::Builder::new()
                .name("userw-dummy".into())
                .spawn(|| ())
                .map_err(|e| format!("cannot create the dummy thread: {e}"))?
                .join()
                .map_err(|_| "the dummy thread failed".to_string())?;
        }
        Ok(())
    }

    /// How late this check (starting `now`) runs; None at the first check.
    pub fn delay(&self, now: Instant) -> Option<Duration> {
        self.last
            .map(|last| now.saturating_duration_since(last + self.interval))
    }
}

/// Judges a scheduling delay against the stall limit.
pub fn judge_delay(delay: Duration, limit: Duration) -> CheckResult {
    if delay > limit {
        CheckResult::Failed(format!(
            "user space stalled: this check ran {:.1} s late (limit {} s)",
            delay.as_secs_f64(),
            secs_text(limit)
        ))
    } else if delay.as_millis() * 10 > limit.as_millis() * 8 {
        CheckResult::Warning(format!(
            "monitoring is delayed: this check ran {:.1} s late (80% of the {} s limit)",
            delay.as_secs_f64(),
            secs_text(limit)
        ))
    } else {
        CheckResult::Ok
    }
}

fn secs_text(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

impl super::Probe for UserwProbe {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let timing = self
            .delay(started)
            .map_or(CheckResult::Ok, |d| judge_delay(d, self.limit));
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        if let Err(e) = self.dummy_work() {
            failures.push(e);
        }
        if let Some(path) = self.device.clone() {
            if self.open.is_none() {
                match self.open_device(&path) {
                    Ok(note) => warnings.extend(note),
                    Err(e) => failures.push(e),
                }
            }
            if let Err(e) = self.keepalive(&path) {
                failures.push(e);
            }
        }
        match timing {
            CheckResult::Failed(m) => failures.insert(0, m),
            CheckResult::Warning(m) => warnings.insert(0, m),
            CheckResult::Ok | CheckResult::TimedOut => {}
        }
        self.last = Some(Instant::now());
        if !failures.is_empty() {
            CheckResult::Failed(failures.join("; "))
        } else if !warnings.is_empty() {
            CheckResult::Warning(warnings.join("; "))
        } else {
            CheckResult::Ok
        }
    }

    fn stop(&mut self) {
        if let Some(mut wd) = self.open.take() {
            // Magic close: the driver disarms on a close that follows a 'V'.
            if let Err(e) = wd.file.write_all(&[MAGIC_CLOSE]) {
                warn!(target: "rm", monitor = %self.name,
                    "magic close of the watchdog device failed: {e}; it stays armed");
            }
            drop(wd);
        }
    }
}

// ---- userw in the kinds table (monitor::kinds) ------------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader, on_off};
    use super::super::{Probe, ProbeContext};
    use super::UserwProbe;
    use crate::model::{Monitor, MonitorKind, UserwSpec};

    pub const KIND: Kind = Kind {
        name: "userw",
        checks: Checks::OwnThread(probe),
        read,
        detail,
    };

    /// A watchdog keepalive (or a scheduling-delay measurement) on the worker.
    fn probe(monitor: &Monitor, ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Userw(spec) = &monitor.kind else {
            return None;
        };
        let settings = &ctx.cluster.settings;
        Some(Box::new(UserwProbe::new(
            monitor,
            spec,
            settings,
            crate::host::under_root(&ctx.paths, &settings.watchdog_device),
            &ctx.paths.state_dir(),
        )))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Userw(UserwSpec {
            method: p.text("parameters/method"),
            action: p.text("parameters/action"),
            use_heartbeat_timing: p.flag("parameters/usehb"),
            dummy_open: p.flag("parameters/repopen"),
            dummy_write: p.flag("parameters/repwrite"),
            write_size: u64::try_from(p.int("parameters/writesize")).unwrap_or(10_000),
            dummy_thread: p.flag("parameters/mkthread"),
        })
    }

    /// Verified: userw shows `Method` and `Use HB interval and timeout`
    /// without `--detail`.
    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Userw(u) = kind else {
            return Vec::new();
        };
        vec![
            ("Method", u.method.clone(), true),
            (
                "Use HB interval and timeout",
                on_off(u.use_heartbeat_timing).into(),
                true,
            ),
            ("Action at Timeout Occurrence", u.action.clone(), false),
            (
                "Open/Close Temporary File",
                on_off(u.dummy_open).into(),
                false,
            ),
            ("With Writing", on_off(u.dummy_write).into(), false),
            ("Size", u.write_size.to_string(), false),
            (
                "Create Temporary Thread",
                on_off(u.dummy_thread).into(),
                false,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cluster, MonitorKind};
    use crate::monitor::Probe;
    use std::io::Read;

    /// A userw monitor (interval `interval_ms`, timeout `timeout` s) and the
    /// cluster around it, through the real validator.
    fn model(timeout: u64, interval_ms: u64, spec: UserwSpec) -> (Monitor, Cluster) {
        let xml = format!(
            r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>c</name><heartbeat><timeout>4500</timeout></heartbeat></cluster>
  <server name="n1"><priority>0</priority></server>
  <monitor><types name="userw"/><userw name="uw"><polling><interval>1</interval><timeout>{timeout}</timeout></polling></userw></monitor>
</root>"#
        );
        let mut report = crate::config::Report::new("test");
        let file = crate::config::ConfigFile::parse(xml.as_bytes(), &mut report).unwrap();
        let opts = crate::config::validate::Options {
            local_server: Some("n1"),
            scripts_dir: None,
        };
        let cluster = crate::config::validate::validate(&file.doc, &opts, &mut report)
            .unwrap_or_else(|| panic!("{report:?}"));
        let mut m = cluster.monitors[0].clone();
        m.interval = Duration::from_millis(interval_ms);
        m.kind = MonitorKind::Userw(spec.clone());
        (m, cluster)
    }

    fn probe(dir: &std::path::Path, m: &Monitor, c: &Cluster, device: &str) -> UserwProbe {
        let MonitorKind::Userw(spec) = &m.kind else {
            unreachable!()
        };
        UserwProbe::new(
            m,
            spec,
            &c.settings,
            dir.join(device),
            &dir.join("var/lib/clp"),
        )
    }

    fn spec(method: &str) -> UserwSpec {
        UserwSpec {
            method: method.into(),
            action: "RESET".into(),
            use_heartbeat_timing: false,
            dummy_open: false,
            dummy_write: false,
            write_size: 10_000,
            dummy_thread: false,
        }
    }

    #[test]
    fn ioctl_numbers_match_linux_watchdog_h() {
        // x86_64/aarch64 values of <linux/watchdog.h>.
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        {
            assert_eq!(WDIOC_KEEPALIVE as u64, 0x8004_5705);
            assert_eq!(WDIOC_SETTIMEOUT as u64, 0xC004_5706);
            assert_eq!(WDIOC_GETTIMEOUT as u64, 0x8004_5707);
        }
    }

    #[test]
    fn delays_are_judged_against_the_limit() {
        let limit = Duration::from_secs(10);
        assert_eq!(judge_delay(Duration::from_secs(1), limit), CheckResult::Ok);
        assert!(matches!(
            judge_delay(Duration::from_millis(8500), limit),
            CheckResult::Warning(m) if m.contains("8.5 s late") && m.contains("10 s limit")
        ));
        assert!(matches!(
            judge_delay(Duration::from_millis(10_500), limit),
            CheckResult::Failed(m) if m == "user space stalled: this check ran 10.5 s late (limit 10 s)"
        ));
    }

    /// A FIFO standing in for the device, and its read end (non-blocking).
    fn fifo(dir: &std::path::Path) -> File {
        std::fs::create_dir_all(dir.join("dev")).unwrap();
        let path = dir.join("dev/watchdog");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap()
    }

    /// Everything readable now from a non-blocking FIFO; None at end of file
    /// (every writer closed).
    fn drain(reader: &mut File) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return if out.is_empty() { None } else { Some(out) },
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(out),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn fifo_stand_in_sees_keepalives_then_the_magic_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut reader = fifo(dir.path());
        let (m, c) = model(30, 10, spec("softdog"));
        let mut p = probe(dir.path(), &m, &c, "dev/watchdog");
        // Not opened before the first check.
        assert_eq!(drain(&mut reader), None, "no writer yet");
        for n in 1..=3 {
            assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
            assert_eq!(drain(&mut reader).unwrap(), b".", "keepalive {n}");
        }
        p.stop();
        assert_eq!(drain(&mut reader).unwrap(), b"V");
        assert_eq!(drain(&mut reader), None, "closed after the magic close");
        // A second stop does nothing.
        p.stop();
    }

    #[test]
    fn regular_file_stand_in_and_keepalive_method() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        let dev = dir.path().join("dev/wd");
        std::fs::write(&dev, "").unwrap();
        let (m, c) = model(30, 10, spec("keepalive"));
        let mut p = probe(dir.path(), &m, &c, "dev/wd");
        for _ in 0..4 {
            assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
        }
        p.stop();
        assert_eq!(std::fs::read(&dev).unwrap(), b"....V");
    }

    #[test]
    fn missing_device_and_fifo_without_reader_fail_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (m, c) = model(30, 10, spec("softdog"));
        let mut p = probe(dir.path(), &m, &c, "dev/watchdog");
        let want = format!(
            "watchdog device {}/dev/watchdog does not exist (load a watchdog driver such as \
             softdog, or set clp/watchdog/device)",
            dir.path().display()
        );
        assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Failed(want));
        // The device appears (a FIFO whose reader went away): opened at the next check.
        let reader = fifo(dir.path());
        drop(reader);
        let r = p.check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.starts_with(&format!("cannot open the watchdog device {}/dev/watchdog: ", dir.path().display()))),
            "{r:?}"
        );
        // A reader arrives: keepalives flow.
        let path = dir.path().join("dev/watchdog");
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
        assert_eq!(drain(&mut reader).unwrap(), b".");
        // The reader goes away: the keepalive fails (EPIPE), named.
        drop(reader);
        let r = p.check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.starts_with("keepalive to the watchdog device")),
            "{r:?}"
        );
    }

    #[test]
    fn method_none_uses_no_device_and_reports_stalls() {
        let dir = tempfile::tempdir().unwrap();
        let (m, c) = model(2, 100, spec("none"));
        let mut p = probe(dir.path(), &m, &c, "dev/watchdog");
        assert_eq!(
            p.check(Duration::from_secs(1)),
            CheckResult::Ok,
            "first check: no baseline"
        );
        // On time.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
        // 1.7 s late: past 80% of the 2 s limit.
        p.last = Some(Instant::now() - Duration::from_millis(1800));
        let r = p.check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Warning(m) if m.contains("1.7 s late")),
            "{r:?}"
        );
        // 3 s late: a stall.
        p.last = Some(Instant::now() - Duration::from_millis(3100));
        let r = p.check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.starts_with("user space stalled: this check ran 3.0 s late (limit 2 s)")),
            "{r:?}"
        );
        assert!(!dir.path().join("dev").exists());
        p.stop();
    }

    #[test]
    fn the_limit_is_the_heartbeat_timeout_with_usehb() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("softdog");
        s.use_heartbeat_timing = true;
        let (m, c) = model(30, 10, s);
        assert_eq!(c.settings.heartbeat_timeout, Duration::from_millis(4500));
        let p = probe(dir.path(), &m, &c, "dev/watchdog");
        assert_eq!(p.timeout_secs(), 5, "4.5 s rounded up");
        let (m, c) = model(30, 10, spec("softdog"));
        assert_eq!(probe(dir.path(), &m, &c, "dev/watchdog").timeout_secs(), 30);
    }

    #[test]
    fn dummy_file_and_thread_work_each_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("none");
        s.dummy_open = true;
        s.dummy_write = true;
        s.write_size = 4096;
        s.dummy_thread = true;
        let (m, c) = model(30, 10, s);
        let mut p = probe(dir.path(), &m, &c, "dev/watchdog");
        assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
        let file = dir.path().join("var/lib/clp/userw-uw.dummy");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 4096);
        assert_eq!(p.check(Duration::from_secs(1)), CheckResult::Ok);
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            4096,
            "rewritten, not appended"
        );
        // The directory cannot hold the file: a named failure.
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        let r = p.check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.starts_with(&format!("cannot open the dummy file {}", file.display()))),
            "{r:?}"
        );
    }
}
