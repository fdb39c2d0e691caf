//! Messages in parts leave a few at a time.
//!
//! A log archive answered from another server is up to some 1,900 parts.
//! Queued at once they would fill the cluster thread's queue and Corosync's
//! own, and every other message of this server (status reports, answers)
//! would wait behind them. So a sender keeps at most [`WINDOW`] parts of a
//! message in flight: CPG delivers every message to its sender too, in the
//! cluster's order, and each of its own parts seen delivered lets the next
//! one go. One message in parts leaves at a time (a receiver joins one per
//! sender), the next waits its turn; small messages are not held back.
//!
//! Pure logic with the caller's clock (milliseconds): a message that makes
//! no progress for [`STALL_MS`] (its parts are no longer delivered: the
//! connection to Corosync was lost) is dropped, and its request's deadline
//! at the origin answers for it.

use std::collections::VecDeque;

/// Parts of one message in flight at most (about 480 KiB on the wire).
pub const WINDOW: u32 = 8;

/// A message whose parts stop being delivered for this long is dropped.
pub const STALL_MS: u64 = 30_000;

/// One message in parts, waiting or leaving.
#[derive(Debug)]
struct Transfer {
    to: String,
    transfer: u64,
    parts: VecDeque<Vec<u8>>,
    /// Parts handed to Corosync so far.
    sent: u32,
    /// Parts seen delivered so far.
    delivered: u32,
    count: u32,
    /// When it last moved (started, or a part was delivered).
    progress_at: u64,
}

/// A message that was dropped before all its parts left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned {
    pub to: String,
    pub transfer: u64,
    pub why: String,
}

/// This server's messages in parts: the one leaving and those waiting.
#[derive(Debug, Default)]
pub struct Paced {
    queue: VecDeque<Transfer>,
}

impl Paced {
    /// Queues the parts of message `transfer` for `to`, in order.
    pub fn push(&mut self, to: &str, transfer: u64, parts: Vec<Vec<u8>>, now: u64) {
        let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        if count == 0 {
            return;
        }
        self.queue.push_back(Transfer {
            to: to.to_string(),
            transfer,
            parts: parts.into(),
            sent: 0,
            delivered: 0,
            count,
            progress_at: now,
        });
    }

    /// The parts that may leave now, in order: up to [`WINDOW`] beyond the
    /// last one seen delivered, of the message at the head of the queue.
    pub fn ready(&mut self) -> Vec<Vec<u8>> {
        let Some(head) = self.queue.front_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while head.sent < head.delivered.saturating_add(WINDOW) {
            let Some(part) = head.parts.pop_front() else {
                break;
            };
            head.sent += 1;
            out.push(part);
        }
        out
    }

    /// Part `index` of this server's message `transfer` was delivered.
    /// Returns true when the queue moved (call [`Paced::ready`] again).
    pub fn delivered(&mut self, transfer: u64, index: u32, now: u64) -> bool {
        let Some(head) = self.queue.front_mut() else {
            return false;
        };
        if head.transfer != transfer || index < head.delivered || index >= head.sent {
            return false;
        }
        head.delivered = index + 1;
        head.progress_at = now;
        if head.delivered >= head.count {
            self.queue.pop_front();
            if let Some(next) = self.queue.front_mut() {
                next.progress_at = now;
            }
        }
        true
    }

    /// Drops the head message when it has not moved for [`STALL_MS`], and
    /// the messages for servers no longer up.
    pub fn prune(&mut self, now: u64, is_up: impl Fn(&str) -> bool) -> Vec<Abandoned> {
        let mut dropped = Vec::new();
        let mut kept = VecDeque::new();
        for (i, t) in std::mem::take(&mut self.queue).into_iter().enumerate() {
            let why = if !is_up(&t.to) {
                Some(format!("{} is no longer a member", t.to))
            } else if i == 0 && now.saturating_sub(t.progress_at) >= STALL_MS {
                Some(format!(
                    "no part delivered for {} s ({} of {} delivered)",
                    STALL_MS / 1000,
                    t.delivered,
                    t.count
                ))
            } else {
                None
            };
            match why {
                Some(why) => dropped.push(Abandoned {
                    to: t.to,
                    transfer: t.transfer,
                    why,
                }),
                None => kept.push_back(t),
            }
        }
        if let Some(head) = kept.front_mut()
            && head.sent == 0
            && !dropped.is_empty()
        {
            head.progress_at = now;
        }
        self.queue = kept;
        dropped
    }

    /// Drops everything (the connection to Corosync ended: parts queued
    /// before will not be delivered, so the receivers could not join them).
    pub fn clear(&mut self) -> Vec<Abandoned> {
        self.queue
            .drain(..)
            .map(|t| Abandoned {
                to: t.to,
                transfer: t.transfer,
                why: "the connection to Corosync ended".into(),
            })
            .collect()
    }

    /// Messages leaving or waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(n: u8) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![i]).collect()
    }

    #[test]
    fn a_window_of_parts_leaves_and_each_delivery_lets_one_more_go() {
        let mut paced = Paced::default();
        paced.push("node2", 7, parts(20), 0);
        let first = paced.ready();
        assert_eq!(first.len(), WINDOW as usize);
        assert_eq!(first[0], vec![0]);
        assert!(paced.ready().is_empty(), "the window is full");
        assert!(paced.delivered(7, 0, 10));
        assert_eq!(paced.ready(), vec![vec![8]]);
        // Another transfer's or an old index's delivery moves nothing.
        assert!(!paced.delivered(8, 1, 10));
        assert!(!paced.delivered(7, 0, 10));
        // A later index acknowledges the ones before it (CPG keeps order).
        assert!(paced.delivered(7, 5, 20));
        assert_eq!(paced.ready().len(), 5);
    }

    #[test]
    fn messages_leave_one_after_the_other() {
        let mut paced = Paced::default();
        paced.push("node2", 1, parts(3), 0);
        paced.push("node3", 2, parts(2), 0);
        assert_eq!(paced.ready().len(), 3);
        for i in 0..3 {
            paced.delivered(1, i, 5);
        }
        assert_eq!(paced.len(), 1);
        assert_eq!(paced.ready(), vec![vec![0], vec![1]]);
        paced.delivered(2, 1, 6);
        assert!(paced.is_empty());
    }

    #[test]
    fn a_stalled_message_and_one_for_a_server_gone_are_dropped() {
        let mut paced = Paced::default();
        paced.push("node2", 1, parts(20), 0);
        paced.push("node3", 2, parts(20), 0);
        paced.push("node4", 3, parts(20), 0);
        paced.ready();
        assert!(paced.prune(STALL_MS - 1, |_| true).is_empty());
        let dropped = paced.prune(STALL_MS, |s| s != "node4");
        let names: Vec<&str> = dropped.iter().map(|a| a.to.as_str()).collect();
        assert_eq!(names, ["node2", "node4"]);
        assert!(dropped[0].why.contains("0 of 20"), "{}", dropped[0].why);
        // The next one starts with a fresh clock.
        assert!(paced.prune(STALL_MS + 10, |_| true).is_empty());
        assert_eq!(paced.ready().len(), WINDOW as usize);
        assert_eq!(paced.clear().len(), 1);
    }
}
