//! The language between the clp programs and clpd, independent of how it travels.
//!
//! A [`Request`] asks, a [`Reply`] answers: done, or a typed [`Rejection`]. Both
//! travel inside an envelope that carries [`PROTOCOL_VERSION`], encoded as
//! JSON by [`encode`] and read back by [`decode_request`] / [`decode_reply`],
//! which check the version before the body so that a peer of another version
//! gets a precise answer instead of a parse error.
//!
//! This module knows nothing of the engine, the daemon or the CLI: requests
//! use the shared words of [`crate::vocab`], and the daemon translates them to
//! engine commands in one place (`daemon::requests`). How the bytes move is a
//! transport's business: [`crate::ipc`] carries them over the Unix socket; an
//! HTTP transport would carry the same encoded envelopes as request and
//! response bodies.

mod reply;
mod request;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use reply::{Activity, NoAnswerCause, ObjectKind, Rejection, Reply, Settled};
pub use request::{ConfigBundle, MonitorOp, Request};

/// Version of the request/reply schema. 2: typed rejections.
pub const PROTOCOL_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    version: u32,
    body: T,
}

/// Why received bytes are not a message of this protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The peer speaks another version (`None`: no version at all).
    Version(Option<u64>),
    /// Not JSON, or not a message of this version.
    Malformed(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Version(other) => write!(
                f,
                "protocol version {} is not {PROTOCOL_VERSION}: the clp programs and clpd are of different versions; restart clpd after an upgrade",
                other.map_or("missing".to_string(), |v| v.to_string())
            ),
            DecodeError::Malformed(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for Rejection {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Version(client) => Rejection::Version {
                daemon: PROTOCOL_VERSION,
                client,
            },
            DecodeError::Malformed(why) => Rejection::Invalid {
                reason: format!("bad request: {why}"),
            },
        }
    }
}

/// Encodes a request or a reply in its versioned envelope.
pub fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    // Our messages are plain data (strings, enums, vectors): serialising
    // them to JSON cannot fail, but an empty frame is the honest fallback.
    serde_json::to_vec(&Envelope {
        version: PROTOCOL_VERSION,
        body,
    })
    .unwrap_or_default()
}

/// Decodes a request; checks the version first.
pub fn decode_request(bytes: &[u8]) -> Result<Request, DecodeError> {
    decode(bytes)
}

/// Decodes a reply; checks the version first.
pub fn decode_reply(bytes: &[u8]) -> Result<Reply, DecodeError> {
    decode(bytes)
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, DecodeError> {
    let malformed = |e: serde_json::Error| DecodeError::Malformed(e.to_string());
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        other => return Err(DecodeError::Version(other)),
    }
    let envelope: Envelope<T> = serde_json::from_value(value).map_err(malformed)?;
    Ok(envelope.body)
}
