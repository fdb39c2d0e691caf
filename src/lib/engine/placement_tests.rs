//! Scenario tests of placement: every server of a scripted cluster keeps its
//! own table, fed the same claims and releases in one order, with fake time.

use super::*;
use crate::engine::membership::Membership;

/// Servers a (priority 0), b (1), c (2); groups as `(name, extra xml)`.
fn model(servers: usize, groups: &[(&str, &str)], settings: &str, local: &str) -> Cluster {
    let names = ["a", "b", "c"];
    let servers_xml: String = names[..servers]
        .iter()
        .enumerate()
        .map(|(p, n)| {
            format!(
                r#"<server name="{n}"><priority>{p}</priority><device id="0"><type>lan</type><info>192.0.2.{}</info></device></server>"#,
                p + 1
            )
        })
        .collect();
    let groups_xml: String = groups
        .iter()
        .map(|(g, extra)| format!(r#"<group name="{g}">{extra}</group>"#))
        .collect();
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster>{servers_xml}<clp><cluster>{settings}</cluster></clp>
<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>
{groups_xml}</root>"#
    );
    crate::config::test_model(&text, local)
}

/// One server of a scripted cluster: its model, membership and table.
struct Server {
    model: Cluster,
    membership: Membership,
    placement: Placement,
}

struct Rig {
    servers: Vec<Server>,
}

impl Rig {
    fn new(n: usize, groups: &[(&str, &str)], settings: &str) -> Rig {
        let names = ["a", "b", "c"];
        let servers = names[..n]
            .iter()
            .map(|local| {
                let model = model(n, groups, settings, local);
                let mut membership = Membership::local_only(&model);
                membership.set_up_servers(names[..n].iter().copied());
                Server {
                    model,
                    membership,
                    placement: Placement::default(),
                }
            })
            .collect();
        Rig { servers }
    }

    fn at(&mut self, name: &str) -> &mut Server {
        let i = ["a", "b", "c"].iter().position(|n| *n == name).unwrap();
        &mut self.servers[i]
    }

    /// Every server in `up` sees exactly `up` (the others are down and
    /// keep their own view); returns each server's placement effects.
    fn members(&mut self, up: &[&str], quorate: bool, now: Millis) -> Vec<PlacementEffect> {
        let mut all = Vec::new();
        for s in self
            .servers
            .iter_mut()
            .filter(|s| up.contains(&s.membership.local()))
        {
            s.membership.set_up_servers(up.iter().copied());
            s.membership.set_quorate(quorate);
            all.extend(s.placement.membership_changed(&s.model, &s.membership, now));
        }
        all
    }

    /// The servers that deliver what `from` sends: those up in its view.
    fn receivers_of(&mut self, from: &str) -> impl Iterator<Item = &mut Server> {
        let receivers: Vec<String> = self
            .at(from)
            .membership
            .up_servers()
            .iter()
            .map(|s| s.to_string())
            .collect();
        self.servers
            .iter_mut()
            .filter(move |s| receivers.iter().any(|r| r == s.membership.local()))
    }

    /// `from` sends a claim; every server that is up delivers it (in the
    /// same order as any other message). Returns the verdict.
    fn claim(&mut self, from: &str, group: &str, reason: ClaimReason) -> Verdict {
        self.at(from).placement.claim_sent(group, reason);
        let verdicts: Vec<Verdict> = self
            .receivers_of(from)
            .map(|s| s.placement.apply_claim(group, from, reason, &s.membership))
            .collect();
        assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "{verdicts:?}");
        verdicts[0]
    }

    fn release(
        &mut self,
        from: &str,
        group: &str,
        next: Option<(&str, ClaimReason)>,
        failed: bool,
    ) {
        for s in self.receivers_of(from) {
            s.placement.apply_release(group, from, next, failed);
        }
    }

    /// Every server's due claims, sent in server order until none is left.
    fn settle(&mut self, now: Millis) -> Vec<(String, String, Verdict)> {
        let mut out = Vec::new();
        loop {
            let mut due = Vec::new();
            for s in &self.servers {
                for (g, r) in
                    s.placement
                        .due_claims(&s.model, &s.membership, &s.membership, now, true)
                {
                    due.push((s.membership.local().to_string(), g, r));
                }
            }
            if due.is_empty() {
                return out;
            }
            for (server, group, reason) in due {
                let v = self.claim(&server, &group, reason);
                out.push((server, group, v));
            }
        }
    }

    fn owner_everywhere(&self, up: &[&str], group: &str) -> Option<String> {
        let owners: Vec<Option<&str>> = self
            .servers
            .iter()
            .filter(|s| up.contains(&s.membership.local()))
            .map(|s| s.placement.owner(group))
            .collect();
        assert!(
            owners.windows(2).all(|w| w[0] == w[1]),
            "tables differ: {owners:?}"
        );
        owners[0].map(str::to_string)
    }

    fn auto_start(&mut self) {
        for s in &mut self.servers {
            s.placement.want_auto_start(&s.model);
        }
    }
}

const FAST: &str = "<releasedeadline>5</releasedeadline>";

#[test]
fn groups_start_on_the_first_server_of_their_policy_only() {
    let mut rig = Rig::new(
        2,
        &[
            ("g1", ""),
            (
                "g2",
                r#"<policy name="b"><order>0</order></policy><policy name="a"><order>1</order></policy>"#,
            ),
            ("manual", "<start>0</start>"),
        ],
        FAST,
    );
    rig.auto_start();
    let claims = rig.settle(0);
    assert_eq!(
        claims,
        vec![
            ("a".into(), "g1".into(), Verdict::Accepted),
            ("b".into(), "g2".into(), Verdict::Accepted)
        ]
    );
    assert_eq!(
        rig.owner_everywhere(&["a", "b"], "g1").as_deref(),
        Some("a")
    );
    assert_eq!(
        rig.owner_everywhere(&["a", "b"], "g2").as_deref(),
        Some("b")
    );
    assert_eq!(rig.owner_everywhere(&["a", "b"], "manual"), None);
}

#[test]
fn racing_claims_end_with_one_owner_on_every_server() {
    let mut rig = Rig::new(3, &[("g", "")], FAST);
    // b and c both believe they should take g (their views differed for a
    // moment): the first claim delivered wins everywhere.
    assert_eq!(
        rig.claim("c", "g", ClaimReason::Operator),
        Verdict::Accepted
    );
    assert_eq!(rig.claim("b", "g", ClaimReason::Operator), Verdict::Refused);
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("c")
    );
    // The owner claiming again is accepted (a retry is harmless).
    assert_eq!(
        rig.claim("c", "g", ClaimReason::Operator),
        Verdict::Accepted
    );
}

#[test]
fn a_lost_owners_groups_fail_over_only_after_the_release_deadline() {
    let mut rig = Rig::new(3, &[("g", ""), ("stays", "<failover>0</failover>")], FAST);
    rig.auto_start();
    rig.settle(0);
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("a")
    );
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "stays").as_deref(),
        Some("a")
    );
    // a is lost at t = 10 s: nothing before the deadline (5 s).
    let effects = rig.members(&["b", "c"], true, 10_000);
    assert!(
        effects.contains(&PlacementEffect::WakeAt(15_000)),
        "{effects:?}"
    );
    assert!(rig.settle(14_999).is_empty());
    let claims = rig.settle(15_000);
    assert_eq!(claims, vec![("b".into(), "g".into(), Verdict::Accepted)]);
    assert_eq!(rig.owner_everywhere(&["b", "c"], "g").as_deref(), Some("b"));
    // Manual failover: stays with its lost owner until an operator acts.
    assert_eq!(
        rig.owner_everywhere(&["b", "c"], "stays").as_deref(),
        Some("a")
    );
    // a returns: it learns the table from b's and c's reports.
    rig.members(&["a", "b", "c"], true, 20_000);
    rig.at("a").placement = Placement::default();
    let owned_by_b = rig.at("b").placement.owned_by("b");
    let s = rig.at("a");
    s.placement.learn("b", &owned_by_b, &s.membership.clone());
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("b")
    );
    // No automatic failback for g (failback 0).
    let s = rig.at("b");
    assert!(s.placement.failbacks(&s.model, &s.membership).is_empty());
}

#[test]
fn without_quorum_nothing_is_claimed() {
    let mut rig = Rig::new(3, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b"], false, 0);
    let s = rig.at("b");
    assert!(
        s.placement
            .due_claims(&s.model, &s.membership, &s.membership, 60_000, true)
            .is_empty()
    );
    // Nor before the sync wait is over.
    rig.members(&["b", "c"], true, 0);
    let s = rig.at("b");
    assert!(
        s.placement
            .due_claims(&s.model, &s.membership, &s.membership, 60_000, false)
            .is_empty()
    );
    assert_eq!(
        s.placement
            .due_claims(&s.model, &s.membership, &s.membership, 60_000, true)
            .len(),
        1
    );
}

#[test]
fn a_forced_stop_opens_the_gate_at_once_and_its_failure_keeps_it_closed() {
    let settings =
        "<releasedeadline>30</releasedeadline><forcestop><command>true</command></forcestop>";
    let mut rig = Rig::new(3, &[("g", "")], settings);
    rig.auto_start();
    rig.settle(0);
    let effects = rig.members(&["b", "c"], true, 1_000);
    // Only b, which takes g, runs the forced stop.
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(e, PlacementEffect::RunForcedStop { .. }))
            .count(),
        1
    );
    assert!(rig.settle(1_000).is_empty(), "not while it runs");
    rig.at("b")
        .placement
        .forced_stop_done("a", true, 1_200, Duration::from_secs(10));
    assert_eq!(
        rig.settle(1_500),
        vec![("b".into(), "g".into(), Verdict::Accepted)]
    );

    // The same with a failing forced stop: not past the deadline either.
    let mut rig = Rig::new(3, &[("g", "")], settings);
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b", "c"], true, 1_000);
    rig.at("b")
        .placement
        .forced_stop_done("a", false, 1_000, Duration::from_secs(10));
    assert!(rig.settle(1_000_000).is_empty());
    assert_eq!(
        rig.at("b").placement.lost("a").map(|l| l.forced),
        Some(Forced::Failed)
    );
}

#[test]
fn a_failed_forced_stop_runs_again_after_its_interval_until_it_succeeds() {
    let settings = "<releasedeadline>30</releasedeadline><forcestop><command>true</command><retryinterval>5</retryinterval></forcestop>";
    let mut rig = Rig::new(2, &[("g", "")], settings);
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b"], true, 1_000);
    let retry = rig
        .at("b")
        .model
        .settings
        .forced_stop
        .clone()
        .unwrap()
        .retry_interval;
    assert_eq!(retry, Duration::from_secs(5));
    let b = &mut rig.at("b").placement;
    // First failure at 2 s: the next run is due at 7 s, not before.
    assert_eq!(
        b.forced_stop_done("a", false, 2_000, retry),
        Some(PlacementEffect::WakeAt(7_000))
    );
    assert!(b.forced_stops_due(6_999).is_empty());
    let run = vec![PlacementEffect::RunForcedStop { server: "a".into() }];
    assert_eq!(b.forced_stops_due(7_000), run);
    assert_eq!(b.lost("a").map(|l| l.forced), Some(Forced::Running));
    assert!(b.forced_stops_due(7_000).is_empty(), "once per failure");
    // Second failure at 8 s: due at 13 s; meanwhile g stays where it was,
    // even past the release deadline (31 s).
    assert_eq!(
        b.forced_stop_done("a", false, 8_000, retry),
        Some(PlacementEffect::WakeAt(13_000))
    );
    assert!(rig.settle(12_000).is_empty());
    let b = &mut rig.at("b").placement;
    assert_eq!(b.forced_stops_due(13_000), run);
    // The third run succeeds: g fails over to b at once.
    assert_eq!(b.forced_stop_done("a", true, 14_000, retry), None);
    assert_eq!(
        rig.settle(14_000),
        vec![("b".into(), "g".into(), Verdict::Accepted)]
    );
    // Nothing is left to retry.
    assert!(rig.at("b").placement.forced_stops_due(1_000_000).is_empty());
}

#[test]
fn a_failed_forced_stop_is_not_run_again_once_the_lost_server_is_back() {
    let settings = "<releasedeadline>30</releasedeadline><forcestop><command>true</command><retryinterval>5</retryinterval></forcestop>";
    let mut rig = Rig::new(2, &[("g", "")], settings);
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b"], true, 1_000);
    let retry = Duration::from_secs(5);
    rig.at("b")
        .placement
        .forced_stop_done("a", false, 2_000, retry);
    rig.members(&["a", "b"], true, 3_000);
    let b = &mut rig.at("b").placement;
    assert_eq!(b.lost("a"), None);
    assert!(b.forced_stops_due(10_000).is_empty());
}

#[test]
fn a_group_released_to_a_server_is_claimed_by_that_server_only() {
    let mut rig = Rig::new(3, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    // Move to c: a stops g and releases it naming c.
    rig.release("a", "g", Some(("c", ClaimReason::Move)), false);
    // b may not take it meanwhile, even with an operator's claim.
    assert_eq!(rig.claim("b", "g", ClaimReason::Operator), Verdict::Refused);
    assert_eq!(
        rig.settle(0),
        vec![("c".into(), "g".into(), Verdict::Accepted)]
    );
    // c leaves before claiming another released group: the name lapses.
    rig.release("c", "g", Some(("b", ClaimReason::Failover)), true);
    rig.members(&["a", "c"], true, 0);
    let s = rig.at("a");
    assert_eq!(
        s.placement.verdict("g", "a", &s.membership),
        Verdict::Accepted
    );
}

#[test]
fn a_report_sent_before_a_release_does_not_take_the_group_back() {
    let mut rig = Rig::new(2, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    // a reported owning g, then failed it over to b; b reads the report late.
    rig.release("a", "g", Some(("b", ClaimReason::Failover)), true);
    let s = rig.at("b");
    s.placement
        .learn("a", &["g".to_string()], &s.membership.clone());
    assert_eq!(s.placement.owner("g"), None);
    assert_eq!(
        rig.settle(0),
        vec![("b".into(), "g".into(), Verdict::Accepted)]
    );
    assert_eq!(rig.owner_everywhere(&["a", "b"], "g").as_deref(), Some("b"));
}

#[test]
fn a_server_where_a_group_failed_is_not_its_destination_until_cleared() {
    let mut rig = Rig::new(3, &[("g", "<failback>1</failback>")], FAST);
    rig.auto_start();
    rig.settle(0);
    // g failed on a: released to b with a's mark.
    let s = rig.at("a");
    let dest = s
        .placement
        .destination(&s.model, &s.membership, "g", Some("a"))
        .unwrap();
    assert_eq!(dest, "b");
    rig.release("a", "g", Some(("b", ClaimReason::Failover)), true);
    rig.settle(0);
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("b")
    );
    // No failback to a while it is marked; g fails on b too: c is next.
    let s = rig.at("b");
    assert!(s.placement.failbacks(&s.model, &s.membership).is_empty());
    assert_eq!(
        s.placement
            .destination(&s.model, &s.membership, "g", Some("b"))
            .unwrap(),
        "c"
    );
    rig.release("b", "g", Some(("c", ClaimReason::Failover)), true);
    rig.settle(0);
    // Were it to fail on c too, every other server is marked: the marks
    // then exclude no one and the policy's order decides.
    let s = rig.at("c");
    assert_eq!(
        s.placement
            .destination(&s.model, &s.membership, "g", Some("c"))
            .unwrap(),
        "a"
    );
    // An operator's move to a clears a's mark.
    rig.release("c", "g", Some(("a", ClaimReason::Move)), false);
    rig.settle(0);
    assert_eq!(rig.at("b").placement.failed_on("g"), vec!["b"]);
}

#[test]
fn automatic_failback_returns_a_group_to_its_first_server() {
    let mut rig = Rig::new(
        2,
        &[("back", "<failback>1</failback>"), ("manual", "")],
        FAST,
    );
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b"], true, 0);
    rig.settle(10_000);
    assert_eq!(rig.owner_everywhere(&["b"], "back").as_deref(), Some("b"));
    assert_eq!(rig.owner_everywhere(&["b"], "manual").as_deref(), Some("b"));
    rig.members(&["a", "b"], true, 20_000);
    let s = rig.at("b");
    assert_eq!(
        s.placement.failbacks(&s.model, &s.membership),
        vec![("back".to_string(), "a".to_string())]
    );
}

#[test]
fn exclusive_groups_avoid_each_other() {
    let mut rig = Rig::new(
        2,
        &[
            ("x1", "<exclusive>2</exclusive>"),
            ("x2", "<exclusive>2</exclusive>"),
            ("n1", "<exclusive>1</exclusive><start>0</start>"),
            ("n2", "<exclusive>1</exclusive><start>0</start>"),
        ],
        FAST,
    );
    rig.auto_start();
    rig.settle(0);
    // x1 takes a; x2 goes to b although a comes first in its policy.
    assert_eq!(
        rig.owner_everywhere(&["a", "b"], "x1").as_deref(),
        Some("a")
    );
    assert_eq!(
        rig.owner_everywhere(&["a", "b"], "x2").as_deref(),
        Some("b")
    );
    // b is lost: x2 has nowhere to go (a runs x1, absolute exclusion).
    rig.members(&["a"], true, 0);
    assert!(rig.settle(60_000).is_empty());
    let s = rig.at("a");
    assert!(matches!(
        s.placement
            .destination(&s.model, &s.membership, "x2", Some("b")),
        Err(NoDestination::Excluded { .. })
    ));
    // Normal exclusion only prefers: with a alone, n2 may join n1 there.
    assert_eq!(
        rig.claim("a", "n1", ClaimReason::Operator),
        Verdict::Accepted
    );
    let s = rig.at("a");
    assert_eq!(
        s.placement
            .destination(&s.model, &s.membership, "n2", None)
            .unwrap(),
        "a"
    );
}

#[test]
fn the_position_in_the_policy_is_what_scripts_see() {
    let m = model(
        2,
        &[
            (
                "g",
                r#"<policy name="b"><order>0</order></policy><policy name="a"><order>1</order></policy>"#,
            ),
            ("h", ""),
        ],
        "",
        "a",
    );
    assert_eq!(script_position(&m, "g"), (2, "OTHER"));
    assert_eq!(script_position(&m, "h"), (1, "HOME"));
}

#[test]
fn of_two_servers_running_a_group_the_later_in_its_policy_stops_it() {
    let m = model(
        3,
        &[(
            "g",
            r#"<policy name="c"><order>0</order></policy><policy name="a"><order>1</order></policy>"#,
        )],
        "",
        "a",
    );
    assert_eq!(both_active_loser(&m, "g", "a", "c"), "a");
    assert_eq!(both_active_loser(&m, "g", "c", "a"), "a");
    // b is not in the policy: it stops.
    assert_eq!(both_active_loser(&m, "g", "c", "b"), "b");
}

#[test]
fn a_member_whose_service_is_stopped_is_no_destination() {
    let mut rig = Rig::new(3, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    rig.members(&["b", "c"], true, 0);
    // b's cluster service is stopped (clpd runs, a member): c takes g.
    let c = rig.at("c");
    let mut c_eligible = c.membership.clone();
    c_eligible.set_state("b", crate::engine::membership::MemberState::Down);
    let due = c
        .placement
        .due_claims(&c.model, &c.membership, &c_eligible, 10_000, true);
    assert_eq!(due, vec![("g".to_string(), ClaimReason::Failover)]);
}

#[test]
fn the_forced_stop_runs_where_the_lost_servers_group_goes_even_later() {
    let settings =
        "<releasedeadline>30</releasedeadline><forcestop><command>true</command></forcestop>";
    let mut rig = Rig::new(3, &[("g", "")], settings);
    rig.auto_start();
    rig.settle(0);
    // a is lost: b takes g and runs the forced stop; c does not.
    rig.members(&["b", "c"], true, 1_000);
    assert_eq!(
        rig.at("c").placement.lost("a").map(|l| l.forced),
        Some(Forced::NotRun)
    );
    // b goes too before the forced stop ended: c is now the destination.
    let effects = rig.members(&["c"], true, 2_000);
    assert!(
        effects.contains(&PlacementEffect::RunForcedStop { server: "a".into() }),
        "{effects:?}"
    );
    let c = rig.at("c");
    assert_eq!(
        c.placement.lost("a").map(|l| (l.since, l.forced)),
        Some((1_000, Forced::Running))
    );
}

#[test]
fn a_release_heard_by_one_side_of_a_partition_is_learned_from_the_exact_report_after_the_heal() {
    let mut rig = Rig::new(2, &[("g", "")], FAST);
    rig.auto_start();
    assert_eq!(
        rig.settle(0),
        vec![("a".into(), "g".into(), Verdict::Accepted)]
    );
    // The operator moves g to b.
    rig.release("a", "g", Some(("b", ClaimReason::Move)), false);
    assert_eq!(rig.claim("b", "g", ClaimReason::Move), Verdict::Accepted);
    assert_eq!(rig.owner_everywhere(&["a", "b"], "g").as_deref(), Some("b"));
    // Both sides lose quorum; b releases g and only b hears it.
    rig.members(&["a"], false, 1_000);
    rig.members(&["b"], false, 1_000);
    rig.release("b", "g", None, false);
    assert_eq!(rig.at("b").placement.owner("g"), None);
    assert_eq!(rig.at("a").placement.owner("g"), Some("b"));
    // The heal; the operator starts both services again: nobody claims, a
    // still names b.
    rig.members(&["a", "b"], true, 2_000);
    rig.auto_start();
    assert!(rig.settle(2_000).is_empty());
    // A report of b at the same point of the order: b owns nothing and runs
    // g nowhere. A report saying b runs g (a restarted clpd that adopted it)
    // would free nothing.
    let s = rig.at("a");
    let m = s.membership.clone();
    assert!(s.placement.learn_exact("b", &[], &[], &m).is_empty());
    assert_eq!(s.placement.owner("g"), Some("b"));
    assert_eq!(
        s.placement.learn_exact("b", &[], &["g".to_string()], &m),
        vec!["g".to_string()]
    );
    assert_eq!(rig.owner_everywhere(&["a", "b"], "g"), None);
    // g is free everywhere: its first server starts it.
    assert_eq!(
        rig.settle(2_000),
        vec![("a".into(), "g".into(), Verdict::Accepted)]
    );
    assert_eq!(rig.owner_everywhere(&["a", "b"], "g").as_deref(), Some("a"));
}

#[test]
fn a_group_released_after_the_auto_start_was_wanted_does_not_start_by_itself() {
    let mut rig = Rig::new(2, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    // b's service starts again while a runs g; then the operator stops g.
    let s = rig.at("b");
    s.placement.want_auto_start(&s.model);
    rig.release("a", "g", None, false);
    assert_eq!(rig.owner_everywhere(&["a", "b"], "g"), None);
    assert!(rig.settle(1_000).is_empty());
}

#[test]
fn a_release_sent_again_after_its_group_was_taken_changes_nothing() {
    let mut rig = Rig::new(3, &[("g", "")], FAST);
    rig.auto_start();
    rig.settle(0);
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("a")
    );
    // a moves g to c; its connection to Corosync ends before the release
    // comes back, so it sends the release again on the next one.
    rig.release("a", "g", Some(("c", ClaimReason::Move)), false);
    // Sent again before c claims: the same next server, still c's only.
    rig.release("a", "g", Some(("c", ClaimReason::Move)), false);
    assert_eq!(rig.claim("b", "g", ClaimReason::Operator), Verdict::Refused);
    assert_eq!(
        rig.settle(0),
        vec![("c".into(), "g".into(), Verdict::Accepted)]
    );
    // Sent again after c took it: stale, c stays the owner and nobody is
    // named next (named, b could never take g over from c).
    rig.release("a", "g", Some(("c", ClaimReason::Move)), false);
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("c")
    );
    for s in ["a", "b", "c"] {
        assert_eq!(rig.at(s).placement.next("g"), None, "on {s}");
    }
    // c fails g over to b, who takes it.
    rig.release("c", "g", Some(("b", ClaimReason::Failover)), true);
    assert_eq!(
        rig.settle(0),
        vec![("b".into(), "g".into(), Verdict::Accepted)]
    );
    assert_eq!(
        rig.owner_everywhere(&["a", "b", "c"], "g").as_deref(),
        Some("b")
    );
}
