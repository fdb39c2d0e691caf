//! Failed logins per client address: after `limit` failures an address is
//! refused for `period` without asking PAM. Pure (the caller gives the time),
//! bounded (the oldest addresses are forgotten first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Addresses remembered at most; an attack from more addresses than this
/// costs each of them its PAM delay instead.
const MAX_ADDRESSES: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// The failures of every recent client address.
#[derive(Debug)]
pub struct Lockout {
    limit: u32,
    period: Duration,
    records: HashMap<IpAddr, Record>,
}

impl Lockout {
    pub fn new(limit: u32, period: Duration) -> Self {
        Lockout {
            limit: limit.max(1),
            period,
            records: HashMap::new(),
        }
    }

    /// How long `addr` is still locked out at `now` (None: it may try).
    pub fn locked(&mut self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let record = self.records.get(&addr)?;
        match record.locked_until {
            Some(until) if until > now => Some(until - now),
            Some(_) => {
                // The lockout is over: a fresh count of failures.
                self.records.remove(&addr);
                None
            }
            None => None,
        }
    }

    /// One more failure of `addr`; true when it locks the address out now.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) -> bool {
        if self.records.len() >= MAX_ADDRESSES && !self.records.contains_key(&addr) {
            self.forget_oldest();
        }
        let period = self.period;
        let record = self.records.entry(addr).or_insert(Record {
            failures: 0,
            last: now,
            locked_until: None,
        });
        // Failures older than a period do not add up.
        if now.saturating_duration_since(record.last) > period {
            record.failures = 0;
        }
        record.failures += 1;
        record.last = now;
        if record.failures >= self.limit && record.locked_until.is_none() {
            record.locked_until = Some(now + period);
            return true;
        }
        false
    }

    /// A good login clears the address's failures.
    pub fn succeeded(&mut self, addr: IpAddr) {
        self.records.remove(&addr);
    }

    fn forget_oldest(&mut self) {
        if let Some(oldest) = self
            .records
            .iter()
            .min_by_key(|(_, r)| r.last)
            .map(|(addr, _)| *addr)
        {
            self.records.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn an_address_is_locked_after_the_limit_and_free_after_the_period() {
        let t0 = Instant::now();
        let mut lockout = Lockout::new(3, Duration::from_secs(60));
        assert!(!lockout.failed(addr(1), t0));
        assert!(!lockout.failed(addr(1), t0 + Duration::from_secs(1)));
        assert_eq!(lockout.locked(addr(1), t0 + Duration::from_secs(2)), None);
        assert!(lockout.failed(addr(1), t0 + Duration::from_secs(2)));
        assert_eq!(
            lockout.locked(addr(1), t0 + Duration::from_secs(12)),
            Some(Duration::from_secs(50))
        );
        // Another address is not concerned.
        assert_eq!(lockout.locked(addr(2), t0 + Duration::from_secs(12)), None);
        // After the period the address starts afresh.
        assert_eq!(lockout.locked(addr(1), t0 + Duration::from_secs(62)), None);
        assert!(!lockout.failed(addr(1), t0 + Duration::from_secs(63)));
    }

    #[test]
    fn a_good_login_clears_and_old_failures_do_not_add_up() {
        let t0 = Instant::now();
        let mut lockout = Lockout::new(2, Duration::from_secs(10));
        assert!(!lockout.failed(addr(1), t0));
        lockout.succeeded(addr(1));
        assert!(!lockout.failed(addr(1), t0 + Duration::from_secs(1)));
        // The next failure comes after a quiet period: counted as the first.
        assert!(!lockout.failed(addr(1), t0 + Duration::from_secs(30)));
        assert!(lockout.failed(addr(1), t0 + Duration::from_secs(31)));
    }

    #[test]
    fn the_table_is_bounded() {
        let t0 = Instant::now();
        let mut lockout = Lockout::new(5, Duration::from_secs(10));
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            let ip = IpAddr::from(i.to_be_bytes());
            lockout.failed(ip, t0 + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(lockout.records.len(), MAX_ADDRESSES);
        // The first addresses were forgotten, the last kept.
        assert!(
            !lockout
                .records
                .contains_key(&IpAddr::from(0u32.to_be_bytes()))
        );
    }
}
