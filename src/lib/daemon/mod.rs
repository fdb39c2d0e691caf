//! clpd: the event loop that owns all runtime state.
//!
//! Threads that wait (signals, the executor's pidfd watcher, IPC connections)
//! only turn what happened into [`Event`]s on one channel. The loop sleeps until
//! the next event or the earliest timer deadline (a heap), feeds the engine, and
//! carries out its effects: spawn scripts, arm timers, log alerts, answer
//! requests, run OS actions. After each batch it writes the status snapshot and
//! the persisted state, atomically, when they changed.
//!
//! The loop never panics on purpose and never blocks on a child: every child is
//! watched by the executor, every request is answered from the loop.
//!
//! This file holds the loop (events, timers, the batch's drain); one file per
//! concern holds the rest of [`Daemon`]'s work: [`start`] (from `clpd` to the
//! loop), [`server`] (signal and socket threads), [`restart`] (recovery after
//! a restart of clpd), [`requests`] (commands and reload), [`effects`] (the
//! cluster engine's effects and the executor's reports), [`monitoring`] (the
//! monitor engine's effects), [`alerts`] and [`publish`] (state and snapshot).

pub mod default_config;
pub mod notify;
pub mod os_action;
pub mod persist;
pub mod script;
pub mod snapshot;

mod alerts;
mod effects;
mod monitoring;
mod publish;
mod requests;
mod restart;
mod server;
mod start;

use alerts::ErrorSnapshots;
use start::load_config;
pub use start::run;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::alert::{Alert, AlertLog, AlertWriter};
use crate::config;
use crate::engine::monitor::{
    CheckId, CheckResult, MonEffect, MonInput, MonTimer, Monitors, Recovery,
};
use crate::engine::resource::AsyncPid;
use crate::engine::{
    Command, Effect, Engine, Input, Millis, OsAction, Persisted, ReqId, Service, StopFactor,
};
use crate::error::{ClpError, ErrorKind, Result};
use crate::exec::{Executor, Finished, Outcome};
use crate::ipc::{self, Request, Response};
use crate::model::{Cluster, MonitorKind};
use crate::paths::Paths;
pub use persist::write_atomically;
use persist::{InFlight, StateFile};

/// The environment variable naming a pipe fd on which a detaching `clpd`
/// reports readiness to the process that started it.
pub const READY_FD_ENV: &str = "CLP_READY_FD";

/// What wakes the loop.
enum Event {
    Exec(Finished),
    /// A check that ran on its own thread (psw) answered.
    Check {
        monitor: String,
        check: CheckId,
        result: CheckResult,
        elapsed: Duration,
    },
    Signal(i32),
    Request {
        request: Request,
        reply: Sender<Response>,
    },
}

/// What an executor tag stands for.
#[derive(Debug, Clone)]
enum Tag {
    /// A synchronous script of engine operation `op` (the tag itself).
    Script {
        resource: String,
        pgid: u32,
        start_time: u64,
        /// The run's cgroup, kept in the state for a successor clpd.
        cgroup: Option<std::path::PathBuf>,
        program: String,
        timeout: Duration,
    },
    /// A running asynchronous start script.
    Async { resource: String, pid: u32 },
    /// An OS action command.
    Os { word: &'static str },
    /// A synchronous genw check.
    Check {
        monitor: String,
        check: CheckId,
        pgid: u32,
    },
    /// An asynchronous genw script: it must keep running.
    AsyncGenw { monitor: String, pgid: u32 },
    /// A monitor's pre-action (or recovery) script.
    PreAction { monitor: String, id: CheckId },
    /// An alert extension command (`<messages>` altexec `cmdline`).
    AlertCommand { command: String },
}

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Stall(u64),
    Monitor(String, MonTimer),
    /// Time to tell systemd the loop is alive (WATCHDOG=1).
    SystemdWatchdog,
    /// Time to take the error snapshot an Error alert asked for.
    ErrorSnapshot(String),
}

/// How long an error snapshot waits after its alert. Compressing the logs costs
/// CPU, and an Error alert usually comes with a recovery (stop.sh, start.sh)
/// that should not compete with it; the snapshot then also holds the
/// recovery's first lines.
const ERROR_SNAPSHOT_DELAY: Duration = Duration::from_secs(1);

/// Tags outside the engine's operation numbers: adopted processes, OS actions.
const ADOPTED_TAGS: u64 = 1 << 62;
const OS_TAGS: u64 = 1 << 63;
const CHECK_TAGS: u64 = 1 << 61;
const PRE_ACTION_TAGS: u64 = 1 << 60;
const ALERT_TAGS: u64 = 1 << 59;

/// How long the alert-log thread may take to write what is queued before a
/// sysrq action (the module logs wait as long, see `log::queue`).
const LAST_WORDS_WAIT: Duration = Duration::from_secs(2);

/// Alert extension commands running at once; beyond that an alert's commands
/// are skipped (and logged).
const MAX_ALERT_COMMANDS: usize = 16;

struct Daemon {
    paths: Paths,
    host: script::HostInfo,
    engine: Engine,
    monitors: Monitors,
    /// Probe workers of the active monitors that have one.
    workers: HashMap<String, crate::monitor::ProbeWorker>,
    executor: Executor,
    events: Sender<Event>,
    alerts: AlertWriter,
    logs: Option<Arc<crate::log::ModuleLogs>>,
    tags: HashMap<u64, Tag>,
    next_extra_tag: u64,
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    replies: HashMap<ReqId, Sender<Response>>,
    /// Answers waiting for the end of the batch.
    outbox: Vec<(Sender<Response>, Response)>,
    next_req: ReqId,
    epoch: Instant,
    epoch_ms: u64,
    exiting: bool,
    stopped_by_operator: bool,
    boot_id: String,
    config_digest: String,
    last_snapshot: Option<crate::status::Snapshot>,
    last_state: Option<StateFile>,
    inputs: VecDeque<Input>,
    mon_inputs: VecDeque<MonInput>,
    /// The context last given to the monitors (service up, online resources, reboot budget).
    mon_context: Option<(bool, BTreeSet<String>, u32)>,
    /// Unix seconds of reboot-type OS actions, for the reboot budget.
    reboots: Vec<u64>,
    /// Alert destinations besides the alert log.
    syslog: crate::alert::SyslogSender,
    mailer: crate::alert::Mailer,
    error_snapshots: ErrorSnapshots,
    /// The engines' alerts of the batch being drained, reported once its
    /// scripts are started (see [`Daemon::send_deferred_alerts`]).
    deferred_alerts: Vec<Alert>,
}

impl Daemon {
    fn now(&self) -> Millis {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Under systemd with WatchdogSec: ping at half the interval (from the loop).
    fn arm_systemd_watchdog(&mut self) {
        let Some(usec) = notify::watchdog_usec() else {
            return;
        };
        let every = Duration::from_micros(usec / 2).max(Duration::from_millis(100));
        self.timers
            .push(Reverse((Instant::now() + every, TimerKey::SystemdWatchdog)));
    }

    fn main_loop(&mut self, rx: &Receiver<Event>) {
        loop {
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(3600));
            match rx.recv_timeout(timeout) {
                Ok(event) => {
                    self.event(event);
                    // Take everything already queued as one batch.
                    while let Ok(event) = rx.try_recv() {
                        self.event(event);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    error!(target: "pm", "all event sources are gone; stopping");
                    return;
                }
            }
            self.fire_timers();
            self.drain();
            self.flush();
            for (tx, response) in self.outbox.drain(..) {
                let _ = tx.send(response);
            }
            if self.exiting && self.engine.service() == Service::Offline && self.engine.is_quiet() {
                return;
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, key))) = self.timers.pop() else {
                break;
            };
            match key {
                TimerKey::Stall(op) => self.inputs.push_back(Input::StallTimer { op }),
                TimerKey::SystemdWatchdog => {
                    // Sent from the loop itself: a stuck loop stops the pings.
                    let _ = notify::notify("WATCHDOG=1");
                    self.arm_systemd_watchdog();
                }
                TimerKey::Monitor(monitor, timer) => self
                    .mon_inputs
                    .push_back(MonInput::Timer { monitor, timer }),
                TimerKey::ErrorSnapshot(module) => self.error_snapshots.take(&self.paths, &module),
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
            } => self.mon_inputs.push_back(MonInput::CheckDone {
                monitor,
                check,
                result,
                elapsed,
            }),
            Event::Signal(sig) => self.signal(sig),
            Event::Request { request, reply } => self.request(request, reply),
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
        let local = self.engine.model().local_server.clone();
        self.alert(&Alert::from_catalog(&local, "pm", 2, &[]));
        self.command(
            None,
            Command::StopService {
                factor: StopFactor::ServerShutdown,
                then: None,
            },
        );
    }

    /// Feeds queued inputs to the engine until none is left.
    /// Feeds queued inputs to the cluster engine and the monitors until none is
    /// left; the monitors learn about every change of the service and resources.
    fn drain(&mut self) {
        loop {
            if let Some(input) = self.inputs.pop_front() {
                let now = self.now();
                let budget = self.reboot_budget();
                self.engine.set_reboot_budget(budget);
                let effects = self.engine.handle(input, now);
                self.carry_out(effects);
            } else if let Some(context) = self.changed_context() {
                // The monitors learn what the cluster engine did before they
                // judge anything else: a check that fails because its target is
                // being stopped must find monitoring already stopped.
                self.mon_inputs.push_front(context);
            } else if let Some(input) = self.mon_inputs.pop_front() {
                let now = self.now();
                let effects = self.monitors.handle(input, now);
                for e in effects {
                    self.mon_effect(e);
                }
            } else {
                self.send_deferred_alerts();
                return;
            }
        }
    }

    /// The monitors' context when it differs from what they were last told.
    fn changed_context(&mut self) -> Option<MonInput> {
        let service_up = self.engine.service() == Service::Online;
        let online: BTreeSet<String> = self
            .engine
            .model()
            .resources
            .iter()
            .filter(|r| {
                self.engine
                    .resource_state(&r.name)
                    .is_some_and(|s| s.is_online())
            })
            .map(|r| r.name.clone())
            .collect();
        let context = (service_up, online, self.reboot_budget());
        if self.mon_context.as_ref() == Some(&context) {
            return None;
        }
        self.mon_context = Some(context.clone());
        Some(MonInput::Context {
            service_up: context.0,
            online: context.1,
            reboot_budget: context.2,
        })
    }

    /// Reboot-type final actions still allowed in the current window.
    fn reboot_budget(&self) -> u32 {
        let settings = &self.engine.model().settings;
        let now = unix_now();
        let window = settings.reboot_window.as_secs();
        let recent = self
            .reboots
            .iter()
            .filter(|t| now.saturating_sub(**t) < window)
            .count();
        settings
            .max_reboots
            .saturating_sub(u32::try_from(recent).unwrap_or(u32::MAX))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn outcome_text(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exited(code) => format!("exit {code}"),
        Outcome::Signaled(sig) => format!("signal {sig}"),
        Outcome::TimedOut => "timed out".into(),
        Outcome::Lost => "exit status unknown".into(),
    }
}
