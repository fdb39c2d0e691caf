//! Judging a check's result, and the recovery of a monitor that detected an
//! error: CLUSTERPRO's escalation
//! (recovery script, restart, failover, final action), pre-actions, the
//! restart-storm bound, and the counters.

use super::*;

impl Monitors {
    /// Applies one result: counts failures, detects errors, returns to normal.
    pub(super) fn result(&mut self, name: &str, result: CheckResult, effects: &mut Vec<MonEffect>) {
        let model = self.shared_model();
        let Some(spec) = model.monitor(name) else {
            return;
        };
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
                    self.escalate(spec, timed_out, effects);
                }
            }
        }
    }

    pub(super) fn target_active(&self, target: &RecoveryTarget) -> (bool, String) {
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
    pub(super) fn escalate(
        &mut self,
        spec: &Monitor,
        timed_out: bool,
        effects: &mut Vec<MonEffect>,
    ) {
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
            // No destination while the membership view holds this server
            // only: say so and go on to the final action.
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
            match self.membership.destination(&self.model, &group) {
                Ok(_) => {
                    effects.push(MonEffect::Alert(AlertRef::new(
                        "rm",
                        14,
                        &[&target_name, name],
                    )));
                    self.step_with_preaction(
                        spec,
                        spec.preaction.before_failover,
                        "FAILOVER",
                        Recovery::FailoverGroup(group),
                        (counts.0, counts.1, counts.2 + 1),
                        effects,
                    );
                    return;
                }
                Err(none) => effects.push(MonEffect::Alert(AlertRef::new(
                    "rc",
                    65,
                    &[&group, &none.reason()],
                ))),
            }
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
    pub(super) fn restart_storm(
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

    pub(super) fn bump(&mut self, name: &str, f: impl FnOnce(&mut Counters)) {
        if let Some(rt) = self.rts.get_mut(name) {
            f(&mut rt.counters);
        }
    }

    /// Issues `recovery` now, or after the pre-action script when it is enabled.
    pub(super) fn step_with_preaction(
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

    pub(super) fn pre_action_done(
        &mut self,
        name: &str,
        id: CheckId,
        ok: bool,
        effects: &mut Vec<MonEffect>,
    ) {
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
    pub(super) fn final_action(
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
            MonitorFinalAction::Other(code) => {
                Recovery::Os(crate::engine::os_action_for_code(code))
            }
        };
        Some(recovery)
    }
}
