//! What survives a restart of clpd (the persisted state, adoption of what still runs) and the reload of a new configuration.

use super::*;

impl Engine {
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
        self.generation += 1;
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
        self.generation += 1;
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
        self.membership = self.membership.rebuilt_for(&model);
        self.model = model;
        Ok(self.settle(now))
    }
}
