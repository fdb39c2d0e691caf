//! The REST API on a cluster of two servers: node1's API answers for the
//! whole cluster (both servers, a group running on node2) and carries an
//! operation out on node2 (`target`), through the same forwarding as
//! `clpgrp -h`; its `/metrics` shows the whole cluster too.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::rest::{Accounts, Api, rstd};

const SCRIPTS: &[(&str, &str)] = &[("g1/r1/start.sh", "exit 0"), ("g1/r1/stop.sh", "exit 0")];

/// Runs `f` on a thread inside network namespace `netns` (where that
/// node's clpd listens on loopback).
fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on this thread only; the descriptor is open.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rest_any_server_answers_for_the_whole_cluster() {
    if skip("rest_any_server_answers_for_the_whole_cluster") {
        return;
    }
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let extras = format!(
        "  <group name=\"g1\"><gid>0</gid><start>0</start><resource name=\"exec@r1\"/></group>\n  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"r1\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n{}",
        rstd(
            29009,
            &format!("<operategroup>{}</operategroup>", accounts.group)
        )
    );
    rig.install(&rig.clp_conf(2, &extras), SCRIPTS);
    rig.start_all();
    rig.wait_for("both Online on both", FORM, |rig| {
        (0..2)
            .all(|o| rig.shows(o, &["node1", "node2"]))
            .then_some(())
    });
    let root = rig.nodes[0].root();
    let (operator, password) = (accounts.operator.clone(), accounts.password.clone());
    in_netns(&rig.nodes[0].netns.clone(), move || {
        let api = Api::https_of(&root, 29009);
        let op = Some((operator.as_str(), password.as_str()));
        wait_until("both servers Online through node1's API", || {
            api.get("/api/v1/servers", op).body["servers"]
                == serde_json::json!([
                    {"name": "node1", "status": "Online"},
                    {"name": "node2", "status": "Online"}
                ])
        });
        // Started on node2 through node1: answered once it runs there.
        api.post("/api/v1/groups/g1/start", op, Some(r#"{"target":"node2"}"#))
            .ok();
        wait_until("g1 Online on node2 in node1's view", || {
            let g = &api.get("/api/v1/groups/g1", op).body["groups"][0];
            g["status"] == "Online" && g["current"] == "node2"
        });
        // node1's /metrics answers for the cluster too: both servers, the
        // group current on node2, node1 hearing node2 on its heartbeat.
        let with = |scraped: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]| {
            crate::rest_metrics::value(scraped, name, labels) == Some(1.0)
        };
        let scraped = crate::rest_metrics::scrape(&root, 29009, op);
        for server in ["node1", "node2"] {
            let labels = [("server", server), ("state", "Online")];
            assert!(with(&scraped, "clp_server_state", &labels), "{server}");
        }
        let current = [("group", "g1"), ("server", "node2")];
        assert!(with(&scraped, "clp_group_current_server", &current));
        assert!(with(
            &scraped,
            "clp_group_state",
            &[("group", "g1"), ("state", "Online")]
        ));
        wait_until("node1 hears node2 in its /metrics", || {
            let scraped = crate::rest_metrics::scrape(&root, 29009, op);
            let link = [("server", "node1"), ("peer", "node2")];
            with(&scraped, "clp_heartbeat_link_up", &link)
        });
        let r1 = &api.get("/api/v1/resources/r1", op).body["resources"][0];
        assert_eq!(
            (r1["current"].as_str(), r1["group"].as_str()),
            (Some("node2"), Some("g1"))
        );
        api.post("/api/v1/groups/g1/stop", op, Some(r#"{"target":"node2"}"#))
            .ok();
        wait_until("g1 Offline in node1's view", || {
            api.get("/api/v1/groups/g1", op).body["groups"][0]["status"] == "Offline"
        });
        api.post("/api/v1/groups/g1/start", op, Some(r#"{"target":"node9"}"#))
            .refused(404, 4, "Invalid server name: node9");
    });
}
