//! Publishing: the persisted state and the status snapshot, written when they
//! changed; the end of clpd.
//!
//! Nothing is rebuilt while the engines' generations stay where they were: a
//! batch of check results that left every monitor as it was costs two integer
//! comparisons. When they moved, the persisted state is rebuilt and written at
//! once if it differs (a command's answer and an OS action rely on it), and the
//! status snapshot is marked due: written at once when the last write is at
//! least [`MIN_WRITE_GAP`] old, otherwise when that gap has passed (a
//! [`TimerKey::Publish`] deadline), so a burst of changes costs one write per
//! gap and each change is on disk within [`MIN_WRITE_GAP`] (under the 100 ms
//! that clpstat may lag behind). A batch that answers a command writes it at
//! once: what the command reports is on disk before its answer.
//!
//! The loop never waits for those writes to answer: the answers are held
//! until the writer thread says the files are written (an event), so a slow
//! or hung disk delays answers, never monitoring and recovery. After
//! [`ANSWER_WAIT`] they go anyway, with an error in the log. Only an OS action
//! (the reboot budget first on disk) and clpd's end wait for the writes.
//!
//! A first change is not held back to gather the rest of a recovery: the
//! alerts of the batch go out at once, and an alert command or an operator
//! that runs clpstat on seeing one must find the state the alert announces.

use std::path::PathBuf;
use std::time::Instant;

use super::file_writer::Content;
use super::*;
use crate::status::Published;

/// The shortest time between two writes of `status.json` while changes keep coming.
pub(super) const MIN_WRITE_GAP: Duration = Duration::from_millis(50);

/// The longest answers wait for the files they report to be written.
pub(super) const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// How long clpd's start waits for its first status file (see
/// [`Daemon::publish_first`]).
const FIRST_WRITE_WAIT: Duration = Duration::from_secs(2);

/// When the snapshot file may be written: the pure half of coalescing.
#[derive(Debug, Default)]
pub(super) struct WritePacing {
    last_write: Option<Instant>,
    /// The deadline of a write that had to wait.
    due: Option<Instant>,
}

/// What to do with a change of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pace {
    WriteNow,
    /// Wait: arm a deadline at this instant (the first change since the last write).
    WriteAt(Instant),
    /// Wait: the deadline is already armed.
    Pending,
}

impl WritePacing {
    /// A change (or a change still unwritten) at `now`.
    pub(super) fn changed(&mut self, now: Instant) -> Pace {
        if let Some(due) = self.due {
            return if now >= due {
                Pace::WriteNow
            } else {
                Pace::Pending
            };
        }
        match self.last_write {
            Some(last) if now < last + MIN_WRITE_GAP => {
                let due = last + MIN_WRITE_GAP;
                self.due = Some(due);
                Pace::WriteAt(due)
            }
            _ => Pace::WriteNow,
        }
    }

    /// The snapshot was written at `now`.
    pub(super) fn written(&mut self, now: Instant) {
        self.last_write = Some(now);
        self.due = None;
    }
}

/// What the daemon keeps to publish only what changed.
pub(super) struct Publisher {
    /// The engines' generations at the last flush.
    seen: Option<(u64, u64)>,
    /// The snapshot on disk lags behind the engines.
    unwritten: bool,
    pacing: WritePacing,
    published: Arc<Published>,
    last_state: Option<Arc<StateFile>>,
    /// The last save of the state failed: try again at every flush.
    state_unsaved: bool,
    /// Writes the files off the loop (None: on the loop, if the thread could
    /// not start).
    writer: Option<super::file_writer::FileWriter>,
    /// The last write handed to the writer.
    handed: u64,
    /// Answers waiting for the writes handed over before them, oldest first.
    held: std::collections::VecDeque<Held>,
}

/// An answer waiting for its files.
struct Held {
    /// The last write handed over when it was made: what it reports.
    needs: u64,
    /// When it was made (it goes anyway [`ANSWER_WAIT`] later).
    since: Instant,
    client: Sender<Reply>,
    reply: Reply,
}

impl Publisher {
    /// `events`: where the writer thread says that writes answers wait for
    /// are done ([`Event::FilesWritten`]).
    pub(super) fn new(events: super::wakeup::EventTx) -> Self {
        let done: super::file_writer::DoneCall = Box::new(move || {
            // The loop gone (clpd ending): nobody waits for the answers.
            let _ = events.send(Event::FilesWritten);
        });
        Publisher {
            seen: None,
            unwritten: true,
            pacing: WritePacing::default(),
            published: Arc::new(Published::new()),
            last_state: None,
            state_unsaved: false,
            writer: super::file_writer::FileWriter::start(done),
            handed: 0,
            held: std::collections::VecDeque::new(),
        }
    }

    /// Something only the merged cluster view shows changed (a peer's
    /// report, the membership): the snapshot is written at the next flush.
    pub(super) fn mark_unwritten(&mut self) {
        self.unwritten = true;
    }

    /// Answers wait for their files to be written.
    #[cfg(test)]
    pub(super) fn holds_answers(&self) -> bool {
        !self.held.is_empty()
    }

    /// Hands the writer a job of the test's own (a write that hangs).
    #[cfg(test)]
    pub(super) fn hand_writer(&mut self, path: PathBuf, content: Content) {
        if let Some(writer) = &self.writer {
            self.handed = writer.write(path, content, crate::fsafe::PRIVATE_FILE_MODE, false);
        }
    }

    /// The in-process copy of the snapshot, for readers on other threads.
    pub(super) fn published(&self) -> Arc<Published> {
        self.published.clone()
    }
}

impl Daemon {
    /// Publishes what changed; the snapshot at once when a command's answer
    /// waits for it, else paced.
    pub(super) fn flush(&mut self) {
        let answering = !self.outbox.is_empty();
        self.publish(false, answering, false);
    }

    /// Writes the persisted state now (fsynced when `durable`), and the
    /// snapshot with it, and waits until they are written (before an OS
    /// action, at the end of clpd).
    pub(super) fn flush_with(&mut self, durable: bool) {
        self.publish(durable, true, true);
        self.answer_written();
    }

    /// The first state and status, before clpd says it is ready: written, so
    /// that `clpstat` finds them as soon as `clpcl -s` (or systemd) returns.
    /// At most [`FIRST_WRITE_WAIT`]: a slow disk does not hold the start.
    pub(super) fn publish_first(&mut self) {
        self.publish(false, true, false);
        if !self.writes_done_within(FIRST_WRITE_WAIT) {
            warn!(target: "pm", "the first status file was not written within {} s; clpd is ready anyway", FIRST_WRITE_WAIT.as_secs());
        }
    }

    /// Sends the answers of the turn once what they report is written: now
    /// when the writer is done with the writes handed over before them, else
    /// when it says so (or after [`ANSWER_WAIT`]). Never waits. An answer
    /// waits for the writes handed over before it only: later changes,
    /// however many, do not hold it.
    pub(super) fn answer(&mut self) {
        if !self.outbox.is_empty() {
            let needs = self.publisher.handed;
            let since = self.clock.now();
            for (client, reply) in self.outbox.drain(..) {
                self.publisher.held.push_back(Held {
                    needs,
                    since,
                    client,
                    reply,
                });
            }
            // One deadline per turn that answered; one that finds its
            // answers gone does nothing.
            self.timers
                .push(since + ANSWER_WAIT, TimerKey::AnswersOverdue);
        }
        self.answer_written();
    }

    /// Answers whose files were not written within [`ANSWER_WAIT`] go anyway
    /// (their clients would otherwise time out for nothing).
    pub(super) fn answers_overdue(&mut self) {
        let now = self.clock.now();
        let mut late = 0;
        while let Some(held) = self
            .publisher
            .held
            .pop_front_if(|h| now >= h.since + ANSWER_WAIT)
        {
            late += 1;
            let _ = held.client.send(held.reply);
        }
        if late > 0 {
            error!(target: "pm", "the state and status files were not written within {} s; answered {late} command(s) anyway", ANSWER_WAIT.as_secs());
        }
    }

    /// Sends the held answers whose writes are done, oldest first; asks the
    /// writer to say when the next one's are.
    fn answer_written(&mut self) {
        let mut noted = false;
        while let Some(next) = self.publisher.held.front() {
            let written = match &self.publisher.writer {
                Some(writer) => writer.tell_when_done(next.needs),
                None => true,
            };
            if !written {
                return;
            }
            if !noted {
                // A failed write is written again at the next flush (its
                // answer still goes: what it reports is in the loop's hands).
                self.note_failed_writes();
                noted = true;
            }
            if let Some(held) = self.publisher.held.pop_front() {
                // A client that went away does not care.
                let _ = held.client.send(held.reply);
            }
        }
    }

    fn publish(&mut self, durable: bool, snapshot_now: bool, wait: bool) {
        self.note_failed_writes();
        let generations = (
            self.core.engine().generation(),
            self.core.monitors().generation(),
        );
        let moved = self.publisher.seen != Some(generations);
        self.publisher.seen = Some(generations);
        // A durable flush follows changes the engines do not count (the reboot
        // budget): it always looks.
        if moved || durable || self.publisher.state_unsaved {
            self.save_state(durable);
        }
        self.publisher.unwritten |= moved;
        if !self.publisher.unwritten {
            if wait {
                // Nothing new, but what an earlier batch handed over must be
                // on disk before an OS action or the exit.
                self.wait_for_writes();
            }
            return;
        }
        let now = self.clock.now();
        let pace = if snapshot_now {
            Pace::WriteNow
        } else {
            self.publisher.pacing.changed(now)
        };
        match pace {
            Pace::WriteNow => self.write_snapshot(now),
            Pace::WriteAt(due) => self.timers.push(due, TimerKey::Publish),
            Pace::Pending => {}
        }
        if wait {
            // An OS action or the exit follows: what it relies on must be on
            // disk first.
            self.wait_for_writes();
        }
    }

    /// Hands a file to the writer thread (or writes it here without one).
    fn write_file(
        &mut self,
        path: PathBuf,
        content: Content,
        mode: u32,
        durable: bool,
    ) -> Result<()> {
        match &self.publisher.writer {
            Some(writer) => {
                self.publisher.handed = writer.write(path, content, mode, durable);
                Ok(())
            }
            None => {
                let bytes = content().map_err(ClpError::failed)?;
                crate::fsafe::write_file_atomically(&path, &bytes, mode, durable)
            }
        }
    }

    /// Waits until the writer has written everything handed to it.
    fn wait_for_writes(&mut self) {
        if !self.writes_done_within(Duration::from_secs(60)) {
            error!(target: "pm", "the state and status files were not written within 60 s; going on");
        }
    }

    /// Waits at most `within` for the writes handed over so far; false when
    /// they were not done in time. Failed writes are noted either way.
    fn writes_done_within(&mut self, within: Duration) -> bool {
        let done = self
            .publisher
            .writer
            .as_ref()
            .is_none_or(|writer| writer.wait(self.publisher.handed, within));
        self.note_failed_writes();
        done
    }

    /// Failed writes are written again at the next flush.
    fn note_failed_writes(&mut self) {
        let Some(writer) = &self.publisher.writer else {
            return;
        };
        for (path, why) in writer.take_failures() {
            if path == persist::state_path(&self.paths) {
                error!(target: "pm", "cannot persist the state: {why}");
                self.publisher.last_state = None;
                self.publisher.state_unsaved = true;
            } else {
                error!(target: "pm", "cannot write the status snapshot: {why}");
                self.publisher.unwritten = true;
            }
        }
    }

    /// The persisted state first: whatever the snapshot shows (and a command
    /// reports) must already survive a kill -9.
    pub(super) fn save_state(&mut self, durable: bool) {
        let state = StateFile {
            boot_id: self.boot_id.clone(),
            stopped_by_operator: self.core.stopped_by_operator(),
            engine: self.core.engine().persisted(),
            reboots: self.core.reboots().to_vec(),
            restarts: self.core.monitors().restart_history(self.now()),
            isolated_from: self.places.isolated_from.iter().cloned().collect(),
            in_flight: self
                .tags
                .values()
                .filter_map(|t| match t {
                    Tag::Script {
                        resource,
                        pgid,
                        start_time,
                        cgroup,
                        ..
                    } => Some(InFlight {
                        resource: resource.clone(),
                        pgid: *pgid,
                        start_time: *start_time,
                        cgroup: cgroup.clone(),
                    }),
                    Tag::Async { .. }
                    | Tag::Os { .. }
                    | Tag::Check { .. }
                    | Tag::AsyncGenw { .. }
                    | Tag::PreAction { .. }
                    | Tag::AlertCommand { .. }
                    | Tag::Requested { .. }
                    | Tag::ForcedStop { .. } => None,
                })
                .collect(),
        };
        if self.publisher.last_state.as_deref() != Some(&state) {
            let state = Arc::new(state);
            let encoded = Arc::clone(&state);
            let saved = self.write_file(
                persist::state_path(&self.paths),
                Box::new(move || persist::encode(&encoded).map_err(|e| e.to_string())),
                crate::fsafe::PRIVATE_FILE_MODE,
                durable,
            );
            match saved {
                Ok(()) => {
                    self.publisher.last_state = Some(state);
                    self.publisher.state_unsaved = false;
                }
                Err(e) => {
                    error!(target: "pm", "cannot persist the state: {e}");
                    self.publisher.state_unsaved = true;
                }
            }
        }
    }

    /// The snapshot last published (what status.json holds), for
    /// `clpstat -h` on another server. Answered from the copy at hand, never
    /// built anew: asking costs the loop one clone.
    pub(super) fn published_status(&self) -> Reply {
        match self.publisher.published.latest() {
            Some(edition) => Reply::Status(Box::new(edition.snapshot.clone())),
            None => Reply::Rejected(crate::protocol::Rejection::Failed {
                kind: ErrorKind::State,
                detail: "clpd has not published its status yet; try again in a moment".into(),
            }),
        }
    }

    /// Builds the snapshot, publishes it when its content changed, and writes it.
    fn write_snapshot(&mut self, now: Instant) {
        let own = self.own_snapshot();
        // With several servers: merged with what the others reported.
        let snap = self.cluster_view(own, now);
        let published = &self.publisher.published;
        let edition = match published.latest() {
            Some(last) if snapshot::same_content(&last.snapshot, &snap) => last,
            _ => published.publish(snap),
        };
        self.publisher.pacing.written(now);
        let path = crate::status::snapshot_path(&self.paths);
        let content: Content = Box::new(move || {
            serde_json::to_vec_pretty(&edition.snapshot).map_err(|e| format!("encoding: {e}"))
        });
        match self.write_file(path, content, crate::fsafe::LOG_FILE_MODE, false) {
            Ok(()) => self.publisher.unwritten = false,
            // Tried again at the next change or answer.
            Err(e) => error!(target: "pm", "cannot write the status snapshot: {e}"),
        }
    }

    pub(super) fn finish(mut self, socket: &Path) {
        // A watchdog must get its magic close before clpd ends: every stop is
        // asked for first, then all are waited for with one deadline.
        let stopping: Vec<_> = self
            .workers
            .drain()
            .map(|(name, probe)| (name, probe.request_stop()))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        for (name, waiter) in stopping {
            if !waiter.wait_until(deadline) {
                warn!(target: "rm", monitor = %name, "the monitor's check did not stop within 5 s");
            }
        }
        self.flush_with(false);
        // The last alerts (clpd stopping) reach the alert log and syslog
        // before the process ends with their threads. Bounded: a hung log
        // directory does not hold clpd's end for long.
        self.alerts.flush(LAST_WORDS_WAIT);
        self.syslog.flush(LAST_WORDS_WAIT);
        // A clean end: the partition watchdog goes too, without acting.
        if let Some(watchdog) = self.np.watchdog.take() {
            watchdog.quit();
        }
        let _ = std::fs::remove_file(socket);
        info!(target: "pm", "clpd stopped");
        self.executor.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_first_change_is_written_at_once() {
        let t0 = Instant::now();
        let mut pacing = WritePacing::default();
        assert_eq!(pacing.changed(t0), Pace::WriteNow);
        pacing.written(t0);
        // Long after the last write: at once again.
        assert_eq!(pacing.changed(t0 + ms(500)), Pace::WriteNow);
    }

    #[test]
    fn a_change_soon_after_a_write_waits_for_the_gap_only() {
        let t0 = Instant::now();
        let mut pacing = WritePacing::default();
        pacing.written(t0);
        assert_eq!(pacing.changed(t0 + ms(10)), Pace::WriteAt(t0 + ms(50)));
        // More changes before the deadline: one deadline, no new timer.
        assert_eq!(pacing.changed(t0 + ms(20)), Pace::Pending);
        assert_eq!(pacing.changed(t0 + ms(49)), Pace::Pending);
        // The deadline came: write.
        assert_eq!(pacing.changed(t0 + ms(50)), Pace::WriteNow);
    }

    #[test]
    fn a_burst_writes_at_most_every_gap_and_each_change_within_100_ms() {
        let t0 = Instant::now();
        let mut pacing = WritePacing::default();
        let mut writes: Vec<Instant> = Vec::new();
        let mut armed: Option<Instant> = None;
        let mut unwritten_since: Option<Instant> = None;
        // A change every 3 ms for 2 s; the timer fires on time.
        for step in 0..=(2000 / 3) {
            let now = t0 + ms(step * 3);
            if let Some(at) = armed.filter(|at| *at <= now) {
                armed = None;
                assert_eq!(pacing.changed(at), Pace::WriteNow);
                pacing.written(at);
                writes.push(at);
                let since = unwritten_since.take().expect("a change was waiting");
                assert!(at - since <= ms(100), "a change waited {:?}", at - since);
            }
            unwritten_since.get_or_insert(now);
            match pacing.changed(now) {
                Pace::WriteNow => {
                    pacing.written(now);
                    writes.push(now);
                    unwritten_since = None;
                }
                Pace::WriteAt(at) => {
                    assert!(armed.is_none(), "one deadline at a time");
                    armed = Some(at);
                }
                Pace::Pending => assert!(armed.is_some()),
            }
        }
        for pair in writes.windows(2) {
            assert!(
                pair[1] - pair[0] >= MIN_WRITE_GAP,
                "{:?}",
                pair[1] - pair[0]
            );
        }
        // About one write per gap: 2 s / 50 ms.
        assert!((38..=41).contains(&writes.len()), "{} writes", writes.len());
    }

    #[test]
    fn a_write_forced_by_an_answer_restarts_the_gap() {
        let t0 = Instant::now();
        let mut pacing = WritePacing::default();
        pacing.written(t0);
        assert_eq!(pacing.changed(t0 + ms(10)), Pace::WriteAt(t0 + ms(50)));
        // An answer wrote the snapshot at 20 ms: the armed deadline fires for nothing.
        pacing.written(t0 + ms(20));
        assert_eq!(pacing.changed(t0 + ms(30)), Pace::WriteAt(t0 + ms(70)));
    }
}
