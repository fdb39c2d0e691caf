//! A server whose clpd alone stopped (`engine::clpd_stops`), in the loop, and
//! rc 77: failovers held because this server's view of the cluster is
//! incomplete.
//!
//! * A server that leaves the CPG group while Corosync still lists it
//!   counts as up for the partition rule (no NP checks, no verdict) and for
//!   the failover of the groups it still owns: a SIGKILLed clpd sent no
//!   releases, and its groups' processes may still run there. Groups it
//!   released (`clpcl -t`) are not its any more and move as usual.
//! * It is lost as usual once it leaves Corosync's node list too (the
//!   release deadline then counts from that moment).
//! * rc 77 is raised once while groups of servers not up wait for a
//!   failover that this server holds for want of a complete view: no
//!   quorum, the isolation hold (`isolation.rs`), or a clpd stopped.

use std::time::Duration;

use super::*;
use crate::cluster::ClusterEvent;
use crate::engine::clpd_stops::{self, Change};

impl Daemon {
    /// The membership as the partition rule and the failover of owned groups
    /// see it: servers whose clpd alone stopped count as up.
    pub(super) fn held_view(&self) -> crate::engine::membership::Membership {
        self.places.clpd_stops.view(self.core.membership())
    }

    /// Before the loop applies `event`: what it says of clpds stopped.
    pub(super) fn clpd_stops_event(&mut self, event: &ClusterEvent) {
        let now = self.now();
        let changes = match event {
            ClusterEvent::Members { servers, .. } => {
                let local = self.local_name();
                self.places.clpd_stops.members(servers, &local, now)
            }
            ClusterEvent::Nodes { servers } => self.places.clpd_stops.corosync_nodes(servers),
            ClusterEvent::Lost { .. } | ClusterEvent::Unavailable { .. } => {
                self.places.clpd_stops.forget();
                Vec::new()
            }
            _ => Vec::new(),
        };
        self.clpd_stop_changes(changes);
    }

    /// A grace is over.
    pub(super) fn clpd_stops_timer(&mut self) {
        let changes = self.places.clpd_stops.timer(self.now());
        self.clpd_stop_changes(changes);
    }

    fn clpd_stop_changes(&mut self, changes: Vec<Change>) {
        let mut lost = false;
        for change in changes {
            match change {
                Change::WakeAt(at) => {
                    let at = self.epoch + Duration::from_millis(at);
                    self.timers.push(at, TimerKey::ClpdStopGrace);
                }
                Change::ClpdStopped { server, since } => {
                    let held = self.places.table.owned_by(&server);
                    let ago = self.now().saturating_sub(since);
                    if held.is_empty() {
                        info!(target: "nm", "clpd on {server} stopped {ago} ms ago while its Corosync runs: no partition, no NP check; it owns no group");
                    } else {
                        warn!(target: "nm", "clpd on {server} stopped {ago} ms ago without releasing {} while its Corosync runs: no partition, no NP check; those groups may still run there and are not failed over until its clpd is back or {server} leaves the cluster", held.join(", "));
                    }
                }
                Change::LeftCorosync { server } => {
                    info!(target: "nm", "{server} left Corosync's membership too: it is lost from now on");
                    lost = true;
                }
                Change::Back { server } => {
                    info!(target: "nm", "clpd on {server} is back in the cluster")
                }
            }
        }
        if lost {
            self.placement_membership();
            if self.remote.cluster_down.is_none() {
                self.partition_membership();
            }
        }
    }

    /// Raises rc 77 once while failovers wait on an incomplete view
    /// (`held`: the isolation hold is on).
    pub(super) fn incomplete_view_alert(&mut self, held: bool) {
        let membership = self.core.membership().clone();
        let waiting = clpd_stops::awaiting_failover(self.places.table.owners(), &membership);
        let stopped = self.places.clpd_stops.stopped();
        let why = if held {
            Some("this server was isolated from the others and has not met them again".to_string())
        } else if !membership.is_quorate() {
            Some("this server's partition has no quorum".to_string())
        } else {
            let owned: Vec<&String> = stopped
                .iter()
                .filter(|s| !self.places.table.owned_by(s).is_empty())
                .collect();
            (!owned.is_empty()).then(|| {
                format!(
                    "clpd stopped on {} while its Corosync runs",
                    owned
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        match why {
            Some(why) if !waiting.is_empty() => {
                if !self.places.incomplete_view_said {
                    self.places.incomplete_view_said = true;
                    warn!(target: "rc", "failover of {} held: {why}", waiting.join(", "));
                    self.rc_alert(77, &[]);
                }
            }
            _ => self.places.incomplete_view_said = false,
        }
    }
}
