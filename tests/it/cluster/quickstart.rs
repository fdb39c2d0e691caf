//! The README's two-server quick start, step by step, in the rig's nodes:
//! its clp.conf (the nodes' addresses for 10.0.0.1 and 10.0.0.2), the first
//! push on node1, `--pull`, the copy to node2 and its push there, then the
//! start on each server (`clpcl -s`, which is what `systemctl start clp`
//! comes to: Corosync, then clpd) and `clpstat` on node1.

use std::fs;
use std::process::Command;
use std::time::Instant;

use super::harness::{ClusterRig, FORM, skip};
use crate::daemon::{CLPCL, CLPSTAT};
use crate::util::{CLPCFCTRL, path_str, run};

/// The README's clp.conf, with `a1` and `a2` for the servers' addresses.
fn readme_clp_conf(a1: &str, a2: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>cluster</name></cluster>
  <server name="node1"><priority>0</priority>
    <device id="0"><type>lan</type><info>{a1}</info></device></server>
  <server name="node2"><priority>1</priority>
    <device id="0"><type>lan</type><info>{a2}</info></device></server>
  <heartbeat><types name="lankhb"/>
    <lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>
</root>
"#
    )
}

#[test]
fn the_readme_two_server_quick_start_works_as_written() {
    if skip("readme_quick_start") {
        return;
    }
    // The token is the README's (its clp.conf sets no timing); the rig's
    // own configuration is removed: a fresh install on both servers.
    let rig = ClusterRig::new(2, super::harness::TOKEN_MS);
    for node in &rig.nodes {
        fs::remove_dir_all(node.root().join("etc/clp")).unwrap();
    }
    let (node1, node2) = (&rig.nodes[0], &rig.nodes[1]);
    let conf = node1.file("conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("clp.conf"),
        readme_clp_conf(&node1.addresses[0], &node2.addresses[0]),
    )
    .unwrap();

    // node1: clpcfctrl --push -x /root/conf; clpcfctrl --pull -x /root/first
    node1
        .command(CLPCFCTRL, &["--push", "-x", path_str(&conf)])
        .success();
    let key = node1.authkey().expect("the first push makes the key");
    let first = node1.file("first");
    node1
        .command(CLPCFCTRL, &["--pull", "-x", path_str(&first)])
        .success();
    assert_eq!(fs::read(first.join("authkey")).unwrap(), key);
    // scp -rp /root/first node2:/root/first
    let copy = node2.file("first");
    run(Command::new("cp").args(["-rp", path_str(&first), path_str(&copy)])).success();
    // ssh node2 clpcfctrl --push -x /root/first
    node2
        .command(CLPCFCTRL, &["--push", "-x", path_str(&copy)])
        .success();
    assert_eq!(node2.authkey(), Some(key));

    // systemctl start clp, here and on node2 (or clpcl -s on each server).
    let started = Instant::now();
    for node in [node1, node2] {
        let out = node.command(CLPCL, &["-s"]);
        out.success();
        assert_eq!(
            out.stdout,
            format!("Start {} : Command succeeded.\n", node.name)
        );
    }
    rig.wait_for("both servers Online on node1", FORM, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    eprintln!(
        "quick start: clpcl -s on both to both Online: {} ms",
        started.elapsed().as_millis()
    );
    // clpstat: both servers, * on this one, lankhb1 under each.
    let stat = node1.command(CLPSTAT, &[]);
    stat.success();
    let lines: Vec<&str> = stat.stdout.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}", stat.stdout))
    };
    let (n1, n2) = (at("*node1 "), at("node2 "));
    assert!(lines[n1].contains(": Online"), "{}", stat.stdout);
    assert!(lines[n2].contains(": Online"), "{}", stat.stdout);
    for server in [n1, n2] {
        let hb = lines[server + 1];
        assert!(
            hb.trim_start().starts_with("lankhb1") && hb.contains(": Normal"),
            "{}",
            stat.stdout
        );
    }
}
