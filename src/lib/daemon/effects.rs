//! Carrying out the cluster engine's effects: scripts, kills, OS actions; and what the executor reports back.

use super::*;

impl Daemon {
    pub(super) fn finished(&mut self, f: Finished) {
        let Some(tag) = self.tags.remove(&f.tag) else {
            return;
        };
        match tag {
            Tag::Script {
                resource,
                program,
                timeout,
                ..
            } => {
                let result = match f.outcome {
                    Outcome::Exited(0) => Ok(()),
                    Outcome::Exited(code) => Err(format!("{program} exited {code}")),
                    Outcome::Signaled(sig) => Err(format!("{program} was killed by signal {sig}")),
                    Outcome::TimedOut => Err(format!(
                        "{program} did not finish within {} s; its process group was killed",
                        timeout.as_secs()
                    )),
                    Outcome::Lost => Err(format!("{program} vanished")),
                };
                info!(target: "rc", resource = %resource, "script finished: {:?} after {} ms", f.outcome, f.duration.as_millis());
                // The processes it started or stopped are not in an older psw scan.
                crate::monitor::psw::SHARED_SCAN.invalidate(std::time::Instant::now());
                self.core.push(Input::ScriptDone { op: f.tag, result });
            }
            Tag::Async { resource, pid } => {
                self.watched_async.remove(&pid);
                // Reaped by the executor (its exit status is known): the
                // number is free for reuse, so it is not the start's any more.
                if f.outcome != Outcome::Lost {
                    self.reaped_async = Some(pid);
                }
                info!(target: "rc", resource = %resource, "the asynchronous start script (pid {pid}) ended: {:?}", f.outcome);
                self.core.push(CoreInput::AsyncExited {
                    resource,
                    pid,
                    how: outcome_text(f.outcome),
                });
            }
            Tag::Check { monitor, check, .. } => {
                let result = match self.core.model().monitor(&monitor).map(|m| &m.kind) {
                    Some(MonitorKind::Genw(genw)) => crate::monitor::genw::verdict(genw, f.outcome),
                    _ => CheckResult::Failed("the monitor is no longer configured".into()),
                };
                self.note_check(&monitor, f.duration);
                self.core.push(MonInput::CheckDone {
                    monitor,
                    check,
                    result,
                    elapsed: f.duration,
                });
            }
            Tag::AsyncGenw { monitor, .. } => {
                self.core.push(MonInput::ProcessGone {
                    monitor,
                    detail: format!("the monitor script ended ({})", outcome_text(f.outcome)),
                });
            }
            Tag::PreAction { monitor, id } => {
                let ok = f.outcome == Outcome::Exited(0);
                info!(target: "rm", monitor = %monitor, "pre-action script ended: {:?}", f.outcome);
                self.core.push(MonInput::PreActionDone { monitor, id, ok });
            }
            Tag::ForcedStop { server, timeout } => {
                let result = forced_stop::verdict(f.outcome, timeout);
                self.forced_stop_done(&server, result);
            }
            Tag::Os { word } => {
                info!(target: "pm", "the {word} command ended: {:?}", f.outcome);
            }
            Tag::Requested { script, req } => self.requested_script_ended(&script, req, f.outcome),
            Tag::AlertCommand { command } => {
                if f.outcome == Outcome::Exited(0) {
                    info!(target: "clpd", "the alert command {command:?} ended: {:?}", f.outcome);
                } else {
                    warn!(target: "clpd", "the alert command {command:?} ended: {}", outcome_text(f.outcome));
                }
            }
        }
    }

    /// Reports the alerts the engines raised in this batch, in their order,
    /// with the time each was raised.
    ///
    /// Deferred to the end of the batch's drain (after a resource script's
    /// start, to the turn `scripts_first` leaves the bookkeeping to)
    /// because reporting costs formatting and system calls (syslog, the logs'
    /// queues, alert commands) that a recovery's stop.sh and start.sh would
    /// otherwise wait for: a monitor's failure raises its alerts just before
    /// its recovery starts a script. They are still reported before the
    /// batch's state and snapshot are written and its replies sent, and
    /// before any OS action.
    pub(super) fn send_deferred_alerts(&mut self) {
        if self.deferred_alerts.is_empty() {
            return;
        }
        let local = self.core.model().local_server.clone();
        for (when, a) in std::mem::take(&mut self.deferred_alerts) {
            let args: Vec<&str> = a.args.iter().map(String::as_str).collect();
            let alert = Alert::from_catalog_at(when.into(), &local, a.module, a.id, &args);
            self.alert(&alert);
        }
    }

    pub(super) fn kill_tagged(&mut self, pick: impl Fn(&Tag) -> bool) {
        let found: Vec<(u64, u32)> = self
            .tags
            .iter()
            .filter_map(|(tag, t)| match t {
                Tag::Check { pgid, .. } | Tag::AsyncGenw { pgid, .. } if pick(t) => {
                    Some((*tag, *pgid))
                }
                _ => None,
            })
            .collect();
        for (tag, pgid) in found {
            self.tags.remove(&tag);
            self.executor.forget(tag);
            self.executor.terminate_group(pgid, Duration::from_secs(2));
        }
    }

    pub(super) fn carry_out(&mut self, effects: Vec<CoreEffect>) {
        for effect in effects {
            match effect {
                CoreEffect::Engine(e) => self.effect(e),
                CoreEffect::Monitor(e) => self.mon_effect(e),
                CoreEffect::Os(action) => self.os_action(action),
            }
        }
    }

    pub(super) fn effect(&mut self, effect: Effect) {
        match effect {
            Effect::Activate {
                op,
                resource,
                group,
                event,
            } => self.activate(op, &resource, &group, event),
            Effect::Deactivate {
                op,
                resource,
                group,
                event,
                factor,
                pid,
            } => self.deactivate(op, &resource, &group, event, factor, pid),
            Effect::ArmStall { op, after } => {
                self.timers
                    .push(self.clock.now() + after, TimerKey::Stall(op));
            }
            Effect::ForgetAsync { resource, pid } => {
                let tags: Vec<u64> = self
                    .tags
                    .iter()
                    .filter(|(_, t)| matches!(t, Tag::Async { resource: r, pid: p } if *r == resource && *p == pid.pid))
                    .map(|(k, _)| *k)
                    .collect();
                for tag in tags {
                    self.tags.remove(&tag);
                    self.executor.forget(tag);
                }
                self.watched_async.remove(&pid.pid);
            }
            // Its text is made when it is sent: formatting costs on the way
            // to the scripts the same batch starts.
            Effect::Alert(a) => self.deferred_alerts.push((std::time::SystemTime::now(), a)),
            Effect::Reply { req, reply } => {
                // Answered after the batch is flushed, so that what a command
                // reports is already in status.json and state.json.
                if let Some(tx) = self.replies.remove(&req) {
                    self.outbox.push((tx, requests::to_reply(reply)));
                }
            }
            Effect::KillScript { op } => {
                self.cancel_disk_work(op);
                if let Some(Tag::Script { pgid, resource, .. }) = self.tags.remove(&op) {
                    warn!(target: "rc", resource = %resource, "killing the process group {pgid} of a script that overran its resource timeout");
                    self.executor.forget(op);
                    self.executor.terminate_group(pgid, script::KILL_GRACE);
                }
            }
            // The core hands OS actions over as CoreEffect::Os (counted).
            Effect::Os(action) => self.os_action(action),
            Effect::ServiceStopped => info!(target: "pm", "the cluster service has stopped"),
            Effect::Failover { group, resource } => self.failover_effect(group, resource),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_script(
        &mut self,
        op: u64,
        resource: &str,
        group: &str,
        start: bool,
        event: crate::engine::ClpEvent,
        factor: Option<StopFactor>,
        pid: Option<AsyncPid>,
    ) {
        let model = self.core.model().clone();
        // CLP_PID only while it is provably the start script's: the same process,
        // or its process group still has members (the kernel never reuses the pid
        // of a live group's id). Hours after the script died, the number may
        // belong to anyone: the stop script must not get it.
        // A start this clpd reaped a moment ago (the usual restart) is not
        // looked up in /proc: it is gone, and the lookup cost ~20 µs on the
        // way to stop.sh.
        let reaped = self.reaped_async.take();
        let pid = pid.filter(|p| {
            (reaped != Some(p.pid) && crate::exec::process_start_time(p.pid) == Some(p.start_time))
                || i32::try_from(p.pid).is_ok_and(|n| {
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(-n), None).is_ok()
                })
        });
        let Some(spec) = script::resource_script(
            &model,
            &self.paths,
            &self.host,
            resource,
            group,
            start,
            event,
            factor,
            pid,
        ) else {
            self.not_configured(op, resource);
            return;
        };
        let mut spec = spec;
        self.set_clp_disk(group, &mut spec.env);
        let program = spec.program.display().to_string();
        let timeout = spec.timeout;
        info!(
            target: "rc",
            resource = %resource,
            "running {program} ({}, CLP_EVENT={}{})",
            if start { "start" } else { "stop" },
            event.as_str(),
            factor.map(|f| format!(", CLP_FACTOR={}", f.as_str())).unwrap_or_default()
        );
        let spawned = self.executor.spawn(op, spec);
        if spawned.is_ok() {
            self.spawned_in_turn = true;
            self.script_started();
        }
        match spawned {
            Ok(spawned) => match timeout {
                Some(timeout) => {
                    self.tags.insert(
                        op,
                        Tag::Script {
                            resource: resource.to_string(),
                            pgid: spawned.pgid,
                            start_time: spawned.start_time,
                            cgroup: spawned.cgroup.clone(),
                            program,
                            timeout,
                        },
                    );
                }
                None if start => {
                    crate::monitor::psw::SHARED_SCAN.invalidate(Instant::now());
                    self.watched_async.insert(spawned.pid, spawned.start_time);
                    self.tags.insert(
                        op,
                        Tag::Async {
                            resource: resource.to_string(),
                            pid: spawned.pid,
                        },
                    );
                    self.core.push(Input::Spawned {
                        op,
                        pid: AsyncPid {
                            pid: spawned.pid,
                            start_time: spawned.start_time,
                        },
                    });
                }
                None => {
                    // An asynchronous stop script: counts as done once started.
                    self.executor.forget(op);
                    self.core.push(Input::ScriptDone { op, result: Ok(()) });
                }
            },
            Err(e) => {
                self.core.push(Input::ScriptDone {
                    op,
                    result: Err(format!("cannot run {program}: {e}")),
                });
            }
        }
    }

    pub(super) fn os_action(&mut self, action: OsAction) {
        let local = self.core.model().local_server.clone();
        let settings = self.core.model().settings.os_actions.clone();
        // Why it came to this is reported first (a sysrq action stops the
        // machine below).
        self.send_deferred_alerts();
        let word = os_action::word(action);
        if matches!(action, OsAction::Reboot | OsAction::Panic | OsAction::Reset) {
            // The core counted it; saved, durably, before acting: after the
            // reboot the budget must remember it.
            self.flush_with(true);
        }
        match action {
            OsAction::Shutdown => self.alert(&Alert::from_catalog(&local, "pm", 23, &[])),
            OsAction::Reboot => self.alert(&Alert::from_catalog(&local, "pm", 25, &[])),
            OsAction::Panic | OsAction::Reset => {}
        }
        match os_action::plan(action, &settings, &self.paths) {
            Ok(os_action::Plan::Sysrq(key)) => {
                // The machine stops at once: what the writer threads still
                // hold (this alert, why it came to this) must reach the disk
                // first. Bounded: a hung log directory does not stop the action.
                self.alerts.flush(LAST_WORDS_WAIT);
                self.syslog.flush(LAST_WORDS_WAIT);
                if let Some(logs) = &self.logs {
                    logs.sync();
                }
                if let Err(e) = os_action::sysrq(&key) {
                    error!(target: "pm", "{e}");
                }
            }
            Ok(os_action::Plan::Command(spec)) => {
                self.next_extra_tag += 1;
                let tag = OS_TAGS + self.next_extra_tag;
                match self.executor.spawn(tag, spec) {
                    Ok(s) => {
                        info!(target: "pm", "{word}: running the configured command (pid {})", s.pid);
                        self.tags.insert(tag, Tag::Os { word });
                    }
                    Err(e) => {
                        error!(target: "pm", "{word}: cannot run the configured command: {e}")
                    }
                }
            }
            Err(why) => error!(target: "pm", "{why}"),
        }
    }
}
