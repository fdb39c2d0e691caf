//! The watcher: owns every watched process, its pidfd and its timers; on a
//! thread of its own, or driven by its owner's loop (see [`super::driven`]).
//!
//! One loop: wait in `epoll` with a timeout equal to the earliest deadline,
//! then drain commands, handle exits, fire due timers. A readable pidfd means
//! the process has exited: children are reaped with `waitid(P_PIDFD, WEXITED)`,
//! adopted non-children are reported `Lost`.
//! Every descriptor is registered once (see [`super::handles`]): a wake-up
//! costs the ready descriptors, not all of them.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rustix::event::epoll::EventFlags;
use rustix::io::Errno;
use rustix::process::{WaitId, WaitIdOptions, WaitIdStatus, waitid};

use super::cgroup::{RunCgroup, Spares};
use super::handles::{Handles, WAKE_TOKEN};
use super::{Finished, Outcome, kill_group};

/// Where a watched process is on its way to being killed for a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Not signalled by us for a timeout (yet).
    Running,
    /// The timeout passed; SIGTERM was sent to the group, SIGKILL follows at `deadline`.
    Terminating,
    /// SIGKILL was sent to the group; we only wait for the exit.
    Killed,
}

/// One watched process.
pub(super) struct Entry {
    /// The tag to report with; None once forgotten (reaped silently).
    pub tag: Option<u64>,
    pub pid: u32,
    pub pgid: u32,
    pub pidfd: OwnedFd,
    /// Our child (reap it) or an adopted process (cannot be reaped, report Lost).
    pub child: bool,
    pub started: Instant,
    pub stage: Stage,
    /// The next timer of this entry: the timeout in `Running`, the SIGKILL in `Terminating`.
    pub deadline: Option<Instant>,
    pub kill_grace: Duration,
    /// The run's own cgroup, when scripts are contained in cgroups.
    pub cgroup: Option<RunCgroup>,
}

/// Work sent to the watcher.
pub(super) enum Command {
    Watch(Entry),
    Forget(u64),
    TerminateGroup {
        pgid: u32,
        grace: Duration,
    },
    /// Handle every exit that has already happened, then answer (tests).
    #[cfg(test)]
    Barrier(std::sync::mpsc::Sender<()>),
    Shutdown,
}

pub(super) struct Watcher {
    pub rx: Receiver<Command>,
    pub wake: std::sync::Arc<OwnedFd>,
    pub notify: Box<dyn Fn(Finished) + Send>,
    /// Watched processes by token (tags may repeat, and forgotten entries have none).
    entries: HashMap<u64, Entry>,
    /// The next token for a watched process or a draining cgroup.
    next_id: u64,
    /// Every pidfd of `entries`, every `cgroup.events` of `draining` and the
    /// wake eventfd, by token.
    handles: Handles,
    /// Pending group SIGKILLs: (when, pgid). From `terminate_group`, and from timed-out
    /// leaders that exited before their grace ran out (the rest of the group still dies).
    /// With the run's cgroup, when it has one: then the cgroup alone is
    /// killed (its leader is gone, and its pgid may be another group's by now).
    group_kills: Vec<(Instant, u32, Option<PathBuf>)>,
    /// Cgroups of runs whose leader is gone, by directory, with the run's
    /// pgid, until they are empty (then removed): what a script left running
    /// (the application a start script launched) still dies with its run on a
    /// kill.
    draining: HashMap<PathBuf, Draining>,
    /// The directory of each draining cgroup, by token.
    drain_tokens: HashMap<u64, PathBuf>,
    /// Where emptied run cgroups go for reuse (None: process groups only).
    spares: Option<std::sync::Arc<Spares>>,
}

/// A cgroup whose run's leader is gone, until it is empty.
struct Draining {
    /// The run's pgid (its leader's pid).
    pgid: u32,
    cgroup: RunCgroup,
    /// Its `cgroup.events` in `epoll`.
    token: u64,
}

pub(super) enum Flow {
    Continue,
    Stop,
}

impl Watcher {
    pub fn new(
        rx: Receiver<Command>,
        wake: std::sync::Arc<OwnedFd>,
        notify: Box<dyn Fn(Finished) + Send>,
        spares: Option<std::sync::Arc<Spares>>,
    ) -> Result<Watcher, Errno> {
        let handles = Handles::new(wake.as_fd())?;
        Ok(Watcher {
            rx,
            wake,
            notify,
            entries: HashMap::new(),
            next_id: WAKE_TOKEN + 1,
            handles,
            group_kills: Vec::new(),
            draining: HashMap::new(),
            drain_tokens: HashMap::new(),
            spares,
        })
    }

    fn new_token(&mut self) -> u64 {
        let token = self.next_id;
        // 2^64 tokens are never used up; skipping the wake's token is for form.
        self.next_id = self.next_id.wrapping_add(1).max(WAKE_TOKEN + 1);
        token
    }

    pub fn run(mut self) {
        tracing::debug!(target: "exec", "watcher started");
        loop {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Flow::Stop = self.turn(timeout, true) {
                break;
            }
        }
        self.finish();
    }

    /// One round: waits at most `timeout` (None: until something happens),
    /// then handles the queued commands (with `queued`: a driven watcher gets
    /// its commands directly, nothing is queued), the exits and the due timers.
    pub fn turn(&mut self, timeout: Option<Duration>, queued: bool) -> Flow {
        let (ready, drained) = match self.wait_ready(timeout) {
            Ok(ready) => ready,
            Err(Errno::INTR) => (Vec::new(), Vec::new()),
            Err(e) => {
                // Not expected (ENOMEM, or EINVAL past RLIMIT_NOFILE). Back off
                // briefly on this error path only, so a persistent failure does
                // not spin the CPU; the loop resumes normal event waiting.
                tracing::error!(target: "exec", "waiting on process handles failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                (Vec::new(), Vec::new())
            }
        };
        // Commands before exits: a `forget` queued before a process died is
        // applied before its exit is reported.
        if queued && let Flow::Stop = self.drain_commands() {
            return Flow::Stop;
        }
        // Exits before timers: a process that exited right at its deadline is
        // reported with its real status, and its group is not signalled.
        for id in ready {
            self.handle_exit(id);
        }
        for dir in drained {
            self.check_drained(&dir);
        }
        self.fire_timers(Instant::now());
        Flow::Continue
    }

    /// When the watcher ends: whatever cgroup is empty now goes; the rest is
    /// removed by a later clpd.
    pub fn finish(&mut self) {
        for dir in self.draining.keys().cloned().collect::<Vec<_>>() {
            self.check_drained(&dir);
        }
        tracing::debug!(
            target: "exec",
            "watcher stopped with {} process(es) still watched",
            self.entries.len()
        );
    }

    /// When the watcher must look again without being woken: the earliest
    /// timer, or soon while a descriptor waits to be registered (it is
    /// polled at each round).
    pub fn next_wake(&self) -> Option<Instant> {
        let retry = self
            .handles
            .has_unregistered()
            .then(|| Instant::now() + super::handles::RETRY_REGISTRATION);
        [self.next_deadline(), retry].into_iter().flatten().min()
    }

    /// The epoll set of every descriptor the watcher waits on: readable when
    /// a round has something to do (a driven executor's owner waits on it).
    pub fn ready_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.handles.epoll_fd()
    }

    /// Drains the wake fd and every queued command.
    fn drain_commands(&mut self) -> Flow {
        let mut buf = [0u8; 8];
        // Non-blocking eventfd: one read resets the counter; EAGAIN when already zero.
        let _ = rustix::io::read(self.wake.as_fd(), &mut buf);
        loop {
            match self.rx.try_recv() {
                Ok(command) => {
                    if let Flow::Stop = self.apply(command) {
                        return Flow::Stop;
                    }
                }
                Err(TryRecvError::Disconnected) => return Flow::Stop,
                Err(TryRecvError::Empty) => return Flow::Continue,
            }
        }
    }

    /// Carries out one command (queued, or handed over directly by a driven
    /// executor).
    pub fn apply(&mut self, command: Command) -> Flow {
        match command {
            Command::Watch(entry) => {
                tracing::debug!(
                    target: "exec",
                    "watching pid {} (tag {:?}, child {}, deadline in {:?})",
                    entry.pid,
                    entry.tag,
                    entry.child,
                    entry.deadline.map(|d| d.saturating_duration_since(Instant::now()))
                );
                let id = self.new_token();
                self.handles.add(id, entry.pidfd.as_fd(), EventFlags::IN);
                self.entries.insert(id, entry);
            }
            Command::Forget(tag) => self.forget(tag),
            Command::TerminateGroup { pgid, grace } => {
                let at = Instant::now() + grace;
                match self.cgroup_of(pgid) {
                    Some((cg, leader_alive)) => {
                        // A group whose leader is gone may be a stranger's
                        // by now: then only the cgroup is signalled.
                        if leader_alive {
                            signal_group(pgid, Signal::SIGTERM);
                        }
                        cg.signal_members(rustix::process::Signal::TERM);
                        let dir = cg.dir.clone();
                        self.group_kills.push((at, pgid, Some(dir)));
                    }
                    None => {
                        signal_group(pgid, Signal::SIGTERM);
                        self.group_kills.push((at, pgid, None));
                    }
                }
            }
            #[cfg(test)]
            Command::Barrier(reply) => {
                if let Ok((ready, drained)) = self.wait_ready(Some(Duration::ZERO)) {
                    for id in ready {
                        self.handle_exit(id);
                    }
                    for dir in drained {
                        self.check_drained(&dir);
                    }
                }
                let _ = reply.send(());
            }
            Command::Shutdown => return Flow::Stop,
        }
        Flow::Continue
    }

    fn forget(&mut self, tag: u64) {
        let mut drop_ids = Vec::new();
        for (id, e) in self.entries.iter_mut() {
            if e.tag == Some(tag) {
                tracing::debug!(target: "exec", "forgetting pid {} (tag {tag})", e.pid);
                e.tag = None;
                if !e.child {
                    // Nothing to reap for an adopted process: stop watching it at all.
                    drop_ids.push(*id);
                }
            }
        }
        for id in drop_ids {
            if let Some(e) = self.entries.remove(&id) {
                self.handles.remove(id, e.pidfd.as_fd());
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let entries = self.entries.values().filter_map(|e| e.deadline);
        let kills = self.group_kills.iter().map(|(at, _, _)| *at);
        entries.chain(kills).min()
    }

    /// Advances every timer whose deadline is due.
    fn fire_timers(&mut self, now: Instant) {
        for e in self.entries.values_mut() {
            let Some(deadline) = e.deadline else { continue };
            if deadline > now {
                continue;
            }
            match e.stage {
                Stage::Running => {
                    tracing::warn!(
                        target: "exec",
                        "pid {} (tag {:?}) timed out: SIGTERM to process group {}",
                        e.pid,
                        e.tag,
                        e.pgid
                    );
                    signal_group(e.pgid, Signal::SIGTERM);
                    if let Some(cg) = &e.cgroup {
                        cg.signal_members(rustix::process::Signal::TERM);
                    }
                    e.stage = Stage::Terminating;
                    e.deadline = Some(now + e.kill_grace);
                }
                Stage::Terminating => {
                    tracing::warn!(
                        target: "exec",
                        "pid {} (tag {:?}) still running after grace: SIGKILL to process group {}",
                        e.pid,
                        e.tag,
                        e.pgid
                    );
                    signal_group(e.pgid, Signal::SIGKILL);
                    if let Some(cg) = &e.cgroup {
                        kill_cgroup(cg);
                    }
                    e.stage = Stage::Killed;
                    e.deadline = None;
                }
                Stage::Killed => e.deadline = None,
            }
        }
        let (due, pending): (Vec<_>, Vec<_>) = self
            .group_kills
            .drain(..)
            .partition(|(at, _, _)| *at <= now);
        self.group_kills = pending;
        for (_, pgid, dir) in due {
            match dir {
                Some(dir) => {
                    // Contained: the run's cgroup holds all that is left of
                    // it; emptied (and removed, or kept for a later run of
                    // its script) already, nothing is. Only the same run is
                    // reached (its pgid): a later run born in the kept
                    // cgroup is another one.
                    let live = self
                        .entries
                        .values()
                        .filter(|e| e.pgid == pgid)
                        .filter_map(|e| e.cgroup.as_ref())
                        .chain(
                            self.draining
                                .values()
                                .filter(|d| d.pgid == pgid)
                                .map(|d| &d.cgroup),
                        )
                        .find(|cg| cg.dir == dir);
                    if let Some(cg) = live {
                        tracing::debug!(target: "exec", "grace over: SIGKILL to cgroup {}", dir.display());
                        kill_cgroup(cg);
                    }
                }
                None => {
                    tracing::debug!(target: "exec", "grace over: SIGKILL to process group {pgid}");
                    signal_group(pgid, Signal::SIGKILL);
                }
            }
        }
    }

    /// The cgroup of the run led by `pgid`, and whether its leader is still
    /// ours (unreaped: its pid, and so the pgid, cannot be anyone else's).
    fn cgroup_of(&self, pgid: u32) -> Option<(&RunCgroup, bool)> {
        self.entries
            .values()
            .find(|e| e.pgid == pgid)
            .and_then(|e| e.cgroup.as_ref().map(|cg| (cg, true)))
            .or_else(|| {
                self.draining
                    .values()
                    .find(|d| d.pgid == pgid)
                    .map(|d| (&d.cgroup, false))
            })
    }

    /// Once nothing is left in the cgroup `dir`: keeps it as its script's
    /// spare, or removes it.
    fn check_drained(&mut self, dir: &std::path::Path) {
        let Some(d) = self.draining.get_mut(dir) else {
            return;
        };
        if d.cgroup.populated() {
            return;
        }
        if let Some(Draining {
            cgroup: cg, token, ..
        }) = self.draining.remove(dir)
        {
            self.drain_tokens.remove(&token);
            self.handles.remove(token, cg.events_fd().as_fd());
            self.release(cg);
        }
    }

    /// An empty run cgroup: kept as its script's spare, or removed.
    fn release(&mut self, cg: RunCgroup) {
        // Nothing is left for a pending SIGKILL of this run to reach; it
        // must not reach the next run born here.
        self.group_kills
            .retain(|(_, _, d)| d.as_deref() != Some(cg.dir.as_path()));
        let cg = match &self.spares {
            Some(spares) => match spares.keep(cg) {
                Ok(()) => {
                    tracing::debug!(target: "exec", "kept an empty cgroup for reuse");
                    return;
                }
                Err(cg) => cg,
            },
            None => cg,
        };
        match cg.remove() {
            Ok(()) => {
                tracing::debug!(target: "exec", "removed the empty cgroup {}", cg.dir.display())
            }
            Err(e) => {
                tracing::debug!(target: "exec", "cannot remove the cgroup {}: {e}", cg.dir.display())
            }
        }
    }

    /// Waits (at most `timeout`; None: until something happens) for the wake
    /// fd, the pidfds and the `cgroup.events` of draining cgroups; returns the
    /// ids whose pidfd is readable and the directories whose cgroup changed.
    fn wait_ready(&mut self, timeout: Option<Duration>) -> Result<(Vec<u64>, Vec<PathBuf>), Errno> {
        let (entries, drain_tokens, draining) = (&self.entries, &self.drain_tokens, &self.draining);
        let fd_of = |token: u64| {
            if let Some(e) = entries.get(&token) {
                return Some(e.pidfd.as_fd());
            }
            let d = draining.get(drain_tokens.get(&token)?)?;
            Some(d.cgroup.events_fd().as_fd())
        };
        let tokens = self.handles.wait(timeout, fd_of)?;
        let mut ready = Vec::new();
        let mut drained = Vec::new();
        for token in tokens {
            if self.entries.contains_key(&token) {
                ready.push(token);
            } else if let Some(dir) = self.drain_tokens.get(&token) {
                drained.push(dir.clone());
            }
            // Else the wake fd (drained with the commands), or a descriptor
            // handled and removed already.
        }
        Ok((ready, drained))
    }

    /// The pidfd of `id` is readable: the process has exited.
    fn handle_exit(&mut self, id: u64) {
        let Some(e) = self.entries.get(&id) else {
            return;
        };
        let status = if e.child {
            match waitid(
                WaitId::PidFd(e.pidfd.as_fd()),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
            ) {
                Ok(Some(st)) => Some(status_outcome(&st)),
                // Not exited after all (cannot happen for a pidfd, but harmless).
                Ok(None) | Err(Errno::INTR) => return,
                Err(err) => {
                    tracing::error!(
                        target: "exec",
                        "cannot reap pid {} (someone else reaped it?): {err}",
                        e.pid
                    );
                    None
                }
            }
        } else {
            None
        };
        let Some(mut e) = self.entries.remove(&id) else {
            return;
        };
        let outcome = match e.stage {
            Stage::Running => status.unwrap_or(Outcome::Lost),
            Stage::Terminating => {
                // The leader is gone before its grace ran out; whatever else is
                // left in its group (its cgroup, when it has one) still gets
                // SIGKILL when the grace ends.
                if let Some(at) = e.deadline {
                    let contained = e.cgroup.as_ref().map(|cg| cg.dir.clone());
                    self.group_kills.push((at, e.pgid, contained));
                }
                Outcome::TimedOut
            }
            Stage::Killed => Outcome::TimedOut,
        };
        let duration = e.started.elapsed();
        tracing::debug!(
            target: "exec",
            "pid {} (tag {:?}) finished: {outcome:?} after {duration:?}",
            e.pid,
            e.tag
        );
        if let Some(tag) = e.tag {
            let finished = Finished {
                tag,
                pid: e.pid,
                outcome,
                duration,
            };
            // Not contained: a lost exit would leave its resource waiting for
            // ever; in clpd a panic here ends the daemon (see crate::panics).
            // First: the daemon may be waiting for this exit to start the next
            // script, and what follows is this thread's bookkeeping.
            (self.notify)(finished);
        }
        // Its pidfd (never duplicated) is closed when `e` goes, below.
        self.handles.forget_closing(id);
        // After the report: releasing an emptied cgroup is housekeeping, and
        // the daemon may be waiting for this exit to start the next script.
        if let Some(mut cg) = e.cgroup.take() {
            if cg.populated() {
                // Followed until empty: a kill of this run (timeout, stop)
                // still reaches what the script left behind. (Emptied after
                // the read above, it is reported as soon as it is followed.)
                self.start_draining(e.pgid, cg);
            } else {
                // Mostly so: a check's run leaves nothing behind. Released
                // at once, without following it.
                self.release(cg);
            }
        }
    }
}

impl Watcher {
    /// Follows the cgroup of a run whose leader is gone, until it is empty.
    fn start_draining(&mut self, pgid: u32, cgroup: RunCgroup) {
        let token = self.new_token();
        self.handles
            .add(token, cgroup.events_fd().as_fd(), EventFlags::PRI);
        self.drain_tokens.insert(token, cgroup.dir.clone());
        let dir = cgroup.dir.clone();
        let previous = self.draining.insert(
            dir,
            Draining {
                pgid,
                cgroup,
                token,
            },
        );
        // A directory is reused only once empty and out of `draining`; should
        // one be followed twice anyway, the older is dropped properly.
        if let Some(old) = previous {
            self.drain_tokens.remove(&old.token);
            self.handles
                .remove(old.token, old.cgroup.events_fd().as_fd());
        }
    }
}

fn status_outcome(st: &WaitIdStatus) -> Outcome {
    if let Some(code) = st.exit_status() {
        Outcome::Exited(code)
    } else if let Some(sig) = st.terminating_signal() {
        Outcome::Signaled(sig)
    } else {
        Outcome::Lost
    }
}

/// `cgroup.kill` from the watcher; failures are logged, never fatal.
fn kill_cgroup(cg: &RunCgroup) {
    match cg.kill() {
        Ok(()) => {
            tracing::debug!(target: "exec", "SIGKILL to every process of cgroup {}", cg.dir.display())
        }
        Err(e) => tracing::warn!(target: "exec", "cannot kill cgroup {}: {e}", cg.dir.display()),
    }
}

/// Signals a group from the watcher; failures are logged, never fatal.
fn signal_group(pgid: u32, sig: Signal) {
    if let Err(e) = kill_group(pgid, sig) {
        tracing::debug!(target: "exec", "{sig} to process group {pgid}: {e}");
    }
}
