//! The status page at `/` in a real headless Chromium (Debian's `chromium`),
//! driven over the DevTools pipe (`cdp.rs`), against a real clpd with its
//! generated certificate. The browser meets the HTTP Basic challenge as a
//! user would and answers it with a test account; the test reads the
//! rendered page, operates through its buttons and sees the change in the
//! page and in clpstat. The screenshot is kept in
//! `target/test-artifacts/web-status.png` (and `web-status-readonly.png`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clp::status::{MonitorState, RunState};
use serde_json::{Value, json};

use crate::cdp::{Browser, chromium};
use crate::daemon::{CLPSTAT, group};
use crate::logs::CLPLOGCMD;
use crate::monitor::{mon_in, wait_mon};
use crate::rest::{Accounts, Api, free_port, rig_operated_by, rig_with_api};

/// How long the page may take to show a change (it polls every second;
/// generous for a loaded machine).
const SHOWN: Duration = Duration::from_secs(60);

/// Markup in an alert's text: the page must show it as text.
const HOSTILE: &str = r#"<img src=x id=injected onerror="document.title='owned'">&amp;"#;

/// `target/test-artifacts/NAME`, beside the binaries this test runs.
fn artifact(name: &str) -> PathBuf {
    let bin = PathBuf::from(CLPSTAT);
    // target/<profile>/clpstat -> target/test-artifacts
    bin.parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("test-artifacts")
        .join(name)
}

/// Everything the page shows, as JSON, read from its DOM.
const READ_PAGE: &str = r#"(() => {
  const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')];
  const cells = (tr) => [...tr.children].map((td) => td.textContent);
  return {
    cluster: document.getElementById('cluster').textContent,
    service: document.getElementById('service').textContent,
    who: document.getElementById('who').textContent,
    servers: rows('servers').map((tr) => cells(tr).slice(0, 3)),
    groups: rows('groups').map((tr) => cells(tr).slice(0, 4)),
    monitors: rows('monitors').map((tr) => cells(tr).slice(0, 4)),
    alerts: rows('alerts').map((tr) => cells(tr)),
    buttons: [...document.querySelectorAll('button')].map((b) => b.textContent),
    images: document.querySelectorAll('img').length,
    title: document.title,
  };
})()"#;

/// The state cell of the row `data-KIND="NAME"`, once the page shows `state` there.
fn shows_state(kind: &str, name: &str, state: &str) -> String {
    format!(
        "(() => {{ const td = document.querySelector('tr[data-{kind}=\"{name}\"] td.state'); \
         return td !== null && td.textContent === '{state}'; }})()"
    )
}

fn click(browser: &mut Browser, kind: &str, name: &str, op: &str) {
    let clicked = browser.eval(&format!(
        "(() => {{ const b = document.querySelector('tr[data-{kind}=\"{name}\"] button[data-op=\"{op}\"]'); \
         if (b === null || b.disabled) return false; b.click(); return true; }})()"
    ));
    assert_eq!(
        clicked,
        json!(true),
        "no enabled {op} button for {kind} {name}"
    );
}

#[test]
fn web_page_shows_the_cluster_and_operates_with_rights() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let Some(program) = chromium() else {
        eprintln!("skipped: Debian's chromium is not installed (tests/run.sh installs it)");
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    wait_mon(&rig, "watch", MonitorState::Normal);
    rig.run(CLPLOGCMD, &["-m", HOSTILE, "-l", "WARN", "--alert"])
        .success();
    let url = format!("https://127.0.0.1:{port}/");

    let mut browser = Browser::start(&program, accounts.operator());
    browser.navigate(&url);
    browser.wait_until(
        "the page to show group g Online",
        &shows_state("group", "g", "Online"),
        SHOWN,
    );
    assert!(
        browser.challenges() >= 1,
        "the browser was never asked to log in"
    );
    browser.wait_until(
        "the operator's rights and the alerts",
        "document.getElementById('who').textContent.includes('may operate') \
         && document.querySelectorAll('#alerts tbody tr').length > 0",
        SHOWN,
    );
    let page = browser.eval(READ_PAGE);
    assert_eq!(page["cluster"], "testcl", "{page:#}");
    assert_eq!(page["service"], "Online", "{page:#}");
    assert_eq!(page["who"], format!("{} (may operate)", accounts.operator));
    assert_eq!(page["servers"][0][0], "*n1", "{page:#}");
    assert_eq!(page["servers"][0][1], "Online", "{page:#}");
    assert_eq!(
        page["groups"],
        json!([
            ["g", "Online", "n1", "ra (exec): Onlinerb (exec): Online"],
            ["h", "Online", "n1", "rh (exec): Online"]
        ]),
        "{page:#}"
    );
    assert_eq!(page["monitors"][0][0], "watch", "{page:#}");
    assert_eq!(page["monitors"][0][1], "genw", "{page:#}");
    assert_eq!(page["monitors"][0][2], "Normal", "{page:#}");
    assert_eq!(page["monitors"][0][3], "n1: Normal", "{page:#}");
    // The newest alert first: the hostile text, shown as text.
    let newest = &page["alerts"][0];
    assert_eq!(newest[5], HOSTILE, "{page:#}");
    assert_eq!(newest[4], "Warning", "{page:#}");
    assert_eq!(page["images"], 0, "markup from an alert was parsed");
    assert_ne!(page["title"], "owned");
    for op in ["start", "stop", "move", "suspend", "resume"] {
        assert!(
            page["buttons"]
                .as_array()
                .unwrap()
                .contains(&Value::from(op)),
            "{page:#}"
        );
    }

    // The headers, and the policy in force: no string becomes markup.
    let headers = browser.eval(
        "fetch('/', {cache: 'no-store'}).then((r) => ['content-security-policy', \
         'x-frame-options', 'cache-control'].map((h) => r.headers.get(h)))",
    );
    assert!(
        headers[0]
            .as_str()
            .unwrap()
            .starts_with("default-src 'self';"),
        "{headers}"
    );
    assert_eq!(headers[1], "DENY");
    assert_eq!(headers[2], "no-store");
    let refused = browser.eval(
        "(() => { try { document.body.innerHTML = '<b>x</b>'; return 'allowed'; } \
         catch (e) { return e.name; } })()",
    );
    assert_eq!(refused, "TypeError", "Trusted Types are not enforced");

    // Stop group g with its button: the page and clpstat show it Offline.
    click(&mut browser, "group", "g", "stop");
    browser.wait_until(
        "the page to show group g Offline",
        &shows_state("group", "g", "Offline"),
        SHOWN,
    );
    browser.wait_until(
        "the outcome of the stop",
        "document.getElementById('outcome').textContent === 'stop group g: done'",
        SHOWN,
    );
    assert_eq!(
        group(&rig.snapshot().unwrap(), "g").status,
        RunState::Offline
    );
    let stat = rig.run(CLPSTAT, &[]);
    stat.success();
    assert!(
        stat.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("g ") && l.contains(": Offline")),
        "{}",
        stat.stdout
    );
    // The page's current server of a stopped group.
    browser.wait_until(
        "no current server for g",
        "document.querySelector('tr[data-group=\"g\"] td.current').textContent === '-'",
        SHOWN,
    );

    // Suspend and resume the monitor with its buttons.
    click(&mut browser, "monitor", "watch", "suspend");
    browser.wait_until(
        "the page to show watch suspended",
        &shows_state("monitor", "watch", "Suspend"),
        SHOWN,
    );
    assert_eq!(
        mon_in(&rig.snapshot().unwrap(), "watch").status,
        MonitorState::Suspend
    );
    browser.screenshot(&artifact("web-status.png"));
    click(&mut browser, "monitor", "watch", "resume");
    browser.wait_until(
        "the page to show watch resumed",
        &shows_state("monitor", "watch", "Normal"),
        SHOWN,
    );

    // Start g again; a second start is refused by clpd, and the page says why.
    click(&mut browser, "group", "g", "start");
    browser.wait_until(
        "the page to show group g Online again",
        &shows_state("group", "g", "Online"),
        SHOWN,
    );
    browser.wait_until(
        "the buttons to be usable again",
        "!document.querySelector('tr[data-group=\"g\"] button[data-op=\"start\"]').disabled",
        SHOWN,
    );
    click(&mut browser, "group", "g", "start");
    browser.wait_until(
        "the refusal of a second start",
        "document.getElementById('outcome').textContent.includes('already online')",
        SHOWN,
    );
    drop(browser);

    // A reader sees the same cluster and no operation at all.
    let mut browser = Browser::start(&program, accounts.reader());
    browser.navigate(&url);
    browser.wait_until(
        "the reader's page",
        &format!(
            "{} && document.getElementById('who').textContent.includes('read only')",
            shows_state("group", "g", "Online")
        ),
        SHOWN,
    );
    let page = browser.eval(READ_PAGE);
    assert_eq!(page["buttons"], json!([]), "{page:#}");
    assert_eq!(page["monitors"][0][2], "Normal", "{page:#}");
    let refused =
        browser.eval("fetch('/api/v1/groups/g/stop', {method: 'POST'}).then((r) => r.status)");
    assert_eq!(refused, 403);
    browser.screenshot(&artifact("web-status-readonly.png"));
    drop(browser);
    assert_eq!(
        group(&rig.snapshot().unwrap(), "g").status,
        RunState::Online
    );
    rig.stop_daemon();
}

#[test]
fn web_page_reads_answer_in_clp_namespace() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    wait_mon(&rig, "watch", MonitorState::Normal);
    let api = Api::https(&rig, port);

    let me = api.get("/api/clp/v1/whoami", accounts.reader());
    me.ok();
    assert_eq!(
        (&me.body["user"], &me.body["operate"]),
        (&json!(accounts.reader), &json!(false))
    );
    let me = api.get("/api/clp/v1/whoami", accounts.operator());
    assert_eq!(me.ok().body["operate"], json!(true));
    api.get("/api/clp/v1/whoami", None)
        .refused(401, 5, "authentication failed");

    // The whole snapshot with its generation; nothing more when unchanged.
    let status = api.get("/api/clp/v1/status", accounts.reader());
    status.ok();
    assert_eq!(status.body["service"], "Online");
    assert_eq!(status.body["status"]["groups"][0]["name"], "g");
    let same = rig.wait_for("an unchanged answer", || {
        let generation = api.get("/api/clp/v1/status", accounts.reader()).body["generation"]
            .as_u64()
            .unwrap();
        let again = api.get(
            &format!("/api/clp/v1/status?known={generation}"),
            accounts.reader(),
        );
        (again.body["unchanged"] == json!(true)).then_some(again)
    });
    assert!(same.body.get("status").is_none(), "{}", same.body);
    api.get("/api/clp/v1/status?known=x", accounts.reader())
        .refused(400, 2, "known=x");

    // The newest alerts of this server's log, oldest first.
    for n in 1..=3 {
        rig.run(CLPLOGCMD, &["-m", &format!("web note {n}"), "--alert"])
            .success();
    }
    let alerts = api.get("/api/clp/v1/alerts?count=2", accounts.reader());
    alerts.ok();
    assert_eq!(alerts.body["server"], "n1");
    let messages: Vec<&str> = alerts.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["web note 2", "web note 3"]);
    api.get("/api/clp/v1/alerts?count=0", accounts.reader())
        .refused(400, 2, "count=0");
    api.get("/api/clp/v1/alerts?count=201", accounts.reader())
        .refused(400, 2, "from 1 to 200");
    rig.stop_daemon();
}

/// POST `path` with the `Origin` a foreign page's request carries.
fn post_from_origin(rig: &crate::daemon::Rig, port: u16, path: &str, who: (&str, &str)) -> u16 {
    use base64::Engine;
    let pem = std::fs::read(rig.root().join("etc/clp/tls/clpd-api.crt")).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            cert,
        ])))
        .build();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .tls_config(tls)
        .build()
        .new_agent();
    let login = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", who.0, who.1));
    agent
        .post(format!("https://127.0.0.1:{port}{path}"))
        .header("Authorization", format!("Basic {login}"))
        .header("Origin", "https://elsewhere.example")
        .header("Content-Type", "text/plain")
        .send("{}")
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn web_page_operations_from_another_site_are_refused() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    let who = accounts.operator().unwrap();
    assert_eq!(
        post_from_origin(&rig, port, "/api/v1/groups/g/stop", who),
        403
    );
    assert_eq!(
        group(&rig.snapshot().unwrap(), "g").status,
        RunState::Online
    );
    // The same operation from a script (no Origin) is carried out.
    Api::https(&rig, port)
        .post("/api/v1/groups/g/stop", accounts.operator(), None)
        .ok();
    rig.stop_daemon();
}

#[test]
#[ignore = "a measurement: run it on purpose"]
fn web_page_measure_polls() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let port = free_port();
    let rig = rig_with_api(port, "");
    rig.start_online();
    wait_mon(&rig, "watch", MonitorState::Normal);
    let api = Api::https(&rig, port);
    let who = accounts.reader();
    api.get("/api/clp/v1/status", who).ok();
    let measure = |path: &str| {
        let mut took: Vec<Duration> = (0..1000)
            .map(|_| {
                let start = Instant::now();
                api.get(path, who);
                start.elapsed()
            })
            .collect();
        took.sort();
        (took[500], took[990])
    };
    let full = measure("/api/clp/v1/status");
    let generation = api.get("/api/clp/v1/status", who).body["generation"]
        .as_u64()
        .unwrap();
    let unchanged = measure(&format!("/api/clp/v1/status?known={generation}"));
    let alerts = measure("/api/clp/v1/alerts?count=30");
    let size = api.get("/api/clp/v1/status", who).body.to_string().len();
    eprintln!(
        "status full ({size} B): median {:?} p99 {:?}; unchanged: median {:?} p99 {:?}; \
         alerts (30): median {:?} p99 {:?}",
        full.0, full.1, unchanged.0, unchanged.1, alerts.0, alerts.1
    );
    rig.stop_daemon();
}
