//! The server sync wait: a server whose cluster service starts first waits
//! for the other servers before it starts its groups (CLUSTERPRO's "Server
//! Sync Wait Time").
//!
//! Why: whether this server may run its groups depends on what the others
//! say. A server whose clp.conf differs from the cluster's must start none,
//! and it only learns that it differs from the others' reports, which arrive
//! after Corosync has formed the membership. Without the wait, the groups that
//! start automatically would be started before any report could say so.
//!
//! So at the first start of the service in a clpd's life, with several
//! servers, the service starts at once (monitors run, commands are taken, the
//! client is answered) but the automatic start of the groups waits until
//! every server of clp.conf is a member and has reported (nm 5, then nm 6),
//! or until `clp/cluster/syncwait` has passed (nm 7; nm 8 when some servers
//! are not even members). The groups then start unless this server's
//! configuration differs. Later starts (`clpcl -s` after `clpcl -t`) do not
//! wait again: the reports are flowing and the configuration check is
//! current. A stop during the wait cancels it (nm 9); the next start waits
//! anew. One server, or a wait of 0, never waits.
//!
//! While it waits, the status says so: the service is `Starting` and this
//! server's line `Online Pending` (in its report too, so every server shows
//! it), as CLUSTERPRO shows a server that has not finished its start; the
//! groups are Offline until the wait ends.

use super::*;
use crate::status::{ServerState, ServiceState, Snapshot};

/// Where the start-up wait stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum SyncWait {
    /// No start has been asked in this clpd's life.
    #[default]
    NotYet,
    /// The groups wait until every server reported, or `until`.
    Waiting { until: Instant },
    /// Waited once (or had no reason to): starts go through.
    Over,
}

/// What the wait decides at one instant.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Some servers have not reported yet and there is time left.
    Wait,
    /// Every server is a member and has reported.
    AllReported,
    /// Time is up: `absent` are not members, `silent` members sent no report.
    TimedOut {
        absent: Vec<String>,
        silent: Vec<String>,
    },
}

/// The pure decision: `servers` are clp.conf's, `members` Corosync's (with
/// clpd running), `reported` those whose report is at hand.
pub(super) fn decide(
    servers: &[String],
    local: &str,
    members: &[String],
    reported: &[String],
    now: Instant,
    until: Instant,
) -> Outcome {
    let others = || servers.iter().filter(|s| *s != local);
    let absent: Vec<String> = others().filter(|s| !members.contains(s)).cloned().collect();
    let silent: Vec<String> = others()
        .filter(|s| members.contains(s) && !reported.contains(s))
        .cloned()
        .collect();
    if absent.is_empty() && silent.is_empty() {
        Outcome::AllReported
    } else if now >= until {
        Outcome::TimedOut { absent, silent }
    } else {
        Outcome::Wait
    }
}

impl Daemon {
    /// A start of the service (the operator's, with `reply`, or clpd's own at
    /// boot). The first one with several servers starts the wait and the
    /// service without its groups; the wait's end starts them.
    pub(super) fn start_service(&mut self, reply: Option<Sender<Reply>>) {
        let wait = self.core.model().settings.server_sync_wait;
        if self.sync == SyncWait::NotYet {
            if self.cluster.is_none() || wait.is_zero() || self.core.service() != Service::Offline {
                self.sync = SyncWait::Over;
            } else {
                let until = self.clock.now() + wait;
                self.sync = SyncWait::Waiting { until };
                self.timers.push(until, TimerKey::SyncWait);
                let local = self.core.model().local_server.clone();
                self.alert(&Alert::from_catalog(&local, "nm", 5, &[]));
                info!(target: "nm", "the groups start once every server has reported, or in {} s (clp/cluster/syncwait)", wait.as_secs());
            }
        }
        let cmd = match self.sync {
            SyncWait::Waiting { .. } => Command::StartServiceWithoutGroups,
            SyncWait::NotYet | SyncWait::Over if self.runs_another_configuration() => {
                error!(target: "nm", "the configuration (clp.conf) of this server differs from the cluster's: the cluster service starts without its groups; bring it in line with clpcfctrl --push");
                Command::StartServiceWithoutGroups
            }
            // With several servers the groups start where their claims are
            // accepted (see `placement`), not all here.
            SyncWait::NotYet | SyncWait::Over if self.cluster.is_some() => {
                if self.core.service() == Service::Offline {
                    self.want_auto_start();
                }
                Command::StartServiceWithoutGroups
            }
            SyncWait::NotYet | SyncWait::Over => Command::StartService,
        };
        self.submit(cmd, reply);
        // The reports may all be here already (a start after a stop).
        self.sync_progress();
    }

    /// Something the wait depends on changed (a report, the membership, its
    /// deadline): starts the groups when the wait is over.
    pub(super) fn sync_progress(&mut self) {
        let SyncWait::Waiting { until } = self.sync else {
            return;
        };
        let model = self.core.model().clone();
        let servers: Vec<String> = model.servers.iter().map(|s| s.name.clone()).collect();
        let now = self.clock.now();
        let (members, reported) = self.reporting_members(now);
        let local = model.local_server.clone();
        match decide(&servers, &local, &members, &reported, now, until) {
            Outcome::Wait => return,
            Outcome::AllReported => {
                self.alert(&Alert::from_catalog(&local, "nm", 6, &[]));
            }
            Outcome::TimedOut { absent, silent } => {
                let id = if absent.is_empty() { 7 } else { 8 };
                self.alert(&Alert::from_catalog(&local, "nm", id, &[]));
                warn!(target: "nm", "not every server reported within {} s; not members: [{}]; members that sent no status: [{}]", model.settings.server_sync_wait.as_secs(), absent.join(", "), silent.join(", "));
            }
        }
        self.sync = SyncWait::Over;
        // The status no longer shows the wait, whatever the engine does next.
        self.publisher.mark_unwritten();
        if self.runs_another_configuration() {
            error!(target: "nm", "the configuration (clp.conf) of this server differs from the cluster's: its groups are not started; bring it in line with clpcfctrl --push, then start them (clpgrp -s)");
            return;
        }
        if self.cluster.is_some() {
            self.want_auto_start();
        } else {
            self.command(Command::StartAutoGroups);
        }
    }

    /// A stop during the wait cancels it (nm 9): the next start waits anew.
    pub(super) fn cancel_sync_wait(&mut self) {
        if !matches!(self.sync, SyncWait::Waiting { .. }) {
            return;
        }
        self.sync = SyncWait::NotYet;
        self.publisher.mark_unwritten();
        let local = self.core.model().local_server.clone();
        self.alert(&Alert::from_catalog(&local, "nm", 9, &[]));
    }

    /// This server's own status while the wait lasts: the service
    /// `Starting`, its line `Online Pending` (the engine's service is Online:
    /// monitors run and commands are taken, but the groups wait).
    pub(super) fn show_sync_wait(&self, snapshot: &mut Snapshot) {
        if !matches!(self.sync, SyncWait::Waiting { .. }) {
            return;
        }
        show_waiting(snapshot);
    }

    /// Hands an operator's command (with `reply`) or clpd's own to the engine.
    fn submit(&mut self, cmd: Command, reply: Option<Sender<Reply>>) {
        match reply {
            Some(reply) => {
                let req = self.next_req;
                self.next_req += 1;
                self.replies.insert(req, reply);
                info!(target: "rc", "command: {cmd:?}");
                self.core.push(CoreInput::Operator { req, cmd });
            }
            None => self.command(cmd),
        }
    }
}

/// `snapshot` (this server's own) as it shows while the wait lasts.
fn show_waiting(snapshot: &mut Snapshot) {
    if snapshot.cluster.service != ServiceState::Online {
        return;
    }
    snapshot.cluster.service = ServiceState::Starting;
    for server in snapshot.servers.iter_mut().filter(|s| s.local) {
        if server.status == ServerState::Online {
            server.status = ServerState::OnlinePending;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_wait_ends_when_every_other_server_is_a_member_and_has_reported() {
        let t0 = Instant::now();
        let until = t0 + Duration::from_secs(300);
        let servers = names(&["node1", "node2", "node3"]);
        let all = names(&["node1", "node2", "node3"]);
        // Members, but node3's first report has not arrived.
        assert_eq!(
            decide(&servers, "node1", &all, &names(&["node2"]), t0, until),
            Outcome::Wait
        );
        // This server's own report is never awaited.
        assert_eq!(
            decide(
                &servers,
                "node1",
                &all,
                &names(&["node2", "node3"]),
                t0,
                until
            ),
            Outcome::AllReported
        );
    }

    #[test]
    fn at_the_deadline_it_names_who_was_absent_and_who_was_silent() {
        let t0 = Instant::now();
        let until = t0 + Duration::from_secs(5);
        let servers = names(&["node1", "node2", "node3"]);
        let members = names(&["node1", "node2"]);
        assert_eq!(
            decide(
                &servers,
                "node1",
                &members,
                &[],
                t0 + Duration::from_secs(4),
                until
            ),
            Outcome::Wait
        );
        assert_eq!(
            decide(&servers, "node1", &members, &[], until, until),
            Outcome::TimedOut {
                absent: names(&["node3"]),
                silent: names(&["node2"]),
            }
        );
    }

    #[test]
    fn while_waiting_the_service_is_starting_and_this_server_online_pending() {
        use crate::status::merge::tests::healthy;
        let mut own = healthy(&["node1", "node2"], "node1", false);
        show_waiting(&mut own);
        assert_eq!(own.cluster.service, ServiceState::Starting);
        let states: Vec<(bool, ServerState)> =
            own.servers.iter().map(|s| (s.local, s.status)).collect();
        // Only this server's own line: the other one is as it was.
        assert_eq!(
            states,
            [
                (true, ServerState::OnlinePending),
                (false, ServerState::Offline)
            ]
        );
        // A service that is not Online (stopping, suspended) shows as it is.
        let mut stopping = healthy(&["node1", "node2"], "node1", false);
        stopping.cluster.service = ServiceState::Stopping;
        let before = stopping.clone();
        show_waiting(&mut stopping);
        assert_eq!(stopping, before);
    }

    #[test]
    fn a_server_alone_in_clp_conf_has_nobody_to_wait_for() {
        let t0 = Instant::now();
        assert_eq!(
            decide(&names(&["node1"]), "node1", &[], &[], t0, t0),
            Outcome::AllReported
        );
    }
}
