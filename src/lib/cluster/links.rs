//! Each Corosync link to each other server, as this server's Corosync sees
//! it (knet's per-link `connected`, through the cfg library's node status).
//!
//! Read on a thread of their own (`corosync-links`), never on clpd's loop nor
//! on the thread that dispatches the membership: at every membership change
//! and every [`LINK_READ_EVERY`] (one local IPC call per configured server; a
//! few tens of microseconds each, unless Corosync is busy).

use std::time::Duration;

use rust_corosync::{NodeId, cfg};

use super::NodeMap;

/// How often the links are read between membership changes: a link that
/// goes down without a membership change (the others carry it) shows within
/// this, on top of knet's own ping timeout.
pub const LINK_READ_EVERY: Duration = Duration::from_secs(2);

/// The links to one other server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLinks {
    pub server: String,
    /// Link number (Corosync's `linknumber`, the heartbeats' order in
    /// clp.conf) and whether knet has it connected, for each configured link.
    pub links: Vec<(usize, bool)>,
}

/// The links to every configured server but `local_id`. A server Corosync
/// does not know (yet) is left out; a failure to ask is an error for all.
pub fn read(
    handle: &cfg::Handle,
    nodes: &NodeMap,
    local_id: u32,
) -> Result<Vec<PeerLinks>, String> {
    let mut out = Vec::new();
    for (id, server) in nodes.iter().filter(|(id, _)| *id != local_id) {
        let status =
            match cfg::node_status_get(handle, NodeId::from(id), cfg::NodeStatusVersion::V1) {
                Ok(status) => status,
                // Not in Corosync's nodelist (a server added since it started).
                Err(rust_corosync::CsError::CsErrNotExist) => continue,
                Err(e) => return Err(format!("cannot read the links to {server}: {e}")),
            };
        out.push(PeerLinks {
            server: server.to_string(),
            links: status
                .link_status
                .iter()
                .enumerate()
                .filter(|(_, l)| l.enabled)
                .map(|(number, l)| (number, l.connected))
                .collect(),
        });
    }
    Ok(out)
}
