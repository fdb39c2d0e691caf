//! After clpd starts a resource's script, the rest of its turn waits a moment.
//!
//! Why: the turn's bookkeeping (alerts, the status snapshot and state file,
//! answers, log lines) wakes clpd's writer threads, and on a small machine
//! they run on the CPU of the script just started, ahead of it. A restart's
//! start.sh then waited for them. Traced over 100 restarts on the bench
//! machine (bench/README.md): between its spawn and the first line of the new
//! start.sh, the loop and its writer threads took 0.25 ms of that CPU, and
//! the start.sh's first line came 0.3 ms later than without clpd around it.
//!
//! So a turn that started a resource script (start.sh or stop.sh) leaves its
//! bookkeeping to the turn at [`SCRIPTS_FIRST`] after the spawn (later spawns
//! move it, up to [`SCRIPTS_FIRST_MOST`] after the first). Nobody waits on it
//! at that scale: a command's answer and `clpstat`'s view come 2 ms later.
//! What a script's end leads to (the next script, a recovery) is not held:
//! the loop still takes every event at once. Monitors' checks do not count
//! as scripts here: a thousand genw checks a second would double the loop's
//! wake-ups. With several servers in clp.conf nothing is held back: the
//! placement reads the service's states turn by turn (the factor of a stop
//! decides where its groups go), and its messages to the other servers must
//! not wait.

use std::time::{Duration, Instant};

use super::timers::TimerHandle;

/// How long a turn's bookkeeping waits after it started a resource script.
pub(super) const SCRIPTS_FIRST: Duration = Duration::from_millis(2);

/// The longest bookkeeping waits, however many scripts keep starting.
pub(super) const SCRIPTS_FIRST_MOST: Duration = Duration::from_millis(10);

/// When the bookkeeping held back for scripts just started may run.
pub(super) struct ScriptsFirst {
    wait: Duration,
    /// The first spawn of the stretch the bookkeeping has waited for.
    since: Option<Instant>,
    until: Option<Instant>,
    /// The timer armed for `until`.
    pub timer: Option<TimerHandle>,
}

impl ScriptsFirst {
    /// `wait`: [`SCRIPTS_FIRST`]; zero turns holding back off (the daemon's
    /// unit tests, which play the loop's turns themselves).
    pub fn new(wait: Duration) -> ScriptsFirst {
        ScriptsFirst {
            wait,
            since: None,
            until: None,
            timer: None,
        }
    }

    /// A resource script was started at `now`. Returns when the bookkeeping
    /// may run, if that moved (a timer must wake the loop then).
    pub fn started(&mut self, now: Instant) -> Option<Instant> {
        if self.wait.is_zero() {
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let until = (now + self.wait).min(since + SCRIPTS_FIRST_MOST);
        if self.until == Some(until) {
            return None;
        }
        self.until = Some(until);
        Some(until)
    }

    /// Whether the turn at `now` does its bookkeeping; once it does, the
    /// stretch is over.
    pub fn may_settle(&mut self, now: Instant) -> bool {
        match self.until {
            Some(until) if now < until => false,
            _ => {
                self.since = None;
                self.until = None;
                true
            }
        }
    }

    /// Whether bookkeeping is being held back.
    #[cfg(test)]
    pub fn holding(&self) -> bool {
        self.until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_waits_after_a_spawn_and_later_spawns_move_it_up_to_the_most() {
        let t0 = Instant::now();
        let mut first = ScriptsFirst::new(SCRIPTS_FIRST);
        assert!(first.may_settle(t0), "nothing started: no wait");
        assert_eq!(first.started(t0), Some(t0 + SCRIPTS_FIRST));
        assert!(first.holding());
        assert!(!first.may_settle(t0 + Duration::from_millis(1)));
        // A second script 1 ms later: 2 ms from it.
        let t1 = t0 + Duration::from_millis(1);
        assert_eq!(first.started(t1), Some(t1 + SCRIPTS_FIRST));
        assert!(!first.may_settle(t0 + SCRIPTS_FIRST));
        // Scripts every millisecond: never beyond the most after the first.
        let mut last = None;
        for ms in 2..30 {
            if let Some(at) = first.started(t0 + Duration::from_millis(ms)) {
                last = Some(at);
            }
        }
        assert_eq!(last, Some(t0 + SCRIPTS_FIRST_MOST));
        assert!(first.may_settle(t0 + SCRIPTS_FIRST_MOST));
        assert!(!first.holding());
        // A new stretch starts from its own first spawn.
        let t2 = t0 + Duration::from_millis(50);
        assert_eq!(first.started(t2), Some(t2 + SCRIPTS_FIRST));
    }

    #[test]
    fn a_zero_wait_never_holds_anything_back() {
        let t0 = Instant::now();
        let mut first = ScriptsFirst::new(Duration::ZERO);
        assert_eq!(first.started(t0), None);
        assert!(!first.holding());
        assert!(first.may_settle(t0));
    }
}
