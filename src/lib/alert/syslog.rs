//! Alerts to syslog: one RFC 3164-style datagram per alert on the local syslog
//! socket (`clp/syslog/socket`, default `/dev/log`; placed under `CLP_ROOT` when
//! the root is relocated, see [`socket_path`]).
//!
//! The datagram, as glibc's `syslog(3)` writes it to `/dev/log` (no host name;
//! the syslog daemon adds it):
//!
//! ```text
//! <PRI>Mmm dd hh:mm:ss clusterpro: LEVEL <type: MODULE><event: ID> MESSAGE
//! <27>Mar  5 03:04:05 clusterpro: ERROR <type: rm><event: 9> Detected an error in monitoring userw. (1 : timeout)
//! ```
//!
//! * `PRI` = facility `daemon` (3) × 8 + severity: Info → `info` (6), Warning →
//!   `warning` (4), Error → `err` (3); so 30, 28 and 27;
//! * the timestamp is local time, English month, day padded with a space;
//! * ident [`IDENT`] = `clusterpro`, with no `[pid]`, the shape of the reference's
//!   `<date> <host> clusterpro: <type: rm><event: 1> …`. (English builds of
//!   EXPRESSCLUSTER say `expresscls`; clp speaks as CLUSTERPRO, whose tools and
//!   log filters look for `clusterpro`.);
//! * `LEVEL ` is present when `cluster/syslog/format/level` is 1 (the default):
//!   the upper-case words `INFO`, `WARNING`, `ERROR` ([`level_word`]) and one
//!   space, ahead of `<type:`. CLUSTERPRO's exact placement is not public (the
//!   reference marks it \[?\]); this is clp's choice. With the flag 0 the message
//!   starts at `<type:`;
//! * control characters in the message (a newline from `clplogcmd -m`) become
//!   spaces, so one alert is one syslog line.
//!
//! Sending never blocks and never panics: the socket is non-blocking, and a
//! missing socket, a full receive queue (`EAGAIN`) or any other failure is
//! returned as an error ([`send`]); [`SyslogSender::send_or_report`] logs the
//! first failure once and stays quiet until a send works again. A `SOCK_STREAM`
//! `/dev/log` (old rsyslog setups) is handled as glibc does: a non-blocking
//! connected stream, the record terminated by a NUL byte.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, TimeZone};

use super::alertlog::Alert;
use super::catalog::Level;
use crate::error::ClpError;
use crate::model::AlertRouting;
use crate::paths::Paths;

/// The syslog ident (tag) of clp's alerts.
pub const IDENT: &str = "clusterpro";

/// The socket used when none is configured.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// Syslog facility `daemon`.
pub const FACILITY_DAEMON: u8 = 3;

/// The syslog severity of an alert level: `info` (6), `warning` (4), `err` (3).
pub fn severity(level: Level) -> u8 {
    match level {
        Level::Info => 6,
        Level::Warning => 4,
        Level::Error => 3,
    }
}

/// The word put ahead of `<type:` when the level is shown.
pub fn level_word(level: Level) -> &'static str {
    match level {
        Level::Info => "INFO",
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
    }
}

/// The syslog socket of `routing`: `clp/syslog/socket` (default `/dev/log`),
/// under the root when the root is relocated.
pub fn socket_path(paths: &Paths, routing: &AlertRouting) -> PathBuf {
    let configured = routing.syslog_socket.trim();
    let configured = if configured.is_empty() {
        DEFAULT_SOCKET
    } else {
        configured
    };
    crate::host::under_root(paths, configured)
}

/// The message part of the line: `[LEVEL ]<type: m><event: n> text`.
pub fn message(alert: &Alert, with_level: bool) -> String {
    let body: String = alert
        .syslog_body()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if with_level {
        format!("{} {body}", level_word(alert.level))
    } else {
        body
    }
}

/// The whole datagram for `alert`: `<PRI>Mmm dd hh:mm:ss clusterpro: message`.
/// The timestamp is the alert's own time.
pub fn datagram(alert: &Alert, with_level: bool) -> String {
    let when: DateTime<Local> = Local
        .timestamp_millis_opt(alert.unix_ms)
        .single()
        .unwrap_or_else(Local::now);
    let mut line = format!(
        "<{}>",
        u16::from(FACILITY_DAEMON) * 8 + u16::from(severity(alert.level))
    );
    crate::timetext::push_syslog_stamp(&mut line, &when);
    line.push(' ');
    line.push_str(IDENT);
    line.push_str(": ");
    line.push_str(&message(alert, with_level));
    line
}

/// Sends `alert` to the syslog socket at `socket`, without blocking.
pub fn send(socket: &Path, alert: &Alert, with_level: bool) -> Result<(), ClpError> {
    send_bytes(socket, datagram(alert, with_level).as_bytes())
        .map_err(|e| ClpError::io("cannot send an alert to the syslog socket", socket, e))
}

/// One datagram to `socket`; a stream socket gets the record ended by NUL.
fn send_bytes(socket: &Path, bytes: &[u8]) -> io::Result<()> {
    send_bytes_from(&unbound_socket()?, socket, bytes)
}

/// A non-blocking datagram socket bound to no address, to send from.
fn unbound_socket() -> io::Result<UnixDatagram> {
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// The socket [`SyslogSender`] keeps, with a large send buffer.
///
/// A datagram counts against its sender's buffer until the syslog daemon
/// reads it. The kept socket gets room for at least as many as the reader's
/// queue holds (`net.unix.max_dgram_qlen`: 512 where systemd sets it), so a
/// syslog daemon that stalls for a moment costs no more alerts than it did
/// when every alert had a socket of its own. clpd is root and may pass
/// `net.core.wmem_max`; elsewhere the size is capped there. Best effort: the
/// default stays if the size is refused.
fn kept_socket() -> io::Result<UnixDatagram> {
    use nix::sys::socket::{setsockopt, sockopt};
    let sock = unbound_socket()?;
    if setsockopt(&sock, sockopt::SndBufForce, &SEND_BUFFER).is_err() {
        let _ = setsockopt(&sock, sockopt::SndBuf, &SEND_BUFFER);
    }
    Ok(sock)
}

/// The send buffer asked for the kept socket (see [`kept_socket`]). The
/// kernel charges a datagram of an alert's size (200 bytes) 1280 bytes
/// (measured with SIOCOUTQ): the default 208 KiB holds about 166 alerts, and
/// 1 MiB about 800, more than a queue of 512.
const SEND_BUFFER: usize = 1 << 20;

/// One datagram from `sock` to `socket` (see [`send_bytes`]).
fn send_bytes_from(sock: &UnixDatagram, socket: &Path, bytes: &[u8]) -> io::Result<()> {
    match sock.send_to(bytes, socket) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => send_stream(socket, bytes),
        Err(e) => Err(e),
    }
}

/// glibc's fallback for a `SOCK_STREAM` syslog socket, non-blocking throughout.
fn send_stream(socket: &Path, bytes: &[u8]) -> io::Result<()> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr, connect, send, socket as new_socket,
    };
    let fd = new_socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let addr = UnixAddr::new(socket)?;
    connect(fd.as_raw_fd(), &addr)?;
    let mut record = bytes.to_vec();
    record.push(0);
    let mut sent = 0;
    while sent < record.len() {
        // A short write on a non-blocking stream means the reader is behind:
        // the rest would block, so it is an error like EAGAIN.
        match send(
            fd.as_raw_fd(),
            &record[sent..],
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        )? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => sent += n,
        }
    }
    Ok(())
}

/// The daemon's syslog destination: sends, and reports the first failure once.
#[derive(Debug)]
pub struct SyslogSender {
    socket: PathBuf,
    with_level: bool,
    /// A failure was reported and no send has worked since.
    reported: bool,
    /// The socket the datagrams leave from, made at the first send and kept:
    /// making and closing a socket per alert cost more than the send.
    from: Option<UnixDatagram>,
}

impl SyslogSender {
    /// The destination of `routing` (see [`socket_path`]).
    pub fn new(paths: &Paths, routing: &AlertRouting) -> SyslogSender {
        SyslogSender::at(socket_path(paths, routing), routing.syslog_level)
    }

    /// A destination at an explicit socket path.
    pub fn at(socket: impl Into<PathBuf>, with_level: bool) -> SyslogSender {
        SyslogSender {
            socket: socket.into(),
            with_level,
            reported: false,
            from: None,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether lines carry the level word.
    pub fn with_level(&self) -> bool {
        self.with_level
    }

    /// Sends `alert` from the kept socket (made at the first send).
    fn send(&mut self, alert: &Alert) -> Result<(), ClpError> {
        let failed = |e| ClpError::io("cannot send an alert to the syslog socket", &self.socket, e);
        let sock = match &self.from {
            Some(sock) => sock,
            None => self.from.insert(kept_socket().map_err(failed)?),
        };
        send_bytes_from(
            sock,
            &self.socket,
            datagram(alert, self.with_level).as_bytes(),
        )
        .map_err(failed)
    }

    /// Sends `alert`. The first failure is logged (target `clpd`); later ones are
    /// not until a send works again. Returns whether the alert was sent.
    pub fn send_or_report(&mut self, alert: &Alert) -> bool {
        match self.send(alert) {
            Ok(()) => {
                if self.reported {
                    self.reported = false;
                    tracing::info!(target: "clpd", "the syslog socket {} works again", self.socket.display());
                }
                true
            }
            Err(e) => {
                if !self.reported {
                    self.reported = true;
                    tracing::warn!(
                        target: "clpd",
                        "{e} (further syslog errors are not reported until it works again)"
                    );
                }
                false
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn alert(level: Level) -> Alert {
        let when = Local.with_ymd_and_hms(2024, 3, 5, 3, 4, 5).unwrap();
        Alert::at(
            when,
            "n1",
            "rm",
            9,
            level,
            "Detected an error in monitoring userw. (1 : timeout)",
        )
    }

    #[test]
    fn the_line_shape() {
        assert_eq!(
            datagram(&alert(Level::Error), true),
            "<27>Mar  5 03:04:05 clusterpro: ERROR <type: rm><event: 9> Detected an error in monitoring userw. (1 : timeout)"
        );
        assert_eq!(
            datagram(&alert(Level::Error), false),
            "<27>Mar  5 03:04:05 clusterpro: <type: rm><event: 9> Detected an error in monitoring userw. (1 : timeout)"
        );
        assert!(datagram(&alert(Level::Info), true).starts_with("<30>Mar  5 "));
        assert!(datagram(&alert(Level::Info), true).contains("clusterpro: INFO <type: rm>"));
        assert!(datagram(&alert(Level::Warning), true).starts_with("<28>"));
        assert!(datagram(&alert(Level::Warning), true).contains(": WARNING <type:"));
    }

    /// The kept socket has room for a stalled syslog daemon's whole queue.
    #[test]
    fn the_kept_socket_has_a_large_send_buffer() {
        use nix::sys::socket::{getsockopt, sockopt};
        let sock = kept_socket().unwrap();
        let size = getsockopt(&sock, sockopt::SndBuf).unwrap();
        if nix::unistd::geteuid().is_root() {
            assert!(size >= SEND_BUFFER, "{size}");
        } else {
            // Capped at net.core.wmem_max (doubled by the kernel).
            assert!(size > 212_992, "{size}");
        }
    }

    #[test]
    fn control_characters_become_spaces() {
        let a = Alert::new("n1", "logcmd", 1, Level::Info, "two\nlines\r");
        assert_eq!(message(&a, false), "<type: logcmd><event: 1> two lines ");
    }

    #[test]
    fn relocated_roots_get_the_socket_under_the_root() {
        let mut routing = AlertRouting {
            overrides: Vec::new(),
            mail: None,
            syslog_socket: String::new(),
            syslog_level: true,
            command_timeout: Duration::from_secs(30),
        };
        assert_eq!(
            socket_path(&Paths::new("/"), &routing),
            Path::new("/dev/log")
        );
        assert_eq!(
            socket_path(&Paths::new("/tmp/r"), &routing),
            Path::new("/tmp/r/dev/log")
        );
        routing.syslog_socket = "/run/s.sock".into();
        assert_eq!(
            socket_path(&Paths::new("/tmp/r"), &routing),
            Path::new("/tmp/r/run/s.sock")
        );
    }

    #[test]
    fn a_datagram_reaches_a_bound_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut sender = SyslogSender::at(&path, true);
        assert!(sender.send_or_report(&alert(Level::Error)));
        let mut buf = [0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            datagram(&alert(Level::Error), true)
        );
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.sock");
        let err = send(&path, &alert(Level::Info), true).unwrap_err();
        assert!(err.message.contains("none.sock"), "{}", err.message);
        let mut sender = SyslogSender::at(&path, true);
        assert!(!sender.send_or_report(&alert(Level::Info)));
        assert!(sender.reported);
        // Reported once; a later success clears it.
        assert!(!sender.send_or_report(&alert(Level::Info)));
        let _rx = UnixDatagram::bind(&path).unwrap();
        assert!(sender.send_or_report(&alert(Level::Info)));
        assert!(!sender.reported);
    }

    #[test]
    fn a_full_receiver_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.sock");
        let _rx = UnixDatagram::bind(&path).unwrap();
        // Nobody reads: the queue fills and sends fail with EAGAIN instead of blocking.
        let started = std::time::Instant::now();
        let mut failed = false;
        for _ in 0..100_000 {
            if send(&path, &alert(Level::Info), true).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "the receive queue never filled");
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn a_stream_socket_gets_a_nul_terminated_record() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        send(&path, &alert(Level::Warning), false).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        let mut want = datagram(&alert(Level::Warning), false).into_bytes();
        want.push(0);
        assert_eq!(got, want);
    }
}
