//! Alerts by mail: the message clp sends for an alert, the servers it tries,
//! and the bounded background sending the daemon uses ([`Mailer`]).
//!
//! One mail per alert, to every `cluster/mail/address` recipient, through the
//! `cluster/mail/smtp/smtpsrv` servers in priority order: the first server that
//! accepts the mail for at least one recipient ends the attempt. With no server
//! configured, `localhost:25` with sender [`DEFAULT_SENDER`] is used.
//!
//! The conversation with one server is [`super::smtp`]'s (lettre's client, with
//! STARTTLS, TLS from the first byte and AUTH LOGIN/PLAIN as the server's `tls`
//! and `authmethod` say). It may take at most `cluster/mail/smtp/timeout`
//! (default 30 s) per server.
//!
//! The message ([`message`]):
//!
//! ```text
//! Date: Tue, 5 Mar 2024 03:04:05 +0900
//! From: clp@example.com
//! To: ops@example.com, oncall@example.com
//! Subject: CLUSTERPRO: Error rc 12 (n1)
//! Message-ID: <1709575445000.1234.1@n1>
//! MIME-Version: 1.0
//! Content-Type: text/plain; charset=UTF-8
//! Content-Transfer-Encoding: 8bit
//!
//! Server:   n1
//! Time:     2024/03/05 03:04:05.000
//! Module:   rc
//! Event ID: 12
//! Level:    Error
//! Message:  Activating group g has failed.
//! ```
//!
//! The subject is `cluster/mail/subject` (default `CLUSTERPRO`) followed by
//! `: <Level> <module> <event id> (<server>)`; a subject that is not ASCII is
//! sent as an RFC 2047 encoded word.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Local, TimeZone};

use super::alertlog::Alert;
use super::smtp::{self, Letter};
use crate::error::ClpError;
use crate::host::under_root;
use crate::model::{MailSettings, SmtpServer};
use crate::paths::Paths;

/// The server used when `cluster/mail/smtp` lists none.
pub const DEFAULT_HOST: &str = "localhost";
pub const DEFAULT_PORT: u16 = 25;
/// The envelope and `From:` sender when no server is configured.
pub const DEFAULT_SENDER: &str = "clp@localhost";
/// Mails the daemon sends at the same time; more are dropped (and logged).
pub const MAX_IN_FLIGHT: usize = 8;

/// The subject of the mail for `alert`.
pub fn subject(settings: &MailSettings, alert: &Alert) -> String {
    let base = one_line(&settings.subject);
    let base = if base.trim().is_empty() {
        "CLUSTERPRO".to_string()
    } else {
        base
    };
    format!(
        "{base}: {} {} {} ({})",
        alert.level,
        one_line(&alert.module),
        alert.event_id,
        one_line(&alert.server)
    )
}

/// The body: one `Field: value` line per alert field.
pub fn body(alert: &Alert) -> String {
    format!(
        "Server:   {}\nTime:     {}\nModule:   {}\nEvent ID: {}\nLevel:    {}\nMessage:  {}\n",
        one_line(&alert.server),
        alert.time,
        one_line(&alert.module),
        alert.event_id,
        alert.level,
        one_line(&alert.message)
    )
}

/// The whole message (headers and body, `\n` line ends) from `sender`.
pub fn message(settings: &MailSettings, sender: &str, alert: &Alert) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let when: DateTime<Local> = Local
        .timestamp_millis_opt(alert.unix_ms)
        .single()
        .unwrap_or_else(Local::now);
    let subject = subject(settings, alert);
    let subject = if subject.is_ascii() {
        subject
    } else {
        format!("=?UTF-8?B?{}?=", BASE64.encode(subject.as_bytes()))
    };
    let to: Vec<String> = settings.recipients.iter().map(|r| one_line(r)).collect();
    let host = one_line(&alert.server);
    format!(
        "Date: {}\nFrom: {}\nTo: {}\nSubject: {subject}\nMessage-ID: <{}.{}.{}@{}>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n{}",
        when.to_rfc2822(),
        one_line(sender),
        to.join(", "),
        alert.unix_ms,
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        if host.is_empty() { "localhost" } else { &host },
        body(alert)
    )
}

/// Header values must stay on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The address inside `Name <addr>`, or the trimmed text.
fn bare_address(s: &str) -> String {
    let s = one_line(s);
    match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].trim().to_string(),
        _ => s.trim().to_string(),
    }
}

/// Where a mail went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `host:port` of the server that took it.
    pub server: String,
    /// Recipients the server refused (the others got the mail).
    pub rejected: Vec<String>,
}

/// The servers to try: the configured ones, or `localhost:25`.
pub fn servers(settings: &MailSettings) -> Vec<SmtpServer> {
    if settings.servers.is_empty() {
        vec![SmtpServer {
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
            sender: DEFAULT_SENDER.into(),
            username: None,
            password: None,
            auth_method: Default::default(),
            security: Default::default(),
            ca_file: None,
        }]
    } else {
        settings.servers.clone()
    }
}

/// Sends the mail for `alert`, trying each server in order. Blocks for up to
/// the configured timeout per server: call it off the daemon's loop
/// ([`Mailer`]). `paths` places a `cafile` under a relocated root.
pub fn send(settings: &MailSettings, alert: &Alert, paths: &Paths) -> Result<Sent, ClpError> {
    if settings.recipients.is_empty() {
        return Err(ClpError::config(
            "cluster/mail/address names no recipient: no mail sent",
        ));
    }
    let helo = if alert.server.trim().is_empty() {
        "localhost".to_string()
    } else {
        bare_address(&alert.server)
    };
    let mut failures = Vec::new();
    for server in servers(settings) {
        let text = message(settings, &server.sender, alert);
        let ca_file = server.ca_file.as_deref().map(|f| under_root(paths, f));
        let letter = Letter {
            helo: &helo,
            recipients: &settings.recipients,
            text: &text,
            ca_file: ca_file.as_deref(),
            timeout: settings.timeout,
        };
        match smtp::deliver(&server, &letter) {
            Ok(rejected) => {
                return Ok(Sent {
                    server: format!("{}:{}", server.host, server.port),
                    rejected,
                });
            }
            Err(e) => failures.push(format!("{}:{}: {e}", server.host, server.port)),
        }
    }
    Err(ClpError::failed(format!(
        "cannot mail alert {} {} to {}: {}",
        alert.module,
        alert.event_id,
        settings.recipients.join(", "),
        failures.join("; ")
    )))
}

/// The daemon's mail destination: each mail is sent on its own thread, with at
/// most [`MAX_IN_FLIGHT`] at a time; beyond that a mail is dropped and the
/// caller told so.
#[derive(Debug, Clone)]
pub struct Mailer {
    in_flight: Arc<AtomicUsize>,
    max: usize,
}

impl Default for Mailer {
    fn default() -> Self {
        Mailer::new(MAX_IN_FLIGHT)
    }
}

/// Decrements the in-flight count when a sending thread ends (however it ends).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Mailer {
    pub fn new(max: usize) -> Mailer {
        Mailer {
            in_flight: Arc::new(AtomicUsize::new(0)),
            max: max.max(1),
        }
    }

    /// Mails being sent now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Starts sending the mail for `alert` on a new thread and returns at once.
    /// `done` is called on that thread with the outcome. An error means the mail
    /// was not started (too many in flight, or no thread).
    pub fn dispatch(
        &self,
        settings: &MailSettings,
        alert: &Alert,
        paths: &Paths,
        done: impl FnOnce(Result<Sent, ClpError>) + Send + 'static,
    ) -> Result<(), ClpError> {
        let reserved = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(ClpError::failed(format!(
                "{} mails are already being sent: the mail for alert {} {} is dropped",
                self.max, alert.module, alert.event_id
            )));
        }
        let slot = Slot(self.in_flight.clone());
        let settings = settings.clone();
        let alert = alert.clone();
        let paths = paths.clone();
        std::thread::Builder::new()
            .name("mail".into())
            .spawn(move || {
                let _slot = slot;
                done(send(&settings, &alert, &paths));
            })
            .map(|_| ())
            .map_err(|e| ClpError::failed(format!("cannot start a mail thread: {e}")))
    }
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
