//! Turning an engine `RunScript` into a process spec: the script path, the
//! `CLP_*` environment of CLUSTERPRO, the user log and the timeout.
//!
//! The variables (documented in clp-scripts(7)):
//!
//! | variable | start.sh | stop.sh |
//! |---|---|---|
//! | `CLP_EVENT` | START (FAILOVER, RECOVER where they apply) | the value its start saw |
//! | `CLP_FACTOR` | - | CLUSTERSHUTDOWN, SERVERSHUTDOWN, GROUPSTOP, GROUPMOVE, GROUPFAILOVER, GROUPRESTART, RESOURCERESTART |
//! | `CLP_SERVER` | HOME / OTHER | same |
//! | `CLP_DISK` | SUCCESS (no disk resources yet) | same |
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
use crate::model::{Cluster, ExecSpec, ResourceKind, ScriptPath};
use crate::paths::{self, Paths};

/// Time between SIGTERM and SIGKILL of a timed-out script's process group.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// clp's version in CLUSTERPRO's shape (`4.3.0-1`).
pub fn version_full() -> String {
    format!("{}-1", env!("CARGO_PKG_VERSION"))
}

/// What the host says about itself, read once at daemon start.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub os_name: String,
    pub os_version: String,
    /// `CLP_PATH`: the installation prefix (parent of the directory holding clpd).
    pub install_path: String,
    /// The directory holding the clp programs, put first on scripts' PATH so that
    /// `clplogcmd` and friends resolve to this installation.
    pub bin_dir: String,
}

impl HostInfo {
    pub fn detect() -> Self {
        let (os_name, os_version) = os_release(Path::new("/etc/os-release"));
        let exe = std::env::current_exe().ok();
        let bin_dir = exe.as_ref().and_then(|e| e.parent()).map(Path::to_path_buf);
        let install = bin_dir
            .as_ref()
            .and_then(|d| d.parent())
            .map(Path::to_path_buf);
        HostInfo {
            os_name,
            os_version,
            install_path: install
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/".into()),
            bin_dir: bin_dir.map(|p| p.display().to_string()).unwrap_or_default(),
        }
    }
}

fn os_release(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let name = field("NAME");
    (
        if name.is_empty() {
            "Linux".into()
        } else {
            name
        },
        field("VERSION_ID"),
    )
}

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
    let ResourceKind::Exec(exec) = &spec.kind;
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
    })
}

/// Variables every clp script gets.
pub fn common_env(host: &HostInfo) -> Vec<(String, String)> {
    let major = env!("CARGO_PKG_VERSION")
        .split('.')
        .next()
        .unwrap_or("0")
        .to_string();
    let mut env = vec![
        ("CLP_VERSION_FULL".to_string(), version_full()),
        ("CLP_VERSION_MAJOR".into(), major),
        ("CLP_PATH".into(), host.install_path.clone()),
        ("CLP_OSNAME".into(), host.os_name.clone()),
        ("CLP_OSVER".into(), host.os_version.clone()),
    ];
    if !host.bin_dir.is_empty() {
        // The fixed PATH of every script, this installation's programs first.
        env.push((
            "PATH".into(),
            format!("{}:{}", host.bin_dir, crate::exec::SCRIPT_PATH),
        ));
    }
    env
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

/// A path from the configuration, placed under the root when the root is
/// relocated, so tests and demos never write to the real /opt or /var.
pub fn under_root(paths: &Paths, configured: &str) -> PathBuf {
    let p = Path::new(configured);
    if paths.is_relocated() {
        paths.root().join(p.strip_prefix("/").unwrap_or(p))
    } else {
        p.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("os-release");
        std::fs::write(&f, "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n").unwrap();
        assert_eq!(os_release(&f), ("Debian GNU/Linux".into(), "12".into()));
        assert_eq!(os_release(&dir.path().join("none")).0, "Linux");
    }

    #[test]
    fn configured_paths_stay_under_a_relocated_root() {
        let p = Paths::new("/tmp/r");
        assert_eq!(
            under_root(&p, "/opt/log/x.log"),
            Path::new("/tmp/r/opt/log/x.log")
        );
        assert_eq!(
            under_root(&Paths::new("/"), "/opt/log/x.log"),
            Path::new("/opt/log/x.log")
        );
    }
}
