//! Reading `<networkpartition>`, the NP action, the release deadline and
//! the forced stop; each problem with its line.

use std::time::Duration;

use crate::config::{ConfigFile, Report, validate};
use crate::model::{NpAction, NpKind};
use crate::vocab::OsAction;

/// Two (or `n`) servers, each with `devices`, and `extra` under `<root>`,
/// `cluster` inside `<cluster>`.
fn conf(n: usize, devices: &str, cluster: &str, extra: &str) -> String {
    let servers: String = (1..=n)
        .map(|i| {
            format!(
                "<server name=\"s{i}\"><priority>{}</priority><device id=\"0\"><type>lan</type><info>10.0.0.{i}</info></device>{devices}</server>\n",
                i - 1
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n<root><cluster><name>c</name>{cluster}</cluster>\n{servers}<heartbeat><types name=\"lankhb\"/><lankhb name=\"lankhb1\"><priority>0</priority><device>0</device></lankhb></heartbeat>\n{extra}</root>\n"
    )
}

const DEVICES: &str = "<device id=\"10200\"><type>ping</type><info>1</info></device><device id=\"10700\"><type>http</type><info>1</info></device>";

fn nps(ping_ip: &str) -> String {
    format!(
        "<networkpartition><types name=\"pingnp\"/><types name=\"httpnp\"/>\n<pingnp name=\"pingnp1\"><device>10200</device><grp id=\"0\"><list id=\"0\"><ip>10.0.0.254</ip></list></grp><grp id=\"1\"><list id=\"0\">\n<ip>{ping_ip}</ip></list></grp><retry>1</retry></pingnp>\n<httpnp name=\"httpnp1\"><device>10700</device><host>witness.example</host><port>8080</port></httpnp>\n</networkpartition>\n"
    )
}

fn check(text: &str) -> (Option<crate::model::Cluster>, Vec<String>) {
    let mut report = Report::new("clp.conf");
    let file = ConfigFile::parse(text.as_bytes(), &mut report).expect("well-formed");
    let opts = validate::Options {
        local_server: Some("s1"),
        scripts_dir: None,
    };
    let model = validate::validate(&file.doc, &opts, &mut report);
    let lines = report
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}: {}", d.line, d.path, d.message))
        .collect();
    (model, lines)
}

#[test]
fn two_servers_read_pingnp_and_httpnp() {
    let (model, lines) = check(&conf(2, DEVICES, "", &nps("10.0.0.253")));
    let model = model.unwrap_or_else(|| panic!("{}", lines.join("\n")));
    assert!(lines.is_empty(), "{}", lines.join("\n"));
    assert!(model.unsupported.is_empty());
    let ping = &model.partition[0];
    assert_eq!(ping.users, ["s1", "s2"]);
    assert_eq!(ping.retry, 1);
    assert_eq!(ping.timeout, Duration::from_secs(3));
    let NpKind::Ping { groups } = &ping.kind else {
        panic!("{ping:?}");
    };
    assert_eq!(groups.len(), 2);
    assert_eq!(
        model.partition[1].kind,
        NpKind::Http {
            host: "witness.example".into(),
            port: 8080
        }
    );
    // Defaults: npaction 2, a release deadline of 30 s, no forced stop.
    assert_eq!(
        model.settings.np_action,
        NpAction::Os {
            action: OsAction::Shutdown,
            code: 2
        }
    );
    assert_eq!(model.settings.release_deadline, Duration::from_secs(30));
    assert_eq!(model.settings.forced_stop, None);
}

#[test]
fn a_name_instead_of_an_address_is_an_error_on_its_line() {
    let text = conf(2, DEVICES, "", &nps("gateway.example"));
    let (model, lines) = check(&text);
    assert!(model.is_none());
    let line = text[..text.find("<ip>gateway").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let want = format!(
        "{line}: /root/networkpartition/pingnp@pingnp1/grp@1/list@0/ip: \"gateway.example\" is not an IP address"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&want)),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn the_device_must_exist_with_the_right_type() {
    let (model, lines) = check(&conf(2, "", "", &nps("10.0.0.253")));
    assert!(model.is_none());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("device 10200 is not a <device id=\"10200\"> of any server")),
        "{}",
        lines.join("\n")
    );
    let wrong = "<device id=\"10200\"><type>http</type><info>1</info></device><device id=\"10700\"><type>http</type><info>1</info></device>";
    let (model, lines) = check(&conf(2, wrong, "", &nps("10.0.0.253")));
    assert!(model.is_none());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("which is of type \"http\" on server s1")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn three_servers_keep_np_resources_unused_and_say_so() {
    let (model, lines) = check(&conf(3, DEVICES, "", &nps("10.0.0.253")));
    assert!(model.is_some(), "{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l
                .contains("pingnp pingnp1 is not used: with three or more servers the majority")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn one_server_keeps_them_for_display_as_before() {
    let (model, lines) = check(&conf(1, DEVICES, "", &nps("10.0.0.253")));
    let model = model.unwrap();
    assert!(model.partition.is_empty());
    assert_eq!(model.unsupported.len(), 2, "{}", lines.join("\n"));
}

#[test]
fn np_action_deadline_and_forced_stop_settings() {
    let cluster = "<networkpartition><npaction>9</npaction></networkpartition><heartbeat><timeout>20000</timeout></heartbeat>";
    let extra = "<clp><cluster><releasedeadline>12</releasedeadline><forcestop><command>/usr/local/bin/fence</command><timeout>7</timeout></forcestop></cluster></clp>\n";
    let (model, lines) = check(&conf(2, "", cluster, extra));
    let model = model.unwrap_or_else(|| panic!("{}", lines.join("\n")));
    assert_eq!(
        model.settings.np_action,
        NpAction::Os {
            action: OsAction::Reset,
            code: 9
        }
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("npaction 9 (BMC or I/O fencing) is not available")),
        "{}",
        lines.join("\n")
    );
    assert_eq!(model.settings.release_deadline, Duration::from_secs(12));
    let forced = model.settings.forced_stop.unwrap();
    assert_eq!(forced.command, "/usr/local/bin/fence");
    assert_eq!(forced.timeout, Duration::from_secs(7));
    // A failed forced stop runs again 10 s later unless told otherwise.
    assert_eq!(forced.retry_interval, Duration::from_secs(10));
    // Without releasedeadline: 30 s.
    let (model, _) = check(&conf(2, "", cluster, ""));
    assert_eq!(
        model.unwrap().settings.release_deadline,
        Duration::from_secs(30)
    );
}

#[test]
fn server_groups_are_kept_with_a_warning_that_they_are_not_applied() {
    let extra = "<servergroup><group name=\"site1\"><server name=\"s1\"/></group></servergroup>\n";
    let (model, lines) = check(&conf(2, "", "", extra));
    assert!(model.is_some(), "{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("server groups are not supported yet")),
        "{}",
        lines.join("\n")
    );
    // Without one: no such warning.
    let (_, lines) = check(&conf(2, "", "", ""));
    assert!(!lines.iter().any(|l| l.contains("server groups")));
}
