//! Commands between the clp programs and clpd: a Unix socket in the run directory.
//!
//! Framing: a 4-byte big-endian length, then that many bytes of JSON. A frame
//! larger than [`MAX_FRAME`] is refused before it is read. Every message carries
//! [`PROTOCOL_VERSION`]; a mismatch is answered with a clear error. One request
//! and one response per connection. The daemon accepts only peers whose uid is
//! root or its own (SO_PEERCRED), and never lets a slow client hold its loop:
//! connections are served on their own threads with read/write timeouts.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::{OsAction, StopFactor};
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;

/// Version of the request/response schema.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame accepted (requests and responses are small; the status is a file).
pub const MAX_FRAME: u32 = 1 << 20;
/// The socket file name in the run directory.
pub const SOCKET_FILE: &str = "clpd.sock";

/// The socket path under a root.
pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.run_dir().join(SOCKET_FILE)
}

/// What a program asks clpd to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Is the daemon alive? (answered at once)
    Ping,
    StartService,
    StopService {
        factor: StopFactor,
        then: Option<OsAction>,
    },
    Suspend,
    Resume,
    StartGroup {
        group: String,
    },
    StopGroup {
        group: String,
    },
    MoveGroup {
        group: String,
        dest: Option<String>,
    },
    StartResource {
        resource: String,
        force: bool,
    },
    StopResource {
        resource: String,
        force: bool,
    },
    /// Re-read etc/clp/clp.conf.
    Reload,
    /// clpmonctrl: act on monitors (empty list = all).
    Monitor {
        op: MonitorOp,
        monitors: Vec<String>,
    },
}

/// What clpmonctrl asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MonitorOp {
    Suspend,
    Resume,
    ClearCounters,
    DummyFailureOn,
    DummyFailureOff,
}

/// clpd's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Ok { message: String },
    Err { kind: ErrorKind, message: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    version: u32,
    body: T,
}

/// Writes one frame.
pub fn write_frame<T: Serialize>(stream: &mut impl Write, body: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec(&Envelope {
        version: PROTOCOL_VERSION,
        body,
    })
    .map_err(io::Error::other)?;
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "message too large"))?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(&bytes)?;
    stream.flush()
}

/// Reads one frame; refuses oversized frames and other protocol versions.
pub fn read_frame<T: for<'de> Deserialize<'de>>(stream: &mut impl Read) -> io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {len} bytes exceeds the limit of {MAX_FRAME}"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    stream.read_exact(&mut buf)?;
    // Check the version before the body, so a newer peer gets a precise answer.
    let version: serde_json::Value =
        serde_json::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    match version.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "protocol version {} is not {PROTOCOL_VERSION}: the clp programs and clpd are of different versions; restart clpd after an upgrade",
                    other.map_or("missing".to_string(), |v| v.to_string())
                ),
            ));
        }
    }
    let envelope: Envelope<T> =
        serde_json::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(envelope.body)
}

/// Sends `request` to the clpd of `paths` and waits up to `timeout` for the answer.
pub fn call(paths: &Paths, request: &Request, timeout: Duration) -> Result<Response> {
    let path = socket_path(paths);
    let mut stream = connect(&path)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| stream.set_read_timeout(Some(timeout)))
        .map_err(|e| ClpError::io("cannot configure", &path, e))?;
    write_frame(&mut stream, request)
        .map_err(|e| ClpError::io("cannot send to clpd at", &path, e))?;
    read_frame(&mut stream).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClpError::new(
            ErrorKind::Timeout,
            format!(
                "clpd did not answer within {} s; the operation may still be running (see clpstat)",
                timeout.as_secs()
            ),
        ),
        _ => ClpError::io("no answer from clpd at", &path, e),
    })
}

/// Like [`call`], turning an error response into a [`ClpError`].
pub fn call_ok(paths: &Paths, request: &Request, timeout: Duration) -> Result<String> {
    match call(paths, request, timeout)? {
        Response::Ok { message } => Ok(message),
        Response::Err { kind, message } => Err(ClpError::new(kind, message)),
    }
}

fn connect(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClpError::new(
            ErrorKind::NotRunning,
            "clpd is not running; start the cluster service with clpcl -s".to_string(),
        ),
        io::ErrorKind::PermissionDenied => ClpError::new(
            ErrorKind::Permission,
            format!(
                "permission denied on {}; run the command as root",
                path.display()
            ),
        ),
        _ => ClpError::io("cannot connect to clpd at", path, e),
    })
}

/// Whether a connected peer may send commands: root, or the daemon's own user.
pub fn peer_allowed(stream: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match getsockopt(stream, PeerCredentials) {
        Ok(cred) => cred.uid() == 0 || cred.uid() == nix::unistd::geteuid().as_raw(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_limits_hold() {
        let mut buf = Vec::new();
        let req = Request::StartResource {
            resource: "exec1".into(),
            force: true,
        };
        write_frame(&mut buf, &req).unwrap();
        let back: Request = read_frame(&mut buf.as_slice()).unwrap();
        assert_eq!(back, req);

        let mut huge = (MAX_FRAME + 1).to_be_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        let err = read_frame::<Request>(&mut huge.as_slice()).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"));

        let other = br#"{"version":99,"body":"Ping"}"#;
        let mut framed = (other.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(other);
        let err = read_frame::<Request>(&mut framed.as_slice()).unwrap_err();
        assert!(err.to_string().contains("protocol version 99"));
    }

    #[test]
    fn no_daemon_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = call(
            &Paths::new(dir.path()),
            &Request::Ping,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotRunning);
        assert!(err.message.contains("clpcl -s"));
    }
}
