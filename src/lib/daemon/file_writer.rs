//! Writing `state.json` and `status.json` off the loop.
//!
//! The loop hands each file's new content to a thread of its own and goes on:
//! a recovery's next script starts without waiting for the previous batch's
//! files to reach the disk. Per file only the latest content matters (a
//! newer one replaces a queued older one), and files are written in the
//! order they were handed over, so the persisted state is on disk before a
//! snapshot that shows it.
//!
//! Answers to commands must not report what is not on disk yet, and the loop
//! must not wait for a disk: the loop asks to be told when the writes it
//! handed over are done ([`FileWriter::tell_when_done`]); the thread then
//! calls the daemon's wake-up (an event for the loop), and the answers go out
//! on that turn. Only an OS action (the reboot budget must be on disk before a
//! reboot) and the exit wait for the writes ([`FileWriter::wait`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How to make a file's bytes. Encoding a file is most of its cost, and the
/// writer thread does it, off the loop.
pub(super) type Content = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

/// One file to write.
struct Job {
    content: Content,
    mode: u32,
    durable: bool,
    /// The order of hand-over.
    seq: u64,
    /// The first hand-over this job's content replaces (its own `seq` when
    /// none): those are done when this job is.
    covers_from: u64,
}

#[derive(Default)]
struct Queue {
    jobs: BTreeMap<PathBuf, Job>,
    /// The last sequence number handed out.
    queued: u64,
    /// Every job up to this number is done (written or failed).
    done: u64,
    /// Writes that failed since the loop last asked: (file, why).
    failures: Vec<(PathBuf, String)>,
    /// The loop wants to be told once every write up to this number is done
    /// (0: it does not).
    tell_at: u64,
    stop: bool,
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// How the writer thread tells the loop that the writes it waits for are done.
pub(super) type DoneCall = Box<dyn Fn() + Send>;

/// The writer thread and its queue.
pub(super) struct FileWriter {
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileWriter {
    /// Starts the thread; None if it cannot be started (the daemon then
    /// writes on the loop, as a fallback). `done` is called on that thread
    /// when writes the loop asked about are done ([`Self::tell_when_done`]).
    pub(super) fn start(done: DoneCall) -> Option<FileWriter> {
        let shared: Shared = Arc::default();
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("clp-files".into())
            .spawn(move || {
                crate::host::run_as_background_writer();
                run(&theirs, &done)
            })
            .ok()?;
        Some(FileWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `content` for `path` (replacing content queued and not yet
    /// written). Returns the number to wait for.
    pub(super) fn write(&self, path: PathBuf, content: Content, mode: u32, durable: bool) -> u64 {
        let (lock, ready) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        q.queued += 1;
        let seq = q.queued;
        // A durable write replaced by a newer content stays durable.
        let replaced = q.jobs.get(&path);
        let durable = durable || replaced.is_some_and(|j| j.durable);
        let covers_from = replaced.map_or(seq, |j| j.covers_from);
        q.jobs.insert(
            path,
            Job {
                content,
                mode,
                durable,
                seq,
                covers_from,
            },
        );
        ready.notify_all();
        seq
    }

    /// True when every write up to `seq` is done; otherwise the `done` call
    /// given to [`Self::start`] comes once they are (never blocks).
    pub(super) fn tell_when_done(&self, seq: u64) -> bool {
        let (lock, _) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        if q.done >= seq {
            return true;
        }
        q.tell_at = q.tell_at.max(seq);
        false
    }

    /// Waits until every write up to `seq` is done, at most `limit`.
    /// Returns whether they are.
    pub(super) fn wait(&self, seq: u64, limit: Duration) -> bool {
        let (lock, ready) = &*self.shared;
        let q = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (q, _) = ready
            .wait_timeout_while(q, limit, |q| q.done < seq)
            .unwrap_or_else(|e| e.into_inner());
        q.done >= seq
    }

    /// Writes that failed since the last call.
    pub(super) fn take_failures(&self) -> Vec<(PathBuf, String)> {
        let (lock, _) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut q.failures)
    }
}

impl Drop for FileWriter {
    /// Writes what is queued, then ends the thread.
    fn drop(&mut self) {
        {
            let (lock, ready) = &*self.shared;
            let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
            q.stop = true;
            ready.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, done: &DoneCall) {
    let (lock, ready) = &**shared;
    loop {
        let mut batch: Vec<(PathBuf, Job)> = {
            let q = lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut q = ready
                .wait_while(q, |q| q.jobs.is_empty() && !q.stop)
                .unwrap_or_else(|e| e.into_inner());
            if q.jobs.is_empty() && q.stop {
                return;
            }
            std::mem::take(&mut q.jobs).into_iter().collect()
        };
        // In the order the loop handed them over: the state before the
        // snapshot that shows it.
        batch.sort_by_key(|(_, job)| job.seq);
        // After each file, every hand-over before the first one a file still
        // to write covers is done: an answer waits for its own writes, not
        // for a later one (which may hang).
        let covers: Vec<u64> = batch.iter().map(|(_, job)| job.covers_from).collect();
        let last = batch.last().map_or(0, |(_, job)| job.seq);
        for (i, (path, job)) in batch.into_iter().enumerate() {
            let written = (job.content)().and_then(|bytes| {
                crate::fsafe::write_file_atomically(&path, &bytes, job.mode, job.durable)
                    .map_err(|e| e.to_string())
            });
            let done_now = covers[i + 1..]
                .iter()
                .min()
                .map_or(last, |from| from.saturating_sub(1));
            let tell = {
                let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
                q.done = q.done.max(done_now);
                if let Err(why) = written {
                    q.failures.push((path, why));
                }
                ready.notify_all();
                let tell = q.tell_at != 0 && q.done >= q.tell_at;
                if tell {
                    q.tell_at = 0;
                }
                tell
            };
            // Outside the lock: the call sends to the loop, which may be
            // asking `tell_when_done` meanwhile.
            if tell {
                done();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &'static [u8]) -> Content {
        Box::new(move || Ok(b.to_vec()))
    }

    #[test]
    fn writes_arrive_latest_content_first_order_kept_and_waits_end() {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWriter::start(Box::new(|| {})).unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        writer.write(a.clone(), bytes(b"1"), 0o600, false);
        writer.write(b.clone(), bytes(b"x"), 0o640, false);
        let last = writer.write(a.clone(), bytes(b"2"), 0o600, true);
        assert!(writer.wait(last, Duration::from_secs(10)));
        assert_eq!(std::fs::read(&a).unwrap(), b"2");
        assert_eq!(std::fs::read(&b).unwrap(), b"x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&b).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert!(writer.take_failures().is_empty());
    }

    #[test]
    fn dropping_the_writer_writes_what_is_queued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let writer = FileWriter::start(Box::new(|| {})).unwrap();
        writer.write(path.clone(), bytes(b"last"), 0o600, false);
        drop(writer);
        assert_eq!(std::fs::read(&path).unwrap(), b"last");
    }

    #[test]
    fn a_failed_write_is_reported_and_still_ends_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWriter::start(Box::new(|| {})).unwrap();
        // Its parent is a regular file: no directory can be made there.
        std::fs::write(dir.path().join("plain"), b"").unwrap();
        let missing = dir.path().join("plain/file");
        let seq = writer.write(missing.clone(), bytes(b"x"), 0o600, false);
        assert!(writer.wait(seq, Duration::from_secs(10)));
        let failures = writer.take_failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, missing);
        assert!(writer.take_failures().is_empty(), "reported once");
    }

    #[test]
    fn content_is_encoded_by_the_writer_and_a_failed_encoding_is_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWriter::start(Box::new(|| {})).unwrap();
        let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
        let loop_thread = std::thread::current().id();
        writer.write(
            good.clone(),
            Box::new(move || {
                assert_ne!(std::thread::current().id(), loop_thread);
                Ok(b"made there".to_vec())
            }),
            0o600,
            false,
        );
        let seq = writer.write(
            bad.clone(),
            Box::new(|| Err("no encoding".into())),
            0o600,
            false,
        );
        assert!(writer.wait(seq, Duration::from_secs(10)));
        assert_eq!(std::fs::read(&good).unwrap(), b"made there");
        assert!(!bad.exists());
        assert_eq!(
            writer.take_failures(),
            vec![(bad, "no encoding".to_string())]
        );
    }

    #[test]
    fn the_loop_is_told_when_writes_are_done_and_never_waits_for_a_slow_one() {
        let dir = tempfile::tempdir().unwrap();
        let (told_tx, told) = std::sync::mpsc::channel();
        let told_tx = Mutex::new(told_tx);
        let writer = FileWriter::start(Box::new(move || {
            let _ = told_tx.lock().unwrap().send(());
        }))
        .unwrap();
        // A write that takes as long as the test says (a disk that hangs).
        let (release, held) = std::sync::mpsc::channel::<()>();
        let slow = dir.path().join("slow");
        let seq = writer.write(
            slow.clone(),
            Box::new(move || {
                let _ = held.recv();
                Ok(b"at last".to_vec())
            }),
            0o600,
            false,
        );
        let asked = std::time::Instant::now();
        assert!(!writer.tell_when_done(seq), "not written yet");
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "asking never waits"
        );
        assert!(told.recv_timeout(Duration::from_millis(100)).is_err());
        release.send(()).unwrap();
        told.recv_timeout(Duration::from_secs(10))
            .expect("told once the write is done");
        assert_eq!(std::fs::read(&slow).unwrap(), b"at last");
        assert!(writer.tell_when_done(seq));
        // Nobody asked about the next write: no call.
        let next = writer.write(dir.path().join("next"), bytes(b"n"), 0o600, false);
        assert!(writer.wait(next, Duration::from_secs(10)));
        assert!(told.recv_timeout(Duration::from_millis(100)).is_err());
    }

    /// A hand-over whose content a newer one replaced is done only when the
    /// newer one is written, even if later hand-overs of other files are.
    #[test]
    fn a_replaced_write_is_done_with_its_replacement_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWriter::start(Box::new(|| {})).unwrap();
        let gate = |rx: std::sync::mpsc::Receiver<()>, out: &'static [u8]| -> Content {
            Box::new(move || {
                let _ = rx.recv();
                Ok(out.to_vec())
            })
        };
        // The writer is busy with x while the rest is queued.
        let (go_x, x_rx) = std::sync::mpsc::channel();
        let x = writer.write(dir.path().join("x"), gate(x_rx, b"x"), 0o600, false);
        let a1 = writer.write(dir.path().join("a"), bytes(b"a1"), 0o600, false);
        let (go_b, b_rx) = std::sync::mpsc::channel();
        let b = writer.write(dir.path().join("b"), gate(b_rx, b"b"), 0o600, false);
        let a2 = writer.write(dir.path().join("a"), bytes(b"a2"), 0o600, false);
        assert!(x < a1 && a1 < b && b < a2);
        go_x.send(()).unwrap();
        assert!(writer.wait(x, Duration::from_secs(10)));
        // b is being written, a (a1 replaced by a2) comes after it.
        assert!(!writer.tell_when_done(a1), "a1 is only written as a2");
        go_b.send(()).unwrap();
        assert!(writer.wait(a2, Duration::from_secs(10)));
        assert!(writer.tell_when_done(a1));
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"a2");
    }
}
