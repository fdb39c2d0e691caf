//! The module log files of one directory: opening, rotation, failure reports.
//! Writes are synchronous here; [`super::queue`] moves them off the caller's
//! thread for the daemon.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::Level;

use super::queue::LogQueue;

/// Which of a module's two logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// `<module>.log.cur`: every event.
    All,
    /// `<module>.err.cur`: WARN and ERROR events.
    Err,
}

impl LogKind {
    fn stem(self) -> &'static str {
        match self {
            LogKind::All => "log",
            LogKind::Err => "err",
        }
    }
}

/// `<dir>/<module>.log.cur` or `<module>.err.cur`.
pub fn cur_path(dir: &Path, module: &str, kind: LogKind) -> PathBuf {
    dir.join(format!("{module}.{}.cur", kind.stem()))
}

/// `<dir>/<module>.log.pre` or `<module>.err.pre`.
pub fn pre_path(dir: &Path, module: &str, kind: LogKind) -> PathBuf {
    dir.join(format!("{module}.{}.pre", kind.stem()))
}

/// One `.cur` file.
#[derive(Default)]
pub(super) struct Sink {
    file: Option<File>,
    size: u64,
    /// A failure was reported on stderr and not yet followed by a success.
    failing: bool,
}

/// The set of module log files in one directory, with rotation. Thread-safe.
pub struct ModuleLogs {
    dir: PathBuf,
    max_bytes: u64,
    also_stderr: bool,
    sinks: Mutex<HashMap<(&'static str, LogKind), Sink>>,
    /// The daemon's writer thread, once started: lines go through it.
    queue: OnceLock<LogQueue>,
    /// Lines the full queue could not take since the last report.
    pub(super) dropped: AtomicU64,
}

impl ModuleLogs {
    /// Logs in `dir` (created on first write when missing), rotated at `max_bytes`
    /// (at least 1).
    pub fn new(dir: &Path, max_bytes: u64, also_stderr: bool) -> ModuleLogs {
        ModuleLogs {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(1),
            also_stderr,
            sinks: Mutex::new(HashMap::new()),
            queue: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// From now on, lines are written by a thread of their own behind a queue
    /// of `capacity` lines: a slow, full or blocked log directory never stalls
    /// the thread that logs (the daemon's loop). Lines that find the queue full
    /// are counted and the count is logged once the writer catches up.
    pub fn start_writer(self: &std::sync::Arc<Self>, capacity: usize) -> io::Result<()> {
        let queue = LogQueue::start(std::sync::Arc::clone(self), capacity)?;
        // A second call keeps the first writer.
        let _ = self.queue.set(queue);
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one complete line (ending in `\n`) to `module`'s log of `kind`.
    /// Never fails: errors are reported once on stderr.
    pub fn write_line(&self, module: &'static str, kind: LogKind, line: &str) {
        let mut sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        let sink = sinks.entry((module, kind)).or_default();
        let cur = cur_path(&self.dir, module, kind);
        let len = line.len() as u64;

        if sink.file.is_none() && !self.open_sink(sink, &cur) {
            return;
        }
        if sink.size > 0 && sink.size.saturating_add(len) > self.max_bytes {
            sink.file = None;
            let pre = pre_path(&self.dir, module, kind);
            if let Err(e) = fs::rename(&cur, &pre) {
                self.fail(sink, &cur, "cannot rotate", &e);
                return;
            }
            if !self.open_sink(sink, &cur) {
                return;
            }
        }
        let Some(file) = sink.file.as_mut() else {
            return;
        };
        match file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {
                sink.size += len;
                sink.failing = false;
            }
            Ok(n) => {
                sink.size += n as u64;
                let e = io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("short write ({n} of {len} bytes)"),
                );
                self.fail(sink, &cur, "cannot write", &e);
            }
            Err(e) => self.fail(sink, &cur, "cannot write", &e),
        }
    }

    /// Routes one formatted line: to `<module>.log.cur`, to `<module>.err.cur` for
    /// WARN/ERROR, and to stderr when asked. Through the writer thread when one
    /// runs: never blocks then.
    pub fn write_event_line(&self, module: &'static str, level: Level, line: &str) {
        if super::hold::hold(self, module, level, line) {
            return;
        }
        self.send_event_line(module, level, line);
    }

    /// [`Self::write_event_line`] past any hold: to the writer, or here.
    pub(super) fn send_event_line(&self, module: &'static str, level: Level, line: &str) {
        match self.queue.get() {
            Some(queue) => {
                if !queue.push(module, level, line) {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => self.write_event_line_now(module, level, line),
        }
    }

    /// [`Self::write_event_line`] on the calling thread.
    pub(super) fn write_event_line_now(&self, module: &'static str, level: Level, line: &str) {
        self.write_line(module, LogKind::All, line);
        if level <= Level::WARN {
            self.write_line(module, LogKind::Err, line);
        }
        if self.also_stderr {
            let _ = io::stderr().write_all(line.as_bytes());
        }
    }

    /// Fsyncs every open file (best effort). With a writer thread, waits at
    /// most `super::queue::FLUSH_WAIT` for it to write what is queued first.
    pub fn sync(&self) {
        if let Some(queue) = self.queue.get() {
            queue.flush();
        }
        self.sync_now();
    }

    /// Holds the files' lock (as a write blocked in the kernel holds it) until
    /// the guard is dropped.
    #[cfg(test)]
    pub(super) fn block_writes_for_test(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(&'static str, LogKind), Sink>> {
        self.sinks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every file has failed and none is open.
    #[cfg(test)]
    pub(super) fn all_failing_for_test(&self) -> bool {
        let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        sinks.values().all(|s| s.failing && s.file.is_none())
    }

    pub(super) fn sync_now(&self) {
        let sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        for sink in sinks.values() {
            if let Some(f) = &sink.file {
                let _ = f.sync_data();
            }
        }
    }

    /// Opens `cur` into `sink`; false (reported) when it cannot be opened.
    fn open_sink(&self, sink: &mut Sink, cur: &Path) -> bool {
        match open_append(&self.dir, cur) {
            Ok((f, size)) => {
                sink.file = Some(f);
                sink.size = size;
                true
            }
            Err(e) => {
                self.fail(sink, cur, "cannot open", &e);
                false
            }
        }
    }

    fn fail(&self, sink: &mut Sink, path: &Path, what: &str, err: &io::Error) {
        sink.file = None;
        if !sink.failing {
            sink.failing = true;
            self.report(path, what, err);
        }
    }

    pub(super) fn report(&self, path: &Path, what: &str, err: &io::Error) {
        let _ = writeln!(
            io::stderr(),
            "clpd: log: {what} {}: {err} (further errors for this file are suppressed until it works again)",
            path.display()
        );
    }
}

/// Opens `path` for appending (creating `dir` and the file), returning its size.
/// Never through a symlink at the leaf; files are 0640 whatever the umask.
fn open_append(dir: &Path, path: &Path) -> io::Result<(File, u64)> {
    fs::create_dir_all(dir)?;
    let f = crate::fsafe::open_log_file(path, crate::fsafe::LOG_FILE_MODE)?;
    let size = f.metadata()?.len();
    Ok((f, size))
}
