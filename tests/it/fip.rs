//! The floating IP resource and fipw, for real: clpd runs in a network
//! namespace of the test's own (`nsenter --net=/run/netns/NAME`, so that its
//! `/run` stays the machine's), joined by a veth pair to an observer
//! namespace that plays the client. Nothing is ever added to the machine's
//! own network: the one test run in the initial namespace checks that clpd
//! refuses.
//!
//! Namespaces are named `f<pid><n>s` (clpd's) and `f<pid><n>o` (the
//! observer's); the guard deletes them by name, also after a panic.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clp::status::{MonitorState, RunState, Snapshot};

use crate::daemon::{CLPCL, CLPGRP, HOST, Rig};
use crate::util::run;

pub static NETS: AtomicU32 = AtomicU32::new(0);

/// The network both namespaces share, and the addresses on it.
const SERVER_V4: &str = "10.77.0.1/24";
const OBSERVER_V4: &str = "10.77.0.2/24";
pub const FIP_V4: &str = "10.77.0.100";
const SERVER_V6: &str = "fd77::1/64";
const OBSERVER_V6: &str = "fd77::2/64";
const FIP_V6: &str = "fd77::100";
/// A hardware address nobody has: the observer's neighbour entry for the
/// floating address starts there, so that only an announcement can change it.
pub const OLD_MAC: &str = "02:00:00:00:00:99";

/// Why these tests cannot run here, if they cannot.
pub fn skip(test: &str) -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("needs root (network namespaces)")
    } else if run(Command::new("nsenter").arg("--version")).code != 0 {
        Some("nsenter is not installed (util-linux)")
    } else if run(Command::new("ip").arg("-V")).code != 0 {
        Some("ip is not installed (iproute2)")
    } else {
        None
    };
    if let Some(why) = why {
        eprintln!("{test}: skipped: {why}");
    }
    why.is_some()
}

pub fn ip(args: &[&str]) -> String {
    let out = run(Command::new("ip").args(args));
    assert_eq!(out.code, 0, "ip {}: {}", args.join(" "), out.all());
    out.stdout
}

/// clpd's namespace and the observer's, joined by `eth0` on both sides.
pub struct Nets {
    pub server: String,
    pub observer: String,
}

impl Nets {
    pub fn new() -> Nets {
        let n = NETS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("f{}{n}", std::process::id());
        let nets = Nets {
            server: format!("{prefix}s"),
            observer: format!("{prefix}o"),
        };
        ip(&["netns", "add", &nets.server]);
        ip(&["netns", "add", &nets.observer]);
        ip(&[
            "link",
            "add",
            "eth0",
            "netns",
            &nets.server,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &nets.observer,
        ]);
        for (ns, v4, v6) in [
            (&nets.server, SERVER_V4, SERVER_V6),
            (&nets.observer, OBSERVER_V4, OBSERVER_V6),
        ] {
            ip(&["-n", ns, "addr", "add", v4, "dev", "eth0"]);
            ip(&["-n", ns, "addr", "add", v6, "dev", "eth0", "nodad"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        nets
    }

    /// `program args...` run inside clpd's namespace.
    fn inside(&self, rig: &Rig, program: &str, args: &[&str]) -> crate::util::Output {
        let net = format!("--net=/run/netns/{}", self.server);
        let mut all = vec![net.as_str(), program];
        all.extend_from_slice(args);
        rig.run("nsenter", &all)
    }

    /// The addresses of clpd's `eth0`, as `ip` shows them.
    pub fn server_addresses(&self) -> String {
        ip(&["-n", &self.server, "addr", "show", "dev", "eth0"])
    }

    pub fn has(&self, address: &str) -> bool {
        self.server_addresses().contains(&format!(
            "inet{} {address}/",
            if address.contains(':') { "6" } else { "" }
        ))
    }

    fn server_mac(&self) -> String {
        let out = ip(&["-n", &self.server, "link", "show", "eth0"]);
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// The observer's neighbour entry for `address`.
    fn observer_neigh(&self, address: &str) -> String {
        ip(&["-n", &self.observer, "neigh", "show", address])
    }
}

impl Drop for Nets {
    fn drop(&mut self) {
        for ns in [&self.server, &self.observer] {
            let _ = Command::new("ip").args(["netns", "delete", ns]).status();
        }
    }
}

/// Runs `f` on a thread that entered network namespace `ns`.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = fs::File::open(format!("/run/netns/{ns}")).unwrap();
    std::thread::spawn(move || {
        // SAFETY: setns on an open namespace file; it moves this thread only.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap()
}

/// A clp.conf with group `g` of fip `vip` (`fip_params` inside its
/// `<parameters>`, `act` inside its `<act>`) and, with `fipw`, a fipw on it
/// checking every second.
pub fn fip_conf(address: &str, fip_params: &str, act: &str, fipw: bool) -> String {
    let monitor = if fipw {
        r#"  <monitor><types name="fipw"/>
    <fipw name="fipw1"><target>vip</target><polling><interval>1</interval><timeout>5</timeout><reconfirmation>0</reconfirmation></polling>
      <relation><type>rsc</type><name>vip</name></relation>
      <emergency><threshold><restart>3</restart><fo>0</fo></threshold><action>1</action></emergency></fipw>
  </monitor>
"#
    } else {
        ""
    };
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>testcl</name></cluster>
  <server name="{HOST}"><priority>0</priority><device id="0"><type>lan</type><info>127.0.0.1</info></device></server>
  <heartbeat><types name="lanhb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb></heartbeat>
  <group name="g"><gid>0</gid><resource name="fip@vip"/></group>
  <resource><types name="fip"/>
    <fip name="vip"><parameters><ip>{address}</ip>{fip_params}</parameters><act>{act}</act></fip>
  </resource>
{monitor}</root>
"#
    )
}

/// A quick duplicate check (one probe, half a second) and no retry or
/// failover of a failed activation.
pub const QUICK: &str = "<ping><retry>0</retry><timeout>1</timeout></ping>";
pub const NO_RETRY: &str = "<retry>0</retry><fo>0</fo>";

pub fn vip(s: &Snapshot) -> RunState {
    s.groups
        .iter()
        .flat_map(|g| &g.resources)
        .find(|r| r.name == "vip")
        .map_or(RunState::Unknown, |r| r.status)
}

pub fn vip_error(s: &Snapshot) -> String {
    s.groups
        .iter()
        .flat_map(|g| &g.resources)
        .find(|r| r.name == "vip")
        .and_then(|r| r.last_error.clone())
        .unwrap_or_default()
}

/// Starts clpd in the server namespace (`clpcl -s` there launches it).
pub fn start_in(nets: &Nets, rig: &Rig) {
    nets.inside(rig, CLPCL, &["-s"]).success();
}

/// A listener on the floating address in clpd's namespace, and a connection
/// to it from the observer's: the address is reachable from the client.
fn reachable(nets: &Nets, address: &str) {
    let target = SocketAddr::new(address.parse::<IpAddr>().unwrap(), 7777);
    let listener = in_netns(&nets.server, move || TcpListener::bind(target).unwrap());
    let connected = in_netns(&nets.observer, move || {
        TcpStream::connect_timeout(&target, Duration::from_secs(5)).map(|_| ())
    });
    assert!(connected.is_ok(), "connect to {target}: {connected:?}");
    drop(listener);
}

#[test]
fn fip_is_added_announced_reachable_and_removed() {
    if skip("fip_is_added_announced_reachable_and_removed") {
        return;
    }
    let nets = Nets::new();
    // The observer believes the address is at another host (a former owner).
    ip(&[
        "-n",
        &nets.observer,
        "neigh",
        "replace",
        FIP_V4,
        "lladdr",
        OLD_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ]);
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, false));
    let started = Instant::now();
    start_in(&nets, &rig);
    let mac = nets.server_mac();
    // The gratuitous ARP moves the observer's entry to clpd's interface
    // without the observer sending anything.
    let switched = rig.wait_for("the observer's entry to show clpd's MAC", || {
        nets.observer_neigh(FIP_V4)
            .contains(&mac)
            .then(Instant::now)
    });
    rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    eprintln!(
        "fip: clpcl -s -> observer's neighbour entry switched: {} ms (duplicate check: one probe, 1 s)",
        (switched - started).as_millis()
    );
    assert!(nets.has(FIP_V4), "{}", nets.server_addresses());
    reachable(&nets, FIP_V4);

    // Deactivation removes it; a second one finds nothing to remove.
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
    assert!(!nets.has(FIP_V4), "{}", nets.server_addresses());
    rig.run(CLPGRP, &["-s", "g"]).success();
    rig.wait_snap("vip Online again", |s| vip(s) == RunState::Online);
    assert!(nets.has(FIP_V4));
}

#[test]
fn an_address_that_answers_already_fails_the_activation_unless_forced() {
    if skip("an_address_that_answers_already_fails_the_activation_unless_forced") {
        return;
    }
    let nets = Nets::new();
    // The observer holds the floating address.
    ip(&[
        "-n",
        &nets.observer,
        "addr",
        "add",
        &format!("{FIP_V4}/24"),
        "dev",
        "eth0",
    ]);
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, false));
    start_in(&nets, &rig);
    let snap = rig.wait_snap("vip failed", |s| vip(s) == RunState::OnlineFailure);
    assert!(
        vip_error(&snap).contains("already answers on the network of eth0"),
        "{}",
        rig.dump()
    );
    rig.assert_alert(
        "fip",
        10,
        "IP address 10.77.0.100 already exists on the network.",
    );
    assert!(!nets.has(FIP_V4), "{}", nets.server_addresses());
    rig.run(CLPCL, &["-t"]).success();

    // Forced: the same situation, fip 11, and the address is added.
    let forced = Rig::new();
    forced.install(&fip_conf(
        FIP_V4,
        "<ping><retry>0</retry><timeout>1</timeout><force>1</force></ping>",
        NO_RETRY,
        false,
    ));
    start_in(&nets, &forced);
    forced.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    forced.assert_alert(
        "fip",
        11,
        "IP address 10.77.0.100 will be forcefully activated.",
    );
    assert!(nets.has(FIP_V4), "{}", nets.server_addresses());
}

#[test]
fn fipw_sees_the_address_removed_and_recovery_puts_it_back() {
    if skip("fipw_sees_the_address_removed_and_recovery_puts_it_back") {
        return;
    }
    let nets = Nets::new();
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, true));
    start_in(&nets, &rig);
    rig.wait_snap("vip Online, fipw Normal", |s| {
        vip(s) == RunState::Online && s.monitors.iter().any(|m| m.status == MonitorState::Normal)
    });
    ip(&[
        "-n",
        &nets.server,
        "addr",
        "del",
        &format!("{FIP_V4}/24"),
        "dev",
        "eth0",
    ]);
    let removed = Instant::now();
    let snap = rig.wait_snap("fipw restarted vip", |s| {
        s.monitors.iter().any(|m| m.restart_count >= 1) && vip(s) == RunState::Online
    });
    rig.wait_for("the address back", || nets.has(FIP_V4).then_some(()));
    eprintln!(
        "fipw: address removed by hand -> back on eth0: {} ms (fipw interval 1 s)",
        removed.elapsed().as_millis()
    );
    let fipw = snap.monitors.iter().find(|m| m.name == "fipw1").unwrap();
    assert_eq!(fipw.restart_count, 1, "{}", rig.dump());
    let out = rig.run(crate::daemon::CLPSTAT, &["--mon", "fipw1", "--detail"]);
    out.success();
    assert!(
        out.stdout.contains("Monitor NIC Link Up/Down"),
        "{}",
        out.stdout
    );
}

#[test]
fn ipv6_fip_passes_dad_is_reachable_and_removed() {
    if skip("ipv6_fip_passes_dad_is_reachable_and_removed") {
        return;
    }
    let nets = Nets::new();
    ip(&[
        "-n",
        &nets.observer,
        "-6",
        "neigh",
        "replace",
        FIP_V6,
        "lladdr",
        OLD_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ]);
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V6, QUICK, NO_RETRY, false));
    let started = Instant::now();
    start_in(&nets, &rig);
    rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    // The unsolicited neighbour advertisement (Override) moved the observer's entry.
    let mac = nets.server_mac();
    rig.wait_for("the observer's IPv6 entry to show clpd's MAC", || {
        nets.observer_neigh(FIP_V6).contains(&mac).then_some(())
    });
    eprintln!(
        "fip IPv6: clpcl -s -> Online: {} ms (the kernel's DAD included)",
        started.elapsed().as_millis()
    );
    let shown = nets.server_addresses();
    assert!(nets.has(FIP_V6), "{shown}");
    let line = shown
        .lines()
        .find(|l| l.contains(&format!("inet6 {FIP_V6}/")))
        .unwrap_or_default();
    assert!(
        !line.contains("tentative") && !line.contains("dadfailed"),
        "{shown}"
    );
    reachable(&nets, FIP_V6);
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
    assert!(!nets.has(FIP_V6), "{}", nets.server_addresses());
}

#[test]
fn ipv6_duplicate_is_found_by_dad_unless_forced() {
    if skip("ipv6_duplicate_is_found_by_dad_unless_forced") {
        return;
    }
    let nets = Nets::new();
    ip(&[
        "-n",
        &nets.observer,
        "addr",
        "add",
        &format!("{FIP_V6}/64"),
        "dev",
        "eth0",
        "nodad",
    ]);
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V6, QUICK, NO_RETRY, false));
    start_in(&nets, &rig);
    rig.wait_snap("vip failed", |s| vip(s) == RunState::OnlineFailure);
    rig.assert_alert(
        "fip",
        10,
        "IP address fd77::100 already exists on the network.",
    );
    assert!(!nets.has(FIP_V6), "{}", nets.server_addresses());
    rig.run(CLPCL, &["-t"]).success();

    // Forced: fip 11, and the address is added without detection.
    let forced = Rig::new();
    forced.install(&fip_conf(
        FIP_V6,
        "<ping><retry>0</retry><timeout>1</timeout><force>1</force></ping>",
        NO_RETRY,
        false,
    ));
    start_in(&nets, &forced);
    forced.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    forced.assert_alert(
        "fip",
        11,
        "IP address fd77::100 will be forcefully activated.",
    );
    let shown = nets.server_addresses();
    let line = shown
        .lines()
        .find(|l| l.contains(&format!("inet6 {FIP_V6}/")))
        .unwrap_or_default();
    assert!(
        line.contains("nodad") && !line.contains("dadfailed"),
        "{shown}"
    );
}

#[test]
fn a_relocated_root_in_the_machines_own_namespace_refuses() {
    if skip("a_relocated_root_in_the_machines_own_namespace_refuses") {
        return;
    }
    // The address is of TEST-NET-1 and never added: the refusal comes first.
    let rig = Rig::new();
    rig.install(&fip_conf("192.0.2.213", QUICK, NO_RETRY, false));
    rig.run(CLPCL, &["-s"]).success();
    let snap = rig.wait_snap("vip failed", |s| vip(s) == RunState::OnlineFailure);
    let why = vip_error(&snap);
    assert!(
        why.contains("refused to add 192.0.2.213")
            && why.contains("network namespace of its own (nsenter --net=/run/netns/NAME)"),
        "{why}"
    );
    // Taking it down reads the addresses only: nothing to remove, a success.
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
}

/// Milliseconds since the Unix epoch, as the snapshot's times are.
pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// `clpgrp -s g` until the floating address is Online (its state's time in
/// the snapshot), and until the observer's neighbour entry (reset to a
/// former owner first, polled with `ip neigh`, a few ms a round) shows
/// clpd's MAC: `rounds` times, medians in milliseconds.
fn activation_rounds(nets: &Nets, rig: &Rig, rounds: usize) -> (u128, u128) {
    let mac = nets.server_mac();
    let mut online = Vec::new();
    let mut switched = Vec::new();
    for _ in 0..rounds {
        rig.run(CLPGRP, &["-t", "g"]).success();
        rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
        ip(&[
            "-n",
            &nets.observer,
            "neigh",
            "replace",
            FIP_V4,
            "lladdr",
            OLD_MAC,
            "dev",
            "eth0",
            "nud",
            "stale",
        ]);
        let t0 = Instant::now();
        let t0_ms = now_ms();
        // The observer is watched while clpgrp waits for the group.
        let mut clpgrp = rig
            .command(CLPGRP)
            .args(["-s", "g"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let seen = rig.wait_for("the observer's entry to show clpd's MAC", || {
            nets.observer_neigh(FIP_V4)
                .contains(&mac)
                .then(Instant::now)
        });
        let done = clpgrp.wait().unwrap();
        assert!(done.success(), "clpgrp -s g: {done}");
        let snap = rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
        let since = snap
            .groups
            .iter()
            .flat_map(|g| &g.resources)
            .find(|r| r.name == "vip")
            .map_or(0, |r| u128::from(r.since_ms));
        online.push(since.saturating_sub(t0_ms));
        switched.push((seen - t0).as_millis());
    }
    let median = |v: &mut Vec<u128>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    (median(&mut online), median(&mut switched))
}

#[test]
fn activation_time_with_and_without_the_duplicate_check() {
    if skip("activation_time_with_and_without_the_duplicate_check") {
        return;
    }
    let nets = Nets::new();
    const ROUNDS: usize = 5;
    let checked = Rig::new();
    checked.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, false));
    start_in(&nets, &checked);
    checked.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    let (with_online, with_switch) = activation_rounds(&nets, &checked, ROUNDS);
    checked.run(CLPCL, &["-t"]).success();
    assert!(!nets.has(FIP_V4), "clpcl -t removes it");

    let unchecked = Rig::new();
    unchecked.install(&fip_conf(
        FIP_V4,
        "<ping><timeout>0</timeout></ping>",
        NO_RETRY,
        false,
    ));
    start_in(&nets, &unchecked);
    unchecked.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    let (without_online, without_switch) = activation_rounds(&nets, &unchecked, ROUNDS);
    eprintln!(
        "fip activation, median of {ROUNDS}: with the duplicate check (1 probe, 1 s): clpgrp -s -> Online {with_online} ms, \
         observer switched {with_switch} ms; without: Online {without_online} ms, observer switched {without_switch} ms"
    );
    // The check waits its whole timeout for an address nobody holds.
    assert!(with_switch >= 1000, "{with_switch}");
    assert!(
        without_switch < with_switch,
        "{without_switch} {with_switch}"
    );
}

#[test]
fn fipw_with_monmii_sees_the_link_go_down_and_come_back() {
    if skip("fipw_with_monmii_sees_the_link_go_down_and_come_back") {
        return;
    }
    let nets = Nets::new();
    let rig = Rig::new();
    // No recovery: the monitor's state is what is watched.
    let conf = fip_conf(FIP_V4, QUICK, NO_RETRY, true)
        .replace(
            "<emergency><threshold><restart>3</restart>",
            "<emergency><threshold><restart>0</restart>",
        )
        .replace(
            "<fipw name=\"fipw1\">",
            "<fipw name=\"fipw1\"><parameters><monmii>1</monmii></parameters>",
        );
    rig.install(&conf);
    start_in(&nets, &rig);
    let normal = |s: &Snapshot| s.monitors.iter().any(|m| m.status == MonitorState::Normal);
    rig.wait_snap("vip Online, fipw Normal", |s| {
        vip(s) == RunState::Online && normal(s)
    });
    // The observer's end of the pair goes down: clpd's eth0 loses its carrier.
    ip(&["-n", &nets.observer, "link", "set", "eth0", "down"]);
    let snap = rig.wait_snap("fipw Error", |s| {
        s.monitors.iter().any(|m| m.status == MonitorState::Error)
    });
    let detail = snap.monitors[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("NIC eth0 of floating IP address 10.77.0.100 (vip): link is down"),
        "{detail}"
    );
    ip(&["-n", &nets.observer, "link", "set", "eth0", "up"]);
    rig.wait_snap("fipw Normal again", normal);
}
