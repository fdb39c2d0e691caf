//! `clpcfset`: the driver sequences of real generator scripts build a
//! configuration that checks, with CLUSTERPRO's element order and object number.

use std::fs;
use std::path::Path;

use clp::config::{ConfigFile, Report, path};

use crate::util::{
    CLPCFCTRL, CLPCFGET, CLPCFSET, Output, Sandbox, copy_dir, fixture, path_str, write_script,
};

/// The MIRACLE FailSafe base driver (prototype dialect).
const FAILSAFE_DRIVER: &[&str] = &[
    "create cluster EUC-JP EUC-JP linux",
    "add srv server1 0",
    "add device server1 lan 0 127.0.0.1",
    "add hb lanhb 0 0",
    "add grp failover failover1",
    "add rsc failover1 exec exec1",
    "add rscparam exec exec1 parameters/act/path start.sh",
    "add rscparam exec exec1 parameters/deact/path stop.sh",
    "add mon userw userw",
    "add monparam userw userw relation/type cls",
    "add monparam userw userw relation/name LocalServer",
    "add clsparam rstd/use 1",
];

fn cfset(sandbox: &Sandbox, dir: &Path, line: &str) -> Output {
    let words: Vec<&str> = line.split_whitespace().collect();
    sandbox.run_in(dir, CLPCFSET, &words)
}

fn replay(sandbox: &Sandbox, dir: &Path, lines: &[&str]) {
    for line in lines {
        let out = cfset(sandbox, dir, line);
        out.success();
        assert!(out.stdout.is_empty(), "{line}: {}", out.stdout);
    }
}

fn read(dir: &Path) -> ConfigFile {
    let mut report = Report::new("clp.conf");
    let conf = ConfigFile::read(&dir.join("clp.conf"), &mut report).unwrap();
    assert!(!report.has_errors(), "{report}");
    conf.unwrap()
}

fn value(conf: &ConfigFile, p: &str) -> Option<String> {
    path::find(&conf.doc.root, &path::parse(p).unwrap()).map(|e| e.text.clone())
}

fn children(conf: &ConfigFile, p: &str) -> Vec<String> {
    path::find(&conf.doc.root, &path::parse(p).unwrap())
        .map(|e| e.elements().map(path::step_text).collect())
        .unwrap_or_default()
}

#[test]
fn the_failsafe_driver_builds_a_valid_configuration() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, FAILSAFE_DRIVER);

    let bytes = fs::read(dir.join("clp.conf")).unwrap();
    assert!(
        bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root>\n"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("<types name=\"exec\"/>"), "{text}");
    assert!(text.contains("<types name=\"lanhb\"/>"), "{text}");
    assert!(text.contains("<resource name=\"exec@exec1\"/>"), "{text}");

    let conf = read(&dir);
    assert_eq!(conf.encoding, "EUC-JP");
    // 4 + 1 server + 1 group + 1 resource + 1 monitor + 1 heartbeat x 1 server.
    assert_eq!(
        value(&conf, "webmgr/client/objectnumber").as_deref(),
        Some("9")
    );
    assert_eq!(value(&conf, "all/charset").as_deref(), Some("EUC-JP"));
    assert_eq!(value(&conf, "all/encode").as_deref(), Some("EUC-JP"));
    assert_eq!(value(&conf, "all/serveros").as_deref(), Some("linux"));
    assert_eq!(value(&conf, "group@failover1/gid").as_deref(), Some("0"));
    // CLUSTERPRO's clpcfset writes no <type> for a failover group (the default).
    assert_eq!(value(&conf, "group@failover1/type"), None);
    assert_eq!(
        children(&conf, "group@failover1"),
        ["comment", "gid", "resource@exec@exec1"]
    );
    assert_eq!(
        value(&conf, "heartbeat/lanhb@lanhb1/device").as_deref(),
        Some("0")
    );
    assert_eq!(value(&conf, "rstd/use").as_deref(), Some("1"));
    assert_eq!(
        children(&conf, "resource"),
        ["types@exec", "exec@exec1"],
        "types marker first"
    );

    // Without its scripts the configuration is refused; with them it checks.
    let out = sandbox.run_as("server1", CLPCFCTRL, &["--check", "-x", path_str(&dir)]);
    out.expect_code(3);
    assert!(
        out.stdout
            .contains("bundled script scripts/failover1/exec1/start.sh is missing"),
        "{}",
        out.stdout
    );
    for script in ["start.sh", "stop.sh"] {
        write_script(
            &dir.join("scripts/failover1/exec1").join(script),
            "#!/bin/sh\nexit 0\n",
        );
    }
    let out = sandbox.run_as("server1", CLPCFCTRL, &["--check", "-x", path_str(&dir)]);
    out.success();
    assert!(
        out.stdout.contains(
            "valid: cluster cluster, 1 server(s), 1 group(s), 1 resource(s), 1 monitor(s), 0 object(s) not supported; 0 warning(s)"
        ),
        "{}",
        out.stdout
    );
    // And it installs.
    sandbox.push(&dir, "server1");
    assert_eq!(
        fs::read(sandbox.live().join("clp.conf")).unwrap(),
        fs::read(dir.join("clp.conf")).unwrap()
    );
}

#[test]
fn create_writes_the_skeleton() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    cfset(&sandbox, &dir, "create cluster EUC-JP EUC-JP linux").success();
    assert_eq!(
        fs::read_to_string(dir.join("clp.conf")).unwrap(),
        "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root>\n  <all>\n    <charset>EUC-JP</charset>\n    <serveros>linux</serveros>\n    <encode>EUC-JP</encode>\n  </all>\n  <cluster>\n    <name>cluster</name>\n    <comment/>\n  </cluster>\n  <webmgr>\n    <client>\n      <objectnumber>4</objectnumber>\n    </client>\n  </webmgr>\n</root>\n"
    );
}

#[test]
fn create_replaces_an_existing_file() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, &FAILSAFE_DRIVER[..4]);
    cfset(&sandbox, &dir, "create other ASCII").success();
    let conf = read(&dir);
    assert_eq!(value(&conf, "cluster/name").as_deref(), Some("other"));
    assert!(value(&conf, "server@server1/priority").is_none());
}

#[test]
fn create_with_two_arguments_uses_the_charset_and_linux() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    cfset(&sandbox, &dir, "create HCI-Cluster ASCII").success();
    let bytes = fs::read(dir.join("clp.conf")).unwrap();
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"ASCII\"?>\n"));
    let conf = read(&dir);
    assert_eq!(value(&conf, "cluster/name").as_deref(), Some("HCI-Cluster"));
    assert_eq!(value(&conf, "all/charset").as_deref(), Some("ASCII"));
    assert_eq!(value(&conf, "all/encode").as_deref(), Some("ASCII"));
    assert_eq!(value(&conf, "all/serveros").as_deref(), Some("linux"));
    // Three arguments: name, charset, server OS (the product's generators).
    cfset(&sandbox, &dir, "create c3 EUC-JP linux").success();
    let conf = read(&dir);
    assert_eq!(value(&conf, "all/encode").as_deref(), Some("EUC-JP"));
    assert_eq!(value(&conf, "all/serveros").as_deref(), Some("linux"));
}

#[test]
fn relative_device_ids_get_their_type_base() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(
        &sandbox,
        &dir,
        &[
            "create HCI-Cluster ASCII",
            "add srv server1 0",
            "add device server1 lan 0 10.0.0.11",
            "add device server1 mdc 0 10.0.0.1",
            "add device server1 mdc 401 10.0.1.1",
        ],
    );
    let conf = read(&dir);
    assert_eq!(
        children(&conf, "server@server1"),
        ["priority", "device@0", "device@400", "device@401"]
    );
    assert_eq!(
        value(&conf, "server@server1/device@400/type").as_deref(),
        Some("mdc")
    );
    assert_eq!(
        value(&conf, "server@server1/device@400/mdc/info").as_deref(),
        Some("10.0.0.1")
    );
    assert_eq!(
        value(&conf, "server@server1/device@401/info").as_deref(),
        Some("10.0.1.1")
    );
}

#[test]
fn markers_move_and_the_object_number_counts_everything() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(
        &sandbox,
        &dir,
        &[
            "create cluster EUC-JP EUC-JP linux",
            "add srv server1 0",
            "add srv server2 1",
            "add device server1 lan 0 192.168.137.71",
            "add device server2 lan 0 192.168.137.72",
            "add hb lankhb 0 0",
            "add hb lankhb 1 1",
            "add np pingnp 10200 0 0 0 192.168.137.1",
            "add grp failover failover1",
            "add rsc failover1 fip fip1",
            "add rsc failover1 exec exec1",
            "add rsc failover1 fip fip2",
            "add rscdep exec exec1 fip1",
            "add mon userw userw",
            "add mon fipw fipw1",
            "add monparam fipw fipw1 target fip1",
        ],
    );
    let conf = read(&dir);
    assert_eq!(
        children(&conf, "heartbeat"),
        ["lankhb@lankhb1", "types@lankhb", "lankhb@lankhb2"]
    );
    assert_eq!(
        children(&conf, "resource"),
        [
            "fip@fip1",
            "types@exec",
            "exec@exec1",
            "types@fip",
            "fip@fip2"
        ]
    );
    assert_eq!(
        children(&conf, "networkpartition/pingnp@pingnp1"),
        ["priority", "device", "grp@0"]
    );
    assert_eq!(
        value(&conf, "networkpartition/pingnp@pingnp1/grp@0/list@0/ip").as_deref(),
        Some("192.168.137.1")
    );
    assert!(value(&conf, "resource/exec@exec1/depend@fip1").is_some());
    // 4 + 2 servers + 1 group + 3 resources + 2 monitors + (2 hb + 1 np) x 2.
    assert_eq!(
        value(&conf, "webmgr/client/objectnumber").as_deref(),
        Some("18")
    );
}

#[test]
fn rpl_replaces_in_place_and_fails_on_a_missing_path() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, FAILSAFE_DRIVER);
    cfset(&sandbox, &dir, "rpl clsparam cluster/name renamed").success();
    let conf = read(&dir);
    assert_eq!(value(&conf, "cluster/name").as_deref(), Some("renamed"));
    assert_eq!(
        children(&conf, "cluster"),
        ["name", "comment"],
        "kept in place"
    );

    let before = fs::read(dir.join("clp.conf")).unwrap();
    let out = cfset(&sandbox, &dir, "rpl clsparam cluster/nothing x");
    out.expect_code(4);
    assert!(
        out.stderr.contains("/root/cluster/nothing does not exist"),
        "{}",
        out.stderr
    );
    assert_eq!(
        fs::read(dir.join("clp.conf")).unwrap(),
        before,
        "a failed command leaves the file alone"
    );
}

#[test]
fn rmv_rsc_removes_the_group_entry_and_the_resource() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, FAILSAFE_DRIVER);
    replay(&sandbox, &dir, &["add rsc failover1 exec exec2"]);
    assert_eq!(
        value(&read(&dir), "webmgr/client/objectnumber").as_deref(),
        Some("10")
    );
    cfset(&sandbox, &dir, "rmv rsc failover1 exec exec1").success();
    let conf = read(&dir);
    assert!(value(&conf, "group@failover1/resource@exec@exec1").is_none());
    assert!(value(&conf, "resource/exec@exec1").is_none());
    assert!(value(&conf, "group@failover1/resource@exec@exec2").is_some());
    assert!(value(&conf, "resource/exec@exec2").is_some());
    assert_eq!(
        value(&conf, "webmgr/client/objectnumber").as_deref(),
        Some("9")
    );
    let out = cfset(&sandbox, &dir, "rmv rsc failover1 exec exec1");
    out.expect_code(4);
}

#[test]
fn an_unknown_verb_is_an_invalid_parameter() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, FAILSAFE_DRIVER);
    let before = fs::read(dir.join("clp.conf")).unwrap();
    let out = cfset(&sandbox, &dir, "del rsc failover1 exec exec1");
    out.expect_code(2);
    assert!(
        out.stderr.contains("invalid parameter (argv[1]: del)"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(dir.join("clp.conf")).unwrap(), before);
}

#[test]
fn missing_arguments_name_the_usage() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    replay(&sandbox, &dir, FAILSAFE_DRIVER);
    for (line, usage) in [
        (
            "add srv server2",
            "usage: clpcfset add srv <server> <priority>",
        ),
        (
            "add rsc failover1 exec",
            "usage: clpcfset add rsc <group> <type> <resource>",
        ),
        (
            "add monparam userw userw relation/type",
            "usage: clpcfset add monparam <type> <monitor> <path> <value>",
        ),
        (
            "create onlyname",
            "usage: clpcfset create <cluster> <charset>",
        ),
    ] {
        let out = cfset(&sandbox, &dir, line);
        out.expect_code(2);
        assert!(out.stderr.contains(usage), "{line}: {}", out.stderr);
    }
    // No arguments at all: clap's usage.
    let out = sandbox.run_in(&dir, CLPCFSET, &[]);
    out.expect_code(2);
    assert!(out.stderr.contains("Usage"), "{}", out.stderr);
}

#[test]
fn add_without_a_clp_conf_is_an_unknown_object() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    let out = cfset(&sandbox, &dir, "add srv server1 0");
    out.expect_code(4);
    assert!(out.stderr.contains("clpcfset create"), "{}", out.stderr);
    assert!(!dir.join("clp.conf").exists());
}

#[test]
fn editing_a_japanese_file_keeps_its_encoding_and_text() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work().join("failsafe");
    copy_dir(&fixture("failsafe-base"), &dir);
    cfset(&sandbox, &dir, "add clsparam rm/errordetect/norecovery 1").success();
    let bytes = fs::read(dir.join("clp.conf")).unwrap();
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n"));
    assert!(std::str::from_utf8(&bytes).is_err(), "still EUC-JP");
    let conf = read(&dir);
    assert_eq!(
        value(&conf, "cluster/comment").as_deref(),
        Some("単一サーバの基本構成（監視と再起動）")
    );
    assert_eq!(
        value(&conf, "rm/errordetect/norecovery").as_deref(),
        Some("1")
    );
    assert_eq!(
        value(&conf, "webmgr/client/objectnumber").as_deref(),
        Some("9")
    );
    sandbox
        .run(CLPCFCTRL, &["--check", "-x", path_str(&dir)])
        .success();
    // clpcfget reads the edited file and prints UTF-8.
    let out = sandbox.run(
        CLPCFGET,
        &[
            "-f",
            path_str(&dir.join("clp.conf")),
            "-g",
            "/root/group@failover1/comment",
        ],
    );
    out.success();
    assert_eq!(out.stdout, "業務グループ\n");
}

/// The MIRACLE FailSafe generator's commands for one of its samples, as its
/// scripts issue them (server ml8-224, groups first, then resources, monitors
/// and cluster parameters).
fn vendor_driver(sample: &str) -> Vec<String> {
    let exec = |group: &str, name: &str| {
        vec![
            format!("add rsc {group} exec {name}"),
            format!("add rscparam exec {name} parameters/act/path start.sh"),
            format!("add rscparam exec {name} parameters/deact/path stop.sh"),
        ]
    };
    let watch = |kind: &str, target: &str, params: &[(&str, &str)]| {
        let mut v = vec![
            format!("add mon {kind} {kind}"),
            format!("add monparam {kind} {kind} target {target}"),
            format!("add monparam {kind} {kind} relation/type rsc"),
            format!("add monparam {kind} {kind} relation/name {target}"),
            format!("add monparam {kind} {kind} emergency/action 1"),
            format!("add monparam {kind} {kind} emergency/threshold/restart 2"),
        ];
        for (p, value) in params {
            v.push(format!("add monparam {kind} {kind} parameters/{p} {value}"));
        }
        for (p, value) in [
            ("interval", "30"),
            ("timeout", "60"),
            ("reconfirmation", "1"),
        ] {
            v.push(format!("add monparam {kind} {kind} polling/{p} {value}"));
        }
        v
    };
    let mysqlw = watch(
        "mysqlw",
        "exec-mariadb",
        &[
            ("database", "testdb"),
            ("username", "root"),
            ("password", "cluster-0"),
            ("libraryfullpath", "/usr/lib64/libmariadb.so.3"),
        ],
    );
    let httpw = watch(
        "httpw",
        "exec-apache",
        &[("servername", "localhost"), ("port", "80")],
    );
    let mut v: Vec<String> = [
        "create cluster EUC-JP EUC-JP linux",
        "add srv ml8-224 0",
        "add device ml8-224 lan 0 127.0.0.1",
        "add hb lanhb 0 0",
        "add grp failover failover1",
    ]
    .map(String::from)
    .to_vec();
    let userw = [
        "add mon userw userw",
        "add monparam userw userw relation/type cls",
        "add monparam userw userw relation/name LocalServer",
    ]
    .map(String::from);
    let no_recovery = [
        "add clsparam rc/errordetect/rscact/norecovery 1",
        "add clsparam rc/errordetect/rscdeact/norecovery 1",
        "add clsparam rm/errordetect/norecovery 1",
    ]
    .map(String::from);
    match sample {
        "00_base" => {
            v.extend(exec("failover1", "exec"));
            v.extend(userw);
        }
        "01_mariadb" => {
            v.extend(exec("failover1", "exec-mariadb"));
            v.extend(userw);
            v.extend(mysqlw);
            v.extend(no_recovery);
        }
        "02_mariadb_apache" => {
            v.push("add grp failover failover2".into());
            v.extend(exec("failover1", "exec-mariadb"));
            v.extend(exec("failover2", "exec-apache"));
            v.extend(userw);
            v.extend(mysqlw);
            v.extend(httpw);
            v.extend(no_recovery);
        }
        "03_mariadb_apache_one_group" => {
            v.extend(exec("failover1", "exec-mariadb"));
            v.extend(exec("failover1", "exec-apache"));
            v.push("add rscdep exec exec-apache exec-mariadb".into());
            v.extend(userw);
            v.extend(mysqlw);
            v.extend(httpw);
            v.extend(no_recovery);
        }
        other => panic!("no driver for {other}"),
    }
    v.push("add clsparam rstd/use 1".into());
    v
}

#[test]
fn the_vendor_generator_commands_rebuild_its_files_byte_for_byte() {
    let Some(corpus) = crate::corpus::corpus_dir() else {
        return;
    };
    let sandbox = Sandbox::new();
    for sample in [
        "00_base",
        "01_mariadb",
        "02_mariadb_apache",
        "03_mariadb_apache_one_group",
    ] {
        // The vendor's file, read in place (it carries no licence: never copied).
        let vendor = corpus.join(format!(
            "ecx-MIRACLE-FailSafe__script_20200916_{sample}_clp.conf"
        ));
        let dir = sandbox.work().join(sample);
        fs::create_dir(&dir).unwrap();
        let lines = vendor_driver(sample);
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        replay(&sandbox, &dir, &lines);
        let ours = fs::read_to_string(dir.join("clp.conf")).unwrap();
        let theirs = fs::read_to_string(&vendor).unwrap();
        assert!(
            ours == theirs,
            "{sample}: clpcfset output differs from {}:\n--- ours\n{ours}\n--- vendor\n{theirs}",
            vendor.display()
        );
    }
}
