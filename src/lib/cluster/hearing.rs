//! The self-check that keeps a deaf clpd from going unnoticed.
//!
//! clpd learns the group's members from Corosync's callbacks on the cluster
//! thread. If those stop arriving (a handle that no longer signals, a call
//! that never returns, a callback lost on the way), clpd would go on showing
//! a membership Corosync left long ago. So the thread that reads the links,
//! which has handles of its own, also asks Corosync who is in the group
//! ([`ClusterEvent::Observed`](super::ClusterEvent::Observed)), at each
//! membership change and with its periodic read. The loop compares that
//! answer with the members it was told of: a difference is normal for the
//! moment an event is on its way, and suspicious when it lasts.

use std::time::{Duration, Instant};

/// How long clpd's members may differ from Corosync's answer before clpd
/// counts itself deaf: five of the link reader's periodic reads, each of
/// which would have ended a passing difference.
pub const DEAF_AFTER: Duration = Duration::from_secs(10);

/// What one comparison concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hearing {
    /// Both name the same servers.
    Agrees,
    /// They differ, since an instant less than [`DEAF_AFTER`] ago.
    Differs,
    /// They have differed for [`DEAF_AFTER`] at least: act (say it,
    /// reconnect). The check starts counting again from here, so a clpd that
    /// stays deaf is told so again every [`DEAF_AFTER`], with the count of
    /// times it was.
    Deaf {
        /// Servers Corosync has in the group and clpd does not.
        missed_joins: Vec<String>,
        /// Servers clpd has and Corosync no longer does.
        missed_leaves: Vec<String>,
        /// How many times in a row this difference was found deaf (1 first).
        times: u32,
    },
}

/// Tracks how long the two views have differed. No clock of its own.
#[derive(Debug, Default)]
pub struct HearingCheck {
    differs_since: Option<Instant>,
    times: u32,
    /// An answer came since the last reset.
    answered: bool,
}

impl HearingCheck {
    /// Compares Corosync's answer (`corosync`) with the members clpd was told
    /// of (`clpd`), both server names, at `now`.
    pub fn observe(&mut self, now: Instant, corosync: &[String], clpd: &[String]) -> Hearing {
        self.answered = true;
        let missed_joins = missing(corosync, clpd);
        let missed_leaves = missing(clpd, corosync);
        if missed_joins.is_empty() && missed_leaves.is_empty() {
            // Forget the difference, not that the check runs: the log says
            // once per connection that it does.
            self.differs_since = None;
            self.times = 0;
            return Hearing::Agrees;
        }
        let since = *self.differs_since.get_or_insert(now);
        if now.saturating_duration_since(since) < DEAF_AFTER {
            return Hearing::Differs;
        }
        self.differs_since = Some(now);
        self.times = self.times.saturating_add(1);
        Hearing::Deaf {
            missed_joins,
            missed_leaves,
            times: self.times,
        }
    }

    /// Forgets a difference: the connection to Corosync ended or began, and
    /// with it the members clpd knows.
    pub fn reset(&mut self) {
        self.differs_since = None;
        self.times = 0;
        self.answered = false;
    }

    /// Whether an answer came since the last reset (the check runs).
    pub fn answered(&self) -> bool {
        self.answered
    }
}

/// The names of `from` that `other` lacks, sorted, once each.
fn missing(from: &[String], other: &[String]) -> Vec<String> {
    let mut out: Vec<String> = from
        .iter()
        .filter(|name| !other.contains(name))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_same_servers_in_any_order_agree() {
        let mut check = HearingCheck::default();
        let t0 = Instant::now();
        assert_eq!(
            check.observe(t0, &names(&["b", "a"]), &names(&["a", "b"])),
            Hearing::Agrees
        );
    }

    #[test]
    fn agreement_keeps_the_check_answered_until_a_reset() {
        let mut check = HearingCheck::default();
        let t0 = Instant::now();
        let both = names(&["a", "b"]);
        assert!(!check.answered());
        assert_eq!(check.observe(t0, &both, &both), Hearing::Agrees);
        assert!(check.answered());
        assert_eq!(check.observe(t0, &both, &both), Hearing::Agrees);
        assert!(check.answered());
        check.reset();
        assert!(!check.answered());
    }

    #[test]
    fn a_difference_that_passes_within_the_bound_is_never_deaf() {
        let mut check = HearingCheck::default();
        let t0 = Instant::now();
        let corosync = names(&["a", "b", "c"]);
        let clpd = names(&["a", "b"]);
        assert_eq!(check.observe(t0, &corosync, &clpd), Hearing::Differs);
        let later = t0 + DEAF_AFTER - Duration::from_millis(1);
        assert_eq!(check.observe(later, &corosync, &clpd), Hearing::Differs);
        // The event arrived: agreement forgets the difference...
        assert_eq!(check.observe(later, &corosync, &corosync), Hearing::Agrees);
        // ...so a new one counts from its own start.
        let next = later + Duration::from_secs(1);
        assert_eq!(check.observe(next, &clpd, &corosync), Hearing::Differs);
        assert_eq!(
            check.observe(next + DEAF_AFTER / 2, &clpd, &corosync),
            Hearing::Differs
        );
    }

    #[test]
    fn a_lasting_difference_is_deaf_names_both_ways_and_counts_again() {
        let mut check = HearingCheck::default();
        let t0 = Instant::now();
        let corosync = names(&["a", "c"]);
        let clpd = names(&["a", "b"]);
        assert_eq!(check.observe(t0, &corosync, &clpd), Hearing::Differs);
        let deaf = Hearing::Deaf {
            missed_joins: names(&["c"]),
            missed_leaves: names(&["b"]),
            times: 1,
        };
        assert_eq!(check.observe(t0 + DEAF_AFTER, &corosync, &clpd), deaf);
        assert!(check.answered());
        // Still deaf right after: not said again until another full bound.
        let t1 = t0 + DEAF_AFTER + Duration::from_secs(1);
        assert_eq!(check.observe(t1, &corosync, &clpd), Hearing::Differs);
        let again = check.observe(t0 + DEAF_AFTER * 2, &corosync, &clpd);
        assert!(matches!(again, Hearing::Deaf { times: 2, .. }), "{again:?}");
        // A reconnection starts over.
        check.reset();
        assert!(!check.answered());
        assert_eq!(
            check.observe(t0 + DEAF_AFTER * 3, &corosync, &clpd),
            Hearing::Differs
        );
    }
}
