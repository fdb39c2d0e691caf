//! Operator commands (service, group, resource): their preconditions, rejections and plans.

use super::*;
use crate::vocab::RunState;

/// Why the engine refuses a command, or how it failed: data, not prose. The
/// daemon carries it to the protocol's rejection; the text an operator reads
/// is rendered at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The cluster service is not running.
    ServiceNotRunning,
    /// The cluster service is stopping.
    ServiceStopping,
    /// No such object; `known` lists the names the model has.
    Unknown {
        object: Object,
        name: String,
        known: Vec<String>,
    },
    /// `group` is starting or stopping (`state`: its state, when it matters).
    GroupBusy {
        group: String,
        state: Option<RunState>,
    },
    /// The object is already online (`online`) or offline.
    Already {
        object: Object,
        name: String,
        online: bool,
    },
    /// `group` is already active on `server`, the destination asked for.
    AlreadyOnServer { group: String, server: String },
    /// `group` has nowhere to go: no server of `servers` can take it.
    NoDestination { group: String, servers: Vec<String> },
    /// `resource` depends on `dependencies`, which are not online.
    DependenciesOffline {
        resource: String,
        dependencies: Vec<String>,
    },
    /// `dependents` depend on `resource` and are not offline.
    DependentsActive {
        resource: String,
        dependents: Vec<String>,
    },
    /// The operation ran and did not reach its goal.
    Failed { detail: String },
}

/// The objects a command names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Group,
    Resource,
    Server,
}

impl Engine {
    pub(super) fn command(
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
        match cmd {
            Command::StartService | Command::StartServiceWithoutGroups => match self.service {
                Service::Online | Service::Suspended => {
                    reply(effects, Ok("already started".into()))
                }
                Service::Stopping { .. } => reply(effects, Err(Rejection::ServiceStopping)),
                Service::Offline => {
                    self.service = Service::Online;
                    let local = self.model.local_server.clone();
                    effects.push(Effect::Alert(AlertRef::new("cl", 1, &[&local, "command"])));
                    let mut any = false;
                    let model = self.model.clone();
                    let auto_start = matches!(cmd, Command::StartService);
                    for group in model.groups.iter().filter(|g| auto_start && g.auto_start) {
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
                    if auto_start && !any && !self.model.groups.is_empty() {
                        effects.push(Effect::Alert(AlertRef::new("rc", 511, &[])));
                    }
                    reply(effects, Ok("started".into()));
                }
            },
            Command::StartAutoGroups if self.service != Service::Online => {
                reply(effects, Ok("the cluster service is not running".into()));
            }
            Command::StartAutoGroups => {
                let model = self.model.clone();
                let mut any = false;
                for group in model.groups.iter().filter(|g| g.auto_start) {
                    any = true;
                    // One the operator started (or that is busy) meanwhile stays as it is.
                    if self.check_group_command(&group.name, true).is_err() {
                        continue;
                    }
                    for r in &group.resources {
                        self.step_resource(r, ResEvent::Reset, now, effects);
                    }
                    self.set_plan(
                        &group.name,
                        Plan::Activating {
                            event: ClpEvent::Start,
                            targets: None,
                            halted: false,
                        },
                    );
                }
                if !any && !model.groups.is_empty() {
                    effects.push(Effect::Alert(AlertRef::new("rc", 511, &[])));
                }
                reply(effects, Ok("started".into()));
            }
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
                Service::Offline | Service::Stopping { .. } => {
                    reply(effects, Err(Rejection::ServiceNotRunning))
                }
            },
            Command::Resume => match self.service {
                Service::Suspended => {
                    self.service = Service::Online;
                    reply(effects, Ok("resumed".into()));
                }
                Service::Online => reply(effects, Ok("not suspended".into())),
                Service::Offline | Service::Stopping { .. } => {
                    reply(effects, Err(Rejection::ServiceNotRunning))
                }
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
            Command::PlaceGroup { group, event } => match self.check_group_command(&group, true) {
                Err(e) => reply(effects, Err(e)),
                Ok(()) => {
                    for r in &self.members(&group) {
                        self.step_resource(r, ResEvent::Reset, now, effects);
                    }
                    self.set_plan(
                        &group,
                        Plan::Activating {
                            event,
                            targets: None,
                            halted: false,
                        },
                    );
                    if let Some(req) = req {
                        self.waits.push((req, Wait::GroupOnline(group)));
                    }
                }
            },
            Command::LeaveGroup { group, factor } => {
                match self.check_group_command(&group, false) {
                    Err(e) => reply(effects, Err(e)),
                    Ok(()) => {
                        self.set_plan(
                            &group,
                            Plan::Deactivating {
                                factor,
                                targets: None,
                                halted: false,
                                then: After::Nothing,
                            },
                        );
                        if let Some(req) = req {
                            self.waits.push((req, Wait::GroupOffline(group)));
                        }
                    }
                }
            }
            Command::FailoverGroup { group } => {
                if self.model.group(&group).is_none() {
                    reply(effects, Err(self.unknown_group(&group)));
                    return;
                }
                if self.service != Service::Online {
                    reply(effects, Err(Rejection::ServiceNotRunning));
                    return;
                }
                self.fail_over(&group, None, effects);
                reply(effects, Ok("failing over".into()));
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
                    Err(self.unknown_group(&group))
                } else {
                    match dest {
                        Some(d) if self.model.server(&d).is_none() => Err(Rejection::Unknown {
                            object: Object::Server,
                            name: d,
                            known: self.server_names(),
                        }),
                        Some(d) if d == local => {
                            Err(Rejection::AlreadyOnServer { group, server: d })
                        }
                        _ => match self.membership.destination(&self.model, &group) {
                            Err(_) => Err(Rejection::NoDestination {
                                group,
                                servers: self.server_names(),
                            }),
                            // Unreachable while the view holds this server only.
                            Ok(dest) => Err(Rejection::Failed {
                                detail: format!(
                                    "Group {group} cannot be moved to {dest}: moving groups between servers is not supported by this version"
                                ),
                            }),
                        },
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
                    reply(effects, Err(self.unknown_resource(&resource)));
                    return;
                };
                if self.service != Service::Online {
                    reply(effects, Err(Rejection::ServiceNotRunning));
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
                    reply(effects, Err(self.unknown_group(&group)));
                    return;
                }
                if self.service != Service::Online {
                    reply(effects, Err(Rejection::ServiceNotRunning));
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

    pub(super) fn set_plan(&mut self, group: &str, plan: Plan) {
        if let Some(g) = self.groups.get_mut(group) {
            g.plan = plan;
        }
    }

    /// The group's members that clp runs (types it does not support are shown
    /// in the status but never started or waited for).
    pub(super) fn members(&self, group: &str) -> Vec<String> {
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

    pub(super) fn unknown_group(&self, group: &str) -> Rejection {
        Rejection::Unknown {
            object: Object::Group,
            name: group.to_string(),
            known: self.model.groups.iter().map(|g| g.name.clone()).collect(),
        }
    }

    pub(super) fn server_names(&self) -> Vec<String> {
        self.model.servers.iter().map(|s| s.name.clone()).collect()
    }

    /// Checks a group start (`start`) or stop command.
    pub(super) fn check_group_command(&self, group: &str, start: bool) -> Result<(), Rejection> {
        if self.model.group(group).is_none() {
            return Err(self.unknown_group(group));
        }
        if self.service != Service::Online {
            return Err(Rejection::ServiceNotRunning);
        }
        if self.groups.get(group).is_some_and(|g| g.plan != Plan::Idle) {
            return Err(Rejection::GroupBusy {
                group: group.to_string(),
                state: Some(self.group_state(group)),
            });
        }
        let members = self.members(group);
        let states: Vec<&ResState> = members
            .iter()
            .filter_map(|r| self.resources.get(r).map(|x| &x.state))
            .collect();
        let already = (start && !states.is_empty() && states.iter().all(|s| s.is_online()))
            || (!start && states.iter().all(|s| s.is_offline()));
        if already {
            return Err(Rejection::Already {
                object: Object::Group,
                name: group.to_string(),
                online: start,
            });
        }
        Ok(())
    }

    /// Resources of `group` that `resource` depends on, transitively.
    pub(super) fn dependencies_closure(&self, resource: &str) -> BTreeSet<String> {
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
    pub(super) fn dependents_closure(&self, group: &str, resource: &str) -> BTreeSet<String> {
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
    pub(super) fn check_resource_command(&self, resource: &str) -> Result<String, Rejection> {
        let Some(group) = self.group_of(resource) else {
            return Err(self.unknown_resource(resource));
        };
        if self.service != Service::Online {
            return Err(Rejection::ServiceNotRunning);
        }
        if self
            .groups
            .get(&group)
            .is_some_and(|g| g.plan != Plan::Idle)
        {
            return Err(Rejection::GroupBusy { group, state: None });
        }
        Ok(group)
    }

    pub(super) fn check_resource_start(
        &self,
        resource: &str,
        force: bool,
    ) -> Result<(String, BTreeSet<String>), Rejection> {
        let group = self.check_resource_command(resource)?;
        if self
            .resources
            .get(resource)
            .is_some_and(|r| r.state.is_online())
        {
            return Err(Rejection::Already {
                object: Object::Resource,
                name: resource.to_string(),
                online: true,
            });
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
            return Err(Rejection::DependenciesOffline {
                resource: resource.to_string(),
                dependencies: offline.into_iter().cloned().collect(),
            });
        }
        let mut targets: BTreeSet<String> = offline.into_iter().cloned().collect();
        targets.insert(resource.to_string());
        Ok((group, targets))
    }

    pub(super) fn check_resource_stop(
        &self,
        resource: &str,
        force: bool,
    ) -> Result<(String, BTreeSet<String>), Rejection> {
        let group = self.check_resource_command(resource)?;
        if self
            .resources
            .get(resource)
            .is_some_and(|r| r.state.is_offline())
        {
            return Err(Rejection::Already {
                object: Object::Resource,
                name: resource.to_string(),
                online: false,
            });
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
            return Err(Rejection::DependentsActive {
                resource: resource.to_string(),
                dependents: active.into_iter().cloned().collect(),
            });
        }
        Ok((group, closure))
    }

    pub(super) fn unknown_resource(&self, resource: &str) -> Rejection {
        Rejection::Unknown {
            object: Object::Resource,
            name: resource.to_string(),
            known: self
                .model
                .resources
                .iter()
                .map(|r| r.name.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
