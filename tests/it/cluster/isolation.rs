//! The isolated side of a partition remembers it across a restart of clpd:
//! a server cut off from the other (pingnp: it reaches no target) releases
//! its group, the other takes it over; the cut server "rebooted" (its clpd
//! started afresh on a state of an earlier boot), still cut off, starts
//! nothing (with two servers Corosync keeps its quorum alone, so nothing
//! else would stop it); after the heal the group stays where it runs and
//! the hold is forgotten.

use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};

const DEADLINE_S: u64 = 10;
const PING_DEVICE: &str = "<device id=\"10200\"><type>ping</type><info>1</info></device>";

fn extra(target: &str) -> String {
    format!(
        "  <clp><cluster><syncwait>0</syncwait><releasedeadline>{DEADLINE_S}</releasedeadline></cluster></clp>
  <group name=\"g1\"><gid>0</gid><resource name=\"exec@r1\"/></group>
  <resource>
    <types name=\"exec\"/>
    <exec name=\"r1\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>
  </resource>
  <networkpartition><types name=\"pingnp\"/><pingnp name=\"pingnp1\"><priority>0</priority><device>10200</device><grp id=\"0\"><list id=\"0\"><ip>{target}</ip></list></grp><interval>1</interval><timeout>1</timeout><retry>1</retry></pingnp></networkpartition>
"
    )
}

const SCRIPTS: &[(&str, &str)] = &[
    (
        "g1/r1/start.sh",
        "echo \"start $CLP_EVENT\" >> \"$CLP_ROOT/rec\"",
    ),
    (
        "g1/r1/stop.sh",
        "echo \"stop $CLP_FACTOR\" >> \"$CLP_ROOT/rec\"",
    ),
];

fn read(rig: &ClusterRig, node: usize, file: &str) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join(file)).unwrap_or_default()
}

fn persisted_isolation(rig: &ClusterRig, node: usize) -> Vec<String> {
    let text = read(rig, node, "var/lib/clp/state.json");
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("isolated_from").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[test]
fn a_restarted_clpd_on_the_isolated_server_starts_nothing_until_the_others_are_back() {
    if skip("isolation_restart") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (_, target) = rig.add_host(0);
    let conf = rig.clp_conf_with(
        2,
        "<networkpartition><npaction>0</npaction></networkpartition>",
        PING_DEVICE,
        &extra(&target),
    );
    rig.install(&conf, SCRIPTS);
    // node1 first, its clpd in the group before node2's Corosync runs. There
    // is no sync wait (the restart below must not sit in one), so a node2
    // quorate before node1's clpd joined would take g1 as the only server it
    // knows of (seen once in CI, under load).
    rig.nodes[0].start_corosync();
    rig.nodes[0].start_clpd();
    rig.wait_for("node1's clpd connected to Corosync", FORM, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("connected to Corosync as node")
            .then_some(())
    });
    rig.nodes[1].start_corosync();
    rig.nodes[1].start_clpd();
    rig.wait_for("both members, g1 started on node1", FORM, |rig| {
        (read(rig, 0, "rec").contains("start START")
            && rig.shows(0, &["node1", "node2"])
            && rig.shows(1, &["node1", "node2"]))
        .then_some(())
    });
    assert_eq!(read(&rig, 1, "rec"), "");

    // node1 cut off: it releases g1 (npaction 0: its service stays), node2
    // takes it past the release deadline.
    rig.link(0, false);
    let limit = Duration::from_secs(DEADLINE_S + 40);
    rig.wait_for("node1's release and node2's failover", limit, |rig| {
        (read(rig, 0, "rec").contains("stop") && read(rig, 1, "rec").contains("start FAILOVER"))
            .then_some(())
    });
    assert_eq!(
        persisted_isolation(&rig, 0),
        vec!["node2".to_string()],
        "{}",
        rig.dump()
    );

    // node1 comes back as after its reboot (clpd's state is of an earlier
    // boot: the service starts afresh, the automatic start included), still
    // cut off, its Corosync quorate alone: it starts nothing.
    let before = read(&rig, 0, "rec");
    rig.nodes[0].kill_clpd();
    let state = rig.nodes[0].root().join("var/lib/clp/state.json");
    let mut persisted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    persisted["boot_id"] = "an earlier boot".into();
    std::fs::write(&state, serde_json::to_vec(&persisted).unwrap()).unwrap();
    rig.nodes[0].start_clpd();
    rig.wait_for("node1's clpd holding its claims", FORM, |rig| {
        rig.nodes[0]
            .nm_log()
            .contains("the isolated side of a partition from node2")
            .then_some(())
    });
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(5) {
        assert_eq!(
            read(&rig, 0, "rec"),
            before,
            "g1 started again on node1\n{}",
            rig.dump()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Heal: node1 is back, the hold ends, g1 runs on node2 only.
    rig.link(0, true);
    // Under load Corosync may need a few rounds to merge the two sides.
    rig.wait_for("node1's hold ended", FORM * 3, |rig| {
        (rig.nodes[0]
            .nm_log()
            .contains("every server this one was isolated from is back")
            && persisted_isolation(rig, 0).is_empty())
        .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(read(&rig, 0, "rec"), before, "{}", rig.dump());
    assert!(!read(&rig, 1, "rec").contains("stop"), "{}", rig.dump());
}
