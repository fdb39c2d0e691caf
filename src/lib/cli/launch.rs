//! How `clpcl -s` (and `clpd` without `--foreground`) starts clpd: through
//! systemd when it runs the machine and `clp.service` is installed, else by
//! launching clpd detached.
//!
//! Why not always fork: a clpd forked by `clpcl -s` in an operator's shell is
//! a child of that login session. It inherits the operator's environment and
//! limits, lives in the session's cgroup, and systemd-logind may kill it at
//! logout (`KillUserProcesses=yes`). Started as `clp.service`, clpd gets the
//! unit's clean environment, its watchdog and restart policy, and outlives
//! every session.
//!
//! `clpcl -s` also means "start the cluster service even if the operator
//! stopped it on this boot" (`clpd --start`). systemd starts the unit with
//! its fixed command line, so clpcl leaves that request in a file clpd's user
//! alone can write (`run/clp/clpd.start-service`), which clpd consumes at start.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;

/// `auto` (default), `systemd` or `none`: how clpd is started.
pub const SERVICE_MANAGER_ENV: &str = "CLP_SERVICE_MANAGER";
/// The systemctl program (default `systemctl` from PATH).
pub const SYSTEMCTL_ENV: &str = "CLP_SYSTEMCTL";
/// The unit the packages install.
pub const UNIT: &str = "clp.service";
/// Where an installed unit file can be.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// What the environment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    Auto,
    Systemd,
    None,
}

/// The machine facts the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub preference: Preference,
    /// `CLP_ROOT` is not `/` (tests, demos): never the machine's unit.
    pub relocated: bool,
    /// systemd is PID 1 (`/run/systemd/system` exists).
    pub systemd_booted: bool,
    /// `clp.service` is installed.
    pub unit_installed: bool,
}

/// How clpd is to be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Systemd,
    Detached,
}

/// The choice, from the facts alone.
pub fn choose(facts: &Facts) -> Launch {
    match facts.preference {
        Preference::None => Launch::Detached,
        Preference::Systemd => Launch::Systemd,
        Preference::Auto if !facts.relocated && facts.systemd_booted && facts.unit_installed => {
            Launch::Systemd
        }
        Preference::Auto => Launch::Detached,
    }
}

/// The facts of this machine for `paths`.
pub fn facts(paths: &Paths) -> Result<Facts> {
    let preference = match std::env::var(SERVICE_MANAGER_ENV).as_deref() {
        Err(_) | Ok("" | "auto") => Preference::Auto,
        Ok("systemd") => Preference::Systemd,
        Ok("none") => Preference::None,
        Ok(other) => {
            return Err(ClpError::usage(format!(
                "{SERVICE_MANAGER_ENV}={other}: must be auto, systemd or none"
            )));
        }
    };
    Ok(Facts {
        preference,
        relocated: paths.is_relocated(),
        systemd_booted: Path::new("/run/systemd/system").is_dir(),
        unit_installed: UNIT_DIRS.iter().any(|d| Path::new(d).join(UNIT).is_file()),
    })
}

pub use crate::pidfile::{request_service_start, take_service_start_request};

/// `systemctl start clp.service`, waiting at most `wait` (systemd itself waits
/// for clpd's READY=1: the unit is `Type=notify`).
pub fn start_unit(wait: Duration) -> Result<()> {
    let systemctl = std::env::var_os(SYSTEMCTL_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("systemctl"), PathBuf::from);
    let mut child = Command::new(&systemctl)
        .args(["start", UNIT])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ClpError::failed(format!("cannot run {}: {e}", systemctl.display())))?;
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
        }
        let _ = tx.send((child.wait(), text));
    });
    match rx.recv_timeout(wait) {
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((status, text)) => Err(ClpError::failed(format!(
            "{} start {UNIT} failed ({}){}; see journalctl -u {UNIT}",
            systemctl.display(),
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            if text.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", text.trim())
            }
        ))),
        Err(_) => Err(ClpError::new(
            ErrorKind::Timeout,
            format!(
                "{} start {UNIT} did not return within {} s; see systemctl status {UNIT}",
                systemctl.display(),
                wait.as_secs()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(preference: Preference, relocated: bool, booted: bool, unit: bool) -> Facts {
        Facts {
            preference,
            relocated,
            systemd_booted: booted,
            unit_installed: unit,
        }
    }

    #[test]
    fn systemd_only_for_the_real_root_with_the_unit_installed() {
        use Preference::*;
        assert_eq!(choose(&facts(Auto, false, true, true)), Launch::Systemd);
        assert_eq!(choose(&facts(Auto, true, true, true)), Launch::Detached);
        assert_eq!(choose(&facts(Auto, false, false, true)), Launch::Detached);
        assert_eq!(choose(&facts(Auto, false, true, false)), Launch::Detached);
        assert_eq!(choose(&facts(None, false, true, true)), Launch::Detached);
        assert_eq!(choose(&facts(Systemd, true, false, false)), Launch::Systemd);
    }

    #[test]
    fn the_start_request_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        assert!(!take_service_start_request(&paths));
        request_service_start(&paths).unwrap();
        assert!(take_service_start_request(&paths));
        assert!(!take_service_start_request(&paths));
    }
}
