//! Running scripts for the daemon: exec resources' `start.sh`/`stop.sh`, later
//! monitor scripts.
//!
//! # What this module owns
//!
//! * Spawning a script ([`Executor::spawn`]): a new session (so pgid == pid), stdin
//!   from `/dev/null`, stdout+stderr appended to a userlog (rotated to `<path>.pre`
//!   at a size) or discarded, a clean environment (not clpd's: see
//!   [`spawn::clean_env`]) plus the spec's variables,
//!   default signal dispositions and an empty signal mask, every other descriptor
//!   close-on-exec. A script without an x bit runs as `/bin/sh <script>`.
//! * One watcher that owns every watched process: its pidfd, its pgid and its
//!   timers. It waits in `epoll` on the pidfds plus a wake eventfd (each
//!   registered once: a wake-up costs the ready descriptors, not all of them),
//!   with a timeout equal to the earliest deadline, and calls `notify` once per
//!   finished process. It runs on a thread of its own (`clp-exec`,
//!   [`Executor::with_containment`]) or, driven ([`Executor::driven`], clpd),
//!   on its owner's loop, which waits on the watcher's epoll set itself.
//! * Containment ([`cgroup`]): where cgroup v2 is usable each run gets a cgroup
//!   of its own, entered by the child before exec; otherwise the process group
//!   is the only fence.
//! * Timeouts: at the deadline SIGTERM to the whole process group (and to every
//!   process of the run's cgroup), SIGKILL to the whole group (and
//!   `cgroup.kill`) `kill_grace` later; the outcome is [`Outcome::TimedOut`] whatever
//!   the leader's exit status. If the leader exits during the grace, the SIGKILL
//!   to its group is still sent when the grace ends (grandchildren that ignore
//!   SIGTERM do not survive a timeout); with a cgroup, only the run's cgroup is
//!   killed then, if anything is left in it: the reaped leader's pgid may
//!   already be another process group's.
//! * Adoption of processes started by a previous clpd ([`Executor::adopt`]),
//!   recognised by their start time (field 22 of `/proc/<pid>/stat`).
//!
//! # Invariants
//!
//! * Every child we spawn is reaped exactly once, by the watcher, through
//!   `waitid(P_PIDFD)`, including children whose tag was passed to
//!   [`Executor::forget`].
//! * Every watched process is reported at most once; a forgotten one never, when
//!   `forget` was called before it exited (calls reach the watcher in order; a
//!   report of an exit that happened before `forget` may already be under way).
//! * The watcher is the only owner of the process handles; callers talk to it only
//!   through commands: on a channel plus a wake eventfd to its thread, or handed
//!   to it directly when it is driven (the caller is then its owner's loop).
//! * Process death is an event (the pidfd becomes readable), timers are deadlines;
//!   nothing here sleeps on a fixed interval or polls `/proc`.
//! * The timeout counts from the moment of `spawn`, not from when the watcher
//!   picks the process up.
//!
//! # What it must never do
//!
//! * Never block the caller on a process: `spawn`, `adopt`, `forget` and
//!   `terminate_group` only fork/exec or queue work for the watcher.
//! * Never reap with `wait(-1)`/`waitpid(-1)`, and nothing else in clpd may either:
//!   that would steal our children's statuses (they would then be reported `Lost`).
//!   Never use `std::process::Child::wait` on our children.
//! * Never kill an unrelated group: [`kill_group`] refuses pgid 0, 1 and clpd's own.
//! * Never reap an adopted process (it is not ours to reap), and never kill children
//!   on [`Executor::shutdown`].
//! * Never panic: errors are returned or logged (target `exec`); a panicking
//!   `notify` is caught and logged. `notify` runs on the watcher thread and must be
//!   quick (e.g. push into a channel): while it runs, no other process is seen.
//! * Never let a descriptor of clpd leak into a script: everything above fd 2 is
//!   marked close-on-exec in the child (`close_range(CLOSE_RANGE_CLOEXEC)`); a
//!   child born sharing clpd's descriptor table ([`clone`]) first takes a
//!   private copy of its low part and never changes the shared one.
//!
//! Shutting down leaves running children unwatched: they become zombies when they
//! exit, until clpd itself exits.

mod cgroup;
mod clone;
mod driven;
mod handles;
mod limits;
mod spawn;
mod watcher;

pub use cgroup::{CONTAINMENT_ENV, Containment, kill_interrupted_run, remove_leftovers};
pub use limits::raise_open_files_limit;
pub use spawn::{PASS_ENV, SCRIPT_PATH};

#[cfg(test)]
mod tests;

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp};
use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use rustix::process::{Pid as RPid, PidfdFlags, WaitId, WaitIdOptions, pidfd_open, waitid};

use crate::error::{ClpError, ErrorKind, Result};
use watcher::{Command, Entry, Stage, Watcher};

/// A script to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// The script; executed directly if executable, else via `/bin/sh <program>`.
    /// A relative path is taken relative to `cwd`.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Added to (or replacing in) the clean base environment of every script:
    /// PATH, HOME, LANG, clpd's `CLP_*` and `CLP_SCRIPT_ENV` variables.
    pub env: Vec<(String, String)>,
    /// The working directory (normally the script's directory).
    pub cwd: PathBuf,
    /// Where stdout and stderr go.
    pub output: Output,
    /// None = no timeout (asynchronous start scripts).
    pub timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL of the process group.
    pub kill_grace: Duration,
    /// Read the run's start time for [`Spawned::start_time`]: for runs a
    /// successor clpd must recognise (resource scripts, kept in clpd's
    /// state); a monitor's check or an alert command does without (opening
    /// `/proc/<pid>/stat` is a good part of a spawn's cost).
    pub identify: bool,
    /// What the run's cgroup is named after (runs under the same name reuse
    /// an emptied cgroup, one at a time): None for the script's directory and
    /// name, which tells the scripts of resources and monitors apart; a
    /// program several monitors share (`/bin/true`) is named per monitor.
    pub cgroup_label: Option<String>,
}

/// Where a script's stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Discard,
    /// Appended to `path` (created with mode 0644, parent directories too). When
    /// `rotate_at` is `Some(n)` and the file holds at least `n` bytes (and is not
    /// empty) before the spawn, it is first renamed to `<path>.pre`: one previous
    /// generation, as CLUSTERPRO keeps.
    Append {
        path: PathBuf,
        rotate_at: Option<u64>,
    },
}

/// A spawned script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawned {
    pub pid: u32,
    /// Equal to `pid`: the script leads its own session and group.
    pub pgid: u32,
    /// Field 22 of `/proc/<pid>/stat`, to recognise the process after a daemon
    /// restart (0 if it could not be read, or not asked for: see
    /// [`ScriptSpec::identify`]).
    pub start_time: u64,
    /// The run's own cgroup, when it has one.
    pub cgroup: Option<std::path::PathBuf>,
}

/// How a watched process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exited by itself with this status.
    Exited(i32),
    /// Killed by this signal (not by our timeout).
    Signaled(i32),
    /// Its timeout passed and its group was killed, whatever its exit status.
    TimedOut,
    /// A watched non-child vanished (or the status was taken by someone else): unknown.
    Lost,
}

/// A finished process, as reported to `notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub tag: u64,
    pub pid: u32,
    pub outcome: Outcome,
    /// Since the spawn (or since the adoption, for adopted processes).
    pub duration: Duration,
}

/// Spawns scripts and watches them on one thread. Cheap to share (`&self` methods,
/// `Sync`); dropping it stops the watcher like [`Executor::shutdown`].
pub struct Executor {
    tx: Sender<Command>,
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
    /// Without a thread: the watcher, run by its owner's loop (see
    /// [`Executor::driven`]), and what it saw end since the last look.
    driven: Option<driven::Driven>,
    /// Where script runs get cgroups of their own; None: process groups only.
    cgroups: Option<cgroup::Cgroups>,
    /// Every script's environment before its spec's variables
    /// ([`spawn::clean_env`] of clpd's, which does not change while it runs).
    base_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// /dev/null, open once: every script's stdin.
    null: std::fs::File,
}

impl Executor {
    /// Starts the watcher thread; `notify` is called (from that thread) for every
    /// finished process.
    pub fn new(notify: Box<dyn Fn(Finished) + Send>) -> Result<Executor> {
        Self::with_containment(notify, Containment::ProcessGroups("not requested".into()))
    }

    /// Like [`Executor::new`], with scripts contained as `containment` says
    /// (see [`Containment::detect`]). The cgroups it creates are, once
    /// empty, kept for the next run of the same script (one each) or
    /// removed; all are removed when the executor is dropped.
    pub fn with_containment(
        notify: Box<dyn Fn(Finished) + Send>,
        containment: Containment,
    ) -> Result<Executor> {
        let (mut executor, watcher) = Self::parts(notify, containment)?;
        let thread = std::thread::Builder::new()
            .name("clp-exec".into())
            .spawn(move || watcher.run())
            .map_err(|e| {
                ClpError::new(
                    ErrorKind::Internal,
                    format!("cannot start the script watcher thread: {e}"),
                )
            })?;
        executor.thread = Some(thread);
        Ok(executor)
    }

    /// An executor without its watcher, and the watcher that `notify`s.
    fn parts(
        notify: Box<dyn Fn(Finished) + Send>,
        containment: Containment,
    ) -> Result<(Executor, Watcher)> {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map_err(|e| {
            ClpError::new(
                ErrorKind::Internal,
                format!("cannot create the script watcher's eventfd: {e}"),
            )
        })?;
        let wake = Arc::new(wake);
        let (tx, rx) = mpsc::channel();
        let spares = match &containment {
            Containment::Cgroups(c) => Some(c.spares()),
            Containment::ProcessGroups(_) => None,
        };
        let watcher = Watcher::new(rx, Arc::clone(&wake), notify, spares).map_err(|e| {
            ClpError::new(
                ErrorKind::Internal,
                format!("cannot create the script watcher's epoll set: {e}"),
            )
        })?;
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| ClpError::io("cannot open", std::path::Path::new("/dev/null"), e))?;
        let executor = Executor {
            base_env: spawn::clean_env(std::env::vars_os()),
            null,
            tx,
            wake,
            thread: None,
            driven: None,
            cgroups: match containment {
                Containment::Cgroups(c) => Some(c),
                Containment::ProcessGroups(_) => None,
            },
        };
        Ok((executor, watcher))
    }

    /// Spawns `spec` in a new session (pgid == pid), stdin /dev/null, output as
    /// configured, everything else close-on-exec. The watcher reaps it via its
    /// pidfd and calls `notify(Finished{tag, ..})`. At the timeout: SIGTERM to the
    /// group, SIGKILL to the group after `kill_grace`, outcome `TimedOut`.
    pub fn spawn(&self, tag: u64, spec: ScriptSpec) -> Result<Spawned> {
        let program = spawn::resolve_program(&spec);
        // The run's cgroup; a failure leaves the script in its process group
        // only (a script that cannot be contained better still runs).
        let run_cgroup = self
            .cgroups
            .as_ref()
            .map(|c| c.create_run(&program, spec.cgroup_label.as_deref()))
            .transpose()
            .unwrap_or_else(|e| {
                tracing::warn!(target: "exec", "cannot create a cgroup for {}: {e}; it is contained by its process group only", program.display());
                None
            });
        let started = Instant::now();
        // Read around the spawn, for a script whose identity is kept: the
        // kernel stamps the child's start inside this window, so equal
        // readings are its start time (see boot_ticks).
        let ticks_before = spec.identify.then(boot_ticks).flatten();
        // Born in its cgroup (no migration: see `clone`), or a plain child
        // contained by its process group.
        let (pid, pidfd) = match &run_cgroup {
            Some(cg) => match spawn::spawn_in_cgroup(&spec, &self.base_env, &cg.dir_fd, &self.null)
            {
                Ok(child) => (child.pid, Some(child.pidfd)),
                Err(e) => {
                    remove_run_cgroup(run_cgroup);
                    return Err(e);
                }
            },
            None => {
                let mut cmd = spawn::build(&spec, &self.base_env)?;
                let child = cmd.spawn().map_err(|e| spawn::spawn_error(&spec, e))?;
                // `child` is dropped without waiting: the watcher reaps through the pidfd.
                (child.id(), None)
            }
        };
        let cgroup = run_cgroup;
        let cgroup_dir = cgroup.as_ref().map(|c| c.dir.clone());
        // Our unreaped child cannot vanish or be replaced, so this pidfd is its.
        let pidfd = match pidfd.map_or_else(
            || {
                i32::try_from(pid)
                    .ok()
                    .and_then(RPid::from_raw)
                    .ok_or(rustix::io::Errno::SRCH)
                    .and_then(|p| pidfd_open(p, PidfdFlags::empty()))
            },
            Ok,
        ) {
            Ok(fd) => fd,
            Err(e) => {
                reap_now(pid);
                return Err(ClpError::new(
                    ErrorKind::Failed,
                    format!(
                        "cannot watch script {} (pid {pid}): {e}; it was killed",
                        program.display()
                    ),
                ));
            }
        };
        let ticks_after = spec.identify.then(boot_ticks).flatten();
        let start_time = if spec.identify {
            start_time_in_window(ticks_before, ticks_after)
                .or_else(|| process_start_time(pid))
                .unwrap_or_else(|| {
                    tracing::warn!(target: "exec", "cannot read the start time of pid {pid}");
                    0
                })
        } else {
            0
        };
        tracing::debug!(
            target: "exec",
            "spawned {} as pid {pid} (tag {tag}, timeout {:?})",
            program.display(),
            spec.timeout
        );
        let entry = Entry {
            tag: Some(tag),
            pid,
            pgid: pid,
            pidfd,
            child: true,
            started,
            stage: Stage::Running,
            deadline: spec.timeout.and_then(|t| started.checked_add(t)),
            kill_grace: spec.kill_grace,
            cgroup,
        };
        if let Err(cmd) = self.submit(Command::Watch(entry)) {
            // The watcher is gone: do not leave an unreaped child behind.
            if let Command::Watch(entry) = cmd {
                reap_now(entry.pid);
            }
            return Err(ClpError::new(
                ErrorKind::Internal,
                format!(
                    "the script watcher is not running; script {} was killed",
                    program.display()
                ),
            ));
        }
        Ok(Spawned {
            pid,
            pgid: pid,
            start_time,
            cgroup: cgroup_dir,
        })
    }

    /// Watches a process that is NOT our child (adopted after a daemon restart).
    /// With `start_time`, it must match field 22 of `/proc/<pid>/stat`. When it
    /// exits, `notify` gets `Outcome::Lost`. Errors if it is already gone.
    pub fn adopt(&self, tag: u64, pid: u32, start_time: Option<u64>) -> Result<()> {
        let gone = || ClpError::not_found(format!("pid {pid} is not running"));
        let raw = i32::try_from(pid)
            .ok()
            .and_then(RPid::from_raw)
            .ok_or_else(|| ClpError::usage(format!("invalid pid {pid}")))?;
        let pidfd = match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::SRCH) => return Err(gone()),
            Err(e) => {
                return Err(ClpError::failed(format!("cannot watch pid {pid}: {e}")));
            }
        };
        let actual = process_start_time(pid);
        // Checked after reading /proc: if the pidfd's process is still alive now,
        // the pid number still belongs to it, so what we read was its start time.
        if exited(&pidfd) {
            return Err(gone());
        }
        if let Some(expected) = start_time
            && actual != Some(expected)
        {
            return Err(ClpError::not_found(format!(
                "pid {pid} is not the process that was started (start time {}, expected {expected})",
                actual.map_or_else(|| "unknown".to_string(), |t| t.to_string())
            )));
        }
        tracing::debug!(target: "exec", "adopting pid {pid} (tag {tag})");
        let entry = Entry {
            tag: Some(tag),
            pid,
            pgid: pid,
            pidfd,
            child: false,
            started: Instant::now(),
            stage: Stage::Running,
            deadline: None,
            kill_grace: Duration::ZERO,
            cgroup: None,
        };
        self.submit(Command::Watch(entry))
            .map_err(|_| ClpError::new(ErrorKind::Internal, "the script watcher is not running"))?;
        Ok(())
    }

    /// Stops reporting `tag` (no notify). A child is still reaped when it ends,
    /// and its timeout, if any, still applies.
    pub fn forget(&self, tag: u64) {
        self.command(Command::Forget(tag));
    }

    /// SIGTERM to the process group now, SIGKILL after `grace` (on the watcher's
    /// timer; this call does not block). When the run led by `pgid` has a
    /// cgroup, every process in it gets the same, escaped sessions included.
    pub fn terminate_group(&self, pgid: u32, grace: Duration) {
        self.command(Command::TerminateGroup { pgid, grace });
    }

    /// Stops the watcher thread (does not kill children).
    pub fn shutdown(self) {
        drop(self);
    }

    /// Waits until the watcher has handled every exit that happened before this
    /// call (tests only: it blocks).
    #[cfg(test)]
    fn barrier(&self, timeout: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        self.command(Command::Barrier(tx));
        rx.recv_timeout(timeout).is_ok()
    }

    fn command(&self, cmd: Command) {
        if self.submit(cmd).is_err() {
            tracing::error!(target: "exec", "the script watcher is not running");
        }
    }

    /// Hands `cmd` to the watcher: at once when it is driven (the caller is
    /// its owner's loop), else queued for its thread, which is woken.
    fn submit(&self, cmd: Command) -> std::result::Result<(), Command> {
        if let Some(driven) = &self.driven {
            driven.apply(cmd);
            return Ok(());
        }
        self.tx.send(cmd).map_err(|mpsc::SendError(cmd)| cmd)?;
        self.wake();
        Ok(())
    }

    fn wake(&self) {
        if let Err(e) = rustix::io::write(self.wake.as_fd(), &1u64.to_ne_bytes()) {
            // EAGAIN means the counter is already huge: the watcher is awake anyway.
            if e != rustix::io::Errno::AGAIN {
                tracing::error!(target: "exec", "cannot wake the script watcher: {e}");
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(driven) = &self.driven {
            driven.finish();
        }
        let _ = self.tx.send(Command::Shutdown);
        self.wake();
        if let Some(thread) = self.thread.take() {
            // Never join ourselves (an Executor dropped from inside `notify`).
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!(target: "exec", "the script watcher thread panicked");
            }
        }
        if let Some(c) = &self.cgroups {
            c.clean_up();
        }
    }
}

/// Removes a run cgroup nothing entered (the spawn failed).
fn remove_run_cgroup(run: Option<cgroup::RunCgroup>) {
    if let Some(cg) = run {
        let _ = cg.remove();
    }
}

/// Whether a pidfd already reports its process as exited (zero-timeout poll).
fn exited(pidfd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&zero)) {
        Ok(n) => n > 0,
        Err(_) => false,
    }
}

/// Last resort for a child we cannot hand to the watcher: kill its group and reap
/// it here. SIGKILL makes this wait short.
fn reap_now(pid: u32) {
    tracing::error!(target: "exec", "killing and reaping pid {pid} synchronously");
    if let Err(e) = kill_group(pid, Signal::SIGKILL) {
        tracing::error!(target: "exec", "cannot kill process group {pid}: {e}");
    }
    if let Some(p) = i32::try_from(pid).ok().and_then(RPid::from_raw)
        && let Err(e) = waitid(WaitId::Pid(p), WaitIdOptions::EXITED)
    {
        tracing::error!(target: "exec", "cannot reap pid {pid}: {e}");
    }
}

/// `CLOCK_BOOTTIME` in the clock ticks of `/proc/<pid>/stat`'s start time.
///
/// The kernel stamps a new process with this clock when it forks it and shows
/// the stamp as `nanoseconds / (10^9 / USER_HZ)`. A reading taken before the
/// fork and one taken after it that fall in the same tick therefore give the
/// child's start time exactly, without reading `/proc` while the child is
/// still in `execve` (which can make the reader wait for the exec to end).
pub(crate) fn boot_ticks() -> Option<u64> {
    let hz = rustix::param::clock_ticks_per_second();
    if hz == 0 || 1_000_000_000 % hz != 0 {
        return None;
    }
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let nanos = u64::try_from(now.tv_sec)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(now.tv_nsec).ok()?)?;
    Some(nanos / (1_000_000_000 / hz))
}

/// The start time of a process forked between two [`boot_ticks`] readings,
/// when both readings are the same tick.
pub(crate) fn start_time_in_window(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    match (before, after) {
        (Some(b), Some(a)) if a == b => Some(b),
        _ => None,
    }
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), parsed
/// after the last `)` so that a command name with spaces or parentheses is harmless.
pub fn process_start_time(pid: u32) -> Option<u64> {
    process_state_and_start_time(pid).map(|(_, start)| start)
}

/// (state letter, start time) of process `pid`, from one read of its `stat`
/// into a buffer on the stack: the loop reads it on every script start and
/// every pidw check (std's read_to_string probes with small reads first).
pub fn process_state_and_start_time(pid: u32) -> Option<(u8, u64)> {
    use std::io::{Read, Write};
    use std::os::unix::ffi::OsStrExt;

    let mut path = [0u8; 32];
    let len = {
        let mut w = &mut path[..];
        write!(w, "/proc/{pid}/stat").ok()?;
        32 - w.len()
    };
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&path[..len]));
    let mut file = std::fs::File::open(path).ok()?;
    // A stat line is a few hundred bytes; 1 KiB holds the longest.
    let mut buf = [0u8; 1024];
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    parse_stat(&buf[..n])
}

/// (state, start time) from the text of a `stat` file: after the name's
/// closing parenthesis come field 3 (state) ... field 22 (start time).
fn parse_stat(stat: &[u8]) -> Option<(u8, u64)> {
    let close = stat.iter().rposition(|b| *b == b')')?;
    let mut fields = stat[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    let start = fields.nth(18)?;
    let start = std::str::from_utf8(start).ok()?.parse().ok()?;
    Some((state, start))
}

/// The start time from the text of a `/proc/<pid>/stat`.
#[cfg(test)]
fn parse_start_time(stat: &str) -> Option<u64> {
    parse_stat(stat.as_bytes()).map(|(_, start)| start)
}

/// Sends `sig` to process group `pgid`. Refuses pgid 0 and 1 and clpd's own group.
pub fn kill_group(pgid: u32, sig: Signal) -> Result<()> {
    let raw = i32::try_from(pgid).unwrap_or(0);
    if raw <= 1 {
        return Err(ClpError::new(
            ErrorKind::Internal,
            format!("refusing to signal process group {pgid}"),
        ));
    }
    let group = Pid::from_raw(raw);
    if group == getpgrp() {
        return Err(ClpError::new(
            ErrorKind::Internal,
            format!("refusing to signal process group {pgid}: it is clpd's own"),
        ));
    }
    killpg(group, sig).map_err(|e| match e {
        Errno::ESRCH => ClpError::not_found(format!("no process group {pgid}")),
        Errno::EPERM => ClpError::new(
            ErrorKind::Permission,
            format!("not allowed to signal process group {pgid}"),
        ),
        _ => ClpError::failed(format!("cannot send {sig} to process group {pgid}: {e}")),
    })
}
