//! Alerts: module logs, the alert log thread, syslog, mail, alert commands.

use super::*;

/// Error snapshots (`elog_<module>N.tar.gz`, [`crate::logcc::error_snapshot`])
/// taken on a low-priority thread, one at a time: an Error alert arriving while
/// one is pending or being written gets none (that one holds the same logs). A
/// failure is reported once until a snapshot works again.
#[derive(Default)]
pub(super) struct ErrorSnapshots {
    busy: Arc<std::sync::atomic::AtomicBool>,
    reported: Arc<std::sync::atomic::AtomicBool>,
}

impl ErrorSnapshots {
    /// Claims the next snapshot; false when one is already pending or running.
    pub(super) fn claim(&self) -> bool {
        !self.busy.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// Takes the snapshot claimed by [`Self::claim`].
    pub(super) fn take(&self, paths: &Paths, module: &str) {
        use std::sync::atomic::Ordering;
        let (busy, reported) = (self.busy.clone(), self.reported.clone());
        let (paths, module) = (paths.clone(), module.to_string());
        let spawned = std::thread::Builder::new()
            .name("elog".into())
            .spawn(move || {
                // Below the loop and the scripts: a snapshot may wait, a recovery may not.
                // Linux applies a thread id's nice value to that thread only.
                let tid = rustix::process::Pid::from_raw(nix::unistd::gettid().as_raw());
                let _ = rustix::process::setpriority_process(tid, 10);
                match crate::logcc::error_snapshot(&paths, &module) {
                    Ok(file) => {
                        reported.store(false, Ordering::Release);
                        info!(target: "clpd", "kept an error snapshot of the logs in {}", file.display());
                    }
                    Err(e) if !reported.swap(true, Ordering::AcqRel) => {
                        warn!(target: "clpd", "{e} (further snapshot errors are not reported until one works)");
                    }
                    Err(_) => {}
                }
                busy.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            self.busy.store(false, Ordering::Release);
            warn!(target: "clpd", "cannot start the error snapshot thread: {e}");
        }
    }
}

impl Daemon {
    /// Records an alert in the log of its module (`rc.log.cur` for rc alerts,
    /// ...), then sends it where [`crate::alert::destinations`] says: the alert
    /// log, syslog, mail (on a thread), alert extension commands (through the
    /// executor). Nothing here blocks or stops supervision: a failing destination
    /// is reported and the others still get the alert. An Error alert also keeps
    /// a snapshot of the logs ([`ErrorSnapshots`]).
    pub(super) fn alert(&mut self, alert: &Alert) {
        crate::metrics::count_alert(&alert.module, alert.event_id, alert.level.as_str());
        let level = match alert.level {
            crate::alert::Level::Error => tracing::Level::ERROR,
            crate::alert::Level::Warning => tracing::Level::WARN,
            crate::alert::Level::Info => tracing::Level::INFO,
        };
        let body = format!(
            "<type: {}><event: {}> {}",
            alert.module, alert.event_id, alert.message
        );
        if let Some(logs) = &self.logs {
            let line = crate::log::format_line(
                chrono::Local::now(),
                level,
                crate::log::process_id(),
                crate::log::current_tid(),
                &body,
            );
            logs.write_event_line(crate::log::module_for_target(&alert.module), level, &line);
        }
        let model = self.core.model().clone();
        let routing = &model.settings.alerts;
        let to = crate::alert::destinations(routing, alert);
        if to.alert_log {
            // Written by the alert-log thread: a full, slow or locked log
            // directory is reported there and never stalls supervision.
            self.alerts.send(alert);
        }
        if to.syslog {
            // Sent by the syslog thread, to the socket of the configuration
            // in force now (it follows a reload).
            let socket = crate::alert::syslog::socket_path(&self.paths, routing);
            self.syslog.send(alert, socket, routing.syslog_level);
        }
        if to.mail
            && let Some(settings) = &routing.mail
        {
            let what = format!("alert {} {}", alert.module, alert.event_id);
            let started =
                self.mailer
                    .dispatch(settings, alert, &self.paths, move |sent| match sent {
                        Ok(s) if s.rejected.is_empty() => {
                            info!(target: "clpd", "{what} was mailed via {}", s.server);
                        }
                        Ok(s) => warn!(
                            target: "clpd",
                            "{what} was mailed via {}, but these recipients were refused: {}",
                            s.server,
                            s.rejected.join(", ")
                        ),
                        Err(e) => warn!(target: "clpd", "{e}"),
                    });
            if let Err(e) = started {
                warn!(target: "clpd", "{e}");
            }
        }
        for command in &to.commands {
            self.run_alert_command(command, alert, routing.command_timeout);
        }
        if alert.level == crate::alert::Level::Error && self.error_snapshots.claim() {
            self.timers.push(
                self.clock.now() + ERROR_SNAPSHOT_DELAY,
                TimerKey::ErrorSnapshot(alert.module.clone()),
            );
        }
    }

    /// Starts one alert extension command; its end comes back as an `Exec` event.
    pub(super) fn run_alert_command(&mut self, command: &str, alert: &Alert, timeout: Duration) {
        let what = format!("alert {} {}", alert.module, alert.event_id);
        let running = self
            .tags
            .values()
            .filter(|t| matches!(t, Tag::AlertCommand { .. }))
            .count();
        if running >= MAX_ALERT_COMMANDS {
            warn!(target: "clpd", "{what}: {running} alert commands are still running; not running {command:?}");
            return;
        }
        let spec = crate::alert::route::command_spec(
            command,
            alert,
            &self.host,
            self.paths.root().to_path_buf(),
            timeout,
        );
        self.next_extra_tag += 1;
        let tag = ALERT_TAGS + self.next_extra_tag;
        match self.executor.spawn(tag, spec) {
            Ok(s) => {
                info!(target: "clpd", "{what}: running the alert command {command:?} (pid {})", s.pid);
                self.tags.insert(
                    tag,
                    Tag::AlertCommand {
                        command: command.to_string(),
                    },
                );
            }
            Err(e) => {
                warn!(target: "clpd", "{what}: cannot run the alert command {command:?}: {e}")
            }
        }
    }
}
