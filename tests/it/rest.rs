//! The REST API of a real clpd in a temporary root: every read endpoint and
//! operation on one server, answered in CLUSTERPRO's envelope once the state
//! has settled. Logins go through PAM with the system's configuration
//! against OS accounts the test creates (root only; removed by a guard).
//! Helpers here are shared by `rest_security.rs`.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clp::status::{MonitorState, RunState, ServiceState};
use serde_json::{Value, json};

use crate::daemon::{Rig, conf, exec, group, res};
use crate::monitor::{escalation, flag_script, genw, monitors, wait_mon};

/// Two OS accounts for a test: `operator` (in `group`, the operate group)
/// and `reader` (not), with one password; deleted when dropped.
pub struct Accounts {
    pub operator: String,
    pub reader: String,
    pub group: String,
    pub password: String,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);
/// useradd and friends lock /etc/passwd and give up when it is taken: the
/// tests of this process change accounts one at a time.
static ACCOUNT_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sbin(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

impl Accounts {
    /// None when the test does not run as root (accounts cannot be made).
    pub fn create() -> Option<Accounts> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: creating test accounts needs root");
            return None;
        }
        let tag = format!(
            "{}{}",
            std::process::id() % 100_000,
            SERIAL.fetch_add(1, Ordering::SeqCst)
        );
        let _files = ACCOUNT_FILES.lock().unwrap_or_else(|e| e.into_inner());
        let accounts = Accounts {
            operator: format!("crestop{tag}"),
            reader: format!("crestrd{tag}"),
            group: format!("crestgr{tag}"),
            password: format!("Pw-{tag}-rest"),
        };
        assert!(sbin("groupadd", &[&accounts.group]), "groupadd");
        for (user, groups) in [
            (&accounts.operator, accounts.group.as_str()),
            (&accounts.reader, ""),
        ] {
            let mut args = vec!["-M", "-N", "-s", "/usr/sbin/nologin"];
            if !groups.is_empty() {
                args.extend(["-G", groups]);
            }
            args.push(user);
            assert!(sbin("useradd", &args), "useradd {user}");
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(
            chpasswd.stdin.as_mut().unwrap(),
            "{}:{}\n{}:{}",
            accounts.operator,
            accounts.password,
            accounts.reader,
            accounts.password
        )
        .unwrap();
        drop(chpasswd.stdin.take());
        assert!(chpasswd.wait().unwrap().success(), "chpasswd");
        Some(accounts)
    }

    pub fn operator(&self) -> Option<(&str, &str)> {
        Some((&self.operator, &self.password))
    }

    pub fn reader(&self) -> Option<(&str, &str)> {
        Some((&self.reader, &self.password))
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let _files = ACCOUNT_FILES.lock().unwrap_or_else(|e| e.into_inner());
        for user in [&self.operator, &self.reader] {
            sbin("userdel", &["-f", user]);
        }
        sbin("groupdel", &[&self.group]);
    }
}

/// A port free now on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `<rstd>` turning the API on at `port`, with `extra` settings.
pub fn rstd(port: u16, extra: &str) -> String {
    format!("<rstd><use>1</use><port>{port}</port>{extra}</rstd>\n")
}

/// A client of one clpd's API.
pub struct Api {
    pub base: String,
    agent: ureq::Agent,
}

/// Status, body (JSON) and headers of one answer.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: ureq::http::HeaderMap,
}

impl Answer {
    /// `result.code`.
    pub fn code(&self) -> i64 {
        self.body["result"]["code"].as_i64().unwrap_or(-1)
    }

    pub fn message(&self) -> &str {
        self.body["result"]["message"].as_str().unwrap_or("")
    }

    /// Asserts success: 200 and code 0.
    pub fn ok(&self) -> &Self {
        assert_eq!((self.status, self.code()), (200, 0), "{}", self.body);
        self
    }

    /// Asserts an error: `status` and `code`, the message containing `words`.
    pub fn refused(&self, status: u16, code: i64, words: &str) -> &Self {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.body);
        assert!(self.message().contains(words), "{}", self.body);
        self
    }
}

impl Api {
    /// HTTPS on loopback, trusting only the certificate clpd generated in `rig`'s root.
    pub fn https(rig: &Rig, port: u16) -> Api {
        Api::https_of(&rig.root(), port)
    }

    /// HTTPS on loopback, trusting only the certificate generated under `root`.
    pub fn https_of(root: &std::path::Path, port: u16) -> Api {
        let pem = std::fs::read(root.join("etc/clp/tls/clpd-api.crt")).unwrap();
        let cert = ureq::tls::Certificate::from_pem(&pem).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
            .build();
        Api::with(format!("https://127.0.0.1:{port}"), tls)
    }

    /// Plain HTTP on loopback.
    pub fn plain(port: u16) -> Api {
        Api::with(
            format!("http://127.0.0.1:{port}"),
            ureq::tls::TlsConfig::default(),
        )
    }

    fn with(base: String, tls: ureq::tls::TlsConfig) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .tls_config(tls)
            .build()
            .new_agent();
        Api { base, agent }
    }

    fn auth_header(auth: Option<(&str, &str)>) -> Option<String> {
        use base64::Engine;
        auth.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = result.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.body_mut().read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        Answer {
            status,
            body,
            headers,
        }
    }

    pub fn try_get(&self, path: &str, auth: Option<(&str, &str)>) -> Result<Answer, ureq::Error> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(h) = Self::auth_header(auth) {
            request = request.header("Authorization", h);
        }
        request.call().map(|r| Self::answer(Ok(r)))
    }

    pub fn get(&self, path: &str, auth: Option<(&str, &str)>) -> Answer {
        self.try_get(path, auth).unwrap()
    }

    pub fn post(&self, path: &str, auth: Option<(&str, &str)>, body: Option<&str>) -> Answer {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(h) = Self::auth_header(auth) {
            request = request.header("Authorization", h);
        }
        Self::answer(match body {
            Some(b) => request.send(b),
            None => request.send_empty(),
        })
    }
}

/// [`rig_with_api`] on a free port with the test accounts' group allowed to
/// operate, started: the opening of most API tests.
pub fn rig_operated_by(accounts: &Accounts) -> (u16, Rig) {
    let port = free_port();
    let rig = rig_with_api(
        port,
        &format!("<operategroup>{}</operategroup>", accounts.group),
    );
    rig.start_online();
    (port, rig)
}

/// Groups g (ra, rb after ra) and h (rh), monitor `watch` (genw, recovery:
/// restart rh once, then no operation), the API at `port` with `rest`.
pub fn rig_with_api(port: u16, rest: &str) -> Rig {
    let rig = Rig::new();
    rig.recording_scripts("g", &["ra", "rb"]);
    rig.recording_scripts("h", &["rh"]);
    flag_script(&rig, "watch");
    let watch = genw("watch")
        .recover_rsc("rh")
        .emergency(&escalation(1, 0, 1));
    rig.install(&conf(
        &[
            ("g", &[exec("ra"), exec("rb").depends("ra")]),
            ("h", &[exec("rh")]),
        ],
        &format!("{}{}", monitors(&[watch]), rstd(port, rest)),
    ));
    rig
}

#[test]
fn rest_reads_every_endpoint_with_select() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    wait_mon(&rig, "watch", MonitorState::Normal);
    let api = Api::https(&rig, port);
    let who = accounts.reader();

    let cluster = api.get("/api/v1/cluster", who);
    cluster.ok();
    assert_eq!(
        cluster.body["cluster"],
        json!({"name": "testcl", "status": "Online"})
    );
    assert_eq!(cluster.body["result"], json!({"code": 0, "message": ""}));
    api.get("/api/v1/cluster?select=name", who).ok();
    api.get("/api/v1/cluster/toratio", who)
        .refused(501, 2, "timeout ratio");

    let servers = api.get("/api/v1/servers", who);
    assert_eq!(
        servers.ok().body["servers"],
        json!([{"name": "n1", "status": "Online"}])
    );
    api.get("/api/v1/servers/n1", who).ok();
    api.get("/api/v1/servers/zz", who)
        .refused(404, 4, "Invalid server name: zz. Servers are: n1");

    let groups = api.get("/api/v1/groups", who);
    let g = &groups.ok().body["groups"];
    assert_eq!(g.as_array().unwrap().len(), 2);
    assert_eq!(g[0]["name"], "g");
    assert_eq!(g[0]["status"], "Online");
    assert_eq!(g[0]["current"], "n1");
    assert_eq!(g[0]["resources"][1]["name"], "rb");
    assert_eq!(g[0]["resources"][1]["status"], "Online");
    let one = api.get("/api/v1/groups/h?select=name,status", who);
    assert_eq!(
        one.ok().body["groups"],
        json!([{"name": "h", "status": "Online"}])
    );
    api.get("/api/v1/groups?select=", who)
        .refused(400, 2, "select names no field");
    api.get("/api/v1/groups/nope", who).refused(
        404,
        4,
        "Invalid group name: nope. Groups are: g, h",
    );

    let resources = api.get("/api/v1/resources", who);
    assert_eq!(
        resources.ok().body["resources"].as_array().unwrap().len(),
        3
    );
    let rb = api.get("/api/v1/resources/rb", who);
    assert_eq!(
        rb.ok().body["resources"],
        json!([{"name": "rb", "type": "exec", "status": "Online", "current": "n1", "group": "g"}])
    );
    api.get("/api/v1/resources/zz", who).refused(404, 4, "zz");

    let mons = api.get("/api/v1/monitors", who);
    assert_eq!(
        mons.ok().body["monitors"],
        json!([{"name": "watch", "type": "genw", "status": "Normal", "servers": [{"name": "n1", "status": "Normal"}]}])
    );
    let names = api.get("/api/v1/monitors/watch?select=name", who);
    assert_eq!(names.ok().body["monitors"], json!([{"name": "watch"}]));
    api.get("/api/v1/monitors/zz", who).refused(404, 4, "zz");
    rig.stop_daemon();
}

#[test]
fn rest_operations_answer_once_settled() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let (port, rig) = rig_operated_by(&accounts);
    wait_mon(&rig, "watch", MonitorState::Normal);
    let api = Api::https(&rig, port);
    let op = accounts.operator();
    let group_status = |name: &str| {
        let answer = api.get(&format!("/api/v1/groups/{name}"), op);
        answer.ok();
        answer.body["groups"][0]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Groups: the answer comes once the group has settled.
    api.post("/api/v1/groups/g/stop", op, None).ok();
    assert_eq!(group_status("g"), "Offline");
    assert_eq!(
        group(&rig.snapshot().unwrap(), "g").status,
        RunState::Offline
    );
    api.post("/api/v1/groups/g/stop", op, None)
        .refused(409, 8, "group g is already offline");
    api.post("/api/v1/groups/g/start", op, Some("{}")).ok();
    assert_eq!(group_status("g"), "Online");
    api.post("/api/v1/groups/g/start", op, Some(r#"{"target":"n1"}"#))
        .refused(409, 8, "already online");
    api.post("/api/v1/groups/g/move", op, None)
        .refused(409, 8, "g");
    api.post("/api/v1/groups/nope/start", op, None)
        .refused(404, 4, "Invalid group name: nope");
    api.post("/api/v1/groups/g/explode", op, None)
        .refused(404, 4, "no such operation");
    // Every group.
    api.post("/api/v1/groups/stop", op, None).ok();
    assert_eq!(
        (group_status("g"), group_status("h")),
        ("Offline".into(), "Offline".into())
    );
    api.post("/api/v1/groups/start", op, None).ok();
    assert_eq!(
        (group_status("g"), group_status("h")),
        ("Online".into(), "Online".into())
    );

    // Resources.
    api.post("/api/v1/resources/ra/stop", op, None)
        .refused(409, 8, "rb depend on resource ra");
    api.post("/api/v1/resources/rb/stop", op, None).ok();
    assert_eq!(
        res(&rig.snapshot().unwrap(), "rb").status,
        RunState::Offline
    );
    api.post("/api/v1/resources/rb/start", op, None).ok();
    assert_eq!(res(&rig.snapshot().unwrap(), "rb").status, RunState::Online);

    // Monitors.
    api.post("/api/v1/monitors/watch/suspend", op, None).ok();
    wait_mon(&rig, "watch", MonitorState::Suspend);
    api.post("/api/v1/monitors/watch/resume", op, None).ok();
    wait_mon(&rig, "watch", MonitorState::Normal);
    api.post("/api/v1/monitors/watch/dummy-failure/start", op, None)
        .ok();
    wait_mon(&rig, "watch", MonitorState::Error);
    api.post("/api/v1/monitors/watch/dummy-failure/stop", op, None)
        .ok();
    wait_mon(&rig, "watch", MonitorState::Normal);
    api.post("/api/v1/monitors/zz/suspend", op, None)
        .refused(404, 4, "zz");

    // The cluster and the server.
    let service = |rig: &Rig| rig.snapshot().unwrap().cluster.service;
    api.post("/api/v1/cluster/suspend", op, None).ok();
    assert_eq!(service(&rig), ServiceState::Suspended);
    assert_eq!(
        api.get("/api/v1/cluster", op).body["cluster"]["status"],
        "Suspend"
    );
    api.post("/api/v1/cluster/resume", op, None).ok();
    assert_eq!(service(&rig), ServiceState::Online);
    api.post("/api/v1/cluster/stop", op, None).ok();
    assert_eq!(service(&rig), ServiceState::Offline);
    assert_eq!(
        api.get("/api/v1/cluster", op).body["cluster"]["status"],
        "Offline"
    );
    api.post("/api/v1/groups/g/start", op, None)
        .refused(409, 8, "not running");
    api.post("/api/v1/cluster/start", op, None).ok();
    rig.wait_snap("every group Online", |s| {
        s.groups.iter().all(|g| g.status == RunState::Online)
    });
    api.post("/api/v1/servers/n1/stop", op, None).ok();
    assert_eq!(service(&rig), ServiceState::Offline);
    api.post("/api/v1/servers/n1/start", op, None).ok();
    assert_eq!(service(&rig), ServiceState::Online);
    api.post("/api/v1/servers/zz/start", op, None)
        .refused(404, 4, "Invalid server name: zz");
    api.post("/api/v1/cluster/explode", op, None)
        .refused(404, 4, "no such operation");
    rig.stop_daemon();
}
