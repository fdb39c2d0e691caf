//! Groups on exactly one server: the daemon's side of `engine::placement`.
//!
//! The table and its rules are pure (`engine::placement`); here they meet
//! the cluster: claims, releases and news of a group placed travel over CPG
//! (`remote::Message`), every server applies them in delivery order, and this
//! server starts a group only when its own claim comes back accepted. After
//! every batch [`Daemon::placement_after_batch`] looks at the groups this
//! server is moving in or out: a group that left is released (naming the
//! next server), a group that arrived is announced, and the claims now due
//! are sent (after the server sync wait, with quorum, while the service
//! runs). A lost server's groups are claimed past its gate: the release
//! deadline, or the forced stop command run here ([`Tag::ForcedStop`]).
//!
//! A one-server clp.conf never comes here: its groups start as they always
//! did.

use std::collections::BTreeMap;

use super::*;
use crate::engine::ClpEvent;
use crate::engine::placement::{ClaimReason, Placement, PlacementEffect, Verdict};
use crate::protocol::Rejection;
use crate::remote::Message;
use crate::vocab::RunState;

/// How long a move forwarded to the group's owner may take.
pub(super) const FORWARDED_MOVE_SECS: u64 = 600;

/// A group leaving this server.
#[derive(Debug, Clone)]
pub(super) struct Leaving {
    /// Who takes it; None: chosen once it is offline (a failover).
    pub(super) next: Option<String>,
    pub(super) reason: ClaimReason,
    /// It failed here (the next destination leaves this server out).
    pub(super) failed: bool,
    /// The resource whose activation failed, for rc 201.
    pub(super) resource: Option<String>,
}

/// The daemon's placement state.
#[derive(Default)]
pub(super) struct Places {
    pub(super) table: Placement,
    pub(super) leaving: BTreeMap<String, Leaving>,
    /// Groups this server's accepted claims are starting, and why.
    pub(super) arriving: BTreeMap<String, ClaimReason>,
    /// Operators' starts waiting for their claim's verdict.
    pub(super) claim_replies: BTreeMap<String, Sender<Reply>>,
    /// Operators' moves waiting for the destination to run the group.
    pub(super) move_replies: BTreeMap<String, (String, Sender<Reply>)>,
    /// Groups this server released, until its release comes back: the
    /// table still names this server meanwhile. With the release sent, to
    /// send it again when a connection to Corosync ended before it came
    /// back (see `placement_connection_lost`).
    pub(super) releasing: BTreeMap<String, Message>,
    /// The connection to Corosync ended with releases in `releasing`: they
    /// go again once this server is a member again.
    pub(super) releases_to_resend: bool,
    /// Corosync refused a message of this server for good: automatic
    /// claims, and the release sent again, wait until then or the next
    /// change of the group (sent at once, a message refused again and again
    /// would keep the loop and the cluster thread busy).
    pub(super) refused_until: Option<Instant>,
    /// Claims are held for want of quorum (said once per loss).
    pub(super) quorum_held: bool,
    /// Why the service is stopping (kept until it runs again).
    stop_factor: Option<StopFactor>,
    /// Servers whose release said their service stops, until a report says
    /// it runs again (reports and releases of a server arrive in order).
    stopping: std::collections::BTreeSet<String>,
    /// Each other server's cluster service as its last report said.
    services: BTreeMap<String, crate::status::ServiceState>,
    /// clpd is ending: how long it waits for its releases to come back.
    exit_wait_until: Option<Instant>,
    /// Requested failovers among `move_replies` (the destination says
    /// rc 61/62, not this server rc 51/52).
    pub(super) failing_over: std::collections::BTreeSet<String>,
    /// Groups among `releasing` whose release names the next server (a
    /// move or a failover): shown Offline Pending until it comes back.
    pub(super) handing_over: std::collections::BTreeSet<String>,
    /// The last failure of each lost server's forced stop, alerted once.
    pub(super) forced_failures: BTreeMap<String, (u32, String)>,
    /// Groups this server handed to another (its release naming it came
    /// back), until that server's report shows it there (`moving.rs`).
    pub(super) handed: BTreeMap<String, String>,
    /// The servers this one lost when it released its groups as the
    /// isolated side of a partition, until each is back (`isolation.rs`).
    pub(super) isolated_from: std::collections::BTreeSet<String>,
    /// The hold of `isolated_from` was said in the log.
    pub(super) isolation_said: bool,
    /// Servers whose clpd alone stopped (`clpd_stopped.rs`).
    pub(super) clpd_stops: crate::engine::clpd_stops::ClpdStops,
    /// rc 77 was raised for the failovers held now.
    pub(super) incomplete_view_said: bool,
    /// The groups this server shows as moving (`moving.rs`).
    pub(super) moving: BTreeMap<String, RunState>,
    /// Claims, releases and placement news delivered since the last change
    /// of Corosync's group: the same count on every member at the same point
    /// of the order. A report carries its sender's count; one delivered at
    /// the count it was built at is exact (see `placement_report`).
    pub(super) delivered: u64,
}

pub(super) fn failed(detail: String) -> Reply {
    Reply::Rejected(Rejection::Failed {
        kind: ErrorKind::State,
        detail,
    })
}

impl Daemon {
    pub(super) fn several_servers(&self) -> bool {
        self.cluster.is_some()
    }

    pub(super) fn local_name(&self) -> String {
        self.core.model().local_server.clone()
    }

    pub(super) fn rc_alert(&mut self, id: u32, args: &[&str]) {
        let local = self.local_name();
        self.alert(&Alert::from_catalog(&local, "rc", id, args));
    }

    pub(super) fn send_placement(&mut self, message: &Message) {
        if let Message::Release { group, next, .. } = message {
            self.places.releasing.insert(group.clone(), message.clone());
            if next.is_some() {
                self.places.handing_over.insert(group.clone());
            }
        }
        let sent = match (&self.cluster, crate::remote::encode(message)) {
            (Some(link), Some(bytes)) => link.send(bytes).is_ok(),
            _ => false,
        };
        if !sent {
            warn!(target: "rc", "could not send {message:?} to the other servers");
            match message {
                Message::Claim { group, .. } => {
                    self.claim_dropped(group, "its claim could not be sent to the other servers")
                }
                Message::Release { group, .. } => {
                    self.places.releasing.remove(group);
                    self.places.handing_over.remove(group);
                }
                _ => {}
            }
        }
    }

    /// The automatic start of the groups with several servers: each is
    /// claimed by the server its policy prefers.
    pub(super) fn want_auto_start(&mut self) {
        let model = self.core.model().clone();
        self.places.table.want_auto_start(&model);
        if !model.groups.iter().any(|g| g.auto_start) && !model.groups.is_empty() {
            self.rc_alert(511, &[]);
        }
    }

    /// The membership with only the servers that may take a group up:
    /// members whose cluster service runs (Online, or Starting: in its sync
    /// wait) as they last reported, and that did not say they are stopping.
    pub(super) fn eligible(&self) -> crate::engine::membership::Membership {
        use crate::engine::membership::MemberState;
        use crate::status::ServiceState;
        let mut view = self.core.membership().clone();
        for server in self.core.model().servers.iter().map(|s| s.name.as_str()) {
            let stopped = self
                .places
                .services
                .get(server)
                .is_some_and(|s| !matches!(s, ServiceState::Online | ServiceState::Starting));
            if stopped || self.places.stopping.contains(server) {
                view.set_state(server, MemberState::Down);
            }
        }
        view
    }

    /// The membership changed: lost owners' gates start, moves to a server
    /// that left fail.
    pub(super) fn placement_membership(&mut self) {
        if !self.several_servers() {
            return;
        }
        let model = self.core.model().clone();
        let membership = self.held_view();
        let now = self.now();
        for effect in self
            .places
            .table
            .membership_changed(&model, &membership, now)
        {
            match effect {
                PlacementEffect::RunForcedStop { server } => {
                    self.run_forced_stop(&server);
                }
                PlacementEffect::WakeAt(at) => {
                    let at = self.epoch + Duration::from_millis(at);
                    self.timers.push(at, TimerKey::Placement);
                }
            }
        }
        let gone: Vec<String> = self
            .places
            .move_replies
            .iter()
            .filter(|(_, (dest, _))| !membership.is_up(dest))
            .map(|(g, _)| g.clone())
            .collect();
        for group in gone {
            self.places.failing_over.remove(&group);
            if let Some((dest, reply)) = self.places.move_replies.remove(&group) {
                self.rc_alert(52, &[&group]);
                // Without a connection every other server counts as down;
                // the release of the move goes again on the next one.
                let why = match (
                    &self.remote.cluster_down,
                    self.places.releasing.contains_key(&group),
                ) {
                    (Some(_), true) => format!(
                        "the connection to Corosync ended before group {group} ran on {dest}; the move's release goes again once this server is back in the cluster, and {dest} may still take it: see clpstat"
                    ),
                    _ => format!("Server {dest} left the cluster before group {group} ran there"),
                };
                self.outbox.push((reply, failed(why)));
            }
        }
    }

    /// What another server's report says it owns (and its failure marks,
    /// while this server has not synced yet).
    pub(super) fn placement_report(&mut self, from: &str, report: &super::peers::Report) {
        use crate::status::ServiceState;
        let service = report.snapshot.cluster.service;
        let (owned, marks) = (&report.owned, &report.marks);
        let membership = self.core.membership().clone();
        if report.delivered == Some(self.places.delivered) {
            // Built where it is delivered: its word on its own groups is current.
            let idle: Vec<String> = report
                .snapshot
                .groups
                .iter()
                .filter(|g| g.status == RunState::Offline)
                .map(|g| g.name.clone())
                .collect();
            for group in self
                .places
                .table
                .learn_exact(from, owned, &idle, &membership)
            {
                info!(target: "rc", "{from} owns and runs no {group} any more (a release this server did not hear, in a partition): the group is nobody's");
            }
        } else {
            self.places.table.learn(from, owned, &membership);
        }
        if matches!(service, ServiceState::Online | ServiceState::Starting) {
            self.places.stopping.remove(from);
        }
        self.places.services.insert(from.to_string(), service);
        if self.sync != sync_wait::SyncWait::Over {
            self.places.table.learn_marks(marks);
        }
    }

    /// Both-active: `from` reports groups online there that run here too
    /// (a partition healed, or a clpd adopted what it ran before): the
    /// server later in the group's policy stops it at once (rc 92).
    pub(super) fn both_active_check(&mut self, from: &str, groups: &[crate::status::GroupStatus]) {
        let local = self.local_name();
        let model = self.core.model().clone();
        for reported in groups {
            let name = reported.name.as_str();
            let there =
                reported.status == RunState::Online && reported.current.as_deref() == Some(from);
            let here = self.core.engine().group_state(name) == RunState::Online
                && !self.places.leaving.contains_key(name)
                && !self.places.arriving.contains_key(name);
            if !there || !here {
                continue;
            }
            let loser = crate::engine::placement::both_active_loser(&model, name, &local, from);
            if loser != local {
                warn!(target: "rc", "group {name} is online on {from} too: {from} stops it (it comes later in the group's policy)");
                continue;
            }
            self.rc_alert(92, &[name]);
            error!(target: "rc", "group {name} is online on {from} too: stopping it here (this server comes later in its policy)");
            self.command(Command::StopGroup {
                group: name.to_string(),
            });
        }
    }

    /// A claim, release or placement news of `from`, in the cluster's order.
    pub(super) fn placement_message(&mut self, from: &str, message: Message) {
        self.places.delivered += 1;
        let local = self.local_name();
        let membership = self.core.membership().clone();
        match message {
            Message::Claim {
                group,
                server,
                reason,
            } if server == from => {
                let verdict = self
                    .places
                    .table
                    .apply_claim(&group, &server, reason, &membership);
                info!(target: "rc", "claim of group {group} by {server} ({reason:?}): {verdict:?}");
                if server == local {
                    self.own_claim(&group, reason, verdict);
                }
            }
            Message::Release {
                group,
                server,
                next,
                reason,
                failed,
                stopping,
            } if server == from => {
                if stopping && server != local {
                    self.places.stopping.insert(server.clone());
                }
                info!(target: "rc", "group {group} released by {server} (next: {next:?}, {reason:?}, failed there: {failed})");
                if server == local {
                    self.places.releasing.remove(&group);
                    if self.places.handing_over.remove(&group)
                        && let Some(n) = &next
                    {
                        self.places.handed.insert(group.clone(), n.clone());
                    }
                }
                let next = next.as_deref().zip(reason.or(Some(ClaimReason::Move)));
                self.places
                    .table
                    .apply_release(&group, &server, next, failed);
            }
            Message::Placed {
                group,
                server,
                online,
            } if server == from => {
                let waiting = self
                    .places
                    .move_replies
                    .get(&group)
                    .is_some_and(|(dest, _)| *dest == server);
                if waiting && let Some((_, reply)) = self.places.move_replies.remove(&group) {
                    let (id, answer) = if online {
                        (
                            51,
                            Reply::Done {
                                note: format!("group {group} runs on {server}"),
                            },
                        )
                    } else {
                        (
                            52,
                            failed(format!(
                                "Group {group} could not be started on {server}; see its logs"
                            )),
                        )
                    };
                    if !self.places.failing_over.remove(&group) {
                        self.rc_alert(id, &[&group]);
                    }
                    self.outbox.push((reply, answer));
                }
            }
            other => {
                warn!(target: "nm", "ignored a placement message that {from} sent in another server's name: {other:?}")
            }
        }
    }

    /// This server's claim came back with its verdict.
    fn own_claim(&mut self, group: &str, reason: ClaimReason, verdict: Verdict) {
        let reply = self.places.claim_replies.remove(group);
        if verdict == Verdict::Refused {
            let owner = self
                .places
                .table
                .owner(group)
                .unwrap_or("another server")
                .to_string();
            let local = self.local_name();
            self.rc_alert(66, &[&local, group, &format!("it runs on {owner}")]);
            if let Some(reply) = reply {
                self.outbox.push((
                    reply,
                    failed(format!(
                        "Server {local} is not in a condition to start group {group}: it runs on {owner}"
                    )),
                ));
            }
            return;
        }
        if !self.core.membership().is_quorate() {
            // Accepted in a partition without quorum (the claim left before
            // the quorum was lost, or before it was known): it must not
            // start here; giving it back lets a quorate partition take it.
            warn!(target: "rc", "claim of group {group} accepted while this server's partition has no quorum: it is not started here and is released");
            let local = self.local_name();
            self.send_placement(&Message::Release {
                group: group.to_string(),
                server: local,
                next: None,
                reason: None,
                failed: false,
                stopping: false,
            });
            if let Some(reply) = reply {
                self.outbox.push((
                    reply,
                    failed(format!(
                        "group {group} was not started: this server's partition has no quorum"
                    )),
                ));
            }
            return;
        }
        let event = match reason {
            ClaimReason::Failover => {
                self.rc_alert(60, &[group]);
                ClpEvent::Failover
            }
            _ => ClpEvent::Start,
        };
        self.places.arriving.insert(group.to_string(), reason);
        let cmd = Command::PlaceGroup {
            group: group.to_string(),
            event,
        };
        match reply {
            Some(reply) => {
                let req = self.next_req;
                self.next_req += 1;
                self.replies.insert(req, reply);
                self.core.push(CoreInput::Operator { req, cmd });
            }
            None => self.command(cmd),
        }
    }

    /// A group leaves to fail over (the engine stopped it here).
    pub(super) fn failover_effect(&mut self, group: String, resource: Option<String>) {
        if !self.several_servers() {
            return;
        }
        self.places.leaving.insert(
            group,
            Leaving {
                next: None,
                reason: ClaimReason::Failover,
                failed: true,
                resource,
            },
        );
    }

    pub(super) fn claim(&mut self, group: &str, reason: ClaimReason) {
        let server = self.local_name();
        self.places.table.claim_sent(group, reason);
        self.send_placement(&Message::Claim {
            group: group.to_string(),
            server,
            reason,
        });
    }

    /// After each batch: groups that finished leaving or arriving, then the
    /// claims and failbacks now due. True when it queued engine commands.
    pub(super) fn placement_after_batch(&mut self) -> bool {
        if !self.several_servers() {
            return false;
        }
        let local = self.local_name();
        // Arrived (or could not).
        let arrived: Vec<(String, ClaimReason, RunState)> = self
            .places
            .arriving
            .iter()
            .map(|(g, r)| (g.clone(), *r, self.core.engine().group_state(g)))
            .filter(|(_, _, s)| !matches!(s, RunState::OnlinePending))
            .collect();
        for (group, reason, state) in arrived {
            self.places.arriving.remove(&group);
            let online = state == RunState::Online;
            if reason == ClaimReason::Failover {
                self.rc_alert(if online { 61 } else { 62 }, &[&group]);
            }
            self.send_placement(&Message::Placed {
                group,
                server: local.clone(),
                online,
            });
        }
        // Left (or could not).
        let left: Vec<(String, RunState)> = self
            .places
            .leaving
            .keys()
            .map(|g| (g.clone(), self.core.engine().group_state(g)))
            .filter(|(_, s)| matches!(s, RunState::Offline | RunState::OfflineFailure))
            .collect();
        for (group, state) in left {
            let Some(leaving) = self.places.leaving.remove(&group) else {
                continue;
            };
            if state == RunState::OfflineFailure {
                let id = match leaving.reason {
                    ClaimReason::Failover => 62,
                    ClaimReason::Failback => 76,
                    _ => 52,
                };
                self.rc_alert(id, &[&group]);
                self.places.failing_over.remove(&group);
                if let Some((_, reply)) = self.places.move_replies.remove(&group) {
                    self.outbox.push((
                        reply,
                        failed(format!("Group {group} could not be stopped on {local}")),
                    ));
                }
                continue;
            }
            let next = match leaving.next {
                Some(n) => Some(n),
                None => {
                    // The failure mark of this server applies to the choice.
                    match self.next_server(&group, leaving.failed) {
                        Ok(d) => {
                            self.rc_alert(64, &[&d, &group, "failover"]);
                            if let Some(r) = &leaving.resource {
                                self.rc_alert(201, &[&group, &d, r]);
                            } else {
                                self.rc_alert(60, &[&group]);
                            }
                            Some(d)
                        }
                        Err(none) => {
                            self.rc_alert(65, &[&group, &none.reason()]);
                            None
                        }
                    }
                }
            };
            let reason = next.as_ref().map(|_| leaving.reason);
            self.send_placement(&Message::Release {
                group,
                server: local.clone(),
                next,
                reason,
                failed: leaving.failed,
                stopping: false,
            });
        }
        // Why the service stops, while it does: a stop of this server only
        // (clpdown, SIGTERM: SERVERSHUTDOWN) hands its groups over.
        match self.core.service() {
            Service::Stopping { factor, .. } => self.places.stop_factor = Some(factor),
            Service::Online | Service::Suspended => self.places.stop_factor = None,
            Service::Offline => {}
        }
        let hand_over = self.places.stop_factor == Some(StopFactor::ServerShutdown);
        // Owned here but offline (stopped by an operator, by the service's
        // stop, or never started): released, nobody takes it by itself;
        // after a server shutdown, to the next server of its policy.
        let idle: Vec<String> = self
            .places
            .table
            .owned_by(&local)
            .into_iter()
            .filter(|g| {
                !self.places.arriving.contains_key(g)
                    && !self.places.leaving.contains_key(g)
                    && !self.places.releasing.contains_key(g)
                    && self.core.engine().group_state(g) == RunState::Offline
            })
            .collect();
        for group in idle {
            let next = hand_over
                .then(|| self.next_server(&group, false).ok())
                .flatten()
                .filter(|_| {
                    self.core
                        .model()
                        .group(&group)
                        .is_some_and(|g| g.auto_failover)
                });
            if let Some(n) = &next {
                info!(target: "rc", "this server shuts down: group {group} goes to {n}");
                self.rc_alert(64, &[n, &group, "server shutdown"]);
            }
            let reason = next.as_ref().map(|_| ClaimReason::Failover);
            self.send_placement(&Message::Release {
                group,
                server: local.clone(),
                next,
                reason,
                failed: false,
                stopping: hand_over,
            });
        }
        self.placement_progress()
    }

    /// Sends the claims now due and starts the failbacks now due.
    fn placement_progress(&mut self) -> bool {
        let synced = self.sync == sync_wait::SyncWait::Over
            && self.core.service() == Service::Online
            && !self.runs_another_configuration();
        // Looked at whatever the service does: a hold whose servers are
        // back ends (and is forgotten) even while no claim could go.
        let held = self.isolation_holds();
        self.incomplete_view_alert(held);
        if !synced || held {
            return false;
        }
        let model = self.core.model().clone();
        let membership = self.core.membership().clone();
        if membership.is_quorate() {
            self.places.quorum_held = false;
        } else if !self.places.quorum_held {
            self.places.quorum_held = true;
            warn!(target: "rc", "this server's partition has no quorum: it starts and takes over no group until it has (a two-server cluster gains it once both servers have met)");
        }
        let now = self.now();
        let mut queued = false;
        let eligible = self.eligible();
        let held_after_refusal = self.held_after_refusal();
        let due = if held_after_refusal {
            Vec::new()
        } else {
            self.places
                .table
                .due_claims(&model, &self.held_view(), &eligible, now, true)
        };
        for (group, reason) in due {
            if reason == ClaimReason::Failover
                && let Some(lost) = self.places.table.owner(&group).map(str::to_string)
            {
                let local = self.local_name();
                self.rc_alert(64, &[&local, &group, &format!("server {lost} is down")]);
            }
            self.claim(&group, reason);
        }
        // Groups running here that nobody owns: a clpd restarted on the same
        // boot took them over from its predecessor, and its table starts
        // empty; it claims them (another server owning one is both-active,
        // resolved from the reports).
        let adopted: Vec<String> = model
            .groups
            .iter()
            .map(|g| g.name.clone())
            .filter(|g| {
                !held_after_refusal
                    && self.places.table.owner(g).is_none()
                    && self.places.table.pending_claim(g).is_none()
                    && !self.places.arriving.contains_key(g)
                    && !self.places.leaving.contains_key(g)
                    && matches!(
                        self.core.engine().group_state(g),
                        RunState::Online | RunState::OnlinePending | RunState::OnlineFailure
                    )
            })
            .collect();
        for group in adopted {
            info!(target: "rc", "group {group} runs here and nobody owns it (taken over from the previous clpd): claiming it");
            self.claim(&group, ClaimReason::Start);
        }
        let (_, reported) = self.reporting_members(self.clock.now());
        for (group, dest) in self.places.table.failbacks(&model, &eligible) {
            let idle = self.core.engine().group_state(&group) == RunState::Online;
            if !idle || !reported.contains(&dest) || self.places.leaving.contains_key(&group) {
                continue;
            }
            self.rc_alert(74, &[&group]);
            self.leave(&group, dest, ClaimReason::Failback);
            queued = true;
        }
        queued
    }

    /// clpd may end once its releases have come back in the cluster's order
    /// (the others then know its groups are free, rather than finding a
    /// lost owner), or after a few seconds without them.
    pub(super) fn releases_delivered(&mut self) -> bool {
        if self.cluster.is_none() || self.places.releasing.is_empty() {
            return true;
        }
        let now = self.clock.now();
        match self.places.exit_wait_until {
            Some(until) => now >= until,
            None => {
                let until = now + Duration::from_secs(3);
                self.places.exit_wait_until = Some(until);
                self.timers.push(until, TimerKey::Placement);
                false
            }
        }
    }

    /// A new configuration: forget the groups it no longer has.
    pub(super) fn placement_reloaded(&mut self) {
        let model = self.core.model().clone();
        self.places.table.retain_groups(&model);
    }
}
