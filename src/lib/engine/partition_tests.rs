//! Scenarios of the losing side with scripted memberships and fake time.

use super::*;
use crate::engine::membership::Membership;
use crate::model::Cluster;

/// `n` servers (node1 is this one), with `extra` XML under `<root>` and
/// `device` extra XML in every server.
fn model(n: usize, device: &str, extra: &str) -> Cluster {
    let servers: String = (1..=n)
        .map(|i| {
            format!(
                r#"<server name="node{i}"><priority>{}</priority><device id="0"><type>lan</type><info>192.0.2.{i}</info></device>{device}</server>"#,
                i - 1
            )
        })
        .collect();
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster>{servers}
<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>
{extra}</root>"#
    );
    crate::config::test_model(&text, "node1")
}

const PINGNP: &str = r#"<networkpartition><types name="pingnp"/><pingnp name="pingnp1"><priority>0</priority><device>10200</device><grp id="0"><list id="0"><ip>192.0.2.254</ip></list></grp></pingnp></networkpartition>"#;
const PING_DEVICE: &str = r#"<device id="10200"><type>ping</type><info>1</info></device>"#;

fn membership(model: &Cluster, up: &[&str], quorate: bool) -> Membership {
    let mut m = Membership::local_only(model);
    m.set_up_servers(up.iter().copied());
    m.set_quorate(quorate);
    m
}

fn result(name: &str, reachable: bool, started: Millis) -> NpResult {
    NpResult {
        name: name.into(),
        reachable,
        detail: if reachable { "answered" } else { "no answer" }.into(),
        started,
    }
}

#[test]
fn the_rule_follows_the_configuration() {
    assert_eq!(Rule::of(&model(1, "", "")), Rule::Alone);
    assert_eq!(Rule::of(&model(2, "", "")), Rule::Unprotected);
    assert_eq!(Rule::of(&model(3, "", "")), Rule::Quorum);
    assert_eq!(
        Rule::of(&model(2, PING_DEVICE, PINGNP)),
        Rule::Reachability(vec!["pingnp1".into()])
    );
    // A server whose device says 0 does not use it.
    let unused = model(
        2,
        r#"<device id="10200"><type>ping</type><info>0</info></device>"#,
        PINGNP,
    );
    assert_eq!(Rule::of(&unused), Rule::Unprotected);
}

#[test]
fn two_servers_with_pingnp_the_one_that_reaches_nothing_is_isolated() {
    let m = model(2, PING_DEVICE, PINGNP);
    let rule = Rule::of(&m);
    let mut watch = PartitionWatch::new(rule, 10_000);
    assert!(
        watch
            .membership(&membership(&m, &["node2"], true), false, 1_000)
            .is_empty()
    );
    // node2 is lost at 5 s: checks run.
    let alone = membership(&m, &[], true);
    assert_eq!(watch.membership(&alone, false, 5_000), vec![Step::Check]);
    // A result from before the loss does not count.
    assert!(
        watch
            .result(result("pingnp1", false, 4_000), &alone, false, 5_100)
            .is_empty()
    );
    let steps = watch.result(result("pingnp1", false, 5_000), &alone, false, 8_000);
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(matches!(&steps[0], Step::Release { reason } if reason.contains("pingnp1: no answer")));
    // Deadline 10 s from the loss, less the margin (2 s).
    assert_eq!(steps[1], Step::ArmDeadline { at: 13_000 });
    assert_eq!(watch.deadline_running(), Some(15_000));
    // The release ends in time: the timer finds nothing to do.
    watch.released();
    assert!(watch.timer(13_000).is_empty());
    assert_eq!(watch.phase(), &Phase::Released);
}

#[test]
fn a_server_that_reaches_its_targets_stays_and_heals() {
    let m = model(2, PING_DEVICE, PINGNP);
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2"], true), false, 0);
    let alone = membership(&m, &[], true);
    assert_eq!(watch.membership(&alone, false, 1_000), vec![Step::Check]);
    let steps = watch.result(result("pingnp1", true, 1_000), &alone, false, 1_200);
    assert!(
        matches!(&steps[..], [Step::Stay { reason, lost }] if reason.contains("presumed down") && lost == &["node2"])
    );
    assert_eq!(watch.phase(), &Phase::Member { since: 1_000 });
    let back = membership(&m, &["node2"], true);
    assert_eq!(watch.membership(&back, false, 9_000), vec![Step::Healed]);
    assert_eq!(watch.phase(), &Phase::Calm);
    // The next loss is watched again.
    assert_eq!(watch.membership(&alone, false, 20_000), vec![Step::Check]);
}

#[test]
fn a_late_release_makes_the_np_action_run_at_once() {
    let m = model(2, PING_DEVICE, PINGNP);
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2"], true), false, 0);
    let alone = membership(&m, &[], true);
    watch.membership(&alone, false, 1_000);
    watch.result(result("pingnp1", false, 1_000), &alone, false, 4_000);
    // Early (a timer of a former deadline): armed again, nothing done.
    assert_eq!(watch.timer(5_000), vec![Step::ArmDeadline { at: 9_000 }]);
    let steps = watch.timer(9_000);
    assert!(
        matches!(&steps[..], [Step::ActNow { reason }] if reason.contains("8000 ms")),
        "{steps:?}"
    );
    assert_eq!(watch.phase(), &Phase::Released);
    // Released for good: a return of the peer does not undo it.
    assert!(
        watch
            .membership(&membership(&m, &["node2"], true), false, 12_000)
            .is_empty()
    );
}

#[test]
fn a_peer_whose_links_are_up_only_stopped_its_clpd() {
    let m = model(2, PING_DEVICE, PINGNP);
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2"], true), false, 0);
    let steps = watch.membership(&membership(&m, &[], true), true, 1_000);
    assert!(
        matches!(&steps[..], [Step::Stay { reason, lost }] if reason.contains("clpd stopped") && lost.is_empty())
    );
}

#[test]
fn two_servers_without_resolution_both_stay() {
    let m = model(2, "", "");
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2"], true), false, 0);
    let steps = watch.membership(&membership(&m, &[], true), false, 1_000);
    assert!(
        matches!(&steps[..], [Step::Stay { reason, .. }] if reason.contains("no network partition resolution"))
    );
}

#[test]
fn three_servers_the_minority_releases_whichever_news_comes_first() {
    let m = model(3, "", "");
    // Membership first, quorum after.
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2", "node3"], true), false, 0);
    let steps = watch.membership(&membership(&m, &[], true), false, 1_000);
    assert!(matches!(&steps[..], [Step::Stay { .. }]), "{steps:?}");
    let steps = watch.membership(&membership(&m, &[], false), false, 1_100);
    assert!(
        matches!(&steps[0], Step::Release { reason } if reason.contains("no quorum")),
        "{steps:?}"
    );
    // The deadline counts from the first news of the loss.
    assert_eq!(steps[1], Step::ArmDeadline { at: 9_000 });

    // Quorum first.
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2", "node3"], true), false, 0);
    let steps = watch.membership(&membership(&m, &["node2", "node3"], false), false, 2_000);
    assert!(matches!(&steps[0], Step::Release { .. }), "{steps:?}");

    // The majority stays, and heals when the third is back.
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    watch.membership(&membership(&m, &["node2", "node3"], true), false, 0);
    let steps = watch.membership(&membership(&m, &["node2"], true), false, 1_000);
    assert!(matches!(&steps[..], [Step::Stay { reason, .. }] if reason.contains("has quorum")));
    let steps = watch.membership(&membership(&m, &["node2", "node3"], true), false, 5_000);
    assert_eq!(steps, vec![Step::Healed]);
}

#[test]
fn before_the_first_membership_nothing_is_lost() {
    let m = model(3, "", "");
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    // clpd starts without Corosync: no quorum, nobody was up.
    assert!(
        watch
            .membership(&membership(&m, &[], false), false, 0)
            .is_empty()
    );
    assert_eq!(watch.phase(), &Phase::Calm);
}

#[test]
fn the_margin_is_a_fifth_bounded() {
    assert_eq!(margin(10_000), 2_000);
    assert_eq!(margin(90_000), 5_000);
    assert_eq!(margin(1_000), 500);
    assert_eq!(margin(600), 300);
}

#[test]
fn pingnp_and_httpnp_both_must_be_reached() {
    let m = model(2, PING_DEVICE, "");
    let rule = Rule::Reachability(vec!["pingnp1".into(), "httpnp1".into()]);
    let alone = membership(&m, &[], true);
    let results = [result("pingnp1", true, 10), result("httpnp1", false, 10)];
    assert!(
        matches!(verdict(&rule, &alone, Some(10), false, &results), Verdict::Isolated(r) if r.contains("httpnp1"))
    );
    assert_eq!(
        verdict(&rule, &alone, Some(10), false, &results[..1]),
        Verdict::NeedsChecks
    );
}

#[test]
fn a_lost_corosync_makes_a_protected_server_release() {
    let m = model(2, PING_DEVICE, PINGNP);
    let mut watch = PartitionWatch::new(Rule::of(&m), 10_000);
    // Before any other server was up: nothing to protect.
    assert!(watch.corosync_lost(500).is_empty());
    watch.membership(&membership(&m, &["node2"], true), false, 1_000);
    let steps = watch.corosync_lost(4_000);
    assert!(
        matches!(&steps[0], Step::Release { reason } if reason.contains("Corosync is lost")),
        "{steps:?}"
    );
    assert_eq!(steps[1], Step::ArmDeadline { at: 12_000 });
    assert!(watch.corosync_lost(5_000).is_empty(), "once");
    // Two servers without resolution: both stay, as for a partition.
    let plain = model(2, "", "");
    let mut watch = PartitionWatch::new(Rule::of(&plain), 10_000);
    watch.membership(&membership(&plain, &["node2"], true), false, 1_000);
    assert!(watch.corosync_lost(4_000).is_empty());
}
