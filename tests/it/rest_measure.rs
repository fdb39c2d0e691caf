//! Figures of the REST API (ignored by default; run with
//! `cargo test --release --test it rest_measure -- --ignored --nocapture`):
//! the latency of GET /api/v1/groups over 1000 requests on one kept-alive
//! HTTPS connection, and clpd's resident memory with the API on and off.

use std::time::{Duration, Instant};

use crate::daemon::{Rig, conf, exec};
use crate::rest::{Accounts, Api, free_port, rig_with_api};

#[test]
#[ignore = "a measurement: run it on purpose"]
fn rest_measure_latency_and_rss() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let without = Rig::new();
    without.recording_scripts("g", &["ra"]);
    without.install(&conf(&[("g", &[exec("ra")])], ""));
    without.start_online();
    let rss_without = without.rss_kib();
    without.stop_daemon();

    let port = free_port();
    let rig = rig_with_api(port, "");
    rig.start_online();
    let rss_idle = rig.rss_kib();
    let api = Api::https(&rig, port);
    let who = accounts.reader();
    // The first request pays the TLS handshake and the PAM login.
    let started = Instant::now();
    api.get("/api/v1/groups", who).ok();
    let first = started.elapsed();
    let mut took: Vec<Duration> = (0..1000)
        .map(|_| {
            let started = Instant::now();
            let answer = api.get("/api/v1/groups", who);
            let elapsed = started.elapsed();
            assert_eq!(answer.status, 200);
            elapsed
        })
        .collect();
    took.sort();
    let rss_after = rig.rss_kib();
    eprintln!(
        "first GET (TLS handshake and PAM login): {first:?}; GET /api/v1/groups x1000: p50 {:?}, p99 {:?}, max {:?}; clpd RSS: {} KiB without the API, {} KiB with it idle, {} KiB after 1000 requests",
        took[499], took[989], took[999], rss_without, rss_idle, rss_after
    );
    rig.stop_daemon();
}
