//! The links as this server's Corosync sees them: the local half of the
//! heartbeat lines, carried in this server's report to the others.

use super::*;
use crate::cluster::PeerLinks;
use crate::status::LinkState;

/// Corosync's link states as the merge takes them: link N is the Nth link
/// heartbeat of clp.conf; a configured link Corosync does not list is down.
pub(super) fn link_states(model: &Cluster, peers: &[PeerLinks]) -> Vec<LinkState> {
    let mut out = Vec::new();
    for peer in peers {
        for (number, link) in model.links.links.iter().enumerate() {
            let up = peer
                .links
                .iter()
                .any(|(n, connected)| *n == number && *connected);
            out.push(LinkState {
                observer: model.local_server.clone(),
                heartbeat: link.heartbeat.clone(),
                peer: peer.server.clone(),
                up,
            });
        }
    }
    out
}

impl Daemon {
    /// Corosync's links changed: alerts for the links to running servers
    /// that went down or came back (a server that stopped has its own
    /// alert), then the view.
    pub(super) fn cluster_links(&mut self, peers: &[PeerLinks]) {
        let model = self.core.model().clone();
        let next = link_states(&model, peers);
        let before = self.view_links().cloned().unwrap_or_default();
        for link in &next {
            if !self.core.membership().is_up(&link.peer) {
                continue;
            }
            let was = before
                .iter()
                .find(|b| b.peer == link.peer && b.heartbeat == link.heartbeat)
                .is_none_or(|b| b.up);
            if was != link.up {
                // nm 3/4: "Resource <heartbeat> of server <peer> has started/stopped."
                let id = if link.up { 3 } else { 4 };
                if link.up {
                    info!(target: "nm", "heartbeat {} to {} is up again", link.heartbeat, link.peer);
                } else {
                    warn!(target: "nm", "heartbeat {} to {} is down (Corosync's link {})", link.heartbeat, link.peer, model.links.links.iter().position(|l| l.heartbeat == link.heartbeat).unwrap_or(0));
                }
                self.alert(&Alert::from_catalog(
                    &model.local_server,
                    "nm",
                    id,
                    &[&link.heartbeat, &link.peer],
                ));
            }
        }
        self.set_view_links(next);
    }
}
