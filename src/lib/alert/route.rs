//! Where one alert goes: the alert log, syslog, mail, alert extension commands.
//!
//! Rules ([`destinations`]):
//! * a `<messages><MODULE id="N">` override for the alert's `(module, event id)`
//!   replaces the defaults entirely: its `alert`, `syslog` and `mail` flags are
//!   taken as they are, and its `cmd@N/cmdline` commands run only when it also
//!   sets `altexec` to 1. When several overrides name the same event, the first
//!   one in the file wins;
//! * otherwise the catalog's defaults apply ([`Entry::alert`](super::Entry::alert),
//!   [`Entry::syslog`](super::Entry::syslog)); an event that is not in the catalog
//!   (e.g. `clplogcmd`'s `logcmd`) goes to the alert log and syslog;
//! * mail without an override: **clp's choice** (CLUSTERPRO's per-message mail
//!   defaults are not public) is to mail every Error-level alert when
//!   `cluster/mail` is configured, and nothing else;
//! * mail is never chosen when `cluster/mail` has no recipient, whatever the
//!   override says (there would be no one to send it to);
//! * no commands run without an override: CLUSTERPRO has no default alert
//!   extension command.
//!
//! Alert extension commands ([`command_spec`]) run as `/bin/sh -c CMDLINE` in the
//! root directory, in their own process group, output discarded, killed (TERM,
//! then KILL after 2 s) at `webalert/daemon/timeout` (default 30 s). Besides the
//! common `CLP_*` variables of every clp script (`CLP_VERSION_FULL`, `CLP_PATH`,
//! ...) they get the alert's fields ([`command_env`]):
//!
//! | variable | value |
//! |---|---|
//! | `CLP_ALERT_SERVER` | the server that raised the alert (`n1`) |
//! | `CLP_ALERT_MODULE` | module type (`rc`) |
//! | `CLP_ALERT_EVENT_ID` | event id (`12`) |
//! | `CLP_ALERT_LEVEL` | `Info`, `Warning` or `Error` |
//! | `CLP_ALERT_MESSAGE` | the message text |
//! | `CLP_ALERT_TIME` | local time, `YYYY/MM/DD HH:MM:SS.mmm` |

use std::path::PathBuf;
use std::time::Duration;

use super::alertlog::Alert;
use super::catalog::{self, Level};
use crate::exec::{Output, ScriptSpec};
use crate::host::{HostInfo, common_env};
use crate::model::AlertRouting;

/// The destinations chosen for one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Append to the alert log (`var/log/clp/alert.log`).
    pub alert_log: bool,
    /// Send to the syslog socket.
    pub syslog: bool,
    /// Mail to `cluster/mail/address`.
    pub mail: bool,
    /// Alert extension commands (`/bin/sh -c` command lines).
    pub commands: Vec<String>,
}

/// Whether `cluster/mail` is configured with at least one recipient.
fn mail_configured(routing: &AlertRouting) -> bool {
    routing
        .mail
        .as_ref()
        .is_some_and(|m| !m.recipients.is_empty())
}

/// The destinations of `alert` under `routing` (see the module documentation).
pub fn destinations(routing: &AlertRouting, alert: &Alert) -> Destinations {
    let mail = mail_configured(routing);
    if let Some(route) = routing
        .overrides
        .iter()
        .find(|r| r.module == alert.module && r.id == alert.event_id)
    {
        return Destinations {
            alert_log: route.alert,
            syslog: route.syslog,
            mail: route.mail && mail,
            commands: if route.altexec {
                route.commands.clone()
            } else {
                Vec::new()
            },
        };
    }
    let (alert_log, syslog) = catalog::lookup(&alert.module, alert.event_id)
        .map_or((true, true), |e| (e.alert, e.syslog));
    Destinations {
        alert_log,
        syslog,
        mail: mail && alert.level == Level::Error,
        commands: Vec::new(),
    }
}

/// Timeout of an alert command when the configuration gives 0.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Between SIGTERM and SIGKILL of a timed-out alert command.
pub const COMMAND_KILL_GRACE: Duration = Duration::from_secs(2);

/// The alert's fields as `CLP_ALERT_*` variables (see the module documentation).
pub fn command_env(alert: &Alert) -> Vec<(String, String)> {
    vec![
        ("CLP_ALERT_SERVER".to_string(), alert.server.clone()),
        ("CLP_ALERT_MODULE".into(), alert.module.clone()),
        ("CLP_ALERT_EVENT_ID".into(), alert.event_id.to_string()),
        ("CLP_ALERT_LEVEL".into(), alert.level.as_str().to_string()),
        ("CLP_ALERT_MESSAGE".into(), alert.message.clone()),
        ("CLP_ALERT_TIME".into(), alert.time.clone()),
    ]
}

/// The process spec of one alert extension command: `/bin/sh -c cmdline` with
/// [`command_env`] and [`common_env`], started in `cwd`, killed at `timeout`.
pub fn command_spec(
    cmdline: &str,
    alert: &Alert,
    host: &HostInfo,
    cwd: PathBuf,
    timeout: Duration,
) -> ScriptSpec {
    let mut env = command_env(alert);
    env.extend(common_env(host));
    ScriptSpec {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".into(), cmdline.to_string()],
        env,
        cwd,
        output: Output::Discard,
        timeout: Some(if timeout.is_zero() {
            DEFAULT_COMMAND_TIMEOUT
        } else {
            timeout
        }),
        kill_grace: COMMAND_KILL_GRACE,
        identify: false,
        cgroup_label: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{MailSettings, MessageRoute};
    use std::time::Duration;

    fn routing(overrides: Vec<MessageRoute>, mail: bool) -> AlertRouting {
        AlertRouting {
            overrides,
            mail: mail.then(|| MailSettings {
                recipients: vec!["ops@example.com".into()],
                subject: "CLUSTERPRO".into(),
                servers: Vec::new(),
                timeout: Duration::from_secs(30),
            }),
            syslog_socket: "/dev/log".into(),
            syslog_level: true,
            command_timeout: Duration::from_secs(30),
        }
    }

    fn route(module: &str, id: u32, flags: [bool; 4], commands: &[&str]) -> MessageRoute {
        MessageRoute {
            module: module.into(),
            id,
            alert: flags[0],
            syslog: flags[1],
            mail: flags[2],
            altexec: flags[3],
            commands: commands.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn alert(module: &str, id: u32) -> Alert {
        Alert::from_catalog("n1", module, id, &["a", "b", "c"])
    }

    #[test]
    fn catalog_defaults_without_override() {
        let r = routing(Vec::new(), false);
        // rc 10: alert log and syslog.
        assert_eq!(
            destinations(&r, &alert("rc", 10)),
            Destinations {
                alert_log: true,
                syslog: true,
                mail: false,
                commands: Vec::new()
            }
        );
        // rc 30: syslog only by default.
        let d = destinations(&r, &alert("rc", 30));
        assert!(!d.alert_log && d.syslog);
    }

    #[test]
    fn unknown_events_go_to_alert_log_and_syslog() {
        let r = routing(Vec::new(), true);
        let a = Alert::new("n1", "logcmd", 1, Level::Info, "hello");
        let d = destinations(&r, &a);
        assert!(d.alert_log && d.syslog && !d.mail && d.commands.is_empty());
    }

    #[test]
    fn errors_are_mailed_only_when_mail_is_configured() {
        let err = alert("rc", 12);
        assert_eq!(err.level, Level::Error);
        assert!(!destinations(&routing(Vec::new(), false), &err).mail);
        assert!(destinations(&routing(Vec::new(), true), &err).mail);
        // Info and Warning are not mailed by default.
        assert!(!destinations(&routing(Vec::new(), true), &alert("rc", 10)).mail);
        let warn = Alert::new("n1", "rm", 4, Level::Warning, "w");
        assert!(!destinations(&routing(Vec::new(), true), &warn).mail);
        // No recipient: no mail.
        let mut r = routing(Vec::new(), true);
        r.mail.as_mut().unwrap().recipients.clear();
        assert!(!destinations(&r, &err).mail);
    }

    #[test]
    fn an_override_replaces_the_defaults() {
        let r = routing(
            vec![
                route("rc", 10, [false, false, true, false], &[]),
                route("rc", 12, [true, false, false, false], &[]),
            ],
            true,
        );
        // rc 10 is Info: mailed because the override says so.
        assert_eq!(
            destinations(&r, &alert("rc", 10)),
            Destinations {
                alert_log: false,
                syslog: false,
                mail: true,
                commands: Vec::new()
            }
        );
        // rc 12 is Error: the override says no mail, so no mail.
        let d = destinations(&r, &alert("rc", 12));
        assert!(d.alert_log && !d.syslog && !d.mail);
        // Other events keep their defaults.
        let d = destinations(&r, &alert("rc", 11));
        assert!(d.alert_log && d.syslog);
        // The module must match too.
        let d = destinations(&r, &alert("rm", 10));
        assert!(d.alert_log);
    }

    #[test]
    fn override_mail_needs_mail_settings() {
        let r = routing(vec![route("rc", 10, [true, true, true, false], &[])], false);
        assert!(!destinations(&r, &alert("rc", 10)).mail);
    }

    #[test]
    fn commands_only_with_altexec() {
        let r = routing(
            vec![
                route("rc", 10, [true, true, false, true], &["echo a", "echo b"]),
                route("rc", 11, [true, true, false, false], &["echo c"]),
            ],
            false,
        );
        assert_eq!(
            destinations(&r, &alert("rc", 10)).commands,
            vec!["echo a".to_string(), "echo b".to_string()]
        );
        assert!(destinations(&r, &alert("rc", 11)).commands.is_empty());
    }

    #[test]
    fn command_spec_runs_sh_with_the_fields() {
        let a = Alert::new(
            "n1",
            "rc",
            12,
            Level::Error,
            "Activating group g has failed.",
        );
        let spec = command_spec(
            "echo hi",
            &a,
            &HostInfo::default(),
            PathBuf::from("/"),
            Duration::from_secs(7),
        );
        assert_eq!(spec.program, PathBuf::from("/bin/sh"));
        assert_eq!(spec.args, vec!["-c".to_string(), "echo hi".into()]);
        assert_eq!(spec.timeout, Some(Duration::from_secs(7)));
        let env: std::collections::HashMap<_, _> = spec.env.into_iter().collect();
        assert_eq!(env["CLP_ALERT_SERVER"], "n1");
        assert_eq!(env["CLP_ALERT_MODULE"], "rc");
        assert_eq!(env["CLP_ALERT_EVENT_ID"], "12");
        assert_eq!(env["CLP_ALERT_LEVEL"], "Error");
        assert_eq!(env["CLP_ALERT_MESSAGE"], "Activating group g has failed.");
        assert_eq!(env["CLP_ALERT_TIME"], a.time);
        assert!(env.contains_key("CLP_VERSION_FULL"));
        // 0 means the default.
        let spec = command_spec(
            "x",
            &a,
            &HostInfo::default(),
            PathBuf::from("/"),
            Duration::ZERO,
        );
        assert_eq!(spec.timeout, Some(DEFAULT_COMMAND_TIMEOUT));
    }

    #[test]
    fn the_first_of_duplicate_overrides_wins() {
        let r = routing(
            vec![
                route("rc", 10, [false, true, false, false], &[]),
                route("rc", 10, [true, false, false, false], &[]),
            ],
            false,
        );
        let d = destinations(&r, &alert("rc", 10));
        assert!(!d.alert_log && d.syslog);
    }
}
