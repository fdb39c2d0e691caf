//! sraw: the system's resources, each against a limit held for a duration
//! (CLUSTERPRO's system monitor): CPU, memory and swap usage, open files, and
//! the usage of chosen file systems. A sample is judged by
//! [`super::sustained::Sustained`]: a limit fails the monitor only once it
//! has been reached for its whole duration, and the monitor is Normal again
//! at the first sample below it.
//!
//! Samples run on the probe pool at the monitor's interval. CPU, memory and
//! swap come from `sysinfo`, through one `System` per monitor refreshed for
//! those figures only (CPU usage is the change since the previous sample, so
//! the object must live from one check to the next). sysinfo has no figure
//! for the system's open files, nor (without its `disk` feature, which lists
//! every mount at each refresh) for one file system: those come from
//! `/proc/sys/fs/file-nr` and `statvfs(2)` on the configured mount points.

use std::time::{Duration, Instant};

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use super::sustained::{Over, Severity, Sustained, percent};
use crate::model::{SrawSpec, Threshold};
use crate::vocab::CheckResult;

/// What one sample saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemSample {
    /// Busy CPU time since the previous sample, in percent of all CPUs.
    pub cpu_percent: f64,
    pub memory_used: u64,
    pub memory_total: u64,
    pub swap_used: u64,
    pub swap_total: u64,
    /// Open files of the whole system and the kernel's maximum; None when
    /// `/proc/sys/fs/file-nr` could not be read.
    pub files: Option<(u64, u64)>,
    /// Per configured mount point: (used, usable total) in bytes, or why not.
    pub disks: Vec<Result<(u64, u64), String>>,
}

/// The conditions `sample` reaches under `spec`, with CLUSTERPRO's words
/// (sra 302 and 304) first in each message.
pub fn conditions(spec: &SrawSpec, sample: &SystemSample) -> Vec<Over> {
    let mut over = Vec::new();
    let system = |what: &str| format!("A system resource error was detected. (type = {what})");
    let mut check = |key: &str, t: &Threshold, value: f64, detail: String| {
        if t.enabled && value >= t.limit as f64 {
            over.push(Over {
                key: key.into(),
                severity: Severity::Error,
                duration: t.duration,
                message: format!(
                    "{}: {detail}, limit {} %, for {} s",
                    system(key),
                    t.limit,
                    t.duration.as_secs()
                ),
            });
        }
    };
    check(
        "cpu",
        &spec.cpu,
        sample.cpu_percent,
        format!("CPU {:.0} % busy", sample.cpu_percent),
    );
    let mem = percent(sample.memory_used, sample.memory_total);
    check(
        "memory",
        &spec.memory,
        mem,
        format!(
            "memory {:.1} % used ({} of {} MiB)",
            mem,
            sample.memory_used >> 20,
            sample.memory_total >> 20
        ),
    );
    if sample.swap_total > 0 {
        let swap = percent(sample.swap_used, sample.swap_total);
        check(
            "swap",
            &spec.swap,
            swap,
            format!(
                "swap {:.1} % used ({} of {} MiB)",
                swap,
                sample.swap_used >> 20,
                sample.swap_total >> 20
            ),
        );
    }
    if let Some((open, max)) = sample.files {
        let rate = percent(open, max);
        let by_count = spec.files_count > 0 && open >= spec.files_count;
        if spec.files.enabled && (rate >= spec.files.limit as f64 || by_count) {
            let limit = if by_count {
                format!("limit {} files", spec.files_count)
            } else {
                format!("limit {} %", spec.files.limit)
            };
            over.push(Over {
                key: "file".into(),
                severity: Severity::Error,
                duration: spec.files.duration,
                message: format!(
                    "{}: {open} files open of the kernel's {max} ({rate:.1} %), {limit}, for {} s",
                    system("file"),
                    spec.files.duration.as_secs()
                ),
            });
        }
    }
    for (disk, seen) in spec.disks.iter().zip(&sample.disks) {
        let key = format!("disk {}", disk.mount);
        match seen {
            Err(why) => over.push(Over {
                key,
                severity: Severity::Error,
                duration: Duration::ZERO,
                message: format!(
                    "cannot read the usage of {}: {why}; check that it is mounted",
                    disk.mount
                ),
            }),
            Ok((used, total)) => {
                let rate = percent(*used, *total);
                let (severity, level, limit) =
                    if disk.error_rate > 0 && rate >= f64::from(disk.error_rate) {
                        (Severity::Error, "WARNING", disk.error_rate)
                    } else if disk.warning_rate > 0 && rate >= f64::from(disk.warning_rate) {
                        (Severity::Warning, "NOTICE", disk.warning_rate)
                    } else {
                        continue;
                    };
                over.push(Over {
                    // One key per level: reaching the error level does not
                    // restart the duration the warning level has held.
                    key: format!("{key} {level}"),
                    severity,
                    duration: disk.duration,
                    message: format!(
                        "A disk resource error was detected. (type = used rate. level = {level}. {}): {rate:.1} % used ({} of {} MiB), limit {limit} %, for {} s",
                        disk.mount,
                        used >> 20,
                        total >> 20,
                        disk.duration.as_secs()
                    ),
                });
            }
        }
    }
    over
}

/// One sraw monitor's sampler: its sysinfo `System` and the timing of its
/// conditions.
pub struct SrawProbe {
    spec: SrawSpec,
    system: Option<System>,
    sustained: Sustained,
}

impl SrawProbe {
    pub fn new(spec: &SrawSpec) -> SrawProbe {
        SrawProbe {
            spec: spec.clone(),
            system: None,
            sustained: Sustained::new(),
        }
    }

    /// Reads the figures the spec watches, and only those.
    pub fn sample(&mut self) -> Result<SystemSample, String> {
        if self.system.is_none() {
            let system = System::new_with_specifics(RefreshKind::nothing())
                .map_err(|e| format!("cannot read the system's figures: {e}"))?;
            self.system = Some(system);
        }
        let Some(system) = self.system.as_mut() else {
            return Err("cannot read the system's figures".into());
        };
        let spec = &self.spec;
        let mut sample = SystemSample::default();
        if spec.cpu.enabled {
            system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
            sample.cpu_percent = f64::from(system.global_cpu_usage());
        }
        if spec.memory.enabled || spec.swap.enabled {
            let mut kind = MemoryRefreshKind::nothing();
            if spec.memory.enabled {
                kind = kind.with_ram();
            }
            if spec.swap.enabled {
                kind = kind.with_swap();
            }
            system.refresh_memory_specifics(kind);
            sample.memory_used = system.used_memory();
            sample.memory_total = system.total_memory();
            sample.swap_used = system.used_swap();
            sample.swap_total = system.total_swap();
        }
        if spec.files.enabled {
            sample.files = open_files();
        }
        sample.disks = spec.disks.iter().map(|d| disk_usage(&d.mount)).collect();
        Ok(sample)
    }

    /// One check at `now`.
    pub fn check_at(&mut self, now: Instant) -> CheckResult {
        match self.sample() {
            Ok(sample) => {
                let over = conditions(&self.spec, &sample);
                self.sustained.judge(now, over)
            }
            Err(why) => CheckResult::Failed(why),
        }
    }
}

impl super::Probe for SrawProbe {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        self.check_at(Instant::now())
    }
}

/// (open, maximum) from `/proc/sys/fs/file-nr` ("allocated free max"; the
/// middle figure is 0 on current kernels).
fn open_files() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/sys/fs/file-nr").ok()?;
    parse_file_nr(&text)
}

fn parse_file_nr(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    let allocated = fields.next()??;
    let free = fields.next()??;
    let max = fields.next()??;
    Some((allocated.saturating_sub(free), max))
}

/// (used, usable total) of the file system at `mount`, counted as df does:
/// the blocks reserved for root are neither used nor usable.
fn disk_usage(mount: &str) -> Result<(u64, u64), String> {
    let st = rustix::fs::statvfs(mount).map_err(|e| e.to_string())?;
    let used = st.f_blocks.saturating_sub(st.f_bfree) * st.f_frsize;
    let usable = used + st.f_bavail * st.f_frsize;
    Ok((used, usable))
}

// The kind's declaration.
pub use kind::KIND;
pub(super) use kind::{limit_text, threshold};

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader, secs};
    use super::super::{Probe, ProbeContext};
    use super::SrawProbe;
    use crate::model::{DiskThreshold, Monitor, MonitorKind, SrawSpec, Threshold};

    pub const KIND: Kind = Kind {
        name: "sraw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// A sample of a few /proc files and statvfs calls: quick, on the pool.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Sraw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(SrawProbe::new(spec)))
    }

    /// `parameters/WHAT/use`, `.../LIMIT` (none: 0) and `.../duration`.
    pub(in super::super) fn threshold(
        p: &mut dyn ParamReader,
        what: &str,
        limit: Option<&str>,
    ) -> Threshold {
        Threshold {
            enabled: p.flag(&format!("parameters/{what}/use")),
            limit: limit.map_or(0, |l| {
                u64::try_from(p.int(&format!("parameters/{what}/{l}"))).unwrap_or(0)
            }),
            duration: p.secs(&format!("parameters/{what}/duration")),
        }
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        let mut disks = Vec::new();
        for item in p.list_items() {
            let mount = item.value("mount");
            if !mount.starts_with('/') {
                let at = p.at(&format!("parameters/{}/mount", item.step));
                p.error(
                    item.line,
                    at,
                    format!("sraw's disk needs an absolute mount point, not \"{mount}\": <list id=\"0\"><mount>/srv</mount></list>"),
                );
            }
            let number = |name: &str, default: u64| {
                let text = item.value(name);
                if text.is_empty() {
                    Some(default)
                } else {
                    text.parse::<u64>().ok()
                }
            };
            let rate = |name: &str, default: u32, p: &mut dyn ParamReader| match number(
                name,
                u64::from(default),
            )
            .and_then(|v| u32::try_from(v).ok())
            {
                Some(v) if v <= 100 => v,
                _ => {
                    let at = p.at(&format!("parameters/{}/{name}", item.step));
                    p.error(
                        item.line,
                        at,
                        format!("\"{}\" is not a percentage (0 to 100)", item.value(name)),
                    );
                    default
                }
            };
            let error_rate = rate("rate", 90, p);
            let warning_rate = rate("noticerate", 80, p);
            let duration = match number("duration", 86_400) {
                Some(s) => std::time::Duration::from_secs(s),
                None => {
                    let at = p.at(&format!("parameters/{}/duration", item.step));
                    p.error(
                        item.line,
                        at,
                        format!("\"{}\" is not a number of seconds", item.value("duration")),
                    );
                    std::time::Duration::from_secs(86_400)
                }
            };
            disks.push(DiskThreshold {
                mount,
                error_rate,
                warning_rate,
                duration,
            });
        }
        MonitorKind::Sraw(SrawSpec {
            cpu: threshold(p, "cpu", Some("rate")),
            memory: threshold(p, "memory", Some("rate")),
            swap: threshold(p, "swap", Some("rate")),
            files: threshold(p, "file", Some("rate")),
            files_count: u64::try_from(p.int("parameters/file/count")).unwrap_or(0),
            disks,
        })
    }

    /// "90 % for 3600 s", or "Off".
    pub(in super::super) fn limit_text(t: &Threshold, unit: &str) -> String {
        if t.enabled {
            format!("{}{unit} for {} s", t.limit, secs(t.duration))
        } else {
            "Off".into()
        }
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Sraw(s) = kind else {
            return Vec::new();
        };
        let mut files = limit_text(&s.files, " %");
        if s.files.enabled && s.files_count > 0 {
            files = format!("{files} (or {} files)", s.files_count);
        }
        let mut rows = vec![
            ("CPU Usage", limit_text(&s.cpu, " %"), true),
            ("Memory Usage", limit_text(&s.memory, " %"), true),
            ("Swap Usage", limit_text(&s.swap, " %"), false),
            ("Open Files", files, false),
        ];
        for d in &s.disks {
            rows.push((
                "Disk Usage",
                format!(
                    "{}: error {} %, warning {} %, for {} s",
                    d.mount,
                    d.error_rate,
                    d.warning_rate,
                    secs(d.duration)
                ),
                true,
            ));
        }
        rows
    }
}

#[cfg(test)]
#[path = "sraw_tests.rs"]
mod tests;
