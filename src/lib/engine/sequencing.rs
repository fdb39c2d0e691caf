//! Driving groups to their plans in dependency order, settling the service, and answering requests that wait for a state.

use super::*;

impl Engine {
    /// Drives every group to its next step, finishes plans, settles the service
    /// and answers requests. Loops until nothing changes.
    pub(super) fn settle(&mut self, now: Millis) -> Vec<Effect> {
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

    pub(super) fn is_target(plan_targets: &Option<BTreeSet<String>>, r: &str) -> bool {
        plan_targets.as_ref().is_none_or(|t| t.contains(r))
    }

    /// One scheduling pass over a group. Returns whether anything changed.
    pub(super) fn drive(&mut self, group: &str, now: Millis, effects: &mut Vec<Effect>) -> bool {
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
    pub(super) fn dependency_satisfied(&self, dep: &str) -> bool {
        self.resources.get(dep).is_some_and(|rt| {
            rt.state.is_online()
                || (rt.failure_tolerated && matches!(rt.state, ResState::ActivationFailed { .. }))
        })
    }

    /// Whether a resource counts as stopped when ordering a deactivation.
    pub(super) fn stopped_for_ordering(&self, r: &str) -> bool {
        self.resources.get(r).is_none_or(|rt| {
            rt.state.is_offline()
                || (rt.failure_tolerated && matches!(rt.state, ResState::DeactivationFailed { .. }))
        })
    }

    pub(super) fn settle_service(&mut self, effects: &mut Vec<Effect>) -> bool {
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

    pub(super) fn answer_waits(&mut self, effects: &mut Vec<Effect>) {
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

    pub(super) fn check_wait(&self, wait: &Wait) -> Option<Reply> {
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
                    Err(Rejection::Failed {
                        detail: format!(
                            "group {g} did not start: {}",
                            non_empty(failure(g), "it was stopped")
                        ),
                    })
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
                    Err(Rejection::Failed {
                        detail: format!(
                            "group {g} did not stop: {}",
                            non_empty(failure(g), "it was started")
                        ),
                    })
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
                    Err(Rejection::Failed {
                        detail: format!(
                            "resource {r} is {}{}",
                            rt.state.public().as_str(),
                            rt.state
                                .cause()
                                .map(|c| format!(": {c}"))
                                .unwrap_or_default()
                        ),
                    })
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
                    Err(Rejection::Failed {
                        detail: format!(
                            "the cluster service stopped, but not every resource did: {}",
                            failed.join("; ")
                        ),
                    })
                }
            }),
        }
    }
}
