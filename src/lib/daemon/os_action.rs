//! OS-level final actions: shut down, reboot, panic, reset.
//!
//! Each is a command from `<clp><action>` (clp's extension of clp.conf) run with
//! `/bin/sh -c` through the executor (so it is reaped like every child), or a
//! built-in default (`/sbin/shutdown ...`, `sysrq:c` = write `c` to
//! /proc/sysrq-trigger). Under a relocated root (`CLP_ROOT`: tests and demos) a
//! built-in default refuses to run, so nothing can take the machine down; a
//! configured command (a recorder, in tests) runs.

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::OsAction;
use crate::exec::{Output, ScriptSpec};
use crate::model::OsActions;
use crate::paths::Paths;

/// How to carry out an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Write this key to /proc/sysrq-trigger.
    Sysrq(String),
    /// Run this command.
    Command(ScriptSpec),
}

/// The action's name in messages and in `CLP_ACTION` of the command.
pub fn word(action: OsAction) -> &'static str {
    match action {
        OsAction::Shutdown => "shutdown",
        OsAction::Reboot => "reboot",
        OsAction::Panic => "panic",
        OsAction::Reset => "reset",
    }
}

/// Decides how to carry out `action`, or why it must not be.
pub fn plan(action: OsAction, commands: &OsActions, paths: &Paths) -> Result<Plan, String> {
    let (command, is_default) = match action {
        OsAction::Shutdown => (&commands.shutdown, commands.shutdown_is_default),
        OsAction::Reboot => (&commands.reboot, commands.reboot_is_default),
        OsAction::Panic => (&commands.panic, commands.panic_is_default),
        OsAction::Reset => (&commands.reset, commands.reset_is_default),
    };
    let word = word(action);
    if is_default && paths.is_relocated() {
        return Err(format!(
            "refused to {word} the OS: the root is relocated (CLP_ROOT={}) and <clp><action><{word}> is the built-in default; configure a command to run instead",
            paths.root().display()
        ));
    }
    if let Some(key) = command.strip_prefix("sysrq:") {
        return Ok(Plan::Sysrq(key.to_string()));
    }
    Ok(Plan::Command(ScriptSpec {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".into(), command.clone()],
        env: vec![("CLP_ACTION".into(), word.to_string())],
        cwd: PathBuf::from("/"),
        output: Output::Discard,
        timeout: Some(Duration::from_secs(300)),
        kill_grace: Duration::from_secs(5),
        identify: false,
        cgroup_label: None,
    }))
}

/// How long a sysrq action waits for `sync` of the file systems.
pub const SYNC_WAIT: Duration = Duration::from_secs(10);

/// Writes a sysrq key (the real panic/reset path; root only). A sysrq crash
/// or reset skips everything a shutdown does, so the file systems are synced
/// first: the state file was fsynced already, but whatever else clpd and its
/// scripts wrote (logs) should reach the disks too. The sync is bounded: the
/// failure that led here may be a hung disk, and the action must still
/// happen.
pub fn sysrq(key: &str) -> Result<(), String> {
    if !sync_bounded(SYNC_WAIT) {
        tracing::warn!(target: "pm", "sync of the file systems did not finish within {}s; carrying out sysrq {key} anyway", SYNC_WAIT.as_secs());
    }
    std::fs::write("/proc/sysrq-trigger", key.as_bytes())
        .map_err(|e| format!("cannot write {key} to /proc/sysrq-trigger: {e}"))
}

/// `sync(2)` on a thread of its own; true when it finished within `wait`.
/// A sync stuck on a dead device leaves only that thread behind.
pub fn sync_bounded(wait: Duration) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("clp-sync".into())
        .spawn(move || {
            // SAFETY: sync takes no arguments and cannot fail.
            unsafe { libc::sync() };
            let _ = tx.send(());
        });
    spawned.is_ok() && rx.recv_timeout(wait).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(cmd: &str, default: bool) -> OsActions {
        OsActions {
            shutdown: cmd.into(),
            reboot: cmd.into(),
            panic: cmd.into(),
            reset: cmd.into(),
            shutdown_is_default: default,
            reboot_is_default: default,
            panic_is_default: default,
            reset_is_default: default,
        }
    }

    #[test]
    fn defaults_refuse_under_a_relocated_root() {
        let relocated = Paths::new("/tmp/somewhere");
        let err = plan(
            OsAction::Reboot,
            &actions("/sbin/shutdown -r now", true),
            &relocated,
        )
        .unwrap_err();
        assert!(err.contains("refused to reboot"), "{err}");
        let err = plan(OsAction::Panic, &actions("sysrq:c", true), &relocated).unwrap_err();
        assert!(err.contains("refused to panic"), "{err}");
        // On the real root the default is carried out.
        assert_eq!(
            plan(OsAction::Panic, &actions("sysrq:c", true), &Paths::new("/")),
            Ok(Plan::Sysrq("c".into()))
        );
    }

    #[test]
    fn sync_finishes_on_a_healthy_machine() {
        assert!(sync_bounded(Duration::from_secs(60)));
    }

    #[test]
    fn configured_commands_are_run_by_the_shell() {
        let relocated = Paths::new("/tmp/somewhere");
        let Ok(Plan::Command(spec)) = plan(
            OsAction::Shutdown,
            &actions("record shutdown", false),
            &relocated,
        ) else {
            panic!("expected a command");
        };
        assert_eq!(spec.args, ["-c", "record shutdown"]);
        assert!(spec.env.contains(&("CLP_ACTION".into(), "shutdown".into())));
    }
}
