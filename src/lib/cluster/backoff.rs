//! How long the cluster thread waits between attempts to reach Corosync.

use std::time::Duration;

/// Doubling waits from `first` up to `max`; [`Backoff::reset`] after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Corosync takes a second or two to start: retry soon, then every 5 s.
    pub fn for_corosync() -> Backoff {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(5))
    }

    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// The longest wait.
    pub fn max_wait(&self) -> Duration {
        self.max
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}
