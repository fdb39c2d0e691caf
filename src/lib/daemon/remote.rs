//! Requests for another server (`-h HOST`): forwarded over the cluster,
//! answered by the target through the same request path as a local one.
//!
//! The origin keeps each forwarded request in [`remote::Pending`] with a
//! deadline on the timer heap; the answer, the deadline or the target
//! leaving settles it, whichever comes first, and a reply for a client that
//! went away is dropped by the closed channel. Nothing here waits: sending
//! queues, and the target's answer comes back to its loop as an event.

use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// This server's number for its next message sent in parts.
    next_transfer: u64,
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
            next_transfer: 1,
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
        let transfer = self.remote.next_transfer;
        let parts = remote::encode_parts(message, transfer).ok_or(NotSent::TooLarge)?;
        if parts.len() > 1 {
            self.remote.next_transfer += 1;
        }
        let link = self.cluster.as_ref().ok_or(NotSent::NotQueued)?;
        for bytes in parts {
            link.send(bytes).map_err(|_| NotSent::NotQueued)?;
        }
        Ok(())
    }

    /// After a membership change: requests whose target left will not be answered.
    pub(super) fn remote_targets_left(&mut self) {
        let membership = self.core.membership().clone();
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

    fn incoming(&mut self, from: &str, incoming: Incoming) {
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
                    remote::Assembled::Whole(bytes) => {
                        self.incoming(from, remote::decode_whole(&bytes))
                    }
                    remote::Assembled::Dropped(why) => {
                        warn!(target: "nm", "dropped a message of {from} sent in parts: {why}")
                    }
                }
            }
            // For another server.
            Message::Forward { .. } | Message::Answer { .. } | Message::Part { .. } => {}
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
                let _ = events.send(Event::RemoteAnswer {
                    id,
                    origin: waiter_origin,
                    reply,
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
        let message = Message::Answer {
            id,
            origin: origin.clone(),
            reply,
        };
        let sent = match self.send_message(&message) {
            // A reply larger than even parts carry: say so briefly.
            Err(NotSent::TooLarge) => self.send_message(&Message::Answer {
                id,
                origin: origin.clone(),
                reply: rejected(Rejection::Failed {
                    kind: ErrorKind::Failed,
                    detail: "the answer was too large to send; see the server's logs".into(),
                }),
            }),
            other => other,
        };
        if sent.is_err() {
            warn!(target: "rc", "could not send the answer to request {id} of {origin}; it will see no answer");
        }
    }
}
