//! `clpcfctrl --push` of a clp.conf of several servers: the derived
//! corosync.conf and the cluster key installed beside clp.conf, with their
//! modes; the key kept across pushes and carried by --pull; a refused
//! configuration changes nothing; one server writes no Corosync file; and
//! `corosync -t` accepts what is derived, for our configurations and the
//! corpus's valid clusters.
//!
//! `corosync -t` wants to find the local node among the nodelist's
//! addresses, so it runs in a network namespace of its own where the
//! server's addresses are on the loopback interface. Without the corosync
//! binary, or without the right to make a namespace, that check says
//! "skipped" and why.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clp::config::{self, corosync};
use clp::paths::Paths;

use crate::corpus::{corpus_dir, corpus_files};
use crate::util::{CLPCFCTRL, Sandbox, path_str, snapshot};

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A two-server clp.conf: alpha 10.77.0.1 / 10.78.0.1, beta .2, two links.
fn two_servers(beta_link0: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
<cluster><name>pair</name><heartbeat><interval>1000</interval><timeout>10000</timeout></heartbeat></cluster>
<server name="alpha"><priority>0</priority>
<device id="0"><type>lan</type><info>10.77.0.1</info></device>
<device id="1"><type>lan</type><info>10.78.0.1</info></device></server>
<server name="beta"><priority>1</priority>
<device id="0"><type>lan</type><info>{beta_link0}</info></device>
<device id="1"><type>lan</type><info>10.78.0.2</info></device></server>
<heartbeat><types name="lankhb"/>
<lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb>
<lankhb name="lankhb2"><priority>1</priority><device>1</device></lankhb>
</heartbeat>
</root>
"#
    )
}

fn config_dir(sandbox: &Sandbox, name: &str, text: &str) -> PathBuf {
    let dir = sandbox.work().join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("clp.conf"), text).unwrap();
    dir
}

/// Runs `corosync -t -c conf` in a new network namespace holding `addresses`
/// on its loopback. None (after saying why) when that cannot be done here.
fn corosync_test(conf: &Path, addresses: &[String]) -> Option<(bool, String)> {
    let Some(binary) = ["/usr/sbin/corosync", "/usr/bin/corosync"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: corosync is not installed (tests/run.sh installs it)");
        return None;
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: corosync -t needs a network namespace, which needs root");
        return None;
    }
    let mut script = String::from("ip link set lo up");
    for a in addresses {
        let prefix = if a.contains(':') { 128 } else { 32 };
        script.push_str(&format!(" && ip addr add {a}/{prefix} dev lo nodad"));
    }
    script.push_str(&format!(" && exec {binary} -t -c \"$1\""));
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script, "sh", path_str(conf)])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// The addresses server `name` has in the installed corosync.conf's nodelist.
fn node_addresses(conf_text: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_node = false;
    for line in conf_text.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("name: ") {
            in_node = n == name;
        } else if in_node && let Some((key, value)) = line.split_once(": ") {
            if key.starts_with("ring") && key.ends_with("_addr") {
                out.push(value.to_string());
            }
        } else if line == "}" {
            in_node = false;
        }
    }
    out
}

#[test]
fn push_of_a_cluster_installs_corosync_conf_and_a_private_key() {
    let sandbox = Sandbox::new();
    let dir = config_dir(&sandbox, "cfg", &two_servers("10.77.0.2"));
    let out = sandbox.push(&dir, "alpha");
    let live = sandbox.live();
    let conf = live.join("corosync.conf");
    let key = live.join("authkey");
    assert!(
        out.stdout.contains(&format!(
            "Corosync configuration written to {}.",
            conf.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("A new cluster key was generated"),
        "{}",
        out.stdout
    );
    assert_eq!(mode_of(&conf), 0o644);
    assert_eq!(mode_of(&key), 0o600);
    let key_bytes = fs::read(&key).unwrap();
    assert_eq!(key_bytes.len(), 256);
    assert_eq!(mode_of(&sandbox.root().join("var/lib/clp/corosync")), 0o700);
    let text = fs::read_to_string(&conf).unwrap();
    let root = sandbox.root();
    for needle in [
        "cluster_name: pair".to_string(),
        format!("keyfile: {}", key.display()),
        format!(
            "logfile: {}",
            root.join("var/log/clp/corosync.log").display()
        ),
        format!("state_dir: {}", root.join("var/lib/clp/corosync").display()),
        "token: 4545".to_string(),
        "token_retransmits_before_loss_const: 4".to_string(),
        "two_node: 1".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle} not in\n{text}");
    }
    assert_eq!(node_addresses(&text, "beta"), ["10.77.0.2", "10.78.0.2"]);
    if let Some((ok, said)) = corosync_test(&conf, &node_addresses(&text, "alpha")) {
        assert!(
            ok,
            "corosync -t refused the derived configuration:\n{said}\n{text}"
        );
    }

    // A later push keeps the key and rewrites the configuration.
    fs::write(
        dir.join("clp.conf"),
        two_servers("10.77.0.2").replace("<timeout>10000", "<timeout>20000"),
    )
    .unwrap();
    let out = sandbox.push(&dir, "alpha");
    assert!(!out.stdout.contains("new cluster key"), "{}", out.stdout);
    assert_eq!(fs::read(&key).unwrap(), key_bytes);
    assert!(fs::read_to_string(&conf).unwrap().contains("token: 9090"));
    // The key never shows in what clpcfctrl says.
    assert!(
        !out.all()
            .contains(&String::from_utf8_lossy(&key_bytes[..16]).into_owned())
    );
}

#[test]
fn a_refused_cluster_configuration_changes_nothing() {
    let sandbox = Sandbox::new();
    let dir = config_dir(&sandbox, "cfg", &two_servers("10.77.0.2"));
    sandbox.push(&dir, "alpha");
    let before = snapshot(&sandbox.root());
    // beta's address on link 0 is alpha's.
    let bad = config_dir(&sandbox, "bad", &two_servers("10.77.0.1"));
    let out = sandbox.run_as("alpha", CLPCFCTRL, &["--push", "-x", path_str(&bad)]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("/root/server@beta/device@0/info: 10.77.0.1 is also server alpha's address on heartbeat lankhb1")
            || out.stderr.contains("/root/server@beta/device@0/info: 10.77.0.1 is also server alpha's address on heartbeat lankhb1"),
        "{}",
        out.all()
    );
    assert_eq!(
        snapshot(&sandbox.root()),
        before,
        "the refused push changed files"
    );
    // Neither may a host that is not a server of the cluster install it.
    let out = sandbox.run_as("gamma", CLPCFCTRL, &["--push", "-x", path_str(&dir)]);
    out.expect_code(3);
    assert!(
        out.all()
            .contains("this host (gamma) is not a <server> of cluster pair (servers: alpha, beta)"),
        "{}",
        out.all()
    );
    assert_eq!(
        snapshot(&sandbox.root()),
        before,
        "a non-member's push changed files"
    );
}

#[test]
fn the_pulled_directory_gives_another_server_the_same_key() {
    let first = Sandbox::new();
    let dir = config_dir(&first, "cfg", &two_servers("10.77.0.2"));
    first.push(&dir, "alpha");
    let pulled = first.work().join("pulled");
    first
        .run_as("alpha", CLPCFCTRL, &["--pull", "-x", path_str(&pulled)])
        .success();
    assert_eq!(mode_of(&pulled.join("authkey")), 0o600);
    let second = Sandbox::new();
    let out = second.push(&pulled, "beta");
    assert!(!out.stdout.contains("new cluster key"), "{}", out.stdout);
    assert_eq!(
        fs::read(second.live().join("authkey")).unwrap(),
        fs::read(first.live().join("authkey")).unwrap()
    );
    let text = fs::read_to_string(second.live().join("corosync.conf")).unwrap();
    if let Some((ok, said)) = corosync_test(
        &second.live().join("corosync.conf"),
        &node_addresses(&text, "beta"),
    ) {
        assert!(ok, "corosync -t on beta:\n{said}\n{text}");
    }
}

#[test]
fn one_server_writes_no_corosync_file() {
    let sandbox = Sandbox::new();
    let dir = config_dir(
        &sandbox,
        "cfg",
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>solo</name></cluster><server name="node1"><priority>0</priority>
<device id="0"><type>lan</type><info>127.0.0.1</info></device></server>
<heartbeat><types name="lanhb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb></heartbeat></root>
"#,
    );
    let out = sandbox.push(&dir, "node1");
    assert_eq!(out.stdout, "Command succeeded.\n");
    assert!(!sandbox.live().join("corosync.conf").exists());
    assert!(!sandbox.live().join("authkey").exists());
    assert!(!sandbox.root().join("var/lib/clp/corosync").exists());
}

#[test]
fn corpus_clusters_derive_a_configuration_corosync_accepts() {
    let Some(dir) = corpus_dir() else { return };
    let sandbox = Sandbox::new();
    let paths = Paths::new(sandbox.root());
    fs::create_dir_all(paths.log_dir()).unwrap();
    fs::create_dir_all(paths.corosync_state_dir()).unwrap();
    config::cluster_key::write_new(&paths.authkey_file()).unwrap();
    let mut derived = 0;
    for name in corpus_files(&dir) {
        let path = dir.join(&name);
        let Ok(checked) = config::check_file(&path, None, None, &name) else {
            continue;
        };
        // Templates and skeletons are refused (corpus.rs says which); one
        // server has no Corosync configuration.
        let Some(cluster) = checked.cluster else {
            continue;
        };
        let files = corosync::CorosyncFiles::of(&paths);
        let Some(text) = corosync::corosync_conf(&cluster, &files) else {
            continue;
        };
        derived += 1;
        let conf = sandbox.work().join("corosync.conf");
        fs::write(&conf, &text).unwrap();
        let local = &cluster.servers[0].name;
        match corosync_test(&conf, &node_addresses(&text, local)) {
            Some((ok, said)) => assert!(ok, "{name}: corosync -t refused:\n{said}\n{text}"),
            None => return,
        }
    }
    assert!(
        derived >= 15,
        "only {derived} corpus clusters derived a configuration"
    );
}
