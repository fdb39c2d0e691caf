//! The daemon's alert-log writer: a thread that owns [`AlertLog`] behind a
//! bounded queue.
//!
//! Appending takes a shared `flock` on the log directory and may compact the
//! file (read its tail, rewrite, fsync): work that can wait on a disk or on
//! another process (`clplogcmd` compacting). The event loop only queues the
//! record. A full queue refuses records; they are counted, and the count is
//! reported (clpd's error log) when the writer catches up.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};

use super::{Alert, AlertLog};

/// Alerts the daemon's queue holds: far more than a burst of recoveries raises.
pub const DAEMON_QUEUE_ALERTS: usize = 1024;

/// The sending side, owned by the daemon.
pub struct AlertWriter {
    tx: SyncSender<Alert>,
    dropped: Arc<AtomicU64>,
}

impl AlertWriter {
    /// Starts the thread that appends to `log`.
    pub fn start(log: AlertLog, capacity: usize) -> io::Result<AlertWriter> {
        let (tx, rx) = mpsc::sync_channel::<Alert>(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("alert-log".into())
            .spawn(move || {
                let mut log = log;
                while let Ok(alert) = rx.recv() {
                    let lost = seen.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        tracing::error!(
                            target: "clpd",
                            "{lost} alerts were not written to {}: the alert log could not keep up (slow, full or locked log directory)",
                            log.path().display()
                        );
                    }
                    log.append_or_report(&alert);
                }
            })?;
        Ok(AlertWriter { tx, dropped })
    }

    /// Queues `alert`; false when the queue is full (the alert is counted as
    /// lost for the alert log; its other destinations still get it).
    pub fn send(&self, alert: &Alert) -> bool {
        match self.tx.try_send(alert.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Alerts lost since the writer last reported.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Level, read_alerts};
    use std::time::{Duration, Instant};

    #[test]
    fn alerts_are_written_in_order_off_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let writer = AlertWriter::start(AlertLog::at_path(&path, 100), 64).unwrap();
        for n in 1..=20 {
            assert!(writer.send(&Alert::new("s", "rm", n, Level::Info, "m")));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while read_alerts(&path).len() < 20 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    }

    /// A lock held on the log directory by someone else blocks the writer
    /// thread only: sending never waits, and what does not fit is counted.
    #[test]
    fn a_locked_directory_costs_records_not_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let held = std::fs::File::open(dir.path()).unwrap();
        held.lock().unwrap();
        let writer = AlertWriter::start(AlertLog::at_path(&path, 100), 4).unwrap();
        let started = Instant::now();
        let sent = (1..=50)
            .filter(|n| writer.send(&Alert::new("s", "rm", *n, Level::Info, "m")))
            .count();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(sent <= 5, "{sent}");
        assert_eq!(writer.dropped() as usize, 50 - sent);
        held.unlock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while read_alerts(&path).len() < sent && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(read_alerts(&path).len(), sent);
    }
}
