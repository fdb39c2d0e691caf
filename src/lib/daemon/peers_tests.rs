use super::*;
use crate::status::merge::tests::{healthy, links};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn report(me: &str, digest: &str) -> Report {
    let mut snapshot = healthy(&["node1", "node2", "node3"], me, false);
    snapshot.cluster.config_digest = digest.into();
    Report {
        snapshot,
        links: links(&["node1", "node2", "node3"], &[]),
        owned: Vec::new(),
        delivered: None,
        marks: Default::default(),
    }
}

#[test]
fn the_first_report_leaves_at_once_and_a_burst_waits_for_the_gap() {
    let t0 = Instant::now();
    let mut pacing = ReportPacing::default();
    assert_eq!(pacing.changed(t0), SendReport::Now);
    assert_eq!(pacing.sent(t0), t0 + REPORT_REFRESH);
    assert_eq!(pacing.changed(t0 + ms(10)), SendReport::At(t0 + REPORT_GAP));
    assert_eq!(
        pacing.changed(t0 + ms(100)),
        SendReport::At(t0 + REPORT_GAP)
    );
    // The timer fired: nothing new since, but the change that waited is due.
    assert_eq!(pacing.unchanged(t0 + REPORT_GAP), SendReport::Now);
    pacing.sent(t0 + REPORT_GAP);
    assert_eq!(
        pacing.changed(t0 + REPORT_GAP + ms(1)),
        SendReport::At(t0 + REPORT_GAP * 2)
    );
}

#[test]
fn a_burst_sends_at_most_one_report_per_gap() {
    let t0 = Instant::now();
    let mut pacing = ReportPacing::default();
    let mut sent = Vec::new();
    let mut armed: Option<Instant> = None;
    // A change every 5 ms for 3 s; timers fire on time.
    for step in 0..600u64 {
        let now = t0 + ms(step * 5);
        if let Some(at) = armed.filter(|at| *at <= now) {
            armed = None;
            if pacing.unchanged(at) == SendReport::Now {
                pacing.sent(at);
                sent.push(at);
            }
        }
        match pacing.changed(now) {
            SendReport::Now => {
                pacing.sent(now);
                sent.push(now);
            }
            SendReport::At(at) => armed = Some(at),
        }
    }
    for pair in sent.windows(2) {
        assert!(pair[1] - pair[0] >= REPORT_GAP, "{:?}", pair[1] - pair[0]);
    }
    assert!((19..=21).contains(&sent.len()), "{} reports", sent.len());
}

#[test]
fn an_unchanged_report_is_refreshed() {
    let t0 = Instant::now();
    let mut pacing = ReportPacing::default();
    pacing.sent(t0);
    assert_eq!(
        pacing.unchanged(t0 + ms(500)),
        SendReport::At(t0 + REPORT_REFRESH)
    );
    assert_eq!(pacing.unchanged(t0 + REPORT_REFRESH), SendReport::Now);
}

#[test]
fn a_report_goes_stale_once_and_only_without_a_newer_one() {
    let t0 = Instant::now();
    let mut peers = Peers::default();
    let (stale_at, new) = peers.receive("node2", report("node2", "d"), t0);
    assert!(new);
    assert_eq!(stale_at, t0 + STALE_AFTER);
    assert!(!peers.went_stale("node2", t0 + STALE_AFTER - ms(1)));
    assert!(peers.went_stale("node2", stale_at));
    // A newer report arrived before the old timer fired: not stale; the
    // same content again is nothing new.
    let (_, new) = peers.receive("node2", report("node2", "d"), t0 + ms(2000));
    assert!(!new);
    assert!(!peers.went_stale("node2", stale_at));
    let (reports, links) = peers.inputs(t0 + ms(3000));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].age, ms(1000));
    // Only what node2 saw itself counts as its word.
    assert!(!links.is_empty());
    assert!(links.iter().all(|l| l.observer == "node2"));
    // Stale: the links no longer count, the report is passed with its age.
    let (reports, links) = peers.inputs(t0 + ms(2000) + STALE_AFTER + ms(1));
    assert_eq!(reports.len(), 1);
    assert!(links.is_empty());
}

#[test]
fn a_changed_report_or_one_after_a_stale_one_is_news() {
    let t0 = Instant::now();
    let mut peers = Peers::default();
    peers.receive("node2", report("node2", "d"), t0);
    let (_, new) = peers.receive("node2", report("node2", "e"), t0 + ms(100));
    assert!(new, "another digest");
    let (_, new) = peers.receive("node2", report("node2", "e"), t0 + ms(200) + STALE_AFTER);
    assert!(new, "after a stale one");
}

#[test]
fn a_server_that_left_is_forgotten() {
    let t0 = Instant::now();
    let mut peers = Peers::default();
    peers.receive("node2", report("node2", "d"), t0);
    peers.receive("node3", report("node3", "d"), t0);
    assert!(peers.retain(&["node1".into(), "node2".into()]));
    assert!(!peers.retain(&["node1".into(), "node2".into()]));
    let (reports, _) = peers.inputs(t0);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].server, "node2");
}

#[test]
fn the_reference_configuration_is_the_majority_s() {
    let d = |pairs: &[(u32, &str)]| -> Vec<(u32, String)> {
        pairs.iter().map(|(i, s)| (*i, (*s).to_string())).collect()
    };
    // The highest-priority server alone differs: the majority wins.
    assert_eq!(
        config_reference(&d(&[(1, "new"), (2, "old"), (3, "old")])),
        Some(("old".into(), vec![1]))
    );
    // A tie: the digest of the lowest node id.
    assert_eq!(
        config_reference(&d(&[(2, "b"), (1, "a")])),
        Some(("a".into(), vec![2]))
    );
    assert_eq!(
        config_reference(&d(&[(4, "b"), (3, "b"), (1, "a"), (2, "a")])),
        Some(("a".into(), vec![3, 4]))
    );
    assert_eq!(
        config_reference(&d(&[(1, "a"), (2, "a"), (3, "a")])),
        Some(("a".into(), vec![]))
    );
    assert_eq!(config_reference(&[]), None);
}

#[test]
fn digests_come_from_fresh_reports_only() {
    let t0 = Instant::now();
    let mut peers = Peers::default();
    peers.receive("node2", report("node2", "x"), t0);
    peers.receive("node3", report("node3", "y"), t0 + ms(5000));
    let now = t0 + STALE_AFTER + ms(1);
    assert_eq!(peers.digests(now), vec![("node3".into(), "y".into())]);
}

/// Not a benchmark with a bound (the machine is shared): prints the size of
/// a report of 1000 monitors on the wire and what encoding it costs.
#[test]
fn a_report_of_a_thousand_monitors_stays_small_on_the_wire() {
    use crate::cluster::report;
    use crate::status::merge::tests::own;
    use crate::status::{HeartbeatState, MonitorState, ServerState};
    let names: Vec<String> = (0..1000).map(|i| format!("mon{i}")).collect();
    let monitors: Vec<(&str, MonitorState)> = names
        .iter()
        .map(|n| (n.as_str(), MonitorState::Normal))
        .collect();
    let three = ["node1", "node2", "node3"];
    let body = Report {
        snapshot: own(
            &three,
            "node1",
            ServerState::Online,
            HeartbeatState::Normal,
            true,
            &monitors,
        ),
        links: links(&three, &[]),
        owned: Vec::new(),
        delivered: None,
        marks: Default::default(),
    };
    let json = serde_json::to_vec(&body).unwrap().len();
    let start = Instant::now();
    let bytes = report::encode(&body).unwrap();
    let encoded = start.elapsed();
    let start = Instant::now();
    let back: Report = report::decode(&bytes).unwrap();
    let decoded = start.elapsed();
    assert_eq!(back, body);
    assert!(bytes.len() < report::MAX_REPORT);
    eprintln!(
        "report of 1000 monitors: {json} bytes of JSON, {} on the wire; encode {encoded:?}, decode {decoded:?}",
        bytes.len()
    );
}
