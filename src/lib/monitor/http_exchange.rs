//! One httpw request and its answer as bytes in and a verdict out, without
//! sockets or clock: the network thread (`netprobe`) feeds it what a
//! non-blocking connection reads, and the rule of `httpw` judges the result.
//!
//! The request asks the server to close the connection after its answer
//! (`Connection: close`), so a body without a length (chunked, or none given)
//! ends where the connection does; a body with a `Content-Length` ends there,
//! and a connection closed before it is a failure. As with ureq before it,
//! the first MiB of a body is read and the rest dropped, and a response head
//! over 64 KiB is refused. Interim answers (`100 Continue`, ...) are skipped.

use std::net::SocketAddr;

use crate::vocab::CheckResult;

/// How much of a GET response body is read.
pub const BODY_LIMIT: u64 = 1 << 20;

/// The largest response head (status line and headers) accepted.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Headers looked at in a response head; more is a malformed answer.
const MAX_HEADERS: usize = 128;

/// Where and what to ask: made once per monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    pub addr: SocketAddr,
    /// The whole request, head and empty body.
    pub request: Vec<u8>,
    /// GET (the body is read) rather than HEAD.
    pub get: bool,
    /// For the failure texts: `GET http://127.0.0.1:80/`.
    pub url: String,
}

impl HttpTarget {
    /// The request for `path` on `addr`, with `host` as the Host header and
    /// `authorization` (a ready header value) when set.
    pub fn new(
        addr: SocketAddr,
        host: &str,
        path: &str,
        get: bool,
        authorization: Option<&str>,
        url: String,
    ) -> HttpTarget {
        let method = if get { "GET" } else { "HEAD" };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: clp-httpw/{}\r\n\
             Accept: */*\r\nConnection: close\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(a) = authorization {
            head.push_str("Authorization: ");
            head.push_str(a);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        HttpTarget {
            addr,
            request: head.into_bytes(),
            get,
            url,
        }
    }

    pub fn method(&self) -> &'static str {
        if self.get { "GET" } else { "HEAD" }
    }
}

/// Whether the exchange needs more bytes or has its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    More,
    Done(CheckResult),
}

/// What has been read of the answer so far.
#[derive(Debug)]
pub struct Exchange {
    get: bool,
    /// The response head while it is incomplete.
    head: Vec<u8>,
    /// The final status, once its head is complete.
    status: Option<u16>,
    /// Body bytes still expected: None while the body runs to the end of the
    /// connection.
    body_left: Option<u64>,
    body_read: u64,
}

impl Exchange {
    pub fn new(get: bool) -> Exchange {
        Exchange {
            get,
            head: Vec::new(),
            status: None,
            body_left: None,
            body_read: 0,
        }
    }

    /// Bytes read from the connection.
    pub fn on_data(&mut self, target: &HttpTarget, data: &[u8]) -> Progress {
        if self.status.is_some() {
            return self.on_body(target, data.len() as u64);
        }
        self.head.extend_from_slice(data);
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let parsed = match response.parse(&self.head) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => {
                    if self.head.len() > MAX_RESPONSE_HEAD {
                        return self.failed(target, "the response head is over 64 KiB");
                    }
                    return Progress::More;
                }
                Err(e) => return self.failed(target, &format!("malformed response: {e}")),
            };
            let status = response.code.unwrap_or(0);
            if (100..200).contains(&status) && status != 101 {
                // An interim answer: the real one follows.
                self.head.drain(..parsed);
                continue;
            }
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| {
                    std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|v| v.trim().parse::<u64>().ok())
                });
            let chunked = response.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("transfer-encoding")
                    && h.value
                        .to_ascii_lowercase()
                        .windows(7)
                        .any(|w| w == b"chunked")
            });
            self.status = Some(status);
            if !self.get || status == 204 || status == 304 {
                return Progress::Done(judge(target, status));
            }
            self.body_left = match length {
                _ if chunked => None,
                Some(Some(n)) => Some(n),
                Some(None) => return self.failed(target, "malformed response: bad Content-Length"),
                None => None,
            };
            let rest = (self.head.len() - parsed) as u64;
            self.head = Vec::new();
            return self.on_body(target, rest);
        }
    }

    /// The server closed its side.
    pub fn on_eof(&mut self, target: &HttpTarget) -> Progress {
        match (self.status, self.body_left) {
            (None, _) => self.failed(target, "the connection closed before a response"),
            (Some(status), None) => Progress::Done(judge(target, status)),
            (Some(_), Some(_)) => {
                self.failed(target, "the connection closed before the end of the body")
            }
        }
    }

    fn on_body(&mut self, target: &HttpTarget, n: u64) -> Progress {
        let Some(status) = self.status else {
            return Progress::More;
        };
        self.body_read += n;
        if let Some(left) = &mut self.body_left {
            *left = left.saturating_sub(n);
            if *left == 0 {
                return Progress::Done(judge(target, status));
            }
        }
        if self.body_read >= BODY_LIMIT {
            // Enough of it: the rest is dropped with the connection.
            return Progress::Done(judge(target, status));
        }
        Progress::More
    }

    fn failed(&self, target: &HttpTarget, why: &str) -> Progress {
        Progress::Done(CheckResult::Failed(format!(
            "{} {}: {why}",
            target.method(),
            target.url
        )))
    }
}

/// The rule on a response status (see `httpw`).
pub fn judge(target: &HttpTarget, status: u16) -> CheckResult {
    super::httpw::judge(target.method(), &target.url, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(get: bool) -> HttpTarget {
        HttpTarget::new(
            "127.0.0.1:8080".parse().unwrap(),
            "127.0.0.1:8080",
            "/health",
            get,
            Some("Basic dTpw"),
            "http://127.0.0.1:8080/health".into(),
        )
    }

    fn feed(get: bool, chunks: &[&[u8]]) -> Progress {
        let t = target(get);
        let mut x = Exchange::new(get);
        for c in chunks {
            if let Progress::Done(r) = x.on_data(&t, c) {
                return Progress::Done(r);
            }
        }
        x.on_eof(&t)
    }

    #[test]
    fn the_request_asks_for_one_answer_and_a_close() {
        let text = String::from_utf8(target(true).request).unwrap();
        assert!(text.starts_with("GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
        assert!(text.contains("\r\nAuthorization: Basic dTpw\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        assert!(
            String::from_utf8(target(false).request)
                .unwrap()
                .starts_with("HEAD ")
        );
    }

    #[test]
    fn a_head_answer_is_judged_by_its_status_alone() {
        assert_eq!(
            feed(false, &[b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"]),
            Progress::Done(CheckResult::Ok)
        );
        // Split anywhere, even in the status line.
        assert_eq!(
            feed(
                false,
                &[b"HTTP/1.1 3", b"02 Found\r\nLocation: /x\r", b"\n\r\n"]
            ),
            Progress::Done(CheckResult::Ok)
        );
        let Progress::Done(CheckResult::Failed(why)) =
            feed(false, &[b"HTTP/1.1 503 Service Unavailable\r\n\r\n"])
        else {
            panic!("503 must fail")
        };
        assert_eq!(
            why,
            "HEAD http://127.0.0.1:8080/health answered HTTP 503 Service Unavailable"
        );
    }

    #[test]
    fn a_get_reads_the_body_to_its_length_or_to_the_close() {
        let t = target(true);
        let mut x = Exchange::new(true);
        assert_eq!(
            x.on_data(&t, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab"),
            Progress::More
        );
        assert_eq!(x.on_data(&t, b"cdef"), Progress::Done(CheckResult::Ok));
        // Cut short: a failure, not a success.
        let Progress::Done(CheckResult::Failed(why)) =
            feed(true, &[b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab"])
        else {
            panic!("a short body must fail")
        };
        assert!(why.contains("before the end of the body"), "{why}");
        // Chunked, or no length: to the close.
        assert_eq!(
            feed(
                true,
                &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"]
            ),
            Progress::Done(CheckResult::Ok)
        );
        assert_eq!(
            feed(true, &[b"HTTP/1.0 404 Not Found\r\n\r\nnope"]),
            Progress::Done(CheckResult::Failed(
                "GET http://127.0.0.1:8080/health answered HTTP 404 Not Found".into()
            ))
        );
    }

    #[test]
    fn a_long_body_is_read_up_to_the_limit_only() {
        let t = target(true);
        let mut x = Exchange::new(true);
        assert_eq!(
            x.on_data(&t, b"HTTP/1.1 200 OK\r\nContent-Length: 9999999\r\n\r\n"),
            Progress::More
        );
        let chunk = vec![b'x'; 64 * 1024];
        let mut verdict = Progress::More;
        for _ in 0..16 {
            verdict = x.on_data(&t, &chunk);
        }
        assert_eq!(verdict, Progress::Done(CheckResult::Ok));
    }

    #[test]
    fn interim_answers_are_skipped_and_bad_ones_fail() {
        assert_eq!(
            feed(
                false,
                &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"]
            ),
            Progress::Done(CheckResult::Ok)
        );
        for bad in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        ] {
            assert!(
                matches!(feed(true, &[bad]), Progress::Done(CheckResult::Failed(ref m)) if m.contains("malformed")),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            feed(false, &[]),
            Progress::Done(CheckResult::Failed(m)) if m.contains("closed before a response")
        ));
        let huge = vec![b'a'; MAX_RESPONSE_HEAD + 10];
        assert!(matches!(
            feed(false, &[b"HTTP/1.1 200 OK\r\nX: ", &huge]),
            Progress::Done(CheckResult::Failed(m)) if m.contains("over 64 KiB")
        ));
    }
}
