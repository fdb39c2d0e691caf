//! The cluster layer: Corosync's membership, quorum and ordered messages as
//! typed events for clpd's loop.
//!
//! clp does not run a heartbeat protocol of its own (see `cluster.md`): with
//! more than one server in clp.conf, clpd starts one thread ([`start`]) that
//! owns the Corosync client handles (quorum and CPG), joins the process group
//! [`GROUP`], and turns every callback into a [`ClusterEvent`] with server
//! names instead of node ids ([`NodeMap`]). The loop applies them to the
//! engine's membership view with [`apply`]; nothing here blocks the loop:
//! [`ClusterLink::send`] queues (bounded) and returns at once.
//!
//! A one-server clp.conf never reaches this module.

mod backoff;
mod corosync;
pub mod hearing;
pub mod links;
mod nodes;
mod outbox;
pub mod report;
mod watcher;

pub use backoff::Backoff;
pub use hearing::{Hearing, HearingCheck};
pub use links::PeerLinks;
pub use nodes::NodeMap;
pub use outbox::{Outbox, SendOutcome};

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::membership::Membership;
use crate::error::{ClpError, Result};

/// The CPG group every clpd of a cluster joins: membership of this group is
/// "runs clpd", not merely "runs Corosync".
pub const GROUP: &str = "clp";

/// Messages queued for sending at most; beyond, [`ClusterLink::send`] refuses.
pub const SEND_QUEUE: usize = 1024;

/// What the cluster thread reports to the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// Connected to this server's Corosync and joined [`GROUP`] as `node_id`.
    Connected { node_id: u32 },
    /// Corosync cannot be reached (first failure only; retries follow, every
    /// `retry_in` at most, without another report until one succeeds).
    Unavailable { reason: String, retry_in: Duration },
    /// The servers whose clpd is in the group now (this one included), and
    /// node ids that no configured server has.
    Members {
        servers: Vec<String>,
        unknown: Vec<u32>,
    },
    /// This server's partition has (or lost) quorum.
    Quorum { quorate: bool },
    /// The servers whose Corosync is in this partition (Corosync's own node
    /// list, from the quorum callback): one that left [`GROUP`] but is
    /// still here only stopped its clpd.
    Nodes { servers: Vec<String> },
    /// A message delivered in the cluster's total order (own ones included).
    Message { from: String, bytes: Vec<u8> },
    /// The connection to Corosync ended (Corosync stopped or died); the
    /// thread reconnects.
    Lost { reason: String },
    /// The state of every link to every other server, when it changed.
    Links { peers: Vec<PeerLinks> },
    /// The servers in the group as Corosync answers a question asked on
    /// another connection than the callbacks' (at each membership change and
    /// every few seconds): what [`HearingCheck`] compares clpd's members with.
    Observed { servers: Vec<String> },
    /// Corosync refused this message of ours for good (`why`): it reaches
    /// no one, this server included.
    Refused { bytes: Vec<u8>, why: String },
}

/// The membership view after `event`, or None when it leaves it as it was.
/// Losing Corosync means knowing nothing of the others: all down, no quorum.
pub fn apply(membership: &Membership, event: &ClusterEvent) -> Option<Membership> {
    let mut next = membership.clone();
    match event {
        ClusterEvent::Members { servers, .. } => {
            next.set_up_servers(servers.iter().map(String::as_str))
        }
        ClusterEvent::Quorum { quorate } => next.set_quorate(*quorate),
        ClusterEvent::Lost { .. } => {
            next.set_up_servers([]);
            next.set_quorate(false);
        }
        ClusterEvent::Connected { .. }
        | ClusterEvent::Unavailable { .. }
        | ClusterEvent::Message { .. }
        | ClusterEvent::Nodes { .. }
        | ClusterEvent::Links { .. }
        | ClusterEvent::Observed { .. }
        | ClusterEvent::Refused { .. } => return None,
    }
    (next != *membership).then_some(next)
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// [`SEND_QUEUE`] messages wait already (Corosync is slow or away).
    QueueFull,
    /// The cluster thread has ended.
    Stopped,
}

/// clpd's end of the cluster thread: send messages, stop it.
pub struct ClusterLink {
    outgoing: SyncSender<Vec<u8>>,
    wake: Arc<OwnedFd>,
    stop: Arc<AtomicBool>,
    /// The servers as the thread names node ids; replaced on a reload.
    nodes: Arc<Mutex<NodeMap>>,
    /// Set with new `nodes`: the thread reports the members again.
    renamed: Arc<AtomicBool>,
    /// Set by [`ClusterLink::reconnect`].
    reconnect: Arc<AtomicBool>,
}

impl ClusterLink {
    /// Queues `bytes` for delivery to every member (this one included), in
    /// the cluster's order. Never blocks.
    pub fn send(&self, bytes: Vec<u8>) -> std::result::Result<(), SendError> {
        match self.outgoing.try_send(bytes) {
            Ok(()) => {
                corosync::wake(&self.wake);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(SendError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(SendError::Stopped),
        }
    }

    /// A reloaded configuration's servers: the thread names node ids after
    /// them from now on and reports the current members again. Never blocks
    /// for long: the thread holds the lock only to copy a name.
    pub fn set_nodes(&self, nodes: NodeMap) {
        let mut current = self
            .nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *current != nodes {
            *current = nodes;
            self.renamed.store(true, Ordering::SeqCst);
            corosync::wake(&self.wake);
        }
    }
}

impl ClusterLink {
    /// Asks the thread to close its connection to Corosync and open a new
    /// one (a new join brings the whole membership again). Never blocks; a
    /// thread stuck in a call to Corosync does it when the call returns.
    pub fn reconnect(&self) {
        self.reconnect.store(true, Ordering::SeqCst);
        corosync::wake(&self.wake);
    }
}

#[cfg(test)]
impl ClusterLink {
    /// A link with no thread behind it, for the loop's tests; the receiver
    /// gets what is sent.
    pub(crate) fn detached() -> (ClusterLink, mpsc::Receiver<Vec<u8>>) {
        let (outgoing, incoming) = mpsc::sync_channel(SEND_QUEUE);
        let link = ClusterLink {
            outgoing,
            wake: Arc::new(corosync::wake_fd().expect("an eventfd")),
            stop: Arc::default(),
            nodes: Arc::default(),
            renamed: Arc::default(),
            reconnect: Arc::default(),
        };
        (link, incoming)
    }

    /// Whether [`ClusterLink::reconnect`] was asked and not yet done.
    pub(crate) fn reconnect_asked(&self) -> bool {
        self.reconnect.load(Ordering::SeqCst)
    }
}

impl Drop for ClusterLink {
    /// Asks the thread to leave the group and end; does not wait for it.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        corosync::wake(&self.wake);
    }
}

/// Starts the cluster thread; `sink` receives its events (it must not block).
pub fn start(nodes: NodeMap, sink: Box<dyn Fn(ClusterEvent) + Send + Sync>) -> Result<ClusterLink> {
    let wake = Arc::new(corosync::wake_fd().map_err(|e| {
        ClpError::failed(format!(
            "cannot create the cluster thread's wake-up descriptor: {e}"
        ))
    })?);
    let stop = Arc::new(AtomicBool::new(false));
    let nodes = Arc::new(Mutex::new(nodes));
    let renamed = Arc::new(AtomicBool::new(false));
    let reconnect = Arc::new(AtomicBool::new(false));
    let (outgoing, incoming) = mpsc::sync_channel(SEND_QUEUE);
    let thread = corosync::Thread {
        nodes: nodes.clone(),
        renamed: renamed.clone(),
        reconnect: reconnect.clone(),
        sink: Arc::from(sink),
        incoming,
        wake: wake.clone(),
        stop: stop.clone(),
    };
    std::thread::Builder::new()
        .name("corosync".into())
        .spawn(move || thread.run())
        .map_err(|e| ClpError::failed(format!("cannot start the cluster thread: {e}")))?;
    Ok(ClusterLink {
        outgoing,
        wake,
        stop,
        nodes,
        renamed,
        reconnect,
    })
}

#[cfg(test)]
mod tests;
