//! What the database monitors (psqlw, mysqlw) share: the deadline every check
//! runs under, the monitoring table's name and value, TLS "when the server
//! asks for it", the reading of their common parameters and their rows in
//! `clpstat --mon`.
//!
//! **Deadline.** A check is one async exchange with the server (connect,
//! authenticate, the level's statements) run on a current-thread tokio
//! runtime made for that check, inside one `tokio::time::timeout` of the
//! monitor's timeout less a margin (`httpw::budget`). The clients' own
//! timeouts cover a connect or one read at a time; a frozen server (SIGSTOP:
//! the kernel still accepts the connection, nobody answers) would let a
//! sequence of them run past the monitor's timeout. With one deadline over
//! the whole exchange the check ends in time whatever step hangs, and the
//! runtime is dropped with the check, closing every socket and task it
//! opened: a frozen server costs one pool thread for at most the timeout.
//!
//! **TLS.** As libpq's `sslmode=prefer`: over TCP, TLS when the server
//! offers it, plain otherwise (none on a Unix socket); the certificate is not verified (the monitor watches the
//! service, as httpw does), but the handshake must succeed.
//!
//! **Errors.** Error: the server cannot be reached, refuses the credentials,
//! lacks the database, or a statement fails or reads back another value;
//! Timeout: no complete answer within the timeout; Warning: the check
//! succeeded but the level 3 table could not be dropped afterwards. Each
//! message names the server's address, the database and user, and the
//! server's own words. The password is never part of one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::kinds::{DetailRow, ParamReader};
use crate::model::{DbLevel, DbwSpec};
use crate::vocab::CheckResult;

/// Runs one check's exchange under the monitor's deadline (see the module's
/// comment). `exchange` returns the verdict; a runtime that cannot be made
/// (no file descriptors left) is an error of the check.
pub(super) fn run_with_deadline<F>(timeout: Duration, exchange: F) -> CheckResult
where
    F: std::future::Future<Output = CheckResult>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => return CheckResult::Failed(format!("cannot start the check: {e}")),
    };
    let budget = super::httpw::budget(timeout);
    let verdict = runtime.block_on(async {
        tokio::time::timeout(budget, exchange)
            .await
            .unwrap_or(CheckResult::TimedOut)
    });
    // Dropping the runtime drops what the exchange left running (a
    // connection's task after a timeout): nothing outlives the check.
    drop(runtime);
    verdict
}

/// Who the messages name: `PostgreSQL server 127.0.0.1:5432 (database d, user u)`.
pub(super) fn target(product: &str, spec: &DbwSpec) -> String {
    format!(
        "{product} server {} (database {}, user {})",
        address(spec),
        spec.database,
        spec.user
    )
}

/// `host:port`, with brackets around an IPv6 address.
pub(super) fn address(spec: &DbwSpec) -> String {
    if spec.host.contains(':') {
        format!("[{}]:{}", spec.host, spec.port)
    } else {
        format!("{}:{}", spec.host, spec.port)
    }
}

/// A value no earlier check wrote: the time in nanoseconds and a counter,
/// so two checks in the same tick still differ.
pub(super) fn fresh_value() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The verdict on a value read back from the monitoring table.
pub(super) fn verify(who: &str, table: &str, wrote: &str, read: Option<String>) -> CheckResult {
    match read {
        Some(v) if v == wrote => CheckResult::Ok,
        Some(v) => CheckResult::Failed(format!(
            "{who}: table {table} reads back {v:?} after {wrote:?} was written"
        )),
        None => CheckResult::Failed(format!(
            "{who}: table {table} has no row after one was written"
        )),
    }
}

/// Whether `name` may be the monitoring table: an unquoted SQL identifier
/// (it is put into statements, so nothing else is accepted).
pub fn valid_table(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

// ---- TLS when the server asks for it --------------------------------------

/// A TLS client configuration that accepts the server's certificate
/// unverified (the handshake's signatures are still checked).
pub(super) fn tls_accepting_any_certificate() -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(algorithms)))
        .with_no_client_auth())
}

/// Accepts any certificate; verifies the handshake signatures with it.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

// ---- parameters and rows ---------------------------------------------------

/// Reads the parameters psqlw and mysqlw share (their defaults differ in the
/// defaults table), reporting what cannot work.
pub(super) fn read(p: &mut dyn ParamReader, kind: &str) -> DbwSpec {
    let raw_level = p.int("parameters/docreatedrop");
    let level = DbLevel::from_docreatedrop(raw_level).unwrap_or_else(|| {
        let (line, at) = (p.line_of("parameters/docreatedrop"), p.at("parameters/docreatedrop"));
        p.error(
            line,
            at,
            format!(
                "{kind} monitor level (docreatedrop) {raw_level} is not one of 3 (level 1, select), \
                 0 (level 2, update/select) or 1 (level 3, create/drop each time)"
            ),
        );
        DbLevel::Select
    });
    let table = p.text("parameters/table");
    if level != DbLevel::Select && !valid_table(&table) {
        let (line, at) = (p.line_of("parameters/table"), p.at("parameters/table"));
        p.error(
            line,
            at,
            format!(
                "{kind} monitoring table {table:?} is not a plain SQL name \
                 (letters, digits and _, not starting with a digit, at most 63)"
            ),
        );
    }
    DbwSpec {
        database: p.text("parameters/database"),
        host: p.text("parameters/ipaddress"),
        port: u16::try_from(p.int("parameters/port")).unwrap_or(0),
        user: p.text("parameters/username"),
        password: p.text("parameters/password"),
        table,
        level,
        engine: String::new(),
    }
}

/// The rows of `clpstat --mon`; the password is never shown.
pub(super) fn detail(spec: &DbwSpec) -> Vec<DetailRow> {
    vec![
        ("Monitor Level", spec.level.describe().into(), true),
        ("Database Name", spec.database.clone(), true),
        ("IP Address", spec.host.clone(), true),
        ("Port", spec.port.to_string(), true),
        ("User Name", spec.user.clone(), false),
        ("Monitor Table Name", spec.table.clone(), false),
    ]
}

/// Checks both database kinds pass, each with its own probe (`make` builds one
/// for user `u`, password `secret`, database `d` on 127.0.0.1 and a port).
#[cfg(test)]
pub(super) mod probe_tests {
    use crate::monitor::Probe;
    use crate::vocab::CheckResult;
    use std::time::{Duration, Instant};

    /// A listener that never accepts: the kernel completes the connection and
    /// nobody answers, as with a SIGSTOPped server.
    pub fn a_silent_server_is_a_timeout_within_the_budget<P: Probe>(make: impl Fn(u16) -> P) {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut probe = make(silent.local_addr().unwrap().port());
        let started = Instant::now();
        assert_eq!(probe.check(Duration::from_secs(1)), CheckResult::TimedOut);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    /// `server` is how the message names the kind ("MySQL server").
    pub fn a_closed_port_is_an_error_naming_the_server<P: Probe>(
        make: impl Fn(u16) -> P,
        server: &str,
    ) {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let CheckResult::Failed(why) = make(port).check(Duration::from_secs(5)) else {
            panic!("not an error");
        };
        assert!(
            why.starts_with(&format!(
                "{server} 127.0.0.1:{port} (database d, user u): cannot connect: "
            )),
            "{why}"
        );
        assert!(!why.contains("secret"), "{why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["psqlwatch", "_t", "mysqlwatch2", "T_1"] {
            assert!(valid_table(good), "{good}");
        }
        let long = "t".repeat(64);
        for bad in [
            "",
            "1t",
            "t;drop table x",
            "a b",
            "\"t\"",
            "t-1",
            long.as_str(),
        ] {
            assert!(!valid_table(bad), "{bad}");
        }
    }

    #[test]
    fn levels_follow_docreatedrop() {
        assert_eq!(DbLevel::from_docreatedrop(3), Some(DbLevel::Select));
        assert_eq!(DbLevel::from_docreatedrop(0), Some(DbLevel::UpdateSelect));
        assert_eq!(DbLevel::from_docreatedrop(1), Some(DbLevel::CreateDrop));
        assert_eq!(DbLevel::from_docreatedrop(2), None);
    }

    #[test]
    fn fresh_values_differ() {
        assert_ne!(fresh_value(), fresh_value());
    }

    #[test]
    fn verification_names_what_was_read() {
        assert_eq!(verify("w", "t", "1", Some("1".into())), CheckResult::Ok);
        assert_eq!(
            verify("w", "t", "1", Some("2".into())),
            CheckResult::Failed("w: table t reads back \"2\" after \"1\" was written".into())
        );
        assert!(
            matches!(verify("w", "t", "1", None), CheckResult::Failed(m) if m.contains("no row"))
        );
    }

    #[test]
    fn the_deadline_ends_a_hung_exchange() {
        let started = std::time::Instant::now();
        let verdict = run_with_deadline(Duration::from_millis(300), std::future::pending());
        assert_eq!(verdict, CheckResult::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            run_with_deadline(Duration::from_secs(5), async { CheckResult::Ok }),
            CheckResult::Ok
        );
    }

    #[test]
    fn addresses_bracket_ipv6() {
        let mut spec = DbwSpec {
            database: "d".into(),
            host: "::1".into(),
            port: 5432,
            user: "u".into(),
            password: "secret".into(),
            table: "t".into(),
            level: DbLevel::Select,
            engine: String::new(),
        };
        assert_eq!(address(&spec), "[::1]:5432");
        spec.host = "127.0.0.1".into();
        assert_eq!(
            target("PostgreSQL", &spec),
            "PostgreSQL server 127.0.0.1:5432 (database d, user u)"
        );
        assert!(detail(&spec).iter().all(|(_, v, _)| !v.contains("secret")));
    }
}
