//! The Unix-socket transport of the [`crate::protocol`]: how a request gets to
//! clpd and its reply back on this server.
//!
//! Framing: a 4-byte big-endian length, then that many bytes of one encoded
//! protocol envelope. A frame larger than [`MAX_FRAME`] is refused before it is
//! read. One request and one reply per connection. The daemon accepts only
//! peers whose uid is root or its own (SO_PEERCRED), and never lets a slow
//! client hold its loop: each connection is served by [`serve`] on a thread of
//! its own, with read and write timeouts.
//!
//! The transport knows messages only as [`Request`] in, [`Reply`] out: the
//! daemon hands [`serve`] a function that answers a request. A second
//! transport (HTTP for a REST API, a peer link between servers) plugs in at
//! the same place: it decodes its body with [`protocol::decode_request`],
//! authenticates the peer its own way, calls the same answering function and
//! encodes the [`Reply`] with [`protocol::encode`]. No second protocol.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;
use crate::protocol::{self, Rejection, Reply, Request};

/// Largest frame accepted (requests and replies are small; the status is a file).
pub const MAX_FRAME: u32 = 1 << 20;
/// The socket file name in the run directory.
pub use crate::paths::SOCKET_FILE;
/// How long the daemon waits for a connected client to send or take a frame.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket path under a root.
pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.socket_file()
}

/// The largest reply clpd writes and a program reads: a log archive or a
/// configuration from another server ([`Reply::Packed`], base64 of at most
/// 64 MiB). Requests stay within [`MAX_FRAME`]: anyone allowed to connect
/// sends them, while replies come from clpd itself.
pub const MAX_REPLY_FRAME: u32 = 96 << 20;

/// Writes one frame holding `bytes`.
pub fn write_frame(stream: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    write_frame_within(stream, bytes, MAX_FRAME)
}

fn write_frame_within(stream: &mut impl Write, bytes: &[u8], limit: u32) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|l| *l <= limit)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "message too large"))?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(bytes)?;
    stream.flush()
}

/// Reads one frame; refuses oversized frames before reading them.
pub fn read_frame(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    read_frame_within(stream, MAX_FRAME)
}

fn read_frame_within(stream: &mut impl Read, limit: u32) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {len} bytes exceeds the limit of {limit}"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

/// Sends `request` to the clpd of `paths` and waits up to `timeout` for its reply.
pub fn call(paths: &Paths, request: &Request, timeout: Duration) -> Result<Reply> {
    let path = socket_path(paths);
    let mut stream = connect(&path)?;
    stream
        .set_write_timeout(Some(PEER_TIMEOUT))
        .and_then(|()| stream.set_read_timeout(Some(timeout)))
        .map_err(|e| ClpError::io("cannot configure", &path, e))?;
    write_frame(&mut stream, &protocol::encode(request))
        .map_err(|e| ClpError::io("cannot send to clpd at", &path, e))?;
    let bytes = read_frame_within(&mut stream, MAX_REPLY_FRAME).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClpError::new(
            ErrorKind::Timeout,
            format!(
                "clpd did not answer within {} s; the operation may still be running (see clpstat)",
                timeout.as_secs()
            ),
        ),
        _ => ClpError::io("no answer from clpd at", &path, e),
    })?;
    protocol::decode_reply(&bytes).map_err(|e| {
        ClpError::io(
            "no answer from clpd at",
            &path,
            io::Error::new(io::ErrorKind::InvalidData, e),
        )
    })
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
fn peer_allowed(stream: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match getsockopt(stream, PeerCredentials) {
        Ok(cred) => cred.uid() == 0 || cred.uid() == nix::unistd::geteuid().as_raw(),
        Err(_) => false,
    }
}

/// Serves one connection: checks the peer, reads one request, writes the
/// reply `answer` gives (nothing when it gives none: the daemon is going
/// away). Blocks as long as `answer` does; run it on a thread of its own.
pub fn serve(mut stream: UnixStream, answer: impl FnOnce(Request) -> Option<Reply>) {
    let reply = if !peer_allowed(&stream) {
        Some(Reply::Rejected(Rejection::NotAllowed))
    } else {
        let _ = stream.set_read_timeout(Some(PEER_TIMEOUT));
        let _ = stream.set_write_timeout(Some(PEER_TIMEOUT));
        match read_frame(&mut stream) {
            Ok(bytes) => match protocol::decode_request(&bytes) {
                Ok(request) => answer(request),
                Err(e) => Some(Reply::Rejected(e.into())),
            },
            Err(e) => Some(Reply::Rejected(Rejection::Invalid {
                reason: format!("bad request: {e}"),
            })),
        }
    };
    if let Some(reply) = reply {
        let _ = write_frame_within(&mut stream, &protocol::encode(&reply), MAX_REPLY_FRAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ObjectKind, PROTOCOL_VERSION};

    fn frame(bytes: &[u8]) -> Vec<u8> {
        let mut framed = (bytes.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(bytes);
        framed
    }

    #[test]
    fn frames_round_trip_and_oversized_frames_are_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        assert_eq!(read_frame(&mut buf.as_slice()).unwrap(), b"hello");

        let mut huge = (MAX_FRAME + 1).to_be_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        let err = read_frame(&mut huge.as_slice()).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"));
    }

    /// Runs `serve` on one end of a real socket pair and sends `bytes` from the other.
    fn exchange(
        bytes: &[u8],
        answer: impl FnOnce(Request) -> Option<Reply> + Send + 'static,
    ) -> Reply {
        let (mut client, server) = UnixStream::pair().unwrap();
        let served = std::thread::spawn(move || serve(server, answer));
        client.write_all(&frame(bytes)).unwrap();
        let reply = protocol::decode_reply(&read_frame(&mut client).unwrap()).unwrap();
        served.join().unwrap();
        reply
    }

    #[test]
    fn a_request_is_answered_over_a_socket() {
        let request = Request::StartGroup {
            group: "web".into(),
        };
        let expected = request.clone();
        let reply = exchange(&protocol::encode(&request), move |got| {
            assert_eq!(got, expected);
            Some(Reply::Rejected(Rejection::unknown(
                ObjectKind::Group,
                "web",
                vec!["db".into()],
            )))
        });
        assert_eq!(
            reply,
            Reply::Rejected(Rejection::Unknown {
                object: ObjectKind::Group,
                names: vec!["web".into()],
                known: vec!["db".into()],
            })
        );
    }

    #[test]
    fn another_protocol_version_is_answered_with_both_versions() {
        let reply = exchange(br#"{"version":1,"body":"Ping"}"#, |_| {
            panic!("a request of another version reached the daemon")
        });
        assert_eq!(
            reply,
            Reply::Rejected(Rejection::Version {
                daemon: PROTOCOL_VERSION,
                client: Some(1),
            })
        );
    }

    #[test]
    fn garbage_is_an_invalid_request() {
        let reply = exchange(b"not json", |_| panic!("garbage reached the daemon"));
        assert!(matches!(
            reply,
            Reply::Rejected(Rejection::Invalid { reason }) if reason.starts_with("bad request: ")
        ));
    }

    #[test]
    fn a_daemon_of_another_version_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        std::fs::create_dir_all(paths.run_dir()).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(socket_path(&paths)).unwrap();
        let old_daemon = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            read_frame(&mut stream).unwrap();
            let answer = br#"{"version":1,"body":{"Ok":{"message":"started"}}}"#;
            stream.write_all(&frame(answer)).unwrap();
        });
        let err = call(&paths, &Request::StartService, Duration::from_secs(5)).unwrap_err();
        old_daemon.join().unwrap();
        assert!(
            err.message.contains("protocol version 1 is not 2")
                && err.message.contains("restart clpd after an upgrade"),
            "{}",
            err.message
        );
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
