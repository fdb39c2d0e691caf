//! The multi-server views of a merged snapshot: three servers `a`, `b`
//! (local, in the middle) and `c`, two LAN heartbeats and a ping NP resource.

use std::time::Duration;

use super::*;
use crate::status::merge::tests::{healthy, links, members, model, own, peer, run};

const THREE: [&str; 3] = ["a", "b", "c"];

/// c's lankhb1 is cut, c's ping target does not answer, userw fails on c.
fn degraded() -> Snapshot {
    let m = model(&THREE, "b");
    let c = own(
        &THREE,
        "c",
        ServerState::Online,
        HeartbeatState::Error,
        false,
        &[
            ("userw", MonitorState::Error),
            ("genw-app", MonitorState::Normal),
        ],
    );
    let down = [
        ("a", "lankhb1", "c"),
        ("b", "lankhb1", "c"),
        ("c", "lankhb1", "a"),
        ("c", "lankhb1", "b"),
    ];
    run(
        &m,
        &healthy(&THREE, "b", false),
        &[
            peer(healthy(&THREE, "a", true), "a", Duration::ZERO),
            peer(c, "c", Duration::from_millis(250)),
        ],
        &members(&THREE),
        &links(&THREE, &down),
    )
}

/// c is down: outside the membership.
fn c_down() -> Snapshot {
    let m = model(&THREE, "b");
    run(
        &m,
        &healthy(&THREE, "b", false),
        &[peer(healthy(&THREE, "a", true), "a", Duration::ZERO)],
        &members(&["a", "b"]),
        &links(&THREE, &[]),
    )
}

#[test]
fn default_view_of_three_servers_marks_the_local_one_where_it_stands() {
    let expected = concat!(
        " ========================  CLUSTER STATUS  ===========================\n",
        "  Cluster : sss\n",
        "  <server>\n",
        "    a ...............: Online           Primary server\n",
        "      lankhb1        : Caution          Kernel Mode LAN Heartbeat\n",
        "      lankhb2        : Normal           Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Normal           ping resolution\n",
        "   *b ...............: Online           \n",
        "      lankhb1        : Caution          Kernel Mode LAN Heartbeat\n",
        "      lankhb2        : Normal           Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Normal           ping resolution\n",
        "    c ...............: Online           \n",
        "      lankhb1        : Error            Kernel Mode LAN Heartbeat\n",
        "      lankhb2        : Normal           Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Error            ping resolution\n",
        "  <group>\n",
        "    failover-sss ....: Online           application group\n",
        "      current        : a\n",
        "      exec-db        : Online           \n",
        "  <monitor>\n",
        "    userw            : Caution          \n",
        "    genw-app         : Normal           custom check of the application\n",
        " =====================================================================\n",
    );
    assert_eq!(default_view(&degraded(), false), expected);
}

#[test]
fn an_offline_server_has_offline_lines() {
    let out = default_view(&c_down(), false);
    assert!(out.contains(concat!(
        "    c ...............: Offline          \n",
        "      lankhb1        : Offline          Kernel Mode LAN Heartbeat\n",
        "      lankhb2        : Offline          Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Offline          ping resolution\n",
    )));
    assert!(out.contains("      lankhb1        : Normal           Kernel Mode LAN Heartbeat\n"));
}

#[test]
fn heartbeat_view_has_a_block_per_viewpoint() {
    let expected = concat!(
        " ====================  HEARTBEAT RESOURCE STATUS  ====================\n",
        "  Cluster : sss\n",
        "    server0 : a\n",
        "   *server1 : b\n",
        "    server2 : c\n",
        "    HB0 : lankhb1\n",
        "    HB1 : lankhb2\n",
        "\n",
        "  [on server0 : Online]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o   o\n",
        "    server1 :   o   o\n",
        "    server2 :   x   o\n",
        "\n",
        "  [on server1 : Online]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o   o\n",
        "    server1 :   o   o\n",
        "    server2 :   x   o\n",
        "\n",
        "  [on server2 : Online]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   x   o\n",
        "    server1 :   x   o\n",
        "    server2 :   x   o\n",
        " =====================================================================\n",
    );
    assert_eq!(heartbeat_view(&degraded()), expected);
}

#[test]
fn heartbeat_view_of_an_offline_server_sees_nothing() {
    let out = heartbeat_view(&c_down());
    assert!(out.contains(concat!(
        "  [on server2 : Offline]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   -   -\n",
        "    server1 :   -   -\n",
        "    server2 :   -   -\n",
    )));
    assert!(out.contains(concat!(
        "  [on server0 : Online]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o   o\n",
        "    server1 :   o   o\n",
        "    server2 :   -   -\n",
    )));
    // What srvstat.sh reads: one heading per server, with its state.
    let headings: Vec<&str> = out.lines().filter(|l| l.contains("[on server")).collect();
    assert_eq!(
        headings,
        vec![
            "  [on server0 : Online]",
            "  [on server1 : Online]",
            "  [on server2 : Offline]"
        ]
    );
}

#[test]
fn np_view_shows_each_servers_result_and_the_quorum() {
    let expected = concat!(
        " ================  NETWORK PARTITION RESOURCE STATUS  ================\n",
        "  Cluster : sss\n",
        "    server0 : a\n",
        "   *server1 : b\n",
        "    server2 : c\n",
        "    NP0 : pingnp1\n",
        "  Quorum : Yes\n",
        "\n",
        "  [on server0 : Online]\n",
        "           NP   0\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o\n",
        "    server1 :   o\n",
        "    server2 :   x\n",
        "\n",
        "  [on server1 : Online]\n",
        "           NP   0\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o\n",
        "    server1 :   o\n",
        "    server2 :   x\n",
        "\n",
        "  [on server2 : Online]\n",
        "           NP   0\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o\n",
        "    server1 :   o\n",
        "    server2 :   x\n",
        " =====================================================================\n",
    );
    let out = np_view(&degraded());
    assert_eq!(out, expected);
    // exec_checkNP_stat.sh's test for "my NP targets answer", on b (server1)
    // and on c (server2).
    let answers = |own: &str| {
        out.lines()
            .filter(|l| l.contains(own) && !l.contains("on server") && !l.contains('*'))
            .any(|l| l.contains('o'))
    };
    assert!(answers("server1"));
    assert!(!answers("server2"));
}

#[test]
fn np_view_says_when_quorum_is_lost() {
    let m = model(&THREE, "b");
    let mut who = members(&["b"]);
    who.quorate = false;
    let out = np_view(&run(
        &m,
        &healthy(&THREE, "b", false),
        &[],
        &who,
        &links(&THREE, &[]),
    ));
    assert!(out.contains("  Quorum : No\n"), "{out}");
    assert!(out.contains("  [on server0 : Offline]\n"));
}

#[test]
fn monitor_view_shows_the_state_on_every_server() {
    let out = monitor_view(&degraded());
    assert!(out.contains(concat!(
        "  Monitor0 [userw : Caution]\n",
        "  --------------------------------------------------------------------\n",
        "    server0 [o] : Normal\n",
        "    server1 [o] : Normal\n",
        "    server2 [o] : Error\n",
    )));
    let out = monitor_view(&c_down());
    assert!(out.contains("  Monitor1 [genw-app : Normal]\n"));
    assert!(out.contains("    server2 [-] : Offline\n"));
}

#[test]
fn group_map_puts_each_group_on_its_server() {
    let out = group_map(&degraded());
    assert!(out.contains(concat!(
        "    server0 [o] : failover-sss[o] \n",
        "    server1 [o] : \n",
        "    server2 [o] : \n",
    )));
}

#[test]
fn json_carries_the_merged_facts_and_reads_back() {
    let view = degraded();
    let text = json(&view).unwrap();
    for fact in [
        "\"quorate\": true",
        "\"report_age_ms\": 250",
        "\"comment\": \"Primary server\"",
        "\"Caution\"",
        "\"peers\": [",
    ] {
        assert!(text.contains(fact), "{fact} missing in\n{text}");
    }
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, view);
}

/// The two-node fixture (two servers, a kernel-mode LAN heartbeat, a ping NP
/// resource), validated for `local`.
fn two_node(local: &str) -> (Cluster, crate::config::xml::Document) {
    let bytes = include_bytes!("../../../../tests/fixtures/two-node/clp.conf");
    let mut report = crate::config::Report::new("clp.conf");
    let file = crate::config::ConfigFile::parse(bytes, &mut report).expect("fixture parses");
    let opts = crate::config::validate::Options {
        local_server: Some(local),
        scripts_dir: None,
    };
    let cluster = crate::config::validate::validate(&file.doc, &opts, &mut report)
        .unwrap_or_else(|| panic!("{report}"));
    (cluster, file.doc)
}

#[test]
fn server_views_list_every_server_whichever_is_local() {
    for local in ["server1", "server2"] {
        let (cluster, doc) = two_node(local);
        let out = config_view(&cluster, Some(&doc), Section::Server, None, true).unwrap();
        let headers: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(headers, ["[Server0 : server1]", "[Server1 : server2]"]);
        let one =
            config_view(&cluster, Some(&doc), Section::Server, Some("server2"), true).unwrap();
        assert!(one.contains("[Server1 : server2]\n"), "{one}");
        assert!(!one.contains("server1]"), "{one}");
        let all = config_view(&cluster, Some(&doc), Section::All, None, true).unwrap();
        assert!(all.contains("[Server1 : server2]\n") && all.contains("[HB0 : lankhb1]\n"));
    }
}
