//! Partition trials: a group holding a floating address (`fip`) and an
//! `exec` is never active on two servers at once while the cluster is cut
//! and healed, and after each heal exactly one server holds it.
//!
//! Three kinds of cluster, each cut repeatedly (7 trials each by default,
//! `CLP_PARTITION_TRIALS=N` for N each):
//! * two servers with `pingnp`, the target on the first bridge: the server
//!   cut off (both its links down) reaches no target and is the loser;
//! * two servers with a witness (corosync-qnetd on the first bridge,
//!   corosync-qdevice per server): the server cut off loses the witness too,
//!   the other keeps its vote;
//! * three servers: the one cut off is a minority of one.
//!
//! The trials alternate between cutting the server that holds the group and
//! one that stands by. A sampler thread looks at every server every 25 ms
//! through the cut and the heal: the address is held when a socket can bind
//! to it in the server's namespace, the exec runs while the marker its
//! start.sh makes (and its stop.sh removes) exists. Two holders of either at
//! one sample fail the test.
//!
//! The loser releases (stop.sh with `SERVERSHUTDOWN`, the address removed)
//! and runs its NP action: npaction 2 (shutdown) with a shutdown command that
//! only records, so the machine is untouched and the loser's clpd keeps
//! running with its service stopped. After the heal it is a Corosync member
//! again and the operator's `clpcl -s` starts its service, as the product
//! wants (a server that ran its NP action does not come back by itself); it
//! then stands by, and the next trial starts from a formed cluster.
//!
//! No forced stop is configured: the winners take the group over only once
//! the release deadline has passed since they lost the loser.

use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use super::witness::witness_unavailable;
use crate::daemon::CLPCL;

/// The release deadline (`clp/cluster/releasedeadline`, s): the loser must
/// have released its group 4.8 s after it lost the others (the margin is a
/// fifth), which leaves room for Corosync's detection on the other side,
/// the NP check (ping: 1 s timeout) and the stop scripts on a loaded machine.
const DEADLINE_S: u64 = 6;

/// The release deadline with a witness: the quorum device's timeouts are
/// derived from it (a quarter, 2 s: corosync-qdevice's heartbeat to the
/// qnetd every 1.6 s), and shorter ones make the witness flap on a loaded
/// machine.
const WITNESS_DEADLINE_S: u64 = 8;

/// How often the sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(25);

fn trials() -> usize {
    std::env::var("CLP_PARTITION_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
}

/// The floating address: .60 of the first link's /25 (the servers have .1
/// to .3, the rig's hosts .101 up).
fn fip(rig: &ClusterRig) -> String {
    let node1 = &rig.nodes[0].addresses[0];
    let (net, _) = node1.rsplit_once('.').unwrap();
    format!("{net}.60")
}

const SCRIPTS: &[(&str, &str)] = &[
    (
        "g1/r1/start.sh",
        "touch \"$CLP_ROOT/active\"; echo \"start $CLP_EVENT\" >> \"$CLP_ROOT/rec\"",
    ),
    (
        "g1/r1/stop.sh",
        "rm -f \"$CLP_ROOT/active\"; echo \"stop $CLP_FACTOR\" >> \"$CLP_ROOT/rec\"",
    ),
];

/// g1 (fip vip, exec r1 after it), the deadline, the recording NP action,
/// the server sync wait (three servers and a witness: a majority could
/// start g1 before its first server joined), and `np`.
fn extra(rig: &ClusterRig, syncwait: u32, deadline_s: u64, np: &str) -> String {
    let address = fip(rig);
    format!(
        "  <clp><cluster><syncwait>{syncwait}</syncwait><releasedeadline>{deadline_s}</releasedeadline></cluster>\
<action><shutdown>echo \"shutdown $CLP_ACTION\" &gt;&gt; \"$CLP_ROOT/np-actions\"</shutdown>\
<reset>echo reset &gt;&gt; \"$CLP_ROOT/np-actions\"</reset></action></clp>\n\
  <group name=\"g1\"><gid>0</gid><resource name=\"fip@vip\"/><resource name=\"exec@r1\"/></group>\n\
  <resource>\n    <types name=\"fip\"/><types name=\"exec\"/>\n\
    <fip name=\"vip\"><parameters><ip>{address}</ip><ping><retry>0</retry><timeout>1</timeout></ping></parameters></fip>\n\
    <exec name=\"r1\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n\
  </resource>\n{np}"
    )
}

/// What one server shows at one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Held {
    address: bool,
    exec: bool,
}

impl Held {
    fn both(self) -> bool {
        self.address && self.exec
    }
}

/// The sampler: a thread that enters each server's namespace in turn.
struct Sampler {
    latest: Arc<Mutex<Vec<Held>>>,
    /// Every change of a server's state: when, which server, what it shows.
    changes: Arc<Mutex<Vec<(Instant, usize, Held)>>>,
    /// Samples where two servers held the address or ran the exec.
    violations: Arc<Mutex<Vec<String>>>,
    samples: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(rig: &ClusterRig) -> Sampler {
        let address: std::net::IpAddr = fip(rig).parse().unwrap();
        let nodes: Vec<(File, PathBuf)> = rig
            .nodes
            .iter()
            .map(|n| {
                (
                    File::open(format!("/run/netns/{}", n.netns)).unwrap(),
                    n.root().join("active"),
                )
            })
            .collect();
        let latest = Arc::new(Mutex::new(vec![Held::default(); nodes.len()]));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let samples = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, c, v, s, st) = (
            latest.clone(),
            changes.clone(),
            violations.clone(),
            samples.clone(),
            stop.clone(),
        );
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut first = true;
            while !st.load(Ordering::SeqCst) {
                let now = Instant::now();
                let held: Vec<Held> = nodes
                    .iter()
                    .map(|(ns, marker)| {
                        // SAFETY: setns on this thread of the test's own, with an
                        // open namespace file; the thread stays in the last one.
                        let entered = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                        assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
                        Held {
                            address: UdpSocket::bind((address, 0)).is_ok(),
                            exec: marker.exists(),
                        }
                    })
                    .collect();
                let addresses = held.iter().filter(|h| h.address).count();
                let execs = held.iter().filter(|h| h.exec).count();
                if addresses > 1 || execs > 1 {
                    v.lock().unwrap().push(format!(
                        "at {:?}: address on {addresses} servers, exec on {execs}: {held:?}",
                        now
                    ));
                }
                let mut last = l.lock().unwrap();
                for (i, h) in held.iter().enumerate() {
                    if first || last[i] != *h {
                        c.lock().unwrap().push((now, i, *h));
                    }
                }
                *last = held;
                drop(last);
                s.fetch_add(1, Ordering::SeqCst);
                if first {
                    first = false;
                    let _ = ready_tx.send(());
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Sampler {
            latest,
            changes,
            violations,
            samples,
            stop,
            thread: Some(thread),
        }
    }

    fn latest(&self) -> Vec<Held> {
        self.latest.lock().unwrap().clone()
    }

    /// The one server holding the address and running the exec, when
    /// exactly one holds either.
    fn sole_holder(&self) -> Option<usize> {
        let held = self.latest();
        let holders: Vec<usize> = (0..held.len()).filter(|i| held[*i].both()).collect();
        let any = held.iter().filter(|h| h.address || h.exec).count();
        (holders.len() == 1 && any == 1).then(|| holders[0])
    }

    /// The first time after `since` that `node` showed `want`.
    fn first(&self, since: Instant, node: usize, want: impl Fn(Held) -> bool) -> Option<Instant> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .find(|(at, n, h)| *at >= since && *n == node && want(*h))
            .map(|(at, _, _)| *at)
    }

    fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the servers' module logs say of the floating address.
fn about_vip(rig: &ClusterRig) -> String {
    let mut out = String::new();
    for node in &rig.nodes {
        let dir = node.root().join("var/log/clp");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text
                .lines()
                .filter(|l| l.contains("vip") || l.contains("fip"))
            {
                out += &format!(
                    "{} {}: {line}\n",
                    node.name,
                    entry.file_name().to_string_lossy()
                );
            }
        }
    }
    out
}

fn read(rig: &ClusterRig, node: usize, file: &str) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join(file)).unwrap_or_default()
}

/// What the trials of one kind measured (ms from the cut).
#[derive(Default)]
struct Figures {
    released: Vec<u128>,
    taken: Vec<u128>,
    standby_acted: Vec<u128>,
}

fn median_max(v: &[u128]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    format!(
        "median {} ms, max {} ms (n={})",
        s[s.len() / 2],
        s[s.len() - 1],
        s.len()
    )
}

/// The kinds of trials run one at a time: two clusters cutting and healing
/// side by side, beside the rest of the suite, loaded the 2-core CI machine
/// until Corosync stalled for 40 s in both.
fn one_kind_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TRIALS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TRIALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the rig with `conf` and waits until every server sees the others
/// and g1 is held by node1 only.
fn form(rig: &mut ClusterRig, conf: &str, sampler_after: impl FnOnce(&mut ClusterRig)) -> Sampler {
    rig.install(conf, SCRIPTS);
    rig.start_all();
    sampler_after(rig);
    let sampler = Sampler::start(rig);
    let names: Vec<String> = (1..=rig.nodes.len()).map(|i| format!("node{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let deadline = Instant::now() + FORM + FORM;
    while !(sampler.sole_holder() == Some(0) && (0..rig.nodes.len()).all(|i| rig.shows(i, &names)))
    {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for all members, g1 held by node1\n{}{}",
            rig.dump(),
            about_vip(rig)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sampler
}

/// One trial: cut `victim` off, wait for the outcome, heal, bring the
/// victim's service back, wait for one holder again. `label` for messages.
fn trial(
    rig: &ClusterRig,
    sampler: &Sampler,
    victim: usize,
    deadline_s: u64,
    figures: &mut Figures,
    label: &str,
    extra_dump: &dyn Fn() -> String,
) {
    let n = rig.nodes.len();
    let owner = sampler.sole_holder().expect("one holder before the cut");
    let acted_before = read(rig, victim, "np-actions").lines().count();
    let all_acted_before: Vec<usize> = (0..n)
        .map(|i| read(rig, i, "np-actions").lines().count())
        .collect();
    // Under load a server that was not cut may lose quorum too (its
    // corosync-qdevice starved past the witness's timeout, a token missed):
    // it then releases like a loser, which is safe, and nobody takes over.
    let survivor_lost = |rig: &ClusterRig| {
        (0..n)
            .filter(|i| *i != victim)
            .any(|i| read(rig, i, "np-actions").lines().count() > all_acted_before[i])
    };
    let late = |rig: &ClusterRig| {
        rig.nodes[victim]
            .nm_log()
            .matches("without waiting for the stop scripts")
            .count()
    };
    let late_before = late(rig);
    let cut = Instant::now();
    rig.link(victim, false);
    // Generous: a loaded machine has stalled Corosync for 40 s (the
    // outcome stays safe; the sampler checks that throughout).
    let limit = Duration::from_secs(deadline_s + 90);
    let dump = |rig: &ClusterRig| format!("{label}\n{}{}", rig.dump(), extra_dump());
    let wait = |what: &str, f: &dyn Fn(&ClusterRig) -> bool| {
        let deadline = Instant::now() + limit;
        while !f(rig) {
            assert!(
                Instant::now() < deadline,
                "{label}: timed out waiting for {what}\n{}",
                dump(rig)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait("the victim's NP action", &|rig| {
        read(rig, victim, "np-actions").lines().count() > acted_before
    });
    if victim == owner {
        wait("g1 on another server", &|rig| {
            sampler.sole_holder().is_some_and(|h| h != victim) || survivor_lost(rig)
        });
    }
    if survivor_lost(rig) {
        eprintln!("{label}: a server that was not cut lost quorum too (load); nothing to measure");
    } else if victim == owner {
        let released = sampler
            .first(cut, victim, |h| !h.address && !h.exec)
            .expect("the victim released");
        let holder = sampler.sole_holder().unwrap();
        let taken = sampler.first(cut, holder, Held::both).expect("taken over");
        figures.released.push((released - cut).as_millis());
        figures.taken.push((taken - cut).as_millis());
        assert!(
            read(rig, victim, "rec").ends_with("stop SERVERSHUTDOWN\n"),
            "{label}: {}",
            read(rig, victim, "rec")
        );
    } else {
        let acted = cut.elapsed().as_millis();
        figures.standby_acted.push(acted);
        assert_eq!(sampler.sole_holder(), Some(owner), "{label}\n{}", dump(rig));
    }
    // The loser released in time: its NP action did not have to cut the
    // release short at the deadline.
    assert_eq!(
        late(rig),
        late_before,
        "{label}: a late release\n{}",
        dump(rig)
    );
    // Every server's NP actions before the heal: on a loaded machine Corosync
    // may lose a server for a moment after it (a token missed while nothing
    // is cut), and a server that lost quorum then releases and runs its NP
    // action like a real loser (safe; with a witness the vote goes to node1,
    // or to nobody when the qnetd answers after sync_timeout).
    // A server that was not cut but lost quorum during the cut (see
    // `survivor_lost`) is brought back in the same way: its count is the one
    // from before the cut. The victim's own action is expected: its count is
    // the one now, and it is started below.
    let acted: Vec<usize> = (0..n)
        .map(|i| {
            if i == victim {
                read(rig, i, "np-actions").lines().count()
            } else {
                all_acted_before[i]
            }
        })
        .collect();
    // Heal; the victim is a member again, its service started by the operator.
    rig.link(victim, true);
    let all: Vec<String> = (1..=n).map(|i| format!("node{i}")).collect();
    wait("every server in Corosync's group again", &|rig| {
        (0..n).all(|i| rig.nodes[i].corosync_group().as_deref() == Some(&all[..]))
    });
    let out = rig.nodes[victim].command(CLPCL, &["-s"]);
    assert_eq!(
        out.code,
        0,
        "{label}: clpcl -s on the victim: {}",
        out.all()
    );
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    // The operator's clpcl -s brings such a server back, as the victim.
    // Per server: its NP actions when the heal began, and the last clpcl -s.
    let restarted: std::cell::RefCell<Vec<Option<Instant>>> =
        std::cell::RefCell::new(vec![None; n]);
    wait("every server Online, g1 held by one", &|rig| {
        for (i, before) in acted.iter().enumerate() {
            let count = read(rig, i, "np-actions").lines().count();
            let last = restarted.borrow()[i];
            if count > *before && last.is_none_or(|at| at.elapsed() > Duration::from_secs(5)) {
                eprintln!(
                    "{label}: node{} lost quorum without a cut (load); clpcl -s",
                    i + 1
                );
                let _ = rig.nodes[i].command(CLPCL, &["-s"]);
                restarted.borrow_mut()[i] = Some(Instant::now());
            }
        }
        sampler.sole_holder().is_some() && (0..n).all(|i| rig.shows(i, &names))
    });
    let v = sampler.violations();
    assert!(
        v.is_empty(),
        "{label}: both active:\n{}\n{}",
        v.join("\n"),
        dump(rig)
    );
}

/// Runs the trials of one kind: alternately the holder and a standby cut.
fn run_trials(
    rig: &ClusterRig,
    sampler: &Sampler,
    kind: &str,
    deadline_s: u64,
    extra_dump: &dyn Fn() -> String,
) {
    let mut figures = Figures::default();
    let started = Instant::now();
    let count = trials();
    for t in 0..count {
        let owner = sampler.sole_holder().expect("one holder between trials");
        let victim = if t % 2 == 0 {
            owner
        } else {
            (owner + 1 + t / 2 % (rig.nodes.len() - 1)) % rig.nodes.len()
        };
        let label = format!(
            "{kind}, trial {}/{count}: node{} cut ({})",
            t + 1,
            victim + 1,
            if victim == owner {
                "the holder"
            } else {
                "a standby"
            }
        );
        trial(
            rig,
            sampler,
            victim,
            deadline_s,
            &mut figures,
            &label,
            extra_dump,
        );
        eprintln!("{label}: ok");
    }
    eprintln!(
        "{kind}: {count} trials in {} s, {} samples, never two holders; holder cut: released {}, taken over {}; standby cut: NP action {}",
        started.elapsed().as_secs(),
        sampler.samples.load(Ordering::SeqCst),
        median_max(&figures.released),
        median_max(&figures.taken),
        median_max(&figures.standby_acted),
    );
}

const PING_DEVICE: &str = "<device id=\"10200\"><type>ping</type><info>1</info></device>";

#[test]
fn two_servers_with_pingnp_never_both_active() {
    if skip("partition_trials_pingnp") {
        return;
    }
    let _alone = one_kind_at_a_time();
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (_, target) = rig.add_host(0);
    let np = format!(
        "  <networkpartition><types name=\"pingnp\"/><pingnp name=\"pingnp1\"><priority>0</priority><device>10200</device>\
<grp id=\"0\"><list id=\"0\"><ip>{target}</ip></list></grp><interval>1</interval><timeout>1</timeout><retry>0</retry></pingnp></networkpartition>\n"
    );
    let conf = rig.clp_conf_with(2, "", PING_DEVICE, &extra(&rig, 60, DEADLINE_S, &np));
    let sampler = form(&mut rig, &conf, |_| {});
    run_trials(
        &rig,
        &sampler,
        "two servers, pingnp",
        DEADLINE_S,
        &String::new,
    );
}

#[test]
fn three_servers_never_both_active() {
    if skip("partition_trials_three") {
        return;
    }
    let _alone = one_kind_at_a_time();
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    let conf = rig.clp_conf_with(3, "", "", &extra(&rig, 60, DEADLINE_S, ""));
    let sampler = form(&mut rig, &conf, |_| {});
    run_trials(&rig, &sampler, "three servers", DEADLINE_S, &String::new);
}

#[test]
fn two_servers_with_a_witness_never_both_active() {
    if skip("partition_trials_witness") {
        return;
    }
    let _alone = one_kind_at_a_time();
    if let Some(why) = witness_unavailable() {
        eprintln!("partition_trials_witness: skipped: {why}");
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let witness = rig.add_witness();
    let (heartbeat, device) = witness.heartbeat();
    let conf = rig
        .clp_conf_with(2, "", device, &extra(&rig, 60, WITNESS_DEADLINE_S, ""))
        .replace(
            "</heartbeat>",
            &format!("<types name=\"witnesshb\"/>{heartbeat}</heartbeat>"),
        );
    let sampler = form(&mut rig, &conf, |rig| {
        for node in &mut rig.nodes {
            node.start_qdevice();
        }
    });
    run_trials(
        &rig,
        &sampler,
        "two servers, witness",
        WITNESS_DEADLINE_S,
        &|| witness.status(),
    );
}
