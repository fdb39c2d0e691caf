//! The derived corosync.conf: golden text for two and three servers, the
//! timing mapping, and none for one server.

use super::*;
use crate::config::test_model;

/// A clp.conf of `servers` (name, addresses on devices 0 and 1), lankhb1 on
/// device 0 (priority 0) and lanhb1 on device 1 (priority 1, written first),
/// `timing` inside <cluster>.
pub(crate) fn conf(servers: &[(&str, &str, &str)], timing: &str) -> String {
    let servers: String = servers
        .iter()
        .enumerate()
        .map(|(i, (name, a0, a1))| {
            format!(
                r#"<server name="{name}"><priority>{i}</priority><device id="0"><type>lan</type><info>{a0}</info></device><device id="1"><type>lan</type><info>{a1}</info></device></server>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>web</name>{timing}</cluster>{servers}
<heartbeat><types name="lankhb"/><types name="lanhb"/>
<lanhb name="lanhb1"><priority>1</priority><device>1</device></lanhb>
<lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb>
</heartbeat></root>"#
    )
}

fn files() -> CorosyncFiles {
    CorosyncFiles::of(&Paths::new("/r"))
}

const TWO_SERVERS: &str = "\
# Written by clpcfctrl --push from clp.conf (cluster web): do not edit,
# the next push writes it again. clp.conf(5) tells how each value is derived.
totem {
    version: 2
    cluster_name: web
    transport: knet
    link_mode: passive
    crypto_cipher: aes256
    crypto_hash: sha256
    keyfile: /r/etc/clp/authkey
    # heartbeat interval 3000 ms, timeout 90000 ms
    token: 40909
    token_coefficient: 0
    token_retransmits_before_loss_const: 13
    consensus: 49090
    interface {
        # lankhb1 (lankhb)
        linknumber: 0
        knet_link_priority: 2
        knet_ping_interval: 3000
        knet_ping_timeout: 90000
    }
    interface {
        # lanhb1 (lanhb)
        linknumber: 1
        knet_link_priority: 1
        knet_ping_interval: 3000
        knet_ping_timeout: 90000
    }
}

nodelist {
    node {
        name: alpha
        nodeid: 1
        ring0_addr: 10.0.0.1
        ring1_addr: 192.168.1.1
    }
    node {
        name: beta
        nodeid: 2
        ring0_addr: 10.0.0.2
        ring1_addr: 192.168.1.2
    }
}

quorum {
    provider: corosync_votequorum
    # two servers: one alone keeps quorum; two_node implies wait_for_all,
    # so both must have been seen once since start
    two_node: 1
}

logging {
    to_logfile: yes
    logfile: /r/var/log/clp/corosync.log
    to_syslog: yes
    to_stderr: no
    timestamp: on
}

system {
    state_dir: /r/var/lib/clp/corosync
}
";

#[test]
fn two_servers_two_links() {
    let text = conf(
        &[
            ("alpha", "10.0.0.1", "192.168.1.1"),
            ("beta", "10.0.0.2", "192.168.1.2"),
        ],
        "",
    );
    let cluster = test_model(&text, "beta");
    assert_eq!(corosync_conf(&cluster, &files()).unwrap(), TWO_SERVERS);
}

#[test]
fn three_servers_two_links_ipv6_tuned_timing() {
    let text = conf(
        &[
            ("n1", "fd00::1", "10.1.0.1"),
            ("n2", "fd00::2", "10.1.0.2"),
            ("n3", "fd00::3", "10.1.0.3"),
        ],
        "<heartbeat><interval>500</interval><timeout>5000</timeout></heartbeat>",
    );
    let cluster = test_model(&text, "n1");
    let out = corosync_conf(&cluster, &files()).unwrap();
    let expected_totem = "\
    # heartbeat interval 500 ms, timeout 5000 ms
    token: 2272
    token_coefficient: 0
    token_retransmits_before_loss_const: 4
    consensus: 2726
    interface {
        # lankhb1 (lankhb)
        linknumber: 0
        knet_link_priority: 2
        knet_ping_interval: 500
        knet_ping_timeout: 5000
    }
";
    assert!(out.contains(expected_totem), "{out}");
    let expected_nodes = "\
nodelist {
    node {
        name: n1
        nodeid: 1
        ring0_addr: fd00::1
        ring1_addr: 10.1.0.1
    }
    node {
        name: n2
        nodeid: 2
        ring0_addr: fd00::2
        ring1_addr: 10.1.0.2
    }
    node {
        name: n3
        nodeid: 3
        ring0_addr: fd00::3
        ring1_addr: 10.1.0.3
    }
}

quorum {
    provider: corosync_votequorum
    # three servers or more: a majority of them has quorum
}
";
    assert!(out.contains(expected_nodes), "{out}");
}

#[test]
fn a_witness_is_a_quorum_device_instead_of_two_node() {
    let text = conf(
        &[
            ("alpha", "10.0.0.1", "192.168.1.1"),
            ("beta", "10.0.0.2", "192.168.1.2"),
        ],
        "",
    )
    .replace(
        "</heartbeat>",
        r#"<types name="witnesshb"/><witnesshb name="witnesshb1"><priority>2</priority><host>qnetd.example</host><port>5404</port></witnesshb></heartbeat>"#,
    );
    let cluster = test_model(&text, "alpha");
    let out = corosync_conf(&cluster, &files()).unwrap();
    let expected = "\
quorum {
    provider: corosync_votequorum
    # witness heartbeat witnesshb1: a corosync-qnetd quorum device; its timeouts
    # from the release deadline (30000 ms), see qdevice_timing
    device {
        model: net
        votes: 1
        timeout: 7500
        sync_timeout: 15000
        net {
            host: qnetd.example
            port: 5404
            algorithm: ffsplit
        }
    }
}
";
    assert!(out.contains(expected), "{out}");
    assert!(!out.contains("two_node"), "{out}");
}

#[test]
fn the_quorum_device_answers_within_half_the_release_deadline() {
    use super::qdevice_timing;
    let at = |s| qdevice_timing(Duration::from_secs(s));
    // The default deadline (30 s): 7.5 s, 15 s.
    assert_eq!(at(30).timeout_ms, 7500);
    assert_eq!(at(30).sync_timeout_ms, 15_000);
    // Short deadlines: qnetd's floor; long ones: Corosync's defaults.
    assert_eq!(at(2).timeout_ms, 1250);
    assert_eq!(at(600).timeout_ms, 10_000);
    for s in [8u64, 20, 30, 40] {
        let q = at(s);
        assert!(q.timeout_ms * 16 / 10 <= u128::from(s) * 500, "{s}: {q:?}");
        assert!(q.sync_timeout_ms <= u128::from(s) * 500, "{s}: {q:?}");
    }
}

#[test]
fn one_server_runs_without_corosync() {
    let text = r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster><server name="solo"><priority>0</priority>
<device id="0"><type>lan</type><info>127.0.0.1</info></device></server>
<heartbeat><types name="lanhb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb></heartbeat></root>"#;
    let cluster = test_model(text, "solo");
    assert!(!cluster.links.is_cluster());
    assert_eq!(corosync_conf(&cluster, &files()), None);
}

#[test]
fn timing_follows_the_heartbeat_interval_and_timeout() {
    let ms = Duration::from_millis;
    let t = totem_timing(ms(3000), ms(90_000));
    assert_eq!(
        (t.token_ms, t.retransmits, t.consensus_ms),
        (40_909, 13, 49_090)
    );
    // A server is declared down after token + consensus: the timeout.
    assert!((89_990..=90_000).contains(&(t.token_ms + t.consensus_ms)));
    assert_eq!((t.ping_interval_ms, t.ping_timeout_ms), (3000, 90_000));
    // Never fewer than two tries before the token counts as lost.
    assert_eq!(totem_timing(ms(3000), ms(4000)).retransmits, 2);
    let tuned = totem_timing(ms(250), ms(1000));
    assert_eq!((tuned.token_ms, tuned.consensus_ms), (454, 544));
}
