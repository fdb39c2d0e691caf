//! The whole cluster's status from what each server reports.
//!
//! Every server publishes its own [`Snapshot`]: its server line, its groups
//! and its monitors as it runs them. The cluster layer passes along the
//! snapshots last received from the other servers, the membership (who is up,
//! quorum) and the state of each heartbeat link as each server sees it;
//! [`merge`] makes the one snapshot `clpstat` shows on any server. It is pure:
//! no clock (ages come in), no I/O, same inputs, same view.
//!
//! The rules (CLUSTERPRO's, where its reference says them; our choice,
//! documented in clpstat(1), where it is silent):
//!
//! * **Servers** are listed in priority order, the local one marked. A server
//!   outside the membership is `Offline`, and so are its heartbeat and network
//!   partition lines (the corpus shows a stopped cluster that way). A member
//!   shows the state it reports for itself; a member whose report is missing
//!   or older than `stale_after` is `Unknown`.
//! * **LAN heartbeats** (`lanhb`, `lankhb`: the Corosync links), the line
//!   under server S: among the other running members, who hears S on that
//!   heartbeat (each hearer's own view; the speaker's view of the hearer when
//!   the hearer did not say). Heard by all: `Normal`; by some: `Caution`; by
//!   none of two or more: `Error`; no other running member: `Normal`
//!   (nothing to hear; the Offline server line says the rest). Nobody said
//!   anything: `Unknown`. With one other running member (two servers), a
//!   link it does not hear S on is `Caution`: Corosync then shows the link
//!   down on both sides, so which end failed cannot be told, and both still
//!   hear each other on another link (they are members), so the cluster has
//!   lost a path, not a server. `Error` says more: S's end of the link is
//!   the one at fault (the others hear each other on it), or the link is
//!   down between every pair of servers.
//! * **Other heartbeats and network partition resources** (witness, disk,
//!   ping, http): what S reports for its own line.
//! * **Groups** come from the server that runs them: the first server in
//!   priority order whose report names itself as the group's current server.
//!   No such server: the local report (Offline, current None).
//! * **Monitors**: the state on each server is that server's report (`Offline`
//!   where the monitor is not configured to run or the server is not running,
//!   `Unknown` without a fresh report). The cluster-wide state, over the
//!   servers where the monitor runs (not Offline, not Unused): `Error` on all
//!   of them is `Error`, on some is `Caution`; otherwise `Warning` if any,
//!   `Suspend` if all are suspended, `Unknown` if any is unknown, else
//!   `Normal`. Running nowhere: `Offline`. Counters and detail come from the
//!   local report.

use std::collections::HashMap;
use std::time::Duration;

use super::{
    GroupStatus, HeartbeatState, HeartbeatStatus, MonitorOnServer, MonitorState, MonitorStatus,
    PeerLink, Quorum, ServerState, ServerStatus, Snapshot,
};
use crate::model::Cluster;

/// The last snapshot received from another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// The server that sent it (its name in clp.conf).
    pub server: String,
    pub snapshot: Snapshot,
    /// How long ago it was received.
    pub age: Duration,
}

/// The membership of this server's partition, as Corosync reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Server names (order does not matter).
    pub members: Vec<String>,
    pub quorate: bool,
}

/// One heartbeat link as one server sees it: `observer` hears `peer` on
/// `heartbeat` (`up`) or not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkState {
    pub observer: String,
    pub heartbeat: String,
    pub peer: String,
    pub up: bool,
}

/// Everything [`merge`] reads.
#[derive(Debug, Clone, Copy)]
pub struct MergeInput<'a> {
    /// The running configuration: server order, comments, where monitors run.
    pub model: &'a Cluster,
    /// This server's own snapshot.
    pub local: &'a Snapshot,
    /// The last report of each other server (at most one per server).
    pub peers: &'a [PeerReport],
    pub members: &'a Members,
    /// Link states as every server sees them (this one's and the peers').
    pub links: &'a [LinkState],
    /// A report older than this no longer counts.
    pub stale_after: Duration,
}

/// Heartbeat kinds that are links between servers (Corosync links in clp).
pub fn is_link_kind(kind: &str) -> bool {
    matches!(kind, "lanhb" | "lankhb")
}

/// The merged cluster view (rules in the module documentation).
pub fn merge(input: &MergeInput<'_>) -> Snapshot {
    let view = View::new(input);
    let servers = input
        .model
        .servers
        .iter()
        .map(|s| view.server(&s.name, &s.comment))
        .collect();
    let groups = input.local.groups.iter().map(|g| view.group(g)).collect();
    let monitors = input
        .local
        .monitors
        .iter()
        .map(|m| view.monitor(m))
        .collect();
    let mut out = input.local.clone();
    out.servers = servers;
    out.groups = groups;
    out.monitors = monitors;
    out.cluster.quorum = Some(Quorum {
        quorate: input.members.quorate,
        members: input
            .model
            .servers
            .iter()
            .map(|s| s.name.clone())
            .filter(|n| input.members.members.contains(n))
            .collect(),
    });
    out
}

/// The inputs with the questions the rules ask of them.
struct View<'a> {
    input: &'a MergeInput<'a>,
    local_name: String,
    /// Per server with a report that counts, its monitors' states by name
    /// (a thousand monitors on several servers: one hash per lookup).
    monitor_states: HashMap<&'a str, HashMap<&'a str, MonitorState>>,
}

impl<'a> View<'a> {
    fn new(input: &'a MergeInput<'a>) -> Self {
        let local_name = input
            .local
            .servers
            .iter()
            .find(|s| s.local)
            .map_or_else(|| input.model.local_server.clone(), |s| s.name.clone());
        let mut view = View {
            input,
            local_name,
            monitor_states: HashMap::new(),
        };
        for server in &input.model.servers {
            if let Some((snapshot, _)) = view.report(&server.name) {
                let states = snapshot
                    .monitors
                    .iter()
                    .map(|m| (m.name.as_str(), m.status))
                    .collect();
                view.monitor_states.insert(server.name.as_str(), states);
            }
        }
        view
    }

    fn is_member(&self, server: &str) -> bool {
        self.input.members.members.iter().any(|m| m == server)
    }

    /// The snapshot `server` last reported, with its age, if it still counts.
    fn report(&self, server: &str) -> Option<(&'a Snapshot, Option<Duration>)> {
        if server == self.local_name {
            return Some((self.input.local, None));
        }
        self.input
            .peers
            .iter()
            .find(|p| p.server == server && p.age <= self.input.stale_after)
            .map(|p| (&p.snapshot, Some(p.age)))
    }

    /// `server`'s line about itself in its own report.
    fn own_line(&self, server: &str) -> Option<&'a ServerStatus> {
        let (snapshot, _) = self.report(server)?;
        snapshot.servers.iter().find(|s| s.name == server)
    }

    fn state(&self, server: &str) -> ServerState {
        if !self.is_member(server) {
            return ServerState::Offline;
        }
        self.own_line(server)
            .map_or(ServerState::Unknown, |line| line.status)
    }

    /// A member whose cluster service runs (or may: Unknown).
    fn running(&self, server: &str) -> bool {
        self.state(server) != ServerState::Offline
    }

    /// Does `hearer` hear `speaker` on `heartbeat`? The hearer's word first.
    fn hears(&self, hearer: &str, speaker: &str, heartbeat: &str) -> Option<bool> {
        let said = |observer: &str, peer: &str| {
            self.input
                .links
                .iter()
                .find(|l| l.observer == observer && l.peer == peer && l.heartbeat == heartbeat)
                .map(|l| l.up)
        };
        said(hearer, speaker).or_else(|| said(speaker, hearer))
    }

    fn others_running(&self, server: &str) -> Vec<&'a str> {
        self.input
            .model
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| *n != server && self.running(n))
            .collect()
    }

    fn server(&self, name: &str, comment: &str) -> ServerStatus {
        let status = self.state(name);
        let lines: Vec<HeartbeatStatus> = self
            .input
            .local
            .servers
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.heartbeats.clone())
            .unwrap_or_else(|| {
                self.input
                    .model
                    .heartbeats
                    .iter()
                    .map(|h| HeartbeatStatus {
                        name: h.name.clone(),
                        kind: h.kind.clone(),
                        status: HeartbeatState::Unknown,
                        peers: Vec::new(),
                    })
                    .collect()
            });
        let heartbeats = lines
            .into_iter()
            .map(|line| self.heartbeat(name, status, line))
            .collect();
        ServerStatus {
            name: name.to_string(),
            local: name == self.local_name,
            status,
            heartbeats,
            comment: comment.to_string(),
            report_age_ms: self
                .report(name)
                .and_then(|(_, age)| age)
                .map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn heartbeat(
        &self,
        server: &str,
        state: ServerState,
        line: HeartbeatStatus,
    ) -> HeartbeatStatus {
        let mut out = HeartbeatStatus {
            peers: Vec::new(),
            ..line
        };
        if state == ServerState::Offline {
            out.status = HeartbeatState::Offline;
            return out;
        }
        if !is_link_kind(&out.kind) {
            out.status = self
                .own_line(server)
                .and_then(|own| own.heartbeats.iter().find(|h| h.name == out.name))
                .map_or(HeartbeatState::Unknown, |h| h.status);
            return out;
        }
        let others = self.others_running(server);
        let heard: Vec<bool> = others
            .iter()
            .filter_map(|o| self.hears(o, server, &out.name))
            .collect();
        out.status = if others.is_empty() {
            HeartbeatState::Normal
        } else if heard.is_empty() {
            HeartbeatState::Unknown
        } else if heard.iter().all(|up| *up) {
            HeartbeatState::Normal
        } else if heard.iter().any(|up| *up) || others.len() < 2 {
            // Heard by some; or the one other server does not hear S, which
            // blames neither end (see the module documentation).
            HeartbeatState::Caution
        } else {
            HeartbeatState::Error
        };
        out.peers = others
            .iter()
            .filter_map(|o| {
                self.hears(server, o, &out.name).map(|up| PeerLink {
                    server: (*o).to_string(),
                    up,
                })
            })
            .collect();
        out
    }

    fn group(&self, local: &GroupStatus) -> GroupStatus {
        let owner = self.input.model.servers.iter().find_map(|s| {
            if !self.running(&s.name) {
                return None;
            }
            let (snapshot, _) = self.report(&s.name)?;
            snapshot
                .groups
                .iter()
                .find(|g| g.name == local.name && g.current.as_deref() == Some(s.name.as_str()))
        });
        let mut out = owner.unwrap_or(local).clone();
        out.comment = self
            .input
            .model
            .group(&local.name)
            .map(|g| g.comment.clone())
            .unwrap_or_default();
        out
    }

    fn monitor(&self, local: &MonitorStatus) -> MonitorStatus {
        let configured = self.input.model.monitor(&local.name);
        let runs_on = |server: &str| {
            configured.is_none_or(|m| m.servers.is_empty() || m.servers.iter().any(|s| s == server))
        };
        let servers: Vec<MonitorOnServer> = self
            .input
            .model
            .servers
            .iter()
            .map(|s| {
                let status = if !runs_on(&s.name) || !self.running(&s.name) {
                    MonitorState::Offline
                } else {
                    self.monitor_states
                        .get(s.name.as_str())
                        .and_then(|states| states.get(local.name.as_str()))
                        .copied()
                        .unwrap_or(MonitorState::Unknown)
                };
                MonitorOnServer {
                    server: s.name.clone(),
                    status,
                }
            })
            .collect();
        let mut out = local.clone();
        out.status = cluster_wide(servers.iter().map(|s| s.status));
        out.servers = servers;
        out.comment = configured.map(|m| m.comment.clone()).unwrap_or_default();
        out
    }
}

/// A monitor's cluster-wide state from its state on each server.
pub fn cluster_wide(states: impl Iterator<Item = MonitorState>) -> MonitorState {
    let running: Vec<MonitorState> = states
        .filter(|s| !matches!(s, MonitorState::Offline | MonitorState::Unused))
        .collect();
    let errors = running
        .iter()
        .filter(|s| matches!(s, MonitorState::Error | MonitorState::Caution))
        .count();
    let any = |want: MonitorState| running.contains(&want);
    if running.is_empty() {
        MonitorState::Offline
    } else if errors == running.len() {
        MonitorState::Error
    } else if errors > 0 {
        MonitorState::Caution
    } else if any(MonitorState::Warning) {
        MonitorState::Warning
    } else if running.iter().all(|s| *s == MonitorState::Suspend) {
        MonitorState::Suspend
    } else if any(MonitorState::Unknown) {
        MonitorState::Unknown
    } else {
        MonitorState::Normal
    }
}

#[cfg(test)]
pub(crate) mod tests;
