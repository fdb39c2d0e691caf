//! The thread beside the cluster thread (`corosync-links`): it reads the
//! links' states through cfg and asks Corosync who is in [`GROUP`], with
//! handles of its own.
//!
//! Why not on the cluster thread: a cfg call is a synchronous request to
//! Corosync, which may take long to answer while it is busy forming a
//! membership; membership, quorum and messages must not wait behind it. And
//! the members asked for here are the self-check's reference
//! ([`super::hearing`]): they must come another way than the callbacks they
//! check.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};

use rust_corosync::{CsError, cfg, cpg};

use super::links::{self, LINK_READ_EVERY, PeerLinks};
use super::{ClusterEvent, GROUP, NodeMap};

/// The cluster thread's end of the watcher; dropping it ends the watcher
/// (after the call it is in, if any).
pub(super) struct Watcher {
    /// A read now (a membership change); the watcher also reads every
    /// [`LINK_READ_EVERY`].
    now: SyncSender<()>,
}

impl Watcher {
    /// None when the thread cannot start (the heartbeat lines then follow
    /// the membership only and the self-check does not run; said in the log).
    pub(super) fn start(
        nodes: Arc<Mutex<NodeMap>>,
        sink: Arc<dyn Fn(ClusterEvent) + Send + Sync>,
        local_id: u32,
    ) -> Option<Watcher> {
        let (now, asked) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("corosync-links".into())
            .spawn(move || watch(&nodes, &*sink, local_id, &asked));
        match spawned {
            Ok(_) => Some(Watcher { now }),
            Err(e) => {
                tracing::warn!(target: "nm", "cannot start the thread that reads the links ({e}): the heartbeat lines follow the membership only, and clpd does not check that it hears Corosync");
                None
            }
        }
    }

    pub(super) fn read_now(&self) {
        // Full: a read is already asked for.
        let _ = self.now.try_send(());
    }
}

/// A CPG handle that joins nothing: it only asks who is in the group.
fn group_reader() -> Result<cpg::Handle, CsError> {
    cpg::initialize(
        &cpg::ModelData::ModelV1(cpg::Model1Data {
            flags: cpg::Model1Flags::None,
            deliver_fn: None,
            confchg_fn: None,
            totem_confchg_fn: None,
        }),
        0,
    )
}

/// Reads at every request and every [`LINK_READ_EVERY`] until the watcher
/// is dropped: the links (reported when they changed) and the group's
/// members (reported every time: the loop compares each answer).
fn watch(
    nodes: &Mutex<NodeMap>,
    sink: &(dyn Fn(ClusterEvent) + Send + Sync),
    local_id: u32,
    asked: &Receiver<()>,
) {
    let handle = match cfg::initialize(&cfg::Callbacks {
        corosync_cfg_shutdown_callback_fn: None,
    }) {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(target: "nm", "cannot connect to Corosync's cfg service ({e}): the heartbeat lines follow the membership only");
            None
        }
    };
    let mut group: Option<cpg::Handle> = None;
    let mut group_failed = false;
    let mut last: Option<Vec<PeerLinks>> = None;
    loop {
        let nodes = nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if group.is_none() {
            match group_reader() {
                Ok(handle) => group = Some(handle),
                Err(e) if !group_failed => {
                    group_failed = true;
                    tracing::warn!(target: "nm", "cannot open a second connection to Corosync's process groups ({e}): clpd cannot check that it hears Corosync; retrying at each read");
                }
                Err(_) => {}
            }
        }
        if let Some(reader) = &group {
            match cpg::membership_get(reader, GROUP) {
                Ok(members) => {
                    let ids: Vec<u32> = members.iter().map(|a| u32::from(a.nodeid)).collect();
                    let (servers, _) = nodes.names(&ids);
                    sink(ClusterEvent::Observed { servers });
                }
                Err(e) => {
                    tracing::debug!(target: "nm", "cannot ask Corosync for the group's members: {e}");
                    // A new connection next time (this one may be the broken part).
                    group = None;
                }
            }
        }
        if let Some(handle) = &handle {
            match links::read(handle, &nodes, local_id) {
                Ok(peers) if last.as_ref() != Some(&peers) => {
                    last = Some(peers.clone());
                    sink(ClusterEvent::Links { peers });
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(target: "nm", "{e}"),
            }
        }
        match asked.recv_timeout(LINK_READ_EVERY) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
