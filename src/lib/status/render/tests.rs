use super::*;
use crate::status::{
    ClusterStatus, GroupStatus, HeartbeatStatus, MonitorStatus, ResourceStatus, ServiceState,
};

fn snapshot(name: &str) -> Snapshot {
    Snapshot {
        schema: crate::status::SCHEMA_VERSION,
        generated_at_ms: 0,
        generated_at: String::new(),
        daemon_pid: 1,
        version: String::new(),
        cluster: ClusterStatus {
            name: name.into(),
            service: ServiceState::Online,
            config_digest: String::new(),
            quorum: None,
        },
        servers: Vec::new(),
        groups: Vec::new(),
        monitors: Vec::new(),
    }
}

fn server(
    name: &str,
    local: bool,
    status: ServerState,
    hbs: &[(&str, &str, HeartbeatState)],
) -> ServerStatus {
    ServerStatus {
        name: name.into(),
        local,
        status,
        heartbeats: hbs
            .iter()
            .map(|(n, k, s)| HeartbeatStatus {
                name: (*n).into(),
                kind: (*k).into(),
                status: *s,
                peers: vec![],
            })
            .collect(),
        comment: String::new(),
        report_age_ms: None,
    }
}

fn group(
    name: &str,
    status: RunState,
    current: Option<&str>,
    resources: &[(&str, RunState)],
) -> GroupStatus {
    GroupStatus {
        name: name.into(),
        status,
        current: current.map(Into::into),
        resources: resources
            .iter()
            .map(|(n, s)| ResourceStatus {
                name: (*n).into(),
                kind: "exec".into(),
                status: *s,
                pid: None,
                since_ms: 0,
                last_error: None,
                retry_count: 0,
            })
            .collect(),
        comment: String::new(),
    }
}

fn monitor(name: &str, status: MonitorState) -> MonitorStatus {
    MonitorStatus {
        name: name.into(),
        kind: "userw".into(),
        status,
        script_count: 0,
        restart_count: 0,
        failover_count: 0,
        final_action_done: false,
        detail: None,
        comment: String::new(),
        servers: vec![],
    }
}

/// The reference's first sample (clpaic README, cluster stopped), byte for byte.
const CLUSTER_X600: &str = concat!(
    " ========================  CLUSTER STATUS  ===========================\n",
    "  Cluster : cluster-x600\n",
    "  <server>\n",
    "   *116rhel94 .......: Offline          \n",
    "      lankhb1        : Offline          Kernel Mode LAN Heartbeat\n",
    "      pingnp1        : Offline          ping resolution\n",
    "    117rhel94 .......: Offline          \n",
    "      lankhb1        : Offline          Kernel Mode LAN Heartbeat\n",
    "      pingnp1        : Offline          ping resolution\n",
    "  <group>\n",
    "    failover1 .......: Offline          \n",
    "      current        : None\n",
    "      exec1          : Offline          \n",
    "    failover2 .......: Offline          \n",
    "      current        : None\n",
    "      exec2          : Offline          \n",
    "  <monitor>\n",
    "    userw            : Offline          \n",
    " =====================================================================\n",
);

#[test]
fn default_view_reproduces_the_two_node_sample() {
    let hbs = [
        ("lankhb1", "lankhb", HeartbeatState::Offline),
        ("pingnp1", "pingnp", HeartbeatState::Offline),
    ];
    let mut s = snapshot("cluster-x600");
    s.servers = vec![
        server("116rhel94", true, ServerState::Offline, &hbs),
        server("117rhel94", false, ServerState::Offline, &hbs),
    ];
    s.groups = vec![
        group(
            "failover1",
            RunState::Offline,
            None,
            &[("exec1", RunState::Offline)],
        ),
        group(
            "failover2",
            RunState::Offline,
            None,
            &[("exec2", RunState::Offline)],
        ),
    ];
    s.monitors = vec![monitor("userw", MonitorState::Offline)];
    assert_eq!(default_view(&s, false), CLUSTER_X600);
}

/// The reference's second sample (kubernetes MariaDB SSS). The document it
/// comes from lost the trailing spaces, so lines are compared trimmed; the
/// padding itself is checked on the first sample and below.
#[test]
fn default_view_reproduces_the_sss_sample() {
    let sample = concat!(
        " ========================  CLUSTER STATUS  ===========================\n",
        "  Cluster : mariadb-sss-0\n",
        "  <server>\n",
        "   *mariadb-sss-0 ...: Online\n",
        "      lanhb1         : Normal           LAN Heartbeat\n",
        "  <group>\n",
        "    container-recove : Online\n",
        "      current        : mariadb-sss-0\n",
        "      exec           : Online\n",
        "  <monitor>\n",
        "    mysqlw           : Normal\n",
        " =====================================================================\n",
    );
    let mut s = snapshot("mariadb-sss-0");
    s.servers = vec![server(
        "mariadb-sss-0",
        true,
        ServerState::Online,
        &[("lanhb1", "lanhb", HeartbeatState::Normal)],
    )];
    s.groups = vec![group(
        "container-recovery",
        RunState::Online,
        Some("mariadb-sss-0"),
        &[("exec", RunState::Online)],
    )];
    s.monitors = vec![monitor("mysqlw", MonitorState::Normal)];
    let out = default_view(&s, false);
    let trimmed: String = out.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    assert_eq!(trimmed, sample);
    assert!(out.contains("   *mariadb-sss-0 ...: Online           \n"));
    assert!(out.contains("    container-recove : Online           \n"));
}

#[test]
fn every_colon_is_at_column_21_or_38_with_long() {
    let mut s = snapshot("c");
    s.servers = vec![server(
        "a-server-name-longer-than-thirty-four-characters",
        true,
        ServerState::OnlinePending,
        &[(
            "a-heartbeat-with-a-long-name",
            "lanhb",
            HeartbeatState::Normal,
        )],
    )];
    s.groups = vec![group(
        "exactly16chars..",
        RunState::OfflineFailure,
        None,
        &[("resource-name-of-15", RunState::OnlineFailure)],
    )];
    s.monitors = vec![monitor("monitor-with-a-long-name", MonitorState::Warning)];
    for (long, column) in [(false, 21), (true, 38)] {
        let out = default_view(&s, long);
        for line in out
            .lines()
            .skip(2)
            .filter(|l| l.contains(" : ") || l.ends_with(':'))
        {
            if line.starts_with("  Cluster") {
                continue;
            }
            assert_eq!(line.find(':'), Some(column), "{line:?}");
        }
    }
    let out = default_view(&s, false);
    assert!(
        out.contains("   *a-server-name-lo : Online Pending   \n"),
        "{out}"
    );
    assert!(
        out.contains("    exactly16chars.. : Offline Failure  \n"),
        "{out}"
    );
    assert!(
        out.contains("      resource-name- : Online Failure   \n"),
        "{out}"
    );
    let long = default_view(&s, true);
    assert!(
        long.contains("   *a-server-name-longer-than-thirty- : Online Pending   \n"),
        "{long}"
    );
}

#[test]
fn long_widens_the_name_field_to_34() {
    let mut s = snapshot("c");
    s.servers = vec![server("ws2022-01", true, ServerState::Online, &[])];
    let out = default_view(&s, true);
    // The line quoted by the reference (a PostgreSQL-on-WSL2 guide).
    assert!(out.contains("   *ws2022-01 ........................: Online           \n"));
}

#[test]
fn group_map_reproduces_the_sample() {
    let sample = concat!(
        " ======================  GROUPMAP INFORMATION  =======================\n",
        "  Cluster : cluster-x600\n",
        "   *server0 : 116rhel94\n",
        "    server1 : 117rhel94\n",
        "\n",
        "  --------------------------------------------------------------------\n",
        "    server0 [o] : failover1[o] \n",
        "    server1 [o] : failover2[o] \n",
        " =====================================================================\n",
    );
    let mut s = snapshot("cluster-x600");
    s.servers = vec![
        server("116rhel94", true, ServerState::Online, &[]),
        server("117rhel94", false, ServerState::Online, &[]),
    ];
    s.groups = vec![
        group("failover1", RunState::Online, Some("116rhel94"), &[]),
        group("failover2", RunState::Online, Some("117rhel94"), &[]),
    ];
    assert_eq!(group_map(&s), sample);
}

#[test]
fn group_map_letters() {
    let mut s = snapshot("c");
    s.servers = vec![server("n1", true, ServerState::Online, &[])];
    s.groups = vec![
        group("a", RunState::OnlinePending, Some("n1"), &[]),
        group("b", RunState::Offline, None, &[]),
        group("c", RunState::OnlineFailure, None, &[]),
    ];
    assert!(group_map(&s).contains("    server0 [o] : a[p] c[e] \n"));
}

#[test]
fn monitor_view_blocks() {
    let mut s = snapshot("c");
    s.servers = vec![
        server("n1", true, ServerState::Online, &[]),
        server("n2", false, ServerState::Offline, &[]),
    ];
    s.monitors = vec![
        monitor("userw", MonitorState::Normal),
        monitor("genw1", MonitorState::Error),
    ];
    let out = monitor_view(&s);
    let expected = concat!(
        " =====================  MONITOR RESOURCE STATUS  =====================\n",
        "  Cluster : c\n",
        "   *server0 : n1\n",
        "    server1 : n2\n",
        "\n",
        "  Monitor0 [userw : Normal]\n",
        "  --------------------------------------------------------------------\n",
        "    server0 [o] : Normal\n",
        "    server1 [-] : Unknown\n",
        "\n",
        "  Monitor1 [genw1 : Error]\n",
        "  --------------------------------------------------------------------\n",
        "    server0 [o] : Error\n",
        "    server1 [-] : Unknown\n",
        " =====================================================================\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn banners_are_70_columns() {
    for title in [
        "CLUSTER STATUS",
        "GROUPMAP INFORMATION",
        "MONITOR RESOURCE STATUS",
        "HEARTBEAT RESOURCE STATUS",
        "CLUSTER INFORMATION",
    ] {
        assert_eq!(banner(title).len(), 69, "{title}");
    }
    assert_eq!(
        banner("CLUSTER INFORMATION"),
        "=======================  CLUSTER INFORMATION  ======================="
    );
}

#[test]
fn heartbeat_view_matrix() {
    let mut s = snapshot("c");
    s.servers = vec![
        server(
            "n1",
            true,
            ServerState::Online,
            &[
                ("lankhb1", "lankhb", HeartbeatState::Normal),
                ("lankhb2", "lankhb", HeartbeatState::Error),
            ],
        ),
        server(
            "n2",
            false,
            ServerState::Offline,
            &[("lankhb1", "lankhb", HeartbeatState::Unknown)],
        ),
    ];
    let expected = concat!(
        " ====================  HEARTBEAT RESOURCE STATUS  ====================\n",
        "  Cluster : c\n",
        "   *server0 : n1\n",
        "    server1 : n2\n",
        "    HB0 : lankhb1\n",
        "    HB1 : lankhb2\n",
        "\n",
        "  [on server0 : Online]\n",
        "           HB   0   1\n",
        "  --------------------------------------------------------------------\n",
        "    server0 :   o   x\n",
        "    server1 :   -   -\n",
        " =====================================================================\n",
    );
    assert_eq!(heartbeat_view(&s), expected);
}

#[test]
fn json_round_trips() {
    let mut s = snapshot("c");
    s.servers = vec![server("n1", true, ServerState::OnlinePending, &[])];
    s.groups = vec![group(
        "g",
        RunState::OfflineFailure,
        None,
        &[("r", RunState::Online)],
    )];
    let text = json(&s).unwrap();
    assert!(text.contains("\"Online Pending\""));
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

fn sss() -> (Cluster, Document) {
    let bytes = include_bytes!("../../../../tests/fixtures/sss-template/clp.conf");
    let mut report = crate::config::Report::new("clp.conf");
    let file = crate::config::ConfigFile::parse(bytes, &mut report).unwrap();
    let opts = crate::config::validate::Options {
        local_server: Some("node1"),
        scripts_dir: None,
    };
    let cluster = crate::config::validate::validate(&file.doc, &opts, &mut report)
        .unwrap_or_else(|| panic!("{report}"));
    (cluster, file.doc)
}

#[test]
fn config_view_matches_the_verified_fragments() {
    let (cluster, doc) = sss();
    let out = config_view(&cluster, Some(&doc), Section::Monitor, Some("userw"), false).unwrap();
    assert_eq!(
        out,
        concat!(
            "=======================  CLUSTER INFORMATION  =======================\n",
            "[Monitor0 : userw]\n",
            "    Type                                                     : userw\n",
            "    Comment                                                  :\n",
            "    Method                                                   : softdog\n",
            "    Use HB interval and timeout                              : On\n",
            "=====================================================================\n",
        )
    );
    let out = config_view(&cluster, Some(&doc), Section::Heartbeat, None, false).unwrap();
    assert_eq!(
        out,
        concat!(
            "=======================  CLUSTER INFORMATION  =======================\n",
            "[HB0 : lanhb1]\n",
            "  Type                                                   : lanhb\n",
            "  Comment                                                :\n",
            "=====================================================================\n",
        )
    );
    let out = config_view(&cluster, Some(&doc), Section::Cluster, None, true).unwrap();
    assert!(
        out.contains("\n    Shutdown Monitoring Method                               : softdog\n")
    );
}

#[test]
fn config_view_rejects_unknown_names_with_the_list() {
    let (cluster, doc) = sss();
    let e = config_view(&cluster, Some(&doc), Section::Group, Some("web"), false).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "Invalid group name: web. Groups are: failover-sss"
    );
    let e = config_view(&cluster, None, Section::Monitor, Some("x"), true).unwrap_err();
    assert_eq!(
        e.message,
        "Invalid monitor resource name: x. Monitor resources are: userw, genw-app, pidw-app, psw-app, mtw-app"
    );
}

#[test]
fn config_view_all_lists_every_section_in_order() {
    let (cluster, doc) = sss();
    let out = config_view(&cluster, Some(&doc), Section::All, None, true).unwrap();
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        headers,
        [
            "[Cluster : sss]",
            "[Server0 : node1]",
            "[HB0 : lanhb1]",
            "[Group0 : failover-sss]",
            "[Resource0 : exec-db]",
            "[Resource1 : exec-app]",
            "[Monitor0 : userw]",
            "[Monitor1 : genw-app]",
            "[Monitor2 : pidw-app]",
            "[Monitor3 : psw-app]",
            "[Monitor4 : mtw-app]",
        ]
    );
    for line in out.lines().filter(|l| l.starts_with("    ")) {
        assert_eq!(line.find(':'), Some(61), "{line:?}");
    }
}

/// One monitor of every kind with values off their defaults, rendered by
/// `clpstat --mon --detail` and without `--detail`: pins each kind's detail
/// rows byte for byte.
#[test]
fn every_monitor_kind_renders_its_rows() {
    let monitors = crate::monitor::kinds::tests::SAMPLES
        .iter()
        .map(|(_, xml)| *xml)
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@async"/><resource name="fip@vip"/></group>
  <resource><types name="exec"/><types name="fip"/>
    <exec name="async"><parameters><act><path>/bin/true</path><sync>0</sync></act><deact><path>/bin/true</path></deact></parameters></exec>
    <fip name="vip"><parameters><ip>192.0.2.9</ip></parameters></fip>
  </resource>
  <monitor>{monitors}</monitor>
</root>"#
    );
    let mut report = crate::config::Report::new("clp.conf");
    let conf = crate::config::ConfigFile::parse(text.as_bytes(), &mut report).expect("parse");
    let opts = crate::config::validate::Options {
        local_server: Some("node1"),
        scripts_dir: None,
    };
    let cluster = crate::config::validate::validate(&conf.doc, &opts, &mut report)
        .unwrap_or_else(|| panic!("invalid:\n{report}"));
    let brief = config_view(&cluster, Some(&conf.doc), Section::Monitor, None, false).unwrap();
    let detail = config_view(&cluster, Some(&conf.doc), Section::Monitor, None, true).unwrap();
    // With --detail, the kind's rows come after the common ones (the last is
    // "Script Timeout"): keep the headers and those rows.
    let mut kind_rows = String::new();
    let mut after_common = false;
    for line in detail.lines() {
        if line.starts_with('[') {
            after_common = false;
            kind_rows.push_str(line);
            kind_rows.push('\n');
        } else if after_common {
            kind_rows.push_str(line);
            kind_rows.push('\n');
        } else if line.starts_with("    Script Timeout ") {
            after_common = true;
        }
    }
    assert_eq!(
        brief,
        r#"=======================  CLUSTER INFORMATION  =======================
[Monitor0 : userw1]
    Type                                                     : userw
    Comment                                                  :
    Method                                                   : softdog
    Use HB interval and timeout                              : Off
[Monitor1 : diskw1]
    Type                                                     : diskw
    Comment                                                  :
    Method                                                   : WRITE(FILE)
    Monitor Target                                           : /dev/sda
[Monitor2 : ipw1]
    Type                                                     : ipw
    Comment                                                  :
    IP Addresses                                             : 192.0.2.1, 2001:db8::1
[Monitor3 : miiw1]
    Type                                                     : miiw
    Comment                                                  :
    Monitor Target                                           : eth0
[Monitor4 : pidw1]
    Type                                                     : pidw
    Comment                                                  :
[Monitor5 : psw1]
    Type                                                     : psw
    Comment                                                  :
    Process Name                                             : sshd -D
[Monitor6 : httpw1]
    Type                                                     : httpw
    Comment                                                  :
    Connecting Destination                                   : example.test
    Port                                                     : 8080
    Request URI                                              : /health
    Protocol                                                 : HTTPS
[Monitor7 : genw1]
    Type                                                     : genw
    Comment                                                  :
    Script                                                   : /bin/true
    Monitor Type                                             : Asynchronous
[Monitor8 : mtw1]
    Type                                                     : mtw
    Comment                                                  :
    Monitor Resources                                        : ipw1, psw1
[Monitor9 : fipw1]
    Type                                                     : fipw
    Comment                                                  :
[Monitor10 : psqlw1]
    Type                                                     : psqlw
    Comment                                                  :
    Monitor Level                                            : Level 3 (create/drop table each time)
    Database Name                                            : app
    IP Address                                               : 192.0.2.5
    Port                                                     : 5433
[Monitor11 : mysqlw1]
    Type                                                     : mysqlw
    Comment                                                  :
    Monitor Level                                            : Level 1 (monitoring with select)
    Database Name                                            : testdb
    IP Address                                               : 127.0.0.1
    Port                                                     : 3307
[Monitor12 : sraw1]
    Type                                                     : sraw
    Comment                                                  :
    CPU Usage                                                : Off
    Memory Usage                                             : 85 % for 600 s
    Disk Usage                                               : /var: error 95 %, warning 85 %, for 300 s
[Monitor13 : psrw1]
    Type                                                     : psrw
    Comment                                                  :
    Process Name                                             : mysqld*
    Memory Leak                                              : 20 % growth for 600 s (from 512 MiB)
=====================================================================
"#
    );
    assert_eq!(
        kind_rows,
        r#"[Monitor0 : userw1]
    Method                                                   : softdog
    Use HB interval and timeout                              : Off
    Action at Timeout Occurrence                             : PANIC
    Open/Close Temporary File                                : On
    With Writing                                             : On
    Size                                                     : 4096
    Create Temporary Thread                                  : On
[Monitor1 : diskw1]
    Method                                                   : WRITE(FILE)
    Monitor Target                                           : /dev/sda
    I/O Size                                                 : 4096
[Monitor2 : ipw1]
    IP Addresses                                             : 192.0.2.1, 2001:db8::1
[Monitor3 : miiw1]
    Monitor Target                                           : eth0
[Monitor4 : pidw1]
[Monitor5 : psw1]
    Process Name                                             : sshd -D
    Minimum Process Count                                    : 2
[Monitor6 : httpw1]
    Connecting Destination                                   : example.test
    Port                                                     : 8080
    Request URI                                              : /health
    Protocol                                                 : HTTPS
    Request Type                                             : GET
    User Name                                                : admin
[Monitor7 : genw1]
    Script                                                   : /bin/true
    Monitor Type                                             : Asynchronous
    Normal Return Value                                      : 0,2-5
    Script Start Wait Time                                   : 3
    Wait for Script to Stop                                  : On
    Log Output Path                                          : /var/log/clp/genw.log
    Rotate Log                                               : On
    Rotation Size                                            : 2000
[Monitor8 : mtw1]
    Monitor Resources                                        : ipw1, psw1
    Error Threshold                                          : 2
    Warning Threshold                                        : 1
[Monitor9 : fipw1]
    Monitor NIC Link Up/Down                                 : On
[Monitor10 : psqlw1]
    Monitor Level                                            : Level 3 (create/drop table each time)
    Database Name                                            : app
    IP Address                                               : 192.0.2.5
    Port                                                     : 5433
    User Name                                                : watch
    Monitor Table Name                                       : appwatch
[Monitor11 : mysqlw1]
    Monitor Level                                            : Level 1 (monitoring with select)
    Database Name                                            : testdb
    IP Address                                               : 127.0.0.1
    Port                                                     : 3307
    User Name                                                : root
    Monitor Table Name                                       : mysqlwatch
    Storage Engine                                           : InnoDB
[Monitor12 : sraw1]
    CPU Usage                                                : Off
    Memory Usage                                             : 85 % for 600 s
    Swap Usage                                               : 90 % for 3600 s
    Open Files                                               : 90 % for 3600 s (or 50000 files)
    Disk Usage                                               : /var: error 95 %, warning 85 %, for 300 s
[Monitor13 : psrw1]
    Process Name                                             : mysqld*
    Memory Leak                                              : 20 % growth for 600 s (from 512 MiB)
    Open Files                                               : 90 % of its limit for 86400 s
    Threads                                                  : 500 for 86400 s
    Zombie Processes                                         : Off
=====================================================================
"#
    );
}
