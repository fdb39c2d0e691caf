//! The engine core: the cluster engine, the monitor engine and the policy
//! that joins them, as one pure state machine.
//!
//! [`Core::handle`] takes one [`CoreInput`] and the time and returns every
//! [`CoreEffect`] it leads to, after the engines have told each other what
//! they did: the monitors learn which resources are online and whether the
//! service runs (their context), a monitor's recovery becomes a command of
//! the cluster engine, the end of an asynchronous start script becomes
//! an immediate failure of the pidw monitors that watch it, and reboot-type
//! OS actions are counted against the reboot budget. Nothing here does I/O or
//! reads a clock, so scenario tests drive all of it with scripted inputs.
//!
//! The daemon interleaves carrying out effects with the core's work (a spawn
//! that fails at once is an input before the next queued one): it pushes
//! inputs with [`Core::push`] and takes one step at a time with [`Core::step`].
//! `handle` is the same, run until nothing is left.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::membership::Membership;
use super::monitor::{MonEffect, MonInput, Monitors, Recovery};
use super::{Command, Effect, Engine, Input, Millis, Persisted, ReqId, Service, StopFactor};
use crate::model::{Cluster, MonitorKind};
use crate::vocab::OsAction;

/// The time as the core needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds of the daemon's monotonic clock (timers, retries).
    pub mono: Millis,
    /// Seconds since the Unix epoch (the reboot budget survives reboots).
    pub unix_secs: u64,
}

/// Everything the core reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreInput {
    /// An input of the cluster engine (script results, timers, commands from
    /// clpd itself).
    Engine(Input),
    /// An input of the monitor engine (check results, timers, clpmonctrl).
    Monitor(MonInput),
    /// A command from an operator (clpcl, clpgrp, ...), answered with
    /// `Effect::Reply { req }`. Starting and stopping the service here is
    /// remembered across restarts of clpd.
    Operator { req: ReqId, cmd: Command },
    /// The asynchronous start script of `resource` ended (`how`: its exit).
    AsyncExited {
        resource: String,
        pid: u32,
        how: String,
    },
}

impl From<Input> for CoreInput {
    fn from(input: Input) -> Self {
        CoreInput::Engine(input)
    }
}

impl From<MonInput> for CoreInput {
    fn from(input: MonInput) -> Self {
        CoreInput::Monitor(input)
    }
}

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreEffect {
    /// An effect of the cluster engine (never `Effect::Os`: see `Os`).
    Engine(Effect),
    /// An effect of the monitor engine (never `MonEffect::Recover`: the core
    /// turns recoveries into commands or `Os`).
    Monitor(MonEffect),
    /// Carry out an OS action now. Reboot-type actions are already counted.
    Os(OsAction),
}

/// The monitors' context: service up, online resources, reboot budget.
type Context = (bool, BTreeSet<String>, u32);

/// The engine core. See the module documentation.
pub struct Core {
    engine: Engine,
    monitors: Monitors,
    /// The operator stopped the service (clpcl -t): clpd does not start it
    /// again by itself on this boot.
    stopped_by_operator: bool,
    /// Unix seconds of reboot-type OS actions, for the reboot budget.
    reboots: Vec<u64>,
    /// The context last given to the monitors.
    context: Option<Context>,
    /// The cluster engine's generation when the context was last computed:
    /// unchanged, only the reboot budget (time) can change the context.
    context_generation: Option<u64>,
    inputs: VecDeque<Input>,
    mon_inputs: VecDeque<MonInput>,
    now: Now,
}

impl Core {
    /// `runnable`: the monitor types the daemon can check.
    pub fn new(model: Arc<Cluster>, runnable: &[&str], now: Now) -> Self {
        Core {
            engine: Engine::new(model.clone(), now.mono),
            monitors: Monitors::new(model, runnable),
            stopped_by_operator: false,
            reboots: Vec::new(),
            context: None,
            context_generation: None,
            inputs: VecDeque::new(),
            mon_inputs: VecDeque::new(),
            now,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn monitors(&self) -> &Monitors {
        &self.monitors
    }

    /// For what the core does not decide: adopting after a restart of clpd,
    /// restoring restart history, the clock base. Policy stays in `handle`.
    pub fn monitors_mut(&mut self) -> &mut Monitors {
        &mut self.monitors
    }

    pub fn model(&self) -> &Arc<Cluster> {
        self.engine.model()
    }

    pub fn stopped_by_operator(&self) -> bool {
        self.stopped_by_operator
    }

    /// Restored from the persisted state, or set when clpd waits for the
    /// operator (a damaged state written on this boot).
    pub fn set_stopped_by_operator(&mut self, stopped: bool) {
        self.stopped_by_operator = stopped;
    }

    pub fn reboots(&self) -> &[u64] {
        &self.reboots
    }

    pub fn restore_reboots(&mut self, reboots: Vec<u64>) {
        self.reboots = reboots;
    }

    pub fn membership(&self) -> &Membership {
        self.engine.membership()
    }

    /// Replaces the membership view (the cluster layer's news).
    pub fn set_membership(&mut self, membership: Membership) {
        self.engine.set_membership(membership.clone());
        self.monitors.set_membership(membership);
    }

    /// Nothing runs and nothing is queued: clpd may end once the service is offline.
    pub fn is_quiet(&self) -> bool {
        self.engine.is_quiet() && self.inputs.is_empty()
    }

    pub fn service(&self) -> Service {
        self.engine.service()
    }

    /// Reboot-type final actions still allowed in the current window.
    pub fn reboot_budget(&self, unix_secs: u64) -> u32 {
        let settings = &self.engine.model().settings;
        let window = settings.reboot_window.as_secs();
        let recent = self
            .reboots
            .iter()
            .filter(|t| unix_secs.saturating_sub(**t) < window)
            .count();
        settings
            .max_reboots
            .saturating_sub(u32::try_from(recent).unwrap_or(u32::MAX))
    }

    /// Queues an input; [`Core::step`] handles it in turn.
    pub fn push(&mut self, input: impl Into<CoreInput>) {
        match input.into() {
            CoreInput::Engine(input) => self.inputs.push_back(input),
            CoreInput::Monitor(input) => self.mon_inputs.push_back(input),
            CoreInput::Operator { req, cmd } => {
                match &cmd {
                    Command::StartService | Command::StartServiceWithoutGroups => {
                        self.stopped_by_operator = false
                    }
                    Command::StopService { factor, then } => {
                        self.stopped_by_operator =
                            *factor == StopFactor::ClusterShutdown && then.is_none();
                    }
                    _ => {}
                }
                self.inputs.push_back(Input::Command {
                    req: Some(req),
                    cmd,
                });
            }
            CoreInput::AsyncExited { resource, pid, how } => {
                // pidw sees the death now, not at its next interval; but not the
                // end of a resource being stopped (its stop script may kill it).
                let online = self
                    .engine
                    .resource_state(&resource)
                    .is_some_and(|st| st.is_online());
                let watchers: Vec<String> = self
                    .engine
                    .model()
                    .monitors
                    .iter()
                    .filter(|m| {
                        online
                            && matches!(m.kind, MonitorKind::Pidw)
                            && m.target.as_deref() == Some(resource.as_str())
                    })
                    .map(|m| m.name.clone())
                    .collect();
                for monitor in watchers {
                    self.mon_inputs.push_back(MonInput::ProcessGone {
                        monitor,
                        detail: format!("process {pid} has exited ({how})"),
                    });
                }
                self.inputs.push_back(Input::AsyncExited { resource, pid });
            }
        }
    }

    /// Handles the next queued input; None when nothing is left. The cluster
    /// engine's inputs go first; the monitors learn what it did (their
    /// context) before they judge anything else: a check that fails because
    /// its target is being stopped must find monitoring already stopped.
    pub fn step(&mut self, now: Now) -> Option<Vec<CoreEffect>> {
        self.now = now;
        let mut out = Vec::new();
        if let Some(input) = self.inputs.pop_front() {
            let budget = self.reboot_budget(now.unix_secs);
            self.engine.set_reboot_budget(budget);
            for effect in self.engine.handle(input, now.mono) {
                self.engine_effect(effect, &mut out);
            }
        } else if let Some(context) = self.changed_context(now) {
            self.mon_inputs.push_front(context);
            return Some(out);
        } else if let Some(input) = self.mon_inputs.pop_front() {
            for effect in self.monitors.handle(input, now.mono) {
                self.monitor_effect(effect, &mut out);
            }
        } else {
            return None;
        }
        Some(out)
    }

    /// Handles `input` and everything it leads to; returns the effects in order.
    pub fn handle(&mut self, input: impl Into<CoreInput>, now: Now) -> Vec<CoreEffect> {
        self.push(input);
        let mut all = Vec::new();
        while let Some(effects) = self.step(now) {
            all.extend(effects);
        }
        all
    }

    /// Takes over what a previous clpd left running (its persisted state).
    pub fn adopt(&mut self, persisted: &Persisted, now: Now) -> Vec<CoreEffect> {
        self.now = now;
        let mut out = Vec::new();
        for effect in self.engine.adopt(persisted, now.mono) {
            self.engine_effect(effect, &mut out);
        }
        out
    }

    /// Applies a new configuration, or says why it cannot be applied now.
    pub fn reload(&mut self, model: Arc<Cluster>, now: Now) -> Result<Vec<CoreEffect>, String> {
        self.now = now;
        let mut out = Vec::new();
        for effect in self.engine.reload(model.clone(), now.mono)? {
            self.engine_effect(effect, &mut out);
        }
        for effect in self.monitors.reload(model) {
            self.monitor_effect(effect, &mut out);
        }
        // The monitors of the new configuration learn the context afresh.
        self.context = None;
        self.context_generation = None;
        Ok(out)
    }

    fn engine_effect(&mut self, effect: Effect, out: &mut Vec<CoreEffect>) {
        match effect {
            Effect::Os(action) => self.os_action(action, out),
            other => out.push(CoreEffect::Engine(other)),
        }
    }

    fn monitor_effect(&mut self, effect: MonEffect, out: &mut Vec<CoreEffect>) {
        let MonEffect::Recover(recovery) = effect else {
            out.push(CoreEffect::Monitor(effect));
            return;
        };
        let cmd = match recovery {
            Recovery::RestartResource(resource) => Command::RestartResource { resource },
            Recovery::RestartGroup(group) => Command::RestartGroup { group },
            Recovery::StopResource(resource) => Command::StopResource {
                resource,
                force: true,
            },
            Recovery::StopGroup(group) => Command::StopGroup { group },
            Recovery::FailoverGroup(group) => Command::FailoverGroup { group },
            Recovery::StopCluster(then) => Command::StopService {
                factor: StopFactor::ClusterShutdown,
                then,
            },
            Recovery::Os(action) => {
                self.os_action(action, out);
                return;
            }
        };
        // Carried out at once, in the order the monitors asked (two
        // recoveries from one input, an OS action after a command): the
        // recovery answers what the monitor saw now, before anything queued.
        let budget = self.reboot_budget(self.now.unix_secs);
        self.engine.set_reboot_budget(budget);
        for effect in self
            .engine
            .handle(Input::Command { req: None, cmd }, self.now.mono)
        {
            self.engine_effect(effect, out);
        }
    }

    fn os_action(&mut self, action: OsAction, out: &mut Vec<CoreEffect>) {
        if matches!(action, OsAction::Reboot | OsAction::Panic | OsAction::Reset) {
            // Counted when decided: the daemon saves it durably before acting,
            // so after the reboot the budget remembers it.
            self.reboots.push(self.now.unix_secs);
        }
        out.push(CoreEffect::Os(action));
    }

    /// The monitors' context when it differs from what they were last told.
    fn changed_context(&mut self, now: Now) -> Option<MonInput> {
        let budget = self.reboot_budget(now.unix_secs);
        let generation = self.engine.generation();
        if self.context_generation == Some(generation)
            && self.context.as_ref().is_some_and(|c| c.2 == budget)
        {
            // Nothing the context is made of has moved: no need to look at
            // every resource again (this runs before every monitor input).
            return None;
        }
        self.context_generation = Some(generation);
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
        let context = (service_up, online, budget);
        if self.context.as_ref() == Some(&context) {
            return None;
        }
        self.context = Some(context.clone());
        Some(MonInput::Context {
            service_up: context.0,
            online: context.1,
            reboot_budget: context.2,
        })
    }
}
