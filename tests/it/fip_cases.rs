//! The floating IP resource in the cases around its main path: a restarted
//! clpd, an address already there, a link that is down, an interface
//! without Ethernet. The namespaces are `fip.rs`'s [`Nets`].

use std::fs;

use clp::status::{MonitorState, RunState};

use crate::daemon::{CLPCL, CLPGRP, Rig};
use crate::fip::{FIP_V4, NO_RETRY, Nets, QUICK, fip_conf, ip, skip, start_in, vip, vip_error};

#[test]
fn a_restarted_clpd_adopts_the_address_it_left() {
    if skip("a_restarted_clpd_adopts_the_address_it_left") {
        return;
    }
    let nets = Nets::new();
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, true));
    start_in(&nets, &rig);
    rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    rig.kill_daemon();
    assert!(nets.has(FIP_V4), "the address outlives clpd");
    start_in(&nets, &rig);
    rig.wait_snap("vip Online, fipw Normal after the restart", |s| {
        vip(s) == RunState::Online && s.monitors.iter().any(|m| m.status == MonitorState::Normal)
    });
    assert!(rig.alert_messages("fip", 10).is_empty(), "{}", rig.dump());
    let shown = nets.server_addresses();
    assert_eq!(
        shown.matches(&format!("inet {FIP_V4}/")).count(),
        1,
        "{shown}"
    );
    // The successor owns it: its deactivation removes it.
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
    assert!(!nets.has(FIP_V4), "{}", nets.server_addresses());
}

#[test]
fn an_address_present_before_activation_is_taken_as_the_resources() {
    if skip("an_address_present_before_activation_is_taken_as_the_resources") {
        return;
    }
    let nets = Nets::new();
    ip(&[
        "-n",
        &nets.server,
        "addr",
        "add",
        &format!("{FIP_V4}/24"),
        "dev",
        "eth0",
    ]);
    let rig = Rig::new();
    rig.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, false));
    start_in(&nets, &rig);
    rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    rig.wait_for("the adoption in the rc log", || {
        fs::read_to_string(rig.root().join("var/log/clp/rc.log.cur"))
            .unwrap_or_default()
            .contains("fip vip: 10.77.0.100 is on eth0 already; taken as this resource's")
            .then_some(())
    });
    assert!(rig.alert_messages("fip", 10).is_empty(), "{}", rig.dump());
    // A copy on a second interface goes with the deactivation too.
    ip(&[
        "-n",
        &nets.server,
        "addr",
        "add",
        &format!("{FIP_V4}/32"),
        "dev",
        "lo",
    ]);
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("vip Offline", |s| vip(s) == RunState::Offline);
    let all = ip(&["-n", &nets.server, "addr", "show"]);
    assert!(!all.contains(&format!("inet {FIP_V4}/")), "{all}");
}

#[test]
fn a_down_link_fails_the_activation_only_when_monmii_says_so() {
    if skip("a_down_link_fails_the_activation_only_when_monmii_says_so") {
        return;
    }
    let nets = Nets::new();
    ip(&["-n", &nets.server, "link", "set", "eth0", "down"]);
    let strict = Rig::new();
    strict.install(&fip_conf(FIP_V4, "<monmii>1</monmii>", NO_RETRY, false));
    start_in(&nets, &strict);
    let snap = strict.wait_snap("vip failed", |s| vip(s) == RunState::OnlineFailure);
    assert!(
        vip_error(&snap)
            .contains("the link of eth0 is down (parameters/monmii makes that a failure)"),
        "{}",
        strict.dump()
    );
    assert!(!nets.has(FIP_V4), "{}", nets.server_addresses());
    strict.run(CLPCL, &["-t"]).success();

    // By default a down link is no failure: the address goes up, unchecked.
    let lenient = Rig::new();
    lenient.install(&fip_conf(FIP_V4, QUICK, NO_RETRY, false));
    start_in(&nets, &lenient);
    lenient.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    assert!(nets.has(FIP_V4), "{}", nets.server_addresses());
    lenient.wait_for("the warning in the rc log", || {
        fs::read_to_string(lenient.root().join("var/log/clp/rc.log.cur"))
            .unwrap_or_default()
            .contains(
                "fip vip: the link of eth0 is down; adding 10.77.0.100 without the duplicate check",
            )
            .then_some(())
    });
}

#[test]
fn an_interface_without_ethernet_gets_the_address_without_arp() {
    if skip("an_interface_without_ethernet_gets_the_address_without_arp") {
        return;
    }
    let nets = Nets::new();
    // A tun device: no hardware address, and no carrier while nobody reads it.
    ip(&[
        "-n",
        &nets.server,
        "tuntap",
        "add",
        "dev",
        "tun0",
        "mode",
        "tun",
    ]);
    ip(&[
        "-n",
        &nets.server,
        "addr",
        "add",
        "10.88.0.1/24",
        "dev",
        "tun0",
    ]);
    ip(&["-n", &nets.server, "link", "set", "tun0", "up"]);
    let rig = Rig::new();
    rig.install(&fip_conf("10.88.0.100", QUICK, NO_RETRY, false));
    start_in(&nets, &rig);
    rig.wait_snap("vip Online", |s| vip(s) == RunState::Online);
    let shown = ip(&["-n", &nets.server, "addr", "show", "dev", "tun0"]);
    assert!(shown.contains("inet 10.88.0.100/24"), "{shown}");
    rig.wait_for("the warning in the rc log", || {
        fs::read_to_string(rig.root().join("var/log/clp/rc.log.cur"))
            .unwrap_or_default()
            .contains("fip vip: tun0 has no Ethernet address: no ARP probe or announcement")
            .then_some(())
    });
}
