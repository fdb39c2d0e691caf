//! `clpcl` on several servers: which servers `-a` means, the per-server
//! report, and starting Corosync before clpd on a server of a cluster.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{ClpError, Result};
use crate::paths::Paths;

/// The command that starts Corosync on this server before clpd (`clpcl -s`
/// with several servers in clp.conf), run with `/bin/sh -c`.
pub const COROSYNC_START_ENV: &str = "CLP_COROSYNC_START";
/// What starts Corosync when [`COROSYNC_START_ENV`] is not set.
pub const DEFAULT_COROSYNC_START: &str = "systemctl start clp-corosync";

/// The configured servers, in clp.conf's priority order (one: this server).
pub fn configured_servers(paths: &Paths) -> Result<Vec<String>> {
    let file = paths.config_file();
    if !file.exists() {
        return Ok(vec![super::client::server_name(paths)]);
    }
    let label = file.display().to_string();
    let checked = crate::config::check_file(&file, None, None, &label)?;
    let Some(cluster) = checked.cluster else {
        return Err(ClpError::config(format!(
            "{label} is not valid; see clpcfctrl --push output or check it with clpcfget"
        )));
    };
    let mut servers: Vec<(u32, String)> = cluster
        .servers
        .iter()
        .map(|s| (s.priority, s.name.clone()))
        .collect();
    servers.sort();
    Ok(servers.into_iter().map(|(_, n)| n).collect())
}

/// How Corosync is to be started, or why it must not be by default.
pub fn corosync_start_command(paths: &Paths, configured: Option<&str>) -> Result<String> {
    match configured.filter(|c| !c.trim().is_empty()) {
        Some(command) => Ok(command.to_string()),
        None if paths.is_relocated() => Err(ClpError::usage(format!(
            "refused to start the machine's Corosync ({DEFAULT_COROSYNC_START}): the root is relocated (CLP_ROOT={}); set {COROSYNC_START_ENV} to the command that starts this server's Corosync",
            paths.root().display()
        ))),
        None => Ok(DEFAULT_COROSYNC_START.to_string()),
    }
}

/// Runs the command that starts Corosync and waits for it (it returns once
/// Corosync runs: systemctl does, and so does `corosync` forking itself).
pub fn start_corosync(paths: &Paths) -> Result<()> {
    let configured = std::env::var(COROSYNC_START_ENV).ok();
    let command = corosync_start_command(paths, configured.as_deref())?;
    let out = Command::new("/bin/sh")
        .args(["-c", &command])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .current_dir(Path::new("/"))
        .output()
        .map_err(|e| ClpError::failed(format!("cannot run {command:?}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClpError::failed(format!(
        "starting Corosync with {command:?} failed ({}){}; the other servers cannot be reached without it",
        out.status,
        match String::from_utf8_lossy(&out.stderr).trim() {
            "" => String::new(),
            text => format!(": {text}"),
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_corosync_start_refuses_under_a_relocated_root() {
        let relocated = Paths::new("/tmp/somewhere");
        let err = corosync_start_command(&relocated, None).unwrap_err();
        assert!(err.message.contains(COROSYNC_START_ENV), "{}", err.message);
        assert_eq!(
            corosync_start_command(&relocated, Some("corosync -c /x")).unwrap(),
            "corosync -c /x"
        );
        assert_eq!(
            corosync_start_command(&Paths::new("/"), Some(" ")).unwrap(),
            DEFAULT_COROSYNC_START
        );
    }
}
