//! Network partitions, the losing side: a server cut off from the others
//! (its bridge ports down) that reaches none of its NP targets stops its
//! groups and runs the NP action within the release deadline; the other
//! stays (and runs the forced stop of the lost one). Two servers with
//! pingnp (a target host the test made on the bridge) and with httpnp (an
//! HTTP server the test runs in that host's namespace), three servers (the
//! minority releases), and a frozen clpd on the losing side (the watchdog
//! runs the reset command).
//!
//! The NP action and the reset are commands that record (never a real
//! shutdown: under a relocated root the built-in defaults refuse anyway).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};

/// The release deadline of these tests (`clp/cluster/releasedeadline`, s): long
/// enough for the checks and the stop scripts on a loaded machine.
const DEADLINE_S: u64 = 15;

const PING_DEVICE: &str = "<device id=\"10200\"><type>ping</type><info>1</info></device>";
const HTTP_DEVICE: &str = "<device id=\"10700\"><type>http</type><info>1</info></device>";

/// Group g1 (exec r1, recording its starts and stops in `rec` of the node's
/// root), the recorders of the NP action and the reset, the deadline, a
/// forced stop running `forcestop`, and `np` (the `<networkpartition>`).
fn extra(np: &str, forcestop: &str) -> String {
    extra_first(np, forcestop, 2, 1)
}

/// As [`extra`] for `servers` servers, with g1's policy naming node`first`
/// first, then the others by priority: g1 starts on that server only.
fn extra_first(np: &str, forcestop: &str, servers: usize, first: usize) -> String {
    let order = std::iter::once(first).chain((1..=servers).filter(|i| *i != first));
    let policy: String = order
        .enumerate()
        .map(|(rank, node)| format!("<policy name=\"node{node}\"><order>{rank}</order></policy>"))
        .collect();
    // The server sync wait (60 s) keeps g1 for its first server: with three
    // servers the first two are a quorate majority before the third has
    // joined, and with two Corosync may be quorate a moment before the other
    // clpd has joined the group (it ends as soon as every server reported).
    format!(
        "  <clp><cluster><syncwait>60</syncwait><releasedeadline>{DEADLINE_S}</releasedeadline>\
<forcestop><command>{forcestop}</command><timeout>10</timeout></forcestop></cluster>\
<action><shutdown>echo \"shutdown $CLP_ACTION\" &gt;&gt; \"$CLP_ROOT/np-actions\"</shutdown>\
<reset>echo reset &gt;&gt; \"$CLP_ROOT/np-actions\"</reset></action>\
</clp>\n\
  <group name=\"g1\"><gid>0</gid>{policy}<resource name=\"exec@r1\"/></group>\n\
  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"r1\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n{np}"
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

/// A recording forced stop.
const FORCESTOP_OK: &str =
    "echo \"$CLP_SERVER_DOWN $CLP_SERVER_LOCAL $CLP_FORCESTOP_MODE\" &gt;&gt; \"$CLP_ROOT/forced\"";

fn pingnp(target: &str) -> String {
    format!(
        "  <networkpartition><types name=\"pingnp\"/><pingnp name=\"pingnp1\"><priority>0</priority><device>10200</device>\
<grp id=\"0\"><list id=\"0\"><ip>{target}</ip></list></grp><interval>1</interval><timeout>1</timeout><retry>1</retry></pingnp></networkpartition>\n"
    )
}

fn read(rig: &ClusterRig, node: usize, file: &str) -> String {
    std::fs::read_to_string(rig.nodes[node].root().join(file)).unwrap_or_default()
}

fn alert_ids(rig: &ClusterRig, node: usize) -> Vec<(String, u32)> {
    rig.nodes[node]
        .alerts()
        .into_iter()
        .map(|a| (a.module.clone(), a.event_id))
        .collect()
}

/// Starts every node and waits until all see each other and g1 runs on
/// `owner` (index), the first server of its policy, and nowhere else.
fn formed_on(rig: &mut ClusterRig, conf: &str, scripts: &[(&str, &str)], owner: usize) {
    rig.install(conf, scripts);
    rig.start_all();
    let n = rig.nodes.len();
    let names: Vec<String> = (1..=n).map(|i| format!("node{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    rig.wait_for(
        "all members, and g1 started on its first server",
        FORM,
        |rig| {
            (read(rig, owner, "rec").contains("start START")
                && (0..n).all(|i| rig.shows(i, &names)))
            .then_some(())
        },
    );
    for node in (0..n).filter(|i| *i != owner) {
        assert_eq!(read(rig, node, "rec"), "", "g1 ran on node{} too", node + 1);
    }
}

fn formed(rig: &mut ClusterRig, conf: &str) {
    formed_on(rig, conf, SCRIPTS, 0)
}

/// Cuts `node` off, waits for its release and NP action; the times from
/// the cut, in ms.
fn cut_and_measure(rig: &ClusterRig, node: usize) -> (u128, u128) {
    let cut = Instant::now();
    rig.link(node, false);
    let limit = Duration::from_secs(DEADLINE_S + 20);
    let released = rig.wait_for("the cut node's stop.sh", limit, |rig| {
        read(rig, node, "rec")
            .contains("stop SERVERSHUTDOWN")
            .then(|| cut.elapsed().as_millis())
    });
    let acted = rig.wait_for("the cut node's NP action", limit, |rig| {
        read(rig, node, "np-actions")
            .contains("shutdown shutdown")
            .then(|| cut.elapsed().as_millis())
    });
    (released, acted)
}

#[test]
fn two_servers_with_pingnp_the_cut_one_releases_and_acts_within_the_deadline() {
    if skip("np_two_servers_pingnp") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (_, target) = rig.add_host(0);
    let conf = rig.clp_conf_with(2, "", PING_DEVICE, &extra(&pingnp(&target), FORCESTOP_OK));
    formed(&mut rig, &conf);

    let cut_at = Instant::now();
    let (released, acted) = cut_and_measure(&rig, 0);
    eprintln!(
        "pingnp, node1 cut off: stop.sh ran {released} ms after the cut, the NP action {acted} ms after (deadline {DEADLINE_S} s)"
    );
    assert!(acted < u128::from(DEADLINE_S) * 1000, "{}", rig.dump());
    // The release is logged once the loop is quiet again, which may be
    // after the NP action's command has written its line: wait for it.
    rig.wait_for("node1's 'release done'", Duration::from_secs(10), |rig| {
        rig.nodes[0].nm_log().contains("release done").then_some(())
    });
    let nm = rig.nodes[0].nm_log();
    assert!(nm.contains("this server is isolated"), "{nm}");
    assert!(
        alert_ids(&rig, 0).contains(&("nm".into(), 30)),
        "{}",
        rig.dump()
    );

    // node2 reached the target: it stays, forced-stops node1 and takes g1
    // over at once (the forced stop opened the gate before the deadline).
    rig.wait_for(
        "node2's forced stop of node1",
        Duration::from_secs(30),
        |rig| (read(rig, 1, "forced").trim() == "node1 node2 1").then_some(()),
    );
    let taken = rig.wait_for("g1 failed over to node2", Duration::from_secs(30), |rig| {
        read(rig, 1, "rec")
            .contains("start FAILOVER")
            .then(|| cut_at.elapsed().as_millis())
    });
    eprintln!("pingnp, node1 cut off: g1 started on node2 {taken} ms after the cut");
    assert!(
        !read(&rig, 1, "rec").contains("stop"),
        "{}",
        read(&rig, 1, "rec")
    );
    assert_eq!(read(&rig, 1, "np-actions"), "");
    assert!(
        rig.nodes[1].nm_log().contains("keeps running"),
        "{}",
        rig.dump()
    );
    let ids = alert_ids(&rig, 1);
    assert!(
        ids.contains(&("rc".into(), 411)) && ids.contains(&("rc".into(), 412)),
        "{ids:?}"
    );

    // Heal: node1 is a member again, its service stays stopped (the
    // operator's to start), node2 never stopped g1.
    rig.link(0, true);
    rig.wait_for("both in Corosync's group again", FORM, |rig| {
        (rig.nodes[1].corosync_group().as_deref()
            == Some(&["node1".to_string(), "node2".to_string()][..]))
        .then_some(())
    });
    assert!(!read(&rig, 1, "rec").contains("stop"));
    assert_eq!(read(&rig, 0, "np-actions").lines().count(), 1);
}

#[test]
fn two_servers_with_httpnp_and_a_failing_forced_stop() {
    if skip("np_two_servers_httpnp") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (netns, target) = rig.add_host(0);
    let port = rig.serve_http(&netns);
    let np = format!(
        "  <networkpartition><types name=\"httpnp\"/><httpnp name=\"httpnp1\"><priority>0</priority><device>10700</device>\
<host>{target}</host><port>{port}</port><interval>1</interval><timeout>1</timeout><retry>1</retry></httpnp></networkpartition>\n"
    );
    let conf = rig.clp_conf_with(2, "", HTTP_DEVICE, &extra(&np, "exit 7"));
    formed(&mut rig, &conf);

    let (released, acted) = cut_and_measure(&rig, 0);
    eprintln!(
        "httpnp, node1 cut off: stop.sh ran {released} ms after the cut, the NP action {acted} ms after (deadline {DEADLINE_S} s)"
    );
    assert!(acted < u128::from(DEADLINE_S) * 1000, "{}", rig.dump());
    // node2 reached the HTTP server: it stays; its forced stop failed: rc 431, 433.
    rig.wait_for(
        "node2's failed forced stop",
        Duration::from_secs(30),
        |rig| {
            let ids = alert_ids(rig, 1);
            (ids.contains(&("rc".into(), 431)) && ids.contains(&("rc".into(), 433))).then_some(())
        },
    );
    assert!(!read(&rig, 1, "rec").contains("stop"), "{}", rig.dump());
    assert_eq!(read(&rig, 1, "np-actions"), "");
}

#[test]
fn three_servers_the_minority_releases() {
    if skip("np_three_servers") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    let conf = rig.clp_conf_with(3, "", "", &extra_first("", FORCESTOP_OK, 3, 3));
    formed_on(&mut rig, &conf, SCRIPTS, 2);

    let (released, acted) = cut_and_measure(&rig, 2);
    eprintln!(
        "three servers, node3 cut off: stop.sh ran {released} ms after the cut, the NP action {acted} ms after (deadline {DEADLINE_S} s)"
    );
    assert!(acted < u128::from(DEADLINE_S) * 1000, "{}", rig.dump());
    assert!(
        rig.nodes[2].nm_log().contains("no quorum"),
        "{}",
        rig.dump()
    );
    for node in 0..2 {
        assert!(
            !read(&rig, node, "rec").contains("stop"),
            "node{} of the majority stopped g1:\n{}",
            node + 1,
            rig.dump()
        );
        assert_eq!(read(&rig, node, "np-actions"), "");
    }
}

#[test]
fn a_frozen_clpd_on_the_losing_side_is_reset_by_its_watchdog() {
    if skip("np_frozen_clpd_watchdog") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (_, target) = rig.add_host(0);
    let conf = rig.clp_conf_with(2, "", PING_DEVICE, &extra(&pingnp(&target), FORCESTOP_OK));
    formed(&mut rig, &conf);
    let watchdog_log = rig.nodes[0].root().join("var/log/clp/npwatchdog.log");

    // clpd of node1 hangs, then node1 is cut off: nothing in clpd releases.
    let frozen = Instant::now();
    rig.nodes[0].signal_clpd(Signal::SIGSTOP);
    rig.link(0, false);
    let reset = rig.wait_for(
        "the watchdog's reset on node1",
        Duration::from_secs(DEADLINE_S + 20),
        |rig| {
            read(rig, 0, "np-actions")
                .contains("reset")
                .then(|| frozen.elapsed().as_millis())
        },
    );
    eprintln!(
        "frozen clpd: the watchdog ran the reset command {reset} ms after the freeze (deadline {DEADLINE_S} s)"
    );
    assert!(reset < u128::from(DEADLINE_S) * 1000);
    let said = std::fs::read_to_string(&watchdog_log).unwrap_or_default();
    assert!(said.contains("has not fed the watchdog"), "{said}");
    assert!(
        !read(&rig, 0, "rec").contains("stop"),
        "clpd was frozen: no stop.sh"
    );
    rig.nodes[0].signal_clpd(Signal::SIGCONT);
}

#[test]
fn a_release_that_hangs_is_cut_short_at_the_deadline() {
    if skip("np_release_hangs") {
        return;
    }
    let mut rig = ClusterRig::new(3, TOKEN_MS);
    let conf = rig.clp_conf_with(3, "", "", &extra_first("", FORCESTOP_OK, 3, 3));
    // stop.sh hangs (its pid kept, to end it with the test).
    let scripts: &[(&str, &str)] = &[
        SCRIPTS[0],
        (
            "g1/r1/stop.sh",
            "echo \"stop $CLP_FACTOR\" >> \"$CLP_ROOT/rec\"; echo $$ > \"$CLP_ROOT/stop.pid\"; exec sleep 60",
        ),
    ];
    formed_on(&mut rig, &conf, scripts, 2);

    let cut = Instant::now();
    rig.link(2, false);
    let limit = Duration::from_secs(DEADLINE_S + 20);
    let stopping = rig.wait_for("node3's stop.sh", limit, |rig| {
        read(rig, 2, "rec")
            .contains("stop SERVERSHUTDOWN")
            .then(|| cut.elapsed().as_millis())
    });
    let acted = rig.wait_for("node3's NP action while stop.sh hangs", limit, |rig| {
        read(rig, 2, "np-actions")
            .contains("shutdown")
            .then(|| cut.elapsed().as_millis())
    });
    eprintln!(
        "three servers, node3 cut off, its stop.sh hanging: stop.sh began {stopping} ms after the cut, the NP action ran {acted} ms after (deadline {DEADLINE_S} s)"
    );
    // Not before the margin's point (the scripts had their chance), and
    // before the deadline.
    assert!(
        acted >= u128::from(DEADLINE_S) * 1000 * 4 / 5 - 1000,
        "{acted}"
    );
    assert!(acted < u128::from(DEADLINE_S) * 1000 + 2000, "{acted}");
    // clpd holds a turn's log lines until the turn's programs have started
    // (the NP action's command among them): wait for the line.
    rig.wait_for(
        "node3's 'without waiting' line",
        Duration::from_secs(10),
        |rig| {
            rig.nodes[2]
                .nm_log()
                .contains("carrying out shutdown now without waiting")
                .then_some(())
        },
    );
    if let Ok(pid) = read(&rig, 2, "stop.pid").trim().parse::<i32>() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[test]
fn a_server_whose_corosync_dies_releases_as_an_isolated_one() {
    if skip("np_corosync_dies") {
        return;
    }
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (_, target) = rig.add_host(0);
    let conf = rig.clp_conf_with(2, "", PING_DEVICE, &extra(&pingnp(&target), FORCESTOP_OK));
    formed(&mut rig, &conf);

    // node1's Corosync dies: node2 loses node1 (and, reaching its target,
    // stays); node1 learns nothing more of the others and must release.
    let killed = Instant::now();
    rig.nodes[0].signal_corosync(Signal::SIGKILL);
    let limit = Duration::from_secs(DEADLINE_S + 20);
    let acted = rig.wait_for("node1's release and NP action", limit, |rig| {
        (read(rig, 0, "rec").contains("stop SERVERSHUTDOWN")
            && read(rig, 0, "np-actions").contains("shutdown"))
        .then(|| killed.elapsed().as_millis())
    });
    eprintln!(
        "Corosync of node1 killed: released and NP action {acted} ms after (deadline {DEADLINE_S} s)"
    );
    assert!(acted < u128::from(DEADLINE_S) * 1000, "{}", rig.dump());
    // The log writer is a thread of its own: wait for the line.
    rig.wait_for(
        "node1's 'Corosync is lost' line",
        Duration::from_secs(10),
        |rig| {
            rig.nodes[0]
                .nm_log()
                .contains("the connection to this server's Corosync is lost")
                .then_some(())
        },
    );
    assert!(!read(&rig, 1, "rec").contains("stop"), "{}", rig.dump());
}
