//! genw: a custom script. Synchronous: run each interval, normal when its exit
//! code is in `normalval`. Asynchronous: started once, must keep running.

use std::path::Path;
use std::time::Duration;

use crate::exec::{Outcome, Output, ScriptSpec};
use crate::host::{HostInfo, common_env, under_root};
use crate::model::{GenwSpec, Monitor, ScriptPath};
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
