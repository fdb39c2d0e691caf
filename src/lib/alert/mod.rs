//! Alerts: CLUSTERPRO's message catalog and the alert log.
//!
//! This module owns
//! * [`catalog`]: the static table of `(module, event id, level, template)` with
//!   CLUSTERPRO's texts (`rm 9 Detected an error in monitoring %1. (%2 : %3)`), and
//!   [`format()`] / [`lookup`] over it;
//! * [`alertlog`]: the [`Alert`] record and the capped, crash-tolerant, append-only
//!   alert log `var/log/clp/alert.log` ([`AlertLog`], [`read_alerts`]);
//! * [`route`]: which destinations one alert goes to (`<messages>` overrides,
//!   else the catalog's [`catalog::Entry::alert`] / [`catalog::Entry::syslog`]
//!   defaults, mail for Error-level alerts when `cluster/mail` is set);
//! * [`syslog`]: the RFC 3164 datagram to the local syslog socket
//!   (`clusterpro: ERROR <type: rm><event: 9> ...`);
//! * [`mail`]: the mail for an alert, sent through the configured SMTP servers
//!   in order (`smtp`: lettre's client with STARTTLS, TLS and AUTH), and the
//!   bounded background [`Mailer`];
//! * [`writer`]: the daemon's alert-log thread behind a bounded queue;
//!   [`syslog_writer`]: its syslog thread, likewise.
//!
//! Module logs (`<module>.log.cur`) live in [`crate::log`]; the daemon runs the
//! alert extension commands (`altexec`) through its executor.
//! Nothing here panics on I/O failure: errors are returned for the daemon to
//! report once.

pub mod alertlog;
pub mod catalog;
pub mod mail;
pub mod route;
mod smtp;
pub mod syslog;
pub mod syslog_writer;
mod tail;
pub mod writer;

pub use alertlog::{
    ALERT_LOG_FILE, Alert, AlertLog, DEFAULT_MAX_RECORDS, alert_log_path, newest_alerts,
    read_alerts,
};
pub use catalog::{CATALOG, Entry, Level, format, lookup};
pub use mail::Mailer;
pub use route::{Destinations, destinations};
pub use syslog::SyslogSender;
pub use syslog_writer::SyslogWriter;
pub use writer::AlertWriter;
