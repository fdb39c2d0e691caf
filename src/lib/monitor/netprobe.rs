//! The network thread: every httpw check against an address runs here as a
//! small state machine on a non-blocking socket (connect, send the request,
//! read the answer, give up at a deadline), all of them on one thread that
//! sleeps in `epoll_wait`. A check costs its system calls, not a thread and
//! its wake-ups: the probe pool is left to the checks that must block.
//!
//! * Each check opens a new connection (a server that stops accepting must be
//!   seen) and closes it with `SO_LINGER` 0: the close sends a reset instead
//!   of the FIN exchange, so the check leaves no `TIME_WAIT` socket behind on
//!   clpd's side (a thousand checks a minute would otherwise keep thousands of
//!   them), the way load balancers close their health checks. The server sees
//!   its connection reset after it has answered.
//! * Deadlines: the monitor's timeout less the margin of `httpw` (its own
//!   "timed out" ends the check, not the engine's), kept in a heap; the
//!   thread wakes at the earliest.
//! * One check in flight per monitor, as on the pool: a check asked while the
//!   previous one runs is refused, and the caller answers it.
//! * Requests reach the thread through a queue and one `eventfd` write per
//!   batch (the loop asks for the checks of a timer tick together). Answers
//!   go back in batches too: held until no check is in flight any more, or
//!   for at most [`BATCH_WAIT`], so the loop wakes once for a tick's checks
//!   rather than once per answer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::epoll;
use socket2::{Domain, SockAddr, Socket, Type};

use super::http_exchange::{Exchange, HttpTarget, Progress};
use super::net_icmp::{self, Echoes, Icmp, IcmpTarget};
use super::pool::StopWaiter;
use super::probe::Answer;
use crate::vocab::{CheckId, CheckResult};

/// The epoll token of the wake-up eventfd.
const WAKE: u64 = u64::MAX;

/// The epoll tokens of the ICMP sockets (IPv4, IPv6).
const ICMP: [u64; 2] = [u64::MAX - 1, u64::MAX - 2];

/// The longest an answer waits for the others of its batch.
pub const BATCH_WAIT: Duration = Duration::from_millis(5);

/// An answer waiting for its batch.
struct Pending {
    slot: Arc<Slot>,
    id: CheckId,
    result: CheckResult,
    elapsed: Duration,
    at: Instant,
}

/// The thread that runs the network checks.
pub struct NetProber {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Vec<Request>>,
    wake: OwnedFd,
    closed: AtomicBool,
}

struct Request {
    slot: Arc<Slot>,
    id: CheckId,
    timeout: Duration,
}

/// What a monitor's checks ask of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetTarget {
    Http(Arc<HttpTarget>),
    Icmp(Arc<IcmpTarget>),
}

/// One monitor's target and where its answers go.
struct Slot {
    target: NetTarget,
    answer: Answer,
    busy: AtomicBool,
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding it; a poisoned queue is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NetProber {
    /// Starts the thread.
    pub fn start() -> std::io::Result<NetProber> {
        let wake = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?;
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(
            &ep,
            &wake,
            epoll::EventData::new_u64(WAKE),
            epoll::EventFlags::IN,
        )?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            wake,
            closed: AtomicBool::new(false),
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("net-probes".into())
            .spawn(move || Machine::new(ep, thread_shared).run())?;
        Ok(NetProber { shared })
    }

    /// A monitor's checks of `target`; `answer` receives their results.
    pub fn attach(&self, target: NetTarget, answer: Answer) -> NetProbe {
        NetProbe {
            slot: Arc::new(Slot {
                target,
                answer,
                busy: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
            }),
            shared: self.shared.clone(),
        }
    }
}

impl Drop for NetProber {
    fn drop(&mut self) {
        // The thread ends once the checks in flight have their answers.
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.wake();
    }
}

impl Shared {
    fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

/// A monitor's probe on the network thread.
pub struct NetProbe {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl NetProbe {
    /// Asks for a check; false when the previous one is still in flight (or
    /// the probe stopped): the caller answers that check itself.
    pub fn check(&self, id: CheckId, timeout: Duration) -> bool {
        if self.slot.stopped.load(Ordering::SeqCst) || self.slot.busy.swap(true, Ordering::SeqCst) {
            return false;
        }
        let first = {
            let mut queue = lock(&self.shared.queue);
            queue.push(Request {
                slot: self.slot.clone(),
                id,
                timeout,
            });
            queue.len() == 1
        };
        // One wake-up per batch: the thread takes the whole queue.
        if first {
            self.shared.wake();
        }
        true
    }

    /// No more checks; a check in flight still answers. Nothing to wait for:
    /// the probe holds no state between checks.
    pub fn request_stop(self) -> StopWaiter {
        self.slot.stopped.store(true, Ordering::SeqCst);
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = tx.send(());
        StopWaiter::from_receiver(rx)
    }
}

/// Where a connection is in its exchange.
enum Phase {
    /// Connecting, or connected with the request not all written yet.
    Sending {
        written: usize,
    },
    Reading(Exchange),
}

struct Conn {
    slot: Arc<Slot>,
    http: Arc<HttpTarget>,
    id: CheckId,
    socket: Socket,
    phase: Phase,
    /// What epoll reports for the socket; None: not in the set yet.
    watched: Option<epoll::EventFlags>,
    started: Instant,
    deadline: Instant,
}

/// The thread's state.
struct Machine {
    ep: OwnedFd,
    shared: Arc<Shared>,
    conns: HashMap<u64, Conn>,
    /// ipw checks in flight, and their sockets.
    pings: HashMap<u64, Ping>,
    icmp: Icmp,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    next_token: u64,
    /// Answers not yet handed over, oldest first.
    pending: Vec<Pending>,
}

impl Machine {
    fn new(ep: OwnedFd, shared: Arc<Shared>) -> Machine {
        Machine {
            ep,
            shared,
            conns: HashMap::new(),
            pings: HashMap::new(),
            icmp: Icmp::new(),
            deadlines: BinaryHeap::new(),
            next_token: 0,
            pending: Vec::new(),
        }
    }

    fn run(mut self) {
        let mut events = [MaybeUninit::<epoll::Event>::uninit(); 256];
        loop {
            // Rounded up to the millisecond: a wait cut short of the deadline
            // would only spin until it.
            let next_deadline = self.deadlines.peek().map(|Reverse((at, _))| *at);
            let flush_at = self.pending.first().map(|p| p.at + BATCH_WAIT);
            let wake_at = [next_deadline, flush_at, self.icmp.close_due()]
                .into_iter()
                .flatten()
                .min();
            let timeout = wake_at.map(|at| {
                let left = at.saturating_duration_since(Instant::now());
                let ms = left.as_nanos().div_ceil(1_000_000);
                rustix::time::Timespec {
                    tv_sec: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
                    tv_nsec: i64::try_from(ms % 1000).unwrap_or(0) * 1_000_000,
                }
            });
            match epoll::wait(&self.ep, &mut events[..], timeout.as_ref()) {
                Ok((ready, _)) => {
                    for e in ready.iter() {
                        let (token, flags) = (e.data.u64(), e.flags);
                        if token == WAKE {
                            self.take_requests();
                        } else if let Some(f) = ICMP.iter().position(|t| *t == token) {
                            self.replies(f);
                        } else {
                            self.drive(token, flags);
                        }
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    tracing::error!(target: "rm", "the network probe thread cannot wait: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            let now = Instant::now();
            self.expire(now);
            self.icmp.close_idle(now);
            if (self.conns.is_empty() && self.pings.is_empty())
                || self
                    .pending
                    .first()
                    .is_some_and(|p| now >= p.at + BATCH_WAIT)
            {
                self.flush();
            }
            if self.shared.closed.load(Ordering::SeqCst)
                && self.conns.is_empty()
                && self.pings.is_empty()
            {
                return;
            }
        }
    }

    fn take_requests(&mut self) {
        let mut counter = [0u8; 8];
        let _ = rustix::io::read(&self.shared.wake, &mut counter);
        let requests = std::mem::take(&mut *lock(&self.shared.queue));
        let now = Instant::now();
        for r in requests {
            self.start(r, now);
        }
    }

    fn start(&mut self, r: Request, now: Instant) {
        match r.slot.target.clone() {
            NetTarget::Http(http) => self.start_http(r, http, now),
            NetTarget::Icmp(icmp) => self.start_ping(r, &icmp, now),
        }
    }

    /// Opens the connection of a check and sends its request.
    fn start_http(&mut self, r: Request, http: Arc<HttpTarget>, now: Instant) {
        let addr = http.addr;
        // Closed with a reset: no TIME_WAIT left by clpd (see the top). No
        // TCP_NODELAY: the request leaves in one write on a new connection,
        // which Nagle's rule never holds back.
        let opened = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            None,
        )
        .and_then(|s| s.set_linger(Some(Duration::ZERO)).map(|()| s));
        let socket = match opened {
            Ok(s) => s,
            Err(e) => {
                let failed = cannot(&http, &e);
                return self.answer(r.slot, r.id, now, failed);
            }
        };
        match socket.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                let failed = cannot(&http, &e);
                return self.answer(r.slot, r.id, now, failed);
            }
        }
        let token = self.next_token;
        self.next_token += 1;
        let deadline = now + super::httpw::budget(r.timeout);
        self.deadlines.push(Reverse((deadline, token)));
        self.conns.insert(
            token,
            Conn {
                slot: r.slot,
                http,
                id: r.id,
                socket,
                phase: Phase::Sending { written: 0 },
                watched: None,
                started: now,
                deadline,
            },
        );
        // On loopback the handshake is over when connect returns: the request
        // goes out now, and the connection enters epoll once, for the answer.
        // One still under way (or refused) says so to the write: "would
        // block" (epoll then reports when it can be written), or the error.
        self.drive(token, epoll::EventFlags::empty());
    }

    /// Moves a connection on after epoll said it is ready.
    fn drive(&mut self, token: u64, flags: epoll::EventFlags) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let verdict = step(conn, flags, &self.ep, token);
        if let Some(result) = verdict {
            self.finish(token, result);
        }
    }

    /// Sends the first echoes of an ipw check.
    fn start_ping(&mut self, r: Request, target: &IcmpTarget, now: Instant) {
        let token = self.next_token;
        self.next_token += 1;
        let mut echoes = Echoes::new(target, r.timeout, now);
        if !self.send_round(token, target, &mut echoes, now) {
            // No socket for any address: nothing will answer.
            let failed = echoes.no_answer(target);
            return self.answer(r.slot, r.id, now, failed);
        }
        let deadline = now + echoes.budget();
        self.deadlines
            .push(Reverse((echoes.next_send.min(deadline), token)));
        self.pings.insert(
            token,
            Ping {
                slot: r.slot,
                id: r.id,
                started: now,
                deadline,
                echoes,
            },
        );
    }

    fn send_round(
        &mut self,
        token: u64,
        target: &IcmpTarget,
        echoes: &mut Echoes,
        now: Instant,
    ) -> bool {
        let ep = &self.ep;
        self.icmp
            .send_round(token, target, echoes, now, &mut |sock, f| {
                epoll::add(
                    ep,
                    sock.as_fd(),
                    epoll::EventData::new_u64(ICMP[f]),
                    epoll::EventFlags::IN,
                )
                .map_err(std::io::Error::from)
            })
    }

    /// The replies on family `f`'s ICMP socket.
    fn replies(&mut self, f: usize) {
        for reply in self.icmp.receive(f) {
            let counts = self
                .pings
                .get(&reply.token)
                .is_some_and(|p| match &p.slot.target {
                    NetTarget::Icmp(t) => net_icmp::answers(t, &reply),
                    NetTarget::Http(_) => false,
                });
            if counts {
                self.finish_ping(reply.token, Some(CheckResult::Ok));
            }
        }
    }

    /// Ends an ipw check: with `result`, or with its "no answer" failure.
    fn finish_ping(&mut self, token: u64, result: Option<CheckResult>) {
        let Some(ping) = self.pings.remove(&token) else {
            return;
        };
        self.icmp.forget(token, &ping.echoes, Instant::now());
        let result = result.unwrap_or_else(|| match &ping.slot.target {
            NetTarget::Icmp(t) => ping.echoes.no_answer(t),
            NetTarget::Http(_) => CheckResult::TimedOut,
        });
        self.answer(ping.slot, ping.id, ping.started, result);
    }

    /// Checks past their deadline time out; ipw checks send their echoes
    /// again when due.
    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, token))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if self.conns.get(&token).is_some_and(|c| c.deadline == at) {
                self.finish(token, CheckResult::TimedOut);
                continue;
            }
            let Some(ping) = self.pings.get(&token) else {
                continue;
            };
            if now >= ping.deadline {
                self.finish_ping(token, None);
            } else if now >= ping.echoes.next_send {
                let Some(mut ping) = self.pings.remove(&token) else {
                    continue;
                };
                if let NetTarget::Icmp(target) = ping.slot.target.clone() {
                    self.send_round(token, &target, &mut ping.echoes, now);
                }
                self.deadlines
                    .push(Reverse((ping.echoes.next_send.min(ping.deadline), token)));
                self.pings.insert(token, ping);
            }
        }
    }

    fn finish(&mut self, token: u64, result: CheckResult) {
        if let Some(conn) = self.conns.remove(&token) {
            // Dropping the socket closes it (with a reset) and takes it out of
            // the epoll set.
            let Conn {
                slot, id, started, ..
            } = conn;
            self.answer(slot, id, started, result);
        }
    }

    fn answer(&mut self, slot: Arc<Slot>, id: CheckId, started: Instant, result: CheckResult) {
        let at = Instant::now();
        self.pending.push(Pending {
            slot,
            id,
            result,
            elapsed: at.saturating_duration_since(started),
            at,
        });
    }

    /// Hands the answers over; the monitors may then ask again.
    fn flush(&mut self) {
        for p in self.pending.drain(..) {
            p.slot.busy.store(false, Ordering::SeqCst);
            (p.slot.answer)(p.id, p.result, p.elapsed);
        }
    }
}

/// An ipw check in flight.
struct Ping {
    slot: Arc<Slot>,
    id: CheckId,
    started: Instant,
    deadline: Instant,
    echoes: Echoes,
}

/// One step of a connection's exchange; Some when it has its verdict.
fn step(
    conn: &mut Conn,
    flags: epoll::EventFlags,
    ep: &OwnedFd,
    token: u64,
) -> Option<CheckResult> {
    let target = &*conn.http;
    if let Phase::Sending { written } = &mut conn.phase {
        if flags.contains(epoll::EventFlags::ERR) {
            // The connection failed: its error says why (a reset without
            // one is a refusal).
            let e = match conn.socket.take_error() {
                Ok(Some(e)) | Err(e) => e,
                Ok(None) => std::io::Error::from(ErrorKind::ConnectionRefused),
            };
            return Some(cannot(target, &e));
        }
        while *written < target.request.len() {
            match (&conn.socket).write(&target.request[*written..]) {
                Ok(n) => *written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return watch(conn, ep, token, epoll::EventFlags::OUT);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(cannot(target, &e)),
            }
        }
        conn.phase = Phase::Reading(Exchange::new(target.get));
        // The answer may not be there yet: wait for epoll to say so.
        return watch(conn, ep, token, epoll::EventFlags::IN);
    }
    let Phase::Reading(exchange) = &mut conn.phase else {
        return None;
    };
    let mut buf = [0u8; 16 * 1024];
    loop {
        match (&conn.socket).read(&mut buf) {
            Ok(0) => {
                return match exchange.on_eof(target) {
                    Progress::Done(r) => Some(r),
                    Progress::More => None,
                };
            }
            Ok(n) => {
                if let Progress::Done(r) = exchange.on_data(target, &buf[..n]) {
                    return Some(r);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Some(cannot(target, &e)),
        }
    }
}

/// Has epoll report `wanted` for the connection: one system call, none when
/// it already does. Some (a failure) when the socket cannot be watched.
fn watch(
    conn: &mut Conn,
    ep: &OwnedFd,
    token: u64,
    wanted: epoll::EventFlags,
) -> Option<CheckResult> {
    let data = epoll::EventData::new_u64(token);
    let done = match conn.watched {
        Some(now) if now == wanted => return None,
        Some(_) => epoll::modify(ep, conn.socket.as_fd(), data, wanted),
        None => epoll::add(ep, conn.socket.as_fd(), data, wanted),
    };
    match done {
        Ok(()) => {
            conn.watched = Some(wanted);
            None
        }
        Err(e) => Some(cannot(&conn.http, &std::io::Error::from(e))),
    }
}

/// A connection that failed, in the words of httpw.
fn cannot(target: &HttpTarget, e: &std::io::Error) -> CheckResult {
    CheckResult::Failed(format!(
        "{} {}: cannot connect or read: {e}",
        target.method(),
        target.url
    ))
}

#[cfg(test)]
#[path = "netprobe_tests.rs"]
mod tests;
