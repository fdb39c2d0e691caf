//! The exec resource kind: turning an activation or deactivation into a process spec: the script path, the
//! `CLP_*` environment of CLUSTERPRO, the user log and the timeout.
//!
//! The variables (documented in clp-scripts(7)):
//!
//! | variable | start.sh | stop.sh |
//! |---|---|---|
//! | `CLP_EVENT` | START (FAILOVER, RECOVER where they apply) | the value its start saw |
//! | `CLP_FACTOR` | - | CLUSTERSHUTDOWN, SERVERSHUTDOWN, GROUPSTOP, GROUPMOVE, GROUPFAILOVER, GROUPRESTART, RESOURCERESTART |
//! | `CLP_SERVER` | HOME / OTHER | same |
//! | `CLP_DISK` | SUCCESS when the group's disk resources are online (or it has none), FAILURE otherwise (set by the daemon) | same |
//! | `CLP_PRIORITY` | this server's rank in the group's policy, from 1 | same |
//! | `CLP_GROUPNAME`, `CLP_RESOURCENAME` | names | names |
//! | `CLP_PID` | - | pid of the asynchronous start script, empty otherwise |
//! | `CLP_VERSION_FULL`, `CLP_VERSION_MAJOR` | clp's version | same |
//! | `CLP_PATH` | the installation prefix | same |
//! | `CLP_OSNAME`, `CLP_OSVER` | from /etc/os-release | same |

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::resource::AsyncPid;
use crate::engine::{ClpEvent, StopFactor};
use crate::exec::{Output, ScriptSpec};
pub use crate::host::{HostInfo, common_env, under_root, version_full};
use crate::model::{Cluster, ExecSpec, ResourceKind, ScriptPath};
use crate::paths::{self, Paths};

/// Time between SIGTERM and SIGKILL of a timed-out script's process group.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// The process spec for a resource script.
#[allow(clippy::too_many_arguments)]
pub fn resource_script(
    model: &Cluster,
    paths: &Paths,
    host: &HostInfo,
    resource: &str,
    group: &str,
    start: bool,
    event: ClpEvent,
    factor: Option<StopFactor>,
    pid: Option<AsyncPid>,
) -> Option<ScriptSpec> {
    let spec = model.resource(resource)?;
    let ResourceKind::Exec(exec) = &spec.kind else {
        return None;
    };
    let script = if start { &exec.start } else { &exec.stop };
    let program = script_file(paths, script, group, resource);
    let policy = model
        .group(group)
        .map(|g| g.policy.clone())
        .unwrap_or_default();
    let rank = policy
        .iter()
        .position(|s| *s == model.local_server)
        .map_or(1, |i| i + 1);
    let mut env = vec![
        ("CLP_EVENT".to_string(), event.as_str().to_string()),
        (
            "CLP_SERVER".into(),
            if rank == 1 { "HOME" } else { "OTHER" }.into(),
        ),
        ("CLP_DISK".into(), "SUCCESS".into()),
        ("CLP_PRIORITY".into(), rank.to_string()),
        ("CLP_GROUPNAME".into(), group.to_string()),
        ("CLP_RESOURCENAME".into(), resource.to_string()),
    ];
    if !start {
        env.push((
            "CLP_FACTOR".into(),
            factor.unwrap_or(StopFactor::GroupStop).as_str().to_string(),
        ));
        env.push((
            "CLP_PID".into(),
            pid.map(|p| p.pid.to_string()).unwrap_or_default(),
        ));
    }
    env.extend(common_env(host));
    let sync = if start {
        exec.start_sync
    } else {
        exec.stop_sync
    };
    let timeout = if start {
        exec.start_timeout
    } else {
        exec.stop_timeout
    };
    Some(ScriptSpec {
        cwd: program
            .parent()
            .map_or_else(|| paths.root().to_path_buf(), Path::to_path_buf),
        program,
        args: Vec::new(),
        env,
        output: user_output(paths, exec),
        timeout: sync.then_some(timeout),
        kill_grace: KILL_GRACE,
        identify: true,
        cgroup_label: None,
    })
}

/// Where a script lives: bundled scripts in the installed scripts tree.
pub fn script_file(paths: &Paths, script: &ScriptPath, group: &str, resource: &str) -> PathBuf {
    match script {
        ScriptPath::Absolute(p) => PathBuf::from(p),
        ScriptPath::Bundled(f) => paths::exec_script(&paths.scripts_dir(), group, resource, f),
    }
}

/// The user log of an exec resource, relative paths taken under the root.
fn user_output(paths: &Paths, exec: &ExecSpec) -> Output {
    match &exec.userlog {
        None => Output::Discard,
        Some(log) => Output::Append {
            path: under_root(paths, log),
            rotate_at: exec.logrotate_size,
        },
    }
}
