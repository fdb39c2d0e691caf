//! The daemon's alert-log writer: a thread that owns [`AlertLog`] behind a
//! bounded queue.
//!
//! Appending takes a shared `flock` on the log directory and may compact the
//! file (read its tail, rewrite, fsync): work that can wait on a disk or on
//! another process (`clplogcmd` compacting). The event loop only queues the
//! record. A full queue refuses records; they are counted, and the count is
//! reported (clpd's error log) when the writer catches up.

use std::io;
use std::sync::mpsc;

use super::{Alert, AlertLog, SyslogSender};
use crate::log::queue::Counted;

/// The writer thread's state: the log and what it could not write.
struct Books {
    log: AlertLog,
    syslog: SyslogSender,
    server: String,
    /// Alerts lost since the last one that was written (queue full or write failed).
    lost: u64,
    /// The last append failed.
    failing: bool,
}

impl Books {
    /// Appends `alert`. The first failure of an episode goes to syslog (pm 901)
    /// and clpd's error log; the first success after losses records how many
    /// were lost in the alert log itself (pm 902), so the gap is visible where
    /// an operator reads.
    fn write(&mut self, alert: &Alert) {
        match self.log.append(alert) {
            Ok(()) => {
                if self.lost > 0 || self.failing {
                    let lost = self.lost.to_string();
                    let note = Alert::from_catalog(&self.server, "pm", 902, &[&lost]);
                    tracing::warn!(target: "clpd", "{}", note.message);
                    let _ = self.log.append(&note);
                    self.lost = 0;
                    self.failing = false;
                }
            }
            Err(e) => {
                self.lost += 1;
                if !self.failing {
                    self.failing = true;
                    let path = self.log.path().display().to_string();
                    let note = Alert::from_catalog(&self.server, "pm", 901, &[&path, &e.message]);
                    tracing::error!(target: "clpd", "{}", note.message);
                    self.syslog.send_or_report(&note);
                }
            }
        }
    }
}

/// Alerts the daemon's queue holds: far more than a burst of recoveries raises.
pub const DAEMON_QUEUE_ALERTS: usize = 1024;

/// What the writer thread is asked to do.
enum Job {
    Append(Box<Alert>),
    /// Answer once everything queued before is written.
    Flush(mpsc::Sender<()>),
}

/// The sending side, owned by the daemon.
pub struct AlertWriter {
    queue: Counted<Job>,
}

impl AlertWriter {
    /// Starts the thread that appends to `log`. `syslog` hears once when the
    /// alert log cannot be written (full or read-only directory); `server`
    /// names this server in the alerts the writer raises itself.
    pub fn start(
        log: AlertLog,
        capacity: usize,
        syslog: SyslogSender,
        server: String,
    ) -> io::Result<AlertWriter> {
        let (queue, rx, refused) = Counted::new(capacity);
        std::thread::Builder::new()
            .name("alert-log".into())
            .spawn(move || {
                crate::host::run_as_background_writer();
                let mut books = Books {
                    log,
                    syslog,
                    server,
                    lost: 0,
                    failing: false,
                };
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Append(alert) => {
                            books.lost += refused.take();
                            books.write(&alert);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(AlertWriter { queue })
    }

    /// Queues `alert`; false when the queue is full (the alert is counted as
    /// lost for the alert log; its other destinations still get it).
    pub fn send(&self, alert: &Alert) -> bool {
        self.queue.offer(Job::Append(Box::new(alert.clone())))
    }

    /// Waits at most `wait` until the alerts queued so far are written (before
    /// an OS action that ends the machine at once).
    pub fn flush(&self, wait: std::time::Duration) {
        self.queue.flush(Job::Flush, wait);
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
        let writer = start(&path, 64);
        for n in 1..=20 {
            assert!(writer.send(&Alert::new("s", "rm", n, Level::Info, "m")));
        }
        writer.flush(Duration::from_secs(10));
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
        // Sent while the writer waits for the lock: the one it holds, the
        // queue's, and no more.
        let writer = start(&path, 4);
        let started = Instant::now();
        let sent = (1..=50)
            .filter(|n| writer.send(&Alert::new("s", "rm", *n, Level::Info, "m")))
            .count();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(sent <= 5, "{sent}");
        held.unlock().unwrap();
        // Every record that fit is written, and the notes (pm 902) account for
        // every one that did not. How the loss splits across notes depends on
        // when the writer took its first record: it counts what was refused
        // each time it takes one.
        let deadline = Instant::now() + Duration::from_secs(10);
        let lost_in = |written: &[Alert]| -> usize {
            written
                .iter()
                .filter(|a| a.module == "pm" && a.event_id == 902)
                .map(|a| {
                    a.message
                        .split("again; ")
                        .nth(1)
                        .and_then(|r| r.split(' ').next())
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0)
                })
                .sum()
        };
        // The note may be written before the last queued records: wait for both.
        let records_in = |written: &[Alert]| written.iter().filter(|a| a.module == "rm").count();
        while Instant::now() < deadline {
            let written = read_alerts(&path);
            if lost_in(&written) >= 50 - sent && records_in(&written) >= sent {
                break;
            }
            std::thread::yield_now();
        }
        let written = read_alerts(&path);
        assert_eq!(records_in(&written), sent, "{written:?}");
        assert_eq!(lost_in(&written), 50 - sent, "{written:?}");
    }

    fn start(path: &std::path::Path, capacity: usize) -> AlertWriter {
        let nowhere = path.with_file_name("no-syslog.sock");
        AlertWriter::start(
            AlertLog::at_path(path, 100),
            capacity,
            SyslogSender::at(nowhere, false),
            "s".into(),
        )
        .unwrap()
    }
}
