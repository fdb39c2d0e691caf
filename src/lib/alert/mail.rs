//! Alerts by mail: a minimal, synchronous SMTP client (RFC 5321) and the bounded
//! background sending the daemon uses ([`Mailer`]).
//!
//! One mail per alert, to every `cluster/mail/address` recipient, through the
//! `cluster/mail/smtp/smtpsrv` servers in priority order: the first server that
//! accepts the mail for at least one recipient ends the attempt. With no server
//! configured, `localhost:25` with sender [`DEFAULT_SENDER`] is used.
//!
//! The conversation: greeting `220`; `EHLO <server name>` (falling back to
//! `HELO` when EHLO is refused); `AUTH LOGIN` (or `AUTH PLAIN` when the server
//! offers only PLAIN) when the server entry has `auth` 1 and a user name;
//! `MAIL FROM:<sender>`; `RCPT TO:<r>` for each recipient (rejected recipients
//! are reported, the others still get the mail); `DATA` with the dot-stuffed
//! message; `QUIT`. No TLS: credentials travel in clear, so use a local relay or
//! a server on a trusted network.
//!
//! Timeouts: connecting to each address, every read and every write are bounded,
//! and a whole conversation with one server may take at most the timeout given to
//! [`send`] ([`DEFAULT_TIMEOUT`], 30 s, in the daemon). Replies longer than
//! [`MAX_REPLY_LINE`] bytes or [`MAX_REPLY_LINES`] lines end the conversation.
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

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Local, TimeZone};

use super::alertlog::Alert;
use crate::error::ClpError;
use crate::model::{MailSettings, SmtpServer};

/// The server used when `cluster/mail/smtp` lists none.
pub const DEFAULT_HOST: &str = "localhost";
pub const DEFAULT_PORT: u16 = 25;
/// The envelope and `From:` sender when no server is configured.
pub const DEFAULT_SENDER: &str = "clp@localhost";
/// How long one conversation with one server may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Mails the daemon sends at the same time; more are dropped (and logged).
pub const MAX_IN_FLIGHT: usize = 8;
/// Longest reply line accepted from a server.
pub const MAX_REPLY_LINE: u64 = 4096;
/// Most lines of one (multi-line) reply.
pub const MAX_REPLY_LINES: usize = 100;

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

/// `text` as the DATA block: CRLF line ends, lines starting with `.` doubled,
/// ended by `CRLF.CRLF`.
pub fn data_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    // `lines` takes `\n` and `\r\n` ends and yields no empty piece after a last `\n`.
    for line in text.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
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
        }]
    } else {
        settings.servers.clone()
    }
}

/// Sends the mail for `alert`, trying each server in order. Blocks for up to
/// `timeout` per server: call it off the daemon's loop ([`Mailer`]).
pub fn send(settings: &MailSettings, alert: &Alert, timeout: Duration) -> Result<Sent, ClpError> {
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
        match send_via(&server, &settings.recipients, &text, &helo, timeout) {
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

/// One SMTP conversation. Returns the rejected recipients.
fn send_via(
    server: &SmtpServer,
    recipients: &[String],
    text: &str,
    helo: &str,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let deadline = Instant::now() + timeout;
    let mut smtp = Smtp::connect(&server.host, server.port, deadline)?;
    smtp.expect(&[220], "greeting")?;
    let caps = match smtp.command(&format!("EHLO {helo}"), &[250]) {
        Ok(lines) => lines,
        Err(_) => smtp.command(&format!("HELO {helo}"), &[250])?,
    };
    if let Some(user) = server.username.as_deref().filter(|u| !u.is_empty()) {
        let password = server.password.as_deref().unwrap_or("");
        let auth: Vec<String> = caps
            .iter()
            .filter_map(|l| {
                let l = l.to_ascii_uppercase();
                l.strip_prefix("AUTH").map(str::to_string)
            })
            .collect();
        let offers = |m: &str| auth.iter().any(|a| a.split([' ', '=']).any(|w| w == m));
        if !offers("LOGIN") && offers("PLAIN") {
            let token = BASE64.encode(format!("\0{user}\0{password}").as_bytes());
            smtp.command_secret(
                &format!("AUTH PLAIN {token}"),
                "AUTH PLAIN <credentials>",
                &[235],
            )?;
        } else {
            smtp.command("AUTH LOGIN", &[334])?;
            smtp.command_secret(&BASE64.encode(user.as_bytes()), "<user name>", &[334])?;
            smtp.command_secret(&BASE64.encode(password.as_bytes()), "<password>", &[235])?;
        }
    }
    smtp.command(
        &format!("MAIL FROM:<{}>", bare_address(&server.sender)),
        &[250],
    )?;
    let mut rejected = Vec::new();
    let mut accepted = 0;
    for r in recipients {
        match smtp.command(&format!("RCPT TO:<{}>", bare_address(r)), &[250, 251]) {
            Ok(_) => accepted += 1,
            Err(e) => rejected.push(format!("{r} ({e})")),
        }
    }
    if accepted == 0 {
        let _ = smtp.command("QUIT", &[221]);
        return Err(format!(
            "every recipient was refused: {}",
            rejected.join(", ")
        ));
    }
    smtp.command("DATA", &[354])?;
    smtp.write(&data_block(text))?;
    smtp.expect(&[250], "end of data")?;
    // The mail is accepted; a failing QUIT changes nothing.
    let _ = smtp.command("QUIT", &[221]);
    Ok(rejected)
}

/// A connection to an SMTP server with a deadline for the whole conversation.
struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    deadline: Instant,
}

impl Smtp {
    fn connect(host: &str, port: u16, deadline: Instant) -> Result<Smtp, String> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let mut last = format!("{host} has no address");
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("timed out".into());
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    let writer = stream
                        .try_clone()
                        .map_err(|e| format!("cannot use the connection: {e}"))?;
                    return Ok(Smtp {
                        reader: BufReader::new(stream),
                        writer,
                        deadline,
                    });
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    /// The time left, applied to the socket; an error once the deadline passed.
    fn arm(&self) -> Result<(), String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        self.writer
            .set_read_timeout(Some(left))
            .and_then(|()| self.writer.set_write_timeout(Some(left)))
            .map_err(|e| format!("cannot set a timeout: {e}"))
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        self.arm()?;
        self.writer
            .write_all(text.as_bytes())
            .and_then(|()| self.writer.flush())
            .map_err(|e| io_text("cannot write", &e))
    }

    /// Reads one reply; its code must be one of `ok`. Returns the text of its lines.
    fn expect(&mut self, ok: &[u16], what: &str) -> Result<Vec<String>, String> {
        let mut lines = Vec::new();
        loop {
            self.arm()?;
            let mut raw = Vec::new();
            (&mut self.reader)
                .take(MAX_REPLY_LINE)
                .read_until(b'\n', &mut raw)
                .map_err(|e| io_text(&format!("no reply to {what}"), &e))?;
            if raw.is_empty() {
                return Err(format!(
                    "the server closed the connection (waiting for {what})"
                ));
            }
            if !raw.ends_with(b"\n") {
                return Err(format!("a reply line to {what} is too long"));
            }
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| format!("bad reply to {what}: {line:?}"))?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if last {
                return if ok.contains(&code) {
                    Ok(lines)
                } else {
                    Err(format!("{what}: {line}"))
                };
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(format!("the reply to {what} has too many lines"));
            }
        }
    }

    fn command(&mut self, cmd: &str, ok: &[u16]) -> Result<Vec<String>, String> {
        self.write(&format!("{cmd}\r\n"))?;
        self.expect(ok, cmd)
    }

    /// A command whose text must not appear in errors.
    fn command_secret(
        &mut self,
        cmd: &str,
        shown: &str,
        ok: &[u16],
    ) -> Result<Vec<String>, String> {
        self.write(&format!("{cmd}\r\n"))?;
        self.expect(ok, shown)
    }
}

fn io_text(what: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!("{what}: timed out"),
        _ => format!("{what}: {e}"),
    }
}

/// The daemon's mail destination: each mail is sent on its own thread, with at
/// most [`MAX_IN_FLIGHT`] at a time; beyond that a mail is dropped and the
/// caller told so.
#[derive(Debug, Clone)]
pub struct Mailer {
    in_flight: Arc<AtomicUsize>,
    max: usize,
    timeout: Duration,
}

impl Default for Mailer {
    fn default() -> Self {
        Mailer::new(MAX_IN_FLIGHT, DEFAULT_TIMEOUT)
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
    pub fn new(max: usize, timeout: Duration) -> Mailer {
        Mailer {
            in_flight: Arc::new(AtomicUsize::new(0)),
            max: max.max(1),
            timeout,
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
        let timeout = self.timeout;
        std::thread::Builder::new()
            .name("mail".into())
            .spawn(move || {
                let _slot = slot;
                done(send(&settings, &alert, timeout));
            })
            .map(|_| ())
            .map_err(|e| ClpError::failed(format!("cannot start a mail thread: {e}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::alert::Level;
    use std::net::TcpListener;
    use std::sync::mpsc;

    fn settings(servers: Vec<SmtpServer>) -> MailSettings {
        MailSettings {
            recipients: vec!["ops@example.com".into(), "bad@example.com".into()],
            subject: "CLUSTERPRO".into(),
            servers,
        }
    }

    fn server(port: u16, user: Option<&str>) -> SmtpServer {
        SmtpServer {
            host: "127.0.0.1".into(),
            port,
            sender: "clp@example.com".into(),
            username: user.map(str::to_string),
            password: Some("s3cret".into()),
        }
    }

    fn alert() -> Alert {
        let when = Local.with_ymd_and_hms(2024, 3, 5, 3, 4, 5).unwrap();
        Alert::at(
            when,
            "n1",
            "rc",
            12,
            Level::Error,
            "Activating group g has failed.",
        )
    }

    /// What a sink saw: every command line and the DATA text (undotted).
    #[derive(Debug, Default)]
    struct Seen {
        commands: Vec<String>,
        data: String,
    }

    /// A one-connection SMTP sink on 127.0.0.1. `auth` is the capability line it
    /// offers; `refuse_ehlo` answers EHLO with 502; RCPT to `bad@…` is refused.
    fn sink(auth: &'static str, refuse_ehlo: bool) -> (u16, mpsc::Receiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut out = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut seen = Seen::default();
            out.write_all(b"220 sink ready\r\n").unwrap();
            let mut line = String::new();
            let mut in_auth = 0;
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                let cmd = line.trim_end().to_string();
                seen.commands.push(cmd.clone());
                let upper = cmd.to_ascii_uppercase();
                let reply: String = if in_auth > 0 {
                    in_auth -= 1;
                    if in_auth == 0 {
                        "235 ok\r\n"
                    } else {
                        "334 UGFzc3dvcmQ6\r\n"
                    }
                    .into()
                } else if upper.starts_with("EHLO") {
                    if refuse_ehlo {
                        "502 no\r\n".into()
                    } else {
                        format!("250-sink\r\n250-{auth}\r\n250 8BITMIME\r\n")
                    }
                } else if upper.starts_with("HELO") {
                    "250 sink\r\n".into()
                } else if upper == "AUTH LOGIN" {
                    in_auth = 2;
                    "334 VXNlcm5hbWU6\r\n".into()
                } else if upper.starts_with("AUTH PLAIN") {
                    "235 ok\r\n".into()
                } else if upper.starts_with("RCPT") && upper.contains("BAD@") {
                    "550 no such user\r\n".into()
                } else if upper == "DATA" {
                    out.write_all(b"354 go on\r\n").unwrap();
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        reader.read_line(&mut l).unwrap();
                        if l == ".\r\n" {
                            break;
                        }
                        let l = l.strip_prefix('.').unwrap_or(&l);
                        data.push_str(l);
                    }
                    seen.data = data;
                    "250 queued\r\n".into()
                } else if upper == "QUIT" {
                    out.write_all(b"221 bye\r\n").unwrap();
                    break;
                } else {
                    "250 ok\r\n".into()
                };
                out.write_all(reply.as_bytes()).unwrap();
            }
            let _ = tx.send(seen);
        });
        (port, rx)
    }

    #[test]
    fn dot_stuffing_and_crlf() {
        assert_eq!(data_block("a\n.b\n..c\n"), "a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(data_block("a\r\nb"), "a\r\nb\r\n.\r\n");
        assert_eq!(data_block(".\n"), "..\r\n.\r\n");
    }

    #[test]
    fn subject_and_headers() {
        let s = settings(Vec::new());
        assert_eq!(subject(&s, &alert()), "CLUSTERPRO: Error rc 12 (n1)");
        let m = message(&s, "clp@example.com", &alert());
        assert!(m.contains("\nFrom: clp@example.com\n"), "{m}");
        assert!(
            m.contains("\nTo: ops@example.com, bad@example.com\n"),
            "{m}"
        );
        assert!(
            m.contains("\nSubject: CLUSTERPRO: Error rc 12 (n1)\n"),
            "{m}"
        );
        assert!(m.starts_with("Date: Tue, 5 Mar 2024 03:04:05 "), "{m}");
        assert!(m.contains("\n\nServer:   n1\n"), "{m}");
        assert!(
            m.contains("Message:  Activating group g has failed.\n"),
            "{m}"
        );
        // A header cannot be injected through the subject.
        let mut evil = s.clone();
        evil.subject = "x\r\nBcc: victim@example.com".into();
        assert!(!message(&evil, "a@b", &alert()).contains("\nBcc:"));
        // Non-ASCII subjects are encoded words.
        evil.subject = "障害".into();
        assert!(message(&evil, "a@b", &alert()).contains("Subject: =?UTF-8?B?"));
    }

    #[test]
    fn mail_reaches_a_sink_with_auth_login() {
        let (port, rx) = sink("AUTH LOGIN PLAIN", false);
        let s = settings(vec![server(port, Some("alice"))]);
        let sent = send(&s, &alert(), Duration::from_secs(10)).unwrap();
        assert_eq!(sent.server, format!("127.0.0.1:{port}"));
        assert_eq!(sent.rejected.len(), 1);
        assert!(sent.rejected[0].starts_with("bad@example.com"));
        let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            seen.commands,
            vec![
                "EHLO n1".to_string(),
                "AUTH LOGIN".into(),
                BASE64.encode(b"alice"),
                BASE64.encode(b"s3cret"),
                "MAIL FROM:<clp@example.com>".into(),
                "RCPT TO:<ops@example.com>".into(),
                "RCPT TO:<bad@example.com>".into(),
                "DATA".into(),
                "QUIT".into(),
            ]
        );
        assert!(
            seen.data
                .contains("Subject: CLUSTERPRO: Error rc 12 (n1)\r\n")
        );
        assert!(seen.data.contains("Event ID: 12\r\n"));
    }

    #[test]
    fn auth_plain_when_only_plain_is_offered_and_helo_fallback() {
        let (port, rx) = sink("AUTH PLAIN", false);
        let s = settings(vec![server(port, Some("alice"))]);
        send(&s, &alert(), Duration::from_secs(10)).unwrap();
        let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            seen.commands[1],
            format!("AUTH PLAIN {}", BASE64.encode(b"\0alice\0s3cret"))
        );

        let (port, rx) = sink("AUTH LOGIN", true);
        let s = settings(vec![server(port, None)]);
        send(&s, &alert(), Duration::from_secs(10)).unwrap();
        let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            &seen.commands[..3],
            &["EHLO n1", "HELO n1", "MAIL FROM:<clp@example.com>"]
        );
    }

    #[test]
    fn servers_are_tried_in_order() {
        // A port nobody listens on: bind, note the port, close.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (port, rx) = sink("AUTH LOGIN", false);
        let s = settings(vec![server(dead, None), server(port, None)]);
        let sent = send(&s, &alert(), Duration::from_secs(10)).unwrap();
        assert_eq!(sent.server, format!("127.0.0.1:{port}"));
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Only dead servers: an error naming them, no panic.
        let err = send(
            &settings(vec![server(dead, None)]),
            &alert(),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(
            err.message.contains(&format!("127.0.0.1:{dead}")),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts (backlog) but never greets.
        let started = Instant::now();
        let err = send(
            &settings(vec![server(port, None)]),
            &alert(),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(err.message.contains("timed out"), "{}", err.message);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(listener);
    }

    #[test]
    fn the_mailer_bounds_mails_in_flight() {
        // Silent servers keep mails in flight until their timeout.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = settings(vec![server(port, None)]);
        let mailer = Mailer::new(2, Duration::from_millis(500));
        let (tx, rx) = mpsc::channel();
        for _ in 0..2 {
            let tx = tx.clone();
            mailer
                .dispatch(&s, &alert(), move |r| {
                    let _ = tx.send(r.is_ok());
                })
                .unwrap();
        }
        let err = mailer.dispatch(&s, &alert(), |_| {}).unwrap_err();
        assert!(err.message.contains("dropped"), "{}", err.message);
        for _ in 0..2 {
            assert!(!rx.recv_timeout(Duration::from_secs(10)).unwrap());
        }
        // Both slots are free again once the threads ended.
        let deadline = Instant::now() + Duration::from_secs(5);
        while mailer.in_flight() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(mailer.in_flight(), 0);
        drop(listener);
    }
}
