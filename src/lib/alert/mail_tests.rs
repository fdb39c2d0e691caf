//! The message text and the conversation as a scripted SMTP server on
//! 127.0.0.1 sees it (command by command). TLS and real servers: `tests/it/mail.rs`.

use super::*;
use crate::alert::Level;
use crate::model::{AuthMethod, SmtpSecurity};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Local, TimeZone};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn settings(servers: Vec<SmtpServer>) -> MailSettings {
    MailSettings {
        recipients: vec!["ops@example.com".into(), "bad@example.com".into()],
        subject: "CLUSTERPRO".into(),
        servers,
        timeout: Duration::from_secs(10),
    }
}

fn server(port: u16, user: Option<&str>) -> SmtpServer {
    SmtpServer {
        host: "127.0.0.1".into(),
        port,
        sender: "clp@example.com".into(),
        username: user.map(str::to_string),
        password: Some("s3cret".into()),
        auth_method: AuthMethod::Any,
        security: SmtpSecurity::None,
        ca_file: None,
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

fn paths() -> Paths {
    Paths::new("/")
}

/// What a sink saw: every command line and the DATA text (undotted).
#[derive(Debug, Default)]
struct Seen {
    commands: Vec<String>,
    data: String,
}

/// A one-connection SMTP sink on 127.0.0.1. `ehlo` is the capability lines it
/// offers after its name (`None`: EHLO is refused with 502); RCPT to `bad@…`
/// is refused.
fn sink(ehlo: Option<&'static str>) -> (u16, mpsc::Receiver<Seen>) {
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
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
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
                match ehlo {
                    None => "502 no\r\n".into(),
                    Some(caps) => format!("250-sink\r\n{caps}250 8BITMIME\r\n"),
                }
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
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                seen.data = data;
                "250 queued\r\n".into()
            } else if upper == "QUIT" {
                let _ = out.write_all(b"221 bye\r\n");
                break;
            } else {
                "250 ok\r\n".into()
            };
            if out.write_all(reply.as_bytes()).is_err() {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    (port, rx)
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
fn mail_reaches_a_sink_with_auth_login_and_the_same_commands_as_before() {
    let (port, rx) = sink(Some("250-AUTH LOGIN PLAIN\r\n"));
    let s = settings(vec![server(port, Some("alice"))]);
    let sent = send(&s, &alert(), &paths()).unwrap();
    assert_eq!(sent.server, format!("127.0.0.1:{port}"));
    assert_eq!(sent.rejected.len(), 1);
    assert!(
        sent.rejected[0].starts_with("bad@example.com (") && sent.rejected[0].contains("550"),
        "{:?}",
        sent.rejected
    );
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
    assert!(
        seen.data
            .ends_with("Message:  Activating group g has failed.\r\n")
    );
    assert!(seen.data.contains("Event ID: 12\r\n"));
}

#[test]
fn auth_plain_when_only_plain_is_offered_and_authmethod_is_obeyed() {
    let (port, rx) = sink(Some("250-AUTH PLAIN\r\n"));
    let s = settings(vec![server(port, Some("alice"))]);
    send(&s, &alert(), &paths()).unwrap();
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        seen.commands[1],
        format!("AUTH PLAIN {}", BASE64.encode(b"\0alice\0s3cret"))
    );

    // authmethod PLAIN with a server offering LOGIN only: no credentials sent.
    let (port, rx) = sink(Some("250-AUTH LOGIN\r\n"));
    let mut srv = server(port, Some("alice"));
    srv.auth_method = AuthMethod::Plain;
    let err = send(&settings(vec![srv]), &alert(), &paths()).unwrap_err();
    assert!(
        err.message
            .contains("offers no AUTH mechanism clp may use (PLAIN)"),
        "{}",
        err.message
    );
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        !seen.commands.iter().any(|c| c.starts_with("AUTH")),
        "{:?}",
        seen.commands
    );
}

#[test]
fn required_starttls_sends_nothing_in_clear_to_a_server_without_it() {
    let (port, rx) = sink(Some("250-AUTH LOGIN\r\n"));
    let mut srv = server(port, Some("alice"));
    srv.security = SmtpSecurity::StartTls;
    let err = send(&settings(vec![srv]), &alert(), &paths()).unwrap_err();
    assert!(
        err.message.contains("does not offer STARTTLS"),
        "{}",
        err.message
    );
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(seen.commands, vec!["EHLO n1".to_string(), "QUIT".into()]);

    // Opportunistic: plain SMTP when STARTTLS is not offered.
    let (port, rx) = sink(Some(""));
    let mut srv = server(port, None);
    srv.security = SmtpSecurity::Opportunistic;
    send(&settings(vec![srv]), &alert(), &paths()).unwrap();
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(seen.data.contains("Event ID: 12\r\n"));
}

#[test]
fn a_refused_ehlo_is_a_clear_error() {
    let (port, _rx) = sink(None);
    let err = send(&settings(vec![server(port, None)]), &alert(), &paths()).unwrap_err();
    assert!(
        err.message
            .contains(&format!("127.0.0.1:{port}: cannot connect"))
            && err.message.contains("502"),
        "{}",
        err.message
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
    let (port, rx) = sink(Some(""));
    let s = settings(vec![server(dead, None), server(port, None)]);
    let sent = send(&s, &alert(), &paths()).unwrap();
    assert_eq!(sent.server, format!("127.0.0.1:{port}"));
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Only dead servers: an error naming them, no panic.
    let err = send(&settings(vec![server(dead, None)]), &alert(), &paths()).unwrap_err();
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
    let mut s = settings(vec![server(port, None)]);
    s.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = send(&s, &alert(), &paths()).unwrap_err();
    assert!(err.message.contains("timed out"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}

#[test]
fn the_password_never_shows_in_debug_output() {
    let text = format!("{:?}", settings(vec![server(25, Some("alice"))]));
    assert!(text.contains("alice") && !text.contains("s3cret"), "{text}");
}

#[test]
fn the_mailer_bounds_mails_in_flight() {
    // Silent servers keep mails in flight until their timeout.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut s = settings(vec![server(port, None)]);
    s.timeout = Duration::from_millis(500);
    let mailer = Mailer::new(2);
    let (tx, rx) = mpsc::channel();
    for _ in 0..2 {
        let tx = tx.clone();
        mailer
            .dispatch(&s, &alert(), &paths(), move |r| {
                let _ = tx.send(r.is_ok());
            })
            .unwrap();
    }
    let err = mailer.dispatch(&s, &alert(), &paths(), |_| {}).unwrap_err();
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
