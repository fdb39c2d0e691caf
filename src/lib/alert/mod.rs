//! Alerts: CLUSTERPRO's message catalog and the alert log.
//!
//! This module owns
//! * [`catalog`]: the static table of `(module, event id, level, template)` with
//!   CLUSTERPRO's texts (`rm 9 Detected an error in monitoring %1. (%2 : %3)`), and
//!   [`format()`] / [`lookup`] over it;
//! * [`alertlog`]: the [`Alert`] record and the capped, crash-tolerant, append-only
//!   alert log `var/log/clp/alert.log` ([`AlertLog`], [`read_alerts`]).
//!
//! Module logs (`<module>.log.cur`) live in [`crate::log`]; syslog and mail
//! routing use [`catalog::Entry::alert`] / [`catalog::Entry::syslog`] as defaults.
//! Nothing here panics on I/O failure: errors are returned for the daemon to
//! report once.

pub mod alertlog;
pub mod catalog;

pub use alertlog::{
    ALERT_LOG_FILE, Alert, AlertLog, DEFAULT_MAX_RECORDS, alert_log_path, read_alerts,
};
pub use catalog::{CATALOG, Entry, Level, format, lookup};
