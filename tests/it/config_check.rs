//! `clpcfctrl --check`: every valid fixture passes, every broken one is refused
//! with the file, line, element path and message of its problem; and the model
//! the library builds from the valid fixtures holds their values.

use std::time::Duration;

use clp::model::{
    MonitorFinalAction, MonitorKind, RecoveryTarget, ResourceFinalAction, ResourceKind, ScriptPath,
    Timing,
};

use crate::util::{CLPCFCTRL, Sandbox, VALID, copy_dir, fixture, invalid, invalid_names, path_str};

/// An invalid fixture with exactly one error: where it is and what it says.
struct Broken {
    name: &'static str,
    line: u32,
    /// The element path; empty for problems of the file as a whole.
    path: &'static str,
    message: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "bad-encoding",
        line: 10,
        path: "",
        message: "bytes that are not valid EUC-JP (the declared encoding)",
    },
    Broken {
        name: "depend-unknown",
        line: 36,
        path: "/root/resource/exec@exec1/depend@exec9",
        message: "depends on resource exec9, which does not exist",
    },
    Broken {
        name: "duplicate-resource",
        line: 37,
        path: "/root/resource/exec@exec1",
        message: "duplicate resource name \"exec1\" (first defined on line 26)",
    },
    Broken {
        name: "group-unknown-resource",
        line: 23,
        path: "/root/group@failover1/resource@exec@exec9",
        message: "resource exec9 does not exist",
    },
    Broken {
        name: "malformed-xml",
        line: 11,
        path: "",
        message: "malformed XML: ",
    },
    Broken {
        name: "missing-script",
        line: 30,
        path: "/root/resource/exec@exec1/parameters/act/path",
        message: "bundled script scripts/failover1/exec1/start.sh is missing",
    },
    Broken {
        name: "monitor-target-unknown",
        line: 42,
        path: "/root/monitor/psw@psw1/target",
        message: "target resource exec9 does not exist",
    },
    Broken {
        name: "non-numeric",
        line: 49,
        path: "/root/monitor/psw@psw1/parameters/processnum",
        message: "must be a whole number 1..999, got \"two\"",
    },
    Broken {
        name: "out-of-range",
        line: 44,
        path: "/root/monitor/psw@psw1/polling/interval",
        message: "must be 1..999999, got 0",
    },
    Broken {
        name: "relation-unknown-group",
        line: 45,
        path: "/root/monitor/psw@psw1/relation/name",
        message: "recovery target group failover9 does not exist",
    },
];

/// Fixtures under invalid/ with tests of their own below.
const SPECIAL: &[&str] = &["depend-cycle", "many-errors", "unknown-element"];

/// `clp.conf:<line>: <path>: <message>` as the report prints it.
fn located(line: u32, path: &str, message: &str) -> String {
    if path.is_empty() {
        format!("clp.conf:{line}: {message}")
    } else {
        format!("clp.conf:{line}: {path}: {message}")
    }
}

fn check(
    sandbox: &Sandbox,
    host: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> crate::util::Output {
    let mut args = vec!["--check", "-x", path_str(dir)];
    args.extend_from_slice(extra);
    sandbox.run_as(host, CLPCFCTRL, &args)
}

#[test]
fn every_valid_fixture_passes_with_exactly_its_warnings() {
    let sandbox = Sandbox::new();
    for f in VALID {
        let out = check(&sandbox, f.host, &fixture(f.name), &[]);
        out.success();
        let lines: Vec<&str> = out.stdout.lines().collect();
        let summary = lines.last().copied().unwrap_or_default();
        assert!(
            summary.contains("clp.conf: valid: "),
            "{}: summary {summary:?}",
            f.name
        );
        assert!(
            summary.ends_with(&format!("; {} warning(s)", f.warnings.len())),
            "{}: summary {summary:?}",
            f.name
        );
        for (line, path, message) in f.warnings {
            let expected = format!("clp.conf:{line}: warning: {path}: {message}");
            assert!(
                out.stdout.contains(&expected),
                "{}: missing {expected:?} in\n{}",
                f.name,
                out.stdout
            );
        }
        assert_eq!(
            lines.len(),
            f.warnings.len() + 1,
            "{}: one line per warning plus the summary:\n{}",
            f.name,
            out.stdout
        );
    }
}

#[test]
fn unsupported_objects_are_counted_in_the_summary() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "server1", &fixture("two-node"), &[]);
    out.success();
    assert!(
        out.stdout.contains(
            "valid: cluster cluster2, 2 server(s), 1 group(s), 2 resource(s), 2 monitor(s), 2 object(s) not supported; 3 warning(s)"
        ),
        "{}",
        out.stdout
    );
    let out = check(&sandbox, "node1", &fixture("two-groups-db"), &[]);
    out.success();
    assert!(
        out.stdout.contains(
            "valid: cluster dbcluster, 1 server(s), 2 group(s), 3 resource(s), 2 monitor(s), 1 object(s) not supported; 1 warning(s)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn strict_refuses_warnings_only() {
    let sandbox = Sandbox::new();
    // No warnings: --strict changes nothing.
    check(&sandbox, "node1", &fixture("failsafe-base"), &["--strict"]).success();
    // An unsupported monitor is a warning, refused under --strict.
    let out = check(&sandbox, "node1", &fixture("two-groups-db"), &["--strict"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("invalid: 0 error(s), 1 warning(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_host_that_is_not_a_server_is_a_warning() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &fixture("two-node"), &[]);
    out.success();
    assert!(
        out.stdout.contains(
            "clp.conf: warning: /root/server: this host (node1) is not a <server> of this configuration; values are shown for server server1"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn every_invalid_fixture_is_covered_by_a_test() {
    for name in invalid_names() {
        assert!(
            BROKEN.iter().any(|b| b.name == name) || SPECIAL.contains(&name.as_str()),
            "tests/fixtures/invalid/{name} has no expectation in config_check.rs"
        );
    }
}

#[test]
fn each_invalid_fixture_names_its_line_and_element() {
    let sandbox = Sandbox::new();
    for b in BROKEN {
        let out = check(&sandbox, "node1", &invalid(b.name), &[]);
        out.expect_code(3);
        let expected = located(b.line, b.path, b.message);
        assert!(
            out.stdout.contains(&expected),
            "{}: expected {expected:?} in\n{}",
            b.name,
            out.stdout
        );
        assert!(
            out.stdout
                .lines()
                .last()
                .unwrap_or_default()
                .ends_with("clp.conf: invalid: 1 error(s), 0 warning(s)"),
            "{}: exactly one error expected:\n{}",
            b.name,
            out.stdout
        );
    }
}

#[test]
fn malformed_xml_says_what_is_unclosed() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &invalid("malformed-xml"), &[]);
    out.expect_code(3);
    assert!(out.stdout.contains("</comment>"), "{}", out.stdout);
}

#[test]
fn a_dependency_cycle_is_refused() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &invalid("depend-cycle"), &[]);
    out.expect_code(3);
    assert!(
        out.stdout.contains(
            "/root/resource/exec@exec-a: dependency cycle: exec-a -> exec-b -> exec-a; remove one <depend>"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("invalid: 1 error(s), 0 warning(s)"),
        "the cycle is reported once:\n{}",
        out.stdout
    );
}

#[test]

fn a_dependency_cycle_names_a_line() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &invalid("depend-cycle"), &[]);
    out.expect_code(3);
    // Line 27 is <exec name="exec-a">, line 37 its <depend name="exec-b"/>.
    assert!(
        out.stdout
            .contains("clp.conf:27: /root/resource/exec@exec-a: dependency cycle")
            || out.stdout.contains(
                "clp.conf:37: /root/resource/exec@exec-a/depend@exec-b: dependency cycle"
            ),
        "{}",
        out.stdout
    );
}

#[test]
fn every_problem_is_reported_top_to_bottom() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &invalid("many-errors"), &[]);
    out.expect_code(3);
    let expected = [
        located(
            23,
            "/root/group@failover1/resource@exec@exec9",
            "resource exec9 does not exist",
        ),
        located(
            43,
            "/root/monitor/psw@psw1/target",
            "target resource exec8 does not exist",
        ),
        located(
            45,
            "/root/monitor/psw@psw1/polling/interval",
            "must be 1..999999, got 0",
        ),
        located(
            53,
            "/root/monitor/psw@psw1/parameters/processnum",
            "must be a whole number 1..999, got \"two\"",
        ),
    ];
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), expected.len() + 1, "{}", out.stdout);
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.contains(want.as_str()),
            "{line:?} should contain {want:?}"
        );
    }
    assert!(
        lines[4].ends_with("invalid: 4 error(s), 0 warning(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn unknown_elements_are_warnings_refused_under_strict() {
    let sandbox = Sandbox::new();
    let dir = invalid("unknown-element");
    let out = check(&sandbox, "node1", &dir, &[]);
    out.success();
    for expected in [
        "clp.conf:11: warning: /root/cluster/frobnicate: unknown element <frobnicate>; kept as is",
        "clp.conf:36: warning: /root/resource/exec@exec1/parameters/colour: unknown element <colour>; kept as is",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected:?} in\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("valid: cluster broken"),
        "{}",
        out.stdout
    );
    let out = check(&sandbox, "node1", &dir, &["--strict"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("invalid: 0 error(s), 2 warning(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn json_report_has_loadable_and_diagnostics() {
    let sandbox = Sandbox::new();
    let mut dirs: Vec<(std::path::PathBuf, &str)> =
        VALID.iter().map(|f| (fixture(f.name), f.host)).collect();
    dirs.extend(invalid_names().iter().map(|n| (invalid(n), "node1")));
    for (dir, host) in dirs {
        let out = check(&sandbox, host, &dir, &["--json"]);
        let json: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}):\n{}", dir.display(), out.stdout));
        let loadable = json["loadable"]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: no boolean \"loadable\": {json}", dir.display()));
        assert_eq!(loadable, out.code == 0, "{}: {json}", dir.display());
        assert!(
            out.code == 0 || out.code == 3,
            "{}: exit {}",
            dir.display(),
            out.code
        );
        let diagnostics = json["diagnostics"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no \"diagnostics\" array: {json}", dir.display()));
        for d in diagnostics {
            assert!(
                matches!(d["severity"].as_str(), Some("error" | "warning")),
                "{d}"
            );
            assert!(d["line"].is_u64(), "{d}");
            assert!(d["path"].is_string() && d["message"].is_string(), "{d}");
        }
        if !loadable {
            assert!(
                diagnostics.iter().any(|d| d["severity"] == "error")
                    || dir.ends_with("unknown-element"),
                "{}: refused without an error: {json}",
                dir.display()
            );
        }
    }
}

#[test]
fn json_diagnostics_carry_line_path_and_message() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &fixture("two-groups-db"), &["--json"]);
    out.success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["loadable"], true);
    assert_eq!(
        json["diagnostics"],
        serde_json::json!([{
            "severity": "warning",
            "line": 95,
            "path": "/root/monitor/oraclew@oraclew",
            "message": "monitor oraclew (type oraclew) is not supported by this version and will not run",
        }])
    );

    let out = check(&sandbox, "node1", &invalid("out-of-range"), &["--json"]);
    out.expect_code(3);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["loadable"], false);
    assert_eq!(
        json["diagnostics"],
        serde_json::json!([{
            "severity": "error",
            "line": 44,
            "path": "/root/monitor/psw@psw1/polling/interval",
            "message": "must be 1..999999, got 0",
        }])
    );

    // Warnings refused under --strict: not loadable, exit 3.
    let out = check(
        &sandbox,
        "node1",
        &fixture("two-groups-db"),
        &["--json", "--strict"],
    );
    out.expect_code(3);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["loadable"], false);
}

#[test]
fn a_missing_directory_is_an_unknown_object() {
    let sandbox = Sandbox::new();
    let out = check(&sandbox, "node1", &sandbox.work().join("nothing"), &[]);
    out.expect_code(4);
    assert!(out.stderr.contains("clp.conf"), "{}", out.stderr);
}

/// The two-node fixture, copied to `work/` and edited by `(find, replace)` pairs.
fn edited_two_node(sandbox: &Sandbox, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = sandbox.work().join("two-node");
    copy_dir(&fixture("two-node"), &dir);
    let conf = dir.join("clp.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    for (find, replace) in edits {
        assert!(text.contains(find), "{find:?} is not in two-node/clp.conf");
        text = text.replacen(find, replace, 1);
    }
    std::fs::write(&conf, text).unwrap();
    dir
}

#[test]
fn an_empty_depend_name_means_no_dependency() {
    let sandbox = Sandbox::new();
    // What CLUSTERPRO's tools write for "depends on nothing", in a resource clp
    // runs (exec1) and in one it does not (md1).
    let dir = edited_two_node(
        &sandbox,
        &[
            (
                "      <depend name=\"md1\"/>\n",
                "      <depend name=\"md1\"/>\n      <depend name=\"\"/>\n",
            ),
            (
                "      </parameters>\n    </md>\n",
                "      </parameters>\n      <depend name=\"\"/>\n    </md>\n",
            ),
        ],
    );
    let out = check(&sandbox, "server1", &dir, &["--strict"]);
    // --strict: the three unsupported objects of the fixture are still refused,
    // but the empty dependencies add nothing, neither error nor warning.
    out.expect_code(3);
    assert!(
        out.stdout.contains("invalid: 0 error(s), 3 warning(s)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("depend@"), "{}", out.stdout);
    check(&sandbox, "server1", &dir, &[]).success();
    let checked = clp::config::check_file(
        &dir.join("clp.conf"),
        Some(&dir.join("scripts")),
        Some("server1"),
        "clp.conf",
    )
    .unwrap();
    let exec1 = checked.cluster.unwrap();
    let exec1 = exec1.resources.iter().find(|r| r.name == "exec1").unwrap();
    assert_eq!(exec1.depends, ["fip1", "md1"]);
}

#[test]
fn problems_inside_objects_clp_does_not_run_are_warnings() {
    let sandbox = Sandbox::new();
    // As in real files written by a generator: an md (kept and shown, not
    // run) depending on a resource that does not exist.
    let dir = edited_two_node(
        &sandbox,
        &[(
            "      </parameters>\n    </md>\n",
            "      </parameters>\n      <depend name=\"vip9\"/>\n    </md>\n",
        )],
    );
    let out = check(&sandbox, "server1", &dir, &[]);
    out.success();
    let expected = [
        "warning: /root/resource/md@md1/depend@vip9: depends on resource vip9, which does not exist \
         (a warning only: clp does not run md resources yet; --strict refuses it)",
        "valid: cluster cluster2, 2 server(s), 1 group(s), 2 resource(s), 2 monitor(s), 2 object(s) not supported; 4 warning(s)",
    ];
    for line in expected {
        assert!(out.stdout.contains(line), "{line:?} not in\n{}", out.stdout);
    }
    // --strict refuses every warning, these included.
    let out = check(&sandbox, "server1", &dir, &["--strict"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("invalid: 0 error(s), 4 warning(s)"),
        "{}",
        out.stdout
    );
    // The same reference in an object clp runs stays an error.
    let dir = edited_two_node(
        &sandbox,
        &[(
            "      <depend name=\"md1\"/>\n",
            "      <depend name=\"md1\"/>\n      <depend name=\"vip9\"/>\n",
        )],
    );
    let out = check(&sandbox, "server1", &dir, &[]);
    out.expect_code(3);
    assert!(
        out.stdout.contains(
            "/root/resource/exec@exec1/depend@vip9: depends on resource vip9, which does not exist\n"
        ),
        "{}",
        out.stdout
    );
}

// ---- the model the library builds ---------------------------------------------

fn model(name: &str, host: &str) -> clp::model::Cluster {
    let dir = fixture(name);
    let checked = clp::config::check_file(
        &dir.join("clp.conf"),
        Some(&dir.join("scripts")),
        Some(host),
        "clp.conf",
    )
    .unwrap();
    assert!(!checked.report.has_errors(), "{name}: {}", checked.report);
    checked.cluster.unwrap()
}

fn interface(cluster: &clp::model::Cluster, monitor: &str) -> String {
    match &cluster.monitor(monitor).unwrap().kind {
        MonitorKind::Miiw(spec) => spec.interface.clone(),
        other => panic!("{monitor} is {other:?}"),
    }
}

#[test]
fn per_server_override_applies_to_its_server_only() {
    let on2 = model("two-node", "server2");
    assert_eq!(on2.local_server, "server2");
    assert_eq!(interface(&on2, "miiw1"), "eth1");
    let on1 = model("two-node", "server1");
    assert_eq!(on1.local_server, "server1");
    assert_eq!(interface(&on1, "miiw1"), "eth0");
    // A host that is not a server gets the master's values.
    let elsewhere = model("two-node", "node1");
    assert_eq!(elsewhere.local_server, "server1");
    assert_eq!(interface(&elsewhere, "miiw1"), "eth0");
}

#[test]
fn two_node_model() {
    let c = model("two-node", "server1");
    let names: Vec<&str> = c.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["server1", "server2"]);
    let s2 = c.server("server2").unwrap();
    assert_eq!(s2.priority, 1);
    let mdc = s2.devices.iter().find(|d| d.id == "400").unwrap();
    assert_eq!(
        (mdc.kind.as_str(), mdc.info.as_str()),
        ("mdc", "192.168.20.2")
    );
    assert_eq!(c.heartbeats.len(), 1);
    assert_eq!(c.heartbeats[0].kind, "lankhb");
    let g = c.group("failover1").unwrap();
    assert_eq!(g.policy, ["server1", "server2"]);
    assert_eq!(g.resources, ["fip1", "md1", "exec1"]);
    let exec1 = c.resource("exec1").unwrap();
    assert_eq!(exec1.depends, ["fip1", "md1"]);
    // act/fo defaults to the number of servers.
    assert_eq!(exec1.activation.failover, 2);
    let mut unsupported: Vec<(String, String)> = c
        .unsupported
        .iter()
        .map(|u| (u.category.clone(), u.name.clone()))
        .collect();
    unsupported.sort();
    assert_eq!(
        unsupported,
        [
            ("monitor".to_string(), "mdw1".to_string()),
            ("resource".into(), "md1".into()),
        ]
    );
    let miiw = c.monitor("miiw1").unwrap();
    assert_eq!(
        miiw.recovery_target,
        RecoveryTarget::Group("failover1".into())
    );
    // miiw's own defaults (reference 4.3).
    assert_eq!(miiw.interval, Duration::from_secs(10));
    assert_eq!(miiw.retry, 3);
}

#[test]
fn failsafe_base_model() {
    let c = model("failsafe-base", "node1");
    assert_eq!(c.name, "failsafe");
    assert_eq!(c.comment, "単一サーバの基本構成（監視と再起動）");
    let g = c.group("failover1").unwrap();
    assert_eq!(g.comment, "業務グループ");
    assert_eq!(g.resources, ["exec"]);
    let exec = c.resource("exec").unwrap();
    let ResourceKind::Exec(spec) = &exec.kind else {
        panic!("an exec resource")
    };
    assert_eq!(spec.start, ScriptPath::Bundled("start.sh".into()));
    assert_eq!(spec.stop, ScriptPath::Bundled("stop.sh".into()));
    assert!(spec.start_sync && spec.stop_sync);
    // Defaults: 1800 s scripts, 180 s more for the resource.
    assert_eq!(spec.start_timeout, Duration::from_secs(1800));
    assert_eq!(exec.activation.timeout, Duration::from_secs(1980));
    assert_eq!(exec.activation.final_action, ResourceFinalAction::NoOpStop);
    assert_eq!(
        exec.deactivation.final_action,
        ResourceFinalAction::StopClusterAndShutdown
    );
    let userw = c.monitor("userw").unwrap();
    assert_eq!(userw.recovery_target, RecoveryTarget::LocalServer);
    assert_eq!(userw.timing, Timing::Always);
    assert_eq!(userw.interval, Duration::from_secs(3));
    assert!(c.unsupported.is_empty());
}

#[test]
fn two_groups_db_model() {
    let c = model("two-groups-db", "node1");
    assert_eq!(c.comment, "データベースとウェブ業務");
    assert!(c.group("db-group").unwrap().auto_start);
    let web = c.group("web-group").unwrap();
    assert!(!web.auto_start);
    assert_eq!(web.resources, ["exec-app", "exec-web"]);
    assert_eq!(c.resource("exec-web").unwrap().depends, ["exec-app"]);
    assert_eq!(c.resource("exec-web").unwrap().group, "web-group");
    let db = c.resource("exec-db").unwrap();
    assert_eq!(db.activation.timeout, Duration::from_secs(780));
    assert_eq!(db.deactivation.timeout, Duration::from_secs(480));
    assert_eq!(c.unsupported.len(), 1);
    assert_eq!(c.unsupported[0].kind, "oraclew");
    assert!(
        c.monitor("oraclew").is_none(),
        "an unsupported monitor is not run"
    );
    let httpw = c.monitor("httpw-web").unwrap();
    assert_eq!(httpw.timing, Timing::Active);
    assert_eq!(httpw.target.as_deref(), Some("exec-web"));
    assert_eq!(
        httpw.recovery_target,
        RecoveryTarget::Group("web-group".into())
    );
    assert_eq!((httpw.restart_threshold, httpw.failover_threshold), (2, 0));
    assert_eq!(httpw.final_action, MonitorFinalAction::StopGroup);
    match &httpw.kind {
        MonitorKind::Httpw(h) => {
            assert_eq!(h.server, "localhost");
            assert_eq!(h.port, 8080);
            assert_eq!(h.uri, "/health");
            assert!(h.get && !h.https);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sss_template_model() {
    let c = model("sss-template", "node1");
    let db = c.resource("exec-db").unwrap();
    let ResourceKind::Exec(db_spec) = &db.kind else {
        panic!("an exec resource")
    };
    assert_eq!(db_spec.start_timeout, Duration::from_secs(300));
    assert_eq!(db_spec.stop_timeout, Duration::from_secs(120));
    assert_eq!(db_spec.userlog.as_deref(), Some("/var/log/clp/exec-db.log"));
    assert_eq!(db_spec.logrotate_size, Some(500_000));
    assert_eq!(db.activation.timeout, Duration::from_secs(480));
    assert_eq!(db.activation.retry, 1);
    assert_eq!(db.activation.failover, 1);
    assert_eq!(db.activation.final_action, ResourceFinalAction::StopGroup);
    assert_eq!(db.deactivation.timeout, Duration::from_secs(300));
    assert_eq!(db.deactivation.retry, 1);
    assert_eq!(
        db.deactivation.final_action,
        ResourceFinalAction::StopClusterAndReboot
    );

    let app = c.resource("exec-app").unwrap();
    let ResourceKind::Exec(app_spec) = &app.kind else {
        panic!("an exec resource")
    };
    assert!(
        !app_spec.start_sync,
        "parameters/act/sync 0 is asynchronous"
    );
    assert!(app_spec.stop_sync);
    assert_eq!(app.depends, ["exec-db"]);
    assert_eq!(app.activation.timeout, Duration::from_secs(240));
    assert_eq!(app.activation.failover, 0);
    assert_eq!(
        app.activation.final_action,
        ResourceFinalAction::StopCluster
    );
    assert_eq!(
        app.deactivation.final_action,
        ResourceFinalAction::StopClusterAndShutdown
    );

    let genw = c.monitor("genw-app").unwrap();
    assert_eq!(genw.timing, Timing::Active);
    assert_eq!(genw.target.as_deref(), Some("exec-app"));
    assert_eq!(genw.interval, Duration::from_secs(30));
    assert_eq!(genw.timeout, Duration::from_secs(60));
    assert_eq!(genw.retry, 2);
    assert_eq!(genw.first_wait, Duration::from_secs(10));
    assert_eq!(
        genw.recovery_target,
        RecoveryTarget::Resource("exec-app".into())
    );
    assert_eq!(
        (
            genw.script_threshold,
            genw.restart_threshold,
            genw.failover_threshold
        ),
        (1, 3, 0)
    );
    assert_eq!(genw.final_action, MonitorFinalAction::StopClusterAndReboot);
    assert!(genw.preaction.before_restart);
    assert!(!genw.preaction.before_failover);
    assert!(genw.preaction.before_final_action);
    assert_eq!(
        genw.preaction.script,
        ScriptPath::Bundled("preaction.sh".into())
    );
    assert_eq!(genw.preaction.timeout, Duration::from_secs(10));
    match &genw.kind {
        MonitorKind::Genw(g) => {
            assert_eq!(g.script, ScriptPath::Bundled("genw.sh".into()));
            assert!(g.sync);
            for code in [0, 2, 3] {
                assert!(g.normal_values.contains(code), "{code} is normal");
            }
            assert!(!g.normal_values.contains(1));
            assert_eq!(g.userlog.as_deref(), Some("/var/log/clp/genw-app.log"));
        }
        other => panic!("{other:?}"),
    }

    let pidw = c.monitor("pidw-app").unwrap();
    assert_eq!(pidw.kind, MonitorKind::Pidw);
    assert_eq!(pidw.timing, Timing::Active, "pidw defaults to Active");
    assert_eq!(pidw.interval, Duration::from_secs(5));
    assert_eq!((pidw.restart_threshold, pidw.failover_threshold), (2, 1));
    assert_eq!(pidw.final_action, MonitorFinalAction::StopGroup);

    let psw = c.monitor("psw-app").unwrap();
    match &psw.kind {
        MonitorKind::Psw(p) => {
            assert_eq!(p.process_name, "/usr/sbin/app-worker");
            assert_eq!(p.min_count, 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        psw.recovery_target,
        RecoveryTarget::Group("failover-sss".into())
    );
    assert_eq!(psw.final_action, MonitorFinalAction::StopCluster);

    let mtw = c.monitor("mtw-app").unwrap();
    match &mtw.kind {
        MonitorKind::Mtw(m) => {
            assert_eq!(m.members, ["pidw-app", "psw-app"]);
            assert_eq!(m.error_threshold, 2);
            assert_eq!(m.warning_threshold, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((mtw.restart_threshold, mtw.failover_threshold), (0, 0));

    match &c.monitor("userw").unwrap().kind {
        MonitorKind::Userw(u) => assert_eq!(u.method, "softdog"),
        other => panic!("{other:?}"),
    }
}
