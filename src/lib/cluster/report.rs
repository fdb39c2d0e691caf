//! The envelope of a status report between servers.
//!
//! Every clpd sends what it is authoritative for (its own snapshot, its view
//! of the links) to the others over CPG. This module only wraps and unwraps:
//! the payload is any serde value, so the cluster layer does not depend on the
//! status types above it. On the wire: deflate of the JSON object
//! `{"kind": "report", "version": 1, "body": ...}`. JSON keeps the snapshot's
//! own schema rules (fields are only added); deflate makes a snapshot of a
//! thousand monitors (about 400 KiB of JSON) a few tens of KiB, well under
//! what CPG carries comfortably in one message (see [`MAX_REPORT`]).

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The envelope's tag: other message kinds share the group.
pub const REPORT_KIND: &str = "report";

/// The envelope's version; a report of another version is ignored (and logged).
pub const REPORT_VERSION: u32 = 1;

/// The largest compressed report clpd sends. CPG takes messages of up to
/// 1 MiB and more, but splits anything above its frame size (about 64 KiB)
/// into fragments that hold up the group's ordered delivery; a report beyond
/// this is not sent (the others keep the last one, then count it stale).
pub const MAX_REPORT: usize = 256 * 1024;

/// The largest decompressed report clpd accepts (a bound on memory against a
/// corrupt or hostile message).
pub const MAX_REPORT_JSON: u64 = 16 * 1024 * 1024;

#[derive(Serialize)]
struct OutEnvelope<'a, T> {
    kind: &'a str,
    version: u32,
    body: &'a T,
}

/// The envelope without its body: read first, to tell a report of this
/// version from anything else before decoding the body.
#[derive(Deserialize)]
struct Header {
    kind: String,
    version: u32,
}

#[derive(Deserialize)]
struct InEnvelope<T> {
    body: Option<T>,
}

/// Why a message is not a report this clpd can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// Another kind of message (not an error: someone else's business).
    NotAReport,
    /// A report of a version this clpd does not read.
    Version(u32),
    /// Larger than [`MAX_REPORT`] once encoded.
    TooLarge(usize),
    /// Not deflate, not JSON, or not the expected shape.
    Malformed(String),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::NotAReport => write!(f, "not a status report"),
            ReportError::Version(v) => write!(
                f,
                "status report of version {v}, this clpd reads version {REPORT_VERSION}: update clp on every server"
            ),
            ReportError::TooLarge(n) => write!(
                f,
                "status report of {n} bytes once compressed, more than {MAX_REPORT}"
            ),
            ReportError::Malformed(why) => write!(f, "unreadable status report: {why}"),
        }
    }
}

/// The first byte of every report on the wire. The CPG group carries other
/// messages too (requests for other servers, JSON: they begin with `{`), and
/// the receiver tells them apart by this byte alone.
pub const REPORT_TAG: u8 = 0x01;

/// Whether `bytes` is a report message (by its first byte).
pub fn is_report(bytes: &[u8]) -> bool {
    bytes.first() == Some(&REPORT_TAG)
}

/// `body` as a report message.
pub fn encode<T: Serialize>(body: &T) -> Result<Vec<u8>, ReportError> {
    let envelope = OutEnvelope {
        kind: REPORT_KIND,
        version: REPORT_VERSION,
        body,
    };
    // JSON first, then one deflate pass: serde's many small writes straight
    // into the encoder cost five times as much.
    let json = serde_json::to_vec(&envelope).map_err(|e| ReportError::Malformed(e.to_string()))?;
    let mut bytes = vec![REPORT_TAG];
    bytes.extend_from_slice(&deflate(&json));
    if bytes.len() > MAX_REPORT {
        return Err(ReportError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// The body of a report message.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ReportError> {
    let Some((&REPORT_TAG, bytes)) = bytes.split_first() else {
        return Err(ReportError::NotAReport);
    };
    let mut json = Vec::new();
    DeflateDecoder::new(bytes)
        .take(MAX_REPORT_JSON + 1)
        .read_to_end(&mut json)
        // Not deflate at all: a message of another kind (JSON, say).
        .map_err(|_| ReportError::NotAReport)?;
    if json.len() as u64 > MAX_REPORT_JSON {
        return Err(ReportError::Malformed(format!(
            "more than {MAX_REPORT_JSON} bytes once decompressed"
        )));
    }
    let header: Header = serde_json::from_slice(&json).map_err(|_| ReportError::NotAReport)?;
    if header.kind != REPORT_KIND {
        return Err(ReportError::NotAReport);
    }
    if header.version != REPORT_VERSION {
        return Err(ReportError::Version(header.version));
    }
    let envelope: InEnvelope<T> =
        serde_json::from_slice(&json).map_err(|e| ReportError::Malformed(e.to_string()))?;
    envelope
        .body
        .ok_or_else(|| ReportError::Malformed("no body".into()))
}

/// `json` deflated as a message carries it.
pub fn deflate(json: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(json);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json` as a report travels: the tag, then deflated.
    fn wire(json: &[u8]) -> Vec<u8> {
        let mut bytes = vec![REPORT_TAG];
        bytes.extend_from_slice(&deflate(json));
        bytes
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Body {
        name: String,
        values: Vec<u32>,
    }

    #[test]
    fn a_report_comes_back_as_it_was_sent() {
        let body = Body {
            name: "node1".into(),
            values: (0..1000).collect(),
        };
        let bytes = encode(&body).unwrap();
        assert_eq!(decode::<Body>(&bytes).unwrap(), body);
    }

    #[test]
    fn repetitive_status_compresses_well() {
        let body = Body {
            name: "x".repeat(200_000),
            values: vec![7; 10_000],
        };
        let bytes = encode(&body).unwrap();
        assert!(bytes.len() < 10_000, "{} bytes", bytes.len());
    }

    #[test]
    fn other_messages_and_versions_are_told_apart() {
        assert_eq!(
            decode::<Body>(b"{\"kind\":\"forward\"}"),
            Err(ReportError::NotAReport)
        );
        assert!(!is_report(b"{\"kind\":\"forward\"}"));
        assert!(is_report(&wire(b"{}")));
        let forward = wire(br#"{"kind":"forward","version":1,"body":{}}"#);
        assert_eq!(decode::<Body>(&forward), Err(ReportError::NotAReport));
        let future = wire(br#"{"kind":"report","version":2,"body":{}}"#);
        assert_eq!(decode::<Body>(&future), Err(ReportError::Version(2)));
        let wrong = wire(br#"{"kind":"report","version":1,"body":{"name":1}}"#);
        assert!(matches!(
            decode::<Body>(&wrong),
            Err(ReportError::Malformed(_))
        ));
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let huge = vec![b' '; (MAX_REPORT_JSON + 10) as usize];
        assert!(matches!(
            decode::<Body>(&wire(&huge)),
            Err(ReportError::Malformed(_))
        ));
    }
}
