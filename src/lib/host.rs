//! Facts about this host that scripts, monitors and commands share: clp's
//! version in CLUSTERPRO's shape, the OS name, the installation prefix, the
//! local server's name, and where configured paths land under a relocated root.

use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// The fixed PATH of every script clp runs (the installation's programs go first, see [`common_env`]).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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
        env.push(("PATH".into(), format!("{}:{}", host.bin_dir, SCRIPT_PATH)));
    }
    env
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

/// The local server name: `CLP_HOSTNAME`, else the short host name.
pub fn local_server_name() -> Option<String> {
    if let Some(name) = std::env::var("CLP_HOSTNAME").ok().filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let host = nix::unistd::gethostname().ok()?;
    let host = host.to_string_lossy();
    Some(host.split('.').next().unwrap_or(&host).to_string())
}

/// Marks the calling thread as a background writer (`SCHED_BATCH`): it gets
/// its full share of the CPU, but waking it does not preempt the thread that
/// woke it. The loop hands log lines, alerts and state files to writer
/// threads on every recovery; without this, each hand-off switched the CPU to
/// the writer before the loop reached the spawn of the next script.
/// Best effort: a refusal leaves the thread as it was.
pub fn run_as_background_writer() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler with pid 0 changes the calling thread only
    // (Linux schedules threads); `param` is a valid sched_param for SCHED_BATCH.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
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
