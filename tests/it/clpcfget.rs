//! `clpcfget`: values and object names from the installed configuration (or a
//! file given with -f), as clp_exporter reads them.

use clp::config::defaults::{self, DefaultValue, Scope};

use crate::util::{CLPCFGET, Sandbox, fixture, path_str};

fn installed(name: &str, host: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture(name), host);
    sandbox
}

fn get(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = sandbox.run(CLPCFGET, args);
    out.success();
    assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
    out.stdout
}

fn table_default(scope: Scope, rel: &str) -> &'static str {
    match defaults::lookup(scope, rel).map(|r| r.default) {
        Some(DefaultValue::Value(v)) => v,
        other => panic!("{rel}: no default value in the table ({other:?})"),
    }
}

#[test]
fn enumerate_lists_types_and_names_in_document_order() {
    let sandbox = installed("sss-template", "node1");
    assert_eq!(
        get(&sandbox, &["-e", "/root/monitor/types"]),
        "userw\ngenw\npidw\npsw\nmtw\n"
    );
    assert_eq!(get(&sandbox, &["-e", "/root/monitor/genw"]), "genw-app\n");
    assert_eq!(get(&sandbox, &["-e", "/root/resource/types"]), "exec\n");
    assert_eq!(
        get(&sandbox, &["-e", "/root/resource/exec"]),
        "exec-db\nexec-app\n"
    );
    assert_eq!(get(&sandbox, &["-e", "/root/server"]), "node1\n");
    // id-keyed elements list their ids.
    assert_eq!(
        get(
            &sandbox,
            &["-e", "/root/monitor/mtw@mtw-app/parameters/list"]
        ),
        "0\n1\n"
    );
}

#[test]
fn enumerate_of_an_absent_type_prints_nothing() {
    let sandbox = installed("sss-template", "node1");
    assert_eq!(get(&sandbox, &["-e", "/root/resource/md"]), "");
    assert_eq!(get(&sandbox, &["-e", "/root/networkpartition/pingnp"]), "");
}

#[test]
fn get_prints_a_value() {
    let sandbox = installed("sss-template", "node1");
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/resource/exec@exec-db/parameters/timeout/start"]
        ),
        "300\n"
    );
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/monitor/psw@psw-app/parameters/processname"]
        ),
        "/usr/sbin/app-worker\n"
    );
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/monitor/mtw@mtw-app/parameters/list@1/monname"]
        ),
        "psw-app\n"
    );
    assert_eq!(
        get(&sandbox, &["-g", "/root/webmgr/client/objectnumber"]),
        "14\n"
    );
    assert_eq!(
        get(&sandbox, &["-g", "/root/server@node1/device@0/info"]),
        "127.0.0.1\n"
    );
    // An empty element prints an empty line.
    assert_eq!(
        get(&sandbox, &["-g", "/root/monitor/userw@userw/comment"]),
        "\n"
    );
}

#[test]
fn get_of_an_absent_value_prints_its_default() {
    let sandbox = installed("sss-template", "node1");
    // Not set in the file; the defaults table answers.
    let interval = table_default(Scope::Monitor("psw"), "polling/interval");
    assert_eq!(interval, "5");
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/monitor/psw@psw-app/polling/interval"]
        ),
        format!("{interval}\n")
    );
    let size = table_default(Scope::Monitor("genw"), "parameters/logrotate/size");
    assert_eq!(
        get(
            &sandbox,
            &[
                "-g",
                "/root/monitor/genw@genw-app/parameters/logrotate/size"
            ]
        ),
        format!("{size}\n")
    );
    let reconfirmation = table_default(Scope::Monitor("userw"), "polling/reconfirmation");
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/monitor/userw@userw/polling/reconfirmation"]
        ),
        format!("{reconfirmation}\n")
    );
    let sync = table_default(Scope::Resource("exec"), "parameters/deact/sync");
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/resource/exec@exec-db/parameters/deact/sync"]
        ),
        format!("{sync}\n")
    );
    let method = table_default(Scope::Root, "haltp/action");
    assert_eq!(
        get(&sandbox, &["-g", "/root/haltp/action"]),
        format!("{method}\n")
    );
    // The value in the file wins over the default.
    assert_eq!(
        get(
            &sandbox,
            &["-g", "/root/monitor/genw@genw-app/polling/interval"]
        ),
        "30\n"
    );
}

#[test]
fn get_of_a_missing_object_is_an_unknown_object() {
    let sandbox = installed("sss-template", "node1");
    for p in [
        "/root/monitor/genw@ghost/polling/interval",
        "/root/resource/exec@ghost/parameters/act/path",
        "/root/monitor/genw@genw-app/no/such/element",
        "/root/server@node9/priority",
    ] {
        let out = sandbox.run(CLPCFGET, &["-g", p]);
        out.expect_code(4);
        assert!(out.stdout.is_empty(), "{p}: {}", out.stdout);
        assert!(out.stderr.contains(p), "{p}: {}", out.stderr);
    }
}

#[test]
fn a_bad_path_is_a_usage_error() {
    let sandbox = installed("sss-template", "node1");
    let out = sandbox.run(CLPCFGET, &["-g", "/root/monitor//x"]);
    out.expect_code(2);
    let out = sandbox.run(CLPCFGET, &[]);
    out.expect_code(2);
}

#[test]
fn nothing_installed_is_an_unknown_object() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(CLPCFGET, &["-e", "/root/monitor/types"]);
    out.expect_code(4);
    assert!(out.stderr.contains("etc/clp/clp.conf"), "{}", out.stderr);
}

#[test]
fn file_option_reads_another_file() {
    // Installed: the single-server template; -f reads the two-node fixture instead.
    let sandbox = installed("sss-template", "node1");
    let other = fixture("two-node").join("clp.conf");
    let other = path_str(&other);
    assert_eq!(
        get(&sandbox, &["-f", other, "-e", "/root/server"]),
        "server1\nserver2\n"
    );
    assert_eq!(
        get(&sandbox, &["-f", other, "-e", "/root/resource/md"]),
        "md1\n"
    );
    assert_eq!(
        get(
            &sandbox,
            &[
                "-f",
                other,
                "-g",
                "/root/resource/md@md1/parameters/nmppath"
            ]
        ),
        "/dev/NMP1\n"
    );
    assert_eq!(
        get(
            &sandbox,
            &["-f", other, "-g", "/root/server@server2/device@400/info"]
        ),
        "192.168.20.2\n"
    );
    assert_eq!(
        get(&sandbox, &["-f", other, "-e", "/root/monitor/types"]),
        "userw\nmdw\nmiiw\n"
    );
    // The raw file value, not the per-server override.
    assert_eq!(
        get(
            &sandbox,
            &[
                "-f",
                other,
                "-g",
                "/root/monitor/miiw@miiw1/parameters/object"
            ]
        ),
        "eth0\n"
    );
    assert_eq!(
        get(
            &sandbox,
            &[
                "-f",
                other,
                "-g",
                "/root/monitor/miiw@miiw1/server@server2/parameters/object"
            ]
        ),
        "eth1\n"
    );
}

#[test]
fn values_of_an_sjis_file_print_as_utf8() {
    let sandbox = installed("two-groups-db", "node1");
    assert_eq!(
        get(&sandbox, &["-g", "/root/cluster/comment"]),
        "データベースとウェブ業務\n"
    );
    assert_eq!(
        get(&sandbox, &["-e", "/root/monitor/types"]),
        "userw\noraclew\nhttpw\n"
    );
    assert_eq!(get(&sandbox, &["-e", "/root/monitor/oraclew"]), "oraclew\n");
    assert_eq!(
        get(&sandbox, &["-e", "/root/group"]),
        "db-group\nweb-group\n"
    );
}

#[test]

fn get_of_an_absent_derived_value_prints_it() {
    let sandbox = Sandbox::new();
    let file = fixture("failsafe-base").join("clp.conf");
    // exec has no act/timeout: 180 + the default script timeout 1800.
    assert_eq!(
        get(
            &sandbox,
            &[
                "-f",
                path_str(&file),
                "-g",
                "/root/resource/exec@exec/act/timeout"
            ]
        ),
        "1980\n"
    );
}
