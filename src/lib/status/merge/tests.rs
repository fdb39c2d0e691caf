//! One test per merging rule, on a configuration of two or three servers
//! with two LAN heartbeats, a ping NP resource, one group and two monitors.

use super::*;
use crate::model::{Heartbeat, Server};
use crate::status::{ClusterStatus, ResourceStatus, RunState, ServiceState};

const HOUR: Duration = Duration::from_secs(3600);

/// The SSS template's model with `names` as its servers (the first has a
/// comment) and `local` as the local server.
pub(crate) fn model(names: &[&str], local: &str) -> Cluster {
    let bytes = include_bytes!("../../../../tests/fixtures/sss-template/clp.conf");
    let mut report = crate::config::Report::new("clp.conf");
    let file = crate::config::ConfigFile::parse(bytes, &mut report).expect("template parses");
    let opts = crate::config::validate::Options {
        local_server: Some("node1"),
        scripts_dir: None,
    };
    let mut cluster = crate::config::validate::validate(&file.doc, &opts, &mut report)
        .unwrap_or_else(|| panic!("{report}"));
    cluster.local_server = local.to_string();
    cluster.servers = names
        .iter()
        .enumerate()
        .map(|(i, n)| Server {
            name: (*n).to_string(),
            priority: u32::try_from(i).unwrap(),
            comment: if i == 0 {
                "Primary server".into()
            } else {
                String::new()
            },
            devices: Vec::new(),
        })
        .collect();
    cluster.heartbeats = ["lankhb1", "lankhb2"]
        .iter()
        .enumerate()
        .map(|(i, n)| Heartbeat {
            name: (*n).to_string(),
            kind: "lankhb".into(),
            priority: u32::try_from(i).unwrap(),
            device: i.to_string(),
        })
        .collect();
    cluster
}

/// What `me` reports about itself: its line in `state`, its heartbeat lines
/// (LAN ones as its own daemon fills them, `pingnp1` = `np`), the group
/// `failover-sss` online here when `runs_group`, and the monitors.
pub(crate) fn own(
    names: &[&str],
    me: &str,
    state: ServerState,
    np: HeartbeatState,
    runs_group: bool,
    monitors: &[(&str, MonitorState)],
) -> Snapshot {
    let line = |hb: &str, kind: &str, status| HeartbeatStatus {
        name: hb.into(),
        kind: kind.into(),
        status,
        peers: Vec::new(),
    };
    let servers = names
        .iter()
        .map(|n| {
            let mine = *n == me;
            let status = if mine { state } else { ServerState::Offline };
            let hb = if mine {
                HeartbeatState::Normal
            } else {
                HeartbeatState::Offline
            };
            ServerStatus {
                name: (*n).into(),
                local: mine,
                status,
                heartbeats: vec![
                    line("lankhb1", "lankhb", hb),
                    line("lankhb2", "lankhb", hb),
                    line("pingnp1", "pingnp", if mine { np } else { hb }),
                ],
                comment: String::new(),
                report_age_ms: None,
            }
        })
        .collect();
    let group_state = if runs_group {
        RunState::Online
    } else {
        RunState::Offline
    };
    Snapshot {
        schema: crate::status::SCHEMA_VERSION,
        generated_at_ms: 0,
        generated_at: String::new(),
        daemon_pid: 1,
        version: String::new(),
        cluster: ClusterStatus {
            name: "sss".into(),
            service: ServiceState::Online,
            config_digest: String::new(),
            quorum: None,
        },
        servers,
        groups: vec![GroupStatus {
            name: "failover-sss".into(),
            status: group_state,
            current: runs_group.then(|| me.to_string()),
            resources: vec![ResourceStatus {
                name: "exec-db".into(),
                kind: "exec".into(),
                status: group_state,
                pid: None,
                since_ms: 0,
                last_error: None,
                retry_count: 0,
            }],
            comment: String::new(),
        }],
        monitors: monitors
            .iter()
            .map(|(n, s)| MonitorStatus {
                name: (*n).into(),
                kind: "userw".into(),
                status: *s,
                script_count: 0,
                restart_count: 0,
                failover_count: 0,
                final_action_done: false,
                detail: None,
                comment: String::new(),
                servers: Vec::new(),
            })
            .collect(),
    }
}

pub(crate) fn healthy(names: &[&str], me: &str, runs_group: bool) -> Snapshot {
    own(
        names,
        me,
        ServerState::Online,
        HeartbeatState::Normal,
        runs_group,
        &[
            ("userw", MonitorState::Normal),
            ("genw-app", MonitorState::Normal),
        ],
    )
}

pub(crate) fn peer(snapshot: Snapshot, server: &str, age: Duration) -> PeerReport {
    PeerReport {
        server: server.into(),
        snapshot,
        age,
    }
}

/// Every server hears every other on both heartbeats, except the `(observer,
/// heartbeat, peer)` triples in `down`.
pub(crate) fn links(names: &[&str], down: &[(&str, &str, &str)]) -> Vec<LinkState> {
    let mut out = Vec::new();
    for observer in names {
        for peer in names.iter().filter(|p| *p != observer) {
            for hb in ["lankhb1", "lankhb2"] {
                out.push(LinkState {
                    observer: (*observer).into(),
                    heartbeat: hb.into(),
                    peer: (*peer).into(),
                    up: !down.contains(&(*observer, hb, *peer)),
                });
            }
        }
    }
    out
}

pub(crate) fn members(names: &[&str]) -> Members {
    Members {
        members: names.iter().map(|n| (*n).to_string()).collect(),
        quorate: true,
    }
}

pub(crate) fn run(
    model: &Cluster,
    local: &Snapshot,
    peers: &[PeerReport],
    members: &Members,
    links: &[LinkState],
) -> Snapshot {
    merge(&MergeInput {
        model,
        local,
        peers,
        members,
        links,
        stale_after: HOUR,
    })
}

fn server<'a>(s: &'a Snapshot, name: &str) -> &'a ServerStatus {
    s.servers.iter().find(|x| x.name == name).unwrap()
}

fn hb(s: &Snapshot, server_name: &str, line: &str) -> HeartbeatState {
    server(s, server_name)
        .heartbeats
        .iter()
        .find(|h| h.name == line)
        .unwrap()
        .status
}

const TWO: [&str; 2] = ["server1", "server2"];
const THREE: [&str; 3] = ["a", "b", "c"];

#[test]
fn all_up_is_normal_everywhere_with_the_local_server_marked() {
    let m = model(&TWO, "server1");
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    for name in TWO {
        assert_eq!(server(&out, name).status, ServerState::Online);
        for line in ["lankhb1", "lankhb2", "pingnp1"] {
            assert_eq!(
                hb(&out, name, line),
                HeartbeatState::Normal,
                "{name} {line}"
            );
        }
    }
    assert!(server(&out, "server1").local && !server(&out, "server2").local);
    assert_eq!(server(&out, "server1").comment, "Primary server");
    assert_eq!(server(&out, "server2").report_age_ms, Some(0));
    assert_eq!(out.cluster.quorum.as_ref().unwrap().members, TWO.to_vec());
}

#[test]
fn a_server_outside_the_membership_is_offline_with_offline_lines() {
    let m = model(&TWO, "server1");
    // server2's last report still says Online: the membership decides.
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&["server1"]),
        &links(&TWO, &[("server1", "lankhb1", "server2")]),
    );
    let s2 = server(&out, "server2");
    assert_eq!(s2.status, ServerState::Offline);
    assert!(
        s2.heartbeats
            .iter()
            .all(|h| h.status == HeartbeatState::Offline)
    );
    // Nobody left to hear server1: its LAN lines have nothing to be wrong about.
    assert_eq!(hb(&out, "server1", "lankhb1"), HeartbeatState::Normal);
    assert!(
        out.monitors[0]
            .servers
            .iter()
            .any(|m| m.server == "server2" && m.status == MonitorState::Offline)
    );
}

#[test]
fn a_member_without_a_fresh_report_is_unknown() {
    let m = model(&TWO, "server1");
    let stale = peer(healthy(&TWO, "server2", false), "server2", HOUR * 2);
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[stale],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    let s2 = server(&out, "server2");
    assert_eq!(s2.status, ServerState::Unknown);
    assert_eq!(s2.report_age_ms, None);
    // Corosync still hears it, so its LAN lines are known; its NP is not.
    assert_eq!(hb(&out, "server2", "lankhb1"), HeartbeatState::Normal);
    assert_eq!(hb(&out, "server2", "pingnp1"), HeartbeatState::Unknown);
    assert_eq!(out.monitors[0].servers[1].status, MonitorState::Unknown);
    assert_eq!(out.monitors[0].status, MonitorState::Unknown);
}

#[test]
fn a_cut_link_between_two_servers_is_caution_on_both_lines() {
    let m = model(&TWO, "server1");
    let down = [
        ("server1", "lankhb1", "server2"),
        ("server2", "lankhb1", "server1"),
    ];
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &links(&TWO, &down),
    );
    // Corosync says the link is down on both sides: neither end can be
    // blamed, and lankhb2 keeps both servers members.
    for name in TWO {
        assert_eq!(hb(&out, name, "lankhb1"), HeartbeatState::Caution);
        assert_eq!(hb(&out, name, "lankhb2"), HeartbeatState::Normal);
        assert_eq!(server(&out, name).status, ServerState::Online);
    }
    let seen = &server(&out, "server1").heartbeats[0].peers;
    assert_eq!(
        seen,
        &vec![PeerLink {
            server: "server2".into(),
            up: false
        }]
    );
}

#[test]
fn a_link_down_for_one_of_three_servers_is_caution_for_the_others() {
    let m = model(&THREE, "a");
    // c's lankhb1 is cut: a and b do not hear c, c hears nobody.
    let down = [
        ("a", "lankhb1", "c"),
        ("b", "lankhb1", "c"),
        ("c", "lankhb1", "a"),
        ("c", "lankhb1", "b"),
    ];
    let out = run(
        &m,
        &healthy(&THREE, "a", true),
        &[
            peer(healthy(&THREE, "b", false), "b", Duration::ZERO),
            peer(healthy(&THREE, "c", false), "c", Duration::ZERO),
        ],
        &members(&THREE),
        &links(&THREE, &down),
    );
    assert_eq!(hb(&out, "a", "lankhb1"), HeartbeatState::Caution);
    assert_eq!(hb(&out, "b", "lankhb1"), HeartbeatState::Caution);
    assert_eq!(hb(&out, "c", "lankhb1"), HeartbeatState::Error);
    assert_eq!(hb(&out, "c", "lankhb2"), HeartbeatState::Normal);
}

#[test]
fn a_link_down_between_every_pair_of_three_servers_is_error_on_every_line() {
    let m = model(&THREE, "a");
    let down: Vec<(&str, &str, &str)> = THREE
        .iter()
        .flat_map(|o| {
            THREE
                .iter()
                .filter(move |p| *p != o)
                .map(move |p| (*o, "lankhb1", *p))
        })
        .collect();
    let out = run(
        &m,
        &healthy(&THREE, "a", true),
        &[
            peer(healthy(&THREE, "b", false), "b", Duration::ZERO),
            peer(healthy(&THREE, "c", false), "c", Duration::ZERO),
        ],
        &members(&THREE),
        &links(&THREE, &down),
    );
    for name in THREE {
        assert_eq!(hb(&out, name, "lankhb1"), HeartbeatState::Error, "{name}");
        assert_eq!(hb(&out, name, "lankhb2"), HeartbeatState::Normal, "{name}");
    }
}

#[test]
fn with_one_of_three_servers_down_a_cut_link_is_caution_as_with_two() {
    let m = model(&THREE, "a");
    let down = [("a", "lankhb1", "b"), ("b", "lankhb1", "a")];
    let out = run(
        &m,
        &healthy(&THREE, "a", true),
        &[peer(healthy(&THREE, "b", false), "b", Duration::ZERO)],
        &members(&["a", "b"]),
        &links(&THREE, &down),
    );
    assert_eq!(hb(&out, "a", "lankhb1"), HeartbeatState::Caution);
    assert_eq!(hb(&out, "b", "lankhb1"), HeartbeatState::Caution);
    assert_eq!(hb(&out, "c", "lankhb1"), HeartbeatState::Offline);
}

#[test]
fn the_hearer_says_whether_it_hears_and_the_speaker_answers_for_a_silent_one() {
    let m = model(&TWO, "server1");
    // server2 does not hear server1 on lankhb1, server1 still hears server2.
    let mut l = links(&TWO, &[("server2", "lankhb1", "server1")]);
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &l,
    );
    assert_eq!(hb(&out, "server1", "lankhb1"), HeartbeatState::Caution);
    assert_eq!(hb(&out, "server2", "lankhb1"), HeartbeatState::Normal);
    // server2 said nothing about lankhb2: server1's view of server2 answers.
    l.retain(|x| !(x.observer == "server2" && x.heartbeat == "lankhb2"));
    l.iter_mut()
        .filter(|x| x.observer == "server1" && x.heartbeat == "lankhb2")
        .for_each(|x| x.up = false);
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &l,
    );
    assert_eq!(hb(&out, "server1", "lankhb2"), HeartbeatState::Caution);
    // Nobody said anything about a link: Unknown.
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &[],
    );
    assert_eq!(hb(&out, "server1", "lankhb1"), HeartbeatState::Unknown);
}

#[test]
fn np_lines_are_what_each_server_reports() {
    let m = model(&TWO, "server1");
    let s2 = own(
        &TWO,
        "server2",
        ServerState::Online,
        HeartbeatState::Error,
        false,
        &[],
    );
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(s2, "server2", Duration::ZERO)],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    assert_eq!(hb(&out, "server1", "pingnp1"), HeartbeatState::Normal);
    assert_eq!(hb(&out, "server2", "pingnp1"), HeartbeatState::Error);
}

#[test]
fn a_group_shows_the_server_that_runs_it() {
    let m = model(&TWO, "server1");
    let out = run(
        &m,
        &healthy(&TWO, "server1", false),
        &[peer(
            healthy(&TWO, "server2", true),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    let g = &out.groups[0];
    assert_eq!(g.current.as_deref(), Some("server2"));
    assert_eq!(g.status, RunState::Online);
    assert_eq!(g.resources[0].status, RunState::Online);
    assert_eq!(g.comment, "application group");
    // Running nowhere: the local report's Offline, current None.
    let out = run(
        &m,
        &healthy(&TWO, "server1", false),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    assert_eq!(out.groups[0].current, None);
    assert_eq!(out.groups[0].status, RunState::Offline);
    // A report from a server outside the membership does not count.
    let out = run(
        &m,
        &healthy(&TWO, "server1", false),
        &[peer(
            healthy(&TWO, "server2", true),
            "server2",
            Duration::ZERO,
        )],
        &members(&["server1"]),
        &links(&TWO, &[]),
    );
    assert_eq!(out.groups[0].current, None);
}

#[test]
fn a_monitor_in_error_on_some_servers_is_caution_on_all_error() {
    let m = model(&TWO, "server1");
    let with = |state| {
        own(
            &TWO,
            "server2",
            ServerState::Online,
            HeartbeatState::Normal,
            false,
            &[("userw", state), ("genw-app", MonitorState::Error)],
        )
    };
    let mut local = healthy(&TWO, "server1", true);
    local.monitors[1].status = MonitorState::Error;
    let out = run(
        &m,
        &local,
        &[peer(with(MonitorState::Normal), "server2", Duration::ZERO)],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    assert_eq!(out.monitors[0].status, MonitorState::Normal);
    assert_eq!(out.monitors[1].status, MonitorState::Error);
    let out = run(
        &m,
        &local,
        &[peer(with(MonitorState::Error), "server2", Duration::ZERO)],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    assert_eq!(out.monitors[0].status, MonitorState::Caution);
    assert_eq!(
        out.monitors[0].servers,
        vec![
            MonitorOnServer {
                server: "server1".into(),
                status: MonitorState::Normal
            },
            MonitorOnServer {
                server: "server2".into(),
                status: MonitorState::Error
            },
        ]
    );
}

#[test]
fn the_cluster_wide_monitor_state_counts_only_where_it_runs() {
    use MonitorState::*;
    let wide = |states: &[MonitorState]| cluster_wide(states.iter().copied());
    assert_eq!(wide(&[Normal, Normal]), Normal);
    assert_eq!(wide(&[Normal, Error]), Caution);
    assert_eq!(wide(&[Error, Error]), Error);
    // An active monitor runs where its group runs: an error there is all.
    assert_eq!(wide(&[Error, Offline]), Error);
    assert_eq!(wide(&[Offline, Offline]), Offline);
    assert_eq!(wide(&[Unused, Offline]), Offline);
    assert_eq!(wide(&[Normal, Warning]), Warning);
    assert_eq!(wide(&[Suspend, Suspend]), Suspend);
    assert_eq!(wide(&[Normal, Unknown]), Unknown);
    assert_eq!(wide(&[]), Offline);
}

#[test]
fn a_monitor_not_configured_on_a_server_is_offline_there() {
    let mut m = model(&TWO, "server1");
    m.monitors[0].servers = vec!["server1".into()];
    let out = run(
        &m,
        &healthy(&TWO, "server1", true),
        &[peer(
            healthy(&TWO, "server2", false),
            "server2",
            Duration::ZERO,
        )],
        &members(&TWO),
        &links(&TWO, &[]),
    );
    let userw = &out.monitors[0];
    assert_eq!(userw.servers[1].status, MonitorState::Offline);
    assert_eq!(userw.status, MonitorState::Normal);
}

#[test]
fn the_local_server_keeps_its_place_in_priority_order() {
    let m = model(&THREE, "b");
    let out = run(
        &m,
        &healthy(&THREE, "b", true),
        &[
            peer(healthy(&THREE, "a", false), "a", Duration::ZERO),
            peer(healthy(&THREE, "c", false), "c", Duration::ZERO),
        ],
        &members(&THREE),
        &links(&THREE, &[]),
    );
    let order: Vec<(&str, bool)> = out
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.local))
        .collect();
    assert_eq!(order, vec![("a", false), ("b", true), ("c", false)]);
    assert_eq!(out.groups[0].current.as_deref(), Some("b"));
}

#[test]
fn quorum_is_carried_as_corosync_said() {
    let m = model(&THREE, "a");
    let mut who = members(&["c", "a"]);
    who.quorate = false;
    let out = run(
        &m,
        &healthy(&THREE, "a", true),
        &[],
        &who,
        &links(&THREE, &[]),
    );
    let q = out.cluster.quorum.clone().unwrap();
    assert!(!q.quorate);
    assert_eq!(q.members, vec!["a".to_string(), "c".to_string()]);
    // c is a member but sent nothing yet.
    assert_eq!(server(&out, "c").status, ServerState::Unknown);
    assert_eq!(server(&out, "b").status, ServerState::Offline);
}

/// Not a benchmark with a bound (the machine is shared): it prints what a
/// merge of 1000 monitors on three servers costs, for the report.
#[test]
fn a_thousand_monitors_on_three_servers_merge_quickly() {
    let mut m = model(&THREE, "a");
    let template = m.monitors[0].clone();
    let names: Vec<String> = (0..1000).map(|i| format!("mon{i}")).collect();
    m.monitors = names
        .iter()
        .map(|n| crate::model::Monitor {
            name: n.clone(),
            ..template.clone()
        })
        .collect();
    m.reindex();
    let monitors: Vec<(&str, MonitorState)> = names
        .iter()
        .map(|n| (n.as_str(), MonitorState::Normal))
        .collect();
    let report = |me| {
        own(
            &THREE,
            me,
            ServerState::Online,
            HeartbeatState::Normal,
            me == "a",
            &monitors,
        )
    };
    let local = report("a");
    let peers = [
        peer(report("b"), "b", Duration::ZERO),
        peer(report("c"), "c", Duration::ZERO),
    ];
    let who = members(&THREE);
    let l = links(&THREE, &[]);
    let start = std::time::Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        let out = run(&m, &local, &peers, &who, &l);
        assert_eq!(out.monitors.len(), 1000);
    }
    eprintln!(
        "merge of 3 servers x 1000 monitors: {:?} per merge",
        start.elapsed() / rounds
    );
}
