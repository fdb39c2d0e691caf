//! The cluster thread's news in the loop: the membership view, and the log.

use super::*;
use crate::cluster::{self, ClusterEvent, NodeMap};

impl Daemon {
    /// With more than one server in clp.conf: starts the thread that follows
    /// Corosync. A failure to start it is logged; clpd then runs as if alone.
    pub(super) fn start_cluster(&mut self) {
        let model = self.core.model().clone();
        if model.servers.len() < 2 {
            return;
        }
        let events = self.events.clone();
        let sink = Box::new(move |event| {
            let _ = events.send(Event::Cluster(event));
        });
        match cluster::start(NodeMap::from_model(&model), sink) {
            Ok(link) => {
                info!(target: "nm", "{} servers configured: following Corosync's membership (group {:?})", model.servers.len(), cluster::GROUP);
                self.cluster = Some(link);
                // No quorum until Corosync says so: a claim made before
                // would be accepted by this server alone.
                let mut membership = self.core.membership().clone();
                membership.set_quorate(false);
                self.core.set_membership(membership);
            }
            Err(e) => error!(target: "nm", "{e}; the other servers are shown as down"),
        }
    }

    /// After a reload: the thread follows the new list of servers; it
    /// starts when a second server appears and stops when one is left.
    pub(super) fn follow_reloaded_servers(&mut self) {
        let model = self.core.model().clone();
        let several = model.servers.len() >= 2;
        match (&self.cluster, several) {
            (Some(link), true) => {
                link.set_nodes(NodeMap::from_model(&model));
                // Another digest: the report and the comparison follow.
                self.publisher.mark_unwritten();
            }
            (Some(_), false) => {
                // Dropping the link stops the thread; alone, this server decides alone.
                self.cluster = None;
                info!(target: "nm", "one server configured: no longer following Corosync");
                self.core
                    .set_membership(crate::engine::membership::Membership::local_only(&model));
                self.remote.cluster_down = Some("one server configured".into());
                self.remote_targets_left();
            }
            (None, true) => self.start_cluster(),
            (None, false) => {}
        }
        self.start_partition_watch();
    }

    pub(super) fn cluster_event(&mut self, event: ClusterEvent) {
        match &event {
            ClusterEvent::Connected { node_id } => {
                self.remote.cluster_down = None;
                self.view.hearing.reset();
                info!(target: "nm", "connected to Corosync as node {node_id}")
            }
            ClusterEvent::Unavailable { reason, retry_in } => {
                self.remote.cluster_down = Some(reason.clone());
                self.view.hearing.reset();
                warn!(
                    target: "nm",
                    "Corosync is not reachable ({reason}); is it running on this server? Retrying every {}s at most",
                    retry_in.as_secs()
                )
            }
            ClusterEvent::Members { servers, unknown } => {
                info!(target: "nm", "servers running clpd: {}", servers.join(", "));
                if !unknown.is_empty() {
                    warn!(target: "nm", "Corosync node(s) {unknown:?} match no server of clp.conf (node id = priority + 1): ignored");
                }
            }
            ClusterEvent::Quorum { quorate: true } => {
                info!(target: "nm", "this server's partition has quorum")
            }
            ClusterEvent::Quorum { quorate: false } => {
                warn!(target: "nm", "this server's partition has no quorum")
            }
            ClusterEvent::Message { from, bytes } => {
                tracing::debug!(target: "nm", "message of {} bytes from {from}", bytes.len())
            }
            ClusterEvent::Lost { reason } => {
                self.remote.cluster_down = Some(reason.clone());
                self.view.hearing.reset();
                self.placement_connection_lost();
                warn!(
                    target: "nm",
                    "lost the connection to Corosync ({reason}); the other servers count as down until it is back"
                )
            }
            ClusterEvent::Nodes { servers } => {
                tracing::debug!(target: "nm", "servers running Corosync: {}", servers.join(", "))
            }
            ClusterEvent::Links { .. } | ClusterEvent::Observed { .. } => {}
            ClusterEvent::Refused { why, .. } => {
                warn!(target: "nm", "Corosync refused a message of this server: {why}")
            }
        }
        if matches!(
            event,
            ClusterEvent::Members { .. } | ClusterEvent::Lost { .. }
        ) {
            // Every member counts anew from the same change of the group.
            self.places.delivered = 0;
        }
        self.clpd_stops_event(&event);
        let membership_changed = match cluster::apply(self.core.membership(), &event) {
            Some(next) => {
                self.core.set_membership(next);
                self.remote_targets_left();
                self.placement_membership();
                true
            }
            None => false,
        };
        match &event {
            ClusterEvent::Lost { .. } => self.partition_corosync(true),
            ClusterEvent::Connected { .. } => self.partition_corosync(false),
            _ => {}
        }
        match event {
            ClusterEvent::Members { servers, .. } => {
                self.cluster_members(&servers);
                self.placement_group_changed(&servers);
            }
            ClusterEvent::Quorum { quorate } => self.cluster_quorum(quorate),
            // One group carries two kinds of message, told apart by their
            // first byte: a status report (see `cluster::report`) or a
            // request or answer for another server (JSON, see `remote`).
            ClusterEvent::Message { from, bytes } => {
                if crate::cluster::report::is_report(&bytes) {
                    self.report_message(&from, &bytes)
                } else {
                    self.remote_message(&from, &bytes)
                }
            }
            ClusterEvent::Lost { .. } => self.cluster_lost(),
            ClusterEvent::Links { peers } => self.cluster_links(&peers),
            ClusterEvent::Observed { servers } => self.cluster_observed(&servers),
            ClusterEvent::Refused { bytes, why } => self.placement_refused(&bytes, &why),
            ClusterEvent::Connected { .. }
            | ClusterEvent::Unavailable { .. }
            | ClusterEvent::Nodes { .. } => {}
        }
        // A partition is judged on what Corosync says of the others; losing
        // the connection to this server's Corosync (a reconnect clpd asked
        // for, Corosync restarting) says nothing of them.
        if membership_changed && self.remote.cluster_down.is_none() {
            self.partition_membership();
        }
    }
}
