//! psrw: each watched process against limits held for a duration
//! (CLUSTERPRO's process resource monitor): memory growth (a leak), open
//! files near the process's own limit, threads, and zombies left unreaped.
//! Which processes: every one, as CLUSTERPRO's monitor watches, or those whose
//! command line or name matches `parameters/name` (psw's patterns). The
//! message names the offending pid and process, in CLUSTERPRO's words (sra
//! 301).
//!
//! Samples run on the probe pool at the monitor's interval, through one
//! sysinfo `System` per monitor refreshed for what the spec watches only: the
//! process list with its status (always), resident memory when memory is
//! watched, the threads (`/proc/PID/task`) only when threads are watched, each
//! command line once per process. sysinfo counts a process's open files and
//! reads its limit on each call (a directory listing and a file read): psrw
//! asks only for the processes it watches, and keeps each limit (re-read when
//! the count comes near it).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use super::sustained::{Over, Severity, Sustained, percent};
use crate::model::PsrwSpec;
use crate::vocab::CheckResult;

/// A process as one sample saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcSample {
    pub pid: u32,
    /// Its start time, which tells it from a later process with its pid.
    pub start: u64,
    pub parent: u32,
    pub name: String,
    /// Resident memory, bytes (0 when memory is not watched).
    pub rss: u64,
    /// Open files and the process's limit, when files are watched.
    pub files: Option<(u64, u64)>,
    /// Threads, when threads are watched.
    pub threads: Option<u64>,
    pub zombie: bool,
}

impl ProcSample {
    fn key(&self, what: &str) -> String {
        format!("{what} {}@{}", self.pid, self.start)
    }

    fn says(&self, what: &str) -> String {
        format!(
            "A process resource error was detected. (type = {what}. pid = {}. {})",
            self.pid, self.name
        )
    }
}

/// The conditions the processes of one sample reach under `spec`.
/// `first_rss` keeps each process's resident memory when first seen (the base
/// of its growth); processes gone are dropped from it.
pub fn conditions(
    spec: &PsrwSpec,
    procs: &[ProcSample],
    first_rss: &mut HashMap<String, u64>,
) -> Vec<Over> {
    let mut over = Vec::new();
    if spec.memory.enabled {
        first_rss.retain(|key, _| procs.iter().any(|p| p.key("memory") == *key));
    }
    for p in procs {
        if spec.zombies.enabled && p.zombie {
            over.push(Over {
                key: p.key("defunct"),
                severity: Severity::Error,
                duration: spec.zombies.duration,
                message: format!(
                    "{}: a zombie its parent (pid {}) has not reaped, for {} s",
                    p.says("defunct"),
                    p.parent,
                    spec.zombies.duration.as_secs()
                ),
            });
            continue;
        }
        if spec.memory.enabled {
            let base = *first_rss.entry(p.key("memory")).or_insert(p.rss);
            let growth = percent(p.rss.saturating_sub(base), base);
            let floor = spec.memory_floor_mib << 20;
            if p.rss > base && growth >= spec.memory.limit as f64 && p.rss >= floor {
                over.push(Over {
                    key: p.key("memory"),
                    severity: Severity::Error,
                    duration: spec.memory.duration,
                    message: format!(
                        "{}: resident memory {} MiB, {growth:.0} % above the {} MiB first seen, limit {} % above at least {} MiB, for {} s",
                        p.says("memory leak"),
                        p.rss >> 20,
                        base >> 20,
                        spec.memory.limit,
                        spec.memory_floor_mib,
                        spec.memory.duration.as_secs()
                    ),
                });
            }
        }
        if spec.files.enabled
            && let Some((open, limit)) = p.files
            && limit > 0
            && percent(open, limit) >= spec.files.limit as f64
        {
            over.push(Over {
                key: p.key("file"),
                severity: Severity::Error,
                duration: spec.files.duration,
                message: format!(
                    "{}: {open} files open of its limit {limit}, limit {} %, for {} s",
                    p.says("open file"),
                    spec.files.limit,
                    spec.files.duration.as_secs()
                ),
            });
        }
        if spec.threads.enabled
            && let Some(threads) = p.threads
            && threads >= spec.threads.limit
        {
            over.push(Over {
                key: p.key("thread"),
                severity: Severity::Error,
                duration: spec.threads.duration,
                message: format!(
                    "{}: {threads} threads, limit {}, for {} s",
                    p.says("thread leak"),
                    spec.threads.limit,
                    spec.threads.duration.as_secs()
                ),
            });
        }
    }
    over
}

/// One psrw monitor's sampler.
pub struct PsrwProbe {
    spec: PsrwSpec,
    system: Option<System>,
    /// Each process's open-files limit and its open-files count when the
    /// limit was read, by `pid@start`.
    fd_limits: HashMap<String, (u64, u64)>,
    first_rss: HashMap<String, u64>,
    sustained: Sustained,
}

impl PsrwProbe {
    pub fn new(spec: &PsrwSpec) -> PsrwProbe {
        PsrwProbe {
            spec: spec.clone(),
            system: None,
            fd_limits: HashMap::new(),
            first_rss: HashMap::new(),
            sustained: Sustained::new(),
        }
    }

    /// The watched processes now.
    pub fn sample(&mut self) -> Result<Vec<ProcSample>, String> {
        if self.system.is_none() {
            let system =
                System::new().map_err(|e| format!("cannot read the processes' figures: {e}"))?;
            self.system = Some(system);
        }
        let Some(system) = self.system.as_mut() else {
            return Err("cannot read the processes' figures".into());
        };
        let spec = &self.spec;
        let mut kind = ProcessRefreshKind::nothing();
        if !spec.process_name.is_empty() {
            kind = kind.with_cmd(UpdateKind::OnlyIfNotSet);
        }
        if spec.memory.enabled {
            kind = kind.with_memory();
        }
        kind = if spec.threads.enabled {
            kind.with_tasks()
        } else {
            kind.without_tasks()
        };
        system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        let mut out = Vec::new();
        let mut limits_seen = HashMap::new();
        for (pid, p) in system.processes() {
            // Threads are listed beside processes when tasks are read.
            if p.thread_kind().is_some() {
                continue;
            }
            let name = p.name().to_string_lossy().into_owned();
            if !spec.process_name.is_empty() {
                let cmdline = p
                    .cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ");
                if !super::psw::matches(&spec.process_name, &cmdline, &name) {
                    continue;
                }
            }
            let mut sample = ProcSample {
                pid: pid.as_u32(),
                start: p.start_time(),
                parent: p.parent().map_or(0, |pp| pp.as_u32()),
                name,
                rss: p.memory(),
                files: None,
                threads: p.tasks().map(|t| t.len() as u64),
                zombie: p.status() == ProcessStatus::Zombie,
            };
            if spec.files.enabled
                && !sample.zombie
                && let Some(open) = p.open_files()
            {
                let open = open as u64;
                let key = sample.key("limit");
                // The limit is read again whenever the count moved since it
                // was read (a process may lower or raise its own limit with
                // setrlimit/prlimit, typically just before opening files) or
                // when the count is near it; a process whose count stays put
                // costs no read of /proc/PID/limits.
                let cached = self.fd_limits.get(&key).copied();
                let limit = match cached {
                    Some((l, at)) if at == open && percent(open, l) < spec.files.limit as f64 => {
                        Some(l)
                    }
                    _ => p.open_files_limit().map(|l| l as u64),
                };
                if let Some(l) = limit {
                    limits_seen.insert(key, (l, open));
                    sample.files = Some((open, l));
                }
            }
            out.push(sample);
        }
        self.fd_limits = limits_seen;
        out.sort_by_key(|p| p.pid);
        Ok(out)
    }

    /// One check at `now`.
    pub fn check_at(&mut self, now: Instant) -> CheckResult {
        match self.sample() {
            Ok(procs) => {
                let over = conditions(&self.spec, &procs, &mut self.first_rss);
                self.sustained.judge(now, over)
            }
            Err(why) => CheckResult::Failed(why),
        }
    }
}

impl super::Probe for PsrwProbe {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        self.check_at(Instant::now())
    }
}

// The kind's declaration.
pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::sraw::{limit_text, threshold};
    use super::super::{Probe, ProbeContext};
    use super::PsrwProbe;
    use crate::model::{Monitor, MonitorKind, PsrwSpec};

    pub const KIND: Kind = Kind {
        name: "psrw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// One pass over /proc, on the pool.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Psrw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(PsrwProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Psrw(PsrwSpec {
            process_name: p.text("parameters/name"),
            memory: threshold(p, "memory", Some("rate")),
            memory_floor_mib: u64::try_from(p.int("parameters/memory/size")).unwrap_or(0),
            files: threshold(p, "file", Some("rate")),
            threads: threshold(p, "thread", Some("count")),
            zombies: threshold(p, "zombie", None),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Psrw(s) = kind else {
            return Vec::new();
        };
        let memory = if s.memory.enabled {
            format!(
                "{} (from {} MiB)",
                limit_text(&s.memory, " % growth"),
                s.memory_floor_mib
            )
        } else {
            "Off".into()
        };
        let zombies = if s.zombies.enabled {
            format!("for {} s", s.zombies.duration.as_secs())
        } else {
            "Off".into()
        };
        let name = if s.process_name.is_empty() {
            "(all processes)".to_string()
        } else {
            s.process_name.clone()
        };
        vec![
            ("Process Name", name, true),
            ("Memory Leak", memory, true),
            ("Open Files", limit_text(&s.files, " % of its limit"), false),
            ("Threads", limit_text(&s.threads, ""), false),
            ("Zombie Processes", zombies, false),
        ]
    }
}

#[cfg(test)]
#[path = "psrw_tests.rs"]
mod tests;
