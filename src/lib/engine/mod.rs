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
//!
//! Files: this one holds the vocabulary (inputs, effects, commands), the
//! runtime state and [`Engine::handle`]; `recovery` feeds resources their
//! events and decides what their reports mean; `sequencing` drives groups and
//! the service to their plans and answers waiting requests; `commands` checks
//! and plans operator commands; `persistence` is what survives a restart of
//! clpd and a reload.

#[cfg(test)]
mod failover_tests;
#[cfg(test)]
mod generation_tests;
pub mod monitor;
#[cfg(test)]
mod monitor_storm_tests;
#[cfg(test)]
mod monitor_tests;
pub mod resource;
pub mod storm;

mod commands;
pub use commands::{Object, Rejection};
pub mod clpd_stops;
pub mod core;
#[cfg(test)]
mod core_tests;
pub mod membership;
pub mod partition;
mod persistence;
pub mod placement;
mod recovery;
mod sequencing;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Cluster, ResourceFinalAction, StallAction};
pub use crate::vocab::{ClpEvent, OsAction, StopFactor};
use membership::Membership;
use resource::{AsyncPid, ResCtx, ResEffect, ResEvent, ResReport, ResState};

/// Monotonic milliseconds (fake in tests).
pub type Millis = u64;
/// Identifies one script run.
pub type OpId = u64;
/// Identifies one request waiting for its answer.
pub type ReqId = u64;

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

/// What an operator (or a signal, or a monitor) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartService,
    /// Start the service without the groups that start automatically: a
    /// server whose configuration differs from the cluster's runs none.
    StartServiceWithoutGroups,
    /// Start the groups that start automatically and can start now (offline,
    /// not busy): after a start without them, once the servers are in sync.
    StartAutoGroups,
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
    /// Start `group` here because this server's claim of it was accepted
    /// (several servers): `event` is what its start scripts see.
    PlaceGroup {
        group: String,
        event: ClpEvent,
    },
    /// Stop `group` here because it leaves for another server (`factor`:
    /// GROUPMOVE or GROUPFAILOVER, what its stop scripts see).
    LeaveGroup {
        group: String,
        factor: StopFactor,
    },
    /// A monitor's failover step: stop `group` here, then it goes to the
    /// next server of its policy ([`Effect::Failover`]).
    FailoverGroup {
        group: String,
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

/// The answer to a request: how it ended, or why not.
pub type Reply = Result<String, Rejection>;

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Bring `resource` up as operation `op`, whatever its kind does for it
    /// (exec: run start.sh with `CLP_EVENT=event`). Reported with `ScriptDone`
    /// (done, or failed) or `Spawned` (an asynchronous start keeps running).
    Activate {
        op: OpId,
        resource: String,
        group: String,
        event: ClpEvent,
    },
    /// Bring `resource` down as operation `op` (exec: run stop.sh with
    /// `CLP_FACTOR=factor`, `CLP_PID` = `pid` of its asynchronous start).
    /// Reported with `ScriptDone`.
    Deactivate {
        op: OpId,
        resource: String,
        group: String,
        event: ClpEvent,
        factor: StopFactor,
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
    /// `group` is being stopped here to fail over (a resource's activation
    /// failed past its retries, `resource`, or a monitor's failover step):
    /// once it is offline, the next server of its policy takes it.
    Failover {
        group: String,
        resource: Option<String>,
    },
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
    /// Who could take a group over (only this server today).
    membership: Membership,
    /// Bumped by every input, adoption and reload: what the engine shows or
    /// persists may have changed. Inputs are rare (commands, scripts ending),
    /// so no finer tracking is worth its risk here.
    generation: u64,
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
            service: Service::Offline,
            groups,
            resources,
            next_op: 1,
            waits: Vec::new(),
            reboot_budget: u32::MAX,
            membership: Membership::local_only(&model),
            model,
            generation: 0,
        }
    }

    /// Changes whenever the engine's visible or persisted state may have
    /// changed: the daemon rebuilds its status snapshot and state only then.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many reboot-type final actions may still run (rm 100 beyond).
    pub fn set_reboot_budget(&mut self, budget: u32) {
        self.reboot_budget = budget;
    }

    /// The membership view the engine decides destinations from.
    pub fn set_membership(&mut self, membership: Membership) {
        // The snapshot shows who is up: a change must publish it.
        if membership != self.membership {
            self.generation += 1;
        }
        self.membership = membership;
    }

    pub fn membership(&self) -> &Membership {
        &self.membership
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
    pub fn group_state(&self, name: &str) -> crate::vocab::RunState {
        use crate::vocab::RunState as R;
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
        self.generation += 1;
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
