//! Probes: checks that may block (a disk read, a network round trip) and may
//! keep state between checks (an open watchdog device, a socket).
//!
//! Most probes share the threads of the probe pool (`pool`); a probe that may
//! block indefinitely gets a [`ProbeWorker`]: a thread of its own that owns the
//! probe and runs one check at a time. Either way the daemon's loop never
//! waits: it asks for a check and the answer comes back as an event. A check
//! that hangs (a read on a dead device) is abandoned by the monitor engine at
//! its timeout; while it is still stuck, further checks fail at once as "the
//! previous check is still running", so a hung device costs one thread, not one
//! thread per interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use crate::vocab::{CheckId, CheckResult};

/// A monitor's check.
pub trait Probe: Send {
    /// One check. May block; it should give up by itself near `timeout`, and
    /// is abandoned by the engine after it in any case.
    fn check(&mut self, timeout: Duration) -> CheckResult;

    /// Monitoring stops cleanly (a watchdog is disarmed with its magic close).
    fn stop(&mut self) {}

    /// The result at once, when the probe has it without blocking (psw:
    /// a scan young enough is there); None sends the check to the pool. Runs
    /// on the caller's thread (the daemon's loop): it must never wait.
    fn answer_now(&mut self) -> Option<CheckResult> {
        None
    }

    /// The check as one HTTP exchange with an address, when it is one: it
    /// then runs on the network thread (`netprobe`) instead of the pool.
    fn http_target(&self) -> Option<super::http_exchange::HttpTarget> {
        None
    }

    /// The check as ICMP echoes, when it is: it then runs on the network
    /// thread too.
    fn icmp_target(&self) -> Option<super::net_icmp::IcmpTarget> {
        None
    }
}

/// Where a worker sends its answers: (check, result, elapsed).
pub type Answer = Box<dyn Fn(CheckId, CheckResult, Duration) + Send + Sync>;

enum Work {
    Check(CheckId, Duration),
    Stop,
    /// Stop, then say so.
    StopThen(Sender<()>),
}

/// The thread that runs one monitor's probe.
pub struct ProbeWorker {
    tx: Sender<Work>,
    busy: Arc<AtomicBool>,
}

impl ProbeWorker {
    /// Starts the worker thread for `probe` (named after the monitor).
    pub fn spawn(
        name: &str,
        mut probe: Box<dyn Probe>,
        answer: Answer,
    ) -> std::io::Result<ProbeWorker> {
        let (tx, rx) = mpsc::channel::<Work>();
        let busy = Arc::new(AtomicBool::new(false));
        let flag = busy.clone();
        std::thread::Builder::new()
            .name(format!("probe-{name}"))
            .spawn(move || {
                for work in rx {
                    match work {
                        Work::Check(id, timeout) => {
                            let started = Instant::now();
                            // A panicking probe is a failed check, not a dead worker
                            // (nor a dead clpd: see crate::panics).
                            let result = crate::panics::contain(|| probe.check(timeout))
                                .unwrap_or_else(|_| {
                                    CheckResult::Failed("the check panicked (a bug in clp)".into())
                                });
                            flag.store(false, Ordering::SeqCst);
                            answer(id, result, started.elapsed());
                        }
                        Work::Stop => {
                            probe.stop();
                            return;
                        }
                        Work::StopThen(done) => {
                            probe.stop();
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })?;
        Ok(ProbeWorker { tx, busy })
    }

    /// Asks for a check. Returns false when the previous check still runs (or
    /// the worker is gone): the caller answers that check itself.
    pub fn check(&self, id: CheckId, timeout: Duration) -> bool {
        if self.busy.swap(true, Ordering::SeqCst) {
            return false;
        }
        if self.tx.send(Work::Check(id, timeout)).is_err() {
            self.busy.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Stops the probe after the check in progress, if any; does not wait.
    pub fn stop(self) {
        let _ = self.tx.send(Work::Stop);
    }

    /// Stops the probe and waits up to `wait` for its `stop()` to have run (at
    /// daemon exit, a watchdog's magic close must happen before the process ends).
    /// Returns whether it did.
    pub fn stop_and_wait(self, wait: Duration) -> bool {
        self.request_stop().wait_until(Instant::now() + wait)
    }

    /// Asks for the stop without waiting; wait with the returned waiter (a
    /// worker already gone counts as stopped).
    pub fn request_stop(self) -> super::pool::StopWaiter {
        let (done_tx, done_rx) = mpsc::channel();
        let _ = self.tx.send(Work::StopThen(done_tx));
        super::pool::StopWaiter::from_receiver(done_rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u32, Arc<AtomicBool>);

    impl Probe for Counter {
        fn check(&mut self, _timeout: Duration) -> CheckResult {
            self.0 += 1;
            if self.0 == 2 {
                CheckResult::Failed("second".into())
            } else {
                CheckResult::Ok
            }
        }
        fn stop(&mut self) {
            self.1.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn runs_checks_one_at_a_time_and_stops_cleanly() {
        let stopped = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let worker = ProbeWorker::spawn(
            "t",
            Box::new(Counter(0, stopped.clone())),
            Box::new(move |id, r, _| {
                let _ = tx.send((id, r));
            }),
        )
        .unwrap();
        assert!(worker.check(1, Duration::from_secs(1)));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            (1, CheckResult::Ok)
        );
        assert!(worker.check(2, Duration::from_secs(1)));
        assert!(matches!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            (2, CheckResult::Failed(_))
        ));
        worker.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !stopped.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "stop() was not called");
            std::thread::yield_now();
        }
    }

    struct Hang;

    impl Probe for Hang {
        fn check(&mut self, _timeout: Duration) -> CheckResult {
            std::thread::park();
            CheckResult::Ok
        }
    }

    #[test]
    fn a_hung_check_refuses_the_next_one() {
        let worker = ProbeWorker::spawn("h", Box::new(Hang), Box::new(|_, _, _| {})).unwrap();
        assert!(worker.check(1, Duration::from_secs(1)));
        assert!(!worker.check(2, Duration::from_secs(1)), "still busy");
    }
}
