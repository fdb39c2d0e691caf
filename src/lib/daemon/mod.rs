//! clpd: the event loop that owns all runtime state.
//!
//! Threads that wait (signals, probes, IPC connections) only turn what
//! happened into [`Event`]s on one channel. The loop sleeps in one epoll set
//! ([`wakeup`]) until the next event, the end of a process it watches (the
//! executor is driven by the loop: a death wakes the loop itself, see
//! `exec::driven`) or the earliest timer deadline, feeds the engine, and
//! carries out its effects: spawn scripts, arm timers, log alerts, answer
//! requests, run OS actions. After each batch it writes the persisted state and
//! the status snapshot, atomically, when they changed (the snapshot paced: see
//! [`publish`]); after a batch that started a resource's script, a moment
//! later (see [`scripts_first`]).
//!
//! The loop never panics on purpose and never blocks on a child: every child is
//! watched by the executor, every request is answered from the loop.
//!
//! This file holds the loop (events, timers, the batch's drain), [`event`]
//! its vocabulary; one file per concern holds the rest of [`Daemon`]'s work: [`start`] (from `clpd` to the
//! loop), [`server`] (signal and socket threads), [`restart`] (recovery after
//! a restart of clpd), [`requests`] (commands and reload), [`effects`] (the
//! cluster engine's effects and the executor's reports), [`monitoring`] (the
//! monitor engine's effects), [`alerts`] and [`publish`] (state and snapshot).

pub use crate::config::default_config;
pub mod notify;
pub mod os_action;
pub mod persist;
pub mod script;
pub mod snapshot;

mod alerts;
mod clpd_stopped;
mod cluster;
mod cluster_hearing;
mod cluster_links;
mod cluster_status;
mod collect;
mod config_push;
mod disk_work;
mod effects;
mod event;
mod file_writer;
mod fip;
mod forced_stop;
mod isolation;
mod monitoring;
mod moving;
pub mod np_watchdog;
mod partition;
mod peers;
mod placement;
mod placement_link;
mod placement_ops;
mod publish;
mod remote;
mod requests;
mod resources;
mod restart;
mod rexec;
mod scripts_first;
mod seams;
mod server;
mod start;
mod sync_wait;
#[cfg(test)]
mod tests;
mod timers;
mod wakeup;

use alerts::ErrorSnapshots;
use event::*;
use start::load_config;
pub use start::run;

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender, TryRecvError};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::alert::{Alert, AlertLog, AlertWriter};
use crate::config;
use crate::engine::core::{Core, CoreEffect, CoreInput, Now};
use crate::engine::monitor::{CheckId, CheckResult, MonEffect, MonInput, MonTimer};
use crate::engine::resource::AsyncPid;
use crate::engine::{
    Command, Effect, Input, Millis, OsAction, Persisted, ReqId, Service, StopFactor,
};
use crate::error::{ClpError, ErrorKind, Result};
use crate::exec::{Executor, Finished, Outcome};
use crate::ipc;
use crate::model::{Cluster, MonitorKind};
use crate::paths::Paths;
use crate::protocol::{Reply, Request};
pub use persist::write_atomically;
use persist::{InFlight, StateFile};

/// The environment variable naming a pipe fd on which a detaching `clpd`
/// reports readiness to the process that started it.
pub const READY_FD_ENV: &str = "CLP_READY_FD";

/// How long an error snapshot waits after its alert. Compressing the logs costs
/// CPU, and an Error alert usually comes with a recovery (stop.sh, start.sh)
/// that should not compete with it; the snapshot then also holds the
/// recovery's first lines.
const ERROR_SNAPSHOT_DELAY: Duration = Duration::from_secs(1);

/// How early a monitor's check timer may fire to share a wake-up of the loop.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// How long the alert-log thread may take to write what is queued before a
/// sysrq action (the module logs wait as long, see `log::queue`).
const LAST_WORDS_WAIT: Duration = Duration::from_secs(2);

/// Alert extension commands running at once; beyond that an alert's commands
/// are skipped (and logged).
const MAX_ALERT_COMMANDS: usize = 16;

struct Daemon {
    paths: Paths,
    host: script::HostInfo,
    /// The cluster engine, the monitors and the policy joining them.
    core: Core,
    /// The probes of the active monitors that have one.
    workers: HashMap<String, crate::monitor::ProbeHandle>,
    /// Each monitor's `/metrics` series, looked up at its first check
    /// answered in the loop (see `note_check`); emptied by a reload.
    check_metrics: HashMap<String, crate::metrics::CheckMetrics>,
    /// The threads most probes share.
    probe_pool: crate::monitor::ProbePool,
    /// Runs scripts and watches processes (the executor; a recorder in tests).
    executor: Box<dyn seams::Spawner>,
    /// The time of timers and of the engine core (fake in tests).
    clock: Box<dyn seams::Clock>,
    events: wakeup::EventTx,
    alerts: AlertWriter,
    logs: Option<Arc<crate::log::ModuleLogs>>,
    tags: HashMap<u64, Tag>,
    /// The asynchronous start scripts the executor watches through a pidfd
    /// (pid -> start time), the ones of `Tag::Async`: their end is an event,
    /// so a pidw check of one needs no /proc read.
    watched_async: HashMap<u32, u64>,
    /// The asynchronous start reaped last, until the next resource script
    /// (see [`Daemon::run_script`]).
    reaped_async: Option<u32>,
    /// Disk operations at work on their threads.
    disk_work: disk_work::DiskWork,
    next_extra_tag: u64,
    timers: timers::Timers,
    replies: HashMap<ReqId, Sender<Reply>>,
    /// Answers waiting for the end of the batch.
    outbox: Vec<(Sender<Reply>, Reply)>,
    next_req: ReqId,
    epoch: Instant,
    epoch_ms: u64,
    exiting: bool,
    boot_id: String,
    config_digest: String,
    publisher: publish::Publisher,
    /// Alert destinations besides the alert log.
    syslog: crate::alert::SyslogWriter,
    mailer: crate::alert::Mailer,
    error_snapshots: ErrorSnapshots,
    /// The sra alert (event, arguments) raised for each monitor's current
    /// failure.
    resource_alerts: HashMap<String, (u32, Vec<String>)>,
    /// The engines' alerts of the batch being drained, with the time they
    /// were raised, reported once its scripts are started (see
    /// [`Daemon::send_deferred_alerts`]).
    deferred_alerts: Vec<(std::time::SystemTime, crate::engine::AlertRef)>,
    /// A script was started since the loop last looked for ended ones
    /// (see [`Daemon::take_quick_ends`]).
    spawned_in_turn: bool,
    /// The bookkeeping that waits for the scripts just started.
    scripts_first: scripts_first::ScriptsFirst,
    /// The loop's log lines, held until its scripts have started (see
    /// log::hold); across turns while [`Daemon::scripts_first`] holds back.
    log_hold: Option<crate::log::HoldGuard>,
    /// The cluster thread, with more than one server in clp.conf.
    cluster: Option<crate::cluster::ClusterLink>,
    /// Requests for other servers, and whether they can travel.
    remote: remote::Remote,
    /// What the other servers reported (several servers only).
    view: cluster_status::ClusterView,
    /// The first start of the service waiting for the other servers.
    sync: sync_wait::SyncWait,
    /// Which server runs each group (several servers only).
    places: placement::Places,
    /// Network partitions: the losing side's watch, its checks, the watchdog.
    np: partition::NpState,
}

impl Daemon {
    fn now(&self) -> Millis {
        let elapsed = self.clock.now().saturating_duration_since(self.epoch);
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }

    /// The time as the engine core takes it.
    fn time(&self) -> Now {
        Now {
            mono: self.now(),
            unix_secs: self.clock.unix_secs(),
        }
    }

    /// Under systemd with WatchdogSec: ping at half the interval (from the loop).
    fn arm_systemd_watchdog(&mut self) {
        let Some(usec) = notify::watchdog_usec() else {
            return;
        };
        let every = Duration::from_micros(usec / 2).max(Duration::from_millis(100));
        self.timers
            .push(self.clock.now() + every, TimerKey::SystemdWatchdog);
    }

    fn main_loop(&mut self, wait: &wakeup::LoopWait) {
        loop {
            let now = self.clock.now();
            let timer = self.timers.peek().map(|(at, _)| at);
            let until = [timer, self.executor.next_wake()]
                .into_iter()
                .flatten()
                .min();
            let timeout = until.map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(now)
            });
            let processes_ended = match wait.wait(timeout) {
                Ok(ended) => ended,
                Err(rustix::io::Errno::INTR) => false,
                Err(e) => {
                    // Not expected (ENOMEM): a short pause keeps a lasting
                    // failure from spinning; events and timers still run.
                    error!(target: "pm", "waiting for events failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    true
                }
            };
            // For /metrics (crate::metrics): how late a deadline woke the
            // loop, and below how long the turn took; no allocation.
            let woke = self.clock.now();
            if let Some(late) = until.and_then(|at| woke.checked_duration_since(at)) {
                crate::metrics::loop_woke_late(late);
            }
            // The turn's log lines reach the log writer once its scripts have
            // started: the writer's wake-ups come after the spawns, not on the
            // way from a death to its recovery (see log::hold).
            if self.log_hold.is_none() {
                self.log_hold = self.logs.as_ref().map(|l| l.hold_on_this_thread());
            }
            // Processes that ended: reaped here, on the loop, which can spawn
            // what follows at once (see exec::driven). Also when a script's
            // timeout is due.
            let executor_due = self
                .executor
                .next_wake()
                .is_some_and(|at| at <= self.clock.now());
            if processes_ended || executor_due {
                self.take_ended();
            }
            // Then everything already queued, as one batch.
            loop {
                match wait.rx.try_recv() {
                    Ok(event) => self.event(event),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        error!(target: "pm", "all event sources are gone; stopping");
                        return;
                    }
                }
            }
            let ended = self.end_of_batch();
            crate::metrics::loop_turn(self.clock.now().saturating_duration_since(woke));
            if ended {
                return;
            }
        }
    }

    /// What follows every batch of events: due timers, the engine core's
    /// work, publishing, then the answers. True when clpd may end.
    fn end_of_batch(&mut self) -> bool {
        self.fire_timers();
        self.step_all();
        self.take_quick_ends();
        if !self.scripts_first.may_settle(self.clock.now()) {
            // A resource script has just started: the rest waits for it to
            // have the CPU first (see scripts_first).
            self.timers.end_of_turn();
            return false;
        }
        self.send_deferred_alerts();
        if self.placement_after_batch() {
            self.drain();
        }
        self.note_moving();
        self.partition_progress();
        self.timers.end_of_turn();
        // The scripts of the turn have started: its log lines may go now.
        self.log_hold = None;
        self.flush();
        self.answer();
        self.exiting
            && self.core.service() == Service::Offline
            && self.core.is_quiet()
            && self.releases_delivered()
    }

    fn fire_timers(&mut self) {
        // Monitor checks due within the slack run with the timer that woke
        // the loop: a thousand monitors at 1 s then cost a hundred wake-ups a
        // second, not a thousand, and no check runs more than the slack early.
        // Other timers fire on time: a check's timeout must not cut a check
        // that answers in time, and a deadline that fired early would find its
        // work not yet due (the paced snapshot write would wait for the next
        // event).
        let now = self.clock.now();
        while let Some((at, key)) = self.timers.peek() {
            let slack = match key {
                TimerKey::Monitor(_, MonTimer::Check { .. }) => TIMER_SLACK,
                _ => Duration::ZERO,
            };
            if at > now + slack {
                break;
            }
            let Some((_, key)) = self.timers.pop() else {
                break;
            };
            match key {
                TimerKey::Stall(op) => self.core.push(Input::StallTimer { op }),
                TimerKey::SystemdWatchdog => {
                    // Sent from the loop itself: a stuck loop stops the pings.
                    let _ = notify::notify("WATCHDOG=1");
                    self.arm_systemd_watchdog();
                }
                TimerKey::Monitor(monitor, timer) => {
                    self.core.push(MonInput::Timer { monitor, timer })
                }
                TimerKey::ErrorSnapshot(module) => self.error_snapshots.take(&self.paths, &module),
                // The flush at the end of this turn writes what waited.
                TimerKey::Publish => {}
                TimerKey::Remote(_) => self.remote_deadline(),
                TimerKey::PacedStall => self.paced_check(),
                TimerKey::Report => self.report_due(),
                TimerKey::PeerStale(server) => self.peer_stale(&server),
                TimerKey::SyncWait => self.sync_progress(),
                // The end of the batch looks at the claims now due.
                TimerKey::Placement => self.forced_stop_retries(),
                TimerKey::NpDeadline => self.partition_deadline(),
                TimerKey::NpWatchdogFeed => self.feed_np_watchdog(),
                TimerKey::NpCorosyncLost => self.partition_corosync_grace(),
                TimerKey::ClpdStopGrace => self.clpd_stops_timer(),
                TimerKey::AnswersOverdue => self.answers_overdue(),
                // This turn's end does the bookkeeping.
                TimerKey::ScriptsFirst => self.scripts_first.timer = None,
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Exec(f) => self.finished(f),
            Event::Check {
                monitor,
                check,
                result,
                elapsed,
            } => {
                // Its duration was recorded where it answered (start_probe).
                self.timers.check_answered(check);
                self.resource_alert(&monitor, &result);
                self.core.push(MonInput::CheckDone {
                    monitor,
                    check,
                    result,
                    elapsed,
                })
            }
            Event::Signal(sig) => self.signal(sig),
            Event::Request { request, reply } => self.request(request, reply),
            Event::Cluster(event) => self.cluster_event(event),
            Event::RemoteAnswer {
                origin,
                transfer,
                parts,
            } => {
                if self.queue_parts(&origin, transfer, parts).is_err() {
                    warn!(target: "rc", "could not send an answer to {origin}; it will see no answer");
                }
            }
            Event::RemoteWhole { from, incoming } => self.incoming(&from, incoming),
            Event::ResourceWork { op, result, alerts } => {
                self.resource_work_done(op, result, alerts)
            }
            Event::DiskDone {
                op,
                resource,
                result,
                elapsed,
            } => self.disk_done(op, &resource, result, elapsed),
            Event::NpChecked(result) => self.partition_checked(result),
            // The end of this turn sends the answers that waited.
            Event::FilesWritten => {}
        }
    }

    fn signal(&mut self, sig: i32) {
        use signal_hook::consts::SIGHUP;
        if sig == SIGHUP {
            info!(target: "pm", "SIGHUP: reloading the configuration");
            if let Err(e) = self.reload() {
                error!(target: "pm", "{e}");
            }
            return;
        }
        if self.exiting {
            return;
        }
        info!(target: "pm", "signal {sig}: stopping the cluster service, then clpd");
        self.exiting = true;
        let _ = notify::notify("STOPPING=1");
        let local = self.core.model().local_server.clone();
        self.alert(&Alert::from_catalog(&local, "pm", 2, &[]));
        self.command(Command::StopService {
            factor: StopFactor::ServerShutdown,
            then: None,
        });
    }

    /// Lets the engine core work through what is queued, carrying out each
    /// step's effects before the next (they may queue inputs of their own).
    fn drain(&mut self) {
        self.step_all();
        // The alerts of the batch, once its scripts have started.
        self.send_deferred_alerts();
    }

    fn step_all(&mut self) {
        while let Some(effects) = self.core.step(self.time()) {
            self.carry_out(effects);
        }
    }

    /// Takes the ends of scripts that ended while this turn was spawning,
    /// and what they lead to, before the turn's bookkeeping (alerts, status,
    /// answers).
    ///
    /// Why: a spawn returns once the script has executed, and clpd is often
    /// woken on the CPU the script runs on: a short stop.sh has then ended
    /// before clpd runs again (measured: 27 kills in 40, bench/README.md). The
    /// bookkeeping after the spawn (about 0.1 ms) would stand between its end
    /// and the start.sh that follows; now it is done once, after both.
    ///
    /// A few rounds per turn at most: scripts that keep ending at once (a
    /// start that fails at once, restarted) do not keep the turn from its
    /// other events; their next ends wait on the loop's descriptor.
    fn take_quick_ends(&mut self) {
        const ROUNDS: usize = 4;
        for _ in 0..ROUNDS {
            if !std::mem::take(&mut self.spawned_in_turn) {
                return;
            }
            if !self.take_ended() {
                return;
            }
            self.step_all();
        }
        self.spawned_in_turn = false;
    }

    /// A resource script has started: the turn's bookkeeping waits for it
    /// (see [`scripts_first`]).
    fn script_started(&mut self) {
        // With several servers nothing waits: the placement follows the
        // service's states turn by turn (a stop's factor decides where its
        // groups go), and its messages must not wait either.
        if self.several_servers() {
            return;
        }
        let now = self.clock.now();
        if let Some(at) = self.scripts_first.started(now) {
            if let Some(old) = self.scripts_first.timer.take() {
                self.timers.cancel(old);
            }
            self.scripts_first.timer = Some(self.timers.arm(at, TimerKey::ScriptsFirst));
        }
    }

    /// Reaps what ended (and carries out due timeouts) and hands the ends to
    /// the engines; false when nothing had ended.
    fn take_ended(&mut self) -> bool {
        let ended = self.executor.take_finished();
        let any = !ended.is_empty();
        for finished in ended {
            self.event(Event::Exec(finished));
        }
        any
    }
}

fn outcome_text(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exited(code) => format!("exit {code}"),
        Outcome::Signaled(sig) => format!("signal {sig}"),
        Outcome::TimedOut => "timed out".into(),
        Outcome::Lost => "exit status unknown".into(),
    }
}
