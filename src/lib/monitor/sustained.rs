//! The rule the resource monitors (sraw, psrw) share: a limit counts only once
//! it has been reached for its whole duration, as CLUSTERPRO's system and
//! process resource monitors do, so a short burst (a build, a backup) does not
//! fail the monitor. Pure: the caller gives each sample's time, so the tests
//! drive it with a fake clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::vocab::CheckResult;

/// What a sustained condition makes of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One limit reached in this sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over {
    /// Names the condition across samples (`memory`, `disk /srv`,
    /// `threads 1234@5678`: a process by its pid and start time, so that a
    /// reused pid starts afresh).
    pub key: String,
    pub severity: Severity,
    /// How long it must hold before it counts.
    pub duration: Duration,
    /// What to report, naming the object and the figures.
    pub message: String,
}

/// Since when each condition has held, from one sample to the next.
#[derive(Debug, Default)]
pub struct Sustained {
    since: HashMap<String, Instant>,
}

impl Sustained {
    pub fn new() -> Sustained {
        Sustained::default()
    }

    /// Judges one sample taken at `now`: the conditions reached in it start
    /// (or go on) holding, those not in it are forgotten, and the result is
    /// the worst of those that have held for their duration (Error before
    /// Warning; their messages joined, the worst first).
    pub fn judge(&mut self, now: Instant, over: Vec<Over>) -> CheckResult {
        self.since
            .retain(|key, _| over.iter().any(|o| o.key == *key));
        let mut due: Vec<&Over> = Vec::new();
        for o in &over {
            let since = *self.since.entry(o.key.clone()).or_insert(now);
            if now.saturating_duration_since(since) >= o.duration {
                due.push(o);
            }
        }
        due.sort_by_key(|o| std::cmp::Reverse(o.severity));
        let Some(worst) = due.first().map(|o| o.severity) else {
            return CheckResult::Ok;
        };
        let message = due
            .iter()
            .map(|o| o.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        match worst {
            Severity::Error => CheckResult::Failed(message),
            Severity::Warning => CheckResult::Warning(message),
        }
    }

    /// How many conditions are being timed (for tests).
    pub fn holding(&self) -> usize {
        self.since.len()
    }
}

/// CLUSTERPRO's alert for a resource monitor's failure message: the
/// sentence the message starts with (sraw and psrw write it) as the sra
/// event and its arguments; None for any other message.
pub fn sra_event(message: &str) -> Option<(u32, Vec<String>)> {
    let inside = |prefix: &str| -> Option<Vec<String>> {
        let rest = message.strip_prefix(prefix)?;
        let end = rest
            .find("):")
            .or_else(|| rest.strip_suffix(')').map(str::len))?;
        Some(rest[..end].split(". ").map(str::to_string).collect())
    };
    let value = |part: &str, key: &str| part.strip_prefix(key).map(str::to_string);
    if let Some(parts) = inside("A process resource error was detected. (")
        && let [kind, pid, name] = parts.as_slice()
    {
        return Some((
            301,
            vec![value(kind, "type = ")?, value(pid, "pid = ")?, name.clone()],
        ));
    }
    if let Some(parts) = inside("A system resource error was detected. (")
        && let [kind] = parts.as_slice()
    {
        return Some((302, vec![value(kind, "type = ")?]));
    }
    if let Some(parts) = inside("A disk resource error was detected. (")
        && let [kind, level, mount] = parts.as_slice()
    {
        return Some((
            304,
            vec![
                value(kind, "type = ")?,
                value(level, "level = ")?,
                mount.clone(),
            ],
        ));
    }
    None
}

/// `part` in percent of `whole` (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(key: &str, severity: Severity, secs: u64) -> Over {
        Over {
            key: key.into(),
            severity,
            duration: Duration::from_secs(secs),
            message: format!("{key} over"),
        }
    }

    #[test]
    fn a_limit_counts_only_after_its_duration() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Sustained::new();
        let mem = || vec![over("memory", Severity::Error, 60)];
        assert_eq!(s.judge(at(0), mem()), CheckResult::Ok);
        assert_eq!(s.judge(at(30), mem()), CheckResult::Ok);
        assert_eq!(s.judge(at(59), mem()), CheckResult::Ok);
        assert_eq!(
            s.judge(at(60), mem()),
            CheckResult::Failed("memory over".into())
        );
        assert_eq!(
            s.judge(at(500), mem()),
            CheckResult::Failed("memory over".into())
        );
        // Released: normal at once, and the duration starts afresh.
        assert_eq!(s.judge(at(501), vec![]), CheckResult::Ok);
        assert_eq!(s.holding(), 0);
        assert_eq!(s.judge(at(502), mem()), CheckResult::Ok);
        assert_eq!(s.judge(at(561), mem()), CheckResult::Ok);
        assert_eq!(
            s.judge(at(562), mem()),
            CheckResult::Failed("memory over".into())
        );
    }

    #[test]
    fn a_gap_in_the_condition_restarts_its_duration() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Sustained::new();
        let cpu = || vec![over("cpu", Severity::Error, 10)];
        assert_eq!(s.judge(at(0), cpu()), CheckResult::Ok);
        assert_eq!(s.judge(at(9), vec![]), CheckResult::Ok);
        assert_eq!(s.judge(at(11), cpu()), CheckResult::Ok);
        assert_eq!(s.judge(at(20), cpu()), CheckResult::Ok);
        assert!(matches!(s.judge(at(21), cpu()), CheckResult::Failed(_)));
    }

    #[test]
    fn zero_duration_counts_at_once_and_error_outranks_warning() {
        let t0 = Instant::now();
        let mut s = Sustained::new();
        assert_eq!(
            s.judge(t0, vec![over("disk /", Severity::Warning, 0)]),
            CheckResult::Warning("disk / over".into())
        );
        let both = vec![
            over("disk /", Severity::Warning, 0),
            over("threads 7@1", Severity::Error, 5),
        ];
        // The error has not held for its 5 s yet: still a warning.
        assert_eq!(
            s.judge(t0 + Duration::from_secs(1), both.clone()),
            CheckResult::Warning("disk / over".into())
        );
        assert_eq!(
            s.judge(t0 + Duration::from_secs(6), both),
            CheckResult::Failed("threads 7@1 over; disk / over".into())
        );
    }

    #[test]
    fn conditions_are_timed_apart() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Sustained::new();
        assert_eq!(
            s.judge(at(0), vec![over("fd 1@1", Severity::Error, 10)]),
            CheckResult::Ok
        );
        // Another process reaches the limit later: its own 10 s.
        let two = || {
            vec![
                over("fd 1@1", Severity::Error, 10),
                over("fd 2@1", Severity::Error, 10),
            ]
        };
        assert_eq!(s.judge(at(5), two()), CheckResult::Ok);
        assert_eq!(
            s.judge(at(10), two()),
            CheckResult::Failed("fd 1@1 over".into())
        );
        assert_eq!(
            s.judge(at(15), two()),
            CheckResult::Failed("fd 1@1 over; fd 2@1 over".into())
        );
    }

    #[test]
    fn sra_events_from_messages() {
        assert_eq!(
            sra_event("A system resource error was detected. (type = memory): 93 % used"),
            Some((302, vec!["memory".to_string()]))
        );
        assert_eq!(
            sra_event(
                "A process resource error was detected. (type = memory leak. pid = 42. my.d): x"
            ),
            Some((301, vec!["memory leak".into(), "42".into(), "my.d".into()]))
        );
        assert_eq!(
            sra_event(
                "A disk resource error was detected. (type = used rate. level = NOTICE. /srv): 85 %"
            ),
            Some((
                304,
                vec!["used rate".into(), "NOTICE".into(), "/srv".into()]
            ))
        );
        let (id, args) = sra_event(
            "A disk resource error was detected. (type = used rate. level = WARNING. /srv)",
        )
        .unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(
            crate::alert::catalog::format("sra", id, &args).1,
            "A disk resource error was detected. (type = used rate. level = WARNING. /srv)"
        );
        assert_eq!(sra_event("cannot read the usage of /srv: gone"), None);
        assert_eq!(
            sra_event("1 process(es) match \"x\", at least 2 needed"),
            None
        );
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(1, 4), 25.0);
        assert_eq!(percent(5, 0), 0.0);
    }
}
