//! The probe pool: a few threads shared by all monitors whose checks run off
//! the loop, so the thread count does not grow with the number of monitors.
//!
//! * **Placement.** Probes that may block for as long as a device or a kernel
//!   driver wants (diskw: a read on a dead device can stay in D state for
//!   hours) and the watchdog keepalive (userw: it must never queue behind
//!   other checks) keep a thread of their own, as before ([`ProbeWorker`]).
//!   Network checks (ipw, and httpw over plain HTTP to an address) need no
//!   thread at all: they run as non-blocking state machines on the network
//!   thread ([`super::netprobe`]), placed there by [`ProbePool::place`]. Every
//!   other probe (psw, httpw over HTTPS or to a name, miiw) runs on the shared
//!   pool: their checks end by themselves (httpw gives up before the
//!   monitor's timeout, psw waits for a shared /proc scan no longer than its
//!   timeout, miiw is two ioctls), and a probe that has its result at hand
//!   ([`Probe::answer_now`]: psw with a fresh scan) answers on the caller's
//!   thread without one.
//! * **Size.** Threads start when work is queued and none is idle, up to
//!   `core` ([`PoolConfig::for_this_machine`]: twice the CPUs, at least 4, at
//!   most 16). A check on a local target holds a thread well under a
//!   millisecond, so 1000 checks a second keep about one thread busy; the
//!   rest absorbs the bursts of monitors that come due together.
//! * **Slow checks do not starve the others.** A thread whose check has run
//!   longer than `stuck_after` (a slow server, a /proc read on a stuck
//!   process) is replaced: while work waits and no thread is idle, the pool
//!   may start one extra thread per such check, at most `max_extra` (so the
//!   pool never exceeds `core + max_extra` threads). The check is made when
//!   work is queued and, while work waits, by a watcher thread that sleeps
//!   until the oldest running check turns stuck (a queued check of a monitor
//!   is never resubmitted, so waiting for the next submission is not enough).
//!   Threads beyond `core` end after `idle_exit` without work.
//! * **One check in flight per monitor.** While a monitor's check is queued or
//!   running, its next check is refused at once ("the previous check is still
//!   running", answered by the caller), so a hung check of monitor A fails A's
//!   later checks and never blocks B.
//! * **Stopping.** `stop` runs the probe's `stop()` on a pool thread, after the
//!   check in flight if there is one; [`StopWaiter`] lets clpd's exit wait for
//!   it (a watchdog's magic close) with one deadline for all probes.
//! * A panicking probe is a failed check; the thread goes on.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::error;

use super::netprobe::{NetProbe, NetProber, NetTarget};
use super::probe::{Answer, Probe, ProbeWorker};
use crate::vocab::{CheckId, CheckResult};

/// The pool's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Threads kept for as long as the pool lives (started on demand).
    pub core: usize,
    /// Threads that may be added to replace threads held by slow checks.
    pub max_extra: usize,
    /// A check running longer than this holds its thread "stuck".
    pub stuck_after: Duration,
    /// Threads beyond `core` end after this long without work.
    pub idle_exit: Duration,
}

impl PoolConfig {
    /// Twice the CPUs (checks mostly wait on I/O, so two per CPU overlap their
    /// waits), at least 4 (bursts of monitors due together), at most 16 (more
    /// would only cost memory: a slow target is handled by the extra threads);
    /// up to 16 extra threads for stuck checks.
    pub fn for_this_machine() -> PoolConfig {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        PoolConfig {
            core: (2 * cpus).clamp(4, 16),
            max_extra: 16,
            stuck_after: Duration::from_millis(500),
            idle_exit: Duration::from_secs(10),
        }
    }
}

/// The shared pool of probe threads.
pub struct ProbePool {
    shared: Arc<Shared>,
    /// The network thread, started with the first HTTP probe (see `netprobe`).
    net: Mutex<Option<NetProber>>,
}

struct Shared {
    config: PoolConfig,
    state: Mutex<State>,
    work: Condvar,
    /// Wakes the watcher (see `watch_stuck`).
    watch: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// When the check of each busy thread (by number) started.
    running: HashMap<usize, Instant>,
    next_thread: usize,
    /// The watcher thread runs.
    watcher: bool,
    closed: bool,
}

enum Job {
    Check(Arc<Slot>, CheckId, Duration),
    Stop(Arc<Slot>),
}

/// One monitor's probe and what its handle knows about it.
struct Slot {
    answer: Answer,
    inner: Mutex<SlotInner>,
}

struct SlotInner {
    /// None while a check or the stop runs on a pool thread, and once stopped.
    probe: Option<Box<dyn Probe>>,
    /// A check is queued or running.
    busy: bool,
    /// Stop was asked for (no more checks).
    stopping: bool,
    stopped: bool,
    /// Told once `stop()` has run.
    waiters: Vec<Sender<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Probes run outside these locks (and panics in them are contained), so a
    // poisoned lock holds consistent data.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProbePool {
    /// A pool with no thread yet: they start with the first checks.
    pub fn new(config: PoolConfig) -> ProbePool {
        ProbePool {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                watch: Condvar::new(),
            }),
            net: Mutex::new(None),
        }
    }

    /// Threads alive now (busy or idle).
    pub fn threads(&self) -> usize {
        lock(&self.shared.state).threads
    }

    /// Puts `probe` on the pool; `answer` receives its checks' results.
    pub fn attach(&self, probe: Box<dyn Probe>, answer: Answer) -> PooledProbe {
        PooledProbe {
            slot: Arc::new(Slot {
                answer,
                inner: Mutex::new(SlotInner {
                    probe: Some(probe),
                    busy: false,
                    stopping: false,
                    stopped: false,
                    waiters: Vec::new(),
                }),
            }),
            shared: self.shared.clone(),
        }
    }

    /// The probe of monitor `name`, on its own thread when `own_thread`,
    /// otherwise on the pool.
    pub fn place(
        &self,
        name: &str,
        probe: Box<dyn Probe>,
        answer: Answer,
        own_thread: bool,
    ) -> std::io::Result<ProbeHandle> {
        if own_thread {
            return ProbeWorker::spawn(name, probe, answer).map(ProbeHandle::Own);
        }
        let net_target = probe
            .http_target()
            .map(|t| NetTarget::Http(Arc::new(t)))
            .or_else(|| probe.icmp_target().map(|t| NetTarget::Icmp(Arc::new(t))));
        if let Some(target) = net_target {
            let mut net = lock(&self.net);
            if net.is_none() {
                match NetProber::start() {
                    Ok(started) => *net = Some(started),
                    // The pool's threads can still run the check.
                    Err(e) => error!(target: "rm", "cannot start the network probe thread: {e}"),
                }
            }
            if let Some(net) = net.as_ref() {
                return Ok(ProbeHandle::Net(net.attach(target, answer)));
            }
        }
        Ok(ProbeHandle::Pooled(self.attach(probe, answer)))
    }
}

impl Drop for ProbePool {
    fn drop(&mut self) {
        // Idle threads end; queued work is still done first.
        lock(&self.shared.state).closed = true;
        self.shared.work.notify_all();
        self.shared.watch.notify_all();
    }
}

impl Shared {
    fn submit(self: &Arc<Self>, job: Job) {
        let mut st = lock(&self.state);
        st.jobs.push_back(job);
        if st.jobs.len() > st.idle {
            if self.may_grow(&st) {
                self.grow(&mut st);
            } else {
                // Nobody free and no thread stuck long enough yet: the
                // watcher looks again when the oldest check becomes stuck.
                self.wake_watcher(&mut st);
            }
        }
        drop(st);
        self.work.notify_one();
    }

    fn grow(self: &Arc<Self>, st: &mut State) {
        let number = st.next_thread;
        st.next_thread += 1;
        st.threads += 1;
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("probe-pool-{number}"))
            .spawn(move || me.serve(number));
        if let Err(e) = spawned {
            st.threads -= 1;
            error!(target: "rm", "cannot start a probe thread ({} running): {e}", st.threads);
        }
    }

    fn wake_watcher(self: &Arc<Self>, st: &mut State) {
        if st.watcher {
            self.watch.notify_one();
            return;
        }
        let me = self.clone();
        match std::thread::Builder::new()
            .name("probe-pool-watch".into())
            .spawn(move || me.watch_stuck())
        {
            Ok(_) => st.watcher = true,
            Err(e) => error!(target: "rm", "cannot start the probe pool's watcher: {e}"),
        }
    }

    /// The watcher: while work waits and every thread is busy, it starts a
    /// replacement the moment a check has run `stuck_after`. Otherwise it
    /// sleeps until `submit` wakes it.
    fn watch_stuck(self: Arc<Self>) {
        let mut st = lock(&self.state);
        loop {
            if st.closed {
                st.watcher = false;
                return;
            }
            if st.jobs.len() > st.idle {
                if self.may_grow(&st) {
                    self.grow(&mut st);
                    continue;
                }
                if let Some(when) = self.next_stuck(&st) {
                    let left = when.saturating_duration_since(Instant::now());
                    st = self
                        .watch
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    continue;
                }
            }
            st = self.watch.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// When the next running check becomes stuck, if that could let the pool
    /// grow (None at the bound, or when every running check is stuck already).
    fn next_stuck(&self, st: &State) -> Option<Instant> {
        if st.threads >= self.config.core.max(1) + self.config.max_extra {
            return None;
        }
        let now = Instant::now();
        st.running
            .values()
            .map(|since| *since + self.config.stuck_after)
            .filter(|at| *at > now)
            .min()
    }

    /// Whether one more thread may start: below `core`, or one per stuck
    /// check beyond it (at most `max_extra`).
    fn may_grow(&self, st: &State) -> bool {
        let c = &self.config;
        let core = c.core.max(1);
        if st.threads < core {
            return true;
        }
        let now = Instant::now();
        let stuck = st
            .running
            .values()
            .filter(|since| now.saturating_duration_since(**since) >= c.stuck_after)
            .count();
        st.threads < core + stuck.min(c.max_extra)
    }

    fn serve(&self, number: usize) {
        let core = self.config.core.max(1);
        loop {
            let mut st = lock(&self.state);
            let job = loop {
                if let Some(job) = st.jobs.pop_front() {
                    st.running.insert(number, Instant::now());
                    break Some(job);
                }
                if st.closed {
                    break None;
                }
                st.idle += 1;
                if st.threads > core {
                    // An extra thread: it ends after `idle_exit` without work.
                    let (guard, waited) = self
                        .work
                        .wait_timeout(st, self.config.idle_exit)
                        .unwrap_or_else(PoisonError::into_inner);
                    st = guard;
                    st.idle -= 1;
                    if waited.timed_out() && st.jobs.is_empty() && st.threads > core {
                        break None;
                    }
                } else {
                    st = self.work.wait(st).unwrap_or_else(PoisonError::into_inner);
                    st.idle -= 1;
                }
            };
            let Some(job) = job else {
                st.threads -= 1;
                return;
            };
            drop(st);
            match job {
                Job::Check(slot, id, timeout) => slot.run_check(id, timeout),
                Job::Stop(slot) => slot.run_stop(),
            }
            lock(&self.state).running.remove(&number);
        }
    }
}

impl Slot {
    fn run_check(&self, id: CheckId, timeout: Duration) {
        let started = Instant::now();
        let probe = lock(&self.inner).probe.take();
        let (result, probe) = match probe {
            Some(mut p) => {
                // A panicking probe is a failed check, not a dead thread (nor a
                // dead clpd: see crate::panics).
                let r = crate::panics::contain(|| p.check(timeout)).unwrap_or_else(|_| {
                    CheckResult::Failed("the check panicked (a bug in clp)".into())
                });
                (r, Some(p))
            }
            None => (
                CheckResult::Failed("the monitor's check is being stopped".into()),
                None,
            ),
        };
        let stop_now = {
            let mut inner = lock(&self.inner);
            inner.busy = false;
            inner.probe = probe;
            inner.stopping
        };
        if stop_now {
            self.run_stop();
        }
        (self.answer)(id, result, started.elapsed());
    }

    fn run_stop(&self) {
        let probe = lock(&self.inner).probe.take();
        if let Some(mut p) = probe {
            let _ = crate::panics::contain(|| p.stop());
        }
        let mut inner = lock(&self.inner);
        inner.stopped = true;
        for w in inner.waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// A monitor's probe on the pool.
pub struct PooledProbe {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl PooledProbe {
    /// Asks for a check. Returns false when the previous check is still
    /// queued or running (or the probe is stopping): the caller answers that
    /// check itself.
    pub fn check(&self, id: CheckId, timeout: Duration) -> bool {
        {
            let mut inner = lock(&self.slot.inner);
            if inner.busy || inner.stopping {
                return false;
            }
            // A result there without waiting costs no pool thread, nor the
            // two wake-ups of a round trip through one.
            let now = inner.probe.as_mut().and_then(|p| {
                crate::panics::contain(|| p.answer_now()).unwrap_or_else(|_| {
                    Some(CheckResult::Failed(
                        "the check panicked (a bug in clp)".into(),
                    ))
                })
            });
            if let Some(result) = now {
                drop(inner);
                (self.slot.answer)(id, result, Duration::ZERO);
                return true;
            }
            inner.busy = true;
        }
        self.shared
            .submit(Job::Check(self.slot.clone(), id, timeout));
        true
    }

    /// Stops the probe after the check in flight, if any; does not wait.
    pub fn stop(self) {
        drop(self.request_stop());
    }

    /// Asks for the stop; the waiter tells when the probe's `stop()` has run.
    pub fn request_stop(self) -> StopWaiter {
        let (tx, rx) = mpsc::channel();
        let queue = {
            let mut inner = lock(&self.slot.inner);
            if inner.stopped {
                let _ = tx.send(());
            } else {
                inner.waiters.push(tx);
            }
            let first = !inner.stopping;
            inner.stopping = true;
            // A check in flight runs the stop when it ends.
            first && !inner.busy
        };
        if queue {
            self.shared.submit(Job::Stop(self.slot.clone()));
        }
        StopWaiter(rx)
    }
}

/// Waits for a probe's `stop()` to have run.
pub struct StopWaiter(Receiver<()>);

impl StopWaiter {
    /// True once the probe has stopped (or its thread is gone); false at `deadline`.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        !matches!(
            self.0.recv_timeout(left),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }

    pub(super) fn from_receiver(rx: Receiver<()>) -> StopWaiter {
        StopWaiter(rx)
    }
}

/// A monitor's probe, wherever it runs.
pub enum ProbeHandle {
    Pooled(PooledProbe),
    /// On a thread of its own (probes that may block indefinitely).
    Own(ProbeWorker),
    /// On the network thread (non-blocking HTTP checks).
    Net(NetProbe),
}

impl ProbeHandle {
    /// Asks for a check; false when the previous one still runs.
    pub fn check(&self, id: CheckId, timeout: Duration) -> bool {
        match self {
            ProbeHandle::Pooled(p) => p.check(id, timeout),
            ProbeHandle::Own(w) => w.check(id, timeout),
            ProbeHandle::Net(n) => n.check(id, timeout),
        }
    }

    /// Stops the probe after the check in flight; does not wait.
    pub fn stop(self) {
        match self {
            ProbeHandle::Pooled(p) => p.stop(),
            ProbeHandle::Own(w) => w.stop(),
            ProbeHandle::Net(n) => drop(n.request_stop()),
        }
    }

    /// Asks for the stop without waiting; wait with the returned waiter.
    pub fn request_stop(self) -> StopWaiter {
        match self {
            ProbeHandle::Pooled(p) => p.request_stop(),
            ProbeHandle::Own(w) => w.request_stop(),
            ProbeHandle::Net(n) => n.request_stop(),
        }
    }

    /// Stops the probe and waits up to `wait` for its `stop()` to have run.
    pub fn stop_and_wait(self, wait: Duration) -> bool {
        self.request_stop().wait_until(Instant::now() + wait)
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
