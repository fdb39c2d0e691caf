//! The monitor engine: when to check, what a result means, and CLUSTERPRO's
//! recovery escalation. Pure: inputs in, effects out, fake time in tests.
//!
//! Rules (clpmonctrl(8) documents them for operators):
//! * A monitor runs while the cluster service is online and, with Active timing,
//!   while its target resource is online; it waits `firstmonwait` first.
//! * An error is detected after `retry + 1` consecutive failures (a timeout with
//!   `notreconfirmation` counts as all of them at once).
//! * Each detection takes the next step: recovery script (`threshold/script`
//!   times), restart of the target (`threshold/restart` times), failover
//!   (`threshold/fo` times; one server has no destination, so it goes straight
//!   on), then the final action, once. A LocalServer target uses only the script
//!   and the final action. No recovery when the target is not active (rm 25),
//!   when recovery is disabled (rm 192), or after a timeout with `notrecovery` (rm 193).
//! * The counters are reset when the monitor returns to normal (rm 26), by
//!   `clpmonctrl -c`, and never otherwise; suspending keeps them.
//! * Restart storms are bounded: when a target was already restarted
//!   `clp/restartlimit/max` times within `clp/restartlimit/window` (whatever
//!   the counters say), the restart step is skipped as if its threshold were
//!   reached (rm 900) and the ladder goes on ([`super::storm`]). Only
//!   `clpmonctrl -c` and the passing of time clear that history.
//! * Reboot-type final actions stop once the reboot budget is used up (rm 100).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::storm::{RestartHistory, RestartLimit, Storms, target_key};
use super::{AlertRef, Millis, OsAction};
use crate::model::{Cluster, Monitor, MonitorFinalAction, MonitorKind, RecoveryTarget, Timing};
use crate::vocab::MonitorState;
pub use crate::vocab::{CheckId, CheckResult};

mod activation;
mod escalation;
use activation::has_multi_targets;

/// The monitor timers; `epoch` (bumped at every start and stop of monitoring) makes a timer of an earlier activation harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MonTimer {
    /// Time for the next check (also the end of `firstmonwait`).
    Check { epoch: u64 },
    /// The running check `check` has reached the monitor's timeout.
    CheckTimeout { epoch: u64, check: CheckId },
    /// The pre-action script `id` has reached its timeout.
    PreActionTimeout { id: CheckId },
}

/// Everything the monitor engine reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonInput {
    /// The world the monitors depend on: is the service running (not suspended),
    /// which resources are online, how many reboot-type final actions remain.
    Context {
        service_up: bool,
        online: BTreeSet<String>,
        reboot_budget: u32,
    },
    Timer {
        monitor: String,
        timer: MonTimer,
    },
    CheckDone {
        monitor: String,
        check: CheckId,
        result: CheckResult,
        elapsed: Duration,
    },
    /// A watched process ended (pidw's target, an asynchronous genw): a failure
    /// now, without waiting for the next interval.
    ProcessGone {
        monitor: String,
        detail: String,
    },
    /// A pre-action (or recovery) script finished.
    PreActionDone {
        monitor: String,
        id: CheckId,
        ok: bool,
    },
    /// `clpmonctrl -s` (empty = all).
    Suspend {
        monitors: Vec<String>,
    },
    /// `clpmonctrl -r` (empty = all).
    Resume {
        monitors: Vec<String>,
    },
    /// `clpmonctrl -e` / `-n` (None = all, for -n).
    DummyFailure {
        monitor: Option<String>,
        on: bool,
    },
    /// `clpmonctrl -c` (empty = all).
    ClearCounters {
        monitors: Vec<String>,
    },
}

/// What the daemon must do for the monitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonEffect {
    /// Run one check of `monitor`; answer with `CheckDone{check}`.
    StartCheck {
        monitor: String,
        check: CheckId,
    },
    /// Stop a running check (kill its process): its result no longer matters.
    CancelCheck {
        monitor: String,
        check: CheckId,
    },
    /// Monitoring started or stopped (start/stop watchers such as asynchronous genw).
    Activated {
        monitor: String,
    },
    Deactivated {
        monitor: String,
    },
    ArmTimer {
        monitor: String,
        timer: MonTimer,
        after: Duration,
    },
    Alert(AlertRef),
    /// Run the monitor's pre-action script with `CLP_ACTION=action`; answer with
    /// `PreActionDone{id}`.
    PreAction {
        monitor: String,
        id: CheckId,
        action: &'static str,
        counts: (u32, u32, u32),
    },
    /// Ask the cluster engine for a recovery.
    Recover(Recovery),
}

/// Recovery actions carried out by the cluster engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    RestartResource(String),
    RestartGroup(String),
    StopResource(String),
    StopGroup(String),
    /// Stop the group here; it goes to the next server of its policy.
    FailoverGroup(String),
    /// Stop the cluster service, then the OS action if any.
    StopCluster(Option<OsAction>),
    /// An OS action now (panic, reset).
    Os(OsAction),
}

/// Recovery counters of one monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub script: u32,
    pub restart: u32,
    pub failover: u32,
    pub final_done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Normal,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Not monitoring.
    Inactive,
    /// Waiting for the next check (or the end of firstmonwait).
    Waiting,
    /// A check runs.
    Checking { check: CheckId, started: Millis },
}

/// A recovery step waiting for its pre-action script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    id: CheckId,
    then: Option<Recovery>,
}

#[derive(Debug, Clone)]
struct MonRt {
    phase: Phase,
    health: Health,
    failures: u32,
    counters: Counters,
    suspended: bool,
    dummy: bool,
    epoch: u64,
    pending: Option<Pending>,
    detail: Option<String>,
}

impl MonRt {
    fn new() -> Self {
        MonRt {
            phase: Phase::Inactive,
            health: Health::Normal,
            failures: 0,
            counters: Counters::default(),
            suspended: false,
            dummy: false,
            epoch: 0,
            pending: None,
            detail: None,
        }
    }
}

/// The runtime state of every monitor.
pub struct Monitors {
    model: Arc<Cluster>,
    /// By monitor name. A hash map, not an ordered one: every check looks its
    /// monitor up several times, and with a thousand monitors an ordered
    /// map's dozen string comparisons per lookup were a good part of a check's
    /// cost. Where the order shows (every monitor at once), names are sorted.
    rts: HashMap<String, MonRt>,
    /// Monitor types the daemon can run; others stay Offline.
    runnable: BTreeSet<String>,
    service_up: bool,
    online: BTreeSet<String>,
    reboot_budget: u32,
    next_id: CheckId,
    now: Millis,
    /// Recent restarts per target, in milliseconds of the system's monotonic
    /// clock (`clock_base + now`): they survive a restart of clpd.
    storms: Storms,
    /// The system's monotonic clock, in ms, at `now` = 0.
    clock_base: u64,
    /// Who could take a group over (only this server today).
    membership: super::membership::Membership,
    /// The model has mtw monitors (re-judged after every input).
    has_multi_targets: bool,
    /// Bumped when what clpstat shows of a monitor (state, counters, detail)
    /// or the restart history to persist may have changed; see [`Self::generation`].
    generation: u64,
}

/// What clpstat shows for one monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonView {
    pub state: MonitorState,
    pub counters: Counters,
    pub detail: Option<String>,
    pub dummy: bool,
}

impl Monitors {
    /// `runnable`: the monitor types this daemon can check.
    pub fn new(model: Arc<Cluster>, runnable: &[&str]) -> Self {
        let rts = model
            .monitors
            .iter()
            .map(|m| (m.name.clone(), MonRt::new()))
            .collect();
        Monitors {
            rts,
            runnable: runnable.iter().map(|s| s.to_string()).collect(),
            service_up: false,
            online: BTreeSet::new(),
            reboot_budget: u32::MAX,
            next_id: 1,
            now: 0,
            storms: Storms::default(),
            clock_base: 0,
            membership: super::membership::Membership::local_only(&model),
            has_multi_targets: has_multi_targets(&model),
            model,
            generation: 0,
        }
    }

    /// The membership view escalation decides failover destinations from.
    pub fn set_membership(&mut self, membership: super::membership::Membership) {
        self.membership = membership;
    }

    /// Changes whenever a monitor's view or the restart history may have
    /// changed. A check that leaves its monitor as it was (the common case:
    /// Normal, same counters, same detail) does not change it, so the daemon
    /// need not rebuild its snapshot for it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Tells where the engine's time 0 is on the system's monotonic clock, so
    /// that restart times can be kept across a restart of clpd.
    pub fn set_clock_base(&mut self, base_ms: u64) {
        self.clock_base = base_ms;
    }

    fn restart_limit(&self) -> RestartLimit {
        RestartLimit {
            max: self.model.settings.max_restarts,
            window: self.model.settings.restart_window,
        }
    }

    fn mono_now(&self) -> u64 {
        self.clock_base.saturating_add(self.now)
    }

    /// The restarts that still count at `now`, to persist.
    pub fn restart_history(&self, now: Millis) -> Vec<RestartHistory> {
        self.storms
            .export(self.clock_base.saturating_add(now), self.restart_limit())
    }

    /// Takes over the restarts a previous clpd of this boot recorded.
    pub fn restore_restart_history(&mut self, history: &[RestartHistory], now: Millis) {
        self.generation += 1;
        self.storms
            .import(history, self.clock_base.saturating_add(now));
    }

    /// Takes a new configuration; monitors that still exist keep their state.
    pub fn reload(&mut self, model: Arc<Cluster>) -> Vec<MonEffect> {
        self.generation += 1;
        let mut effects = Vec::new();
        let mut rts = HashMap::with_capacity(model.monitors.len());
        for m in &model.monitors {
            let rt = self.rts.remove(&m.name).unwrap_or_else(MonRt::new);
            rts.insert(m.name.clone(), rt);
        }
        let mut removed: Vec<(String, MonRt)> = std::mem::take(&mut self.rts).into_iter().collect();
        removed.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, rt) in removed {
            if rt.phase != Phase::Inactive {
                if let Phase::Checking { check, .. } = rt.phase {
                    effects.push(MonEffect::CancelCheck {
                        monitor: name.clone(),
                        check,
                    });
                }
                effects.push(MonEffect::Deactivated { monitor: name });
            }
        }
        self.rts = rts;
        self.membership = self.membership.rebuilt_for(&model);
        self.has_multi_targets = has_multi_targets(&model);
        self.model = model;
        effects.extend(self.reconcile());
        effects
    }

    pub fn view(&self, name: &str) -> Option<MonView> {
        let rt = self.rts.get(name)?;
        let state = if rt.suspended {
            MonitorState::Suspend
        } else if rt.phase == Phase::Inactive {
            MonitorState::Offline
        } else {
            match rt.health {
                Health::Normal => MonitorState::Normal,
                Health::Warning => MonitorState::Warning,
                Health::Error => MonitorState::Error,
            }
        };
        Some(MonView {
            state,
            counters: rt.counters,
            detail: rt.detail.clone(),
            dummy: rt.dummy,
        })
    }

    /// The model (shared, so holding it costs a reference count, not a copy
    /// of the monitor's settings on every check).
    fn shared_model(&self) -> Arc<Cluster> {
        self.model.clone()
    }

    fn alloc(&mut self) -> CheckId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, input: MonInput, now: Millis) -> Vec<MonEffect> {
        // An input about one monitor changes that monitor only, unless
        // reconciling afterwards starts or stops monitoring, or moves a
        // multi-target monitor (both then return effects). Any restart recorded
        // in the storm history also bumps that monitor's restart counter.
        let focus = match &input {
            MonInput::Timer { monitor, .. }
            | MonInput::CheckDone { monitor, .. }
            | MonInput::ProcessGone { monitor, .. }
            | MonInput::PreActionDone { monitor, .. } => Some(monitor.clone()),
            MonInput::Context { .. }
            | MonInput::Suspend { .. }
            | MonInput::Resume { .. }
            | MonInput::DummyFailure { .. }
            | MonInput::ClearCounters { .. } => None,
        };
        // Whether a monitor should run depends on the context only (the
        // service, its target online): other inputs need not look at every
        // monitor, which keeps a check result's cost independent of how many
        // monitors there are.
        let context = matches!(input, MonInput::Context { .. });
        let before = focus.as_deref().map(|name| self.view(name));
        let mut effects = self.apply(input, now);
        let applied = effects.len();
        if context {
            effects.extend(self.reconcile());
        }
        if self.has_multi_targets {
            effects.extend(self.multi_targets());
        }
        let unchanged = effects.len() == applied
            && match (&focus, before) {
                (Some(name), Some(before)) => self.view(name) == before,
                _ => false,
            };
        if !unchanged {
            self.generation += 1;
        }
        effects
    }

    /// One input, before reconciling monitoring with the new state.
    fn apply(&mut self, input: MonInput, now: Millis) -> Vec<MonEffect> {
        self.now = now;
        let mut effects = Vec::new();
        match input {
            MonInput::Context {
                service_up,
                online,
                reboot_budget,
            } => {
                self.service_up = service_up;
                self.online = online;
                self.reboot_budget = reboot_budget;
            }
            MonInput::Timer { monitor, timer } => self.timer(&monitor, timer, &mut effects),
            MonInput::CheckDone {
                monitor,
                check,
                result,
                elapsed,
            } => {
                let current = self.rts.get(&monitor).is_some_and(
                    |rt| matches!(rt.phase, Phase::Checking { check: c, .. } if c == check),
                );
                if current {
                    self.delay_warning(&monitor, elapsed, &mut effects);
                    self.result(&monitor, result, &mut effects);
                }
            }
            MonInput::ProcessGone { monitor, detail } => {
                let watching = self
                    .rts
                    .get(&monitor)
                    .is_some_and(|rt| rt.phase != Phase::Inactive && !rt.suspended);
                if watching {
                    if let Some(Phase::Checking { check, .. }) =
                        self.rts.get(&monitor).map(|r| r.phase.clone())
                    {
                        effects.push(MonEffect::CancelCheck {
                            monitor: monitor.clone(),
                            check,
                        });
                    }
                    self.result(&monitor, CheckResult::Failed(detail), &mut effects);
                }
            }
            MonInput::PreActionDone { monitor, id, ok } => {
                self.pre_action_done(&monitor, id, ok, &mut effects)
            }
            MonInput::Suspend { monitors } => {
                let all = monitors.is_empty();
                for name in self.names(&monitors) {
                    if let Some(rt) = self.rts.get_mut(&name)
                        && !rt.suspended
                    {
                        rt.suspended = true;
                        if let Phase::Checking { check, .. } = rt.phase {
                            effects.push(MonEffect::CancelCheck {
                                monitor: name.clone(),
                                check,
                            });
                            rt.phase = Phase::Waiting;
                        }
                        // A suspended monitor holds nothing: a watchdog is disarmed
                        // (it would reset the machine without its keepalives).
                        if rt.phase != Phase::Inactive {
                            effects.push(MonEffect::Deactivated {
                                monitor: name.clone(),
                            });
                        }
                        if !all {
                            effects.push(MonEffect::Alert(AlertRef::new("rm", 29, &[&name])));
                        }
                    }
                }
                if all {
                    effects.push(MonEffect::Alert(AlertRef::new("rm", 31, &[])));
                }
            }
            MonInput::Resume { monitors } => {
                let all = monitors.is_empty();
                for name in self.names(&monitors) {
                    let resumed = self.rts.get_mut(&name).is_some_and(|rt| {
                        let was = rt.suspended;
                        rt.suspended = false;
                        was
                    });
                    if resumed {
                        if !all {
                            effects.push(MonEffect::Alert(AlertRef::new("rm", 30, &[&name])));
                        }
                        if self
                            .rts
                            .get(&name)
                            .is_some_and(|rt| rt.phase != Phase::Inactive)
                        {
                            effects.push(MonEffect::Activated {
                                monitor: name.clone(),
                            });
                        }
                        // Check again soon: state may have changed while suspended.
                        self.schedule(&name, Duration::ZERO, &mut effects);
                    }
                }
                if all {
                    effects.push(MonEffect::Alert(AlertRef::new("rm", 32, &[])));
                }
            }
            MonInput::DummyFailure { monitor, on } => {
                let names = match &monitor {
                    Some(m) => vec![m.clone()],
                    None => self.all_names(),
                };
                for name in &names {
                    if let Some(rt) = self.rts.get_mut(name) {
                        rt.dummy = on;
                    }
                    if monitor.is_some() {
                        effects.push(MonEffect::Alert(AlertRef::new(
                            "rm",
                            if on { 180 } else { 181 },
                            &[name],
                        )));
                    }
                    if on {
                        // Take effect at the next check, which comes now.
                        self.schedule(name, Duration::ZERO, &mut effects);
                    }
                }
                if monitor.is_none() {
                    effects.push(MonEffect::Alert(AlertRef::new(
                        "rm",
                        if on { 182 } else { 183 },
                        &[],
                    )));
                }
            }
            MonInput::ClearCounters { monitors } => {
                if monitors.is_empty() {
                    self.storms.clear_all();
                }
                for name in self.names(&monitors) {
                    if let Some(rt) = self.rts.get_mut(&name) {
                        rt.counters = Counters::default();
                    }
                    // The operator's clear also ends a storm on what this monitor restarts.
                    if let Some(key) = self
                        .model
                        .monitor(&name)
                        .and_then(|m| target_key(&m.recovery_target))
                    {
                        self.storms.clear(&key);
                    }
                }
            }
        }
        effects
    }

    /// Every monitor's name, in name order.
    fn all_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.rts.keys().cloned().collect();
        names.sort();
        names
    }

    fn names(&self, given: &[String]) -> Vec<String> {
        if given.is_empty() {
            self.all_names()
        } else {
            given.to_vec()
        }
    }

    /// Moves the next check to `after` from now. The pending check timer is
    /// superseded (a new epoch), so a monitor never runs two schedules at once.
    fn schedule(&mut self, name: &str, after: Duration, effects: &mut Vec<MonEffect>) {
        if let Some(rt) = self.rts.get_mut(name)
            && rt.phase == Phase::Waiting
        {
            rt.epoch += 1;
            effects.push(MonEffect::ArmTimer {
                monitor: name.to_string(),
                timer: MonTimer::Check { epoch: rt.epoch },
                after,
            });
        }
    }

    fn timer(&mut self, name: &str, timer: MonTimer, effects: &mut Vec<MonEffect>) {
        let model = self.shared_model();
        let Some(spec) = model.monitor(name) else {
            return;
        };
        match timer {
            MonTimer::Check { epoch } => {
                let Some(rt) = self.rts.get(name) else { return };
                if rt.epoch != epoch || rt.phase != Phase::Waiting || rt.suspended {
                    return;
                }
                // Dummy failure: an error without checking. userw keeps checking:
                // its checks are the watchdog's keepalives (result() overrides them).
                if rt.dummy && !matches!(spec.kind, MonitorKind::Userw(_)) {
                    self.result(name, CheckResult::Failed("dummy failure".into()), effects);
                    return;
                }
                let check = self.alloc();
                let now = self.now;
                if let Some(rt) = self.rts.get_mut(name) {
                    rt.phase = Phase::Checking {
                        check,
                        started: now,
                    };
                    effects.push(MonEffect::StartCheck {
                        monitor: name.to_string(),
                        check,
                    });
                    effects.push(MonEffect::ArmTimer {
                        monitor: name.to_string(),
                        timer: MonTimer::CheckTimeout {
                            epoch: rt.epoch,
                            check,
                        },
                        after: spec.timeout,
                    });
                }
            }
            MonTimer::CheckTimeout { epoch, check } => {
                let running = self.rts.get(name).is_some_and(|rt| {
                    rt.epoch == epoch
                        && matches!(rt.phase, Phase::Checking { check: c, .. } if c == check)
                });
                if running {
                    effects.push(MonEffect::CancelCheck {
                        monitor: name.to_string(),
                        check,
                    });
                    self.result(name, CheckResult::TimedOut, effects);
                }
            }
            MonTimer::PreActionTimeout { id } => self.pre_action_done(name, id, false, effects),
        }
    }

    /// rm 71 when a check took more than 80% of the timeout.
    fn delay_warning(&self, name: &str, elapsed: Duration, effects: &mut Vec<MonEffect>) {
        // Checks answered in the loop (pidw, psw from the shared scan) take
        // no time: no need to look their monitor up (most checks at scale).
        if elapsed.is_zero() {
            return;
        }
        let model = self.shared_model();
        let Some(spec) = model.monitor(name) else {
            return;
        };
        if spec.timeout.is_zero() || elapsed.as_millis() * 10 <= spec.timeout.as_millis() * 8 {
            return;
        }
        effects.push(MonEffect::Alert(AlertRef::new(
            "rm",
            71,
            &[
                name,
                &spec.timeout.as_secs().to_string(),
                "1",
                &format!("{:.1}", elapsed.as_secs_f64()),
                "80",
            ],
        )));
    }
}
