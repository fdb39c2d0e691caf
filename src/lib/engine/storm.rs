//! Restart storms: how often monitors restarted one recovery target lately.
//!
//! A monitor's recovery counters start again each time it returns to normal
//! (rm 26), so an application that dies only after a good check would be
//! restarted for ever. This bookkeeping is per *target* (a resource or a group),
//! not per monitor, and is not touched by a return to normal: once
//! `clp/restartlimit/max` restarts of a target fall within
//! `clp/restartlimit/window`, the monitor engine stops restarting it and takes
//! the next step of the ladder (rm 900).
//!
//! What counts: the restarts a monitor's recovery issues (rm 13). Activation
//! retries (`act/retry`) do not: they are bounded per start already, and a
//! restart that keeps failing its activation escalates through the resource's
//! own ladder.
//!
//! Times are milliseconds of the system's monotonic clock (since boot, as the
//! daemon's `Instant`s): a jump of the wall clock neither lengthens nor ends a
//! window, and the values stay meaningful in a later clpd of the same boot,
//! which is the only one that reads them back (the state file carries the boot
//! id). After a reboot the history starts empty.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::RecoveryTarget;

/// The bound on restarts of one target (`clp/restartlimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartLimit {
    /// Restarts allowed within `window`; 0 = unbounded.
    pub max: u32,
    pub window: Duration,
}

/// Recent restarts of one target, as persisted in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartHistory {
    /// [`target_key`] of the target.
    pub target: String,
    /// Monotonic milliseconds since boot of each restart, oldest first.
    pub at_ms: Vec<u64>,
}

/// The key of a restartable target; None for targets that are never restarted.
pub fn target_key(target: &RecoveryTarget) -> Option<String> {
    match target {
        RecoveryTarget::Resource(r) => Some(format!("resource:{r}")),
        RecoveryTarget::Group(g) => Some(format!("group:{g}")),
        RecoveryTarget::LocalServer | RecoveryTarget::AllGroups => None,
    }
}

/// Restart times per target key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storms {
    restarts: BTreeMap<String, VecDeque<u64>>,
}

impl Storms {
    /// Restarts of `key` within the window ending at `now` (inclusive of
    /// restarts exactly `window` old: they are dropped).
    pub fn recent(&self, key: &str, now: u64, limit: RestartLimit) -> u32 {
        let window = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
        self.restarts.get(key).map_or(0, |times| {
            let n = times
                .iter()
                .filter(|t| now.saturating_sub(**t) < window)
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        })
    }

    /// Whether one more restart of `key` at `now` would exceed the limit;
    /// Some(restarts already in the window) when it would.
    pub fn exceeded(&self, key: &str, now: u64, limit: RestartLimit) -> Option<u32> {
        if limit.max == 0 {
            return None;
        }
        let n = self.recent(key, now, limit);
        (n >= limit.max).then_some(n)
    }

    /// Records a restart of `key` at `now`; forgets what no longer counts. At
    /// most `max` times are kept per target: more cannot change a verdict.
    pub fn record(&mut self, key: &str, now: u64, limit: RestartLimit) {
        if limit.max == 0 {
            return;
        }
        let window = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
        let times = self.restarts.entry(key.to_string()).or_default();
        times.push_back(now);
        times.retain(|t| now.saturating_sub(*t) < window);
        let keep = usize::try_from(limit.max).unwrap_or(usize::MAX);
        while times.len() > keep {
            times.pop_front();
        }
    }

    /// Forgets the restarts of `key` (an operator's `clpmonctrl -c`).
    pub fn clear(&mut self, key: &str) {
        self.restarts.remove(key);
    }

    pub fn clear_all(&mut self) {
        self.restarts.clear();
    }

    /// The history to persist: only what still counts at `now`.
    pub fn export(&self, now: u64, limit: RestartLimit) -> Vec<RestartHistory> {
        if limit.max == 0 {
            return Vec::new();
        }
        let window = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
        self.restarts
            .iter()
            .filter_map(|(target, times)| {
                let at_ms: Vec<u64> = times
                    .iter()
                    .copied()
                    .filter(|t| now.saturating_sub(*t) < window)
                    .collect();
                (!at_ms.is_empty()).then(|| RestartHistory {
                    target: target.clone(),
                    at_ms,
                })
            })
            .collect()
    }

    /// Takes over a persisted history (same boot only: see the module doc).
    /// Times after `now` cannot come from this boot's clock: they are dropped.
    pub fn import(&mut self, history: &[RestartHistory], now: u64) {
        for h in history {
            let times = self.restarts.entry(h.target.clone()).or_default();
            times.extend(h.at_ms.iter().copied().filter(|t| *t <= now));
            times.make_contiguous().sort_unstable();
        }
        self.restarts.retain(|_, t| !t.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RestartLimit = RestartLimit {
        max: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn storm_counts_within_a_sliding_window() {
        let mut s = Storms::default();
        for t in [0, 10_000, 20_000] {
            assert_eq!(s.exceeded("resource:a", t, LIMIT), None);
            s.record("resource:a", t, LIMIT);
        }
        assert_eq!(s.exceeded("resource:a", 30_000, LIMIT), Some(3));
        // Another target has its own count.
        assert_eq!(s.exceeded("group:g", 30_000, LIMIT), None);
        // 60 s after the first restart it no longer counts.
        assert_eq!(s.exceeded("resource:a", 59_999, LIMIT), Some(3));
        assert_eq!(s.exceeded("resource:a", 60_000, LIMIT), None);
        assert_eq!(s.recent("resource:a", 60_000, LIMIT), 2);
    }

    #[test]
    fn storm_zero_is_unbounded_and_keeps_nothing() {
        let off = RestartLimit {
            max: 0,
            window: Duration::from_secs(60),
        };
        let mut s = Storms::default();
        for t in 0..100 {
            s.record("resource:a", t, off);
            assert_eq!(s.exceeded("resource:a", t, off), None);
        }
        assert!(s.export(100, off).is_empty());
        assert_eq!(s, Storms::default());
    }

    #[test]
    fn storm_memory_is_bounded_by_max() {
        let mut s = Storms::default();
        for t in 0..1000 {
            s.record("resource:a", t, LIMIT);
        }
        assert_eq!(s.export(1000, LIMIT)[0].at_ms, vec![997, 998, 999]);
    }

    #[test]
    fn storm_export_import_and_clear() {
        let mut s = Storms::default();
        s.record("resource:a", 1_000, LIMIT);
        s.record("resource:a", 50_000, LIMIT);
        s.record("group:g", 1_000, LIMIT);
        // At 61 s only the restart at 50 s still counts.
        let h = s.export(61_000, LIMIT);
        assert_eq!(
            h,
            vec![RestartHistory {
                target: "resource:a".into(),
                at_ms: vec![50_000],
            }]
        );
        let mut t = Storms::default();
        // A time from the future (another boot's clock) is dropped.
        let mut h2 = h.clone();
        h2.push(RestartHistory {
            target: "group:g".into(),
            at_ms: vec![999_999],
        });
        t.import(&h2, 61_000);
        assert_eq!(t.export(61_000, LIMIT), h);
        t.clear("resource:a");
        assert!(t.export(61_000, LIMIT).is_empty());
    }
}
