//! The daemon's log writer: a thread that owns the log files' I/O behind a
//! bounded queue.
//!
//! Why: the event loop logs on every decision. A write to a log file can block
//! (a hung NFS or FUSE log directory, a stalled disk), and the loop must not
//! stall with it: a killed application would wait for its restart. The queue
//! takes a line without blocking or refuses it; refused lines are counted, and
//! the count is written (to `clpd.log.cur` and `clpd.err.cur`) as soon as the
//! writer takes a line again, so a loss is always visible.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use tracing::Level;

use super::ModuleLogs;

/// How long [`LogQueue::flush`] waits for the writer (at clpd's exit).
pub const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Lines the daemon's queue holds: a few seconds of a busy loop's logging.
pub const DAEMON_QUEUE_LINES: usize = 8192;

enum Job {
    Line {
        module: &'static str,
        level: Level,
        line: String,
    },
    Flush(mpsc::Sender<()>),
}

/// The sending side, kept by [`ModuleLogs`].
pub(super) struct LogQueue {
    tx: SyncSender<Job>,
}

impl LogQueue {
    /// Starts the writer thread for `logs`.
    pub(super) fn start(logs: Arc<ModuleLogs>, capacity: usize) -> io::Result<LogQueue> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                crate::host::run_as_background_writer();
                write_loop(&logs, &rx)
            })?;
        Ok(LogQueue { tx })
    }

    /// Queues one line; false when the queue is full (the line is lost).
    pub(super) fn push(&self, module: &'static str, level: Level, line: &str) -> bool {
        let job = Job::Line {
            module,
            level,
            line: line.to_string(),
        };
        // SyncSender is Sync: callers on every thread send without a lock.
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            // The writer is gone (it never ends by itself): nothing to write to.
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Waits (at most [`FLUSH_WAIT`]) until the lines queued so far are written.
    pub(super) fn flush(&self) {
        flush_through(self.tx.clone(), Job::Flush, FLUSH_WAIT);
    }
}

/// The sending side of a writer thread's bounded queue that counts what it
/// refuses (a full queue, or a writer that is gone); the writer takes the
/// count from its [`Refused`] and reports it.
pub(crate) struct Counted<J> {
    tx: SyncSender<J>,
    refused: Refused,
}

/// The count of jobs a [`Counted`] queue refused, shared with its writer.
#[derive(Clone, Default)]
pub(crate) struct Refused(Arc<std::sync::atomic::AtomicU64>);

impl Refused {
    /// What was refused since the last look (and zero again).
    pub(crate) fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl<J: Send + 'static> Counted<J> {
    /// A queue of `capacity` jobs: the sender, the writer's receiver, and
    /// the writer's view of the refusals.
    pub(crate) fn new(capacity: usize) -> (Counted<J>, Receiver<J>, Refused) {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let refused = Refused::default();
        let sender = Counted {
            tx,
            refused: refused.clone(),
        };
        (sender, rx, refused)
    }

    /// Queues `job` without waiting; false (and counted) when it does not fit.
    pub(crate) fn offer(&self, job: J) -> bool {
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.refused.0.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Waits at most `wait` until the jobs queued so far are done (see
    /// [`flush_through`]).
    pub(crate) fn flush(&self, job: fn(mpsc::Sender<()>) -> J, wait: Duration) {
        flush_through(self.tx.clone(), job, wait);
    }
}

/// Sends the flush job `job(done)` to a writer thread's bounded queue `tx`
/// and waits at most `wait` for `done`. The queue may be full: a helper
/// thread waits for room, so that this wait stays bounded even when the
/// writer is stuck for good.
pub(crate) fn flush_through<J: Send + 'static>(
    tx: std::sync::mpsc::SyncSender<J>,
    job: fn(mpsc::Sender<()>) -> J,
    wait: Duration,
) {
    let (done_tx, done_rx) = mpsc::channel();
    let sent = std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(move || {
            let _ = tx.send(job(done_tx));
        });
    if sent.is_ok() {
        let _ = done_rx.recv_timeout(wait);
    }
}

fn write_loop(logs: &ModuleLogs, rx: &Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        match job {
            Job::Line {
                module,
                level,
                line,
            } => {
                report_dropped(logs);
                logs.write_event_line_now(module, level, &line);
            }
            Job::Flush(done) => {
                report_dropped(logs);
                logs.sync_now();
                let _ = done.send(());
            }
        }
    }
}

/// Writes how many lines were lost since the last report, if any.
fn report_dropped(logs: &ModuleLogs) {
    let dropped = logs.dropped.swap(0, Ordering::Relaxed);
    if dropped == 0 {
        return;
    }
    let line = super::format_line(
        chrono::Local::now(),
        Level::WARN,
        std::process::id(),
        u32::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0),
        &format!(
            "{dropped} log lines were dropped: writing the logs could not keep up (slow, full or blocked log directory {})",
            logs.dir().display()
        ),
    );
    logs.write_event_line_now(super::DEFAULT_MODULE, Level::WARN, &line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{LogKind, cur_path};

    fn line(n: usize) -> String {
        format!("line {n}\n")
    }

    #[test]
    fn writer_writes_in_order_and_flush_waits() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        logs.start_writer(16).unwrap();
        for n in 0..10 {
            logs.write_event_line("rm", Level::INFO, &line(n));
        }
        logs.sync();
        let text = std::fs::read_to_string(cur_path(dir.path(), "rm", LogKind::All)).unwrap();
        let expected: String = (0..10).map(line).collect();
        assert_eq!(text, expected);
    }

    /// A log directory that blocks every write (here: the writer is held by a
    /// lock on the sinks, as a hung file system would hold it in write(2))
    /// costs lines, never the caller's time, and the loss is reported.
    #[test]
    fn a_blocked_writer_drops_and_reports_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        logs.start_writer(4).unwrap();
        let held = logs.block_writes_for_test();
        let started = std::time::Instant::now();
        for n in 0..100 {
            logs.write_event_line("rm", Level::INFO, &line(n));
        }
        // 100 lines against a blocked writer: none waited for it.
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(held);
        logs.sync();
        logs.write_event_line("rm", Level::INFO, "after\n");
        logs.sync();
        // At most the queue's 4 and the one in the writer's hand got through;
        // the reports (one or two: the writer counts what was refused each
        // time it takes a line) account for the rest.
        let clpd = std::fs::read_to_string(cur_path(dir.path(), "clpd", LogKind::Err)).unwrap();
        let reported: u64 = clpd
            .lines()
            .filter_map(|l| l.split("] ").nth(1)?.split(' ').next()?.parse::<u64>().ok())
            .sum();
        let rm = std::fs::read_to_string(cur_path(dir.path(), "rm", LogKind::All)).unwrap();
        let through = rm.lines().filter(|l| l.starts_with("line ")).count() as u64;
        assert!(through <= 5, "{rm}");
        assert_eq!(reported + through, 100, "{clpd}");
        let rm = std::fs::read_to_string(cur_path(dir.path(), "rm", LogKind::All)).unwrap();
        assert!(rm.ends_with("after\n"), "{rm}");
    }
}
