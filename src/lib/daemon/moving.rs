//! A group on its way between two servers, as clpstat shows it.
//!
//! A move or a failover passes through moments the engine alone calls
//! Offline: the source has stopped the group and its release has not yet
//! come back in the cluster's order; the destination has been named (or has
//! claimed the group) and has not started it yet. CLUSTERPRO shows such a
//! group as moving: `Offline Pending` on the source until it has let go,
//! `Online Pending` on the destination until its start ends. The source
//! keeps showing `Offline Pending` after its release came back, until the
//! destination's report shows the group there. This server's
//! own report says so for those moments, so every server's merged view
//! (`status::merge` takes a group from the server whose report names itself
//! current) follows the group from one side to the other with no Offline
//! gap. A group that is not moving shows exactly what the engine says.

use std::collections::BTreeMap;

use super::*;
use crate::engine::placement::ClaimReason;
use crate::status::Snapshot;
use crate::vocab::RunState;

impl Daemon {
    /// The groups this server shows as moving, with the state they show.
    fn moving_groups(&self) -> BTreeMap<String, RunState> {
        let local = self.local_name();
        let table = &self.places.table;
        let membership = self.core.membership();
        self.core
            .model()
            .groups
            .iter()
            .map(|g| g.name.as_str())
            .filter(|g| self.core.engine().group_state(g) == RunState::Offline)
            .filter_map(|g| {
                let arriving = self.places.arriving.contains_key(g)
                    || table.pending_claim(g).is_some_and(|r| {
                        matches!(
                            r,
                            ClaimReason::Move | ClaimReason::Failover | ClaimReason::Failback
                        )
                    })
                    || table.next(g).is_some_and(|(n, _)| {
                        n == local && table.owner(g).is_none_or(|o| !membership.is_up(o))
                    });
                let leaving =
                    self.places.handing_over.contains(g) || self.places.handed.contains_key(g);
                let shown = if leaving {
                    RunState::OfflinePending
                } else if arriving {
                    RunState::OnlinePending
                } else {
                    return None;
                };
                Some((g.to_string(), shown))
            })
            .collect()
    }

    /// After a batch: when the groups shown as moving changed, the snapshot
    /// (and this server's report) is written again.
    pub(super) fn note_moving(&mut self) {
        if !self.several_servers() {
            return;
        }
        // A group handed over stays Offline Pending here until its new
        // server's report shows it there (or that server is gone, or
        // another took it): the others' views never see it nowhere.
        let membership = self.core.membership().clone();
        let handed = std::mem::take(&mut self.places.handed);
        self.places.handed = handed
            .into_iter()
            .filter(|(group, dest)| {
                membership.is_up(dest)
                    && self.places.table.owner(group).is_none_or(|o| o == dest)
                    && !self.view.peers.names_current(dest, group)
                    && self.core.engine().group_state(group) == RunState::Offline
            })
            .collect();
        let now = self.moving_groups();
        if now != self.places.moving {
            self.places.moving = now;
            self.publisher.mark_unwritten();
        }
    }

    /// This server's own snapshot with its moving groups.
    pub(super) fn show_moving(&self, own: &mut Snapshot) {
        let local = self.local_name();
        for group in &mut own.groups {
            if let Some(state) = self.places.moving.get(&group.name)
                && group.status == RunState::Offline
            {
                group.status = *state;
                group.current = Some(local.clone());
            }
        }
    }
}
