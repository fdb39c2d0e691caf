//! Carrying out the monitor engine's effects: checks (in the loop, as scripts, or on the probe pool) and recovery pre-actions.

use super::*;

impl Daemon {
    pub(super) fn mon_effect(&mut self, effect: MonEffect) {
        match effect {
            MonEffect::StartCheck { monitor, check } => self.start_check(&monitor, check),
            MonEffect::CancelCheck { check, .. } => {
                self.kill_tagged(|t| matches!(t, Tag::Check { check: c, .. } if *c == check));
            }
            MonEffect::Activated { monitor } => {
                self.start_probe(&monitor);
                self.start_async_genw(&monitor);
            }
            MonEffect::Deactivated { monitor } => {
                if let Some(worker) = self.workers.remove(&monitor) {
                    worker.stop();
                }
                self.kill_tagged(|t| match t {
                    Tag::Check { monitor: m, .. } | Tag::AsyncGenw { monitor: m, .. } => {
                        *m == monitor
                    }
                    _ => false,
                });
            }
            MonEffect::ArmTimer {
                monitor,
                timer,
                after,
            } => {
                self.timers
                    .push(self.clock.now() + after, TimerKey::Monitor(monitor, timer));
            }
            MonEffect::Alert(a) => self.effect(Effect::Alert(a)),
            MonEffect::PreAction {
                monitor,
                id,
                action,
                counts,
            } => self.run_pre_action(&monitor, id, action, counts),
            MonEffect::Recover(recovery) => {
                // The core turns recoveries into commands; one reaching here is a bug.
                error!(target: "rm", "recovery {recovery:?} bypassed the engine core; ignored");
            }
        }
    }

    /// Counts a check's duration for `/metrics` ([`crate::metrics`]); a
    /// check answered in the loop (pidw, psw) counts as taking no time.
    pub(super) fn note_check(&mut self, monitor: &str, elapsed: Duration) {
        if let Some(series) = self.check_metrics.get(monitor) {
            series.done(elapsed);
            return;
        }
        if let Some(spec) = self.core.model().monitor(monitor) {
            let series = crate::metrics::CheckMetrics::of(monitor, spec.kind.type_name());
            series.done(elapsed);
            self.check_metrics.insert(monitor.to_string(), series);
        }
    }

    pub(super) fn check_done(&mut self, monitor: &str, check: CheckId, result: CheckResult) {
        self.note_check(monitor, Duration::ZERO);
        self.timers.check_answered(check);
        self.resource_alert(monitor, &result);
        self.core.push(MonInput::CheckDone {
            monitor: monitor.to_string(),
            check,
            result,
            elapsed: Duration::ZERO,
        });
    }

    /// sraw and psrw: a failing check raises the sra alert its message
    /// names (CLUSTERPRO's 301, 302, 304) when it is not the one already
    /// raised for this monitor (a disk going from the warning level to the
    /// error level raises both); a check without one ends the episode. Other
    /// kinds never write those sentences, so their checks cost one look at an
    /// empty map.
    pub(super) fn resource_alert(&mut self, monitor: &str, result: &CheckResult) {
        let event = match result {
            CheckResult::Failed(m) | CheckResult::Warning(m) => {
                crate::monitor::sustained::sra_event(m)
            }
            CheckResult::Ok | CheckResult::TimedOut => None,
        };
        match event {
            Some((id, args)) => {
                let raised = self.resource_alerts.get(monitor);
                if raised.is_none_or(|(i, a)| *i != id || *a != args) {
                    self.resource_alerts
                        .insert(monitor.to_string(), (id, args.clone()));
                    self.effect(Effect::Alert(crate::engine::AlertRef {
                        module: "sra",
                        id,
                        args,
                    }));
                }
            }
            None if !self.resource_alerts.is_empty() => {
                self.resource_alerts.remove(monitor);
            }
            None => {}
        }
    }

    /// Runs one check; the answer comes back as a `CheckDone` input.
    pub(super) fn start_check(&mut self, monitor: &str, check: CheckId) {
        let model = self.core.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        if let Some(worker) = self.workers.get(monitor) {
            // The probe runs on the pool (or its own thread); its answer is an event.
            if !worker.check(check, spec.timeout) {
                self.check_done(
                    monitor,
                    check,
                    CheckResult::Failed("the previous check is still running".into()),
                );
            }
            return;
        }
        // How the kind is checked comes from the kinds table; the probes on
        // the pool or their own thread were handled above.
        use crate::monitor::kinds::Checks;
        let checks = crate::monitor::kinds::find(spec.kind.type_name()).map(|k| k.checks);
        match (checks, &spec.kind) {
            (Some(Checks::InLoop), MonitorKind::Pidw) => {
                let pid = spec
                    .target
                    .as_deref()
                    .and_then(|t| self.core.engine().resource_state(t))
                    .and_then(|s| s.async_pid());
                let result = match pid {
                    // Watched through a pidfd: had it ended, its exit would
                    // already be an event (an immediate pidw failure).
                    Some(p) if self.watched_async.get(&p.pid) == Some(&p.start_time) => {
                        CheckResult::Ok
                    }
                    other => crate::monitor::pidw::check(other),
                };
                self.check_done(monitor, check, result);
            }
            (Some(Checks::Script), MonitorKind::Genw(genw)) if !genw.sync => {
                let running = self
                    .tags
                    .values()
                    .any(|t| matches!(t, Tag::AsyncGenw { monitor: m, .. } if m == monitor));
                let result = if running {
                    CheckResult::Ok
                } else {
                    // It ended (already reported): start it again, and count this
                    // check as failed; the next one sees whether it keeps running.
                    self.start_async_genw(monitor);
                    CheckResult::Failed("the monitor script had ended; it was started again".into())
                };
                self.check_done(monitor, check, result);
            }
            (Some(Checks::Script), MonitorKind::Genw(genw)) => {
                let run = crate::monitor::genw::spec(&self.paths, &self.host, spec, genw);
                let tag = CHECK_TAGS + check;
                match self.executor.spawn(tag, run) {
                    Ok(s) => {
                        self.tags.insert(
                            tag,
                            Tag::Check {
                                monitor: monitor.to_string(),
                                check,
                                pgid: s.pgid,
                            },
                        );
                    }
                    Err(e) => self.check_done(
                        monitor,
                        check,
                        CheckResult::Failed(format!("cannot run the script: {e}")),
                    ),
                }
            }
            // A probe kind whose probe could not be placed (logged when it
            // failed to start).
            (Some(Checks::Pool(_) | Checks::OwnThread(_)), _) => self.check_done(
                monitor,
                check,
                CheckResult::Failed("the check could not be started (see the rm log)".into()),
            ),
            _ => self.check_done(
                monitor,
                check,
                CheckResult::Failed(format!(
                    "{} checks are not supported by this version",
                    spec.kind.type_name()
                )),
            ),
        }
    }

    /// Places the probe of a monitor whose checks block or keep state: on the
    /// shared pool, or on a thread of its own for the kinds that may block
    /// indefinitely.
    pub(super) fn start_probe(&mut self, monitor: &str) {
        let model = self.core.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let ctx = crate::monitor::ProbeContext {
            paths: self.paths.clone(),
            cluster: model.clone(),
        };
        let Some(probe) = crate::monitor::probe_for(spec, &ctx) else {
            return;
        };
        let tx = self.events.clone();
        let name = monitor.to_string();
        // The check's duration is recorded where it answers, off the loop.
        let series = crate::metrics::CheckMetrics::of(monitor, spec.kind.type_name());
        let answer: crate::monitor::probe::Answer = Box::new(move |check, result, elapsed| {
            series.done(elapsed);
            let _ = tx.send(Event::Check {
                monitor: name.clone(),
                check,
                result,
                elapsed,
            });
        });
        let own_thread = crate::monitor::needs_own_thread(&spec.kind);
        match self.probe_pool.place(monitor, probe, answer, own_thread) {
            Ok(worker) => {
                if let Some(old) = self.workers.insert(monitor.to_string(), worker) {
                    old.stop();
                }
            }
            Err(e) => {
                error!(target: "rm", monitor = %monitor, "cannot start the check thread: {e}")
            }
        }
    }

    /// Starts an asynchronous genw script when its monitor starts.
    pub(super) fn start_async_genw(&mut self, monitor: &str) {
        let model = self.core.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let MonitorKind::Genw(genw) = &spec.kind else {
            return;
        };
        if genw.sync {
            return;
        }
        let run = crate::monitor::genw::spec(&self.paths, &self.host, spec, genw);
        self.next_extra_tag += 1;
        let tag = ADOPTED_TAGS + self.next_extra_tag;
        match self.executor.spawn(tag, run) {
            Ok(s) => {
                self.tags.insert(
                    tag,
                    Tag::AsyncGenw {
                        monitor: monitor.to_string(),
                        pgid: s.pgid,
                    },
                );
            }
            Err(e) => self.core.push(MonInput::ProcessGone {
                monitor: monitor.to_string(),
                detail: format!("cannot run the monitor script: {e}"),
            }),
        }
    }

    /// Runs a monitor's pre-action (or recovery) script with CLP_ACTION.
    pub(super) fn run_pre_action(
        &mut self,
        monitor: &str,
        id: CheckId,
        action: &'static str,
        counts: (u32, u32, u32),
    ) {
        let model = self.core.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let program =
            crate::monitor::genw::script_file(&self.paths, monitor, &spec.preaction.script);
        let mut env = vec![
            ("CLP_ACTION".to_string(), action.to_string()),
            ("CLP_MONITORNAME".into(), monitor.to_string()),
            ("CLP_RECOVERYCOUNT".into(), counts.0.to_string()),
            ("CLP_RESTARTCOUNT".into(), counts.1.to_string()),
            ("CLP_FAILOVERCOUNT".into(), counts.2.to_string()),
        ];
        env.extend(script::common_env(&self.host));
        let run = crate::exec::ScriptSpec {
            cwd: program
                .parent()
                .map_or_else(|| self.paths.root().to_path_buf(), Path::to_path_buf),
            program,
            args: Vec::new(),
            env,
            output: crate::exec::Output::Discard,
            timeout: Some(spec.preaction.timeout),
            kill_grace: Duration::from_secs(2),
            identify: false,
            cgroup_label: None,
        };
        let tag = PRE_ACTION_TAGS + id;
        match self.executor.spawn(tag, run) {
            Ok(_) => {
                self.tags.insert(
                    tag,
                    Tag::PreAction {
                        monitor: monitor.to_string(),
                        id,
                    },
                );
            }
            Err(e) => {
                warn!(target: "rm", monitor = %monitor, "cannot run the pre-action script: {e}");
                self.core.push(MonInput::PreActionDone {
                    monitor: monitor.to_string(),
                    id,
                    ok: false,
                });
            }
        }
    }
}
