//! Operator commands (service, group, resource): their preconditions, rejections and plans.

use super::*;

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
                        _ => match self.membership.destination(&self.model, &group) {
                            Err(none) => Err((
                                ErrorKind::State,
                                format!(
                                    "There is no appropriate destination for group {group}: {} ({})",
                                    none.reason(),
                                    none.local()
                                ),
                            )),
                            // Unreachable while the view holds this server only.
                            Ok(dest) => Err((
                                ErrorKind::State,
                                format!(
                                    "Group {group} cannot be moved to {dest}: moving groups between servers is not supported by this version"
                                ),
                            )),
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

    pub(super) fn unknown_group(&self, group: &str) -> String {
        let names: Vec<&str> = self.model.groups.iter().map(|g| g.name.as_str()).collect();
        format!(
            "Invalid group name: {group}. Groups are: {}",
            names.join(", ")
        )
    }

    pub(super) fn server_names(&self) -> String {
        self.model
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks a group start (`start`) or stop command.
    pub(super) fn check_group_command(
        &self,
        group: &str,
        start: bool,
    ) -> Result<(), (ErrorKind, String)> {
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
    pub(super) fn check_resource_command(
        &self,
        resource: &str,
    ) -> Result<String, (ErrorKind, String)> {
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

    pub(super) fn check_resource_start(
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

    pub(super) fn check_resource_stop(
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

    pub(super) fn unknown_resource(&self, resource: &str) -> String {
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
}
