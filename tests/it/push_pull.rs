//! `clpcfctrl --push` / `--pull`: installs byte for byte, keeps the previous
//! configuration as a backup, and a refused push changes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{
    CLPCFCTRL, Entry, Sandbox, VALID, assert_same_tree, fixture, installed, invalid, invalid_names,
    path_str, snapshot,
};

#[test]
fn push_installs_every_valid_fixture_byte_for_byte() {
    for f in VALID {
        let sandbox = Sandbox::new();
        let out = sandbox.push(&fixture(f.name), f.host);
        assert!(
            out.stdout.contains("Command succeeded."),
            "{}: {}",
            f.name,
            out.all()
        );
        let live = without_cluster_files(snapshot(&sandbox.live()), f.name, f.host);
        assert_same_tree(
            &live,
            &installed(&fixture(f.name)),
            &format!("{} installed in etc/clp", f.name),
        );
        // Warnings are shown on push too.
        for (line, path, message) in f.warnings {
            let expected = format!("clp.conf:{line}: warning: {path}: {message}");
            assert!(out.stderr.contains(&expected), "{}: {}", f.name, out.stderr);
        }
        // Nothing to back up on a first push; no staging directory left behind.
        assert!(!sandbox.backup().exists(), "{}", f.name);
        assert_eq!(
            fs::read_dir(sandbox.live()).unwrap().count(),
            2 + live_cluster_files(f.name, f.host),
            "{}: only clp.conf and scripts/ (and a cluster's corosync.conf and authkey) in etc/clp",
            f.name
        );
    }
}

#[test]
fn the_installed_files_keep_their_exec_bits() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("sss-template"), "node1");
    use std::os::unix::fs::PermissionsExt;
    for script in [
        "scripts/failover-sss/exec-app/start.sh",
        "scripts/monitor.s/genw-app/genw.sh",
        "scripts/monitor.s/genw-app/preaction.sh",
    ] {
        let mode = fs::metadata(sandbox.live().join(script))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{script} is executable");
    }
}

#[test]
fn a_second_push_keeps_the_previous_version_as_backup() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("failsafe-base"), "node1");
    let out = sandbox.push(&fixture("sss-template"), "node1");
    assert!(out.stdout.contains("Command succeeded."), "{}", out.all());
    // The live configuration is the new one, with none of the old scripts left.
    assert_same_tree(
        &snapshot(&sandbox.live()),
        &installed(&fixture("sss-template")),
        "etc/clp after the second push",
    );
    // The backup is the first one: clp.conf and scripts.
    assert_same_tree(
        &snapshot(&sandbox.backup()),
        &installed(&fixture("failsafe-base")),
        "var/lib/clp/config-backup",
    );
    // A third push replaces the backup with the second version.
    sandbox.push(&fixture("two-groups-db"), "node1");
    assert_same_tree(
        &snapshot(&sandbox.backup()),
        &installed(&fixture("sss-template")),
        "var/lib/clp/config-backup after a third push",
    );
    // No temporary backup directory is left next to it.
    let leftovers: Vec<String> = fs::read_dir(sandbox.root().join("var/lib/clp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["config-backup"]);
}

#[test]
fn a_refused_push_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("failsafe-base"), "node1");
    sandbox.push(&fixture("sss-template"), "node1");
    let live = snapshot(&sandbox.live());
    let backup = snapshot(&sandbox.backup());
    let state = snapshot(&sandbox.root());
    for name in invalid_names() {
        if name == "unknown-element" {
            continue; // valid without --strict; see below
        }
        let dir = invalid(&name);
        let out = sandbox.run(CLPCFCTRL, &["--push", "-x", path_str(&dir)]);
        out.expect_code(3);
        assert!(
            out.stderr.contains("nothing was installed"),
            "{name}: {}",
            out.stderr
        );
        assert!(
            !out.stdout.contains("Command succeeded."),
            "{name}: {}",
            out.stdout
        );
        assert_same_tree(
            &snapshot(&sandbox.live()),
            &live,
            &format!("etc/clp after pushing {name}"),
        );
        assert_same_tree(
            &snapshot(&sandbox.backup()),
            &backup,
            &format!("backup after pushing {name}"),
        );
        assert_same_tree(
            &snapshot(&sandbox.root()),
            &state,
            &format!("root after pushing {name}"),
        );
    }
    // Warnings refused under --strict are a refused push too.
    let out = sandbox.run(
        CLPCFCTRL,
        &[
            "--push",
            "--strict",
            "-x",
            path_str(&invalid("unknown-element")),
        ],
    );
    out.expect_code(3);
    assert!(
        out.stderr
            .contains("2 warning(s) refused under --strict: nothing was installed"),
        "{}",
        out.stderr
    );
    assert_same_tree(
        &snapshot(&sandbox.root()),
        &state,
        "root after a --strict refusal",
    );
}

#[test]
fn a_refused_push_prints_every_problem() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("failsafe-base"), "node1");
    let live = snapshot(&sandbox.live());
    let out = sandbox.run(
        CLPCFCTRL,
        &["--push", "-x", path_str(&invalid("many-errors"))],
    );
    out.expect_code(3);
    for expected in [
        "clp.conf:23: /root/group@failover1/resource@exec@exec9: resource exec9 does not exist",
        "clp.conf:43: /root/monitor/psw@psw1/target: target resource exec8 does not exist",
        "clp.conf:45: /root/monitor/psw@psw1/polling/interval: must be 1..999999, got 0",
        "clp.conf:53: /root/monitor/psw@psw1/parameters/processnum: must be a whole number 1..999, got \"two\"",
        "4 error(s), 0 warning(s): nothing was installed",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?} in\n{}",
            out.stderr
        );
    }
    assert_same_tree(&snapshot(&sandbox.live()), &live, "etc/clp");
    assert!(
        !sandbox.backup().exists(),
        "no backup is made by a refused push"
    );
}

#[test]
fn unknown_elements_push_without_strict() {
    let sandbox = Sandbox::new();
    let dir = invalid("unknown-element");
    let out = sandbox.run(CLPCFCTRL, &["--push", "-x", path_str(&dir)]);
    out.success();
    assert!(
        out.stderr.contains("unknown element <frobnicate>"),
        "{}",
        out.stderr
    );
    // The file is installed as it is, unknown elements included.
    assert_eq!(
        fs::read(sandbox.live().join("clp.conf")).unwrap(),
        fs::read(dir.join("clp.conf")).unwrap()
    );
}

#[test]
fn push_of_a_directory_without_clp_conf_is_an_unknown_object() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(CLPCFCTRL, &["--push", "-x", path_str(&sandbox.work())]);
    out.expect_code(4);
    assert!(
        out.stderr.contains("clp.conf does not exist"),
        "{}",
        out.stderr
    );
    assert!(!sandbox.live().join("clp.conf").exists());
}

#[test]
fn push_defaults_to_the_current_directory() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_in(&fixture("failsafe-base"), CLPCFCTRL, &["--push"]);
    out.success();
    assert_same_tree(
        &snapshot(&sandbox.live()),
        &installed(&fixture("failsafe-base")),
        "etc/clp",
    );
}

#[test]
fn pull_writes_the_installed_configuration_byte_for_byte() {
    for f in VALID {
        let sandbox = Sandbox::new();
        sandbox.push(&fixture(f.name), f.host);
        let dest = sandbox.work().join("pulled");
        let out = sandbox.run(CLPCFCTRL, &["--pull", "-x", path_str(&dest)]);
        out.success();
        assert!(out.stdout.contains("Command succeeded."), "{}", out.all());
        let pulled = snapshot(&dest);
        // A cluster's key goes with it (corosync.conf is derived again on push).
        let key_pulled = pulled.contains_key(Path::new("authkey"));
        assert_eq!(
            key_pulled,
            live_cluster_files(f.name, f.host) > 0,
            "{}",
            f.name
        );
        let mut pulled = pulled;
        pulled.remove(Path::new("authkey"));
        assert_same_tree(
            &pulled,
            &installed(&fixture(f.name)),
            &format!("{} pulled", f.name),
        );
        // What was pulled checks and pushes again as it is.
        sandbox
            .run_as(f.host, CLPCFCTRL, &["--check", "-x", path_str(&dest)])
            .success();
    }
}

#[test]
fn pull_into_an_existing_directory_overwrites_clp_conf() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("sss-template"), "node1");
    let dest = sandbox.work();
    fs::write(dest.join("clp.conf"), "old").unwrap();
    fs::write(dest.join("notes.txt"), "mine").unwrap();
    sandbox
        .run(CLPCFCTRL, &["--pull", "-x", path_str(&dest)])
        .success();
    assert_eq!(
        fs::read(dest.join("clp.conf")).unwrap(),
        fs::read(fixture("sss-template").join("clp.conf")).unwrap()
    );
    assert_eq!(fs::read_to_string(dest.join("notes.txt")).unwrap(), "mine");
    // No temporary file is left behind.
    let names: Vec<String> = fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn pull_with_nothing_installed_fails_clearly() {
    let sandbox = Sandbox::new();
    let dest = sandbox.work().join("pulled");
    let out = sandbox.run(CLPCFCTRL, &["--pull", "-x", path_str(&dest)]);
    out.expect_code(4);
    assert!(
        out.stderr.contains("no configuration is installed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("clpcfctrl --push"), "{}", out.stderr);
    assert!(!dest.join("clp.conf").exists());
}

#[test]
fn check_without_a_directory_checks_the_installed_configuration() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(CLPCFCTRL, &["--check"]);
    out.expect_code(4);
    sandbox.push(&fixture("sss-template"), "node1");
    let out = sandbox.run(CLPCFCTRL, &["--check"]);
    out.success();
    let installed = sandbox.live().join("clp.conf");
    assert!(
        out.stdout
            .contains(&format!("{}: valid: cluster sss", installed.display())),
        "{}",
        out.stdout
    );
}

#[test]
fn push_to_another_host_is_refused() {
    let sandbox = Sandbox::new();
    let dir = fixture("failsafe-base");
    let out = sandbox.run(
        CLPCFCTRL,
        &["--push", "-h", "server9", "-x", path_str(&dir)],
    );
    out.expect_code(2);
    assert!(out.stderr.contains("-h server9"), "{}", out.stderr);
    assert!(!sandbox.live().exists());
    // The local server by name is fine (CLP_HOSTNAME is node1).
    sandbox
        .run(CLPCFCTRL, &["--push", "-h", "node1", "-x", path_str(&dir)])
        .success();
}

#[test]
fn nocheck_still_validates() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        CLPCFCTRL,
        &[
            "--push",
            "--nocheck",
            "-x",
            path_str(&invalid("out-of-range")),
        ],
    );
    out.expect_code(3);
    assert!(out.stderr.contains("--nocheck"), "{}", out.stderr);
    assert!(!sandbox.live().join("clp.conf").exists());
}

/// How many Corosync files a push of fixture `name` as `host` installs: two
/// (corosync.conf, authkey) for a cluster of several servers, else none.
fn live_cluster_files(name: &str, host: &str) -> usize {
    let conf = fixture(name).join("clp.conf");
    let checked = clp::config::check_file(&conf, None, Some(host), name).unwrap();
    match checked.cluster {
        Some(c) if c.links.is_cluster() => 2,
        _ => 0,
    }
}

/// `live` without the Corosync files, after checking they are there exactly
/// when fixture `name` is a cluster of several servers.
fn without_cluster_files(
    mut live: BTreeMap<PathBuf, Entry>,
    name: &str,
    host: &str,
) -> BTreeMap<PathBuf, Entry> {
    let conf = live.remove(Path::new("corosync.conf")).is_some();
    let key = live.remove(Path::new("authkey")).is_some();
    let expected = live_cluster_files(name, host) > 0;
    assert_eq!((conf, key), (expected, expected), "{name}: Corosync files");
    live
}
