//! The real clpd under a temporary `CLP_ROOT`: start/stop order, the `CLP_*`
//! environment of scripts, the default configuration, double start.
//!
//! Every test builds its own configuration (clp.conf + small /bin/sh scripts that
//! append what they saw to files in the test's scratch directory), installs it
//! with `clpcfctrl --push`, starts the cluster with `clpcl -s` as server `n1`
//! (`CLP_HOSTNAME`) and drives it with the real programs. A [`Rig`] owns the
//! sandbox; dropping it stops clpd (SIGTERM, then SIGKILL after a deadline) and
//! kills every process still carrying the sandbox's `CLP_ROOT` in its
//! environment, so a failing test leaves nothing behind. Nothing sleeps for a
//! fixed time: conditions are polled with short waits under a deadline, and a
//! timeout shows the status snapshot, the alert log, the daemon's logs and what
//! the scripts recorded.
//!
//! The harness (this file's first half) is shared by `daemon_*.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clp::status::{GroupStatus, ResourceStatus, RunState, ServiceState, Snapshot};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util::{CLPCFCTRL, Output, Sandbox, run, write_script};

pub const CLPD: &str = env!("CARGO_BIN_EXE_clpd");
pub const CLPCL: &str = env!("CARGO_BIN_EXE_clpcl");
pub const CLPGRP: &str = env!("CARGO_BIN_EXE_clpgrp");
pub const CLPRSC: &str = env!("CARGO_BIN_EXE_clprsc");
pub const CLPSTAT: &str = env!("CARGO_BIN_EXE_clpstat");
pub const CLPDOWN: &str = env!("CARGO_BIN_EXE_clpdown");
pub const CLPSTDN: &str = env!("CARGO_BIN_EXE_clpstdn");

/// The server every test configuration names (`CLP_HOSTNAME`).
pub const HOST: &str = "n1";

/// How long any awaited condition may take. Scripts here finish in
/// milliseconds; the slowest condition is a 2 s script timeout.
pub const WAIT: Duration = Duration::from_secs(15);

// ---- configurations ---------------------------------------------------------

/// An exec resource of a test configuration.
#[derive(Debug, Clone)]
pub struct Exec {
    pub name: String,
    /// `parameters/act/sync`.
    pub sync_start: bool,
    /// `parameters/timeout/start` in seconds.
    pub start_timeout: Option<u32>,
    /// `parameters/timeout/stop` in seconds.
    pub stop_timeout: Option<u32>,
    /// Inner XML of `<act>` (the resource's activation policy).
    pub act: String,
    /// Inner XML of `<deact>`.
    pub deact: String,
    pub depends: Vec<String>,
}

/// A synchronous exec resource with default policies.
pub fn exec(name: &str) -> Exec {
    Exec {
        name: name.into(),
        sync_start: true,
        start_timeout: None,
        stop_timeout: None,
        act: String::new(),
        deact: String::new(),
        depends: Vec::new(),
    }
}

impl Exec {
    /// `parameters/act/sync` 0: the start script runs asynchronously.
    pub fn asynchronous(mut self) -> Self {
        self.sync_start = false;
        self
    }

    pub fn start_timeout(mut self, secs: u32) -> Self {
        self.start_timeout = Some(secs);
        self
    }

    pub fn stop_timeout(mut self, secs: u32) -> Self {
        self.stop_timeout = Some(secs);
        self
    }

    /// Inner XML of `<act>`, e.g. `<retry>1</retry><action>2</action>`.
    pub fn act(mut self, xml: &str) -> Self {
        self.act = xml.into();
        self
    }

    /// Inner XML of `<deact>`.
    pub fn deact(mut self, xml: &str) -> Self {
        self.deact = xml.into();
        self
    }

    pub fn depends(mut self, on: &str) -> Self {
        self.depends.push(on.into());
        self
    }

    fn xml(&self) -> String {
        let sync = if self.sync_start {
            ""
        } else {
            "<sync>0</sync>"
        };
        let start = self
            .start_timeout
            .map(|t| format!("<start>{t}</start>"))
            .unwrap_or_default();
        let stop = self
            .stop_timeout
            .map(|t| format!("<stop>{t}</stop>"))
            .unwrap_or_default();
        let timeout = if start.is_empty() && stop.is_empty() {
            String::new()
        } else {
            format!("<timeout>{start}{stop}</timeout>")
        };
        let act = if self.act.is_empty() {
            String::new()
        } else {
            format!("<act>{}</act>", self.act)
        };
        let deact = if self.deact.is_empty() {
            String::new()
        } else {
            format!("<deact>{}</deact>", self.deact)
        };
        let depends: String = self
            .depends
            .iter()
            .map(|d| format!("<depend name=\"{d}\"/>"))
            .collect();
        format!(
            "    <exec name=\"{}\"><parameters><act><path>start.sh</path>{sync}</act><deact><path>stop.sh</path></deact>{timeout}</parameters>{act}{deact}{depends}</exec>\n",
            self.name
        )
    }
}

/// A clp.conf for server [`HOST`] with `groups` (name, members) and `extra`
/// XML placed under `<root>` (e.g. `<clp><action>...</action></clp>`).
/// One group `g` with exec `slow` whose start script times out after 2 s;
/// no retry, no failover, no final action: the resource stays Online Failure.
pub fn slow_start_conf() -> String {
    conf(
        &[(
            "g",
            &[exec("slow")
                .start_timeout(2)
                .act("<timeout>600</timeout><fo>0</fo>")],
        )],
        "",
    )
}

pub fn conf(groups: &[(&str, &[Exec])], extra: &str) -> String {
    let mut group_xml = String::new();
    let mut resource_xml = String::new();
    for (gid, (name, members)) in groups.iter().enumerate() {
        group_xml.push_str(&format!("  <group name=\"{name}\"><gid>{gid}</gid>"));
        for m in *members {
            group_xml.push_str(&format!("<resource name=\"exec@{}\"/>", m.name));
            resource_xml.push_str(&m.xml());
        }
        group_xml.push_str("</group>\n");
    }
    let resources = if resource_xml.is_empty() {
        String::new()
    } else {
        format!("  <resource>\n    <types name=\"exec\"/>\n{resource_xml}  </resource>\n")
    };
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>testcl</name></cluster>
  <server name="{HOST}"><priority>0</priority><device id="0"><type>lan</type><info>127.0.0.1</info></device></server>
  <heartbeat><types name="lanhb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb></heartbeat>
{group_xml}{resources}{extra}</root>
"#
    )
}

/// A start script that records `start <resource> <event>` (and its pid) in `$LOG`.
pub const REC_START: &str = r#"echo "start $CLP_RESOURCENAME $CLP_EVENT pid=$$" >> "$LOG""#;
/// A stop script that records `stop <resource> <factor> pid=<CLP_PID>` in `$LOG`.
pub const REC_STOP: &str = r#"echo "stop $CLP_RESOURCENAME $CLP_FACTOR pid=$CLP_PID" >> "$LOG""#;

/// Script lines that wait until the test calls [`Rig::open_gate`]. A start
/// script that fails at once would otherwise race `clpcl -s`: clpd starts the
/// service itself before `clpcl` sends its own start request.
pub const GATE: &str = r#"while [ ! -e "$T/gate" ]; do sleep 0.02; done"#;

// ---- the rig ------------------------------------------------------------------

/// One sandboxed clp installation and the clpd running in it.
pub struct Rig {
    sb: Sandbox,
    /// Extra environment for every program run (and so for a clpd they start).
    env: Vec<(String, String)>,
}

impl Rig {
    pub fn new() -> Self {
        let sb = Sandbox::new();
        fs::create_dir_all(sb.work().join("t")).unwrap();
        Rig {
            sb,
            env: Vec::new(),
        }
    }

    /// The relocated root (`CLP_ROOT`).
    pub fn root(&self) -> PathBuf {
        self.sb.root()
    }

    /// The scratch directory scripts write to (`$T` in scripts).
    pub fn t(&self) -> PathBuf {
        self.sb.work().join("t")
    }

    /// `$LOG`: what the recording scripts append to.
    pub fn log_path(&self) -> PathBuf {
        self.t().join("events.log")
    }

    /// The configuration directory being built (pushed with [`Rig::push`]).
    pub fn cfg(&self) -> PathBuf {
        self.sb.work().join("cfg")
    }

    /// Adds `KEY=value` to the environment of every program run from now on.
    pub fn setenv(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    /// Writes `clp.conf` into the configuration directory.
    pub fn write_conf(&self, text: &str) {
        fs::create_dir_all(self.cfg()).unwrap();
        fs::write(self.cfg().join("clp.conf"), text).unwrap();
    }

    /// Writes `scripts/<group>/<resource>/<file>`: `#!/bin/sh`, `LOG` and `T`
    /// set to this rig's files, then `body`.
    pub fn script(&self, group: &str, resource: &str, file: &str, body: &str) {
        let path = self
            .cfg()
            .join("scripts")
            .join(group)
            .join(resource)
            .join(file);
        write_script(&path, &self.script_text(body));
    }

    fn script_text(&self, body: &str) -> String {
        format!(
            "#!/bin/sh\nLOG='{}'\nT='{}'\n{body}\n",
            self.log_path().display(),
            self.t().display()
        )
    }

    /// Recording start.sh and stop.sh ([`REC_START`], [`REC_STOP`]) for each resource.
    pub fn recording_scripts(&self, group: &str, resources: &[&str]) {
        for r in resources {
            self.script(group, r, "start.sh", REC_START);
            self.script(group, r, "stop.sh", REC_STOP);
        }
    }

    /// Writes the configuration and pushes it (`clpcfctrl --push -x cfg`).
    pub fn install(&self, conf_text: &str) -> Output {
        self.write_conf(conf_text);
        self.push()
    }

    /// `clpcfctrl --push -x cfg`; must succeed.
    pub fn push(&self) -> Output {
        let cfg = self.cfg();
        let out = self.run(CLPCFCTRL, &["--push", "-x", cfg.to_str().unwrap()]);
        out.success();
        out
    }

    /// A command for `program` in this sandbox, as server [`HOST`].
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = self.sb.command(program, HOST);
        cmd.env_remove("CLP_LOG_LEVEL").env_remove("NOTIFY_SOCKET");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Lets scripts waiting at [`GATE`] go on.
    pub fn open_gate(&self) {
        fs::write(self.t().join("gate"), "").unwrap();
    }

    /// Runs `program args...` to completion.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        run(self.command(program).args(args))
    }

    /// `clpcl -s`; must succeed.
    pub fn start(&self) -> Output {
        let out = self.run(CLPCL, &["-s"]);
        out.success();
        out
    }

    /// `clpcl -s`, then waits until every group is Online.
    pub fn start_online(&self) -> Snapshot {
        self.start();
        self.wait_snap("every group Online", |s| {
            s.cluster.service == ServiceState::Online
                && s.groups.iter().all(|g| g.status == RunState::Online)
        })
    }

    // ---- what happened -------------------------------------------------------

    /// The status snapshot, if one is written and readable.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let bytes = fs::read(self.root().join("run/clp/status.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Lines the recording scripts wrote to `$LOG`.
    pub fn lines(&self) -> Vec<String> {
        read_lines(&self.log_path())
    }

    /// Lines of `$LOG` starting with `prefix`.
    pub fn lines_starting(&self, prefix: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// The alert log as (module, event id, message).
    pub fn alerts(&self) -> Vec<(String, u32, String)> {
        read_lines(&self.root().join("var/log/clp/alert.log"))
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                (
                    v["module"].as_str().unwrap_or_default().to_string(),
                    u32::try_from(v["event_id"].as_u64().unwrap_or(0)).unwrap_or(0),
                    v["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Messages of the alerts `module event_id`.
    pub fn alert_messages(&self, module: &str, id: u32) -> Vec<String> {
        self.alerts()
            .into_iter()
            .filter(|(m, i, _)| m == module && *i == id)
            .map(|(_, _, msg)| msg)
            .collect()
    }

    /// Asserts that the alert log holds `module id` with a message containing `text`.
    pub fn assert_alert(&self, module: &str, id: u32, text: &str) {
        let found = self
            .alert_messages(module, id)
            .iter()
            .any(|m| m.contains(text));
        assert!(
            found,
            "no alert {module} {id} mentioning {text:?}\n{}",
            self.dump()
        );
    }

    /// Waits (with the rig's deadline) until the module log of `module`
    /// holds the event line `<type: module><event: id> text...`. Every alert
    /// is there, including those the catalog sends to syslog only (rc
    /// 30/31/40/41). The log has a writer thread of its own: a line may land
    /// after the status that the same step published.
    pub fn assert_logged(&self, module: &str, id: u32, text: &str) {
        let line = format!("<type: {module}><event: {id}> {text}");
        let file = self.root().join(format!("var/log/clp/{module}.log.cur"));
        self.wait_for(&format!("{line:?} in {module}.log.cur"), || {
            fs::read_to_string(&file)
                .unwrap_or_default()
                .contains(&line)
                .then_some(())
        });
    }

    /// Everything clpd wrote to its module logs (`var/log/clp/*.log.cur`).
    pub fn daemon_logs(&self) -> String {
        let dir = self.root().join("var/log/clp");
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.ends_with(".log.cur") || n.ends_with(".err.cur"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| {
                format!(
                    "--- {}\n{}",
                    p.file_name().unwrap().to_string_lossy(),
                    fs::read_to_string(p).unwrap_or_default()
                )
            })
            .collect()
    }

    /// The running clpd's pid (from its locked pid file).
    pub fn daemon_pid(&self) -> Option<i32> {
        match clp::pidfile::probe(&clp::paths::Paths::new(self.root())) {
            Ok(clp::pidfile::DaemonState::Running(pid)) if pid > 0 => Some(pid),
            _ => None,
        }
    }

    /// clpd's resident memory (VmRSS) in KiB; it must be running.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.daemon_pid().expect("clpd runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    }

    /// What a failed wait shows.
    pub fn dump(&self) -> String {
        let snap = fs::read_to_string(self.root().join("run/clp/status.json"))
            .unwrap_or_else(|e| format!("(no snapshot: {e})"));
        let alerts = fs::read_to_string(self.root().join("var/log/clp/alert.log"))
            .unwrap_or_else(|e| format!("(no alert log: {e})"));
        format!(
            "=== status.json\n{snap}\n=== alert.log\n{alerts}=== $LOG\n{}\n=== daemon logs\n{}",
            self.lines().join("\n"),
            self.daemon_logs()
        )
    }

    // ---- waiting ---------------------------------------------------------------

    /// Polls `f` until it returns Some, failing after [`WAIT`] with [`Rig::dump`].
    pub fn wait_for<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {WAIT:?} waiting for {what}\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the snapshot satisfies `pred`; returns it.
    pub fn wait_snap(&self, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
        self.wait_for(what, || self.snapshot().filter(|s| pred(s)))
    }

    /// Waits until `$LOG` holds `n` lines starting with `prefix`; returns all lines.
    pub fn wait_lines(&self, prefix: &str, n: usize) -> Vec<String> {
        self.wait_for(
            &format!("{n} line(s) starting with {prefix:?} in $LOG"),
            || (self.lines_starting(prefix).len() >= n).then(|| self.lines()),
        )
    }

    /// Waits until the cluster service is Offline (groups stopped) and clpd still runs.
    pub fn wait_service_offline(&self) -> Snapshot {
        self.wait_snap("the cluster service Offline", |s| {
            s.cluster.service == ServiceState::Offline
        })
    }

    /// Waits until process `pid` is gone (or a zombie).
    pub fn wait_gone(&self, pid: i32, what: &str) {
        self.wait_for(&format!("{what} (pid {pid}) to end"), || {
            (!alive(pid)).then_some(())
        });
    }

    // ---- stopping ----------------------------------------------------------------

    /// Sends `sig` to clpd; returns its pid.
    pub fn signal_daemon(&self, sig: Signal) -> i32 {
        let pid = self
            .daemon_pid()
            .unwrap_or_else(|| panic!("clpd is not running\n{}", self.dump()));
        assert!(self.owns(pid), "pid {pid} is not this sandbox's clpd");
        kill(Pid::from_raw(pid), sig).unwrap();
        pid
    }

    /// SIGTERM to clpd; asserts it exits within [`WAIT`].
    pub fn stop_daemon(&self) {
        let pid = self.signal_daemon(Signal::SIGTERM);
        self.wait_gone(pid, "clpd after SIGTERM");
    }

    /// `kill -9` of clpd; waits until it is gone and its lock is free.
    pub fn kill_daemon(&self) -> i32 {
        let pid = self.signal_daemon(Signal::SIGKILL);
        self.wait_gone(pid, "clpd after SIGKILL");
        // The main thread is a zombie before the other threads have ended;
        // the lock (and the socket) close with the last of them.
        self.wait_for("the killed clpd's lock to be free", || {
            self.daemon_pid().is_none().then_some(())
        });
        pid
    }

    /// Whether process `pid` carries this sandbox's `CLP_ROOT`.
    pub fn owns(&self, pid: i32) -> bool {
        let wanted = format!("CLP_ROOT={}", self.root().display());
        fs::read(format!("/proc/{pid}/environ"))
            .map(|env| {
                env.split(|b| *b == 0)
                    .any(|entry| entry == wanted.as_bytes())
            })
            .unwrap_or(false)
    }

    /// Live processes started in this sandbox (clpd, scripts, their children).
    pub fn processes(&self) -> Vec<i32> {
        all_pids()
            .into_iter()
            .filter(|p| alive(*p) && self.owns(*p))
            .collect()
    }

    /// SIGTERM to clpd, SIGKILL when it outlives the deadline; then SIGKILL to
    /// everything still carrying this sandbox's root. Never panics.
    fn teardown(&self) {
        let mut killed: Vec<i32> = Vec::new();
        if let Some(pid) = self.daemon_pid().filter(|p| self.owns(*p)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) {
                eprintln!("clpd (pid {pid}) ignored SIGTERM for 10 s: killing it");
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                killed.push(pid);
            }
        }
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                killed.push(pid);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Processes killed under libfaketime (the clock tests) leave their
        // shared memory behind.
        for pid in killed {
            crate::util::remove_faketime_leftovers(pid);
        }
        // The cgroups of runs that outlived clpd (killed just now).
        clp::exec::remove_leftovers(&self.root());
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.teardown();
    }
}

// ---- processes and snapshots ----------------------------------------------------

pub fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Fields after the command name of `/proc/<pid>/stat` (state is index 0).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

/// Live processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| {
            stat_fields(*p).is_some_and(|f| {
                f.first().is_some_and(|s| s != "Z")
                    && f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
            })
        })
        .collect()
}

/// A pid a script wrote to `file` (waits for it).
pub fn pid_in(rig: &Rig, file: &str) -> i32 {
    let path = rig.t().join(file);
    rig.wait_for(&format!("a pid in {}", path.display()), || {
        fs::read_to_string(&path).ok()?.trim().parse().ok()
    })
}

pub fn group<'a>(s: &'a Snapshot, name: &str) -> &'a GroupStatus {
    s.groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name} in the snapshot: {s:#?}"))
}

pub fn res<'a>(s: &'a Snapshot, name: &str) -> &'a ResourceStatus {
    s.groups
        .iter()
        .flat_map(|g| &g.resources)
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no resource {name} in the snapshot: {s:#?}"))
}

/// Whether every resource of `s` named in `names` is in `state`.
pub fn all_in(s: &Snapshot, names: &[&str], state: RunState) -> bool {
    names.iter().all(|n| {
        s.groups
            .iter()
            .flat_map(|g| &g.resources)
            .any(|r| r.name == *n && r.status == state)
    })
}

/// Position of the first line equal to or starting with `prefix`.
pub fn pos(lines: &[String], prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {lines:#?}"))
}

/// `KEY=value` lines of an environment dump (`env > file`).
pub fn env_file(rig: &Rig, file: &str) -> std::collections::BTreeMap<String, String> {
    let path = rig.t().join(file);
    let text = rig.wait_for(&format!("{}", path.display()), || {
        fs::read_to_string(&path).ok().filter(|t| t.ends_with('\n'))
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---- tests ------------------------------------------------------------------------

#[test]
fn daemon_starts_in_dependency_order_and_stops_in_reverse() {
    let rig = Rig::new();
    // ra is slow, so a dependent started before ra completed would show up first.
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"echo "start ra begin" >> "$LOG"; sleep 0.3; echo "start ra end" >> "$LOG""#,
    );
    rig.script("g", "ra", "stop.sh", r#"echo "stop ra" >> "$LOG""#);
    rig.script("g", "rb", "start.sh", r#"echo "start rb" >> "$LOG""#);
    rig.script(
        "g",
        "rb",
        "stop.sh",
        r#"echo "stop rb begin" >> "$LOG"; sleep 0.3; echo "stop rb end" >> "$LOG""#,
    );
    rig.recording_scripts("g", &["rc"]);
    rig.install(&conf(
        &[("g", &[exec("ra"), exec("rb").depends("ra"), exec("rc")])],
        "",
    ));

    let out = rig.start();
    assert_eq!(out.stdout, format!("Start {HOST} : Command succeeded.\n"));
    rig.start_online();
    let lines = rig.lines();
    assert!(
        pos(&lines, "start ra end") < pos(&lines, "start rb"),
        "rb started before ra completed: {lines:#?}"
    );
    assert_eq!(rig.lines_starting("start rc").len(), 1, "{lines:#?}");

    let out = rig.run(CLPCL, &["-t"]);
    out.success();
    assert_eq!(out.stdout, format!("Stop {HOST} : Command succeeded.\n"));
    let snap = rig.wait_snap("everything Offline", |s| {
        s.cluster.service == ServiceState::Offline
            && group(s, "g").status == RunState::Offline
            && all_in(s, &["ra", "rb", "rc"], RunState::Offline)
    });
    let lines = rig.lines();
    assert!(
        pos(&lines, "stop rb end") < pos(&lines, "stop ra"),
        "ra stopped before its dependent rb: {lines:#?}"
    );
    assert_eq!(rig.lines_starting("stop rc").len(), 1, "{lines:#?}");

    // clpd keeps running and answering after clpcl -t.
    let pid = rig.daemon_pid().expect("clpd holds its pid file lock");
    assert_eq!(u32::try_from(pid).unwrap(), snap.daemon_pid);
    assert!(rig.owns(pid));
    let out = rig.run(CLPGRP, &["-s", "g"]);
    out.expect_code(8);
    assert!(
        out.stderr.contains("the cluster service is not running"),
        "{}",
        out.stderr
    );
    let stat = rig.run(CLPSTAT, &[]);
    stat.success();
    assert!(
        stat.stdout.contains("g ...............: Offline"),
        "{}",
        stat.stdout
    );
    for r in ["ra", "rb", "rc"] {
        assert!(
            stat.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{r} ")) && l.contains(": Offline")),
            "{r} is not Offline in\n{}",
            stat.stdout
        );
    }

    // rc 10/11/20/21 for the group, 30/31/40/41 for each resource.
    for (id, text) in [
        (10, "Activating group g has started."),
        (11, "Activating group g has completed."),
        (20, "Stopping group g has started."),
        (21, "Stopping group g has completed."),
    ] {
        assert_eq!(
            rig.alert_messages("rc", id),
            [text],
            "rc {id}\n{}",
            rig.dump()
        );
    }
    // The catalog sends rc 30/31/40/41 to syslog only: they are in rc's module
    // log, not in the alert log.
    for r in ["ra", "rb", "rc"] {
        rig.assert_logged("rc", 30, &format!("Activating {r} resource has started."));
        rig.assert_logged("rc", 31, &format!("Activating {r} resource has completed."));
        rig.assert_logged("rc", 40, &format!("Stopping {r} resource has started."));
        rig.assert_logged("rc", 41, &format!("Stopping {r} resource has completed."));
    }
    for id in [30, 31, 40, 41] {
        assert!(
            rig.alert_messages("rc", id).is_empty(),
            "rc {id}\n{}",
            rig.dump()
        );
    }
    rig.stop_daemon();
}

/// Start and stop scripts dump their whole environment.
fn env_dumping_rig() -> Rig {
    let rig = Rig::new();
    rig.script("g", "rs", "start.sh", r#"env > "$T/rs.start.env""#);
    rig.script(
        "g",
        "rs",
        "stop.sh",
        r#"env > "$T/rs.stop.env.tmp"; mv "$T/rs.stop.env.tmp" "$T/rs.stop.env""#,
    );
    // Asynchronous: the start script is the application and runs until stop.sh kills it.
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"env > "$T/ra.start.env.tmp"; mv "$T/ra.start.env.tmp" "$T/ra.start.env"; echo $$ > "$T/ra.pid"; exec sleep 300"#,
    );
    rig.script(
        "g",
        "ra",
        "stop.sh",
        r#"env > "$T/ra.stop.env.tmp"; mv "$T/ra.stop.env.tmp" "$T/ra.stop.env"; [ -n "$CLP_PID" ] && kill "$CLP_PID"; exit 0"#,
    );
    rig.install(&conf(
        &[("g", &[exec("rs"), exec("ra").asynchronous()])],
        "",
    ));
    rig
}

fn os_release_field(key: &str) -> String {
    let text = fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

/// Takes a stop script's environment dump (so the next stop writes a fresh one).
fn take_env(rig: &Rig, file: &str) -> std::collections::BTreeMap<String, String> {
    let env = env_file(rig, file);
    fs::remove_file(rig.t().join(file)).unwrap();
    env
}

#[test]
fn daemon_script_environment_for_start_and_stop() {
    let rig = env_dumping_rig();
    let snap = rig.start_online();
    let async_pid = res(&snap, "ra").pid.expect("the async start script's pid");
    assert_eq!(pid_in(&rig, "ra.pid"), i32::try_from(async_pid).unwrap());

    let install = Path::new(CLPD).parent().unwrap().parent().unwrap();
    for (r, file) in [("rs", "rs.start.env"), ("ra", "ra.start.env")] {
        let env = env_file(&rig, file);
        let get = |k: &str| {
            env.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{r}: no {k} in {env:#?}"))
        };
        assert_eq!(get("CLP_EVENT"), "START");
        assert_eq!(get("CLP_SERVER"), "HOME");
        assert_eq!(get("CLP_DISK"), "SUCCESS");
        assert_eq!(get("CLP_PRIORITY"), "1");
        assert_eq!(get("CLP_GROUPNAME"), "g");
        assert_eq!(get("CLP_RESOURCENAME"), r);
        let full = get("CLP_VERSION_FULL");
        let major = get("CLP_VERSION_MAJOR");
        assert!(
            !major.is_empty() && full.starts_with(&format!("{major}.")),
            "{full} / {major}"
        );
        assert_eq!(get("CLP_PATH"), install.display().to_string());
        assert_eq!(get("CLP_OSNAME"), {
            let n = os_release_field("NAME");
            if n.is_empty() { "Linux".to_string() } else { n }
        });
        assert_eq!(get("CLP_OSVER"), os_release_field("VERSION_ID"));
        // Stop-only variables are not set for start scripts.
        assert!(!env.contains_key("CLP_FACTOR"), "{r}: {env:#?}");
        assert!(!env.contains_key("CLP_PID"), "{r}: {env:#?}");
        // The clp programs come first on PATH.
        assert!(
            get("PATH").starts_with(&Path::new(CLPD).parent().unwrap().display().to_string()),
            "{}",
            get("PATH")
        );
    }

    // clpgrp -t: GROUPSTOP; CLP_PID is empty for the synchronous resource and
    // the asynchronous start script's pid for the other.
    rig.run(CLPGRP, &["-t", "g"]).success();
    let rs = take_env(&rig, "rs.stop.env");
    let ra = take_env(&rig, "ra.stop.env");
    assert_eq!(rs["CLP_FACTOR"], "GROUPSTOP");
    assert_eq!(rs["CLP_EVENT"], "START");
    assert_eq!(rs["CLP_SERVER"], "HOME");
    assert_eq!(rs["CLP_DISK"], "SUCCESS");
    assert_eq!(rs["CLP_PRIORITY"], "1");
    assert_eq!(rs["CLP_GROUPNAME"], "g");
    assert_eq!(rs["CLP_RESOURCENAME"], "rs");
    assert_eq!(rs.get("CLP_PID").map(String::as_str), Some(""), "{rs:#?}");
    assert_eq!(ra["CLP_FACTOR"], "GROUPSTOP");
    assert_eq!(ra["CLP_PID"], async_pid.to_string());
    rig.wait_gone(i32::try_from(async_pid).unwrap(), "the async start script");

    // clpcl -t: CLUSTERSHUTDOWN.
    rig.run(CLPGRP, &["-s", "g"]).success();
    rig.run(CLPCL, &["-t"]).success();
    assert_eq!(
        take_env(&rig, "rs.stop.env")["CLP_FACTOR"],
        "CLUSTERSHUTDOWN"
    );
    assert_eq!(
        take_env(&rig, "ra.stop.env")["CLP_FACTOR"],
        "CLUSTERSHUTDOWN"
    );

    // SIGTERM of clpd: SERVERSHUTDOWN.
    rig.start_online();
    rig.stop_daemon();
    assert_eq!(
        take_env(&rig, "rs.stop.env")["CLP_FACTOR"],
        "SERVERSHUTDOWN"
    );
    assert_eq!(
        take_env(&rig, "ra.stop.env")["CLP_FACTOR"],
        "SERVERSHUTDOWN"
    );
    rig.assert_alert("pm", 2, "Shutting down the cluster daemon");
}

#[test]
fn daemon_without_a_configuration_runs_the_default_cluster() {
    let rig = Rig::new();
    // No clp.conf installed: a single-server cluster named after the host.
    rig.start();
    let snap = rig.wait_snap("the service Online", |s| {
        s.cluster.service == ServiceState::Online
    });
    assert_eq!(snap.cluster.name, HOST);
    assert_eq!(snap.servers.len(), 1);
    assert_eq!(snap.servers[0].name, HOST);
    assert!(snap.servers[0].local);
    assert!(snap.groups.is_empty(), "{snap:#?}");
    assert_eq!(snap.monitors.len(), 1);
    assert_eq!(snap.monitors[0].name, "userw");
    assert_eq!(snap.monitors[0].kind, "userw");

    let stat = rig.run(CLPSTAT, &[]);
    stat.success();
    assert!(
        stat.stdout.contains(&format!("Cluster : {HOST}")),
        "{}",
        stat.stdout
    );
    assert!(
        stat.stdout.contains(&format!("*{HOST} .")),
        "{}",
        stat.stdout
    );
    assert!(stat.stdout.contains("userw"), "{}", stat.stdout);
    // Written by the log thread, which may lag on a loaded machine.
    rig.wait_for("the default configuration in the log", || {
        rig.daemon_logs()
            .contains("running the default single-server configuration")
            .then_some(())
    });

    let out = rig.run(CLPCL, &["-t"]);
    out.success();
    assert_eq!(out.stdout, format!("Stop {HOST} : Command succeeded.\n"));
    rig.wait_service_offline();
    assert!(
        rig.daemon_pid().is_some(),
        "clpd must keep running after clpcl -t"
    );
    rig.run(CLPSTAT, &[]).success();
    rig.stop_daemon();
}

#[test]
fn daemon_second_instance_exits_251() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["r1"]);
    rig.install(&conf(&[("g", &[exec("r1")])], ""));
    rig.start_online();
    let first = rig.daemon_pid().unwrap();

    let out = rig.run(CLPD, &["--foreground"]);
    out.expect_code(251);
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    assert!(out.stderr.contains(&first.to_string()), "{}", out.stderr);
    // The first one is untouched and nothing was started twice.
    assert_eq!(rig.daemon_pid(), Some(first));
    assert!(alive(first));
    assert_eq!(
        rig.lines_starting("start r1").len(),
        1,
        "{:#?}",
        rig.lines()
    );
    // clpd without --foreground (detaching) finds it running and succeeds.
    rig.run(CLPD, &[]).success();
    assert_eq!(rig.daemon_pid(), Some(first));
    rig.stop_daemon();
}
