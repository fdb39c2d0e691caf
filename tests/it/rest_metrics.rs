//! `/metrics` of a real clpd, parsed with a Prometheus text-format parser:
//! the states follow a monitor's failure and recovery, the counters count
//! the recovery; who may scrape (`rstd/metrics`); and `rstd/readgroup` with
//! real accounts in and out of the group.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clp::status::MonitorState;
use prometheus_parse::{Sample, Scrape, Value};

use crate::monitor::{set_fail, wait_mon};
use crate::rest::{Accounts, Api, free_port, rig_operated_by, rig_with_api};

/// An HTTPS client of loopback trusting the certificate clpd generated under `root`.
fn agent(root: &std::path::Path) -> ureq::Agent {
    let pem = std::fs::read(root.join("etc/clp/tls/clpd-api.crt")).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// Status and body of a GET of `/metrics` through `agent`.
fn get_metrics(agent: &ureq::Agent, port: u16, auth: Option<(&str, &str)>) -> (u16, String) {
    use base64::Engine;
    let mut request = agent.get(format!("https://127.0.0.1:{port}/metrics"));
    if let Some((user, password)) = auth {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header("Authorization", format!("Basic {basic}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    (status, body)
}

/// Status and body of a GET of `/metrics` over HTTPS on loopback, trusting
/// the certificate clpd generated under `root`.
pub fn scrape_raw(root: &std::path::Path, port: u16, auth: Option<(&str, &str)>) -> (u16, String) {
    get_metrics(&agent(root), port, auth)
}

/// A successful scrape, parsed.
pub fn scrape(root: &std::path::Path, port: u16, auth: Option<(&str, &str)>) -> Scrape {
    let (status, body) = scrape_raw(root, port, auth);
    assert_eq!(status, 200, "{body}");
    parse(&body)
}

pub fn parse(body: &str) -> Scrape {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{body}"))
}

/// Debian's `promtool check metrics` (package prometheus) on `body`:
/// Prometheus's own parser and its naming lint, where promtool is installed
/// (tests/run.sh does not install it: the package also installs and starts a
/// Prometheus server); skipped with a line otherwise.
fn promtool_accepts(body: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not installed: the Prometheus lint is skipped");
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}

/// The value of the series `name` whose labels include `labels`.
pub fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s: &&Sample| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .and_then(|s| match s.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => Some(v),
            Value::Histogram(_) | Value::Summary(_) => None,
        })
}

/// The sample `name` (a histogram's `_count` is read from its buckets).
fn histogram_count(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match &s.value {
            Value::Histogram(buckets) => buckets.last().map(|b| b.count),
            _ => None,
        })
}

/// Scrapes until `f` holds (generous deadline: the machine may be loaded).
fn scrape_until(
    root: &std::path::Path,
    port: u16,
    auth: Option<(&str, &str)>,
    what: &str,
    f: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let scrape = scrape(root, port, auth);
        if f(&scrape) {
            return scrape;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn one_hot(scrape: &Scrape, name: &str, labels: &[(&str, &str)], state: &str) -> bool {
    let mut with = labels.to_vec();
    with.push(("state", state));
    value(scrape, name, &with) == Some(1.0)
}

#[test]
fn metrics_follow_a_monitor_failure_and_its_recovery() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    wait_mon(&rig, "watch", MonitorState::Normal);
    let root = rig.root();
    let who = accounts.reader();
    let watch = [("monitor", "watch"), ("type", "genw"), ("server", "n1")];

    let first = scrape_until(&root, port, who, "a genw check counted", |s| {
        one_hot(s, "clp_monitor_state", &watch, "Normal")
            && histogram_count(s, "clp_monitor_check_seconds", &[("type", "genw")])
                .is_some_and(|n| n >= 1.0)
    });
    assert!(one_hot(
        &first,
        "clp_cluster_state",
        &[("cluster", "testcl")],
        "Online"
    ));
    assert!(one_hot(
        &first,
        "clp_server_state",
        &[("server", "n1")],
        "Online"
    ));
    assert!(one_hot(
        &first,
        "clp_group_state",
        &[("group", "g")],
        "Online"
    ));
    assert_eq!(
        value(
            &first,
            "clp_group_state",
            &[("group", "g"), ("state", "Offline")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &first,
            "clp_group_current_server",
            &[("group", "g"), ("server", "n1")]
        ),
        Some(1.0)
    );
    assert!(one_hot(
        &first,
        "clp_resource_state",
        &[("group", "g"), ("resource", "rb"), ("type", "exec")],
        "Online"
    ));
    assert!(
        value(
            &first,
            "clp_monitor_last_check_seconds",
            &[("monitor", "watch")]
        )
        .is_some()
    );
    assert!(histogram_count(&first, "clp_loop_turn_seconds", &[]).is_some_and(|n| n >= 1.0));
    assert!(histogram_count(&first, "clp_loop_wake_late_seconds", &[]).is_some());
    assert!(value(&first, "clp_alerts_total", &[("level", "info")]).is_some_and(|n| n >= 1.0));
    assert_eq!(
        value(
            &first,
            "clp_monitor_recoveries_total",
            &[("action", "restart")]
        ),
        Some(0.0)
    );
    assert_eq!(value(&first, "clp_resource_restarts_total", &[]), Some(0.0));
    assert_eq!(value(&first, "clp_failed_logins_total", &[]), Some(0.0));

    // The monitor fails: its state turns Error, its recovery (restart rh)
    // is counted, and the error alerts too.
    set_fail(&rig, "watch", true);
    let failed = scrape_until(&root, port, who, "the failure and its recovery", |s| {
        one_hot(s, "clp_monitor_state", &watch, "Error")
            && value(s, "clp_monitor_recoveries_total", &[("action", "restart")]) == Some(1.0)
    });
    assert_eq!(
        value(
            &failed,
            "clp_monitor_state",
            &[("monitor", "watch"), ("state", "Normal")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&failed, "clp_resource_restarts_total", &[]),
        Some(1.0)
    );
    assert!(value(&failed, "clp_alerts_total", &[("level", "error")]).is_some_and(|n| n >= 1.0));

    // Back to Normal; the counters stay.
    set_fail(&rig, "watch", false);
    let recovered = scrape_until(&root, port, who, "the monitor Normal again", |s| {
        one_hot(s, "clp_monitor_state", &watch, "Normal")
    });
    assert_eq!(
        value(
            &recovered,
            "clp_monitor_recoveries_total",
            &[("action", "restart")]
        ),
        Some(1.0)
    );

    let (_, body) = scrape_raw(&root, port, who);
    promtool_accepts(&body);

    // A wrong password is a failed login, counted.
    let wrong = Some((accounts.reader.as_str(), "not-the-password"));
    let (status, _) = scrape_raw(&root, port, wrong);
    assert_eq!(status, 401);
    let after = scrape(&root, port, who);
    assert_eq!(value(&after, "clp_failed_logins_total", &[]), Some(1.0));
    rig.stop_daemon();
}

#[test]
fn metrics_need_a_login_unless_opened_to_loopback_or_off() {
    // Default (auth): a scrape without a login is refused with the envelope.
    let port = free_port();
    let rig = rig_with_api(port, "");
    rig.start_online();
    Api::https(&rig, port)
        .get("/metrics", None)
        .refused(401, 5, "authentication failed");
    rig.stop_daemon();

    // open: a loopback client scrapes without a login.
    let port = free_port();
    let rig = rig_with_api(port, "<metrics>open</metrics>");
    rig.start_online();
    let scraped = scrape_until(&rig.root(), port, None, "the group Online", |s| {
        one_hot(s, "clp_group_state", &[("group", "g")], "Online")
    });
    assert!(value(&scraped, "clp_alerts_total", &[("level", "error")]).is_some());
    // The API itself still asks for a login.
    Api::https(&rig, port)
        .get("/api/v1/groups", None)
        .refused(401, 5, "authentication failed");
    rig.stop_daemon();

    // off: no such page.
    let port = free_port();
    let rig = rig_with_api(port, "<metrics>off</metrics>");
    rig.start_online();
    Api::https(&rig, port)
        .get("/metrics", None)
        .refused(404, 4, "metrics are off");
    rig.stop_daemon();
}

#[test]
fn rest_readgroup_lets_its_members_read_and_refuses_the_others() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    // The accounts' group reads; operating is left to root (no account of
    // the test is in group root).
    let port = free_port();
    let rig = rig_with_api(
        port,
        &format!(
            "<operategroup>root</operategroup><readgroup>{}</readgroup>",
            accounts.group
        ),
    );
    rig.start_online();
    let api = Api::https(&rig, port);
    let member = accounts.operator();
    let outsider = accounts.reader();

    // In the group: reads, scrapes, may not operate.
    api.get("/api/v1/groups", member).ok();
    api.get("/api/v1/monitors/watch", member).ok();
    scrape(&rig.root(), port, member);
    api.post("/api/v1/groups/g/stop", member, None)
        .refused(403, 5, "may read but not operate");
    // Not in the group: the envelope's 403 for reads, scrapes and operations.
    let who = &accounts.reader;
    for path in ["/api/v1/groups", "/api/v1/cluster", "/metrics"] {
        api.get(path, outsider)
            .refused(403, 5, &format!("account {who} may not read"));
    }
    api.post("/api/v1/groups/g/stop", outsider, None)
        .refused(403, 5, "may not read");
    // Nothing was stopped.
    api.get("/api/v1/groups/g", member).ok();
    assert_eq!(
        api.get("/api/v1/groups/g", member).body["groups"][0]["status"],
        "Online"
    );
    rig.stop_daemon();
}

/// Figures (ignored by default; run with `cargo test --release --test it
/// metrics_measure -- --ignored --nocapture`): a scrape's time and size with
/// 100 and 1000 monitors (genw at a 60 s interval: the checks stay out of
/// the way), and clpd's resident memory before and after 200 scrapes.
#[test]
#[ignore = "a measurement: run it on purpose"]
fn metrics_measure_scrape_time_size_and_rss() {
    use crate::daemon::{conf, exec};
    use crate::monitor::{flag_script, genw, monitors};
    for n in [100usize, 1000] {
        let port = free_port();
        let rig = crate::daemon::Rig::new();
        rig.recording_scripts("g", &["ra"]);
        let mons: Vec<_> = (0..n)
            .map(|i| {
                let name = format!("m{i}");
                flag_script(&rig, &name);
                genw(&name).interval(60)
            })
            .collect();
        rig.install(&conf(
            &[("g", &[exec("ra")])],
            &format!(
                "{}{}",
                monitors(&mons),
                crate::rest::rstd(port, "<metrics>open</metrics>")
            ),
        ));
        rig.start_online();
        let root = rig.root();
        scrape_until(&root, port, None, "every monitor Normal", |s| {
            s.samples
                .iter()
                .filter(|x| {
                    x.metric == "clp_monitor_state" && x.labels.get("state") == Some("Normal")
                })
                .filter(|x| matches!(x.value, Value::Gauge(v) if v == 1.0))
                .count()
                == n
        });
        let rss_before = rig.rss_kib();
        // One kept-alive connection, as Prometheus scrapes.
        let client = agent(&root);
        let mut took: Vec<Duration> = Vec::new();
        let mut size = 0;
        for _ in 0..200 {
            let started = Instant::now();
            let (status, body) = get_metrics(&client, port, None);
            took.push(started.elapsed());
            assert_eq!(status, 200);
            size = body.len();
        }
        took.sort();
        let rss_after = rig.rss_kib();
        let series = parse(&get_metrics(&client, port, None).1).samples.len();
        // The encoding alone, in this process, from the same snapshot.
        let published = clp::status::Published::new();
        let edition = published.publish(rig.snapshot().unwrap());
        let started = Instant::now();
        for _ in 0..100 {
            clp::rest::scrape::render(Some(edition.clone())).unwrap();
        }
        let render = started.elapsed() / 100;
        eprintln!(
            "{n} monitors: /metrics {size} bytes, {series} samples; 200 scrapes on one HTTPS connection: p50 {:?}, p99 {:?}, max {:?}; encoding alone {render:?}; clpd RSS {rss_before} KiB before, {rss_after} KiB after",
            took[99], took[197], took[199]
        );
        rig.stop_daemon();
    }
}
