//! genw: a custom script. Synchronous: run each interval, normal when its exit
//! code is in `normalval`. Asynchronous: started once, must keep running.

use std::path::Path;
use std::time::Duration;

use crate::exec::{Outcome, Output, ScriptSpec};
use crate::host::{HostInfo, common_env, under_root};
use crate::model::{GenwSpec, Monitor, NormalValues, ScriptPath};
use crate::paths::{self, Paths};
use crate::vocab::CheckResult;

/// Where a monitor's script lives (bundled in `scripts/monitor.s/<monitor>/`).
pub fn script_file(paths: &Paths, monitor: &str, script: &ScriptPath) -> std::path::PathBuf {
    match script {
        ScriptPath::Absolute(p) => std::path::PathBuf::from(p),
        ScriptPath::Bundled(f) => paths::monitor_script(&paths.scripts_dir(), monitor, f),
    }
}

/// The process spec of the genw script. Synchronous scripts get a timeout a
/// little past the monitor's (the monitor engine cancels them at its timeout).
pub fn spec(paths: &Paths, host: &HostInfo, monitor: &Monitor, genw: &GenwSpec) -> ScriptSpec {
    let program = script_file(paths, &monitor.name, &genw.script);
    let mut env = vec![("CLP_MONITORNAME".to_string(), monitor.name.clone())];
    env.extend(common_env(host));
    ScriptSpec {
        cwd: program
            .parent()
            .map_or_else(|| paths.root().to_path_buf(), Path::to_path_buf),
        program,
        args: Vec::new(),
        env,
        output: match &genw.userlog {
            None => Output::Discard,
            Some(log) => Output::Append {
                path: under_root(paths, log),
                rotate_at: genw.logrotate_size,
            },
        },
        timeout: genw.sync.then(|| monitor.timeout + Duration::from_secs(1)),
        kill_grace: Duration::from_secs(2),
        identify: false,
        cgroup_label: Some(format!("genw-{}", monitor.name)),
    }
}

/// The verdict of a finished synchronous run.
pub fn verdict(genw: &GenwSpec, outcome: Outcome) -> CheckResult {
    match outcome {
        Outcome::Exited(code) if genw.normal_values.contains(code) => CheckResult::Ok,
        Outcome::Exited(code) => CheckResult::Failed(format!("exit {code}")),
        Outcome::Signaled(sig) => CheckResult::Failed(format!("killed by signal {sig}")),
        Outcome::TimedOut => CheckResult::TimedOut,
        Outcome::Lost => CheckResult::Failed("the script vanished".into()),
    }
}

/// Parses genw normal values: `0`, `0,2-5`, `0, 3`.
pub fn parse_normal_values(text: &str) -> Result<NormalValues, String> {
    let mut ranges = Vec::new();
    for part in text.split(',').map(str::trim) {
        let parse = |s: &str| {
            s.trim()
                .parse::<i32>()
                .map_err(|_| format!("\"{text}\" must list exit codes and ranges, e.g. 0 or 0,2-5"))
        };
        let range = match part.split_once('-') {
            Some((lo, hi)) if !lo.trim().is_empty() => (parse(lo)?, parse(hi)?),
            _ => {
                let n = parse(part)?;
                (n, n)
            }
        };
        if range.0 > range.1 {
            return Err(format!(
                "range {part} in \"{text}\" runs backwards; write it low-high"
            ));
        }
        ranges.push(range);
    }
    Ok(NormalValues(ranges))
}

// ---- genw in the kinds table (monitor::kinds) -------------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{
        Checks, DetailRow, Kind, ParamReader, on_off, script, secs, sync_word,
    };
    use super::parse_normal_values;
    use crate::model::{GenwSpec, MonitorKind, NormalValues};

    /// A script through the executor, its process tree killed at the timeout.
    pub const KIND: Kind = Kind {
        name: "genw",
        checks: Checks::Script,
        read,
        detail,
    };

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        let normal = p.text("parameters/normalval");
        let normal_values = match parse_normal_values(&normal) {
            Ok(v) => v,
            Err(msg) => {
                let (line, at) = (
                    p.line_of("parameters/normalval"),
                    p.at("parameters/normalval"),
                );
                p.error(line, at, msg);
                NormalValues(vec![(0, 0)])
            }
        };
        let userlog = p.userlog();
        MonitorKind::Genw(GenwSpec {
            script: p.monitor_script("parameters/path", "parameters/default"),
            sync: p.flag("parameters/sync"),
            wait_start: p.secs("parameters/waitmonstart"),
            normal_values,
            userlog,
            logrotate_size: p
                .flag("parameters/logrotate/use")
                .then(|| u64::try_from(p.int("parameters/logrotate/size")).unwrap_or(1_000_000)),
            wait_stop: p.flag("parameters/waitstop"),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Genw(g) = kind else {
            return Vec::new();
        };
        let normal = g
            .normal_values
            .0
            .iter()
            .map(|(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let mut rows = vec![
            ("Script", script(&g.script).to_string(), true),
            ("Monitor Type", sync_word(g.sync).to_string(), true),
            ("Normal Return Value", normal, false),
            ("Script Start Wait Time", secs(g.wait_start), false),
            ("Wait for Script to Stop", on_off(g.wait_stop).into(), false),
            (
                "Log Output Path",
                g.userlog.clone().unwrap_or_default(),
                false,
            ),
            (
                "Rotate Log",
                on_off(g.logrotate_size.is_some()).into(),
                false,
            ),
        ];
        if let Some(size) = g.logrotate_size {
            rows.push(("Rotation Size", size.to_string(), false));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NormalValues;

    #[test]
    fn normal_values_decide() {
        let genw = GenwSpec {
            script: ScriptPath::Bundled("genw.sh".into()),
            sync: true,
            wait_start: Duration::ZERO,
            normal_values: NormalValues(vec![(0, 0), (2, 5)]),
            userlog: None,
            logrotate_size: None,
            wait_stop: false,
        };
        assert_eq!(verdict(&genw, Outcome::Exited(3)), CheckResult::Ok);
        assert_eq!(
            verdict(&genw, Outcome::Exited(1)),
            CheckResult::Failed("exit 1".into())
        );
        assert_eq!(verdict(&genw, Outcome::TimedOut), CheckResult::TimedOut);
    }
}
