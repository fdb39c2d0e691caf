//! Requests for another server (`-h HOST`): forwarded over the cluster,
//! answered by the target through the same request path as a local one.
//!
//! The origin keeps each forwarded request in [`remote::Pending`] with a
//! deadline on the timer heap; the answer, the deadline or the target
//! leaving settles it, whichever comes first, and a reply for a client that
//! went away is dropped by the closed channel. Nothing here waits: sending
//! queues, and the target's answer comes back to its loop as an event.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::*;
use crate::protocol::{NoAnswerCause, ObjectKind, Rejection};
use crate::remote::{self, Incoming, Message};

/// Requests of this server waiting for another server's answer, at most.
pub(super) const MAX_FORWARDED: usize = 256;

/// Requests of other servers being carried out here at once, at most (each
/// has a small thread waiting for the loop's answer).
const MAX_SERVED: usize = 64;

/// The daemon's side of remote requests.
pub(super) struct Remote {
    pub(super) pending: remote::Pending<Sender<Reply>>,
    /// Connected to Corosync and in the group; else why not.
    pub(super) cluster_down: Option<String>,
    serving: Arc<AtomicUsize>,
    /// Messages of other servers arriving in parts.
    assembler: remote::Assembler,
    /// This server's number for its next message sent in parts (shared
    /// with the threads that encode large answers).
    next_transfer: Arc<AtomicU64>,
    /// This server's messages in parts, leaving a few at a time.
    pub(super) paced: remote::Paced,
    /// A [`TimerKey::PacedStall`] is on the timer heap.
    paced_timer: bool,
}

/// Why a message did not leave.
enum NotSent {
    /// Larger than even a message in parts may be.
    TooLarge,
    /// Corosync's queue is full or the cluster thread is gone.
    NotQueued,
}

impl Remote {
    pub(super) fn new() -> Self {
        Remote {
            pending: remote::Pending::new(MAX_FORWARDED),
            cluster_down: Some("not connected to Corosync yet".into()),
            serving: Arc::new(AtomicUsize::new(0)),
            assembler: remote::Assembler::default(),
            next_transfer: Arc::new(AtomicU64::new(1)),
            paced: remote::Paced::default(),
            paced_timer: false,
        }
    }
}

fn rejected(rejection: Rejection) -> Reply {
    Reply::Rejected(rejection)
}

impl Daemon {
    /// `request` for `server`: carried out here when it names this server,
    /// else forwarded, or rejected with what stands in the way.
    pub(super) fn request_on(
        &mut self,
        server: String,
        request: Request,
        wait_secs: u64,
        reply: Sender<Reply>,
    ) {
        if matches!(request, Request::On { .. }) {
            let _ = reply.send(rejected(Rejection::Invalid {
                reason: "a request for another server cannot itself name a server".into(),
            }));
            return;
        }
        let model = self.core.model().clone();
        if server == model.local_server {
            self.request(request, reply);
            return;
        }
        if model.server(&server).is_none() {
            let known = model.servers.iter().map(|s| s.name.clone()).collect();
            let _ = reply.send(rejected(Rejection::unknown(
                ObjectKind::Server,
                server,
                known,
            )));
            return;
        }
        let answer = match (&self.cluster, &self.remote.cluster_down) {
            (None, _) => Some(Rejection::ClusterUnavailable {
                reason: "clpd does not follow Corosync (see nm.log)".into(),
            }),
            (Some(_), Some(why)) => Some(Rejection::ClusterUnavailable {
                reason: why.clone(),
            }),
            (Some(_), None) if !self.core.membership().is_up(&server) => {
                Some(Rejection::ServerOffline {
                    server: server.clone(),
                })
            }
            (Some(_), None) => None,
        };
        if let Some(rejection) = answer {
            let _ = reply.send(rejected(rejection));
            return;
        }
        self.forward(server, request, wait_secs, reply);
    }

    fn forward(&mut self, target: String, request: Request, wait_secs: u64, reply: Sender<Reply>) {
        let now = self.now();
        let id = match self.remote.pending.insert(&target, reply, now, wait_secs) {
            Ok(id) => id,
            Err(reply) => {
                let _ = reply.send(rejected(Rejection::Failed {
                    kind: ErrorKind::State,
                    detail: format!(
                        "{MAX_FORWARDED} requests for other servers wait for answers already; try again later"
                    ),
                }));
                return;
            }
        };
        let local = self.core.model().local_server.clone();
        info!(target: "rc", "request {id} for {target}: {request:?}");
        let message = Message::Forward {
            id,
            origin: local,
            target: target.clone(),
            request,
        };
        let sent = self.send_message(&message);
        if let Err(NotSent::TooLarge) = sent {
            if let Some(settled) = self.remote.pending.fail(id, NoAnswerCause::NotSent) {
                let _ = settled.client.send(rejected(Rejection::Invalid {
                    reason: format!("the request is larger than {} bytes", remote::MAX_WHOLE),
                }));
            }
            return;
        }
        if sent.is_err() {
            warn!(target: "rc", "request {id} for {target} could not be queued for Corosync");
            if let Some(settled) = self.remote.pending.fail(id, NoAnswerCause::NotSent) {
                let _ = settled.client.send(settled.reply);
            }
            return;
        }
        let at = self.clock.now() + Duration::from_secs(wait_secs);
        self.timers.push(at, TimerKey::Remote(id));
    }

    /// A forwarded request's deadline (the timer of request `id`).
    pub(super) fn remote_deadline(&mut self) {
        for settled in self.remote.pending.expire(self.now()) {
            warn!(target: "rc", "request {} got no answer in time: {:?}", settled.id, settled.reply);
            self.outbox.push((settled.client, settled.reply));
        }
    }

    /// Queues `message` for Corosync, in parts when it is large.
    fn send_message(&mut self, message: &Message) -> std::result::Result<(), NotSent> {
        let transfer = self.remote.next_transfer.fetch_add(1, Ordering::SeqCst);
        let parts = remote::encode_parts(message, transfer).ok_or(NotSent::TooLarge)?;
        if self.cluster.is_none() {
            return Err(NotSent::NotQueued);
        }
        let to = message.recipient().to_string();
        self.queue_parts(&to, transfer, parts)
            .map_err(|()| NotSent::NotQueued)
    }

    /// Sends a whole message at once, or queues message `transfer`'s parts
    /// to leave paced ([`remote::Paced`]).
    pub(super) fn queue_parts(
        &mut self,
        to: &str,
        transfer: u64,
        mut parts: Vec<Vec<u8>>,
    ) -> std::result::Result<(), ()> {
        let Some(link) = self.cluster.as_ref() else {
            return Err(());
        };
        if parts.len() == 1 {
            let whole = parts.pop().unwrap_or_default();
            return link.send(whole).map_err(|_| ());
        }
        info!(target: "rc", "message {transfer} for {to}: {} parts, sent {} at a time", parts.len(), remote::PACED_WINDOW);
        let now = self.now();
        self.remote.paced.push(to, transfer, parts, now);
        self.paced_pump();
        Ok(())
    }

    /// Hands Corosync the parts that may leave now.
    fn paced_pump(&mut self) {
        let ready = self.remote.paced.ready();
        let link_gone = match self.cluster.as_ref() {
            Some(link) => ready.into_iter().any(|bytes| link.send(bytes).is_err()),
            None => true,
        };
        if link_gone {
            for dropped in self.remote.paced.clear() {
                warn!(target: "rc", "message {} for {} not sent: the cluster thread's queue refused a part", dropped.transfer, dropped.to);
            }
        }
        if !self.remote.paced.is_empty() && !self.remote.paced_timer {
            self.remote.paced_timer = true;
            let at = self.clock.now() + Duration::from_millis(remote::PACED_STALL_MS / 3);
            self.timers.push(at, TimerKey::PacedStall);
        }
    }

    /// The stall timer: drops a message in parts that no longer moves.
    pub(super) fn paced_check(&mut self) {
        self.remote.paced_timer = false;
        self.paced_prune();
        self.paced_pump();
    }

    fn paced_prune(&mut self) {
        let membership = self.core.membership().clone();
        let now = self.now();
        for dropped in self.remote.paced.prune(now, |s| membership.is_up(s)) {
            warn!(target: "rc", "message {} for {} abandoned: {}", dropped.transfer, dropped.to, dropped.why);
        }
    }

    /// After a membership change: requests whose target left will not be answered.
    pub(super) fn remote_targets_left(&mut self) {
        let membership = self.core.membership().clone();
        self.paced_prune();
        self.paced_pump();
        self.remote.assembler.forget(|s| membership.is_up(s));
        for settled in self.remote.pending.left(|s| membership.is_up(s)) {
            warn!(target: "rc", "request {}: its server left the cluster before answering", settled.id);
            self.outbox.push((settled.client, settled.reply));
        }
    }

    /// A message from `from` (in the cluster's order).
    pub(super) fn remote_message(&mut self, from: &str, bytes: &[u8]) {
        self.incoming(from, remote::decode(bytes));
    }

    pub(super) fn incoming(&mut self, from: &str, incoming: Incoming) {
        let message = match incoming {
            Incoming::Message(m) => m,
            Incoming::UnknownKind(kind) => {
                tracing::debug!(target: "nm", "skipped a {kind:?} message from {from} (a newer clp?)");
                return;
            }
            Incoming::Invalid(why) => {
                warn!(target: "nm", "ignored a message from {from}: {why}");
                return;
            }
        };
        let local = self.core.model().local_server.clone();
        match message {
            Message::Forward {
                id,
                origin,
                target,
                request,
            } if target == local => {
                if origin != from {
                    warn!(target: "nm", "ignored a request that {from} sent in the name of {origin}");
                    return;
                }
                self.serve_forwarded(id, origin, request);
            }
            Message::Answer { id, origin, reply } if origin == local => {
                match self.remote.pending.answer(id, from, reply) {
                    Some(settled) => self.outbox.push((settled.client, settled.reply)),
                    None => {
                        tracing::debug!(target: "rc", "answer {id} from {from} has no waiting request (late or not ours)")
                    }
                }
            }
            Message::Part {
                to,
                transfer,
                index,
                count,
                data,
            } if to == local => {
                match self
                    .remote
                    .assembler
                    .add(from, transfer, index, count, &data)
                {
                    remote::Assembled::Waiting => {}
                    remote::Assembled::Whole(bytes) => self.decode_joined(from, bytes),
                    remote::Assembled::Dropped(why) => {
                        warn!(target: "nm", "dropped a message of {from} sent in parts: {why}")
                    }
                }
            }
            // One of this server's own parts came back in the cluster's
            // order: the next ones may leave.
            Message::Part {
                transfer, index, ..
            } if from == local => {
                let now = self.now();
                if self.remote.paced.delivered(transfer, index, now) {
                    self.paced_pump();
                }
            }
            // For another server.
            Message::Forward { .. } | Message::Answer { .. } | Message::Part { .. } => {}
            placement @ (Message::Claim { .. }
            | Message::Release { .. }
            | Message::Placed { .. }) => self.placement_message(from, placement),
        }
    }

    /// Carries out `origin`'s request `id` as a local one; its answer comes
    /// back to the loop as [`Event::RemoteAnswer`].
    fn serve_forwarded(&mut self, id: u64, origin: String, request: Request) {
        info!(target: "rc", "request {id} from {origin}: {request:?}");
        if matches!(request, Request::On { .. }) {
            self.send_answer(
                id,
                origin,
                rejected(Rejection::Invalid {
                    reason: "a forwarded request cannot name another server".into(),
                }),
            );
            return;
        }
        let serving = self.remote.serving.clone();
        if serving.fetch_add(1, Ordering::SeqCst) >= MAX_SERVED {
            serving.fetch_sub(1, Ordering::SeqCst);
            self.send_answer(
                id,
                origin,
                rejected(Rejection::Failed {
                    kind: ErrorKind::State,
                    detail: format!(
                        "{MAX_SERVED} requests of other servers are running here already; try again later"
                    ),
                }),
            );
            return;
        }
        let (tx, rx) = mpsc::channel();
        let events = self.events.clone();
        let waiter_origin = origin.clone();
        let transfers = self.remote.next_transfer.clone();
        let spawned = std::thread::Builder::new()
            .name("remote-answer".into())
            .spawn(move || {
                // The loop sends one reply, or drops the sender without one.
                let reply = rx.recv().unwrap_or_else(|_| {
                    rejected(Rejection::Failed {
                        kind: ErrorKind::Internal,
                        detail: "clpd dropped the request without an answer".into(),
                    })
                });
                serving.fetch_sub(1, Ordering::SeqCst);
                // Encoded here: a log archive's answer takes a while to cut.
                let transfer = transfers.fetch_add(1, Ordering::SeqCst);
                let parts = encode_answer(id, &waiter_origin, reply, transfer);
                let _ = events.send(Event::RemoteAnswer {
                    origin: waiter_origin,
                    transfer,
                    parts,
                });
            });
        if let Err(e) = spawned {
            self.remote.serving.fetch_sub(1, Ordering::SeqCst);
            error!(target: "rc", "cannot start a thread for request {id} of {origin}: {e}");
            self.send_answer(
                id,
                origin,
                rejected(Rejection::Failed {
                    kind: ErrorKind::Failed,
                    detail: format!("cannot start a thread: {e}"),
                }),
            );
            return;
        }
        self.request(request, tx);
    }

    /// Sends the answer to `origin`'s request `id`.
    pub(super) fn send_answer(&mut self, id: u64, origin: String, reply: Reply) {
        let transfer = self.remote.next_transfer.fetch_add(1, Ordering::SeqCst);
        let parts = encode_answer(id, &origin, reply, transfer);
        if self.queue_parts(&origin, transfer, parts).is_err() {
            warn!(target: "rc", "could not send the answer to request {id} of {origin}; it will see no answer");
        }
    }

    /// A message joined from its parts: read here when small, else on a
    /// thread (a log archive's JSON is tens of MiB) that hands it back.
    fn decode_joined(&mut self, from: &str, bytes: Vec<u8>) {
        if bytes.len() <= DECODE_ON_LOOP {
            self.incoming(from, remote::decode_whole(&bytes));
            return;
        }
        let events = self.events.clone();
        let sender = from.to_string();
        let spawned = std::thread::Builder::new()
            .name("remote-decode".into())
            .spawn(move || {
                let incoming = remote::decode_whole(&bytes);
                let _ = events.send(Event::RemoteWhole {
                    from: sender,
                    incoming,
                });
            });
        if let Err(e) = spawned {
            warn!(target: "nm", "dropped a message of {from} sent in parts: cannot start a thread to read it: {e}");
        }
    }
}

/// A message joined from parts up to this size is read on the loop.
const DECODE_ON_LOOP: usize = 1024 * 1024;

/// The bytes of the answer to `origin`'s request `id`: one message, or the
/// parts of message `transfer`. A reply larger than even parts carry is
/// replaced by a short rejection that says so.
fn encode_answer(id: u64, origin: &str, reply: Reply, transfer: u64) -> Vec<Vec<u8>> {
    let message = Message::Answer {
        id,
        origin: origin.to_string(),
        reply,
    };
    if let Some(parts) = remote::encode_parts(&message, transfer) {
        return parts;
    }
    let short = Message::Answer {
        id,
        origin: origin.to_string(),
        reply: rejected(Rejection::Failed {
            kind: ErrorKind::Failed,
            detail: format!(
                "the answer was larger than the {} bytes a message between servers may be; see the server's logs",
                remote::MAX_WHOLE
            ),
        }),
    };
    remote::encode(&short).into_iter().collect()
}
