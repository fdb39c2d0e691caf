//! Messages larger than one cluster message travel in parts.
//!
//! A request carrying a whole configuration (scripts included) outgrows
//! [`MAX_MESSAGE`]. Rather than raising that cap for every message, the
//! sender cuts the encoded message into [`Message::Part`]s that each fit,
//! and the recipient joins them before reading the message as usual. CPG
//! delivers one sender's messages in the order it sent them, and the daemon
//! queues all parts of a message at once, so one sender's parts never
//! interleave: a receiver keeps at most one unfinished message per sender,
//! and anything out of order drops it (the origin's deadline then answers).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::message::{MAX_MESSAGE, Message, encode_unbounded};

/// Raw bytes of a message carried by one part: base64 makes 60 KiB of
/// them, which leaves room for the envelope under [`MAX_MESSAGE`].
pub const PART_DATA: usize = 45 * 1024;

/// The largest message sent in parts: the answer carrying a log archive of
/// another server (at most 64 MiB, 4/3 of it as base64, and the envelope).
/// A configuration bundle is far smaller (the local socket's frame caps it).
pub const MAX_WHOLE: usize = 96 * 1024 * 1024;

/// What a receiver reserves for a message in parts before its bytes come:
/// a forged count must not make it reserve [`MAX_WHOLE`].
const RESERVE: usize = 1024 * 1024;

/// The number of parts of the largest message.
const MAX_PARTS: usize = MAX_WHOLE.div_ceil(PART_DATA);

/// The bytes to send for `message`: itself when it fits one cluster
/// message, else its parts for `transfer` (the sender's number for it), in
/// order. None when it exceeds [`MAX_WHOLE`].
pub fn encode_parts(message: &Message, transfer: u64) -> Option<Vec<Vec<u8>>> {
    let whole = encode_unbounded(message)?;
    if whole.len() <= MAX_MESSAGE {
        return Some(vec![whole]);
    }
    if whole.len() > MAX_WHOLE {
        return None;
    }
    let to = message.recipient().to_string();
    let chunks: Vec<&[u8]> = whole.chunks(PART_DATA).collect();
    let count = u32::try_from(chunks.len()).ok()?;
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let part = Message::Part {
                to: to.clone(),
                transfer,
                index: u32::try_from(index).ok()?,
                count,
                data: BASE64.encode(chunk),
            };
            let bytes = encode_unbounded(&part)?;
            (bytes.len() <= MAX_MESSAGE).then_some(bytes)
        })
        .collect()
}

/// What one part made of the sender's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// More parts are to come.
    Waiting,
    /// The last part came: the whole message's bytes.
    Whole(Vec<u8>),
    /// The part did not fit the message being joined: both are dropped.
    Dropped(String),
}

#[derive(Debug)]
struct Partial {
    transfer: u64,
    count: u32,
    next: u32,
    bytes: Vec<u8>,
}

/// The receiver's unfinished messages, one per sender at most.
#[derive(Debug, Default)]
pub struct Assembler {
    partial: BTreeMap<String, Partial>,
}

impl Assembler {
    /// Part `index` of `count` of `from`'s message `transfer`, `data` as
    /// received (base64).
    pub fn add(
        &mut self,
        from: &str,
        transfer: u64,
        index: u32,
        count: u32,
        data: &str,
    ) -> Assembled {
        let chunk = match BASE64.decode(data.as_bytes()) {
            Ok(chunk) if chunk.len() <= PART_DATA => chunk,
            Ok(chunk) => return self.drop(from, format!("a part of {} bytes", chunk.len())),
            Err(e) => return self.drop(from, format!("a part that is not base64: {e}")),
        };
        if count < 2 || count as usize > MAX_PARTS {
            return self.drop(from, format!("a message of {count} parts"));
        }
        if index == 0 {
            // A new message: one still unfinished will never be (its sender
            // went on to the next), so it is replaced.
            self.partial.insert(
                from.to_string(),
                Partial {
                    transfer,
                    count,
                    next: 0,
                    bytes: Vec::with_capacity((count as usize * PART_DATA).min(RESERVE)),
                },
            );
        }
        let Some(partial) = self.partial.get_mut(from) else {
            return Assembled::Dropped(format!(
                "part {index} of message {transfer} came without its first part"
            ));
        };
        if partial.transfer != transfer || partial.count != count || partial.next != index {
            let why = format!(
                "part {index}/{count} of message {transfer} while part {}/{} of message {} was due",
                partial.next, partial.count, partial.transfer
            );
            return self.drop(from, why);
        }
        partial.bytes.extend_from_slice(&chunk);
        partial.next += 1;
        if partial.next < partial.count {
            return Assembled::Waiting;
        }
        match self.partial.remove(from) {
            Some(done) => Assembled::Whole(done.bytes),
            None => Assembled::Waiting,
        }
    }

    fn drop(&mut self, from: &str, why: String) -> Assembled {
        self.partial.remove(from);
        Assembled::Dropped(why)
    }

    /// Forgets the unfinished messages of senders no longer up.
    pub fn forget(&mut self, is_up: impl Fn(&str) -> bool) {
        self.partial.retain(|from, _| is_up(from));
    }

    /// Senders with an unfinished message.
    pub fn unfinished(&self) -> usize {
        self.partial.len()
    }
}
