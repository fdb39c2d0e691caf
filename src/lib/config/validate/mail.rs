//! `cluster/mail`: recipients, subject and the SMTP servers alert mails go through.
//!
//! CLUSTERPRO's tags (`address`, `subject`, `smtp/smtpsrv@N/{priority, srvname,
//! port, senderaddress, auth, authmethod, username, passwd}`) plus clp's own:
//! `smtpsrv/tls`, `smtpsrv/cafile` and `smtp/timeout`. A value that would change
//! how securely a mail travels (`tls`, `authmethod`) and cannot be read is an
//! error; the rest is read tolerantly, as before.

use super::*;

/// The mail conversation's timeout when `cluster/mail/smtp/timeout` is absent.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// The most `cluster/mail/smtp/timeout` accepts (CLUSTERPRO's bound for its mail timeout).
pub const MAX_TIMEOUT_SECS: u64 = 999;
/// The sender when a server names none.
const DEFAULT_SENDER: &str = "clp@localhost";

fn text(e: &Element, tag: &str) -> Option<String> {
    e.child(tag)
        .map(|c| c.text.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `cluster/mail`, or `None` without an `address`.
pub(super) fn mail_settings(cluster: &Element, report: &mut Report) -> Option<MailSettings> {
    let mail = cluster.child("mail")?;
    let recipients: Vec<String> = text(mail, "address")?
        .split([',', ';'])
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let smtp = mail.child("smtp");
    let mut servers: Vec<(i64, SmtpServer)> = smtp
        .map(|smtp| {
            smtp.elements()
                .filter(|e| e.name == "smtpsrv")
                .enumerate()
                .filter_map(|(n, srv)| {
                    let at = format!(
                        "/root/cluster/mail/smtp/smtpsrv@{}",
                        srv.key().map_or(n.to_string(), str::to_string)
                    );
                    let priority = text(srv, "priority")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    Some((priority, smtp_server(srv, &at, report)?))
                })
                .collect()
        })
        .unwrap_or_default();
    servers.sort_by_key(|(p, _)| *p);
    Some(MailSettings {
        recipients,
        subject: text(mail, "subject").unwrap_or_else(|| "CLUSTERPRO".into()),
        servers: servers.into_iter().map(|(_, s)| s).collect(),
        timeout: smtp.map_or(Duration::from_secs(DEFAULT_TIMEOUT_SECS), |smtp| {
            timeout(smtp, report)
        }),
    })
}

/// `smtp/timeout`: seconds, 1 to [`MAX_TIMEOUT_SECS`].
fn timeout(smtp: &Element, report: &mut Report) -> Duration {
    let default = Duration::from_secs(DEFAULT_TIMEOUT_SECS);
    let Some(el) = smtp.child("timeout") else {
        return default;
    };
    match el.text.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_TIMEOUT_SECS).contains(&n) => Duration::from_secs(n),
        _ => {
            report.error(
                el.line,
                "/root/cluster/mail/smtp/timeout",
                format!(
                    "must be a whole number of seconds 1..{MAX_TIMEOUT_SECS}, got \"{}\"",
                    el.text.trim()
                ),
            );
            default
        }
    }
}

/// One `smtpsrv`; `None` without `srvname` (skipped, as before).
fn smtp_server(srv: &Element, at: &str, report: &mut Report) -> Option<SmtpServer> {
    let host = text(srv, "srvname")?;
    let line_of = |tag: &str| srv.child(tag).map_or(srv.line, |c| c.line);
    let security = text(srv, "tls").unwrap_or_default();
    let security = SmtpSecurity::from_word(&security).unwrap_or_else(|| {
        report.error(
            line_of("tls"),
            format!("{at}/tls"),
            format!(
                "must be one of {}; got \"{security}\"",
                SmtpSecurity::WORDS.join(", ")
            ),
        );
        SmtpSecurity::StartTls
    });
    let method = text(srv, "authmethod").unwrap_or_default();
    let auth_method = AuthMethod::from_word(&method).unwrap_or_else(|| {
        report.error(
            line_of("authmethod"),
            format!("{at}/authmethod"),
            format!(
                "clp authenticates with LOGIN or PLAIN (CRAM-MD5 is not offered); got \"{method}\": set LOGIN or PLAIN, or leave it empty for either"
            ),
        );
        AuthMethod::Any
    });
    let ca_file = text(srv, "cafile");
    if ca_file.is_some() && security == SmtpSecurity::None {
        report.warning(
            line_of("cafile"),
            format!("{at}/cafile"),
            "cafile is used only over TLS: set tls to starttls, opportunistic or implicit",
        );
    }
    Some(SmtpServer {
        host,
        port: text(srv, "port")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| security.default_port()),
        sender: text(srv, "senderaddress").unwrap_or_else(|| DEFAULT_SENDER.into()),
        username: text(srv, "username").filter(|_| text(srv, "auth").as_deref() == Some("1")),
        password: text(srv, "passwd"),
        auth_method,
        security,
        ca_file,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::corosync::tests::conf;
    use crate::config::{ConfigFile, Report, validate};
    use crate::model::{AuthMethod, MailSettings, SmtpSecurity};
    use std::time::Duration;

    /// The mail settings of a one-server clp.conf whose `<cluster>` holds
    /// `mail`, and the report as "line: path: message" lines.
    fn read(mail: &str) -> (Option<MailSettings>, Vec<String>) {
        let text = conf(&[("n1", "10.0.0.1", "192.168.1.1")], mail);
        let mut report = Report::new("clp.conf");
        let file = ConfigFile::parse(text.as_bytes(), &mut report).expect("well-formed");
        let opts = validate::Options {
            local_server: Some("n1"),
            scripts_dir: None,
        };
        let model = validate::validate(&file.doc, &opts, &mut report);
        let lines = report
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}: {}", d.line, d.path, d.message))
            .collect();
        (model.and_then(|m| m.settings.alerts.mail), lines)
    }

    fn srv(inner: &str) -> String {
        format!(
            "<mail><address>ops@example.com</address><smtp><smtpsrv id=\"0\"><srvname>mail.example.com</srvname>{inner}</smtpsrv></smtp></mail>"
        )
    }

    #[test]
    fn clusterpro_tags_alone_keep_plain_smtp_on_port_25() {
        let (mail, lines) = read(&srv(
            "<senderaddress>clp@n1</senderaddress><auth>1</auth><username>u</username><passwd>p</passwd>",
        ));
        let mail = mail.expect("loaded");
        assert!(lines.is_empty(), "{lines:?}");
        let s = &mail.servers[0];
        assert_eq!(
            (s.port, s.security, s.auth_method),
            (25, SmtpSecurity::None, AuthMethod::Any)
        );
        assert_eq!(s.username.as_deref(), Some("u"));
        assert_eq!(mail.timeout, Duration::from_secs(30));
    }

    #[test]
    fn tls_words_cafile_authmethod_and_timeout_are_read() {
        let (mail, lines) = read(&srv(
            "<tls>implicit</tls><cafile>/etc/clp/mail-ca.pem</cafile><authmethod>plain</authmethod>",
        ));
        assert!(lines.is_empty(), "{lines:?}");
        let s = &mail.unwrap().servers[0];
        assert_eq!(
            (s.port, s.security, s.auth_method),
            (465, SmtpSecurity::Implicit, AuthMethod::Plain)
        );
        assert_eq!(s.ca_file.as_deref(), Some("/etc/clp/mail-ca.pem"));
        for (word, want) in [
            ("starttls", SmtpSecurity::StartTls),
            ("opportunistic", SmtpSecurity::Opportunistic),
            ("none", SmtpSecurity::None),
        ] {
            let (mail, _) = read(&srv(&format!("<tls>{word}</tls><port>587</port>")));
            let s = &mail.unwrap().servers[0];
            assert_eq!((s.security, s.port), (want, 587));
        }
        let (mail, _) = read(&srv("").replace("</smtp>", "<timeout>5</timeout></smtp>"));
        assert_eq!(mail.unwrap().timeout, Duration::from_secs(5));
    }

    #[test]
    fn unreadable_security_values_are_errors_naming_the_element() {
        let (mail, lines) = read(&srv("<tls>ssl</tls>"));
        assert!(mail.is_none());
        assert!(
            lines.iter().any(|l| l.contains(
                "/root/cluster/mail/smtp/smtpsrv@0/tls: must be one of none, starttls, opportunistic, implicit; got \"ssl\""
            )),
            "{lines:?}"
        );
        let (mail, lines) = read(&srv("<authmethod>CRAM-MD5</authmethod>"));
        assert!(mail.is_none());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("smtpsrv@0/authmethod: ") && l.contains("\"CRAM-MD5\"")),
            "{lines:?}"
        );
        let (mail, lines) = read(&srv("").replace("</smtp>", "<timeout>0</timeout></smtp>"));
        assert!(mail.is_none());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("/root/cluster/mail/smtp/timeout: must be")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_cafile_without_tls_is_a_warning() {
        let (mail, lines) = read(&srv("<cafile>/etc/ca.pem</cafile>"));
        assert!(mail.is_some());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("smtpsrv@0/cafile: cafile is used only over TLS")),
            "{lines:?}"
        );
    }
}
