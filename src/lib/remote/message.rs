//! The envelope of messages between clpds.
//!
//! JSON like the local protocol (one encoding to read in logs and captures;
//! the messages are small and rare, a few per operator command), with the
//! version first and a `kind` tag: a later kind (the exchange of status) is
//! added as a variant, and a server that does not know a kind skips it
//! instead of failing, so servers of neighbouring versions can share a
//! cluster during an upgrade.

use serde::{Deserialize, Serialize};

use crate::engine::placement::ClaimReason;
use crate::protocol::{PROTOCOL_VERSION, Reply, Request};

/// The largest message sent or read. Corosync itself takes far more, but a
/// request is a few hundred bytes; anything larger is a bug or an attack, or
/// a configuration, which travels in parts of this size ([`super::parts`]).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// One message between clpds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Message {
    /// `origin` asks `target` to carry out `request`; `id` is the origin's
    /// number for it.
    Forward {
        id: u64,
        origin: String,
        target: String,
        request: Request,
    },
    /// The answer to `origin`'s request `id`.
    Answer {
        id: u64,
        origin: String,
        reply: Reply,
    },
    /// Part `index` of `count` of a larger message for `to` (base64 of its
    /// encoded bytes); `transfer` is the sender's number for that message.
    Part {
        to: String,
        transfer: u64,
        index: u32,
        count: u32,
        data: String,
    },
    /// `server` asks for `group` (every server applies it in the cluster's
    /// order and reaches the same verdict, see `engine::placement`).
    Claim {
        group: String,
        server: String,
        reason: ClaimReason,
    },
    /// `server` stopped `group`; `next` takes it (a move or a failover, as
    /// `reason` says), `failed`: it failed on `server`.
    Release {
        group: String,
        server: String,
        next: Option<String>,
        reason: Option<ClaimReason>,
        failed: bool,
        /// `server`'s cluster service is stopping: no group goes there
        /// until it reports its service running again.
        #[serde(default)]
        stopping: bool,
    },
    /// `server` started `group` after its claim (`online`), or could not.
    Placed {
        group: String,
        server: String,
        online: bool,
    },
}

impl Message {
    /// The server the message is for.
    pub fn recipient(&self) -> &str {
        match self {
            Message::Forward { target, .. } => target,
            Message::Answer { origin, .. } => origin,
            Message::Part { to, .. } => to,
            // For every server.
            Message::Claim { .. } | Message::Release { .. } | Message::Placed { .. } => "",
        }
    }
}

#[derive(Serialize)]
struct Outgoing<'a> {
    version: u32,
    #[serde(flatten)]
    message: &'a Message,
}

#[derive(Deserialize)]
struct Envelope {
    version: u32,
    #[serde(flatten)]
    message: Message,
}

/// What received bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Message),
    /// A kind this server does not know (a newer peer's): skipped.
    UnknownKind(String),
    /// Not a message of ours: too large, not JSON, another version.
    Invalid(String),
}

/// The bytes of `message`, or None when it would exceed [`MAX_MESSAGE`].
pub fn encode(message: &Message) -> Option<Vec<u8>> {
    let bytes = encode_unbounded(message)?;
    (bytes.len() <= MAX_MESSAGE).then_some(bytes)
}

/// The bytes of `message`, whatever their size (for [`super::parts`]).
pub(super) fn encode_unbounded(message: &Message) -> Option<Vec<u8>> {
    serde_json::to_vec(&Outgoing {
        version: PROTOCOL_VERSION,
        message,
    })
    .ok()
}

/// Reads received bytes; never fails, says what they are.
pub fn decode(bytes: &[u8]) -> Incoming {
    decode_within(bytes, MAX_MESSAGE)
}

/// Reads a message joined from its parts: larger, and never itself a part.
pub fn decode_whole(bytes: &[u8]) -> Incoming {
    match decode_within(bytes, super::parts::MAX_WHOLE) {
        Incoming::Message(Message::Part { .. }) => {
            Incoming::Invalid("a message joined from parts is itself a part".into())
        }
        other => other,
    }
}

fn decode_within(bytes: &[u8], limit: usize) -> Incoming {
    if bytes.len() > limit {
        return Incoming::Invalid(format!(
            "message of {} bytes exceeds the limit of {limit}",
            bytes.len()
        ));
    }
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Incoming::Invalid(format!("not JSON: {e}")),
    };
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        other => {
            return Incoming::Invalid(format!(
                "protocol version {} is not {PROTOCOL_VERSION}",
                other.map_or("missing".to_string(), |v| v.to_string())
            ));
        }
    }
    let kind = value
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !matches!(
        kind.as_str(),
        "Forward" | "Answer" | "Part" | "Claim" | "Release" | "Placed"
    ) {
        return Incoming::UnknownKind(kind);
    }
    match serde_json::from_value::<Envelope>(value) {
        Ok(envelope) if envelope.version == PROTOCOL_VERSION => Incoming::Message(envelope.message),
        Ok(_) => Incoming::Invalid("version changed while reading".into()),
        Err(e) => Incoming::Invalid(format!("bad {kind} message: {e}")),
    }
}
