//! Which monitors run: starting and stopping them as their context changes
//! (the service, their target online), and multi-target monitors judged from
//! their members.

use super::*;

impl Monitors {
    /// Whether `m` should be monitoring now.
    pub(super) fn should_run(&self, m: &Monitor) -> bool {
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
    pub(super) fn reconcile(&mut self) -> Vec<MonEffect> {
        let mut effects = Vec::new();
        // The model is shared: holding it costs a reference count, where a
        // copy of the monitor list would cost one per input.
        let model = self.model.clone();
        for m in &model.monitors {
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
                // A suspended monitor holds nothing (no probe, no watchdog):
                // Resume activates it.
                if !rt.suspended {
                    effects.push(MonEffect::Activated {
                        monitor: m.name.clone(),
                    });
                }
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

    /// Re-evaluates multi-target monitors from their members' states (only
    /// called when there are some: this runs after every input).
    pub(super) fn multi_targets(&mut self) -> Vec<MonEffect> {
        let mut effects = Vec::new();
        let model = self.model.clone();
        for m in &model.monitors {
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
}

/// Whether `model` has multi-target monitors.
pub(super) fn has_multi_targets(model: &Cluster) -> bool {
    model
        .monitors
        .iter()
        .any(|m| matches!(m.kind, MonitorKind::Mtw(_)))
}
