//! Requests for another server: what clpds say to each other over the
//! cluster (Corosync's CPG), and the requests a server waits answers for.
//!
//! Every message goes to every member (that is what CPG does) inside a
//! versioned envelope with a `kind` ([`message`]); a server acts only on what
//! names it. The request inside is the one protocol of [`crate::protocol`]:
//! the target carries it out through the same path as a request from a local
//! program, and its [`crate::protocol::Reply`] travels back as is.
//!
//! A message too large for one cluster message (a configuration pushed to
//! the other servers) travels in parts ([`encode_parts`], [`Assembler`]).
//!
//! [`Pending`] is the origin's table of forwarded requests: each waits for
//! its answer until a deadline, and is answered with a typed rejection when
//! the deadline passes or its target leaves. Pure logic with the caller's
//! clock, so the daemon's loop stays the only owner of time.

mod message;
mod paced;
mod parts;
mod pending;
#[cfg(test)]
mod tests;

pub use message::{Incoming, MAX_MESSAGE, Message, decode, decode_whole, encode};
pub use paced::{Abandoned, Paced, STALL_MS as PACED_STALL_MS, WINDOW as PACED_WINDOW};
pub use parts::{Assembled, Assembler, MAX_WHOLE, PART_DATA, encode_parts};
pub use pending::{Pending, Settled};
