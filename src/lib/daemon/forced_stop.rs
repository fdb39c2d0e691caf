//! The forced stop of a lost server (CLUSTERPRO's custom forced-stop
//! script): the survivors run `clp/cluster/forcestop/command` before they take the
//! lost server's groups over, and wait for its success. A failure holds
//! the failover (rc 433) and the command runs again after
//! `clp/cluster/forcestop/retryinterval`, until it succeeds or the lost
//! server is back; each distinct failure is alerted once (the same failure
//! again is logged, not alerted), so a fencing device down for an hour does
//! not flood the alert log. The command is run by `/bin/sh -c` through the
//! executor (its own process group and cgroup, killed whole at the
//! timeout), never on the loop; its end comes back as an executor event and
//! becomes [`Daemon::forced_stop_done`].
//!
//! Environment: `CLP_SERVER_DOWN` (the server to stop), `CLP_SERVER_LOCAL`
//! (this server), `CLP_FORCESTOP_MODE=1` (stop it; CLUSTERPRO's 0 is an
//! availability check, which clp does not run). Exit 0 is success; any
//! other status, a signal or the timeout is a failure.
//!
//! Who asks for it is the placement's gate (the effect `RunForcedStop {
//! server }`); the result goes back to it as an input.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::engine::placement::PlacementEffect;
use crate::exec::{Output, ScriptSpec};
use crate::model::ForcedStop;

/// The run of the forced-stop command for `down`, from `local`.
pub fn spec(forced: &ForcedStop, down: &str, local: &str) -> ScriptSpec {
    ScriptSpec {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".into(), forced.command.clone()],
        env: vec![
            ("CLP_SERVER_DOWN".into(), down.to_string()),
            ("CLP_SERVER_LOCAL".into(), local.to_string()),
            ("CLP_FORCESTOP_MODE".into(), "1".into()),
        ],
        cwd: PathBuf::from("/"),
        output: Output::Discard,
        timeout: Some(forced.timeout),
        kill_grace: Duration::from_secs(2),
        identify: false,
        cgroup_label: Some("forcestop".into()),
    }
}

/// What an ended run means: Ok, or why it failed, with the alert that says
/// so (rc 431 with the reason, rc 432 for the timeout).
pub fn verdict(outcome: Outcome, timeout: Duration) -> Result<(), (u32, String)> {
    match outcome {
        Outcome::Exited(0) => Ok(()),
        Outcome::Exited(code) => Err((431, format!("exit {code}"))),
        Outcome::Signaled(sig) => Err((431, format!("killed by signal {sig}"))),
        Outcome::TimedOut => Err((
            432,
            format!(
                "did not finish within {} s; its process group was killed",
                timeout.as_secs()
            ),
        )),
        Outcome::Lost => Err((431, "exit status unknown".into())),
    }
}

impl Daemon {
    /// Runs the forced stop of `server` off the loop; its end comes back as
    /// [`Daemon::forced_stop_done`]. False (and logged) when none is
    /// configured or it cannot start: the caller must not wait for it.
    pub(super) fn run_forced_stop(&mut self, server: &str) -> bool {
        let model = self.core.model().clone();
        let Some(forced) = model.settings.forced_stop.clone() else {
            return false;
        };
        let local = model.local_server.clone();
        self.next_extra_tag += 1;
        let tag = OS_TAGS + self.next_extra_tag;
        info!(target: "rc", "forced stop of server {server}: running {:?} (timeout {} s)", forced.command, forced.timeout.as_secs());
        if !self.places.forced_failures.contains_key(server) {
            self.alert(&Alert::from_catalog(&local, "rc", 411, &[]));
        }
        match self.executor.spawn(tag, spec(&forced, server, &local)) {
            Ok(_) => {
                self.tags.insert(
                    tag,
                    Tag::ForcedStop {
                        server: server.to_string(),
                        timeout: forced.timeout,
                    },
                );
                true
            }
            Err(e) => {
                let why = format!("cannot run the forced-stop command: {e}");
                self.forced_stop_done(server, Err((431, why)));
                false
            }
        }
    }

    /// The forced stop of `server` ended: alerts (rc 412, or rc 431/432 and
    /// rc 433, the failover held, once per distinct failure), then the
    /// placement's gate learns it; a failure arms its next run.
    pub(super) fn forced_stop_done(&mut self, server: &str, result: Result<(), (u32, String)>) {
        let model = self.core.model().clone();
        let local = model.local_server.clone();
        let retry = model
            .settings
            .forced_stop
            .as_ref()
            .map_or(Duration::from_secs(10), |f| f.retry_interval);
        match &result {
            Ok(()) => {
                info!(target: "rc", "forced stop of server {server} succeeded");
                self.places.forced_failures.remove(server);
                self.alert(&Alert::from_catalog(&local, "rc", 412, &[]));
            }
            Err((id, why)) => {
                error!(target: "rc", "forced stop of server {server} failed: {why}; its groups are not failed over; it runs again in {} s", retry.as_secs());
                let outcome = (*id, why.clone());
                if self.places.forced_failures.get(server) != Some(&outcome) {
                    let args: Vec<&str> = if *id == 431 { vec![why] } else { vec![] };
                    self.alert(&Alert::from_catalog(&local, "rc", *id, &args));
                    self.alert(&Alert::from_catalog(&local, "rc", 433, &[server]));
                    self.places
                        .forced_failures
                        .insert(server.to_string(), outcome);
                }
            }
        }
        let now = self.now();
        if let Some(PlacementEffect::WakeAt(at)) =
            self.places
                .table
                .forced_stop_done(server, result.is_ok(), now, retry)
        {
            self.timers
                .push(self.epoch + Duration::from_millis(at), TimerKey::Placement);
        }
    }

    /// The placement's timer: failed forced stops whose next run is due.
    pub(super) fn forced_stop_retries(&mut self) {
        if !self.several_servers() {
            return;
        }
        let now = self.now();
        for effect in self.places.table.forced_stops_due(now) {
            if let PlacementEffect::RunForcedStop { server } = effect {
                info!(target: "rc", "forced stop of server {server}: running it again after its failure");
                self.run_forced_stop(&server);
            }
        }
        // Failures of servers back in the cluster are forgotten: a later
        // loss starts afresh (and is alerted again).
        let membership = self.core.membership().clone();
        self.places
            .forced_failures
            .retain(|server, _| !membership.is_up(server));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Runs `command` as the forced stop of node2 with the real executor.
    fn run(command: &str, timeout: Duration) -> (Outcome, String) {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("env");
        let forced = ForcedStop {
            command: format!(
                "echo \"$CLP_SERVER_DOWN $CLP_SERVER_LOCAL $CLP_FORCESTOP_MODE\" > {}; {command}",
                record.display()
            ),
            timeout,
            retry_interval: Duration::from_secs(10),
        };
        let (tx, rx) = mpsc::channel();
        let executor = crate::exec::Executor::new(Box::new(move |f| {
            let _ = tx.send(f);
        }))
        .unwrap();
        executor.spawn(7, spec(&forced, "node2", "node1")).unwrap();
        let finished = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(finished.tag, 7);
        executor.shutdown();
        let env = std::fs::read_to_string(&record).unwrap_or_default();
        (finished.outcome, env)
    }

    #[test]
    fn a_succeeding_command_sees_the_servers_and_the_mode() {
        let (outcome, env) = run("exit 0", Duration::from_secs(30));
        assert_eq!(env.trim(), "node2 node1 1");
        assert_eq!(verdict(outcome, Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn a_failing_command_and_a_stuck_one_fail() {
        let (outcome, _) = run("exit 3", Duration::from_secs(30));
        assert_eq!(
            verdict(outcome, Duration::from_secs(30)),
            Err((431, "exit 3".into()))
        );
        let (outcome, _) = run("sleep 30", Duration::from_secs(1));
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(matches!(
            verdict(outcome, Duration::from_secs(1)),
            Err((432, _))
        ));
    }
}
