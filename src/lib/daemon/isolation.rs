//! What a server that lost a partition remembers across a restart.
//!
//! The isolated side of a partition stops its groups (the release) so that
//! the other side may take them over. A clpd restarted afterwards (by the
//! service manager, by an operator, or after the NP action rebooted the
//! machine) starts with an empty owner table, and with two servers
//! Corosync keeps its quorum alone: without a memory of the partition it
//! would start its groups automatically again, beside the server that took
//! them. So the servers lost at the release are persisted (`state.json`,
//! `isolated_from`, handed to the writer thread, fsynced, as the release
//! begins) and, as
//! long as one of them is not back (a member of the CPG group that has
//! reported, so that the owner table holds what it runs), this server
//! claims nothing by itself: no automatic start, no failover, no failback.
//! An operator's `clpgrp -s` still goes through (it is the operator's
//! decision, and a claim still needs the cluster's verdict). Once every
//! lost server is back, the hold ends and is forgotten.

use super::*;

impl Daemon {
    /// This server is the isolated side: remember whom it lost.
    pub(super) fn isolation_begins(&mut self) {
        if !self.several_servers() {
            return;
        }
        let membership = self.core.membership().clone();
        let lost: Vec<String> = self
            .core
            .model()
            .servers
            .iter()
            .map(|s| s.name.clone())
            .filter(|s| !membership.is_up(s))
            .collect();
        if lost.is_empty() {
            return;
        }
        info!(target: "nm", "remembering that this server released its groups cut off from {}: it starts none by itself until they are back", lost.join(", "));
        self.places.isolated_from.extend(lost);
        self.places.isolation_said = true;
        // Handed to the writer (fsynced) before the release's scripts run,
        // without waiting for the disk: the release must not wait for it.
        self.save_state(true);
    }

    /// The persisted isolation of the previous clpd (or boot).
    pub(super) fn restore_isolation(&mut self, persisted: &[String]) {
        let model = self.core.model().clone();
        let lost: Vec<String> = persisted
            .iter()
            .filter(|s| model.servers.iter().any(|m| m.name == **s) && **s != model.local_server)
            .cloned()
            .collect();
        if lost.is_empty() || model.servers.len() < 2 {
            return;
        }
        warn!(target: "nm", "this server released its groups as the isolated side of a partition from {}: it starts and takes over no group by itself until they are back in the cluster", lost.join(", "));
        self.places.isolation_said = true;
        self.places.isolated_from = lost.into_iter().collect();
    }

    /// True while the isolation holds this server's claims; ends it (and
    /// persists that) once every server lost is a member that reported.
    pub(super) fn isolation_holds(&mut self) -> bool {
        if self.places.isolated_from.is_empty() {
            return false;
        }
        let membership = self.core.membership().clone();
        let now = self.clock.now();
        let reported: Vec<String> = self
            .view
            .peers
            .digests(now)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let back = self
            .places
            .isolated_from
            .iter()
            .all(|s| membership.is_up(s) && reported.contains(s));
        if !back {
            if !self.places.isolation_said {
                self.places.isolation_said = true;
                warn!(target: "nm", "this server was isolated from {:?}: it claims no group until they are back", self.places.isolated_from);
            }
            return true;
        }
        info!(target: "nm", "every server this one was isolated from is back ({}): its groups follow the cluster's placement again", self.places.isolated_from.iter().cloned().collect::<Vec<_>>().join(", "));
        self.places.isolated_from.clear();
        self.places.isolation_said = false;
        self.save_state(true);
        false
    }
}
