//! Messages waiting for Corosync's flow control.
//!
//! CPG refuses a message with TRY_AGAIN while its queues are full. The
//! message keeps its place (the order of a server's messages matters) and
//! the thread retries soon; meanwhile new messages wait behind it, up to a
//! bound that [`crate::cluster::ClusterLink::send`] enforces.

use std::collections::VecDeque;

/// What Corosync did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Flow control: keep it, retry later.
    TryAgain,
    /// Refused for good (too big, not a member): dropped, with why.
    Failed(String),
}

#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Vec<u8>>,
}

impl Outbox {
    pub fn push(&mut self, bytes: Vec<u8>) {
        self.queue.push_back(bytes);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Sends in order until empty or Corosync says TRY_AGAIN; returns the
    /// messages refused for good, each with why.
    pub fn flush(&mut self, mut send: impl FnMut(&[u8]) -> SendOutcome) -> Vec<(Vec<u8>, String)> {
        let mut failures = Vec::new();
        while let Some(bytes) = self.queue.front() {
            let outcome = send(bytes);
            if outcome == SendOutcome::TryAgain {
                break;
            }
            let Some(bytes) = self.queue.pop_front() else {
                break;
            };
            if let SendOutcome::Failed(why) = outcome {
                failures.push((bytes, why));
            }
        }
        failures
    }

    /// Forgets what waits (the connection ended: a new membership may not
    /// want yesterday's news); returns how many messages were dropped.
    pub fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }
}
