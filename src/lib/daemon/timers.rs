//! The loop's timers: deadlines in time order, and a check's timeout taken
//! back when the check's result arrives.
//!
//! Every monitor check arms a timeout (often ten times its interval) that
//! almost never fires: the result comes first. Left in place, a thousand
//! monitors at 1 s kept ten thousand dead timeouts in the loop's timers, and
//! each one, when due, still went through the monitor engine to be found
//! stale. Taking a timeout back costs one lookup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use super::TimerKey;
use crate::engine::monitor::{CheckId, MonTimer};

/// One armed timer, to take it back ([`Timers::cancel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TimerHandle(Instant, u64);

/// Timers due at an instant, in the order they were armed at that instant.
#[derive(Default)]
pub(super) struct Timers {
    by_time: BTreeMap<(Instant, u64), TimerKey>,
    /// Arming order, to tell apart timers due at the same instant.
    next: u64,
    /// Where each check's timeout is in `by_time`.
    check_timeouts: HashMap<CheckId, (Instant, u64)>,
    /// Checks answered before their timeout was armed (a check made in the
    /// loop answers while the engine's effects are carried out, before the
    /// timeout that follows them): that timeout is not armed. Emptied at the
    /// end of each turn.
    answered_early: HashSet<CheckId>,
}

impl Timers {
    pub fn push(&mut self, at: Instant, key: TimerKey) {
        self.arm(at, key);
    }

    /// [`Timers::push`], keeping a handle to take the timer back.
    pub fn arm(&mut self, at: Instant, key: TimerKey) -> TimerHandle {
        let seq = self.next;
        self.next += 1;
        if let TimerKey::Monitor(_, MonTimer::CheckTimeout { check, .. }) = &key {
            if self.answered_early.remove(check) {
                return TimerHandle(at, seq);
            }
            self.check_timeouts.insert(*check, (at, seq));
        }
        self.by_time.insert((at, seq), key);
        TimerHandle(at, seq)
    }

    /// Takes back a timer that has not fired (one that has: nothing).
    pub fn cancel(&mut self, handle: TimerHandle) {
        if let Some(TimerKey::Monitor(_, MonTimer::CheckTimeout { check, .. })) =
            self.by_time.remove(&(handle.0, handle.1))
        {
            self.check_timeouts.remove(&check);
        }
    }

    /// The earliest timer.
    pub fn peek(&self) -> Option<(Instant, &TimerKey)> {
        self.by_time.first_key_value().map(|((at, _), k)| (*at, k))
    }

    pub fn pop(&mut self) -> Option<(Instant, TimerKey)> {
        let ((at, _), key) = self.by_time.pop_first()?;
        if let TimerKey::Monitor(_, MonTimer::CheckTimeout { check, .. }) = &key {
            self.check_timeouts.remove(check);
        }
        Some((at, key))
    }

    /// The result of `check` has come: its timeout has nothing left to cut
    /// (armed already, or about to be in this turn).
    pub fn check_answered(&mut self, check: CheckId) {
        match self.check_timeouts.remove(&check) {
            Some(at) => {
                self.by_time.remove(&at);
            }
            None => {
                self.answered_early.insert(check);
            }
        }
    }

    /// The turn's effects are carried out: an early answer whose timeout was
    /// not armed in it has none coming (it fired before the answer).
    pub fn end_of_turn(&mut self) {
        self.answered_early.clear();
    }

    /// Every armed timer, earliest first (tests).
    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &TimerKey> {
        self.by_time.values()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_time.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timeout(monitor: &str, check: CheckId) -> TimerKey {
        TimerKey::Monitor(monitor.into(), MonTimer::CheckTimeout { epoch: 1, check })
    }

    #[test]
    fn timers_come_out_in_time_order_then_in_arming_order() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.push(t0 + Duration::from_millis(20), TimerKey::Report);
        timers.push(t0 + Duration::from_millis(10), TimerKey::SyncWait);
        timers.push(t0 + Duration::from_millis(10), TimerKey::Publish);
        assert_eq!(
            timers.peek().map(|(at, _)| at),
            Some(t0 + Duration::from_millis(10))
        );
        let order: Vec<TimerKey> = std::iter::from_fn(|| timers.pop().map(|(_, k)| k)).collect();
        assert_eq!(
            order,
            vec![TimerKey::SyncWait, TimerKey::Publish, TimerKey::Report]
        );
    }

    #[test]
    fn a_cancelled_timer_never_fires_and_a_fired_one_is_not_missed() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let gone = timers.arm(t0 + Duration::from_millis(2), TimerKey::ScriptsFirst);
        let check = timers.arm(t0 + Duration::from_secs(10), timeout("psw1", 7));
        timers.push(t0 + Duration::from_millis(4), TimerKey::ScriptsFirst);
        timers.cancel(gone);
        timers.cancel(gone);
        assert_eq!(timers.len(), 2);
        assert_eq!(
            timers.pop(),
            Some((t0 + Duration::from_millis(4), TimerKey::ScriptsFirst))
        );
        // A cancelled check timeout is forgotten as its answer would be.
        timers.cancel(check);
        assert_eq!(timers.len(), 0);
        assert!(timers.check_timeouts.is_empty());
    }

    #[test]
    fn a_withdrawn_check_timeout_never_fires_and_the_others_stay() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.push(t0 + Duration::from_secs(10), timeout("psw1", 7));
        timers.push(t0 + Duration::from_secs(10), timeout("psw2", 8));
        timers.push(t0 + Duration::from_secs(1), TimerKey::Publish);
        timers.check_answered(7);
        // Twice, or for a check that has none: nothing happens.
        timers.check_answered(7);
        timers.check_answered(99);
        timers.end_of_turn();
        assert_eq!(timers.len(), 2);
        assert_eq!(timers.pop().map(|(_, k)| k), Some(TimerKey::Publish));
        assert_eq!(timers.pop().map(|(_, k)| k), Some(timeout("psw2", 8)));
        assert!(timers.pop().is_none());
        // A timeout that fired is forgotten: withdrawing it later is harmless.
        timers.push(t0, timeout("psw3", 9));
        assert_eq!(timers.pop().map(|(_, k)| k), Some(timeout("psw3", 9)));
        timers.check_answered(9);
        timers.end_of_turn();
        assert!(timers.check_timeouts.is_empty());
        assert!(timers.answered_early.is_empty());
    }

    #[test]
    fn a_check_answered_before_its_timeout_is_armed_gets_none() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        // pidw answers in the loop while the engine's effects are carried
        // out: the answer comes before the timeout of the same check.
        timers.check_answered(5);
        timers.push(t0 + Duration::from_secs(10), timeout("pidw1", 5));
        assert_eq!(timers.len(), 0);
        // The next check's timeout is armed as usual.
        timers.end_of_turn();
        timers.push(t0 + Duration::from_secs(11), timeout("pidw1", 6));
        assert_eq!(timers.len(), 1);
    }
}
