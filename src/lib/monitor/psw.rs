//! psw: at least `processnum` processes whose command line (or name) matches
//! `processname`, with `*` and `?` wildcards.

use crate::engine::monitor::CheckResult;

/// Counts matching live processes (zombies excluded) by scanning /proc.
pub fn count(pattern: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let base = entry.path();
        let stat = std::fs::read_to_string(base.join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().chars().next())
            .unwrap_or(None);
        if state == Some('Z') || stat.is_empty() {
            continue;
        }
        let cmdline = std::fs::read(base.join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let comm = std::fs::read_to_string(base.join("comm")).unwrap_or_default();
        if (!cmdline.is_empty() && glob(pattern, &cmdline)) || glob(pattern, comm.trim_end()) {
            n += 1;
        }
        let _ = pid;
    }
    n
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
}
