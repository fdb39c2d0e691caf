//! `cluster/mail`: who gets alert mails and through which SMTP servers.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// `cluster/mail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailSettings {
    /// Recipients (`address`, several separated by `,` or `;`).
    pub recipients: Vec<String>,
    pub subject: String,
    /// SMTP servers in priority order; none means localhost:25.
    pub servers: Vec<SmtpServer>,
    /// How long the conversation with one server may take
    /// (`cluster/mail/smtp/timeout`, default 30 s).
    pub timeout: Duration,
}

/// `cluster/mail/smtp/smtpsrv@N`: one server. Its `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub sender: String,
    /// AUTH with these credentials when set (`auth` 1 and `username`).
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// The mechanisms allowed (`authmethod`).
    pub auth_method: AuthMethod,
    /// How the connection is protected (`tls`, clp's extension).
    pub security: SmtpSecurity,
    /// PEM certificates trusted besides the system's roots (`cafile`, clp's
    /// extension), as configured (placed under a relocated root when used).
    pub ca_file: Option<String>,
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("sender", &self.sender)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("auth_method", &self.auth_method)
            .field("security", &self.security)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// `smtpsrv/tls`: plain SMTP, STARTTLS (required or when offered), or TLS from
/// the first byte (SMTPS, port 465).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// No TLS: mail and credentials travel in clear (CLUSTERPRO's behaviour).
    #[default]
    None,
    /// STARTTLS, and no mail when the server does not offer it or the handshake fails.
    StartTls,
    /// STARTTLS when the server offers it, plain SMTP otherwise.
    Opportunistic,
    /// TLS from the first byte.
    Implicit,
}

impl SmtpSecurity {
    /// The words of `tls`, in the order the documentation lists them.
    pub const WORDS: [&'static str; 4] = ["none", "starttls", "opportunistic", "implicit"];

    pub fn from_word(word: &str) -> Option<SmtpSecurity> {
        match word {
            "" | "none" => Some(SmtpSecurity::None),
            "starttls" => Some(SmtpSecurity::StartTls),
            "opportunistic" => Some(SmtpSecurity::Opportunistic),
            "implicit" => Some(SmtpSecurity::Implicit),
            _ => None,
        }
    }

    /// The port used when `port` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Implicit => 465,
            _ => 25,
        }
    }
}

/// `smtpsrv/authmethod`: which SASL mechanism may carry the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// LOGIN, or PLAIN when the server offers only PLAIN.
    #[default]
    Any,
    Login,
    Plain,
}

impl AuthMethod {
    /// Reads `authmethod` (case does not matter; empty means any).
    pub fn from_word(word: &str) -> Option<AuthMethod> {
        match word.to_ascii_uppercase().as_str() {
            "" => Some(AuthMethod::Any),
            "LOGIN" => Some(AuthMethod::Login),
            "PLAIN" => Some(AuthMethod::Plain),
            _ => None,
        }
    }
}
