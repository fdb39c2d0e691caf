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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::storm::{RestartHistory, RestartLimit, Storms, target_key};
use super::{AlertRef, Millis, OsAction};
use crate::model::{Cluster, Monitor, MonitorFinalAction, MonitorKind, RecoveryTarget, Timing};
use crate::status::MonitorState;

/// Identifies one check (or pre-action script) run.
pub type CheckId = u64;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    Ok,
    /// Not an error, but worth a warning (rm 4).
    Warning(String),
    Failed(String),
    /// The check did not answer within the monitor's timeout.
    TimedOut,
}

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
    rts: BTreeMap<String, MonRt>,
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
            model,
            rts,
            runnable: runnable.iter().map(|s| s.to_string()).collect(),
            service_up: false,
            online: BTreeSet::new(),
            reboot_budget: u32::MAX,
            next_id: 1,
            now: 0,
            storms: Storms::default(),
            clock_base: 0,
        }
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
        self.storms
            .import(history, self.clock_base.saturating_add(now));
    }

    /// Takes a new configuration; monitors that still exist keep their state.
    pub fn reload(&mut self, model: Arc<Cluster>) -> Vec<MonEffect> {
        let mut effects = Vec::new();
        let mut rts = BTreeMap::new();
        for m in &model.monitors {
            let rt = self.rts.remove(&m.name).unwrap_or_else(MonRt::new);
            rts.insert(m.name.clone(), rt);
        }
        for (name, rt) in std::mem::take(&mut self.rts) {
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

    fn spec(&self, name: &str) -> Option<Monitor> {
        self.model.monitor(name).cloned()
    }

    fn alloc(&mut self) -> CheckId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, input: MonInput, now: Millis) -> Vec<MonEffect> {
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
                    None => self.rts.keys().cloned().collect(),
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
        effects.extend(self.reconcile());
        effects.extend(self.multi_targets());
        effects
    }

    fn names(&self, given: &[String]) -> Vec<String> {
        if given.is_empty() {
            self.rts.keys().cloned().collect()
        } else {
            given.to_vec()
        }
    }

    /// Whether `m` should be monitoring now.
    fn should_run(&self, m: &Monitor) -> bool {
        let runnable = self.runnable.contains(m.kind.type_name());
        let on_this_server = m.servers.is_empty() || m.servers.contains(&self.model.local_server);
        let target_ok = match (m.timing, &m.target) {
            (Timing::Always, _) => true,
            (Timing::Active, Some(t)) => self.online.contains(t),
            (Timing::Active, None) => false,
        };
        runnable && on_this_server && self.service_up && target_ok
    }

    /// Starts and stops monitors to match the context.
    fn reconcile(&mut self) -> Vec<MonEffect> {
        let mut effects = Vec::new();
        let monitors = self.model.monitors.clone();
        for m in &monitors {
            let run = self.should_run(m);
            let Some(rt) = self.rts.get_mut(&m.name) else {
                continue;
            };
            let active = rt.phase != Phase::Inactive;
            if run && !active {
                rt.epoch += 1;
                rt.phase = Phase::Waiting;
                rt.failures = 0;
                // An error survives a restart of monitoring (its target was being
                // recovered): the first good check is the return to normal that
                // resets the counters (rm 26).
                if rt.health == Health::Warning {
                    rt.health = Health::Normal;
                }
                effects.push(MonEffect::Alert(AlertRef::new("rm", 1, &[&m.name])));
                effects.push(MonEffect::Activated {
                    monitor: m.name.clone(),
                });
                if !matches!(m.kind, MonitorKind::Mtw(_)) {
                    effects.push(MonEffect::ArmTimer {
                        monitor: m.name.clone(),
                        timer: MonTimer::Check { epoch: rt.epoch },
                        after: m.first_wait,
                    });
                }
            } else if !run && active {
                if let Phase::Checking { check, .. } = rt.phase {
                    effects.push(MonEffect::CancelCheck {
                        monitor: m.name.clone(),
                        check,
                    });
                }
                rt.epoch += 1;
                rt.phase = Phase::Inactive;
                rt.failures = 0;
                effects.push(MonEffect::Alert(AlertRef::new("rm", 2, &[&m.name])));
                effects.push(MonEffect::Deactivated {
                    monitor: m.name.clone(),
                });
            }
        }
        effects
    }

    /// Re-evaluates multi-target monitors from their members' states.
    fn multi_targets(&mut self) -> Vec<MonEffect> {
        let mut effects = Vec::new();
        let monitors = self.model.monitors.clone();
        for m in &monitors {
            let MonitorKind::Mtw(spec) = &m.kind else {
                continue;
            };
            let Some(rt) = self.rts.get(&m.name) else {
                continue;
            };
            if rt.phase == Phase::Inactive || rt.suspended {
                continue;
            }
            let errors: Vec<&String> = spec
                .members
                .iter()
                .filter(|member| {
                    self.view(member)
                        .is_some_and(|v| v.state == MonitorState::Error)
                })
                .collect();
            let error_at = if spec.error_threshold == 0 {
                u32::try_from(spec.members.len()).unwrap_or(u32::MAX).max(1)
            } else {
                spec.error_threshold
            };
            let count = u32::try_from(errors.len()).unwrap_or(u32::MAX);
            let detail = format!(
                "{count} of {} members in error: {}",
                spec.members.len(),
                errors
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let result = if count >= error_at {
                CheckResult::Failed(detail)
            } else if spec.warning_threshold > 0 && count >= spec.warning_threshold {
                CheckResult::Warning(detail)
            } else {
                CheckResult::Ok
            };
            let health = rt.health;
            // Only a change of the members' verdict is news for the mtw.
            let changed = !matches!(
                (&result, health),
                (CheckResult::Ok, Health::Normal)
                    | (CheckResult::Warning(_), Health::Warning)
                    | (CheckResult::Failed(_), Health::Error)
            );
            if changed {
                self.result(&m.name, result, &mut effects);
            }
        }
        effects
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
        let Some(spec) = self.spec(name) else { return };
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
        let Some(spec) = self.spec(name) else { return };
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

    /// Applies one result: counts failures, detects errors, returns to normal.
    fn result(&mut self, name: &str, result: CheckResult, effects: &mut Vec<MonEffect>) {
        let Some(spec) = self.spec(name) else { return };
        let Some(rt) = self.rts.get_mut(name) else {
            return;
        };
        // Dummy failure of userw: the check still ran (the watchdog must be fed),
        // but the monitor reports an error whatever it found.
        let result = if rt.dummy {
            CheckResult::Failed("dummy failure".into())
        } else {
            result
        };
        if rt.phase != Phase::Inactive && !matches!(spec.kind, MonitorKind::Mtw(_)) {
            rt.phase = Phase::Waiting;
            // One schedule at a time: a result that did not come from the timer
            // (a process death) supersedes the pending check.
            rt.epoch += 1;
            effects.push(MonEffect::ArmTimer {
                monitor: name.to_string(),
                timer: MonTimer::Check { epoch: rt.epoch },
                after: spec.interval,
            });
        }
        match result {
            CheckResult::Ok => {
                rt.failures = 0;
                rt.detail = None;
                // Back to normal, whatever the way (Error -> Warning -> Normal too):
                // the recovery counters start again.
                rt.counters = Counters::default();
                match rt.health {
                    Health::Error => {
                        effects.push(MonEffect::Alert(AlertRef::new("rm", 26, &[name])));
                    }
                    Health::Warning => {
                        effects.push(MonEffect::Alert(AlertRef::new("rm", 49, &[name])))
                    }
                    Health::Normal => {}
                }
                rt.health = Health::Normal;
            }
            CheckResult::Warning(detail) => {
                rt.failures = 0;
                if rt.health != Health::Warning {
                    effects.push(MonEffect::Alert(AlertRef::new(
                        "rm",
                        4,
                        &[name, "1", &detail],
                    )));
                }
                rt.health = Health::Warning;
                rt.detail = Some(detail);
            }
            CheckResult::Failed(_) | CheckResult::TimedOut => {
                let timed_out = result == CheckResult::TimedOut;
                let detail = match &result {
                    CheckResult::Failed(d) => d.clone(),
                    _ => format!("no answer within {} s", spec.timeout.as_secs()),
                };
                rt.failures = if timed_out && spec.no_retry_on_timeout {
                    spec.retry + 1
                } else {
                    rt.failures + 1
                };
                rt.detail = Some(detail.clone());
                if rt.failures > spec.retry {
                    rt.failures = 0;
                    rt.health = Health::Error;
                    effects.push(MonEffect::Alert(AlertRef::new(
                        "rm",
                        9,
                        &[name, "1", &detail],
                    )));
                    self.escalate(&spec, timed_out, effects);
                }
            }
        }
    }

    fn target_active(&self, target: &RecoveryTarget) -> (bool, String) {
        match target {
            RecoveryTarget::Resource(r) => (self.online.contains(r), r.clone()),
            RecoveryTarget::Group(g) => {
                let any = self
                    .model
                    .group(g)
                    .is_some_and(|grp| grp.resources.iter().any(|r| self.online.contains(r)));
                (any, g.clone())
            }
            RecoveryTarget::LocalServer => (true, "LocalServer".into()),
            RecoveryTarget::AllGroups => (true, "All Groups".into()),
        }
    }

    /// The next recovery step after a detection.
    fn escalate(&mut self, spec: &Monitor, timed_out: bool, effects: &mut Vec<MonEffect>) {
        let name = spec.name.as_str();
        if self.model.settings.no_recovery_on_monitor_error {
            effects.push(MonEffect::Alert(AlertRef::new("rm", 192, &[name])));
            return;
        }
        if timed_out && spec.no_recovery_on_timeout {
            effects.push(MonEffect::Alert(AlertRef::new("rm", 193, &[name])));
            return;
        }
        if self.rts.get(name).is_some_and(|rt| rt.pending.is_some()) {
            // A step is already waiting for its pre-action script.
            return;
        }
        let (active, target_name) = self.target_active(&spec.recovery_target);
        if !active {
            effects.push(MonEffect::Alert(AlertRef::new("rm", 25, &[&target_name])));
            return;
        }
        let Some(counters) = self.rts.get(name).map(|rt| rt.counters) else {
            return;
        };
        let resource_or_group = matches!(
            spec.recovery_target,
            RecoveryTarget::Resource(_) | RecoveryTarget::Group(_)
        );
        let counts = (counters.script, counters.restart, counters.failover);

        if counters.script < spec.script_threshold {
            self.bump(name, |c| c.script += 1);
            effects.push(MonEffect::Alert(AlertRef::new("rm", 170, &[name])));
            let id = self.alloc();
            effects.push(MonEffect::PreAction {
                monitor: name.to_string(),
                id,
                action: "RECOVERY",
                counts: (counts.0 + 1, counts.1, counts.2),
            });
            return;
        }
        if resource_or_group
            && counters.restart < spec.restart_threshold
            && !self.restart_storm(spec, &target_name, effects)
        {
            self.bump(name, |c| c.restart += 1);
            if let Some(key) = target_key(&spec.recovery_target) {
                let (now, limit) = (self.mono_now(), self.restart_limit());
                self.storms.record(&key, now, limit);
            }
            let restart = match &spec.recovery_target {
                RecoveryTarget::Resource(r) => Recovery::RestartResource(r.clone()),
                RecoveryTarget::Group(g) => Recovery::RestartGroup(g.clone()),
                RecoveryTarget::LocalServer | RecoveryTarget::AllGroups => return,
            };
            effects.push(MonEffect::Alert(AlertRef::new(
                "rm",
                13,
                &[&target_name, name],
            )));
            self.step_with_preaction(
                spec,
                spec.preaction.before_restart,
                "RESTART",
                restart,
                (counts.0, counts.1 + 1, counts.2),
                effects,
            );
            return;
        }
        if resource_or_group && counters.failover < spec.failover_threshold {
            // One server: no destination. Say so and go on to the final action.
            self.bump(name, |c| c.failover += 1);
            let group = match &spec.recovery_target {
                RecoveryTarget::Resource(r) => self
                    .model
                    .resource(r)
                    .map(|x| x.group.clone())
                    .unwrap_or_default(),
                RecoveryTarget::Group(g) => g.clone(),
                RecoveryTarget::LocalServer | RecoveryTarget::AllGroups => String::new(),
            };
            effects.push(MonEffect::Alert(AlertRef::new(
                "rc",
                65,
                &[&group, "this cluster has one server"],
            )));
        }
        if counters.final_done {
            return;
        }
        self.bump(name, |c| c.final_done = true);
        let Some(recovery) = self.final_action(spec, &target_name, effects) else {
            return;
        };
        let counts = self.rts.get(name).map(|rt| rt.counters).unwrap_or_default();
        self.step_with_preaction(
            spec,
            spec.preaction.before_final_action,
            "FINALACTION",
            recovery,
            (counts.script, counts.restart, counts.failover),
            effects,
        );
    }

    /// True when restarting the target of `spec` once more would make a storm:
    /// the restart step is then used up (rm 900 says why) and the ladder goes on.
    fn restart_storm(
        &mut self,
        spec: &Monitor,
        target_name: &str,
        effects: &mut Vec<MonEffect>,
    ) -> bool {
        let Some(key) = target_key(&spec.recovery_target) else {
            return false;
        };
        let limit = self.restart_limit();
        let Some(count) = self.storms.exceeded(&key, self.mono_now(), limit) else {
            return false;
        };
        let threshold = spec.restart_threshold;
        self.bump(&spec.name, |c| c.restart = c.restart.max(threshold));
        effects.push(MonEffect::Alert(AlertRef::new(
            "rm",
            900,
            &[
                target_name,
                &count.to_string(),
                &limit.window.as_secs().to_string(),
                &spec.name,
            ],
        )));
        true
    }

    fn bump(&mut self, name: &str, f: impl FnOnce(&mut Counters)) {
        if let Some(rt) = self.rts.get_mut(name) {
            f(&mut rt.counters);
        }
    }

    /// Issues `recovery` now, or after the pre-action script when it is enabled.
    fn step_with_preaction(
        &mut self,
        spec: &Monitor,
        use_preaction: bool,
        action: &'static str,
        recovery: Recovery,
        counts: (u32, u32, u32),
        effects: &mut Vec<MonEffect>,
    ) {
        if !use_preaction {
            effects.push(MonEffect::Recover(recovery));
            return;
        }
        let id = self.alloc();
        if let Some(rt) = self.rts.get_mut(&spec.name) {
            rt.pending = Some(Pending {
                id,
                then: Some(recovery),
            });
        }
        effects.push(MonEffect::PreAction {
            monitor: spec.name.clone(),
            id,
            action,
            counts,
        });
        effects.push(MonEffect::ArmTimer {
            monitor: spec.name.clone(),
            timer: MonTimer::PreActionTimeout { id },
            after: spec.preaction.timeout,
        });
    }

    fn pre_action_done(&mut self, name: &str, id: CheckId, ok: bool, effects: &mut Vec<MonEffect>) {
        let Some(rt) = self.rts.get_mut(name) else {
            return;
        };
        match &rt.pending {
            Some(p) if p.id == id => {}
            // The recovery script (no pending step) or a late answer.
            Some(_) | None => return,
        }
        let then = rt.pending.take().and_then(|p| p.then);
        let what = match &then {
            Some(Recovery::RestartResource(_) | Recovery::RestartGroup(_)) => "restart",
            Some(_) => "the final action",
            None => "recovery",
        };
        effects.push(MonEffect::Alert(AlertRef::new(
            "rm",
            if ok { 82 } else { 83 },
            &[what, name],
        )));
        // CLUSTERPRO carries out the step whatever the script's result.
        if let Some(recovery) = then {
            effects.push(MonEffect::Recover(recovery));
        }
    }

    /// The final action of `spec`, with its alert; None when there is nothing to do.
    fn final_action(
        &mut self,
        spec: &Monitor,
        target: &str,
        effects: &mut Vec<MonEffect>,
    ) -> Option<Recovery> {
        let name = spec.name.as_str();
        let reboot_type = matches!(
            spec.final_action,
            MonitorFinalAction::StopClusterAndReboot
                | MonitorFinalAction::KeepaliveReset
                | MonitorFinalAction::SysrqPanic
                | MonitorFinalAction::KeepalivePanic
                | MonitorFinalAction::Other(_)
        );
        if reboot_type && self.reboot_budget == 0 {
            effects.push(MonEffect::Alert(AlertRef::new(
                "rm",
                100,
                &[&self.model.settings.max_reboots.to_string(), name],
            )));
            return None;
        }
        let group_of_target = || match &spec.recovery_target {
            RecoveryTarget::Resource(r) => self.model.resource(r).map(|x| x.group.clone()),
            RecoveryTarget::Group(g) => Some(g.clone()),
            RecoveryTarget::LocalServer | RecoveryTarget::AllGroups => None,
        };
        let recovery = match spec.final_action {
            MonitorFinalAction::NoOp => return None,
            MonitorFinalAction::StopGroup => {
                let group = group_of_target()?;
                effects.push(MonEffect::Alert(AlertRef::new("rm", 12, &[&group, name])));
                Recovery::StopGroup(group)
            }
            MonitorFinalAction::StopResource => match &spec.recovery_target {
                RecoveryTarget::Resource(r) => {
                    effects.push(MonEffect::Alert(AlertRef::new("rm", 12, &[r, name])));
                    Recovery::StopResource(r.clone())
                }
                RecoveryTarget::Group(_)
                | RecoveryTarget::LocalServer
                | RecoveryTarget::AllGroups => {
                    let _ = target;
                    return None;
                }
            },
            MonitorFinalAction::StopCluster => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 15, &[name])));
                Recovery::StopCluster(None)
            }
            MonitorFinalAction::StopClusterAndShutdown => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 16, &[name])));
                Recovery::StopCluster(Some(OsAction::Shutdown))
            }
            MonitorFinalAction::StopClusterAndReboot => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 17, &[name])));
                Recovery::StopCluster(Some(OsAction::Reboot))
            }
            MonitorFinalAction::SysrqPanic => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 35, &[name])));
                Recovery::Os(OsAction::Panic)
            }
            MonitorFinalAction::KeepaliveReset => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 37, &[name])));
                Recovery::Os(OsAction::Reset)
            }
            MonitorFinalAction::KeepalivePanic => {
                effects.push(MonEffect::Alert(AlertRef::new("rm", 39, &[name])));
                Recovery::Os(OsAction::Panic)
            }
            MonitorFinalAction::Other(code) => Recovery::Os(super::os_action_for_code(code)),
        };
        Some(recovery)
    }
}
