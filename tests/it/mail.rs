//! Alert mail through a real SMTP server (aiosmtpd, `mail_server`): an Error
//! alert of a real clpd over plain SMTP, STARTTLS with AUTH and TLS from the
//! first byte; a wrong password, a server down and a silent server as clear
//! errors in clpd's log with clpd and the alert log unaffected; and TLS refused
//! for a certificate that is not trusted until `cafile` names its CA.

use std::fs;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::daemon::{CLPSTAT, GATE, REC_STOP, Rig, conf, exec};
use crate::logs::CLPLOGCMD;
use crate::mail_server::{MailServer, Mode, PASSWORD, Pki, Received, USER};

/// Where the tests configure `cafile` (clpd places it under the relocated root).
const CA_FILE: &str = "/etc/clp/mail-ca.pem";

/// One `smtpsrv` on 127.0.0.1:`port`; `inner` adds tags (tls, auth, ...).
fn smtpsrv(priority: u32, port: u16, inner: &str) -> String {
    format!(
        "<smtpsrv id=\"{priority}\"><priority>{priority}</priority><srvname>127.0.0.1</srvname><port>{port}</port><senderaddress>clp@n1.example.com</senderaddress>{inner}</smtpsrv>"
    )
}

fn auth(password: &str) -> String {
    format!("<auth>1</auth><username>{USER}</username><passwd>{password}</passwd>")
}

/// A `<cluster>` with mail to two recipients through `servers`, and `smtp_extra`
/// inside `<smtp>` (the timeout).
fn mail_cluster(servers: &[String], smtp_extra: &str) -> String {
    format!(
        "<cluster><name>testcl</name><mail><address>ops@example.com; oncall@example.com</address><subject>clp test</subject><smtp>{}{smtp_extra}</smtp></mail></cluster>",
        servers.concat()
    )
}

/// A rig whose only resource fails to start once the gate opens (rc 32, an
/// Error alert), with `cluster` as its `<cluster>` and the test CA installed at
/// [`CA_FILE`].
fn failing_rig(cluster: &str, pki: &Pki) -> Rig {
    let rig = Rig::new();
    rig.script("g", "bad", "start.sh", &format!("{GATE}\nexit 1"));
    rig.script("g", "bad", "stop.sh", REC_STOP);
    let text = conf(&[("g", &[exec("bad").act("<fo>0</fo>")])], "")
        .replace("<cluster><name>testcl</name></cluster>", cluster);
    rig.install(&text);
    let ca = rig.root().join(CA_FILE.trim_start_matches('/'));
    fs::create_dir_all(ca.parent().unwrap()).unwrap();
    fs::copy(&pki.ca, &ca).unwrap();
    rig
}

/// Waits for the mail of rc 32 at `server`.
fn wait_mail(rig: &Rig, server: &MailServer) -> Received {
    rig.wait_for("the mail for rc 32 at the SMTP server", || {
        server
            .mails()
            .into_iter()
            .find(|m| m.text.contains("Subject: clp test: Error rc 32 (n1)\r\n"))
    })
}

/// The subject, headers and body today's mails have.
fn assert_alert_mail(mail: &Received) {
    let text = &mail.text;
    assert_eq!(mail.from, "clp@n1.example.com");
    assert_eq!(mail.to, vec!["ops@example.com", "oncall@example.com"]);
    for want in [
        "\r\nFrom: clp@n1.example.com\r\n",
        "\r\nTo: ops@example.com, oncall@example.com\r\n",
        "\r\nServer:   n1\r\n",
        "\r\nModule:   rc\r\n",
        "\r\nEvent ID: 32\r\n",
        "\r\nLevel:    Error\r\n",
        "\r\nMessage:  Activating bad resource has failed.",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
}

fn run_failing(rig: &Rig) {
    rig.start();
    rig.open_gate();
}

#[test]
fn mail_an_error_alert_arrives_over_plain_smtp() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let server = MailServer::start(tmp.path(), Mode::Plain, &pki);
    let rig = failing_rig(&mail_cluster(&[smtpsrv(0, server.port, "")], ""), &pki);
    run_failing(&rig);
    let mail = wait_mail(&rig, &server);
    assert_alert_mail(&mail);
    assert!(!mail.tls && mail.login.is_none(), "{mail:?}");
    rig.wait_for("the success in clpd's log", || {
        rig.daemon_logs()
            .contains(&format!(
                "alert rc 32 was mailed via 127.0.0.1:{}",
                server.port
            ))
            .then_some(())
    });
    rig.stop_daemon();
}

#[test]
fn mail_an_error_alert_arrives_over_starttls_with_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let server = MailServer::start(tmp.path(), Mode::StartTls, &pki);
    let inner = format!(
        "<tls>starttls</tls><cafile>{CA_FILE}</cafile>{}",
        auth(PASSWORD)
    );
    let rig = failing_rig(&mail_cluster(&[smtpsrv(0, server.port, &inner)], ""), &pki);
    run_failing(&rig);
    let mail = wait_mail(&rig, &server);
    assert_alert_mail(&mail);
    // The server refuses MAIL before STARTTLS: TLS and the login are proven.
    assert!(mail.tls, "{mail:?}");
    assert_eq!(mail.login.as_deref(), Some(USER));
    rig.stop_daemon();
    assert!(
        !rig.daemon_logs().contains(PASSWORD),
        "the password is in clpd's logs"
    );
}

#[test]
fn mail_an_error_alert_arrives_over_implicit_tls_with_auth_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let server = MailServer::start(tmp.path(), Mode::Implicit, &pki);
    let inner = format!(
        "<tls>implicit</tls><cafile>{CA_FILE}</cafile><authmethod>PLAIN</authmethod>{}",
        auth(PASSWORD)
    );
    let rig = failing_rig(&mail_cluster(&[smtpsrv(0, server.port, &inner)], ""), &pki);
    run_failing(&rig);
    let mail = wait_mail(&rig, &server);
    assert_alert_mail(&mail);
    assert!(mail.tls, "{mail:?}");
    assert_eq!(mail.login.as_deref(), Some(USER));
    rig.stop_daemon();
}

#[test]
fn mail_a_wrong_password_is_a_clear_error_and_the_alert_log_is_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let server = MailServer::start(tmp.path(), Mode::StartTls, &pki);
    let wrong = "Wr0ng-Secret-Pw";
    let inner = format!(
        "<tls>starttls</tls><cafile>{CA_FILE}</cafile>{}",
        auth(wrong)
    );
    let rig = failing_rig(&mail_cluster(&[smtpsrv(0, server.port, &inner)], ""), &pki);
    run_failing(&rig);
    let line = rig.wait_for("the mail error in clpd's log", || {
        rig.daemon_logs()
            .lines()
            .find(|l| l.contains("cannot mail alert rc 32"))
            .map(str::to_string)
    });
    assert!(
        line.contains(&format!(
            "127.0.0.1:{}: authentication as {USER} failed (check username and passwd)",
            server.port
        )) && line.contains("535"),
        "{line}"
    );
    eprintln!("clpd logged: {line}");
    assert!(!rig.daemon_logs().contains(wrong), "the password is logged");
    assert!(server.mails().is_empty());
    rig.assert_alert("rc", 32, "Activating bad resource has failed.");
    // clpd goes on: it answers and stops cleanly.
    rig.run(CLPSTAT, &[]).success();
    rig.stop_daemon();
}

#[test]
fn mail_a_server_down_and_a_silent_server_are_clear_errors_and_clpd_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    // Nobody listens on `down`; `silent` accepts (backlog) and never greets.
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let rig = failing_rig(
        &mail_cluster(
            &[smtpsrv(0, down, ""), smtpsrv(1, silent_port, "")],
            "<timeout>3</timeout>",
        ),
        &pki,
    );
    run_failing(&rig);
    let started = Instant::now();
    // While the mail waits for the silent server, clpd answers.
    rig.wait_for("the alert rc 32", || {
        (!rig.alert_messages("rc", 32).is_empty()).then_some(())
    });
    let asked = Instant::now();
    rig.run(CLPSTAT, &[]).success();
    let answered_in = asked.elapsed();
    let line = rig.wait_for("the mail error in clpd's log", || {
        rig.daemon_logs()
            .lines()
            .find(|l| l.contains("cannot mail alert rc 32"))
            .map(str::to_string)
    });
    eprintln!("clpd logged: {line}");
    assert!(
        line.contains(&format!("127.0.0.1:{down}: cannot connect"))
            && line.contains(&format!(
                "127.0.0.1:{silent_port}: cannot connect: timed out"
            )),
        "{line}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the silent server's timeout (3 s) was not waited for"
    );
    eprintln!("clpstat answered in {answered_in:?} while a mail was waiting");
    rig.run(CLPSTAT, &[]).success();
    rig.stop_daemon();
    drop(silent);
}

#[test]
fn mail_tls_is_refused_for_an_untrusted_certificate_unless_cafile_names_its_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(&tmp.path().join("pki"));
    let starttls = MailServer::start(tmp.path(), Mode::StartTls, &pki);
    let implicit = MailServer::start(tmp.path(), Mode::Implicit, &pki);
    // clplogcmd --mail sends through the same code as clpd, in its own process.
    let send = |inner: &str, port: u16| {
        let rig = failing_rig(&mail_cluster(&[smtpsrv(0, port, inner)], ""), &pki);
        rig.run(
            CLPLOGCMD,
            &["-m", "mail me", "--mail", "-l", "err", "-i", "5"],
        )
    };
    for (word, server) in [
        ("starttls", &starttls),
        ("opportunistic", &starttls),
        ("implicit", &implicit),
    ] {
        let inner = format!("<tls>{word}</tls>{}", auth(PASSWORD));
        let out = send(&inner, server.port);
        eprintln!("tls {word}, untrusted: {}", out.stderr.trim());
        assert_ne!(out.code, 0, "tls {word}: sent to an untrusted server");
        assert!(
            out.stderr
                .contains("UnknownIssuer (the server's certificate was refused")
                && out.stderr.contains("cafile"),
            "tls {word}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains(PASSWORD),
            "the password is shown: {}",
            out.stderr
        );
        assert!(server.mails().is_empty(), "tls {word}: a mail went through");
    }
    for (word, server) in [("starttls", &starttls), ("implicit", &implicit)] {
        let inner = format!(
            "<tls>{word}</tls><cafile>{CA_FILE}</cafile>{}",
            auth(PASSWORD)
        );
        send(&inner, server.port).success();
        let mails = server.mails();
        assert_eq!(mails.len(), 1, "tls {word}: {mails:?}");
        assert!(
            mails[0].tls && mails[0].text.contains("mail me"),
            "{mails:?}"
        );
    }
}
