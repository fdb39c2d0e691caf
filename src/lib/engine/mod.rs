//! The pure decision engine: what clpd does, without doing it.
//!
//! [`Engine::handle`] takes one [`Input`] (a command, a script result, a timer) and
//! the current time, updates the runtime state and returns [`Effect`]s for the
//! daemon to carry out (run a script, arm a timer, log an alert, answer a request,
//! run an OS action). No I/O, no clock, no threads: scenario tests feed scripted
//! inputs with fake timestamps and check states and effects.
//!
//! Layers:
//! * [`resource::step`]: one resource's scripts, retries and stall deadline;
//! * groups (here): activation in dependency order (independent resources in
//!   parallel), deactivation in exact reverse, and what follows a resource that
//!   failed for good: failover (none on one server), then the final action;
//! * the cluster service: start, stop (groups in reverse group-dependency order),
//!   suspend/resume, OS actions after the service stopped;
//! * requests: a command is answered when what it asked for has settled.

pub mod monitor;
#[cfg(test)]
mod monitor_storm_tests;
#[cfg(test)]
mod monitor_tests;
pub mod resource;
pub mod storm;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::model::{Cluster, ResourceFinalAction, StallAction};
use resource::{AsyncPid, ResCtx, ResEffect, ResEvent, ResReport, ResState};

/// Monotonic milliseconds (fake in tests).
pub type Millis = u64;
/// Identifies one script run.
pub type OpId = u64;
/// Identifies one request waiting for its answer.
pub type ReqId = u64;

/// `CLP_EVENT` of start and stop scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClpEvent {
    Start,
    Failover,
    Recover,
}

impl ClpEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ClpEvent::Start => "START",
            ClpEvent::Failover => "FAILOVER",
            ClpEvent::Recover => "RECOVER",
        }
    }
}

/// `CLP_FACTOR` of stop scripts: why the resource is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopFactor {
    ClusterShutdown,
    ServerShutdown,
    GroupStop,
    GroupMove,
    GroupFailover,
    GroupRestart,
    ResourceRestart,
}

impl StopFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            StopFactor::ClusterShutdown => "CLUSTERSHUTDOWN",
            StopFactor::ServerShutdown => "SERVERSHUTDOWN",
            StopFactor::GroupStop => "GROUPSTOP",
            StopFactor::GroupMove => "GROUPMOVE",
            StopFactor::GroupFailover => "GROUPFAILOVER",
            StopFactor::GroupRestart => "GROUPRESTART",
            StopFactor::ResourceRestart => "RESOURCERESTART",
        }
    }
}

/// An alert to log: module, event id and the message arguments (%1, %2, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRef {
    pub module: &'static str,
    pub id: u32,
    pub args: Vec<String>,
}

impl AlertRef {
    pub fn new(module: &'static str, id: u32, args: &[&str]) -> Self {
        AlertRef {
            module,
            id,
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// OS-level actions, carried out by configurable commands (`<clp><action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OsAction {
    Shutdown,
    Reboot,
    Panic,
    Reset,
}

/// What an operator (or a signal, or a monitor) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartService,
    /// Stop the service; then run `then` (clpdown, final actions).
    StopService {
        factor: StopFactor,
        then: Option<OsAction>,
    },
    Suspend,
    Resume,
    StartGroup {
        group: String,
    },
    StopGroup {
        group: String,
    },
    MoveGroup {
        group: String,
        dest: Option<String>,
    },
    /// `force`: also start what it depends on.
    StartResource {
        resource: String,
        force: bool,
    },
    /// `force`: also stop what depends on it.
    StopResource {
        resource: String,
        force: bool,
    },
    /// Stop then start (monitor recovery), CLP_FACTOR=RESOURCERESTART.
    RestartResource {
        resource: String,
    },
    /// Stop then start the whole group, CLP_FACTOR=GROUPRESTART.
    RestartGroup {
        group: String,
    },
}

/// Everything the engine reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `req` is answered with an [`Effect::Reply`] when the command has settled.
    Command { req: Option<ReqId>, cmd: Command },
    /// A synchronous script finished (or was killed at its timeout).
    ScriptDone {
        op: OpId,
        result: Result<(), String>,
    },
    /// An asynchronous start script is running.
    Spawned { op: OpId, pid: AsyncPid },
    /// The stall timer of `op` fired.
    StallTimer { op: OpId },
    /// The asynchronous start script of `resource` exited.
    AsyncExited { resource: String, pid: u32 },
}

/// The answer to a request.
pub type Reply = Result<String, (ErrorKind, String)>;

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run a resource's start or stop script as operation `op`; report with
    /// `ScriptDone` (synchronous) or `Spawned` (asynchronous start).
    RunScript {
        op: OpId,
        resource: String,
        group: String,
        start: bool,
        event: ClpEvent,
        factor: Option<StopFactor>,
        pid: Option<AsyncPid>,
    },
    /// Fire `StallTimer{op}` after `after` unless `op` finished.
    ArmStall {
        op: OpId,
        after: Duration,
    },
    /// Stop watching an asynchronous start script (it keeps running).
    ForgetAsync {
        resource: String,
        pid: AsyncPid,
    },
    /// Kill the process group of the script of `op` (it overran its outer timeout).
    KillScript {
        op: OpId,
    },
    Alert(AlertRef),
    Reply {
        req: ReqId,
        reply: Reply,
    },
    /// Carry out an OS action now.
    Os(OsAction),
    /// The cluster service stopped (the daemon exits if it was asked to).
    ServiceStopped,
}

/// The cluster service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Offline,
    Online,
    Stopping {
        factor: StopFactor,
        then: Option<OsAction>,
    },
    Suspended,
}

/// What a group is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Idle,
    /// Start `targets` (all members when None) in dependency order. `halted`: a
    /// final action said not to start further resources.
    Activating {
        event: ClpEvent,
        targets: Option<BTreeSet<String>>,
        halted: bool,
    },
    /// Stop `targets` (all when None) in reverse order, then `then`.
    Deactivating {
        factor: StopFactor,
        targets: Option<BTreeSet<String>>,
        halted: bool,
        then: After,
    },
}

/// What follows a deactivation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum After {
    Nothing,
    /// Start the same targets again (restart).
    Start,
}

#[derive(Debug, Clone)]
struct GroupRt {
    plan: Plan,
    /// Which whole-group operation was announced (rc 10 / rc 20): Some(true) for
    /// activation, Some(false) for deactivation, None while idle.
    announced: Option<bool>,
}

#[derive(Debug, Clone)]
struct ResourceRt {
    state: ResState,
    /// Final action 0: dependents may start although this one failed.
    failure_tolerated: bool,
    failover_count: u32,
    retry_count: u32,
}

/// What a waiting request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wait {
    GroupOnline(String),
    GroupOffline(String),
    ResourceOnline(String),
    ResourceOffline(String),
    ServiceOffline,
}

/// State that must survive a daemon restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    /// The service was started (not stopped with clpcl -t).
    pub service_online: bool,
    pub resources: Vec<PersistedResource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedResource {
    pub name: String,
    pub state: PersistedState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistedState {
    Online {
        event: ClpEvent,
        pid: Option<AsyncPid>,
    },
    /// A script was running when the daemon went away.
    Starting,
    Stopping {
        factor: StopFactor,
        event: ClpEvent,
        #[serde(default)]
        pid: Option<AsyncPid>,
    },
    /// Failed states survive as Offline-with-failure so nothing restarts them.
    Failed { cause: String },
}

/// The engine: runtime state of the service, groups and resources.
pub struct Engine {
    model: Arc<Cluster>,
    service: Service,
    groups: BTreeMap<String, GroupRt>,
    resources: BTreeMap<String, ResourceRt>,
    next_op: OpId,
    waits: Vec<(ReqId, Wait)>,
    /// Reboot-type final actions still allowed (the daemon keeps it current).
    reboot_budget: u32,
}

impl Engine {
    /// A new engine with everything offline.
    pub fn new(model: Arc<Cluster>, now: Millis) -> Self {
        let groups = model
            .groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    GroupRt {
                        plan: Plan::Idle,
                        announced: None,
                    },
                )
            })
            .collect();
        let resources = model
            .resources
            .iter()
            .map(|r| (r.name.clone(), ResourceRt::offline(now)))
            .collect();
        Engine {
            model,
            service: Service::Offline,
            groups,
            resources,
            next_op: 1,
            waits: Vec::new(),
            reboot_budget: u32::MAX,
        }
    }

    /// How many reboot-type final actions may still run (rm 100 beyond).
    pub fn set_reboot_budget(&mut self, budget: u32) {
        self.reboot_budget = budget;
    }

    pub fn model(&self) -> &Arc<Cluster> {
        &self.model
    }

    pub fn service(&self) -> Service {
        self.service
    }

    /// The state of a resource.
    pub fn resource_state(&self, name: &str) -> Option<&ResState> {
        self.resources.get(name).map(|r| &r.state)
    }

    /// Activation retries used by a resource since its last start command.
    pub fn retry_count(&self, name: &str) -> u32 {
        self.resources.get(name).map_or(0, |r| r.retry_count)
    }

    /// The public state of a group, derived from its members and its plan.
    pub fn group_state(&self, name: &str) -> crate::status::RunState {
        use crate::status::RunState as R;
        let Some(group) = self.model.group(name) else {
            return R::Unknown;
        };
        let states: Vec<&ResState> = group
            .resources
            .iter()
            .filter_map(|r| self.resources.get(r).map(|rt| &rt.state))
            .collect();
        let plan = self.groups.get(name).map(|g| &g.plan);
        match plan {
            Some(Plan::Activating { .. }) => return R::OnlinePending,
            Some(Plan::Deactivating { .. }) => return R::OfflinePending,
            Some(Plan::Idle) | None => {}
        }
        if states
            .iter()
            .any(|s| matches!(s, ResState::DeactivationFailed { .. }))
        {
            R::OfflineFailure
        } else if states
            .iter()
            .any(|s| matches!(s, ResState::ActivationFailed { .. }))
        {
            R::OnlineFailure
        } else if states.iter().any(|s| s.is_busy()) {
            R::OnlinePending
        } else if states.iter().any(|s| s.is_online()) {
            R::Online
        } else {
            R::Offline
        }
    }

    /// True when nothing runs: no script, no plan in progress.
    pub fn is_quiet(&self) -> bool {
        self.resources.values().all(|r| !r.state.is_busy())
            && self.groups.values().all(|g| g.plan == Plan::Idle)
    }

    /// What to persist so a restarted daemon starts nothing twice.
    pub fn persisted(&self) -> Persisted {
        let resources = self
            .resources
            .iter()
            .filter_map(|(name, rt)| {
                let state = match &rt.state {
                    ResState::Offline { .. } => return None,
                    ResState::Online { event, pid, .. } => PersistedState::Online {
                        event: *event,
                        pid: *pid,
                    },
                    ResState::Starting { .. } => PersistedState::Starting,
                    ResState::Stopping {
                        factor, event, pid, ..
                    } => PersistedState::Stopping {
                        factor: *factor,
                        event: *event,
                        pid: *pid,
                    },
                    ResState::ActivationFailed { cause, .. }
                    | ResState::DeactivationFailed { cause, .. } => PersistedState::Failed {
                        cause: cause.clone(),
                    },
                };
                Some(PersistedResource {
                    name: name.clone(),
                    state,
                })
            })
            .collect();
        Persisted {
            service_online: matches!(
                self.service,
                Service::Online | Service::Suspended | Service::Stopping { .. }
            ),
            resources,
        }
    }

    /// Takes over what a previous daemon left running (after `kill -9`): online
    /// resources are adopted as they are (nothing is started twice); a script that
    /// was running is treated as failed and recovered normally.
    pub fn adopt(&mut self, persisted: &Persisted, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !persisted.service_online {
            return effects;
        }
        self.service = Service::Online;
        let mut interrupted = Vec::new();
        let mut restop: Vec<(String, StopFactor)> = Vec::new();
        for p in &persisted.resources {
            let Some(rt) = self.resources.get_mut(&p.name) else {
                continue;
            };
            match &p.state {
                PersistedState::Online { event, pid } => {
                    rt.state = ResState::Online {
                        event: *event,
                        pid: *pid,
                        since: now,
                    };
                }
                PersistedState::Failed { cause } => {
                    rt.state = ResState::ActivationFailed {
                        cause: cause.clone(),
                        since: now,
                    };
                }
                PersistedState::Starting => interrupted.push((p.name.clone(), true, None)),
                PersistedState::Stopping { factor, event, pid } => {
                    // An interrupted stop is simply done again, from its first
                    // attempt: its stop script ran only part of the way.
                    rt.state = ResState::Online {
                        event: *event,
                        pid: *pid,
                        since: now,
                    };
                    restop.push((p.name.clone(), *factor));
                }
            }
        }
        for (name, factor) in restop {
            if let Some(group) = self.group_of(&name) {
                self.set_plan(
                    &group,
                    Plan::Deactivating {
                        factor,
                        targets: Some(BTreeSet::from([name])),
                        halted: false,
                        then: After::Nothing,
                    },
                );
            }
        }
        for (name, starting, stopping) in interrupted {
            let Some(group) = self.group_of(&name) else {
                continue;
            };
            let op = self.alloc_op();
            let cause = "clpd was restarted while the script ran".to_string();
            if let Some(rt) = self.resources.get_mut(&name) {
                rt.state = match stopping {
                    Some((factor, event)) if !starting => ResState::Stopping {
                        op,
                        attempt: 0,
                        factor,
                        event,
                        pid: None,
                        since: now,
                    },
                    _ => ResState::Starting {
                        op,
                        attempt: 0,
                        event: ClpEvent::Start,
                        since: now,
                    },
                };
            }
            if let Some(g) = self.groups.get_mut(&group) {
                g.plan = match stopping {
                    Some((factor, _)) if !starting => Plan::Deactivating {
                        factor,
                        targets: None,
                        halted: false,
                        then: After::Nothing,
                    },
                    _ => Plan::Activating {
                        event: ClpEvent::Start,
                        targets: None,
                        halted: false,
                    },
                };
            }
            effects.extend(self.handle(
                Input::ScriptDone {
                    op,
                    result: Err(cause),
                },
                now,
            ));
        }
        effects.extend(self.settle(now));
        effects
    }

    /// Applies a new configuration. Objects whose spec did not change keep their
    /// runtime state; a changed resource keeps running and uses its new spec from
    /// its next start. Removing (or moving to another group) a resource that is
    /// not offline is refused: the running state stays untouched.
    pub fn reload(&mut self, model: Arc<Cluster>, now: Millis) -> Result<Vec<Effect>, String> {
        let mut blockers = Vec::new();
        for (name, rt) in &self.resources {
            let old_group = self.model.resource(name).map(|r| r.group.clone());
            let new_group = model.resource(name).map(|r| r.group.clone());
            if !rt.state.is_offline() && old_group != new_group {
                blockers.push(format!(
                    "resource {name} (group {}) is {} and would be {}",
                    old_group.unwrap_or_default(),
                    rt.state.public().as_str(),
                    match new_group {
                        Some(g) => format!("moved to group {g}"),
                        None => "removed".into(),
                    }
                ));
            }
        }
        if !self.is_quiet() {
            blockers.push("an operation is in progress".into());
        }
        if !blockers.is_empty() {
            return Err(format!(
                "the new configuration was not applied: {}; stop those groups and reload again",
                blockers.join("; ")
            ));
        }
        let mut resources = BTreeMap::new();
        for r in &model.resources {
            let rt = self
                .resources
                .remove(&r.name)
                .unwrap_or_else(|| ResourceRt::offline(now));
            resources.insert(r.name.clone(), rt);
        }
        let groups = model
            .groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    GroupRt {
                        plan: Plan::Idle,
                        announced: None,
                    },
                )
            })
            .collect();
        self.resources = resources;
        self.groups = groups;
        self.model = model;
        Ok(self.settle(now))
    }

    fn alloc_op(&mut self) -> OpId {
        let op = self.next_op;
        self.next_op += 1;
        op
    }

    fn group_of(&self, resource: &str) -> Option<String> {
        self.model.resource(resource).map(|r| r.group.clone())
    }

    /// Handles one input; returns the effects.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Command { req, cmd } => self.command(req, cmd, now, &mut effects),
            Input::ScriptDone { op, result } => {
                if let Some(name) = self.resource_with_op(op) {
                    self.step_resource(&name, ResEvent::Done { op, result }, now, &mut effects);
                }
            }
            Input::Spawned { op, pid } => {
                if let Some(name) = self.resource_with_op(op) {
                    self.step_resource(&name, ResEvent::Spawned { op, pid }, now, &mut effects);
                }
            }
            Input::StallTimer { op } => {
                if let Some(name) = self.resource_with_op(op) {
                    self.step_resource(&name, ResEvent::Stalled { op }, now, &mut effects);
                }
            }
            Input::AsyncExited { resource, pid } => {
                if self.resources.contains_key(&resource) {
                    self.step_resource(&resource, ResEvent::AsyncExited { pid }, now, &mut effects);
                }
            }
        }
        effects.extend(self.settle(now));
        effects
    }

    fn resource_with_op(&self, op: OpId) -> Option<String> {
        self.resources
            .iter()
            .find(|(_, rt)| rt.state.op() == Some(op))
            .map(|(n, _)| n.clone())
    }

    fn step_resource(
        &mut self,
        name: &str,
        event: ResEvent,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(spec) = self.model.resource(name).cloned() else {
            return;
        };
        let Some(rt) = self.resources.get(name) else {
            return;
        };
        let stopping_service = matches!(self.service, Service::Stopping { .. });
        let group_stopping = matches!(
            self.groups.get(&spec.group).map(|g| &g.plan),
            Some(Plan::Deactivating { .. })
        );
        let ctx = ResCtx {
            name,
            activation: &spec.activation,
            deactivation: &spec.deactivation,
            now,
            next_op: self.next_op,
            retry_allowed: !stopping_service && !group_stopping,
        };
        let is_start = matches!(event, ResEvent::Start { .. });
        let is_stop = matches!(event, ResEvent::Stop { .. });
        let (next, res_effects, used) = resource::step(&rt.state, event, &ctx);
        if used {
            self.next_op += 1;
        }
        if let Some(rt) = self.resources.get_mut(name) {
            if (is_start || is_stop) && !rt.state.is_busy() {
                // A new operation: a failure tolerated by the last one no longer counts.
                rt.failure_tolerated = false;
                if is_start {
                    rt.retry_count = 0;
                }
            }
            if let (ResState::Starting { attempt: a, .. }, ResState::Starting { attempt: b, .. }) =
                (&rt.state, &next)
                && b > a
            {
                rt.retry_count += 1;
            }
            rt.state = next;
        }
        for e in res_effects {
            match e {
                ResEffect::RunStart { op, event, stall } => {
                    effects.push(Effect::RunScript {
                        op,
                        resource: name.to_string(),
                        group: spec.group.clone(),
                        start: true,
                        event,
                        factor: None,
                        pid: None,
                    });
                    effects.push(Effect::ArmStall { op, after: stall });
                }
                ResEffect::RunStop {
                    op,
                    factor,
                    event,
                    pid,
                    stall,
                } => {
                    effects.push(Effect::RunScript {
                        op,
                        resource: name.to_string(),
                        group: spec.group.clone(),
                        start: false,
                        event,
                        factor: Some(factor),
                        pid,
                    });
                    effects.push(Effect::ArmStall { op, after: stall });
                }
                ResEffect::ForgetAsync { pid } => effects.push(Effect::ForgetAsync {
                    resource: name.to_string(),
                    pid,
                }),
                ResEffect::Abandon { op } => effects.push(Effect::KillScript { op }),
                ResEffect::Alert(a) => effects.push(Effect::Alert(a)),
                ResEffect::Report(report) => self.on_report(name, &spec.group, report, effects),
            }
        }
    }

    /// A resource's final word on an operation: apply recovery beyond its retries.
    fn on_report(&mut self, name: &str, group: &str, report: ResReport, effects: &mut Vec<Effect>) {
        let settings = self.model.settings.clone();
        let Some(spec) = self.model.resource(name).cloned() else {
            return;
        };
        match report {
            ResReport::Online | ResReport::Offline => {}
            ResReport::ActivationFailed { .. } => {
                let stopping = matches!(self.service, Service::Stopping { .. })
                    || matches!(
                        self.groups.get(group).map(|g| &g.plan),
                        Some(Plan::Deactivating { .. })
                    );
                if stopping {
                    // The group is being stopped anyway: no failover, no final action.
                    return;
                }
                if settings.no_recovery_on_activation_error {
                    self.halt(group);
                    return;
                }
                let auto_failover = self.model.group(group).is_some_and(|g| g.auto_failover);
                if let Some(rt) = self.resources.get_mut(name)
                    && auto_failover
                    && rt.failover_count < spec.activation.failover
                {
                    rt.failover_count += 1;
                    // One server: there is nowhere to go; say so and escalate.
                    effects.push(Effect::Alert(AlertRef::new(
                        "rc",
                        65,
                        &[group, "this cluster has one server"],
                    )));
                }
                self.resource_final_action(
                    name,
                    group,
                    spec.activation.final_action,
                    true,
                    effects,
                );
            }
            ResReport::DeactivationFailed { .. } => {
                if settings.no_recovery_on_deactivation_error {
                    self.halt(group);
                    return;
                }
                self.resource_final_action(
                    name,
                    group,
                    spec.deactivation.final_action,
                    false,
                    effects,
                );
            }
            ResReport::Stalled { activating, .. } => match settings.stall_action {
                StallAction::None => {
                    let action = if activating {
                        spec.activation.final_action
                    } else {
                        spec.deactivation.final_action
                    };
                    self.resource_final_action(name, group, action, activating, effects);
                }
                StallAction::StopClusterAndShutdown => self.stop_service(
                    StopFactor::ClusterShutdown,
                    Some(OsAction::Shutdown),
                    effects,
                ),
                StallAction::StopClusterAndReboot => {
                    self.stop_service(StopFactor::ClusterShutdown, Some(OsAction::Reboot), effects)
                }
                StallAction::Other(code) => effects.push(Effect::Os(os_action_for_code(code))),
            },
        }
    }

    fn halt(&mut self, group: &str) {
        if let Some(g) = self.groups.get_mut(group) {
            match &mut g.plan {
                Plan::Activating { halted, .. } | Plan::Deactivating { halted, .. } => {
                    *halted = true
                }
                Plan::Idle => {}
            }
        }
    }

    fn resource_final_action(
        &mut self,
        name: &str,
        group: &str,
        action: ResourceFinalAction,
        activating: bool,
        effects: &mut Vec<Effect>,
    ) {
        // Alert ids: rc 202-205 / 240-247 after activation, 222-225 / 280-287 after deactivation.
        let reboot_type = matches!(
            action,
            ResourceFinalAction::StopClusterAndReboot
                | ResourceFinalAction::SysrqPanic
                | ResourceFinalAction::KeepaliveReset
                | ResourceFinalAction::KeepalivePanic
                | ResourceFinalAction::Other(_)
        );
        if reboot_type && self.reboot_budget == 0 {
            let max = self.model.settings.max_reboots.to_string();
            effects.push(Effect::Alert(AlertRef::new("rm", 100, &[&max, name])));
            self.halt(group);
            return;
        }
        let base = if activating { 202 } else { 222 };
        let panic_base = if activating { 240 } else { 280 };
        match action {
            ResourceFinalAction::NoOpContinue => {
                if let Some(rt) = self.resources.get_mut(name) {
                    rt.failure_tolerated = true;
                }
            }
            ResourceFinalAction::NoOpStop => self.halt(group),
            ResourceFinalAction::StopGroup => {
                effects.push(Effect::Alert(AlertRef::new("rc", base, &[group, name])));
                if let Some(g) = self.groups.get_mut(group) {
                    g.plan = Plan::Deactivating {
                        factor: StopFactor::GroupStop,
                        targets: None,
                        halted: false,
                        then: After::Nothing,
                    };
                }
            }
            ResourceFinalAction::StopCluster => {
                effects.push(Effect::Alert(AlertRef::new("rc", base + 1, &[name])));
                self.stop_service(StopFactor::ClusterShutdown, None, effects);
            }
            ResourceFinalAction::StopClusterAndShutdown => {
                effects.push(Effect::Alert(AlertRef::new("rc", base + 2, &[name])));
                self.stop_service(
                    StopFactor::ClusterShutdown,
                    Some(OsAction::Shutdown),
                    effects,
                );
            }
            ResourceFinalAction::StopClusterAndReboot => {
                effects.push(Effect::Alert(AlertRef::new("rc", base + 3, &[name])));
                self.stop_service(StopFactor::ClusterShutdown, Some(OsAction::Reboot), effects);
            }
            ResourceFinalAction::SysrqPanic => {
                effects.push(Effect::Alert(AlertRef::new("rc", panic_base, &[name])));
                effects.push(Effect::Os(OsAction::Panic));
            }
            ResourceFinalAction::KeepaliveReset => {
                effects.push(Effect::Alert(AlertRef::new("rc", panic_base + 1, &[name])));
                effects.push(Effect::Os(OsAction::Reset));
            }
            ResourceFinalAction::KeepalivePanic => {
                effects.push(Effect::Alert(AlertRef::new("rc", panic_base + 2, &[name])));
                effects.push(Effect::Os(OsAction::Panic));
            }
            ResourceFinalAction::Other(code) => {
                let offset = u32::try_from(code - 8).unwrap_or(0);
                effects.push(Effect::Alert(AlertRef::new(
                    "rc",
                    panic_base + offset,
                    &[name],
                )));
                effects.push(Effect::Os(os_action_for_code(code)));
            }
        }
    }

    fn stop_service(
        &mut self,
        factor: StopFactor,
        then: Option<OsAction>,
        effects: &mut Vec<Effect>,
    ) {
        match self.service {
            Service::Offline => {
                effects.push(Effect::ServiceStopped);
                if let Some(os) = then {
                    effects.push(Effect::Os(os));
                }
            }
            Service::Stopping { then: existing, .. } => {
                // Already stopping: keep the strongest follow-up.
                let then = then.or(existing);
                self.service = Service::Stopping { factor, then };
            }
            Service::Online | Service::Suspended => {
                self.service = Service::Stopping { factor, then };
                for g in self.groups.values_mut() {
                    g.plan = Plan::Deactivating {
                        factor,
                        targets: None,
                        halted: false,
                        then: After::Nothing,
                    };
                }
            }
        }
    }

    fn command(
        &mut self,
        req: Option<ReqId>,
        cmd: Command,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let reply = |effects: &mut Vec<Effect>, r: Reply| {
            if let Some(req) = req {
                effects.push(Effect::Reply { req, reply: r });
            }
        };
        let not_running = || {
            (
                ErrorKind::State,
                "the cluster service is not running; start it with clpcl -s".to_string(),
            )
        };
        match cmd {
            Command::StartService => match self.service {
                Service::Online | Service::Suspended => {
                    reply(effects, Ok("already started".into()))
                }
                Service::Stopping { .. } => reply(
                    effects,
                    Err((
                        ErrorKind::State,
                        "the cluster service is stopping; try again when it is stopped".into(),
                    )),
                ),
                Service::Offline => {
                    self.service = Service::Online;
                    let local = self.model.local_server.clone();
                    effects.push(Effect::Alert(AlertRef::new("cl", 1, &[&local, "command"])));
                    let mut any = false;
                    let model = self.model.clone();
                    for group in model.groups.iter().filter(|g| g.auto_start) {
                        any = true;
                        for r in &group.resources {
                            self.step_resource(r, ResEvent::Reset, now, effects);
                        }
                        if let Some(g) = self.groups.get_mut(&group.name) {
                            g.plan = Plan::Activating {
                                event: ClpEvent::Start,
                                targets: None,
                                halted: false,
                            };
                        }
                    }
                    if !any && !self.model.groups.is_empty() {
                        effects.push(Effect::Alert(AlertRef::new("rc", 511, &[])));
                    }
                    reply(effects, Ok("started".into()));
                }
            },
            Command::StopService { factor, then } => {
                if self.service == Service::Offline {
                    reply(effects, Ok("already stopped".into()));
                }
                let local = self.model.local_server.clone();
                effects.push(Effect::Alert(AlertRef::new("cl", 2, &[&local, "command"])));
                self.stop_service(factor, then, effects);
                if let Some(req) = req
                    && self.service != Service::Offline
                {
                    self.waits.push((req, Wait::ServiceOffline));
                }
            }
            Command::Suspend => match self.service {
                Service::Online => {
                    self.service = Service::Suspended;
                    reply(effects, Ok("suspended".into()));
                }
                Service::Suspended => reply(effects, Ok("already suspended".into())),
                Service::Offline | Service::Stopping { .. } => reply(effects, Err(not_running())),
            },
            Command::Resume => match self.service {
                Service::Suspended => {
                    self.service = Service::Online;
                    reply(effects, Ok("resumed".into()));
                }
                Service::Online => reply(effects, Ok("not suspended".into())),
                Service::Offline | Service::Stopping { .. } => reply(effects, Err(not_running())),
            },
            Command::StartGroup { group } => {
                let r = self.check_group_command(&group, true);
                match r {
                    Err(e) => reply(effects, Err(e)),
                    Ok(()) => {
                        let members = self.members(&group);
                        for r in &members {
                            self.step_resource(r, ResEvent::Reset, now, effects);
                        }
                        self.set_plan(
                            &group,
                            Plan::Activating {
                                event: ClpEvent::Start,
                                targets: None,
                                halted: false,
                            },
                        );
                        if let Some(req) = req {
                            self.waits.push((req, Wait::GroupOnline(group)));
                        }
                    }
                }
            }
            Command::StopGroup { group } => match self.check_group_command(&group, false) {
                Err(e) => reply(effects, Err(e)),
                Ok(()) => {
                    self.set_plan(
                        &group,
                        Plan::Deactivating {
                            factor: StopFactor::GroupStop,
                            targets: None,
                            halted: false,
                            then: After::Nothing,
                        },
                    );
                    if let Some(req) = req {
                        self.waits.push((req, Wait::GroupOffline(group)));
                    }
                }
            },
            Command::MoveGroup { group, dest } => {
                let local = self.model.local_server.clone();
                let answer = if self.model.group(&group).is_none() {
                    Err((ErrorKind::NotFound, self.unknown_group(&group)))
                } else {
                    match dest {
                        Some(d) if self.model.server(&d).is_none() => Err((
                            ErrorKind::NotFound,
                            format!(
                                "Invalid server name: {d}. Servers are: {}",
                                self.server_names()
                            ),
                        )),
                        Some(d) if d == local => Err((
                            ErrorKind::State,
                            format!(
                                "Group {group} is already on server {local}; there is no other server to move it to"
                            ),
                        )),
                        _ => Err((
                            ErrorKind::State,
                            format!(
                                "There is no appropriate destination for group {group}: this cluster has one server ({local})"
                            ),
                        )),
                    }
                };
                reply(effects, answer);
            }
            Command::StartResource { resource, force } => {
                match self.check_resource_start(&resource, force) {
                    Err(e) => reply(effects, Err(e)),
                    Ok((group, targets)) => {
                        effects.push(Effect::Alert(AlertRef::new("rc", 83, &[&resource])));
                        for r in &targets {
                            self.step_resource(r, ResEvent::Reset, now, effects);
                        }
                        self.set_plan(
                            &group,
                            Plan::Activating {
                                event: ClpEvent::Start,
                                targets: Some(targets),
                                halted: false,
                            },
                        );
                        if let Some(req) = req {
                            self.waits.push((req, Wait::ResourceOnline(resource)));
                        }
                    }
                }
            }
            Command::StopResource { resource, force } => {
                match self.check_resource_stop(&resource, force) {
                    Err(e) => reply(effects, Err(e)),
                    Ok((group, targets)) => {
                        effects.push(Effect::Alert(AlertRef::new("rc", 87, &[&resource])));
                        self.set_plan(
                            &group,
                            Plan::Deactivating {
                                factor: StopFactor::GroupStop,
                                targets: Some(targets),
                                halted: false,
                                then: After::Nothing,
                            },
                        );
                        if let Some(req) = req {
                            self.waits.push((req, Wait::ResourceOffline(resource)));
                        }
                    }
                }
            }
            Command::RestartResource { resource } => {
                let Some(group) = self.group_of(&resource) else {
                    reply(
                        effects,
                        Err((
                            ErrorKind::NotFound,
                            format!("Invalid resource name: {resource}"),
                        )),
                    );
                    return;
                };
                if self.service != Service::Online {
                    reply(effects, Err(not_running()));
                    return;
                }
                effects.push(Effect::Alert(AlertRef::new("rc", 80, &[&resource])));
                let targets: BTreeSet<String> = self.dependents_closure(&group, &resource);
                self.set_plan(
                    &group,
                    Plan::Deactivating {
                        factor: StopFactor::ResourceRestart,
                        targets: Some(targets),
                        halted: false,
                        then: After::Start,
                    },
                );
                if let Some(req) = req {
                    self.waits.push((req, Wait::ResourceOnline(resource)));
                }
            }
            Command::RestartGroup { group } => {
                if self.model.group(&group).is_none() {
                    reply(
                        effects,
                        Err((ErrorKind::NotFound, self.unknown_group(&group))),
                    );
                    return;
                }
                if self.service != Service::Online {
                    reply(effects, Err(not_running()));
                    return;
                }
                effects.push(Effect::Alert(AlertRef::new("rc", 70, &[&group])));
                self.set_plan(
                    &group,
                    Plan::Deactivating {
                        factor: StopFactor::GroupRestart,
                        targets: None,
                        halted: false,
                        then: After::Start,
                    },
                );
                if let Some(req) = req {
                    self.waits.push((req, Wait::GroupOnline(group)));
                }
            }
        }
    }

    fn set_plan(&mut self, group: &str, plan: Plan) {
        if let Some(g) = self.groups.get_mut(group) {
            g.plan = plan;
        }
    }

    /// The group's members that clp runs (types it does not support are shown
    /// in the status but never started or waited for).
    fn members(&self, group: &str) -> Vec<String> {
        self.model
            .group(group)
            .map(|g| {
                g.resources
                    .iter()
                    .filter(|r| self.resources.contains_key(*r))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn unknown_group(&self, group: &str) -> String {
        let names: Vec<&str> = self.model.groups.iter().map(|g| g.name.as_str()).collect();
        format!(
            "Invalid group name: {group}. Groups are: {}",
            names.join(", ")
        )
    }

    fn server_names(&self) -> String {
        self.model
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a group start (`start`) or stop command.
    fn check_group_command(&self, group: &str, start: bool) -> Result<(), (ErrorKind, String)> {
        if self.model.group(group).is_none() {
            return Err((ErrorKind::NotFound, self.unknown_group(group)));
        }
        if self.service != Service::Online {
            return Err((
                ErrorKind::State,
                "the cluster service is not running; start it with clpcl -s".into(),
            ));
        }
        if self.groups.get(group).is_some_and(|g| g.plan != Plan::Idle) {
            return Err((
                ErrorKind::State,
                format!(
                    "group {group} is busy ({}); try again when it has settled",
                    self.group_state(group).as_str()
                ),
            ));
        }
        let members = self.members(group);
        let states: Vec<&ResState> = members
            .iter()
            .filter_map(|r| self.resources.get(r).map(|x| &x.state))
            .collect();
        if start && !states.is_empty() && states.iter().all(|s| s.is_online()) {
            return Err((ErrorKind::State, format!("group {group} is already online")));
        }
        if !start && states.iter().all(|s| s.is_offline()) {
            return Err((
                ErrorKind::State,
                format!("group {group} is already offline"),
            ));
        }
        Ok(())
    }

    /// Resources of `group` that `resource` depends on, transitively.
    fn dependencies_closure(&self, resource: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![resource.to_string()];
        while let Some(r) = todo.pop() {
            if let Some(spec) = self.model.resource(&r) {
                for d in &spec.depends {
                    if out.insert(d.clone()) {
                        todo.push(d.clone());
                    }
                }
            }
        }
        out
    }

    /// `resource` and everything in its group that depends on it, transitively.
    fn dependents_closure(&self, group: &str, resource: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::from([resource.to_string()]);
        loop {
            let before = out.len();
            for r in self.members(group) {
                if let Some(spec) = self.model.resource(&r)
                    && spec.depends.iter().any(|d| out.contains(d))
                {
                    out.insert(r);
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }

    /// What every clprsc command needs: a known resource, a running service
    /// and a settled group. Returns the resource's group.
    fn check_resource_command(&self, resource: &str) -> Result<String, (ErrorKind, String)> {
        let Some(group) = self.group_of(resource) else {
            return Err((ErrorKind::NotFound, self.unknown_resource(resource)));
        };
        if self.service != Service::Online {
            return Err((
                ErrorKind::State,
                "the cluster service is not running; start it with clpcl -s".into(),
            ));
        }
        if self
            .groups
            .get(&group)
            .is_some_and(|g| g.plan != Plan::Idle)
        {
            return Err((
                ErrorKind::State,
                format!("group {group} is busy; try again when it has settled"),
            ));
        }
        Ok(group)
    }

    fn check_resource_start(
        &self,
        resource: &str,
        force: bool,
    ) -> Result<(String, BTreeSet<String>), (ErrorKind, String)> {
        let group = self.check_resource_command(resource)?;
        if self
            .resources
            .get(resource)
            .is_some_and(|r| r.state.is_online())
        {
            return Err((
                ErrorKind::State,
                format!("resource {resource} is already online"),
            ));
        }
        let deps = self.dependencies_closure(resource);
        let offline: Vec<&String> = deps
            .iter()
            .filter(|d| {
                !self
                    .resources
                    .get(d.as_str())
                    .is_some_and(|r| r.state.is_online())
            })
            .collect();
        if !offline.is_empty() && !force {
            return Err((
                ErrorKind::State,
                format!(
                    "resource {resource} depends on {}, which is not online; start it first or use -f",
                    offline
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut targets: BTreeSet<String> = offline.into_iter().cloned().collect();
        targets.insert(resource.to_string());
        Ok((group, targets))
    }

    fn check_resource_stop(
        &self,
        resource: &str,
        force: bool,
    ) -> Result<(String, BTreeSet<String>), (ErrorKind, String)> {
        let group = self.check_resource_command(resource)?;
        if self
            .resources
            .get(resource)
            .is_some_and(|r| r.state.is_offline())
        {
            return Err((
                ErrorKind::State,
                format!("resource {resource} is already offline"),
            ));
        }
        let closure = self.dependents_closure(&group, resource);
        let active: Vec<&String> = closure
            .iter()
            .filter(|d| d.as_str() != resource)
            .filter(|d| {
                !self
                    .resources
                    .get(d.as_str())
                    .is_some_and(|r| r.state.is_offline())
            })
            .collect();
        if !active.is_empty() && !force {
            return Err((
                ErrorKind::State,
                format!(
                    "{} depend(s) on resource {resource} and is not offline; stop it first or use -f",
                    active
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok((group, closure))
    }

    fn unknown_resource(&self, resource: &str) -> String {
        let names: Vec<&str> = self
            .model
            .resources
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        format!(
            "Invalid resource name: {resource}. Resources are: {}",
            names.join(", ")
        )
    }

    /// Drives every group to its next step, finishes plans, settles the service
    /// and answers requests. Loops until nothing changes.
    fn settle(&mut self, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        for _ in 0..64 {
            let before = effects.len();
            let groups: Vec<String> = self.model.groups.iter().map(|g| g.name.clone()).collect();
            let mut changed = false;
            for g in &groups {
                changed |= self.drive(g, now, &mut effects);
            }
            changed |= self.settle_service(&mut effects);
            if !changed && effects.len() == before {
                break;
            }
        }
        self.answer_waits(&mut effects);
        effects
    }

    fn is_target(plan_targets: &Option<BTreeSet<String>>, r: &str) -> bool {
        plan_targets.as_ref().is_none_or(|t| t.contains(r))
    }

    /// One scheduling pass over a group. Returns whether anything changed.
    fn drive(&mut self, group: &str, now: Millis, effects: &mut Vec<Effect>) -> bool {
        let Some(plan) = self.groups.get(group).map(|g| g.plan.clone()) else {
            return false;
        };
        let members = self.members(group);
        let whole = match &plan {
            Plan::Activating { targets: None, .. } => Some(true),
            Plan::Deactivating { targets: None, .. } => Some(false),
            Plan::Idle | Plan::Activating { .. } | Plan::Deactivating { .. } => None,
        };
        if let Some(g) = self.groups.get_mut(group) {
            if whole.is_some() && g.announced != whole {
                g.announced = whole;
                let id = if whole == Some(true) { 10 } else { 20 };
                effects.push(Effect::Alert(AlertRef::new("rc", id, &[group])));
            } else if plan == Plan::Idle {
                g.announced = None;
            }
        }
        match plan {
            Plan::Idle => false,
            Plan::Activating {
                event,
                targets,
                halted,
            } => {
                let mut started = false;
                if !halted {
                    for r in &members {
                        if !Self::is_target(&targets, r) {
                            continue;
                        }
                        let ready = self
                            .resources
                            .get(r)
                            .is_some_and(|rt| rt.state.is_offline());
                        let deps_ok = self.model.resource(r).is_some_and(|spec| {
                            spec.depends.iter().all(|d| self.dependency_satisfied(d))
                        });
                        if ready && deps_ok {
                            self.step_resource(r, ResEvent::Start { event }, now, effects);
                            started = true;
                        }
                    }
                }
                let busy = members
                    .iter()
                    .any(|r| self.resources.get(r).is_some_and(|rt| rt.state.is_busy()));
                // The plan may have been replaced by a final action in step_resource.
                let still = matches!(
                    self.groups.get(group).map(|g| &g.plan),
                    Some(Plan::Activating { .. })
                );
                if !busy && still && !started {
                    let online = members
                        .iter()
                        .filter(|r| Self::is_target(&targets, r))
                        .all(|r| {
                            self.resources
                                .get(r.as_str())
                                .is_some_and(|rt| rt.state.is_online())
                        });
                    self.set_plan(group, Plan::Idle);
                    let id = if online { 11 } else { 12 };
                    if targets.is_none() {
                        effects.push(Effect::Alert(AlertRef::new("rc", id, &[group])));
                    }
                    return true;
                }
                started
            }
            Plan::Deactivating {
                factor,
                targets,
                halted,
                then,
            } => {
                let mut stopped = false;
                if !halted {
                    for r in members.iter().rev() {
                        if !Self::is_target(&targets, r) {
                            continue;
                        }
                        let needs_stop = self.resources.get(r).is_some_and(|rt| {
                            matches!(
                                rt.state,
                                ResState::Online { .. } | ResState::ActivationFailed { .. }
                            )
                        });
                        // Dependents (in this group) must be down first.
                        let dependents_down = members.iter().all(|other| {
                            let depends = self
                                .model
                                .resource(other)
                                .is_some_and(|s| s.depends.iter().any(|d| d == r));
                            !depends || self.stopped_for_ordering(other)
                        });
                        if needs_stop && dependents_down {
                            self.step_resource(r, ResEvent::Stop { factor }, now, effects);
                            stopped = true;
                        }
                    }
                }
                let busy = members
                    .iter()
                    .any(|r| self.resources.get(r).is_some_and(|rt| rt.state.is_busy()));
                let still = matches!(
                    self.groups.get(group).map(|g| &g.plan),
                    Some(Plan::Deactivating { .. })
                );
                if !busy && still && !stopped {
                    let offline =
                        members
                            .iter()
                            .filter(|r| Self::is_target(&targets, r))
                            .all(|r| {
                                self.resources
                                    .get(r.as_str())
                                    .is_some_and(|rt| rt.state.is_offline())
                            });
                    if targets.is_none() && factor != StopFactor::GroupRestart {
                        effects.push(Effect::Alert(AlertRef::new(
                            "rc",
                            if offline { 21 } else { 22 },
                            &[group],
                        )));
                    }
                    let next = match then {
                        After::Start if offline && self.service == Service::Online => {
                            Plan::Activating {
                                event: ClpEvent::Start,
                                targets: targets.clone(),
                                halted: false,
                            }
                        }
                        After::Start | After::Nothing => Plan::Idle,
                    };
                    self.set_plan(group, next);
                    return true;
                }
                stopped
            }
        }
    }

    /// A dependency lets its dependents start: online, or failed with final action 0.
    fn dependency_satisfied(&self, dep: &str) -> bool {
        self.resources.get(dep).is_some_and(|rt| {
            rt.state.is_online()
                || (rt.failure_tolerated && matches!(rt.state, ResState::ActivationFailed { .. }))
        })
    }

    /// Whether a resource counts as stopped when ordering a deactivation.
    fn stopped_for_ordering(&self, r: &str) -> bool {
        self.resources.get(r).is_none_or(|rt| {
            rt.state.is_offline()
                || (rt.failure_tolerated && matches!(rt.state, ResState::DeactivationFailed { .. }))
        })
    }

    fn settle_service(&mut self, effects: &mut Vec<Effect>) -> bool {
        if let Service::Stopping { then, .. } = self.service {
            let all_idle = self.groups.values().all(|g| g.plan == Plan::Idle);
            let quiet = self.resources.values().all(|r| !r.state.is_busy());
            if all_idle && quiet {
                self.service = Service::Offline;
                effects.push(Effect::ServiceStopped);
                if let Some(os) = then {
                    effects.push(Effect::Os(os));
                }
                return true;
            }
        }
        false
    }

    fn answer_waits(&mut self, effects: &mut Vec<Effect>) {
        let waits = std::mem::take(&mut self.waits);
        for (req, wait) in waits {
            match self.check_wait(&wait) {
                Some(reply) => {
                    // Single-resource operations announce their outcome (rc 84/85, 88/89).
                    let single = match &wait {
                        Wait::ResourceOnline(r) => Some((r, 84, 85)),
                        Wait::ResourceOffline(r) => Some((r, 88, 89)),
                        Wait::GroupOnline(_) | Wait::GroupOffline(_) | Wait::ServiceOffline => None,
                    };
                    if let Some((r, ok, failed)) = single {
                        let id = if reply.is_ok() { ok } else { failed };
                        effects.push(Effect::Alert(AlertRef::new("rc", id, &[r])));
                    }
                    effects.push(Effect::Reply { req, reply });
                }
                None => self.waits.push((req, wait)),
            }
        }
    }

    fn check_wait(&self, wait: &Wait) -> Option<Reply> {
        let idle = |g: &str| self.groups.get(g).is_none_or(|x| x.plan == Plan::Idle);
        let failure = |g: &str| {
            self.members(g)
                .iter()
                .filter_map(|r| {
                    self.resources
                        .get(r)
                        .and_then(|rt| rt.state.cause().map(|c| format!("resource {r}: {c}")))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        match wait {
            Wait::GroupOnline(g) => {
                if !idle(g) {
                    return None;
                }
                let online = self
                    .members(g)
                    .iter()
                    .all(|r| self.resources.get(r).is_some_and(|rt| rt.state.is_online()));
                Some(if online {
                    Ok(format!("group {g} is online"))
                } else {
                    Err((
                        ErrorKind::Failed,
                        format!(
                            "group {g} did not start: {}",
                            non_empty(failure(g), "it was stopped")
                        ),
                    ))
                })
            }
            Wait::GroupOffline(g) => {
                if !idle(g) {
                    return None;
                }
                let offline = self.members(g).iter().all(|r| {
                    self.resources
                        .get(r)
                        .is_some_and(|rt| rt.state.is_offline())
                });
                Some(if offline {
                    Ok(format!("group {g} is offline"))
                } else {
                    Err((
                        ErrorKind::Failed,
                        format!(
                            "group {g} did not stop: {}",
                            non_empty(failure(g), "it was started")
                        ),
                    ))
                })
            }
            Wait::ResourceOnline(r) | Wait::ResourceOffline(r) => {
                let g = self.group_of(r)?;
                if !idle(&g) {
                    return None;
                }
                let rt = self.resources.get(r)?;
                let want_online = matches!(wait, Wait::ResourceOnline(_));
                let ok = if want_online {
                    rt.state.is_online()
                } else {
                    rt.state.is_offline()
                };
                Some(if ok {
                    Ok(format!("resource {r} is {}", rt.state.public().as_str()))
                } else {
                    Err((
                        ErrorKind::Failed,
                        format!(
                            "resource {r} is {}{}",
                            rt.state.public().as_str(),
                            rt.state
                                .cause()
                                .map(|c| format!(": {c}"))
                                .unwrap_or_default()
                        ),
                    ))
                })
            }
            Wait::ServiceOffline => (self.service == Service::Offline).then(|| {
                let failed: Vec<String> = self
                    .resources
                    .iter()
                    .filter_map(|(n, rt)| match &rt.state {
                        ResState::DeactivationFailed { cause, .. } => {
                            Some(format!("resource {n}: {cause}"))
                        }
                        _ => None,
                    })
                    .collect();
                if failed.is_empty() {
                    Ok("stopped".into())
                } else {
                    Err((
                        ErrorKind::Failed,
                        format!(
                            "the cluster service stopped, but not every resource did: {}",
                            failed.join("; ")
                        ),
                    ))
                }
            }),
        }
    }
}

fn non_empty(text: String, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.to_string()
    } else {
        text
    }
}

/// OS actions for final-action codes 8-15 (panic, reset, BMC, fencing). There is
/// no BMC on our servers: BMC reset / power cycle map to a reset, power off to a
/// shutdown, NMI and I/O fencing to a panic (documented in clp.conf(5)).
pub fn os_action_for_code(code: i64) -> OsAction {
    match code {
        9 | 11 | 13 => OsAction::Reset,
        12 => OsAction::Shutdown,
        _ => OsAction::Panic,
    }
}

impl ResourceRt {
    fn offline(now: Millis) -> Self {
        ResourceRt {
            state: ResState::Offline { since: now },
            failure_tolerated: false,
            failover_count: 0,
            retry_count: 0,
        }
    }
}
