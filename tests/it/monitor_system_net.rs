//! userw, ipw and miiw in the real clpd.
//!
//! ipw and miiw run against real links: each test creates its own pair of
//! network namespaces (`clpt-<pid>-<n>-a` and `-b`) joined by a veth pair
//! (`vethA` in a, `vethB` in b) carrying 10.231.1.0/24 and fd00:231:1::/64,
//! and starts clpd INSIDE namespace a (`ip netns exec a clpcl -s`; clpd
//! inherits the namespace). Faults are real: `ip -n b link set vethB down`
//! (the peer vanishes: no carrier on vethA, echoes go unanswered) and
//! `ip -n a link set vethA down` (the local NIC is down: no route). No test
//! sends a packet outside the namespaces it created. A [`NetPair`] guard
//! deletes the namespaces, and the [`Rig`] ends clpd, even when a test fails.
//! These tests need root and iproute2 (`ip netns`); without them they fail,
//! saying so.
//!
//! userw cannot reach a real watchdog here (no driver can be loaded): the
//! relocated root places `/dev/watchdog` under `CLP_ROOT`, where the test
//! puts a FIFO and reads what clpd writes to it (keepalives, then the magic
//! close `V`). Method `none` is checked for Normal and for a real stall
//! (clpd stopped with SIGSTOP for longer than the limit).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clp::status::MonitorState;
use nix::sys::signal::Signal;

use crate::daemon::{CLPCL, Rig, conf};
use crate::monitor::{Mon, escalation, mon, mon_in, monitors, wait_alert, wait_mon};

// ---- namespaces -----------------------------------------------------------------

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `ip args...`; panics with its output unless it succeeds.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("these tests need iproute2 (`ip netns`) and root: cannot run ip: {e}")
    });
    assert!(
        out.status.success(),
        "ip {} failed ({}): {}{}\n(these tests need root and iproute2's `ip netns`)",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two test-owned network namespaces joined by a veth pair; deleted on drop.
struct NetPair {
    a: String,
    b: String,
    created: Vec<String>,
}

const A4: &str = "10.231.1.1";
const B4: &str = "10.231.1.2";
const B6: &str = "fd00:231:1::2";
/// In a's subnet, held by nobody: never answers.
const NOBODY4: &str = "10.231.1.99";

impl NetPair {
    fn new() -> NetPair {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = format!("clpt-{}-{n}", std::process::id());
        let mut pair = NetPair {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
            created: Vec::new(),
        };
        for ns in [pair.a.clone(), pair.b.clone()] {
            ip(&["netns", "add", &ns]);
            pair.created.push(ns.clone());
            // Static IPv6 addresses survive a link down (they are flushed by default).
            pair.sh(
                &ns,
                "echo 1 > /proc/sys/net/ipv6/conf/all/keep_addr_on_down",
            );
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        let (a, b) = (pair.a.clone(), pair.b.clone());
        ip(&[
            "link", "add", "vethA", "netns", &a, "type", "veth", "peer", "name", "vethB", "netns",
            &b,
        ]);
        ip(&["-n", &a, "addr", "add", &format!("{A4}/24"), "dev", "vethA"]);
        ip(&["-n", &b, "addr", "add", &format!("{B4}/24"), "dev", "vethB"]);
        ip(&[
            "-n",
            &a,
            "addr",
            "add",
            "fd00:231:1::1/64",
            "dev",
            "vethA",
            "nodad",
        ]);
        ip(&[
            "-n",
            &b,
            "addr",
            "add",
            &format!("{B6}/64"),
            "dev",
            "vethB",
            "nodad",
        ]);
        ip(&["-n", &a, "link", "set", "vethA", "up"]);
        ip(&["-n", &b, "link", "set", "vethB", "up"]);
        pair
    }

    /// Runs a shell command inside namespace `ns`.
    fn sh(&self, ns: &str, script: &str) {
        ip(&["netns", "exec", ns, "sh", "-c", script]);
    }

    /// Lets every group use unprivileged ICMP datagram sockets in namespace a.
    fn allow_unprivileged_ping(&self) {
        self.sh(
            &self.a,
            "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range",
        );
    }

    fn link(&self, ns: &str, nic: &str, up: bool) {
        ip(&["-n", ns, "link", "set", nic, if up { "up" } else { "down" }]);
    }

    /// `clpcl -s` inside namespace a: clpd runs there.
    fn start_in_a(&self, rig: &Rig) {
        let out = rig.run("ip", &["netns", "exec", &self.a, CLPCL, "-s"]);
        out.success();
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            let ok = Command::new("ip")
                .args(["netns", "del", &ns])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("could not delete network namespace {ns}");
            }
        }
    }
}

/// A monitor that only reports (thresholds 0, final action "No operation").
fn quiet(kind: &str, name: &str) -> Mon {
    mon(kind, name).emergency(&escalation(0, 0, 1))
}

fn ipw(name: &str, addrs: &[&str]) -> Mon {
    let list: String = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("<list id=\"{i}\"><ip>{a}</ip></list>"))
        .collect();
    quiet("ipw", name).timeout(3).params(&list)
}

fn miiw(name: &str, nic: &str) -> Mon {
    quiet("miiw", name)
        .timeout(5)
        .params(&format!("<object>{nic}</object>"))
}

fn rm9(rig: &Rig, name: &str) -> String {
    wait_alert(
        rig,
        "rm",
        9,
        &format!("Detected an error in monitoring {name}."),
    )
}

fn rm26(rig: &Rig, name: &str) {
    wait_alert(
        rig,
        "rm",
        26,
        &format!("{name} status changed from error to normal."),
    );
    wait_mon(rig, name, MonitorState::Normal);
}

/// Waits until clpd's module logs mention `text`.
fn wait_log(rig: &Rig, text: &str) {
    rig.wait_for(&format!("{text:?} in clpd's logs"), || {
        rig.daemon_logs().contains(text).then_some(())
    });
}

// ---- ipw and miiw ----------------------------------------------------------------

#[test]
fn monitor_ipw_and_miiw_follow_the_peer_link() {
    let net = NetPair::new();
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[
            ipw("ipw4", &[B4]),
            ipw("ipw6", &[B6]),
            // One of two answering is enough.
            ipw("ipwany", &[NOBODY4, B6]),
            miiw("miiw1", "vethA"),
            miiw("miiwx", "nosuch0"),
        ]),
    ));
    net.start_in_a(&rig);
    for m in ["ipw4", "ipw6", "ipwany", "miiw1"] {
        wait_mon(&rig, m, MonitorState::Normal);
    }
    let snap = rig.snapshot().unwrap();
    assert_eq!(mon_in(&snap, "ipw4").kind, "ipw");
    assert_eq!(mon_in(&snap, "miiw1").kind, "miiw");
    let missing = rm9(&rig, "miiwx");
    assert!(missing.contains("NIC nosuch0 does not exist"), "{missing}");
    wait_mon(&rig, "miiwx", MonitorState::Error);
    // The root namespace refuses unprivileged ICMP and so does a new one by
    // default: clpd (root) pings through raw sockets.
    wait_log(&rig, "IPv4 echo requests through raw sockets");
    wait_log(&rig, "IPv6 echo requests through raw sockets");

    // The peer goes away: no carrier on vethA, no answers.
    net.link(&net.b, "vethB", false);
    for (m, text) in [
        ("ipw4", format!("no answer from {B4} within 2.7 s")),
        ("ipw6", format!("no answer from {B6} within 2.7 s")),
        (
            "ipwany",
            format!("no answer from {NOBODY4}, {B6} within 2.7 s"),
        ),
        (
            "miiw1",
            "NIC vethA link is down (no link detected)".to_string(),
        ),
    ] {
        let msg = rm9(&rig, m);
        assert!(msg.contains(&text), "{m}: {msg}\n{}", rig.dump());
        wait_mon(&rig, m, MonitorState::Error);
    }

    // It comes back: every monitor returns to normal.
    net.link(&net.b, "vethB", true);
    for m in ["ipw4", "ipw6", "ipwany", "miiw1"] {
        rm26(&rig, m);
    }
    assert_eq!(
        mon_in(&rig.snapshot().unwrap(), "miiwx").status,
        MonitorState::Error
    );
    rig.stop_daemon();
}

#[test]
fn monitor_miiw_local_link_down_and_ipw_over_datagram_sockets() {
    let net = NetPair::new();
    net.allow_unprivileged_ping();
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[ipw("ipw4", &[B4]), miiw("miiw1", "vethA")]),
    ));
    net.start_in_a(&rig);
    wait_mon(&rig, "ipw4", MonitorState::Normal);
    wait_mon(&rig, "miiw1", MonitorState::Normal);
    wait_log(
        &rig,
        "IPv4 echo requests through unprivileged ICMP datagram sockets",
    );

    // The local NIC goes down: its route with it.
    net.link(&net.a, "vethA", false);
    let msg = rm9(&rig, "miiw1");
    assert!(
        msg.contains("NIC vethA link is down (the interface is administratively down)"),
        "{msg}"
    );
    let msg = rm9(&rig, "ipw4");
    assert!(
        msg.contains(&format!(
            "no answer from {B4} (Network is unreachable) within 2.7 s"
        )),
        "{msg}"
    );
    wait_mon(&rig, "miiw1", MonitorState::Error);
    wait_mon(&rig, "ipw4", MonitorState::Error);

    net.link(&net.a, "vethA", true);
    rm26(&rig, "miiw1");
    rm26(&rig, "ipw4");
    rig.stop_daemon();
}

// ---- userw ------------------------------------------------------------------------

fn userw(name: &str, method: &str, timeout: u32) -> Mon {
    quiet("userw", name)
        .timeout(timeout)
        .params(&format!("<method>{method}</method><usehb>0</usehb>"))
}

/// Resumes clpd if a test stopped it and failed before resuming it.
struct Cont<'a>(&'a Rig);

impl Drop for Cont<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.0.daemon_pid().filter(|p| self.0.owns(*p)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGCONT);
        }
    }
}

#[test]
fn monitor_userw_none_is_normal_and_reports_a_stall() {
    let rig = Rig::new();
    rig.install(&conf(&[], &monitors(&[userw("userw", "none", 2)])));
    rig.start();
    wait_mon(&rig, "userw", MonitorState::Normal);
    // Time passes (checks on time, each second): still Normal, no error.
    wait_alert(&rig, "rm", 1, "Monitoring userw has started.");
    std::thread::sleep(Duration::from_millis(2500));
    wait_mon(&rig, "userw", MonitorState::Normal);
    assert!(rig.alert_messages("rm", 9).is_empty(), "{}", rig.dump());

    // User space stalls for 4 s (limit 2 s): the next check runs late.
    let cont = Cont(&rig);
    rig.signal_daemon(Signal::SIGSTOP);
    std::thread::sleep(Duration::from_secs(4));
    rig.signal_daemon(Signal::SIGCONT);
    drop(cont);
    let msg = rm9(&rig, "userw");
    assert!(msg.contains("user space stalled: this check ran"), "{msg}");
    assert!(msg.contains("late (limit 2 s)"), "{msg}");
    rm26(&rig, "userw");
    rig.stop_daemon();
}

/// Everything readable now from a non-blocking FIFO; None at end of file.
fn drain(reader: &mut File) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return if out.is_empty() { None } else { Some(out) },
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(out),
            Err(e) => panic!("reading the watchdog stand-in: {e}"),
        }
    }
}

#[test]
fn monitor_userw_softdog_keeps_a_fifo_stand_in_alive_and_closes_it() {
    let rig = Rig::new();
    // The default device /dev/watchdog lands under the relocated root.
    let dev = rig.root().join("dev/watchdog");
    std::fs::create_dir_all(dev.parent().unwrap()).unwrap();
    nix::unistd::mkfifo(&dev, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut reader = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&dev)
        .unwrap();
    rig.install(&conf(&[], &monitors(&[userw("userw", "softdog", 5)])));
    rig.start();
    let mut seen = Vec::new();
    rig.wait_for("3 keepalives on the stand-in", || {
        seen.extend(drain(&mut reader).unwrap_or_default());
        (seen.len() >= 3).then_some(())
    });
    assert!(seen.iter().all(|b| *b == b'.'), "{seen:?}");
    wait_mon(&rig, "userw", MonitorState::Normal);
    wait_log(&rig, "is not a watchdog driver (no ioctls): a stand-in");

    // Monitoring stops cleanly with the cluster service: the magic close.
    rig.run(CLPCL, &["-t"]).success();
    rig.wait_service_offline();
    let mut tail = Vec::new();
    rig.wait_for("the magic close and end of file", || {
        match drain(&mut reader) {
            Some(b) => {
                tail.extend(b);
                None
            }
            None => Some(()),
        }
    });
    assert_eq!(tail.last(), Some(&b'V'), "{tail:?}");
    assert!(
        tail[..tail.len() - 1].iter().all(|b| *b == b'.'),
        "{tail:?}"
    );
    rig.stop_daemon();
}
