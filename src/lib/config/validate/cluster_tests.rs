//! Each rule of a configuration of several servers, with the line and
//! element it names; and a one-server configuration that breaks them all
//! still loads as before.

use crate::config::corosync::tests::conf;
use crate::config::{ConfigFile, Report, validate};

const TWO: &[(&str, &str, &str)] = &[
    ("alpha", "10.0.0.1", "192.168.1.1"),
    ("beta", "10.0.0.2", "192.168.1.2"),
];

/// The report of `text` checked on `local`, as "line: path: message" lines.
fn check(text: &str, local: &str) -> (bool, Vec<String>) {
    let mut report = Report::new("clp.conf");
    let file = ConfigFile::parse(text.as_bytes(), &mut report).expect("well-formed");
    let opts = validate::Options {
        local_server: Some(local),
        scripts_dir: None,
    };
    let model = validate::validate(&file.doc, &opts, &mut report);
    let lines = report
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}: {}", d.line, d.path, d.message))
        .collect();
    (model.is_some(), lines)
}

/// Asserts that `text` is refused with an error at `line` and `path` whose
/// message contains `words`.
fn refused(text: &str, line: u32, path: &str, words: &str) {
    let (loaded, lines) = check(text, "alpha");
    assert!(!loaded, "loaded:\n{}", lines.join("\n"));
    let prefix = format!("{line}: {path}: ");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&prefix) && l.contains(words)),
        "expected {prefix}...{words}... in\n{}",
        lines.join("\n")
    );
}

/// The line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> u32 {
    let at = text.find(needle).expect(needle);
    u32::try_from(text[..at].matches('\n').count() + 1).unwrap()
}

#[test]
fn a_valid_cluster_loads_without_warnings() {
    let (loaded, lines) = check(&conf(TWO, ""), "alpha");
    assert!(loaded && lines.is_empty(), "{}", lines.join("\n"));
}

#[test]
fn links_follow_heartbeat_priority_with_every_address() {
    let model = crate::config::test_model(&conf(TWO, ""), "beta");
    let links = &model.links.links;
    let names: Vec<&str> = links.iter().map(|l| l.heartbeat.as_str()).collect();
    assert_eq!(names, ["lankhb1", "lanhb1"]);
    let link1: Vec<String> = links[1]
        .addresses
        .iter()
        .map(|a| format!("{}={}", a.server, a.address))
        .collect();
    assert_eq!(link1, ["alpha=192.168.1.1", "beta=192.168.1.2"]);
}

#[test]
fn several_servers_need_a_lan_heartbeat() {
    let text = conf(TWO, "").replace(
        r#"<lanhb name="lanhb1"><priority>1</priority><device>1</device></lanhb>
<lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb>"#,
        "",
    );
    refused(
        &text,
        0,
        "/root/heartbeat",
        "needs at least one LAN heartbeat",
    );
}

#[test]
fn every_server_needs_the_heartbeat_device() {
    let text = conf(TWO, "").replace(
        r#"<device id="1"><type>lan</type><info>192.168.1.2</info></device>"#,
        "",
    );
    let line = line_of(&text, r#"<server name="beta">"#);
    refused(
        &text,
        line,
        "/root/server@beta/device@1",
        "server beta has no device 1 for heartbeat lanhb1",
    );
}

#[test]
fn the_heartbeat_device_must_be_a_lan_device() {
    let text = conf(TWO, "").replace(
        "<type>lan</type><info>192.168.1.2</info>",
        "<type>mdc</type><info>192.168.1.2</info>",
    );
    refused(
        &text,
        line_of(&text, "<type>mdc"),
        "/root/server@beta/device@1/type",
        "is of type mdc, but heartbeat lanhb1 (lanhb) needs a lan device",
    );
}

#[test]
fn addresses_must_be_unicast_ip_addresses() {
    for bad in ["eth0", "10.0.0", "0.0.0.0", "224.0.0.1", ""] {
        let text = conf(TWO, "").replace("<info>10.0.0.2</info>", &format!("<info>{bad}</info>"));
        refused(
            &text,
            line_of(&text, r#"<server name="beta">"#),
            "/root/server@beta/device@0/info",
            &format!("\"{bad}\" is not a unicast IPv4 or IPv6 address"),
        );
    }
}

#[test]
fn addresses_of_a_link_are_distinct() {
    let text = conf(TWO, "").replace("<info>10.0.0.2</info>", "<info>10.0.0.1</info>");
    refused(
        &text,
        line_of(&text, r#"<server name="beta">"#),
        "/root/server@beta/device@0/info",
        "10.0.0.1 is also server alpha's address on heartbeat lankhb1",
    );
}

#[test]
fn addresses_of_a_link_are_of_one_family() {
    let text = conf(TWO, "").replace("<info>10.0.0.2</info>", "<info>fd00::2</info>");
    refused(
        &text,
        line_of(&text, r#"<server name="beta">"#),
        "/root/server@beta/device@0/info",
        "fd00::2 is IPv6 but server alpha's address on heartbeat lankhb1 is IPv4",
    );
}

#[test]
fn at_most_eight_links() {
    let devices = |n: u32| -> String {
        (0..9)
            .map(|i| {
                format!(r#"<device id="{i}"><type>lan</type><info>10.{i}.0.{n}</info></device>"#)
            })
            .collect()
    };
    let heartbeats: String = (0..9)
        .map(|i| {
            format!(r#"<lankhb name="hb{i}"><priority>{i}</priority><device>{i}</device></lankhb>"#)
        })
        .collect();
    let text = format!(
        r#"<root><cluster><name>c</name></cluster>
<server name="alpha"><priority>0</priority>{}</server>
<server name="beta"><priority>1</priority>{}</server>
<heartbeat><types name="lankhb"/>
{heartbeats}</heartbeat></root>"#,
        devices(1),
        devices(2)
    );
    refused(
        &text,
        5,
        "/root/heartbeat/lankhb@hb8",
        "9 LAN heartbeats, but Corosync's knet transport carries at most 8 links",
    );
}

#[test]
fn server_names_must_suit_corosync() {
    let text = conf(TWO, "").replace(r#"name="beta""#, r#"name="be ta""#);
    refused(
        &text,
        line_of(&text, r#"<server name="be ta">"#),
        "/root/server@be ta",
        "the server name \"be ta\" holds characters other than",
    );
}

#[test]
fn the_cluster_name_must_suit_corosync() {
    let text = conf(TWO, "").replace("<name>web</name>", "<name>-web</name>");
    refused(
        &text,
        line_of(&text, "<name>-web"),
        "/root/cluster/name",
        "the cluster name \"-web\" starts with",
    );
}

#[test]
fn the_heartbeat_timeout_is_longer_than_the_interval() {
    let text = conf(
        TWO,
        "<heartbeat><interval>5000</interval><timeout>5000</timeout></heartbeat>",
    );
    refused(
        &text,
        line_of(&text, "<timeout>"),
        "/root/cluster/heartbeat/timeout",
        "the heartbeat timeout (5000 ms) must be longer than the heartbeat interval (5000 ms)",
    );
}

#[test]
fn a_witness_needs_a_host_and_one_only() {
    let no_host = conf(TWO, "").replace(
        "</heartbeat>",
        r#"<types name="witnesshb"/><witnesshb name="w1"><priority>2</priority></witnesshb></heartbeat>"#,
    );
    refused(
        &no_host,
        line_of(&no_host, "<witnesshb"),
        "/root/heartbeat/witnesshb@w1/host",
        "the witness needs a host",
    );
    let two = conf(TWO, "").replace(
        "</heartbeat>",
        r#"<types name="witnesshb"/><witnesshb name="w1"><host>q</host></witnesshb>
<witnesshb name="w2"><host>q</host></witnesshb></heartbeat>"#,
    );
    refused(
        &two,
        line_of(&two, r#"<witnesshb name="w2""#),
        "/root/heartbeat/witnesshb@w2",
        "a second witnesshb",
    );
}

#[test]
fn the_witness_device_must_be_a_witness_device() {
    let text = conf(TWO, "").replace(
        "</heartbeat>",
        r#"<types name="witnesshb"/><witnesshb name="w1"><device>1</device><host>q</host></witnesshb></heartbeat>"#,
    );
    refused(
        &text,
        line_of(&text, r#"<server name="alpha">"#),
        "/root/server@alpha/device@1/type",
        "device 1 of server alpha is of type lan, but witness heartbeat w1 names it",
    );
}

#[test]
fn unsupported_heartbeats_say_why_in_a_cluster() {
    let text = conf(TWO, "").replace(
        "</heartbeat>",
        r#"<types name="diskhb"/><diskhb name="diskhb1"><priority>2</priority><device>300</device></diskhb></heartbeat>"#,
    );
    let (loaded, lines) = check(&text, "alpha");
    assert!(loaded, "{}", lines.join("\n"));
    assert_eq!(lines.len(), 1, "{}", lines.join("\n"));
    assert!(
        lines[0].contains("has no shared-disk heartbeat"),
        "{}",
        lines[0]
    );
}

#[test]
fn one_server_keeps_its_heartbeats_as_before() {
    // Everything the cluster rules refuse, on one server: loaded, and only
    // the warnings it always had.
    let text = r#"<root><cluster><name>-x y</name><heartbeat><interval>9000</interval><timeout>3000</timeout></heartbeat></cluster>
<server name="so lo"><priority>0</priority><device id="0"><type>lan</type><info>nowhere</info></device></server>
<heartbeat><types name="lanhb"/><types name="witnesshb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb>
<witnesshb name="w1"/></heartbeat></root>"#;
    let (loaded, lines) = check(text, "so lo");
    assert!(loaded, "{}", lines.join("\n"));
    assert_eq!(
        lines,
        [
            "4: /root/heartbeat/witnesshb@w1: heartbeat w1 (type witnesshb) is not supported by this version and will not run"
        ]
    );
    let model = crate::config::test_model(text, "so lo");
    assert!(!model.links.is_cluster());
}

#[test]
fn errors_name_the_line_of_the_value_to_fix() {
    let text = r#"<root><cluster><name>c</name></cluster>
<server name="alpha"><priority>0</priority>
  <device id="0">
    <type>lan</type>
    <info>10.0.0.1</info>
  </device>
</server>
<server name="beta"><priority>1</priority>
  <device id="0">
    <type>lan</type>
    <info>10.0.0.1</info>
  </device>
</server>
<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><device>0</device></lankhb></heartbeat></root>"#;
    refused(
        text,
        11,
        "/root/server@beta/device@0/info",
        "10.0.0.1 is also server alpha's address",
    );
    let text = text.replacen("<type>lan</type>", "<type>disk</type>", 1);
    refused(
        &text,
        4,
        "/root/server@alpha/device@0/type",
        "is of type disk",
    );
}
