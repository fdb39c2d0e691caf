//! A resource's state machine fed with its events, and what its reports mean for its group: retries, failover (no destination on one server), final actions.

use super::*;

impl Engine {
    pub(super) fn step_resource(
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
                    effects.push(Effect::Activate {
                        op,
                        resource: name.to_string(),
                        group: spec.group.clone(),
                        event,
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
                    effects.push(Effect::Deactivate {
                        op,
                        resource: name.to_string(),
                        group: spec.group.clone(),
                        event,
                        factor,
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
    pub(super) fn on_report(
        &mut self,
        name: &str,
        group: &str,
        report: ResReport,
        effects: &mut Vec<Effect>,
    ) {
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
                    // Another server of the policy is up: the group stops
                    // here and goes there (the daemon's placement names the
                    // server once it is offline, rc 201). None (one server,
                    // or every other one down): say why and escalate.
                    match self.membership.destination(&self.model, group) {
                        Ok(_) => {
                            self.fail_over(group, Some(name), effects);
                            return;
                        }
                        Err(none) => effects.push(Effect::Alert(AlertRef::new(
                            "rc",
                            65,
                            &[group, &none.reason()],
                        ))),
                    }
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

    /// Stops `group` here to fail over (GROUPFAILOVER); the daemon sends it
    /// on once it is offline.
    pub(super) fn fail_over(
        &mut self,
        group: &str,
        resource: Option<&str>,
        effects: &mut Vec<Effect>,
    ) {
        self.set_plan(
            group,
            Plan::Deactivating {
                factor: StopFactor::GroupFailover,
                targets: None,
                halted: false,
                then: After::Nothing,
            },
        );
        effects.push(Effect::Failover {
            group: group.to_string(),
            resource: resource.map(str::to_string),
        });
    }

    pub(super) fn halt(&mut self, group: &str) {
        if let Some(g) = self.groups.get_mut(group) {
            match &mut g.plan {
                Plan::Activating { halted, .. } | Plan::Deactivating { halted, .. } => {
                    *halted = true
                }
                Plan::Idle => {}
            }
        }
    }

    pub(super) fn resource_final_action(
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

    pub(super) fn stop_service(
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
}
