use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;

/// A gate probes wait on until the test opens it (so no thread stays hung
/// after the test).
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut g = lock(open);
        while !*g {
            g = cv.wait(g).unwrap();
        }
    }
    fn open(&self) {
        *lock(&self.0.0) = true;
        self.0.1.notify_all();
    }
}

/// Waits at the gate during its checks; counts how many started.
struct Gated {
    gate: Gate,
    started: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
}

impl Probe for Gated {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.gate.wait();
        CheckResult::Ok
    }
    fn stop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}

struct Quick;

impl Probe for Quick {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        CheckResult::Ok
    }
}

struct Panics;

impl Probe for Panics {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        panic!("probe bug")
    }
}

type Answers = Receiver<(usize, CheckId, CheckResult)>;

/// An answer that sends (monitor number, check, result) to the test.
fn answer_to(tx: &Sender<(usize, CheckId, CheckResult)>, monitor: usize) -> Answer {
    let tx = Mutex::new(tx.clone());
    Box::new(move |id, r, _| {
        let _ = lock(&tx).send((monitor, id, r));
    })
}

fn config(core: usize, max_extra: usize) -> PoolConfig {
    PoolConfig {
        core,
        max_extra,
        stuck_after: Duration::from_millis(100),
        idle_exit: Duration::from_millis(300),
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn recv(rx: &Answers) -> (usize, CheckId, CheckResult) {
    rx.recv_timeout(Duration::from_secs(10)).expect("an answer")
}

#[test]
fn threads_stay_within_the_core_whatever_the_number_of_monitors() {
    let pool = ProbePool::new(config(3, 8));
    let (tx, rx) = mpsc::channel();
    let probes: Vec<_> = (0..200)
        .map(|i| pool.attach(Box::new(Quick), answer_to(&tx, i)))
        .collect();
    for round in 0..5u64 {
        for p in &probes {
            assert!(p.check(round, Duration::from_secs(1)));
        }
        for _ in 0..probes.len() {
            assert_eq!(recv(&rx).2, CheckResult::Ok);
        }
        assert!(pool.threads() <= 3, "{} threads", pool.threads());
    }
    assert!(pool.threads() >= 1);
}

#[test]
fn one_check_in_flight_per_monitor() {
    let pool = ProbePool::new(config(4, 0));
    let (tx, rx) = mpsc::channel();
    let gate = Gate::default();
    let started = Arc::new(AtomicUsize::new(0));
    let slow = pool.attach(
        Box::new(Gated {
            gate: gate.clone(),
            started: started.clone(),
            stopped: Arc::default(),
        }),
        answer_to(&tx, 0),
    );
    let other = pool.attach(Box::new(Quick), answer_to(&tx, 1));
    assert!(slow.check(1, Duration::from_secs(1)));
    wait_for("the check to start", || started.load(Ordering::SeqCst) == 1);
    assert!(
        !slow.check(2, Duration::from_secs(1)),
        "the first still runs"
    );
    // Another monitor is not held up.
    assert!(other.check(3, Duration::from_secs(1)));
    assert_eq!(recv(&rx), (1, 3, CheckResult::Ok));
    gate.open();
    assert_eq!(recv(&rx), (0, 1, CheckResult::Ok));
    assert!(slow.check(4, Duration::from_secs(1)), "free again");
    assert_eq!(recv(&rx), (0, 4, CheckResult::Ok));
    assert_eq!(started.load(Ordering::SeqCst), 2);
}

#[test]
fn hung_probes_do_not_starve_fifty_healthy_monitors() {
    // As many hung checks as core threads: without replacement threads no
    // healthy monitor would ever be checked again.
    let core = 4;
    let pool = ProbePool::new(config(core, 4));
    let (tx, rx) = mpsc::channel();
    let gate = Gate::default();
    let started = Arc::new(AtomicUsize::new(0));
    let hung: Vec<_> = (0..core)
        .map(|i| {
            let p = pool.attach(
                Box::new(Gated {
                    gate: gate.clone(),
                    started: started.clone(),
                    stopped: Arc::default(),
                }),
                answer_to(&tx, 1000 + i),
            );
            assert!(p.check(0, Duration::from_secs(1)));
            p
        })
        .collect();
    wait_for("the hung checks to hold every core thread", || {
        started.load(Ordering::SeqCst) == core
    });
    let healthy: Vec<_> = (0..50)
        .map(|i| pool.attach(Box::new(Quick), answer_to(&tx, i)))
        .collect();
    // Eight rounds at a 250 ms interval: each round is answered in full
    // within the interval (the first one waits for the hung threads to count
    // as stuck, 100 ms, and gets a second interval).
    for round in 1..=8u64 {
        let due = Instant::now()
            + if round == 1 {
                Duration::from_millis(500)
            } else {
                Duration::from_millis(250)
            };
        for p in &healthy {
            assert!(p.check(round, Duration::from_secs(1)), "round {round}");
        }
        let mut answered = 0;
        while answered < healthy.len() {
            let left = due.saturating_duration_since(Instant::now());
            let (monitor, id, result) = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("round {round}: {answered} of 50 answered in time"));
            assert!(monitor < 50 && id == round && result == CheckResult::Ok);
            answered += 1;
        }
        // The hung ones refuse their next checks at once.
        assert!(!hung[0].check(round, Duration::from_secs(1)));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    assert!(
        pool.threads() <= core + 4,
        "{} threads for a bound of {}",
        pool.threads(),
        core + 4
    );
    gate.open();
    for _ in 0..core {
        assert!(recv(&rx).0 >= 1000);
    }
    // Extra threads end once idle; the core stays.
    wait_for("the extra threads to end", || pool.threads() <= core);
}

#[test]
fn stop_runs_after_the_check_in_flight_and_refuses_new_checks() {
    let pool = ProbePool::new(config(2, 0));
    let (tx, rx) = mpsc::channel();
    let gate = Gate::default();
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let p = pool.attach(
        Box::new(Gated {
            gate: gate.clone(),
            started: started.clone(),
            stopped: stopped.clone(),
        }),
        answer_to(&tx, 0),
    );
    assert!(p.check(1, Duration::from_secs(1)));
    wait_for("the check to start", || started.load(Ordering::SeqCst) == 1);
    let waiter = p.request_stop();
    assert!(
        !waiter.wait_until(Instant::now() + Duration::from_millis(50)),
        "the check still runs: not stopped yet"
    );
    assert!(!stopped.load(Ordering::SeqCst));
    gate.open();
    assert!(waiter.wait_until(Instant::now() + Duration::from_secs(10)));
    assert!(stopped.load(Ordering::SeqCst));
    // The check in flight still answers.
    assert_eq!(recv(&rx), (0, 1, CheckResult::Ok));
}

#[test]
fn stop_and_wait_of_an_idle_probe_runs_its_stop() {
    let pool = ProbePool::new(config(1, 0));
    let stopped = Arc::new(AtomicBool::new(false));
    let handle = pool
        .place(
            "idle",
            Box::new(Gated {
                gate: Gate::default(),
                started: Arc::default(),
                stopped: stopped.clone(),
            }),
            Box::new(|_, _, _| {}),
            false,
        )
        .unwrap();
    assert!(matches!(handle, ProbeHandle::Pooled(_)));
    assert!(handle.stop_and_wait(Duration::from_secs(10)));
    assert!(stopped.load(Ordering::SeqCst));
}

#[test]
fn a_probe_placed_on_its_own_thread_stops_the_same_way() {
    let pool = ProbePool::new(config(1, 0));
    let (tx, rx) = mpsc::channel();
    let stopped = Arc::new(AtomicBool::new(false));
    let gate = Gate::default();
    gate.open();
    let handle = pool
        .place(
            "own",
            Box::new(Gated {
                gate,
                started: Arc::default(),
                stopped: stopped.clone(),
            }),
            answer_to(&tx, 7),
            true,
        )
        .unwrap();
    assert!(matches!(handle, ProbeHandle::Own(_)));
    assert!(handle.check(1, Duration::from_secs(1)));
    assert_eq!(recv(&rx), (7, 1, CheckResult::Ok));
    assert_eq!(pool.threads(), 0, "not on the pool");
    assert!(handle.stop_and_wait(Duration::from_secs(10)));
    assert!(stopped.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_probe_is_a_failed_check_and_the_pool_goes_on() {
    let pool = ProbePool::new(config(1, 0));
    let (tx, rx) = mpsc::channel();
    let bad = pool.attach(Box::new(Panics), answer_to(&tx, 0));
    let good = pool.attach(Box::new(Quick), answer_to(&tx, 1));
    assert!(bad.check(1, Duration::from_secs(1)));
    let (_, id, result) = recv(&rx);
    assert_eq!(id, 1);
    assert!(matches!(result, CheckResult::Failed(m) if m.contains("panicked")));
    assert!(
        bad.check(2, Duration::from_secs(1)),
        "the panic freed the slot"
    );
    assert!(matches!(recv(&rx).2, CheckResult::Failed(_)));
    assert!(good.check(3, Duration::from_secs(1)));
    assert_eq!(recv(&rx), (1, 3, CheckResult::Ok));
    assert_eq!(pool.threads(), 1);
}

#[test]
fn the_default_bound_is_small_and_independent_of_the_monitors() {
    let c = PoolConfig::for_this_machine();
    assert!((4..=16).contains(&c.core));
    assert!(c.core + c.max_extra <= 32);
}

/// Answers at once every other check; the others run on the pool.
struct Sometimes {
    asked: usize,
    ran: Arc<AtomicUsize>,
}

impl Probe for Sometimes {
    fn answer_now(&mut self) -> Option<CheckResult> {
        self.asked += 1;
        (self.asked % 2 == 1).then(|| CheckResult::Failed("now".into()))
    }
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        self.ran.fetch_add(1, Ordering::SeqCst);
        CheckResult::Ok
    }
}

#[test]
fn a_result_at_hand_is_answered_on_the_callers_thread_without_a_pool_thread() {
    let pool = ProbePool::new(PoolConfig::for_this_machine());
    let ran = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let caller = std::thread::current().id();
    let p = pool.attach(
        Box::new(Sometimes {
            asked: 0,
            ran: ran.clone(),
        }),
        Box::new(move |id, r, _| {
            let _ = tx.send((id, r, std::thread::current().id()));
        }),
    );
    assert!(p.check(1, Duration::from_secs(1)));
    // Already answered when check returns, by the caller, and no thread started.
    let (id, r, by) = rx.try_recv().unwrap();
    assert_eq!((id, r, by), (1, CheckResult::Failed("now".into()), caller));
    assert_eq!(pool.threads(), 0);
    assert!(p.check(2, Duration::from_secs(1)));
    let (id, r, by) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((id, r), (2, CheckResult::Ok));
    assert_ne!(by, caller);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}
