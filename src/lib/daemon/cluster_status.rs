//! The whole cluster in this server's status.json: reports out, reports in,
//! the merged view.
//!
//! With several servers, every snapshot this clpd builds is also its report
//! to the others ([`peers::Report`]: its own snapshot and its view of the
//! links), sent over CPG when it changed (at most every
//! [`peers::REPORT_GAP`]), again every [`peers::REPORT_REFRESH`], and at
//! once on every membership change so that a server that joins learns
//! everyone. What the others report is kept with its arrival time; the
//! published snapshot is [`crate::status::merge`] of this server's own, the
//! peers' last reports, the membership and the links. Every input that
//! changes marks the snapshot unwritten (the usual pacing then writes it), and
//! a report that goes stale has a timer of its own.
//!
//! A one-server clp.conf has no cluster thread and never comes here: its
//! status.json is its own snapshot, as before.

use super::peers::{self, Peers, Report, ReportPacing, SendReport};
use super::*;
use crate::cluster::report::{self as wire, ReportError};
use crate::cluster::{NodeMap, SendError};
use crate::status::merge::is_link_kind;
use crate::status::{LinkState, Members, MergeInput, ServerState, Snapshot};

/// What this clpd knows of the other servers.
#[derive(Debug, Default)]
pub(super) struct ClusterView {
    pub(super) peers: Peers,
    members: Members,
    pacing: ReportPacing,
    /// The last report sent, to send only what changed.
    last_sent: Option<Report>,
    /// The earliest report timer armed, to arm no more than needed.
    report_timer: Option<Instant>,
    /// The links as Corosync shows them from here; None until first read
    /// (every member then counts as heard on every link).
    links: Option<Vec<LinkState>>,
    /// Servers whose clp.conf differs from the cluster's.
    out_of_line: Vec<String>,
    /// The last failure to send, logged once until a send succeeds.
    send_failed: bool,
    /// How long the members Corosync answers have differed from `members`.
    pub(super) hearing: crate::cluster::HearingCheck,
}

impl ClusterView {
    /// The servers the cluster thread last said are in the group.
    pub(super) fn members(&self) -> &[String] {
        &self.members.members
    }
}

impl Daemon {
    /// The snapshot to publish: `local` merged with what the others said
    /// (and `local` offered as this server's report). Without a cluster
    /// thread: `local` itself.
    pub(super) fn cluster_view(&mut self, local: Snapshot, now: Instant) -> Snapshot {
        if self.cluster.is_none() {
            return local;
        }
        self.offer_report(&local, now, false);
        // This server's own digest changes with a reload: compare again.
        self.check_configurations();
        let (reports, mut links) = self.view.peers.inputs(now);
        links.extend(self.local_links());
        // This server is in its own partition even without Corosync (it
        // then shows itself as it runs, the others Offline).
        let mut members = self.view.members.clone();
        let local_name = &self.core.model().local_server;
        if !members.members.contains(local_name) {
            members.members.push(local_name.clone());
        }
        let mut merged = crate::status::merge(&MergeInput {
            model: self.core.model(),
            local: &local,
            peers: &reports,
            members: &members,
            links: &links,
            stale_after: peers::STALE_AFTER,
        });
        // A server running another configuration: Caution on its line, with
        // the reason in the nm log (see `check_configurations`).
        for server in &mut merged.servers {
            if server.status == ServerState::Online && self.view.out_of_line.contains(&server.name)
            {
                server.status = ServerState::Caution;
            }
        }
        merged
    }

    pub(super) fn view_links(&self) -> Option<&Vec<LinkState>> {
        self.view.links.as_ref()
    }

    /// Corosync's link states from now on; the report and view follow.
    pub(super) fn set_view_links(&mut self, links: Vec<LinkState>) {
        if self.view.links.as_ref() == Some(&links) {
            return;
        }
        self.view.links = Some(links);
        let local = self.own_snapshot();
        self.offer_report(&local, self.clock.now(), false);
        self.publisher.mark_unwritten();
    }

    /// This server's links: Corosync's word once read, else every member
    /// heard on every link heartbeat.
    fn local_links(&self) -> Vec<LinkState> {
        if let Some(links) = &self.view.links {
            return links.clone();
        }
        let model = self.core.model();
        let local = &model.local_server;
        model
            .heartbeats
            .iter()
            .filter(|h| is_link_kind(&h.kind))
            .flat_map(|h| {
                self.view
                    .members
                    .members
                    .iter()
                    .filter(|m| *m != local)
                    .map(|peer| LinkState {
                        observer: local.clone(),
                        heartbeat: h.name.clone(),
                        peer: peer.clone(),
                        up: true,
                    })
            })
            .collect()
    }

    /// Sends this server's report when it changed (paced) or when `force`d
    /// (a membership change); arms the timer of what has to wait.
    fn offer_report(&mut self, local: &Snapshot, now: Instant, force: bool) {
        let report = Report {
            snapshot: local.clone(),
            links: self.local_links(),
            // A group whose release is on its way is no longer this server's:
            // a report sent after the release but built before its delivery
            // would otherwise hand the group back to this server on the others
            // (they learn owners from reports) while this server's own table,
            // which never learns from its own reports, lets the next one claim it.
            owned: self
                .places
                .table
                .owned_by(&self.core.model().local_server)
                .into_iter()
                .filter(|g| !self.places.releasing.contains_key(g))
                .collect(),
            marks: self.places.table.marks(),
            delivered: Some(self.places.delivered),
        };
        let changed = self.view.last_sent.as_ref().is_none_or(|last| {
            last.links != report.links
                || last.owned != report.owned
                || last.marks != report.marks
                || !snapshot::same_content(&last.snapshot, &report.snapshot)
        });
        let decision = if force {
            SendReport::Now
        } else if changed {
            self.view.pacing.changed(now)
        } else {
            self.view.pacing.unchanged(now)
        };
        match decision {
            SendReport::Now => {
                let refresh = self.view.pacing.sent(now);
                self.send_report(&report);
                self.view.last_sent = Some(report);
                self.arm_report_timer(refresh);
            }
            SendReport::At(at) => self.arm_report_timer(at),
        }
    }

    fn arm_report_timer(&mut self, at: Instant) {
        let now = self.clock.now();
        if self.view.report_timer.is_some_and(|t| t > now && t <= at) {
            return;
        }
        self.view.report_timer = Some(at);
        self.timers.push(at, TimerKey::Report);
    }

    fn send_report(&mut self, report: &Report) {
        let Some(link) = &self.cluster else {
            return;
        };
        let sent = wire::encode(report)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                link.send(bytes).map_err(|e| match e {
                    SendError::QueueFull => "Corosync's send queue is full".to_string(),
                    SendError::Stopped => "the cluster thread has ended".to_string(),
                })
            });
        match sent {
            Ok(()) => self.view.send_failed = false,
            Err(why) if !self.view.send_failed => {
                self.view.send_failed = true;
                warn!(target: "nm", "cannot send this server's status to the others ({why}); they show its last report until it goes stale");
            }
            Err(_) => {}
        }
    }

    /// The report timer fired: a change that waited, or the refresh.
    pub(super) fn report_due(&mut self) {
        let now = self.clock.now();
        if self.view.report_timer.is_some_and(|t| t <= now) {
            self.view.report_timer = None;
        }
        if self.cluster.is_none() {
            return;
        }
        let local = self.own_snapshot();
        self.offer_report(&local, now, false);
    }

    /// This server's own snapshot, as it would publish it alone.
    pub(super) fn own_snapshot(&self) -> Snapshot {
        let mut own = snapshot::build(
            self.core.engine(),
            self.core.monitors(),
            std::process::id(),
            &self.config_digest,
            self.epoch_ms,
        );
        self.show_sync_wait(&mut own);
        self.show_moving(&mut own);
        own
    }

    /// A status report from `from`.
    pub(super) fn report_message(&mut self, from: &str, bytes: &[u8]) {
        if from == self.core.model().local_server {
            return;
        }
        if !self.core.model().servers.iter().any(|s| s.name == from) {
            return;
        }
        match wire::decode::<Report>(bytes) {
            Ok(report) => {
                self.placement_report(from, &report);
                self.both_active_check(from, &report.snapshot.groups);
                let now = self.clock.now();
                let (stale_at, new) = self.view.peers.receive(from, report, now);
                self.timers
                    .push(stale_at, TimerKey::PeerStale(from.to_string()));
                // A refresh saying nothing new costs no write of status.json
                // (the ages it shows are those of its last write).
                if new {
                    self.check_configurations();
                    self.publisher.mark_unwritten();
                }
                self.sync_progress();
            }
            Err(ReportError::NotAReport) => {}
            Err(e) => warn!(target: "nm", "server {from}: {e}"),
        }
    }

    /// A peer's report timer: if no newer report came, the view changes.
    pub(super) fn peer_stale(&mut self, server: &str) {
        if self.view.peers.went_stale(server, self.clock.now()) {
            warn!(target: "nm", "server {server} sent no status for {} s: shown Unknown until it does (is its clpd stuck?)", peers::STALE_AFTER.as_secs());
            self.check_configurations();
            self.publisher.mark_unwritten();
        }
    }

    /// The servers running clpd changed: forget those that left, tell the
    /// newcomers everything at once.
    pub(super) fn cluster_members(&mut self, servers: &[String]) {
        let local = self.core.model().local_server.clone();
        let before = std::mem::take(&mut self.view.members.members);
        for server in servers.iter().filter(|s| **s != local) {
            if !before.contains(server) {
                self.alert(&Alert::from_catalog(&local, "nm", 1, &[server]));
            }
        }
        for server in before.iter().filter(|s| *s != &local) {
            if !servers.contains(server) {
                self.alert(&Alert::from_catalog(&local, "nm", 2, &[server]));
            }
        }
        self.view.members.members = servers.to_vec();
        self.view.peers.retain(servers);
        self.check_configurations();
        let local_snapshot = self.own_snapshot();
        self.offer_report(&local_snapshot, self.clock.now(), true);
        self.publisher.mark_unwritten();
        self.sync_progress();
    }

    /// Quorum came or went.
    pub(super) fn cluster_quorum(&mut self, quorate: bool) {
        if self.view.members.quorate == quorate {
            return;
        }
        self.view.members.quorate = quorate;
        // CLUSTERPRO has no quorum message of its own: losing it is losing
        // the servers outside this partition (nm 80), regaining it is
        // talking to them again (nm 81).
        let model = self.core.model().clone();
        let id = if quorate { 81 } else { 80 };
        let concerned: Vec<&str> = model
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .filter(|s| {
                *s != model.local_server
                    && quorate == self.view.members.members.iter().any(|m| m == s)
            })
            .collect();
        for server in concerned {
            self.alert(&Alert::from_catalog(
                &model.local_server,
                "nm",
                id,
                &[server],
            ));
        }
        self.publisher.mark_unwritten();
    }

    /// Corosync is gone: nobody else is known.
    pub(super) fn cluster_lost(&mut self) {
        self.view.links = None;
        self.cluster_members(&[]);
        self.view.peers.clear();
        self.cluster_quorum(false);
    }

    /// Compares the configurations the members run (reference rule:
    /// [`peers::config_reference`]); logs a change of who differs.
    fn check_configurations(&mut self) {
        let model = self.core.model();
        let nodes = NodeMap::from_model(model);
        let local = model.local_server.clone();
        let now = self.clock.now();
        let mut digests: Vec<(u32, String)> = nodes
            .id_of(&local)
            .map(|id| (id, self.config_digest.clone()))
            .into_iter()
            .collect();
        for (server, digest) in self.view.peers.digests(now) {
            if self.view.members.members.contains(&server)
                && let Some(id) = nodes.id_of(&server)
            {
                digests.push((id, digest));
            }
        }
        let out_of_line: Vec<String> = config_reference_names(&digests, &nodes);
        if out_of_line == self.view.out_of_line {
            return;
        }
        if out_of_line.is_empty() {
            info!(target: "nm", "every running server has the same configuration again");
        } else {
            error!(target: "nm", "the configuration (clp.conf) of {} differs from the cluster's: groups do not start there until `clpcfctrl --push` brings it in line", out_of_line.join(", "));
        }
        self.view.out_of_line = out_of_line;
        self.publisher.mark_unwritten();
    }

    /// The members (clpd running) and, among them, those whose report is at
    /// hand: what the server sync wait waits for.
    pub(super) fn reporting_members(&self, now: Instant) -> (Vec<String>, Vec<String>) {
        let members = self.view.members.members.clone();
        let reported = self
            .view
            .peers
            .digests(now)
            .into_iter()
            .map(|(server, _)| server)
            .filter(|server| members.contains(server))
            .collect();
        (members, reported)
    }

    /// This server runs another configuration than the cluster's.
    pub(super) fn runs_another_configuration(&self) -> bool {
        self.view
            .out_of_line
            .contains(&self.core.model().local_server)
    }

    /// Why this server refuses to start `cmd`'s group: it runs another
    /// configuration than the cluster's.
    pub(super) fn config_refusal(&self, cmd: &Command) -> Option<crate::protocol::Rejection> {
        let local = &self.core.model().local_server;
        let starts = matches!(
            cmd,
            Command::StartGroup { .. } | Command::MoveGroup { .. } | Command::StartResource { .. }
        );
        (starts && self.view.out_of_line.contains(local)).then(|| {
            crate::protocol::Rejection::ConfigDiffers {
                servers: self.view.out_of_line.clone(),
            }
        })
    }
}

/// The names of the servers whose digest differs from the reference.
fn config_reference_names(digests: &[(u32, String)], nodes: &NodeMap) -> Vec<String> {
    peers::config_reference(digests)
        .map(|(_, ids)| {
            ids.iter()
                .filter_map(|id| nodes.server(*id).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
