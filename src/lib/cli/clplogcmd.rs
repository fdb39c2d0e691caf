//! `clplogcmd`: write a message from a script to the alert log, syslog or mail
//! (CLUSTERPRO's command, reference §1.7).
//!
//! The message becomes an alert of module `logcmd` with the event id of `-i`
//! (default 1) and the level of `-l` (default INFO). Without a destination flag
//! it goes to the alert log and syslog, CLUSTERPRO's default. clpd is not needed:
//! the alert log is appended directly (the same locking as clpd's writer), with
//! the capacity of the installed configuration
//! (`webalert/main/alertlog/maxrecordcount`, default 10000); syslog and mail use
//! the installed configuration's settings too (`clp/syslog/socket`,
//! `cluster/syslog/format/level`, `cluster/mail`).
//!
//! Outcome: with explicit destinations, each must succeed; with the default
//! ones, one is enough (a failure of the other is a warning), so a host without
//! a syslog socket still gets the alert log entry and exit 0. `--trap` (SNMP) is
//! accepted and not supported: a warning says nothing was sent.

use clap::Parser;

use super::{Ctx, Program, local_server_name};
use crate::alert::catalog::LOGCMD_MODULE;
use crate::alert::{Alert, AlertLog, DEFAULT_MAX_RECORDS, Level, mail, syslog};
use crate::config;
use crate::error::{ClpError, ErrorKind, Result};
use crate::model::AlertRouting;
use crate::paths::Paths;

/// The longest message accepted, in bytes (CLUSTERPRO's limit).
pub const MAX_MESSAGE_BYTES: usize = 511;

/// Write a message to the alert log, syslog or mail (from scripts).
#[derive(Debug, Parser)]
#[command(name = "clplogcmd", version)]
pub struct Args {
    /// The message (at most 511 bytes)
    #[arg(short = 'm', value_name = "MESSAGE")]
    pub message: String,
    /// Level: INFO, WARN or ERR (case-insensitive; I, INF, W, WAR, WARNING, E, ERROR accepted)
    #[arg(short = 'l', value_name = "LEVEL", default_value = "INFO", value_parser = parse_level)]
    pub level: Level,
    /// Event id of the alert (module logcmd)
    #[arg(short = 'i', value_name = "ID", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub id: u32,
    /// Send to syslog
    #[arg(long)]
    pub syslog: bool,
    /// Write to the alert log
    #[arg(long)]
    pub alert: bool,
    /// Send by mail (cluster/mail in clp.conf)
    #[arg(long)]
    pub mail: bool,
    /// Send an SNMP trap (accepted; not supported by this version)
    #[arg(long)]
    pub trap: bool,
}

/// Parses a level as CLUSTERPRO's commands accept it: `INFO`, `WARN`, `ERR` in
/// any case, and the abbreviations `I`/`INF`, `W`/`WAR`/`WARNING`, `E`/`ERROR`.
pub fn parse_level(text: &str) -> std::result::Result<Level, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "i" | "inf" | "info" => Ok(Level::Info),
        "w" | "war" | "warn" | "warning" => Ok(Level::Warning),
        "e" | "err" | "error" => Ok(Level::Error),
        _ => Err(format!(
            "unknown level {text:?}: use INFO, WARN or ERR (any case; I, INF, W, WAR, WARNING, E, ERROR are accepted too)"
        )),
    }
}

/// What the installed configuration says about alerts.
struct Settings {
    max_records: usize,
    routing: Option<AlertRouting>,
}

/// The alert settings of the installed configuration; the default configuration
/// clpd runs when none is installed; built-in defaults when it is unreadable.
fn settings(paths: &Paths, local: &str) -> (Settings, Option<String>) {
    let file = paths.config_file();
    let cluster = if file.exists() {
        let label = file.display().to_string();
        match config::check_file(&file, None, Some(local), &label) {
            Ok(checked) => match checked.cluster {
                Some(c) => Ok(c),
                None => Err(format!(
                    "{label} is invalid: using the default settings (alert log capacity {DEFAULT_MAX_RECORDS})"
                )),
            },
            Err(e) => Err(format!("{e}: using the default settings")),
        }
    } else {
        crate::config::default_config::default_config(local)
            .map(|(_, c)| c)
            .map_err(|e| format!("{e}: using the default settings"))
    };
    match cluster {
        Ok(c) => (
            Settings {
                max_records: usize::try_from(c.settings.alert_log_max_records)
                    .unwrap_or(DEFAULT_MAX_RECORDS),
                routing: Some(c.settings.alerts),
            },
            None,
        ),
        Err(why) => (
            Settings {
                max_records: DEFAULT_MAX_RECORDS,
                routing: None,
            },
            Some(why),
        ),
    }
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let len = self.message.len();
        if len > MAX_MESSAGE_BYTES {
            return Err(ClpError::usage(format!(
                "-m: the message is {len} bytes long; clplogcmd accepts at most {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        if self.message.trim().is_empty() {
            return Err(ClpError::usage("-m: the message is empty"));
        }
        let explicit = self.syslog || self.alert || self.mail || self.trap;
        let (to_alert, to_syslog) = if explicit {
            (self.alert, self.syslog)
        } else {
            (true, true)
        };
        let local = local_server_name().unwrap_or_else(|| "localhost".into());
        let (settings, note) = settings(&ctx.paths, &local);
        if let Some(note) = note {
            ctx.warn(&note);
        }
        let alert = Alert::new(&local, LOGCMD_MODULE, self.id, self.level, &self.message);

        let mut delivered = 0;
        let mut failed: Vec<ClpError> = Vec::new();
        if to_alert {
            let mut log = AlertLog::new(&ctx.paths, settings.max_records);
            match log.append(&alert) {
                Ok(()) => delivered += 1,
                // AlertLog::append's "alert written, but ... could not be trimmed":
                // the message is in the log, only the cap was not applied.
                Err(e) if e.message.starts_with("alert written") => {
                    delivered += 1;
                    ctx.warn(&e.message);
                }
                Err(e) => failed.push(ClpError::new(e.kind, format!("alert log: {}", e.message))),
            }
        }
        if to_syslog {
            match send_syslog(&ctx.paths, settings.routing.as_ref(), &alert) {
                Ok(()) => delivered += 1,
                Err(e) => failed.push(ClpError::new(e.kind, format!("syslog: {}", e.message))),
            }
        }
        if self.mail {
            let mail = settings.routing.as_ref().and_then(|r| r.mail.as_ref());
            match mail {
                None => ctx.warn(
                    "--mail: no mail is configured (cluster/mail/address in clp.conf); no mail sent",
                ),
                Some(m) => match mail::send(m, &alert, &ctx.paths) {
                    Ok(sent) => {
                        delivered += 1;
                        if !sent.rejected.is_empty() {
                            ctx.warn(&format!(
                                "--mail: {} refused {}",
                                sent.server,
                                sent.rejected.join(", ")
                            ));
                        }
                    }
                    Err(e) => failed.push(ClpError::new(e.kind, format!("mail: {}", e.message))),
                },
            }
        }
        if self.trap {
            ctx.warn("--trap: SNMP traps are not supported by this version; no trap sent");
        }

        // Explicit destinations must all work; the default pair needs one.
        let fatal = if explicit {
            !failed.is_empty()
        } else {
            delivered == 0
        };
        if !fatal {
            for e in &failed {
                ctx.warn(&e.message);
            }
            return Ok(0);
        }
        let kind = failed.first().map_or(ErrorKind::Failed, |e| e.kind);
        let text: Vec<String> = failed.into_iter().map(|e| e.message).collect();
        Err(ClpError::new(
            kind,
            format!("the message was not written: {}", text.join("; ")),
        ))
    }
}

/// Sends `alert` to the configured syslog socket (`/dev/log`, under the root
/// when it is relocated), with the level word when `cluster/syslog/format/level`
/// says so (the default).
fn send_syslog(paths: &Paths, routing: Option<&AlertRouting>, alert: &Alert) -> Result<()> {
    let (socket, with_level) = match routing {
        Some(r) => (syslog::socket_path(paths, r), r.syslog_level),
        None => (
            crate::daemon::script::under_root(paths, syslog::DEFAULT_SOCKET),
            true,
        ),
    };
    syslog::send(&socket, alert, with_level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        for (t, l) in [
            ("INFO", Level::Info),
            ("info", Level::Info),
            ("I", Level::Info),
            ("Inf", Level::Info),
            ("warn", Level::Warning),
            ("WAR", Level::Warning),
            ("w", Level::Warning),
            ("Warning", Level::Warning),
            ("ERR", Level::Error),
            ("error", Level::Error),
            ("e", Level::Error),
        ] {
            assert_eq!(parse_level(t), Ok(l), "{t}");
        }
        assert!(
            parse_level("fatal")
                .unwrap_err()
                .contains("INFO, WARN or ERR")
        );
        assert!(parse_level("").is_err());
    }
}
