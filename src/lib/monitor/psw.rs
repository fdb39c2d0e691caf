//! psw: at least `processnum` processes whose command line (or name) matches
//! `processname`, with `*` and `?` wildcards.

use crate::vocab::CheckResult;

/// Counts matching live processes (zombies excluded) by scanning /proc.
///
/// Most processes match nothing, so each costs one or two small reads
/// (`cmdline`, then `comm`); `stat` is read only for a match, to leave
/// zombies out. 33 psw monitors at 1 s scan /proc 33 times a second.
pub fn count(pattern: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for entry in dir.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .iter()
            .all(u8::is_ascii_digit)
        {
            continue;
        }
        let base = entry.path();
        let cmdline = std::fs::read(base.join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let matched = (!cmdline.is_empty() && glob(pattern, &cmdline))
            || std::fs::read_to_string(base.join("comm"))
                .is_ok_and(|comm| glob(pattern, comm.trim_end()));
        if matched && is_live(&base) {
            n += 1;
        }
    }
    n
}

/// False for a zombie, or a process gone since the directory was listed.
fn is_live(base: &std::path::Path) -> bool {
    let stat = std::fs::read_to_string(base.join("stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim_start().chars().next());
    state.is_some_and(|s| s != 'Z')
}

/// psw as a probe (a /proc scan can block on a stuck process: off the loop).
pub struct PswProbe {
    pattern: String,
    min: u32,
}

impl PswProbe {
    pub fn new(spec: &crate::model::PswSpec) -> Self {
        PswProbe {
            pattern: spec.process_name.clone(),
            min: spec.min_count,
        }
    }
}

impl super::Probe for PswProbe {
    fn check(&mut self, _timeout: std::time::Duration) -> CheckResult {
        check(&self.pattern, self.min)
    }
}

/// One psw check.
pub fn check(pattern: &str, min: u32) -> CheckResult {
    let found = count(pattern);
    if found >= min as usize {
        CheckResult::Ok
    } else {
        CheckResult::Failed(format!(
            "{found} process(es) match \"{pattern}\", at least {min} needed"
        ))
    }
}

/// Shell-style matching of the whole text: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking on the last star: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

// ---- psw in the kinds table (monitor::kinds) --------------------------------
// Kept apart from the probe above, with its own imports, so that the probe's
// code can change without touching the declaration.

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::PswProbe;
    use crate::model::{Monitor, MonitorKind, PswSpec};

    pub const KIND: Kind = Kind {
        name: "psw",
        checks: Checks::Worker(probe),
        read,
        detail,
    };

    /// A /proc scan, abandoned at the timeout.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Psw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(PswProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Psw(PswSpec {
            process_name: p.text("parameters/processname"),
            min_count: p.u32("parameters/processnum"),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Psw(p) = kind else {
            return Vec::new();
        };
        vec![
            ("Process Name", p.process_name.clone(), true),
            ("Minimum Process Count", p.min_count.to_string(), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("sleep 1000", "sleep 1000"));
        assert!(glob("sleep*", "sleep 1000"));
        assert!(glob("*http.server*", "python3 -m http.server 8080"));
        assert!(glob("sle?p ?000", "sleep 1000"));
        assert!(!glob("sleep", "sleep 1000"));
        assert!(!glob("*nginx*", "python3 -m http.server"));
        assert!(glob("*", ""));
    }

    #[test]
    fn counts_real_processes() {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("417.5")
                    .spawn()
                    .unwrap()
            })
            .collect();
        // spawn() returns once exec has closed the handshake pipe, a moment
        // before the kernel has set up the new command line: wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count("sleep 417.5") < 3 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(count("sleep 417.5"), 3);
        assert_eq!(check("sleep 417.5", 3), CheckResult::Ok);
        assert!(
            matches!(check("sleep 417.5", 4), CheckResult::Failed(m) if m.contains("3 process"))
        );
        for c in &mut children {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        assert_eq!(count("sleep 417.5"), 0);
    }

    #[test]
    fn zombies_do_not_count_even_though_their_name_matches() {
        // A zombie keeps its comm (the name of the program's link) but loses
        // its cmdline.
        let exe = std::env::temp_dir().join(format!("clp-psw-z{}", std::process::id()));
        std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
        let mut zombie = std::process::Command::new(&exe)
            .arg("0.01")
            .spawn()
            .unwrap();
        let proc_dir = format!("/proc/{}", zombie.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Not reaped yet: once it exits it stays a zombie until wait().
        while !std::fs::read_to_string(format!("{proc_dir}/stat"))
            .unwrap_or_default()
            .contains(") Z")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "never became a zombie"
            );
            std::thread::yield_now();
        }
        let comm = std::fs::read_to_string(format!("{proc_dir}/comm")).unwrap();
        assert!(comm.starts_with("clp-psw-z"), "{comm}");
        assert_eq!(count(comm.trim_end()), 0);
        zombie.wait().unwrap();
        let _ = std::fs::remove_file(&exe);
    }
}
