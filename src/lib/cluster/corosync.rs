//! The thread that owns the Corosync handles.
//!
//! Corosync's client libraries call plain functions back from `dispatch`,
//! on the thread that dispatches. Those callbacks only record what they were
//! told in a thread-local list; after each dispatch the thread turns the list
//! into [`ClusterEvent`]s. The thread sleeps in `poll` on the handles'
//! descriptors and an eventfd that [`ClusterLink`](super::ClusterLink) uses to
//! wake it (a message to send, or stop): no sleeping loops.

use std::cell::RefCell;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_corosync::{CsError, DispatchFlags, NodeId, TrackFlags, cpg, quorum};
use rustix::event::{EventfdFlags, PollFd, PollFlags};

use super::watcher::Watcher;
use super::{Backoff, ClusterEvent, GROUP, NodeMap, Outbox, SendOutcome};

/// How soon a message refused by flow control is offered again.
const FLOW_CONTROL_RETRY: Duration = Duration::from_millis(20);

/// What a callback saw, before names are put on node ids.
enum Raw {
    Group(Vec<u32>),
    Quorum(bool),
    /// Corosync's node list (every node whose Corosync is in this
    /// partition, clpd running there or not).
    Nodes(Vec<u32>),
    Deliver(u32, Vec<u8>),
}

thread_local! {
    static SEEN: RefCell<Vec<Raw>> = const { RefCell::new(Vec::new()) };
}

fn record(raw: Raw) {
    SEEN.with(|seen| seen.borrow_mut().push(raw));
}

fn on_deliver(_: &cpg::Handle, _: String, node: NodeId, _: u32, msg: &[u8], _: usize) {
    record(Raw::Deliver(u32::from(node), msg.to_vec()));
}

fn on_group_change(
    _: &cpg::Handle,
    _: &str,
    members: Vec<cpg::Address>,
    _: Vec<cpg::Address>,
    _: Vec<cpg::Address>,
) {
    record(Raw::Group(
        members.iter().map(|a| u32::from(a.nodeid)).collect(),
    ));
}

fn on_quorum(_: &quorum::Handle, quorate: bool, _: quorum::RingId, nodes: Vec<NodeId>) {
    record(Raw::Quorum(quorate));
    record(Raw::Nodes(nodes.iter().map(|n| u32::from(*n)).collect()));
}

pub(super) fn wake_fd() -> std::io::Result<OwnedFd> {
    Ok(rustix::event::eventfd(
        0,
        EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
    )?)
}

/// Wakes the thread (a full counter already wakes it: the error is moot).
pub(super) fn wake(fd: &OwnedFd) {
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

fn drain_wake(fd: &OwnedFd) {
    let mut buf = [0u8; 8];
    let _ = rustix::io::read(fd, &mut buf);
}

pub(super) struct Thread {
    pub(super) nodes: Arc<Mutex<NodeMap>>,
    pub(super) renamed: Arc<AtomicBool>,
    pub(super) reconnect: Arc<AtomicBool>,
    pub(super) sink: Arc<dyn Fn(ClusterEvent) + Send + Sync>,
    pub(super) incoming: Receiver<Vec<u8>>,
    pub(super) wake: Arc<OwnedFd>,
    pub(super) stop: Arc<AtomicBool>,
}

/// Open handles to this server's Corosync, joined to [`GROUP`].
struct Session {
    quorum: quorum::Handle,
    cpg: cpg::Handle,
    quorum_fd: i32,
    cpg_fd: i32,
    node_id: u32,
}

fn text(what: &str, e: CsError) -> String {
    format!("{what}: {e}")
}

impl Session {
    fn open() -> Result<Session, String> {
        let (quorum, _) = quorum::initialize(
            &quorum::ModelData::ModelV1(quorum::Model1Data {
                flags: quorum::Model1Flags::None,
                quorum_notification_fn: Some(on_quorum),
                nodelist_notification_fn: None,
            }),
            0,
        )
        .map_err(|e| text("cannot connect to Corosync's quorum service", e))?;
        quorum::trackstart(&quorum, TrackFlags::Changes)
            .map_err(|e| text("cannot follow Corosync's quorum", e))?;
        record(Raw::Quorum(
            quorum::getquorate(&quorum).map_err(|e| text("cannot read Corosync's quorum", e))?,
        ));
        let cpg = cpg::initialize(
            &cpg::ModelData::ModelV1(cpg::Model1Data {
                flags: cpg::Model1Flags::None,
                deliver_fn: Some(on_deliver),
                confchg_fn: Some(on_group_change),
                totem_confchg_fn: None,
            }),
            0,
        )
        .map_err(|e| text("cannot connect to Corosync's process groups", e))?;
        cpg::join(&cpg, GROUP).map_err(|e| text(&format!("cannot join the group {GROUP:?}"), e))?;
        let node_id =
            u32::from(cpg::local_get(&cpg).map_err(|e| text("cannot read this node's id", e))?);
        let quorum_fd =
            quorum::fd_get(&quorum).map_err(|e| text("cannot poll Corosync's quorum", e))?;
        let cpg_fd = cpg::fd_get(&cpg).map_err(|e| text("cannot poll Corosync's groups", e))?;
        Ok(Session {
            quorum,
            cpg,
            quorum_fd,
            cpg_fd,
            node_id,
        })
    }

    fn send(&self, bytes: &[u8]) -> SendOutcome {
        match cpg::mcast_joined(&self.cpg, cpg::Guarantee::TypeAgreed, bytes) {
            Ok(()) => SendOutcome::Sent,
            Err(CsError::CsErrTryAgain) => SendOutcome::TryAgain,
            Err(e) => SendOutcome::Failed(format!(
                "Corosync refused a message of {} bytes: {e}",
                bytes.len()
            )),
        }
    }
}

impl Thread {
    pub(super) fn run(self) {
        let mut backoff = Backoff::for_corosync();
        let mut outbox = Outbox::default();
        let mut reported_unavailable = false;
        while !self.stopping() {
            SEEN.with(|seen| seen.borrow_mut().clear());
            match Session::open() {
                Ok(session) => {
                    backoff.reset();
                    // A new connection is what an earlier ask wanted.
                    self.reconnect.store(false, Ordering::SeqCst);
                    reported_unavailable = false;
                    (self.sink)(ClusterEvent::Connected {
                        node_id: session.node_id,
                    });
                    let ended = self.serve(&session, &mut outbox);
                    if self.stopping() {
                        let _ = cpg::leave(&session.cpg, GROUP);
                        return;
                    }
                    let dropped = outbox.clear();
                    let reason = if dropped > 0 {
                        format!("{ended} ({dropped} unsent message(s) dropped)")
                    } else {
                        ended
                    };
                    (self.sink)(ClusterEvent::Lost { reason });
                }
                Err(reason) => {
                    let wait = backoff.next_wait();
                    if !reported_unavailable {
                        reported_unavailable = true;
                        (self.sink)(ClusterEvent::Unavailable {
                            reason,
                            retry_in: Backoff::for_corosync().max_wait(),
                        });
                    }
                    self.wait_woken(Some(wait));
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits for the wake-up descriptor, at most `timeout`.
    fn wait_woken(&self, timeout: Option<Duration>) {
        let mut fds = [PollFd::new(&*self.wake, PollFlags::IN)];
        let timeout = timeout.and_then(|t| rustix::event::Timespec::try_from(t).ok());
        let _ = rustix::event::poll(&mut fds, timeout.as_ref());
        drain_wake(&self.wake);
    }

    /// Dispatches until the connection ends or clpd stops; returns why it ended.
    fn serve(&self, session: &Session, outbox: &mut Outbox) -> String {
        // Dropped when this session ends: the reader then ends too.
        let watcher = Watcher::start(self.nodes.clone(), self.sink.clone(), session.node_id);
        loop {
            if self.reconnect.swap(false, Ordering::SeqCst) {
                self.report_seen();
                return "clpd asked for a new connection".into();
            }
            if self.renamed.swap(false, Ordering::SeqCst) {
                // New names for the same members: ask who is in the group.
                match cpg::membership_get(&session.cpg, GROUP) {
                    Ok(members) => record(Raw::Group(
                        members.iter().map(|a| u32::from(a.nodeid)).collect(),
                    )),
                    Err(e) => return text("cannot read the group's members", e),
                }
            }
            if self.report_seen()
                && let Some(watcher) = &watcher
            {
                watcher.read_now();
            }
            while let Ok(bytes) = self.incoming.try_recv() {
                outbox.push(bytes);
            }
            for (bytes, why) in outbox.flush(|bytes| session.send(bytes)) {
                tracing::warn!(target: "nm", "{why}");
                (self.sink)(ClusterEvent::Refused { bytes, why });
            }
            if self.stopping() {
                return "clpd is stopping".into();
            }
            // SAFETY: both descriptors belong to the handles in `session`,
            // which outlive this borrow (they are closed by finalize on drop).
            let (quorum_fd, cpg_fd) = unsafe {
                (
                    BorrowedFd::borrow_raw(session.quorum_fd),
                    BorrowedFd::borrow_raw(session.cpg_fd),
                )
            };
            let mut fds = [
                PollFd::new(&quorum_fd, PollFlags::IN),
                PollFd::new(&cpg_fd, PollFlags::IN),
                PollFd::new(&*self.wake, PollFlags::IN),
            ];
            // Idle: until Corosync or the wake-up descriptor says something.
            let retry = (!outbox.is_empty())
                .then(|| rustix::event::Timespec::try_from(FLOW_CONTROL_RETRY).ok())
                .flatten();
            match rustix::event::poll(&mut fds, retry.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return format!("cannot wait for Corosync: {e}"),
            }
            let ready: Vec<PollFlags> = fds.iter().map(PollFd::revents).collect();
            if ready[2].contains(PollFlags::IN) {
                drain_wake(&self.wake);
            }
            let closed = PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL;
            if ready[0].intersects(closed) || ready[1].intersects(closed) {
                self.report_seen();
                return "Corosync closed the connection".into();
            }
            if ready[0].contains(PollFlags::IN)
                && let Err(e) = quorum::dispatch(&session.quorum, DispatchFlags::All)
            {
                self.report_seen();
                return text("lost Corosync's quorum service", e);
            }
            if ready[1].contains(PollFlags::IN)
                && let Err(e) = cpg::dispatch(&session.cpg, DispatchFlags::All)
            {
                self.report_seen();
                return text("lost Corosync's process groups", e);
            }
        }
    }

    /// Sends what the callbacks recorded, as events with server names; true
    /// when the group's members changed.
    fn report_seen(&self) -> bool {
        let seen = SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()));
        if seen.is_empty() {
            return false;
        }
        let members_changed = seen.iter().any(|raw| matches!(raw, Raw::Group(_)));
        let nodes = self
            .nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        for raw in seen {
            let event = match raw {
                Raw::Group(ids) => {
                    let (servers, unknown) = nodes.names(&ids);
                    ClusterEvent::Members { servers, unknown }
                }
                Raw::Quorum(quorate) => ClusterEvent::Quorum { quorate },
                Raw::Nodes(ids) => ClusterEvent::Nodes {
                    servers: nodes.names(&ids).0,
                },
                Raw::Deliver(id, bytes) => ClusterEvent::Message {
                    from: nodes.sender(id),
                    bytes,
                },
            };
            (self.sink)(event);
        }
        members_changed
    }
}
