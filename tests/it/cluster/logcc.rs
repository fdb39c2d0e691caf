//! `clplogcc` and `clpcfctrl --push/--pull -h HOST` against the other
//! servers: each archive is made by its own server and carried back over
//! Corosync; a configuration goes to, or comes from, one server only.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::logs::CLPLOGCC;
use crate::util::{CLPCFCTRL, path_str, write_script};

const NAMES: [&str; 3] = ["node1", "node2", "node3"];

/// `n` servers, formed, each with a file of its own in its log directory.
fn formed_rig(n: usize) -> ClusterRig {
    let mut rig = ClusterRig::new(n, TOKEN_MS);
    rig.start_all();
    rig.wait_for("every node showing every server Online", FORM, |rig| {
        (0..n).all(|o| rig.shows(o, &NAMES[..n])).then_some(())
    });
    for node in &rig.nodes {
        let log = node.root().join("var/log/clp");
        fs::create_dir_all(&log).unwrap();
        fs::write(log.join("whose.txt"), format!("{}\n", node.name)).unwrap();
    }
    rig
}

/// The members of a gzipped tar file and their bytes.
fn members(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(name, bytes);
    }
    out
}

/// Checks that `dir` holds `server`'s archive, made on `server` itself.
fn archive_of(rig: &ClusterRig, dir: &Path, server: &str) {
    let got = members(&dir.join(format!("{server}-log.tar.gz")));
    let top = format!("{server}-log");
    let text = |name: &str| {
        String::from_utf8_lossy(
            got.get(&format!("{top}/{name}"))
                .unwrap_or_else(|| panic!("{name} not in {server}'s archive: {:?}", got.keys())),
        )
        .into_owned()
    };
    assert!(
        text("collect.txt").contains(&format!("server: {server}\n")),
        "{}",
        text("collect.txt")
    );
    assert_eq!(text("log/whose.txt"), format!("{server}\n"));
    let node = rig.nodes.iter().find(|n| n.name == server).unwrap();
    let installed = fs::read_to_string(node.root().join("etc/clp/clp.conf")).unwrap();
    assert_eq!(text("config/clp.conf"), installed);
}

#[test]
fn clplogcc_collects_every_server_from_its_own_files_and_n_or_h_as_asked() {
    if skip("clplogcc_collects_every_server") {
        return;
    }
    let rig = formed_rig(3);
    let tmp = tempfile::tempdir().unwrap();

    let all = tmp.path().join("all");
    let started = Instant::now();
    let out = rig.nodes[0].command(CLPLOGCC, &["-t", "type3", "-o", path_str(&all)]);
    eprintln!(
        "clplogcc -t type3 of 3 servers: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stdout,
        "Collect Log node1 : Success\nCollect Log node2 : Success\nCollect Log node3 : Success\n"
    );
    for name in NAMES {
        archive_of(&rig, &all, name);
    }

    // -n: that server only.
    let one = tmp.path().join("one");
    let out = rig.nodes[0].command(
        CLPLOGCC,
        &["-t", "type3", "-n", "node3", "-o", path_str(&one)],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout, "Collect Log node3 : Success\n");
    let files: Vec<String> = fs::read_dir(&one)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["node3-log.tar.gz"]);
    archive_of(&rig, &one, "node3");

    // -h: through node2's clpd, which asks each server (itself included).
    let via = tmp.path().join("via");
    let out = rig.nodes[0].command(
        CLPLOGCC,
        &[
            "-t",
            "type3",
            "-h",
            "node2",
            "-n",
            "node1",
            "-n",
            "node2",
            "-o",
            path_str(&via),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stdout,
        "Collect Log node1 : Success\nCollect Log node2 : Success\n"
    );
    archive_of(&rig, &via, "node1");
    archive_of(&rig, &via, "node2");
    // node2's clpd passed node1's collection back to node1 (its log says so;
    // the log has a writer thread of its own, so the line may come late).
    rig.wait_for(
        "node2's rc log naming the collections it passed on",
        FORM,
        |rig| {
            let rc = fs::read_to_string(rig.nodes[1].root().join("var/log/clp/rc.log.cur"))
                .unwrap_or_default();
            rc.contains("for node1: CollectLogs").then_some(())
        },
    );

    // An unknown server is refused before anything is collected.
    let out = rig.nodes[0].command(CLPLOGCC, &["-n", "node9", "-o", path_str(&via)]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("node9"), "{}", out.all());
}

#[test]
fn clplogcc_reports_a_server_that_is_down_and_fails() {
    if skip("clplogcc_reports_a_server_that_is_down") {
        return;
    }
    let mut rig = formed_rig(3);
    rig.nodes[2].kill();
    rig.wait_for("node1 showing node3 Offline", FORM, |rig| {
        rig.shows(0, &["node1", "node2"]).then_some(())
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = rig.nodes[0].command(CLPLOGCC, &["-t", "type3", "-o", path_str(tmp.path())]);
    assert_ne!(out.code, 0, "{}", out.all());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.all());
    assert_eq!(lines[0], "Collect Log node1 : Success");
    assert_eq!(lines[1], "Collect Log node2 : Success");
    assert!(
        lines[2].starts_with("Collect Log node3 : Offline ("),
        "{}",
        out.all()
    );
    assert!(out.stderr.contains("node3"), "{}", out.all());
    archive_of(&rig, tmp.path(), "node1");
    archive_of(&rig, tmp.path(), "node2");
    assert!(!tmp.path().join("node3-log.tar.gz").exists());
}

#[test]
fn push_h_reaches_that_server_only_and_pull_h_brings_its_files() {
    if skip("push_h_reaches_that_server_only") {
        return;
    }
    let rig = formed_rig(3);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    fs::create_dir_all(&dir).unwrap();
    let conf = fs::read_to_string(rig.nodes[0].root().join("etc/clp/clp.conf")).unwrap();
    let changed = conf.replace("</root>", "<!-- node2 only -->\n</root>");
    fs::write(dir.join("clp.conf"), &changed).unwrap();
    write_script(&dir.join("scripts/trnreq/only2.sh"), "#!/bin/sh\nexit 0\n");

    let out = rig.nodes[0].command(CLPCFCTRL, &["--push", "-h", "node2", "-x", path_str(&dir)]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stdout,
        "file delivery to server node2 success.\nThe upload is completed successfully.(cfmgr:0)\nCommand succeeded.\n"
    );
    let installed =
        |node: usize, file: &str| fs::read(rig.nodes[node].root().join("etc/clp").join(file)).ok();
    assert_eq!(installed(1, "clp.conf"), Some(changed.clone().into_bytes()));
    assert!(installed(1, "scripts/trnreq/only2.sh").is_some());
    assert_eq!(installed(1, "authkey"), installed(0, "authkey"));
    for node in [0, 2] {
        assert_eq!(installed(node, "clp.conf"), Some(conf.clone().into_bytes()));
        assert!(installed(node, "scripts/trnreq/only2.sh").is_none());
    }

    // --pull -h node2 on node1: node2's files, as a local pull writes them.
    let pulled = tmp.path().join("pulled");
    let out = rig.nodes[0].command(
        CLPCFCTRL,
        &["--pull", "-h", "node2", "-x", path_str(&pulled)],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout, "Command succeeded.\n");
    assert_eq!(
        fs::read_to_string(pulled.join("clp.conf")).unwrap(),
        changed
    );
    assert!(pulled.join("scripts/trnreq/only2.sh").is_file());
    assert_eq!(
        fs::read(pulled.join("authkey")).ok(),
        installed(1, "authkey")
    );
    let leftovers: Vec<_> = fs::read_dir(&pulled)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A server that is not in the directory's clp.conf is refused.
    let out = rig.nodes[0].command(CLPCFCTRL, &["--push", "-h", "node9", "-x", path_str(&dir)]);
    assert_ne!(out.code, 0, "{}", out.all());
}
