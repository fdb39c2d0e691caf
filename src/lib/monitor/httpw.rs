//! httpw: does the HTTP(S) service answer?
//!
//! One request per check to `http[s]://<servername>:<port><requesturi>`:
//! `HEAD` (`requesttype` 0, the default) or `GET` (1), with HTTP basic
//! authentication when `username` is set. The rule:
//!
//! * **Normal**: any HTTP response whose status is below 400. A redirect
//!   (3xx) is not followed and counts as Normal: the monitored server
//!   answered, and following it could leave for another host that is not the
//!   one being watched.
//! * **Error**: a status of 400 or more (4xx: the URI, the credentials or
//!   the server's configuration is wrong; 5xx: the application is failing),
//!   a connection failure (refused, unreachable, reset, name not found), a
//!   TLS handshake failure, or a malformed answer, each with its text.
//! * **Timeout**: no complete answer (connect, TLS, request, response head
//!   and, for GET, the body: the first MiB is read and the rest dropped)
//!   within the monitor's timeout. The probe gives up by itself a little
//!   before the engine's deadline so its thread is free for the next check.
//!
//! Each check opens a new connection (no pooling): a listener that stopped
//! accepting must not hide behind a kept-alive connection.
//!
//! Where it runs: plain HTTP to an address (the usual target) is a
//! non-blocking exchange on the network thread (`netprobe`, `http_exchange`:
//! no pool thread, closed with a reset so clpd keeps no `TIME_WAIT`); HTTPS
//! and host names go through ureq on the probe pool. Proxy variables
//! in clpd's environment are ignored: the service is watched directly.
//!
//! Certificates are **not verified** (as CLUSTERPRO's httpw, which watches the
//! service, not its certificate chain): a self-signed or expired certificate
//! is Normal while the server answers. TLS itself (the handshake) must work.
//!
//! `encrypwd 1` marks a password encrypted with CLUSTERPRO's `clpencrypt`,
//! whose scheme is not published: clp cannot use it, and every check fails
//! saying so (set the plain password with `encrypwd 0`).

use std::io::Read;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ureq::Agent;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::TlsConfig;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::http_exchange::HttpTarget;
use crate::model::HttpwSpec;
use crate::vocab::CheckResult;

// How much of a GET response body is read, and the largest response head
// accepted (ureq's default, set here because the input buffer below is sized
// from it): the same on the network thread.
use super::http_exchange::{BODY_LIMIT, MAX_RESPONSE_HEAD};

/// Buffers of a connection, allocated and zeroed by ureq for every check
/// (each check has a new connection). Its defaults (128 KiB each) cost about
/// a sixth of a check's CPU on loopback. The input buffer stays larger than
/// the largest head accepted, so a head over the limit is refused as before
/// (too large), not cut; the output buffer holds our request head (method,
/// URI, Host, User-Agent, Authorization): sized from the URL and the
/// credentials, never above ureq's default.
const INPUT_BUFFER: usize = MAX_RESPONSE_HEAD + 4 * 1024;
const OUTPUT_BUFFER_MIN: usize = 16 * 1024;
const OUTPUT_BUFFER_MAX: usize = 128 * 1024;

/// httpw as a probe.
pub struct HttpwProbe {
    url: String,
    get: bool,
    /// `Authorization` header value, when basic authentication is configured.
    auth: Option<String>,
    /// Why no request can be made (an encrypted password).
    refused: Option<String>,
    agent: Agent,
    /// Plain HTTP to an address: the check runs on the network thread
    /// (`netprobe`) rather than through ureq on the pool. HTTPS and names
    /// (a lookup may block) stay with ureq.
    target: Option<HttpTarget>,
}

impl HttpwProbe {
    pub fn new(spec: &HttpwSpec) -> Self {
        let scheme = if spec.https { "https" } else { "http" };
        let url = format!(
            "{scheme}://{}:{}{}",
            host_part(&spec.server),
            spec.port,
            path_part(&spec.uri)
        );
        let refused = (spec.password_encrypted && !spec.password.is_empty()).then(|| {
            "the password is encrypted with clpencrypt (encrypwd 1), which clp cannot decrypt; \
             configure the plain password with encrypwd 0"
                .to_string()
        });
        let auth = (!spec.username.is_empty()).then(|| {
            format!(
                "Basic {}",
                BASE64.encode(format!("{}:{}", spec.username, spec.password))
            )
        });
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .max_response_header_size(MAX_RESPONSE_HEAD)
            .input_buffer_size(INPUT_BUFFER)
            .output_buffer_size(output_buffer(&url, auth.as_deref()))
            .user_agent(concat!("clp-httpw/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().disable_verification(true).build())
            .build();
        let agent = Agent::with_parts(config, DefaultConnector::new(), AddressFirst::default());
        let host = host_part(&spec.server);
        let target = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .ok()
            .filter(|_| !spec.https && refused.is_none())
            .map(|ip| {
                let host_header = if spec.port == 80 {
                    host.clone()
                } else {
                    format!("{host}:{}", spec.port)
                };
                HttpTarget::new(
                    std::net::SocketAddr::new(ip, spec.port),
                    &host_header,
                    &path_part(&spec.uri),
                    spec.get,
                    auth.as_deref(),
                    url.clone(),
                )
            });
        HttpwProbe {
            url,
            get: spec.get,
            auth,
            refused,
            agent,
            target,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn request(&self, budget: Duration) -> Result<u16, ureq::Error> {
        let mut req = if self.get {
            self.agent.get(&self.url)
        } else {
            self.agent.head(&self.url)
        };
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req.config().timeout_global(Some(budget)).build().call()?;
        let status = resp.status().as_u16();
        if self.get {
            let mut sink = std::io::sink();
            let mut reader = resp.body_mut().as_reader().take(BODY_LIMIT);
            std::io::copy(&mut reader, &mut sink).map_err(ureq::Error::Io)?;
        }
        Ok(status)
    }
}

impl super::Probe for HttpwProbe {
    fn http_target(&self) -> Option<HttpTarget> {
        self.target.clone()
    }

    fn check(&mut self, timeout: Duration) -> CheckResult {
        if let Some(why) = &self.refused {
            return CheckResult::Failed(why.clone());
        }
        let method = if self.get { "GET" } else { "HEAD" };
        match self.request(budget(timeout)) {
            Ok(status) => judge(method, &self.url, status),
            Err(e) => error_result(method, &self.url, &e),
        }
    }
}

/// Takes an address in the URL as it is; only a name goes through ureq's
/// resolver. ureq looks a name up on a thread of its own per request (so that
/// the lookup keeps to the timeout); the usual target, an address, needs no
/// lookup and so no thread.
#[derive(Debug, Default)]
struct AddressFirst {
    names: DefaultResolver,
}

impl Resolver for AddressFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
        let port = uri.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let (Some(ip), Some(port)) =
            (host.and_then(|h| h.parse::<std::net::IpAddr>().ok()), port)
        {
            let mut addrs = self.empty();
            addrs.push(std::net::SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        self.names.resolve(uri, config, timeout)
    }
}

/// The probe's own deadline: the monitor's timeout less a margin (a tenth,
/// at most 500 ms), so that its answer, not the engine's, ends the check.
pub(super) fn budget(timeout: Duration) -> Duration {
    if timeout.is_zero() {
        return Duration::from_secs(60);
    }
    let margin = (timeout / 10).min(Duration::from_millis(500));
    timeout - margin
}

/// The rule on a response status.
pub(super) fn judge(method: &str, url: &str, status: u16) -> CheckResult {
    if status < 400 {
        CheckResult::Ok
    } else {
        let reason = http_reason(status);
        CheckResult::Failed(format!(
            "{method} {url} answered HTTP {status}{}{reason}",
            if reason.is_empty() { "" } else { " " }
        ))
    }
}

fn error_result(method: &str, url: &str, e: &ureq::Error) -> CheckResult {
    match e {
        ureq::Error::Timeout(_) => CheckResult::TimedOut,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => CheckResult::TimedOut,
        // rustls reports its failures as InvalidData I/O errors.
        ureq::Error::Io(io)
            if url.starts_with("https:") && io.kind() == std::io::ErrorKind::InvalidData =>
        {
            CheckResult::Failed(format!("{method} {url}: TLS failed: {io}"))
        }
        ureq::Error::Io(io) => {
            CheckResult::Failed(format!("{method} {url}: cannot connect or read: {io}"))
        }
        ureq::Error::HostNotFound => CheckResult::Failed(format!("{method} {url}: host not found")),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            CheckResult::Failed(format!("{method} {url}: TLS failed: {e}"))
        }
        other => CheckResult::Failed(format!("{method} {url}: {other}")),
    }
}

/// The server part of the URL: IPv6 literals in brackets.
fn host_part(server: &str) -> String {
    let s = server.trim();
    if s.is_empty() {
        "localhost".into()
    } else if s.contains(':') && !s.starts_with('[') {
        format!("[{s}]")
    } else {
        s.to_string()
    }
}

/// The request URI: absolute path, `/` when empty.
/// Room for the request head: the URL and credentials, with margin for the
/// rest of the head.
fn output_buffer(url: &str, auth: Option<&str>) -> usize {
    (OUTPUT_BUFFER_MIN + url.len() + auth.map_or(0, str::len)).min(OUTPUT_BUFFER_MAX)
}

fn path_part(uri: &str) -> String {
    let u = uri.trim();
    if u.starts_with('/') {
        u.to_string()
    } else {
        format!("/{u}")
    }
}

fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

// ---- httpw in the kinds table (monitor::kinds) ------------------------------
// Kept apart from the probe above, with its own imports, so that the probe's
// code can change without touching the declaration.

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::HttpwProbe;
    use crate::model::{HttpwSpec, Monitor, MonitorKind};

    pub const KIND: Kind = Kind {
        name: "httpw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// An HTTP request that gives up by itself just before the timeout.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Httpw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(HttpwProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Httpw(HttpwSpec {
            server: p.text("parameters/servername"),
            port: u16::try_from(p.int("parameters/port")).unwrap_or(80),
            uri: p.text("parameters/requesturi"),
            https: p.flag("parameters/https"),
            get: p.int("parameters/requesttype") == 1,
            username: p.text("parameters/username"),
            password: p.text("parameters/password"),
            password_encrypted: p.flag("parameters/encrypwd"),
        })
    }

    /// The password is never shown, encrypted or not.
    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Httpw(h) = kind else {
            return Vec::new();
        };
        vec![
            ("Connecting Destination", h.server.clone(), true),
            ("Port", h.port.to_string(), true),
            ("Request URI", h.uri.clone(), true),
            (
                "Protocol",
                if h.https { "HTTPS" } else { "HTTP" }.into(),
                true,
            ),
            (
                "Request Type",
                if h.get { "GET" } else { "HEAD" }.into(),
                false,
            ),
            ("User Name", h.username.clone(), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Probe;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    fn spec(port: u16) -> HttpwSpec {
        HttpwSpec {
            server: "127.0.0.1".into(),
            port,
            uri: "/health".into(),
            https: false,
            get: false,
            username: String::new(),
            password: String::new(),
            password_encrypted: false,
        }
    }

    #[test]
    fn urls() {
        let mut s = spec(8080);
        assert_eq!(HttpwProbe::new(&s).url(), "http://127.0.0.1:8080/health");
        s.https = true;
        s.server = "::1".into();
        s.uri = "index.html".into();
        assert_eq!(HttpwProbe::new(&s).url(), "https://[::1]:8080/index.html");
        s.server = String::new();
        s.uri = String::new();
        assert_eq!(HttpwProbe::new(&s).url(), "https://localhost:8080/");
    }

    #[test]
    fn status_rule() {
        assert_eq!(judge("HEAD", "u", 200), CheckResult::Ok);
        assert_eq!(judge("HEAD", "u", 204), CheckResult::Ok);
        assert_eq!(judge("HEAD", "u", 301), CheckResult::Ok);
        assert_eq!(judge("HEAD", "u", 399), CheckResult::Ok);
        assert_eq!(
            judge("GET", "http://x:1/", 404),
            CheckResult::Failed("GET http://x:1/ answered HTTP 404 Not Found".into())
        );
        assert_eq!(
            judge("HEAD", "u", 599),
            CheckResult::Failed("HEAD u answered HTTP 599".into())
        );
        assert!(
            matches!(judge("HEAD", "u", 500), CheckResult::Failed(m) if m.contains("500 Internal Server Error"))
        );
    }

    #[test]
    fn addresses_need_no_lookup_and_names_still_resolve() {
        let r = AddressFirst::default();
        let config = Agent::config_builder().build();
        let resolve = |url: &str| {
            let uri: Uri = url.parse().unwrap();
            let timeout = NextTimeout {
                after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(5)),
                ..NextTimeout::default()
            };
            r.resolve(&uri, &config, timeout)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resolve("http://127.0.0.1:8080/x"),
            vec!["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/"),
            vec!["[::1]:443".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://10.1.2.3/"),
            vec!["10.1.2.3:80".parse().unwrap()]
        );
        assert!(
            resolve("http://localhost:81/")
                .iter()
                .all(|a| a.port() == 81 && a.ip().is_loopback())
        );
    }

    #[test]
    fn budgets_end_before_the_engine() {
        assert_eq!(budget(Duration::from_secs(2)), Duration::from_millis(1800));
        assert_eq!(
            budget(Duration::from_secs(120)),
            Duration::from_millis(119_500)
        );
        assert_eq!(budget(Duration::ZERO), Duration::from_secs(60));
    }

    #[test]
    fn encrypted_passwords_are_refused_clearly() {
        let mut s = spec(1);
        s.username = "u".into();
        s.password = "0123abcd".into();
        s.password_encrypted = true;
        let r = HttpwProbe::new(&s).check(Duration::from_secs(1));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.contains("clpencrypt") && m.contains("encrypwd 0")),
            "{r:?}"
        );
    }

    /// A one-shot HTTP server answering `status` and returning the request head.
    fn serve_once(status: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut w = s;
            write!(
                w,
                "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            .unwrap();
            head
        });
        (port, h)
    }

    #[test]
    fn head_with_basic_auth_against_a_real_socket() {
        let (port, h) = serve_once("200 OK");
        let mut s = spec(port);
        s.username = "Aladdin".into();
        s.password = "open sesame".into();
        assert_eq!(
            HttpwProbe::new(&s).check(Duration::from_secs(5)),
            CheckResult::Ok
        );
        let head = h.join().unwrap();
        assert!(head.starts_with("HEAD /health HTTP/1.1\r\n"), "{head}");
        assert!(
            head.contains("authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
                || head.contains("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            "{head}"
        );
    }

    /// The buffers are sized for the request and the largest head accepted:
    /// a long URI and long credentials still go out, a head just under the
    /// limit is read, one over it is refused.
    #[test]
    fn long_requests_and_large_response_heads() {
        let (port, h) = serve_once("200 OK");
        let mut s = spec(port);
        s.uri = format!("/{}", "u".repeat(40 * 1024));
        s.username = "x".repeat(20 * 1024);
        assert_eq!(
            HttpwProbe::new(&s).check(Duration::from_secs(5)),
            CheckResult::Ok
        );
        assert!(h.join().unwrap().len() > 60 * 1024);

        for (filler, ok) in [
            (MAX_RESPONSE_HEAD - 1024, true),
            (MAX_RESPONSE_HEAD + 1024, false),
        ] {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).unwrap() > 0 && !line.ends_with("\r\n\r\n") {}
                let mut w = s;
                let _ = write!(
                    w,
                    "HTTP/1.1 200 OK\r\nX-Filler: {}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    "f".repeat(filler)
                );
            });
            let r = HttpwProbe::new(&spec(port)).check(Duration::from_secs(5));
            if ok {
                assert_eq!(r, CheckResult::Ok, "head of {filler} bytes");
            } else {
                assert!(
                    matches!(r, CheckResult::Failed(_)),
                    "head of {filler} bytes: {r:?}"
                );
            }
            server.join().unwrap();
        }
    }

    #[test]
    fn get_and_redirect_and_errors() {
        let (port, h) = serve_once("302 Found");
        let mut s = spec(port);
        s.get = true;
        assert_eq!(
            HttpwProbe::new(&s).check(Duration::from_secs(5)),
            CheckResult::Ok
        );
        assert!(h.join().unwrap().starts_with("GET /health "));

        let (port, h) = serve_once("503 Service Unavailable");
        let r = HttpwProbe::new(&spec(port)).check(Duration::from_secs(5));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.contains("HTTP 503 Service Unavailable")),
            "{r:?}"
        );
        h.join().unwrap();

        // Nothing listens on a port just released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = HttpwProbe::new(&spec(port)).check(Duration::from_secs(5));
        assert!(
            matches!(&r, CheckResult::Failed(m) if m.contains("refused")),
            "{r:?}"
        );
    }

    #[test]
    fn a_silent_server_times_out_within_the_budget() {
        // Accepts (the kernel's backlog) but never answers.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let r = HttpwProbe::new(&spec(port)).check(Duration::from_secs(1));
        let took = started.elapsed();
        assert_eq!(r, CheckResult::TimedOut);
        assert!(took < Duration::from_secs(1), "{took:?}");
        drop(l);
    }
}
