//! The origin's forwarded requests, each waiting for its answer.

use std::collections::BTreeMap;

use crate::protocol::{NoAnswerCause, Rejection, Reply};

/// Requests forwarded to other servers; `T` is how to reach the client
/// (a reply channel in clpd). Times are the caller's milliseconds.
#[derive(Debug)]
pub struct Pending<T> {
    next_id: u64,
    waiting: BTreeMap<u64, Entry<T>>,
    limit: usize,
}

#[derive(Debug)]
struct Entry<T> {
    target: String,
    deadline: u64,
    wait_secs: u64,
    client: T,
}

/// A request that is over: its client and the reply it gets.
#[derive(Debug, PartialEq, Eq)]
pub struct Settled<T> {
    pub id: u64,
    pub client: T,
    pub reply: Reply,
}

impl<T> Pending<T> {
    /// A table holding at most `limit` requests at once.
    pub fn new(limit: usize) -> Self {
        Pending {
            next_id: 1,
            waiting: BTreeMap::new(),
            limit,
        }
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Records a request for `target` sent at `now`, answered by a rejection
    /// at `now + wait_secs` at the latest; returns its id, or gives `client`
    /// back when the table is full.
    pub fn insert(&mut self, target: &str, client: T, now: u64, wait_secs: u64) -> Result<u64, T> {
        if self.waiting.len() >= self.limit {
            return Err(client);
        }
        let id = self.next_id;
        self.next_id += 1;
        let deadline = now.saturating_add(wait_secs.saturating_mul(1000));
        self.waiting.insert(
            id,
            Entry {
                target: target.to_string(),
                deadline,
                wait_secs,
                client,
            },
        );
        Ok(id)
    }

    /// The deadline of request `id`, for the caller's timer.
    pub fn deadline(&self, id: u64) -> Option<u64> {
        self.waiting.get(&id).map(|e| e.deadline)
    }

    /// The answer to request `id` from `from`: settles it, or None when no
    /// such request waits (answered already, timed out, or not ours) or the
    /// answer comes from another server than its target.
    pub fn answer(&mut self, id: u64, from: &str, reply: Reply) -> Option<Settled<T>> {
        if self.waiting.get(&id)?.target != from {
            return None;
        }
        let entry = self.waiting.remove(&id)?;
        Some(Settled {
            id,
            client: entry.client,
            reply,
        })
    }

    /// Settles request `id` with `cause` when it still waits (a send that
    /// failed, the cluster connection lost).
    pub fn fail(&mut self, id: u64, cause: NoAnswerCause) -> Option<Settled<T>> {
        let entry = self.waiting.remove(&id)?;
        Some(settled(id, entry, cause))
    }

    /// The requests whose deadline has come at `now`.
    pub fn expire(&mut self, now: u64) -> Vec<Settled<T>> {
        let due: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        due.into_iter()
            .filter_map(|id| {
                let entry = self.waiting.remove(&id)?;
                let secs = entry.wait_secs;
                Some(settled(id, entry, NoAnswerCause::Deadline { secs }))
            })
            .collect()
    }

    /// The requests whose target is not among the servers up now: they will
    /// not be answered.
    pub fn left(&mut self, is_up: impl Fn(&str) -> bool) -> Vec<Settled<T>> {
        let gone: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, e)| !is_up(&e.target))
            .map(|(id, _)| *id)
            .collect();
        gone.into_iter()
            .filter_map(|id| self.fail(id, NoAnswerCause::Left))
            .collect()
    }
}

fn settled<T>(id: u64, entry: Entry<T>, cause: NoAnswerCause) -> Settled<T> {
    Settled {
        id,
        client: entry.client,
        reply: Reply::Rejected(Rejection::NoAnswer {
            server: entry.target,
            cause,
        }),
    }
}
