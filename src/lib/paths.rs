//! The one place that knows the file-system layout.
//!
//! Everything lives under a root: `/` on a real server, or the directory named by
//! the `CLP_ROOT` environment variable, so tests and demos run unprivileged in a
//! temporary directory. No other module builds a path from a literal.

use std::env;
use std::path::{Path, PathBuf};

/// The environment variable that relocates the root.
pub const ROOT_ENV: &str = "CLP_ROOT";

/// Paths of one installation, all below `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    /// The layout under an explicit root.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Paths { root: root.into() }
    }

    /// The layout under `CLP_ROOT`, or under `/` when it is unset or empty.
    pub fn from_env() -> Self {
        match env::var_os(ROOT_ENV) {
            Some(r) if !r.is_empty() => Paths::new(r),
            _ => Paths::new("/"),
        }
    }

    /// True when the root is relocated (not `/`). OS-level actions (shutdown,
    /// reboot, panic) refuse their built-in defaults under a relocated root.
    pub fn is_relocated(&self) -> bool {
        self.root != Path::new("/")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `etc/clp`: the active configuration and scripts.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("etc/clp")
    }

    /// `etc/clp/clp.conf`: the active configuration.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join(CONFIG_FILE)
    }

    /// `etc/clp/scripts`: exec and monitor scripts.
    pub fn scripts_dir(&self) -> PathBuf {
        self.config_dir().join(SCRIPTS_DIR)
    }

    /// `var/lib/clp`: persisted state and configuration backups.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("var/lib/clp")
    }

    /// `var/lib/clp/config-backup`: the previously installed configuration.
    /// The persisted engine state (`state.json`) in the state directory.
    pub fn state_file(&self) -> PathBuf {
        self.state_dir().join("state.json")
    }

    pub fn config_backup_dir(&self) -> PathBuf {
        self.state_dir().join("config-backup")
    }

    /// `var/log/clp`: module logs, the alert log, script user logs.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("var/log/clp")
    }

    /// `run/clp`: socket, pid/lock file, status snapshot.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run/clp")
    }

    /// `run/clp/push`: the directory of `clpcfctrl --push`'s lock file, `push.lock`.
    /// Only its owner (root) may enter it, so no one else can open the lock
    /// file, let alone hold a lock on it.
    pub fn push_lock_dir(&self) -> PathBuf {
        self.run_dir().join("push")
    }

    /// `run/clp/clpd.pid`: the running daemon's pid, for people and tools
    /// (liveness is decided by the lock file).
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("clpd.pid")
    }

    /// `run/clp/clpd.start-service`: `clpcl -s` asks the clpd that systemd
    /// is about to start to start the cluster service.
    pub fn start_request_file(&self) -> PathBuf {
        self.run_dir().join("clpd.start-service")
    }

    /// `run/clp/clpd.lock`: the lock a running clpd holds (mode 0600).
    pub fn lock_file(&self) -> PathBuf {
        self.run_dir().join("clpd.lock")
    }

    /// `run/clp/clpd.sock`: where clpd takes requests.
    pub fn socket_file(&self) -> PathBuf {
        self.run_dir().join(SOCKET_FILE)
    }

    /// `run/clp/status.json`: the status snapshot clpstat reads.
    pub fn status_file(&self) -> PathBuf {
        self.run_dir().join(STATUS_FILE)
    }

    /// `var/log/clp/alert.log`.
    pub fn alert_log_file(&self) -> PathBuf {
        self.log_dir().join(ALERT_LOG_FILE)
    }

    /// `var/log/clp/elog_<module><n>.tar.gz`: an error snapshot.
    pub fn error_snapshot_file(&self, module: &str, n: usize) -> PathBuf {
        self.log_dir().join(format!("elog_{module}{n}.tar.gz"))
    }

    /// `var/lib/clp/logcc`: clplogcc's default output directory.
    pub fn logcc_dir(&self) -> PathBuf {
        self.state_dir().join("logcc")
    }
}

/// The socket's file name in the run directory.
pub const SOCKET_FILE: &str = "clpd.sock";
/// The status snapshot's file name in the run directory.
pub const STATUS_FILE: &str = "status.json";
/// The alert log's file name in the log directory.
pub const ALERT_LOG_FILE: &str = "alert.log";

/// The configuration file name inside a configuration directory.
pub const CONFIG_FILE: &str = "clp.conf";
/// The scripts tree name inside a configuration directory.
pub const SCRIPTS_DIR: &str = "scripts";

/// Where the bundled script `file` of exec resource `resource` in `group` lives
/// inside a scripts tree.
pub fn exec_script(scripts: &Path, group: &str, resource: &str, file: &str) -> PathBuf {
    scripts.join(group).join(resource).join(file)
}

/// Where the bundled script `file` of monitor `monitor` lives inside a scripts tree.
pub fn monitor_script(scripts: &Path, monitor: &str, file: &str) -> PathBuf {
    scripts.join("monitor.s").join(monitor).join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_under_root() {
        let p = Paths::new("/tmp/x");
        assert_eq!(p.config_file(), Path::new("/tmp/x/etc/clp/clp.conf"));
        assert_eq!(p.run_dir(), Path::new("/tmp/x/run/clp"));
        assert!(p.is_relocated());
        assert!(!Paths::new("/").is_relocated());
        assert_eq!(
            exec_script(&p.scripts_dir(), "g", "r", "start.sh"),
            Path::new("/tmp/x/etc/clp/scripts/g/r/start.sh")
        );
    }
}
