//! Publishing: the persisted state and the status snapshot, written when they changed; the end of clpd.

use super::*;

impl Daemon {
    /// Writes the snapshot and the persisted state when they changed.
    pub(super) fn flush(&mut self) {
        self.flush_with(false);
    }

    /// Writes the persisted state (fsynced when `durable`) and the snapshot.
    pub(super) fn flush_with(&mut self, durable: bool) {
        // The persisted state first: whatever the snapshot shows (and a command
        // reports) must already survive a kill -9.
        let state = StateFile {
            boot_id: self.boot_id.clone(),
            stopped_by_operator: self.stopped_by_operator,
            engine: self.engine.persisted(),
            reboots: self.reboots.clone(),
            restarts: self.monitors.restart_history(self.now()),
            in_flight: self
                .tags
                .values()
                .filter_map(|t| match t {
                    Tag::Script {
                        resource,
                        pgid,
                        start_time,
                        cgroup,
                        ..
                    } => Some(InFlight {
                        resource: resource.clone(),
                        pgid: *pgid,
                        start_time: *start_time,
                        cgroup: cgroup.clone(),
                    }),
                    Tag::Async { .. }
                    | Tag::Os { .. }
                    | Tag::Check { .. }
                    | Tag::AsyncGenw { .. }
                    | Tag::PreAction { .. }
                    | Tag::AlertCommand { .. } => None,
                })
                .collect(),
        };
        if self.last_state.as_ref() != Some(&state) {
            match persist::save(&persist::state_path(&self.paths), &state, durable) {
                Ok(()) => self.last_state = Some(state),
                Err(e) => error!(target: "pm", "cannot persist the state: {e}"),
            }
        }
        let snap = snapshot::build(
            &self.engine,
            &self.monitors,
            std::process::id(),
            &self.config_digest,
            self.epoch_ms,
        );
        if !self
            .last_snapshot
            .as_ref()
            .is_some_and(|s| snapshot::same_content(s, &snap))
        {
            let path = self.paths.run_dir().join(crate::status::SNAPSHOT_FILE);
            match serde_json::to_vec_pretty(&snap) {
                Ok(bytes) => match crate::fsafe::write_file_atomically(
                    &path,
                    &bytes,
                    crate::fsafe::LOG_FILE_MODE,
                    false,
                ) {
                    Ok(()) => self.last_snapshot = Some(snap),
                    Err(e) => error!(target: "pm", "cannot write the status snapshot: {e}"),
                },
                Err(e) => error!(target: "pm", "cannot encode the status snapshot: {e}"),
            }
        }
    }

    pub(super) fn finish(mut self, socket: &Path) {
        // A watchdog must get its magic close before clpd ends: every stop is
        // asked for first, then all are waited for with one deadline.
        let stopping: Vec<_> = self
            .workers
            .drain()
            .map(|(name, probe)| (name, probe.request_stop()))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        for (name, waiter) in stopping {
            if !waiter.wait_until(deadline) {
                warn!(target: "rm", monitor = %name, "the monitor's check did not stop within 5 s");
            }
        }
        self.flush();
        let _ = std::fs::remove_file(socket);
        info!(target: "pm", "clpd stopped");
        self.executor.shutdown();
    }
}
