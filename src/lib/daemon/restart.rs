//! Recovery after a restart of clpd: what the persisted state says ran, what still runs, what to adopt and what to kill.

use super::*;

impl Daemon {
    /// After a crash: adopt what the previous daemon left; otherwise start the
    /// service unless the operator stopped it on this boot.
    pub(super) fn recover_or_start(&mut self, start_requested: bool) {
        let path = persist::state_path(&self.paths);
        let (state, damaged) = persist::load(&path);
        if let Some(d) = damaged {
            let local = self.core.model().local_server.clone();
            let kept = d.kept.as_ref().map_or_else(
                || "could not be moved aside".to_string(),
                |k| format!("kept as {}", k.display()),
            );
            self.alert(&Alert::from_catalog(&local, "pm", 900, &[&d.why, &kept]));
            // Without the state we cannot tell what runs. Written before this
            // boot, nothing of it runs now (the usual case: an OS crash left it
            // empty or torn). Written on this boot, an earlier clpd may have
            // left groups online that a start would start twice: wait for the
            // operator (CLUSTERPRO's cl 18).
            if d.this_boot && !start_requested {
                self.alert(&Alert::from_catalog(&local, "cl", 18, &[]));
                self.core.set_stopped_by_operator(true);
                return;
            }
        }
        let same_boot = !state.boot_id.is_empty() && state.boot_id == self.boot_id;
        self.core.restore_reboots(state.reboots.clone());
        self.restore_isolation(&state.isolated_from);
        if same_boot {
            // A crash loop is not reset by restarting clpd.
            let now = self.now();
            self.core
                .monitors_mut()
                .restore_restart_history(&state.restarts, now);
        }
        // Kill what was half-done: scripts whose daemon died under them. Only on
        // the same boot: after a reboot the numbers belong to other processes.
        for f in state.in_flight.iter().filter(|_| same_boot) {
            if crate::exec::process_start_time(f.pgid) == Some(f.start_time) {
                warn!(target: "rc", "killing the process group {} of an interrupted script of {}", f.pgid, f.resource);
                // SIGKILL at once: their daemon is gone, and the recovery that
                // follows must not run beside them.
                if let Err(e) = crate::exec::kill_group(f.pgid, nix::sys::signal::Signal::SIGKILL) {
                    warn!(target: "rc", "{e}");
                }
            }
            // Its cgroup holds what escaped the process group (setsid), even
            // when the leader is gone.
            if let Some(dir) = &f.cgroup {
                match crate::exec::kill_interrupted_run(self.paths.root(), dir) {
                    Ok(true) => {
                        warn!(target: "rc", "killed cgroup {} of an interrupted script of {}", dir.display(), f.resource)
                    }
                    Ok(false) => {}
                    Err(e) => warn!(target: "rc", "{e}"),
                }
            }
        }
        if state.engine.service_online && same_boot {
            info!(target: "pm", "clpd was not stopped cleanly: taking over what it had started");
            let engine_state = self.verified(&state.engine);
            let effects = self.core.adopt(&engine_state, self.time());
            self.adopt_async_pids();
            self.check_adopted_disks();
            self.carry_out(effects);
        } else if state.stopped_by_operator && same_boot && !start_requested {
            self.core.set_stopped_by_operator(true);
            info!(target: "pm", "the cluster service was stopped by the operator on this boot; not starting it (clpcl -s starts it)");
        } else {
            self.start_service(None);
        }
        self.drain();
    }

    /// Drops persisted asynchronous pids that are no longer the processes we started.
    pub(super) fn verified(&self, persisted: &Persisted) -> Persisted {
        let mut p = persisted.clone();
        for r in &mut p.resources {
            if let crate::engine::PersistedState::Online { pid, .. } = &mut r.state
                && let Some(ap) = pid
                && crate::exec::process_start_time(ap.pid) != Some(ap.start_time)
            {
                info!(target: "rc", "the start script of {} (pid {}) ended while clpd was down", r.name, ap.pid);
                *pid = None;
            }
        }
        p
    }

    pub(super) fn adopt_async_pids(&mut self) {
        let online: Vec<(String, AsyncPid)> = self
            .core
            .model()
            .resources
            .iter()
            .filter_map(|r| {
                self.core
                    .engine()
                    .resource_state(&r.name)
                    .and_then(|s| s.async_pid())
                    .map(|p| (r.name.clone(), p))
            })
            .collect();
        for (resource, pid) in online {
            self.next_extra_tag += 1;
            let tag = ADOPTED_TAGS + self.next_extra_tag;
            match self.executor.adopt(tag, pid.pid, Some(pid.start_time)) {
                Ok(()) => {
                    info!(target: "rc", "adopted the start script of {resource} (pid {})", pid.pid);
                    self.watched_async.insert(pid.pid, pid.start_time);
                    self.tags.insert(
                        tag,
                        Tag::Async {
                            resource,
                            pid: pid.pid,
                        },
                    );
                }
                Err(e) => {
                    info!(target: "rc", "the start script of {resource} is gone: {e}");
                    self.core.push(Input::AsyncExited {
                        resource,
                        pid: pid.pid,
                    });
                }
            }
        }
    }
}
