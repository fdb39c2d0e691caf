//! Network partitions in the loop: the losing side's release within the
//! deadline (the decisions are `engine::partition`'s), the NP checks off the
//! loop, and the watchdog that holds the deadline when the loop itself is
//! stuck (`np_watchdog`).
//!
//! * A server that was up and is not any more (or the quorum lost) starts
//!   the watch; the checks the rule needs run on a thread each
//!   (`monitor::np_check`), and their results come back as events.
//! * Isolated: nm 30/40/42/43 (CLUSTERPRO's words for the NP action), then
//!   the release through the engine's own stop path (the service stopped,
//!   stop scripts with `CLP_FACTOR=SERVERSHUTDOWN`, or with npaction 0 each
//!   group stopped, `GROUPSTOP`), then the NP action as the engine's
//!   `then` of that stop, through the OS action path.
//! * The deadline timer is armed when the verdict is Isolated, for the
//!   deadline counted from the loss less the margin: if the release is not
//!   over by then, the NP action runs at once (or, for npaction 0 and 1,
//!   which have none, the reset action), without waiting for the scripts.

use std::time::Duration;

use super::*;
use crate::engine::partition::{NpResult, PartitionWatch, Rule, Step};
use crate::model::NpAction;

/// The loop's share of the partition handling.
pub(super) struct NpState {
    pub watch: PartitionWatch,
    /// The watchdog process, with a partition rule that needs one.
    pub watchdog: Option<super::np_watchdog::WatchdogLink>,
    /// The service went offline after the release (its next start is the
    /// operator's, and the watch starts anew).
    offline_after_release: bool,
    /// When the connection to this server's Corosync was lost (while it is).
    corosync_lost_at: Option<Millis>,
}

impl NpState {
    pub fn new(model: &Cluster) -> Self {
        NpState {
            watch: PartitionWatch::new(Rule::of(model), deadline_ms(model)),
            watchdog: None,
            offline_after_release: false,
            corosync_lost_at: None,
        }
    }
}

fn deadline_ms(model: &Cluster) -> Millis {
    u64::try_from(model.settings.release_deadline.as_millis()).unwrap_or(u64::MAX)
}

/// How often the loop feeds the watchdog.
pub(super) const FEED_EVERY: Duration = Duration::from_millis(500);

impl Daemon {
    /// At start (and after a reload): the rule, the warning of a two-server
    /// cluster without resolution, the watchdog.
    pub(super) fn start_partition_watch(&mut self) {
        let model = self.core.model().clone();
        let rule = Rule::of(&model);
        self.np.watch.reconfigure(rule.clone(), deadline_ms(&model));
        match &rule {
            Rule::Unprotected => warn!(
                target: "nm",
                "two servers and no network partition resolution (pingnp, httpnp or a witness): if the servers lose each other while both run, both can activate the same groups; configure one (clp.conf(5), \"Network partitions\")"
            ),
            Rule::Quorum | Rule::Reachability(_) => {
                info!(target: "nm", "network partitions: {}; release deadline {} ms", match &rule {
                    Rule::Quorum => "Corosync's quorum decides".to_string(),
                    Rule::Reachability(names) => format!("this server is isolated when it reaches none of {} after losing its peer", names.join(", ")),
                    _ => String::new(),
                }, deadline_ms(&model));
            }
            Rule::Alone => {}
        }
        let wanted = matches!(rule, Rule::Quorum | Rule::Reachability(_));
        match (wanted, self.np.watchdog.is_some()) {
            (true, false) => {
                self.np.watchdog = super::np_watchdog::WatchdogLink::spawn(&self.paths, &model);
                if self.np.watchdog.is_some() {
                    self.timers
                        .push(self.clock.now() + FEED_EVERY, TimerKey::NpWatchdogFeed);
                }
            }
            (false, true) => {
                if let Some(w) = self.np.watchdog.take() {
                    w.quit();
                }
            }
            (true, true) => {
                if let Some(w) = self.np.watchdog.as_mut() {
                    w.configure(&self.paths, &model);
                }
            }
            (false, false) => {}
        }
    }

    /// The membership or the quorum changed.
    ///
    /// Whether Corosync still has a link to a lost server is not asked:
    /// knet sees a cut link seconds after Corosync's membership does. A
    /// server whose clpd alone stopped is told apart by Corosync's own node
    /// list instead (`clpd_stopped.rs`): the watch sees it as up.
    pub(super) fn partition_membership(&mut self) {
        let view = self.held_view();
        let steps = self.np.watch.membership(&view, false, self.now());
        self.partition_steps(steps);
    }

    /// The connection to this server's Corosync ended (`lost`) or is back.
    /// Lost for longer than the grace, it is this server's partition.
    pub(super) fn partition_corosync(&mut self, lost: bool) {
        if !lost {
            self.np.corosync_lost_at = None;
            return;
        }
        if self.np.corosync_lost_at.is_none() {
            self.np.corosync_lost_at = Some(self.now());
            let grace = Duration::from_millis(self.np.watch.corosync_grace());
            self.timers
                .push(self.clock.now() + grace, TimerKey::NpCorosyncLost);
        }
    }

    /// The grace after a lost connection to Corosync is over.
    pub(super) fn partition_corosync_grace(&mut self) {
        let (Some(since), Some(_)) = (self.np.corosync_lost_at, &self.remote.cluster_down) else {
            return;
        };
        let steps = self.np.watch.corosync_lost(since);
        self.partition_steps(steps);
    }

    /// An NP check answered.
    pub(super) fn partition_checked(&mut self, result: NpResult) {
        if result.reachable {
            info!(target: "nm", "{}: reachable ({})", result.name, result.detail);
        } else {
            warn!(target: "nm", "{}: unreachable ({})", result.name, result.detail);
        }
        let view = self.held_view();
        let steps = self.np.watch.result(result, &view, false, self.now());
        self.partition_steps(steps);
    }

    fn partition_steps(&mut self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Check => self.run_np_checks(),
                Step::Stay { reason, lost } => {
                    // The forced stop of a lost server is the placement's:
                    // it runs on the survivor that takes its groups over.
                    warn!(target: "nm", "contact with {} was lost; this server keeps running: {reason}", lost.join(", "));
                }
                Step::Healed => {
                    info!(target: "nm", "every server lost is back: the partition is over")
                }
                Step::Release { reason } => self.release(&reason),
                Step::ArmDeadline { at } => {
                    let at = self.epoch + Duration::from_millis(at);
                    self.timers.push(at, TimerKey::NpDeadline);
                }
                Step::ActNow { reason } => self.np_act_now(&reason),
            }
        }
    }

    /// Runs every check of the rule, each on a thread of its own.
    fn run_np_checks(&mut self) {
        let model = self.core.model().clone();
        let Rule::Reachability(names) = self.np.watch.rule().clone() else {
            return;
        };
        let started = self.now();
        for name in names {
            let Some(np) = model.partition.iter().find(|n| n.name == name).cloned() else {
                continue;
            };
            let events = self.events.clone();
            info!(target: "nm", "{name}: checking (at most {} ms)", crate::monitor::np_check::longest(&np).as_millis());
            let spawned = std::thread::Builder::new()
                .name("clp-np-check".into())
                .spawn(move || {
                    let (reachable, detail) = crate::monitor::np_check::check(&np);
                    let _ = events.send(Event::NpChecked(NpResult {
                        name: np.name.clone(),
                        reachable,
                        detail,
                        started,
                    }));
                });
            if let Err(e) = spawned {
                // A check that cannot run counts as unreachable: this server
                // cannot show that it is not the isolated one.
                error!(target: "nm", "{name}: cannot start the check: {e}");
                let _ = self.events.send(Event::NpChecked(NpResult {
                    name,
                    reachable: false,
                    detail: format!("cannot start the check: {e}"),
                    started,
                }));
            }
        }
    }

    /// This server is the isolated one: alert, stop what it runs, then the
    /// NP action (the engine's `then` of the stop).
    fn release(&mut self, reason: &str) {
        let model = self.core.model().clone();
        let local = model.local_server.clone();
        let action = model.settings.np_action;
        error!(target: "nm", "network partition: this server is isolated ({reason}); releasing its groups, then npaction {action:?}");
        let alert = match action {
            NpAction::Nothing => Alert::from_catalog(&local, "nm", 43, &["none", &local]),
            NpAction::StopService => Alert::from_catalog(&local, "nm", 40, &[&local]),
            NpAction::Os {
                action: OsAction::Shutdown,
                ..
            } => Alert::from_catalog(&local, "nm", 30, &[&local]),
            NpAction::Os {
                action: OsAction::Reboot,
                ..
            } => Alert::from_catalog(&local, "nm", 42, &[&local]),
            NpAction::Os { action, .. } => {
                Alert::from_catalog(&local, "nm", 43, &[super::os_action::word(action), &local])
            }
        };
        self.alert(&alert);
        self.isolation_begins();
        if let Some(w) = self.np.watchdog.as_mut() {
            w.deadline_running(true);
        }
        self.np.offline_after_release = false;
        match action {
            NpAction::Nothing => {
                for group in &model.groups {
                    self.command(Command::StopGroup {
                        group: group.name.clone(),
                    });
                }
            }
            NpAction::StopService => self.command(Command::StopService {
                factor: StopFactor::ServerShutdown,
                then: None,
            }),
            NpAction::Os { action, .. } => self.command(Command::StopService {
                factor: StopFactor::ServerShutdown,
                then: Some(action),
            }),
        }
    }

    /// After a batch: is the release over? (The NP action, if any, follows
    /// from the engine's stop.)
    pub(super) fn partition_progress(&mut self) {
        use crate::engine::partition::Phase;
        match self.np.watch.phase().clone() {
            Phase::Releasing { since, .. } => {
                let model = self.core.model().clone();
                let over = match model.settings.np_action {
                    NpAction::Nothing => model.groups.iter().all(|g| {
                        self.core.engine().group_state(&g.name) == crate::vocab::RunState::Offline
                    }),
                    _ => self.core.service() == Service::Offline,
                } && self.core.is_quiet();
                if over {
                    self.np.watch.released();
                    if let Some(w) = self.np.watchdog.as_mut() {
                        w.deadline_running(false);
                    }
                    let took = self.now().saturating_sub(since);
                    info!(target: "nm", "release done {took} ms after contact was lost");
                }
            }
            Phase::Released => {
                if self.core.service() == Service::Offline {
                    self.np.offline_after_release = true;
                } else if self.np.offline_after_release {
                    // The operator started the service again: watch anew.
                    self.np.offline_after_release = false;
                    self.np.watch.restart();
                }
            }
            _ => {}
        }
    }

    /// The deadline timer.
    pub(super) fn partition_deadline(&mut self) {
        let steps = self.np.watch.timer(self.now());
        self.partition_steps(steps);
    }

    /// The release is late: the NP action (or reset) now, whatever runs.
    fn np_act_now(&mut self, reason: &str) {
        let action = self
            .core
            .model()
            .settings
            .np_action
            .os_action()
            .unwrap_or(OsAction::Reset);
        error!(target: "nm", "network partition: {reason}; carrying out {} now without waiting for the stop scripts", super::os_action::word(action));
        self.os_action(action);
    }

    /// The feed timer: tell the watchdog the loop runs.
    pub(super) fn feed_np_watchdog(&mut self) {
        let Some(w) = self.np.watchdog.as_mut() else {
            return;
        };
        if !w.feed() {
            // It ended (and was reaped): a new one.
            warn!(target: "nm", "the partition watchdog ended; starting another");
            self.np.watchdog = None;
            let model = self.core.model().clone();
            self.np.watchdog = super::np_watchdog::WatchdogLink::spawn(&self.paths, &model);
        }
        if self.np.watchdog.is_some() {
            self.timers
                .push(self.clock.now() + FEED_EVERY, TimerKey::NpWatchdogFeed);
        }
    }
}
