//! Monitors in the real clpd under a temporary `CLP_ROOT`: pidw (event-driven
//! restart of an asynchronous exec, the escalation up to each final action, the
//! pre-action before a restart, a deliberate stop that is no failure, one
//! recovery per death, one check per interval). The harness of `daemon.rs`
//! ([`Rig`]) runs everything; this file adds a builder for `<monitor>` XML and
//! waits on monitor states and alerts, shared by `monitor_*.rs`.
//!
//! Every monitor here polls each second (`polling/interval 1`) and starts at once
//! (`firstmonwait 0`) unless a test needs otherwise; nothing sleeps for a fixed
//! time: tests wait on the status snapshot, the alert log and what the scripts
//! recorded, each under the rig's deadline.

use std::time::{Duration, Instant};

use clp::status::{MonitorState, MonitorStatus, RunState, ServiceState, Snapshot};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::daemon::{GATE, REC_STOP, Rig, alive, conf, exec, group, pos, read_lines, res};

pub const CLPMONCTRL: &str = env!("CARGO_BIN_EXE_clpmonctrl");

// ---- monitor configurations ---------------------------------------------------

/// One monitor of a test configuration.
#[derive(Debug, Clone)]
pub struct Mon {
    kind: String,
    name: String,
    target: Option<String>,
    timing: Option<u32>,
    interval: u32,
    timeout: Option<u32>,
    retry: u32,
    first_wait: u32,
    /// (`rsc`|`grp`|`cls`, name).
    relation: Option<(String, String)>,
    /// Inner XML of `<emergency>`.
    emergency: String,
    /// Inner XML of `<parameters>`.
    params: String,
}

/// A monitor of type `kind`: interval 1 s, reconfirmation 0, firstmonwait 0,
/// Always timing, recovery target LocalServer, default thresholds and action.
pub fn mon(kind: &str, name: &str) -> Mon {
    Mon {
        kind: kind.into(),
        name: name.into(),
        target: None,
        timing: None,
        interval: 1,
        timeout: None,
        retry: 0,
        first_wait: 0,
        relation: None,
        emergency: String::new(),
        params: String::new(),
    }
}

/// A pidw watching exec `target` and restarting it on error.
pub fn pidw(name: &str, target: &str) -> Mon {
    mon("pidw", name).active(target).recover_rsc(target)
}

/// A synchronous genw running the bundled `genw.sh` of monitor `name`.
pub fn genw(name: &str) -> Mon {
    mon("genw", name)
}

impl Mon {
    /// Active timing (`polling/timing 1`) on resource `target`.
    pub fn active(mut self, target: &str) -> Self {
        self.target = Some(target.into());
        self.timing = Some(1);
        self
    }

    pub fn interval(mut self, secs: u32) -> Self {
        self.interval = secs;
        self
    }

    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout = Some(secs);
        self
    }

    /// `polling/reconfirmation`.
    pub fn retry(mut self, n: u32) -> Self {
        self.retry = n;
        self
    }

    pub fn first_wait(mut self, secs: u32) -> Self {
        self.first_wait = secs;
        self
    }

    /// Recovery target: exec resource `r`.
    pub fn recover_rsc(mut self, r: &str) -> Self {
        self.relation = Some(("rsc".into(), r.into()));
        self
    }

    /// Recovery target: group `g`.
    pub fn recover_grp(mut self, g: &str) -> Self {
        self.relation = Some(("grp".into(), g.into()));
        self
    }

    /// Inner XML of `<emergency>`, e.g. [`escalation`].
    pub fn emergency(mut self, xml: &str) -> Self {
        self.emergency = xml.into();
        self
    }

    /// Inner XML of `<parameters>`.
    pub fn params(mut self, xml: &str) -> Self {
        self.params = xml.into();
        self
    }

    fn xml(&self) -> String {
        let mut x = format!("    <{} name=\"{}\">", self.kind, self.name);
        if let Some(t) = &self.target {
            x.push_str(&format!("<target>{t}</target>"));
        }
        x.push_str("<polling>");
        if let Some(t) = self.timing {
            x.push_str(&format!("<timing>{t}</timing>"));
        }
        x.push_str(&format!("<interval>{}</interval>", self.interval));
        if let Some(t) = self.timeout {
            x.push_str(&format!("<timeout>{t}</timeout>"));
        }
        x.push_str(&format!(
            "<reconfirmation>{}</reconfirmation></polling><firstmonwait>{}</firstmonwait>",
            self.retry, self.first_wait
        ));
        if let Some((kind, name)) = &self.relation {
            x.push_str(&format!(
                "<relation><type>{kind}</type><name>{name}</name></relation>"
            ));
        }
        if !self.emergency.is_empty() {
            x.push_str(&format!("<emergency>{}</emergency>", self.emergency));
        }
        if !self.params.is_empty() {
            x.push_str(&format!("<parameters>{}</parameters>", self.params));
        }
        x.push_str(&format!("</{}>\n", self.kind));
        x
    }
}

/// `<emergency>` thresholds and final action: `restart` restarts, `fo`
/// failovers, then action `action` (reference §2.5).
pub fn escalation(restart: u32, fo: u32, action: u32) -> String {
    format!(
        "<threshold><script>0</script><restart>{restart}</restart><fo>{fo}</fo></threshold><action>{action}</action>"
    )
}

/// The `<monitor>` element holding `mons`.
pub fn monitors(mons: &[Mon]) -> String {
    let mut types: Vec<&str> = Vec::new();
    for m in mons {
        if !types.contains(&m.kind.as_str()) {
            types.push(&m.kind);
        }
    }
    let mut x = String::from("  <monitor>\n");
    for t in types {
        x.push_str(&format!("    <types name=\"{t}\"/>\n"));
    }
    for m in mons {
        x.push_str(&m.xml());
    }
    x.push_str("  </monitor>\n");
    x
}

/// Writes the bundled `genw.sh` of monitor `name` (with `LOG` and `T` set).
pub fn genw_script(rig: &Rig, name: &str, body: &str) {
    rig.script("monitor.s", name, "genw.sh", body);
}

/// A genw script that records `run <name>` and fails while `$T/fail.<name>` exists.
pub fn flag_script(rig: &Rig, name: &str) {
    genw_script(
        rig,
        name,
        &format!(r#"echo "run {name}" >> "$LOG"; [ ! -e "$T/fail.{name}" ]"#),
    );
}

/// Makes the monitor written by [`flag_script`] fail (or pass again).
pub fn set_fail(rig: &Rig, name: &str, fail: bool) {
    let flag = rig.t().join(format!("fail.{name}"));
    if fail {
        std::fs::write(flag, "").unwrap();
    } else {
        let _ = std::fs::remove_file(flag);
    }
}

/// A genw that only records `tick` each second: evidence that time passed and
/// that clpd keeps checking.
pub fn ticker(rig: &Rig) -> Mon {
    genw_script(rig, "tick", r#"echo tick >> "$LOG""#);
    genw("tick")
}

/// Waits for `n` more runs of [`ticker`] than there are now.
pub fn wait_ticks(rig: &Rig, n: usize) {
    let have = rig.lines_starting("tick").len();
    rig.wait_lines("tick", have + n);
}

// ---- monitor states and alerts -------------------------------------------------

pub fn mon_in<'a>(s: &'a Snapshot, name: &str) -> &'a MonitorStatus {
    s.monitors
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no monitor {name} in the snapshot: {s:#?}"))
}

/// Waits until monitor `name` is in `state`.
pub fn wait_mon(rig: &Rig, name: &str, state: MonitorState) -> Snapshot {
    rig.wait_snap(&format!("monitor {name} {state:?}"), |s| {
        s.monitors
            .iter()
            .any(|m| m.name == name && m.status == state)
    })
}

/// Messages of alerts `module id` mentioning `text`.
pub fn alerts_with(rig: &Rig, module: &str, id: u32, text: &str) -> Vec<String> {
    rig.alert_messages(module, id)
        .into_iter()
        .filter(|m| m.contains(text))
        .collect()
}

/// Waits until `n` alerts `module id` mention `text`; returns their messages.
pub fn wait_alerts(rig: &Rig, module: &str, id: u32, text: &str, n: usize) -> Vec<String> {
    rig.wait_for(
        &format!("{n} alert(s) {module} {id} mentioning {text:?}"),
        || {
            let found = alerts_with(rig, module, id, text);
            (found.len() >= n).then_some(found)
        },
    )
}

/// Waits for one alert `module id` mentioning `text`.
pub fn wait_alert(rig: &Rig, module: &str, id: u32, text: &str) -> String {
    wait_alerts(rig, module, id, text, 1).remove(0)
}

/// The pid of exec `r`'s asynchronous start script once it is Online with one
/// other than `not`.
pub fn wait_async_pid(rig: &Rig, r: &str, not: Option<u32>) -> u32 {
    rig.wait_for(&format!("{r} Online with a new pid (not {not:?})"), || {
        let s = rig.snapshot()?;
        let rs = s
            .groups
            .iter()
            .flat_map(|g| &g.resources)
            .find(|x| x.name == r)?;
        (rs.status == RunState::Online)
            .then_some(rs.pid)
            .flatten()
            .filter(|p| Some(*p) != not)
    })
}

pub fn as_pid(p: u32) -> i32 {
    i32::try_from(p).unwrap()
}

/// Sends `sig` to `pid`, which must be one of this rig's processes.
pub fn signal(rig: &Rig, pid: u32, sig: Signal) {
    // A script caught in an exec (start.sh becoming `sleep`) has no readable
    // environment for a moment: wait for it rather than read it once.
    rig.wait_for(&format!("pid {pid} to be this sandbox's"), || {
        rig.owns(as_pid(pid)).then_some(())
    });
    kill(Pid::from_raw(as_pid(pid)), sig).unwrap();
}

// ---- pidw --------------------------------------------------------------------------

/// Stop-script lines that kill `$CLP_PID` if it is still our `sleep 300`
/// (CLP_PID is kept after the start script died; its number may be reused).
pub const KILL_SLEEPER: &str = r#"P="$CLP_PID"
if [ -n "$P" ] && [ "$(tr '\0' ' ' < /proc/$P/cmdline 2>/dev/null)" = "sleep 300 " ]; then kill -9 "$P"; fi
exit 0"#;

/// The scripts of an asynchronous exec `ra` in group `g` whose start script
/// becomes `sleep 300` (and records its start in `$LOG`), and whose stop
/// script kills that sleep.
pub fn sleeper_scripts(rig: &Rig) {
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME $CLP_EVENT pid=$$" >> "$LOG"; exec sleep 300"#,
    );
    rig.script("g", "ra", "stop.sh", &format!("{REC_STOP}\n{KILL_SLEEPER}"));
}

/// An asynchronous exec `ra` running `sleep 300`, watched by pidw `pidw1` (as
/// `extra_mon` makes it), and a ticker; `setup` writes more scripts first.
fn sleeper_rig(extra_mon: impl FnOnce(Mon) -> Mon, setup: impl FnOnce(&Rig)) -> Rig {
    let rig = Rig::new();
    setup(&rig);
    sleeper_scripts(&rig);
    let m = extra_mon(pidw("pidw1", "ra"));
    let tick = ticker(&rig);
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &monitors(&[m, tick]),
    ));
    rig
}

/// Waits until pidw's first check is behind us, so that a kill is seen by
/// the process watch alone (a kill landing in the batch where that check is
/// due was once counted twice: `monitor_pidw_one_death_is_one_recovery`). Two
/// runs of the ticker are more than a second of the daemon's loop after the
/// monitor started.
fn settle(rig: &Rig) {
    wait_alert(rig, "rm", 1, "Monitoring pidw1 has started.");
    wait_ticks(rig, 2);
}

#[test]
fn monitor_pidw_kill9_restarts_at_once_without_waiting_for_the_interval() {
    // Interval 60: only the pidfd event can make the restart come within seconds.
    let rig = sleeper_rig(|m| m.interval(60).emergency(&escalation(3, 0, 1)), |_| ());
    rig.start_online();
    let first = wait_async_pid(&rig, "ra", None);
    settle(&rig);
    let snap = wait_mon(&rig, "pidw1", MonitorState::Normal);
    assert_eq!(mon_in(&snap, "pidw1").kind, "pidw");

    let killed_at = Instant::now();
    signal(&rig, first, Signal::SIGKILL);
    rig.wait_lines("start ra", 2);
    let latency = killed_at.elapsed();
    assert!(
        latency < Duration::from_secs(5),
        "the restart took {latency:?} with a 60 s interval: not event-driven\n{}",
        rig.dump()
    );
    let second = wait_async_pid(&rig, "ra", Some(first));
    assert!(alive(as_pid(second)));
    assert!(!alive(as_pid(first)));

    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring pidw1.");
    assert!(
        rm9.contains(&format!("process {first} has exited")),
        "{rm9}"
    );
    rig.assert_alert(
        "rm",
        13,
        "Recovery target ra has restarted because an error was detected in monitoring pidw1.",
    );
    // The restart stopped ra first. Its start script died alone (nothing of its
    // process group is left), so CLP_PID is empty: the number may be reused.
    let stops = rig.lines_starting("stop ra");
    assert_eq!(
        stops,
        ["stop ra RESOURCERESTART pid=".to_string()],
        "{}",
        rig.dump()
    );
    let lines = rig.lines();
    assert!(pos(&lines, "stop ra") < pos(&lines, &format!("start ra START pid={second}")));

    // Back to normal once the new process is seen: rm 26 and counters reset.
    wait_alert(&rig, "rm", 26, "pidw1 status changed from error to normal.");
    let snap = wait_mon(&rig, "pidw1", MonitorState::Normal);
    assert_eq!(mon_in(&snap, "pidw1").restart_count, 0, "{snap:#?}");
    assert_eq!(rig.lines_starting("start ra").len(), 2, "{}", rig.dump());
    assert_eq!(
        alerts_with(&rig, "rm", 13, "pidw1").len(),
        1,
        "{}",
        rig.dump()
    );
    rig.stop_daemon();
}

#[test]
fn monitor_pidw_stopping_the_group_is_no_failure() {
    let rig = sleeper_rig(|m| m.emergency(&escalation(3, 0, 1)), |_| ());
    rig.start_online();
    // The race needs the stop script's end and the process's exit to reach
    // clpd in the batch of the stop request: try a number of times.
    for round in 1..=25 {
        let pid = wait_async_pid(&rig, "ra", None);
        wait_mon(&rig, "pidw1", MonitorState::Normal);
        let out = rig.run(crate::daemon::CLPGRP, &["-t", "g"]);
        assert_eq!(out.code, 0, "round {round}: {}\n{}", out.stderr, rig.dump());
        rig.wait_gone(as_pid(pid), "ra's process after clpgrp -t");
        let stopped = rig.wait_for("pidw1 and g Offline, or an rm 9", || {
            if !alerts_with(&rig, "rm", 9, "pidw1").is_empty() {
                return Some(false);
            }
            let s = rig.snapshot()?;
            (mon_in(&s, "pidw1").status == MonitorState::Offline
                && group(&s, "g").status == RunState::Offline)
                .then_some(true)
        });
        assert!(
            stopped,
            "round {round}: a deliberate stop was taken for a failure\n{}",
            rig.dump()
        );
        rig.run(crate::daemon::CLPGRP, &["-s", "g"]).success();
    }
    rig.stop_daemon();
}

/// Like [`wait_async_pid`], without pausing between looks: returns the moment
/// the snapshot shows `r` Online with a pid other than `not`.
fn spin_async_pid(rig: &Rig, r: &str, not: u32) -> u32 {
    let deadline = Instant::now() + crate::daemon::WAIT;
    loop {
        if let Some(p) = rig.snapshot().and_then(|s| {
            let x = s
                .groups
                .iter()
                .flat_map(|g| &g.resources)
                .find(|x| x.name == r)?;
            (x.status == RunState::Online).then_some(x.pid?)
        }) && p != not
        {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "{r} did not restart\n{}",
            rig.dump()
        );
        std::thread::yield_now();
    }
}

#[test]
fn monitor_pidw_one_death_is_one_recovery() {
    // Restart threshold high and no restart limit (clp/restartlimit/max 0):
    // each kill must cost exactly one restart.
    let rig = sleeper_rig(|m| m.emergency(&escalation(999, 0, 1)), |_| ());
    let text = std::fs::read_to_string(rig.cfg().join("clp.conf")).unwrap();
    rig.write_conf(&text.replacen(
        "</root>",
        "<clp><restartlimit><max>0</max></restartlimit></clp></root>",
        1,
    ));
    rig.push();
    rig.start_online();
    let mut pid = wait_async_pid(&rig, "ra", None);
    for round in 1..=40 {
        // Kill as soon as the new process is seen: pidw's first check
        // (firstmonwait 0) may still be due.
        signal(&rig, pid, Signal::SIGKILL);
        pid = spin_async_pid(&rig, "ra", pid);
        wait_alerts(&rig, "rm", 13, "pidw1", round);
        let restarts = alerts_with(&rig, "rm", 13, "pidw1").len();
        assert_eq!(
            restarts,
            round,
            "{round} death(s), {restarts} restarts\n{}",
            rig.dump()
        );
    }
    rig.stop_daemon();
}

/// An asynchronous exec `ra` whose application dies 0.2 s after starting (the
/// first start waits at the gate), pidw with 2 restarts then `action`.
/// firstmonwait 3 keeps the check from seeing the short-lived process alive (which
/// would be a return to normal and reset the counters): each death is seen
/// through the executor's pidfd only.
fn dying_app_rig(action: u32, extra_root: impl FnOnce(&Rig) -> String) -> Rig {
    let rig = Rig::new();
    let extra_root = extra_root(&rig);
    rig.script(
        "g",
        "ra",
        "start.sh",
        &format!(
            "{GATE}\necho \"start $CLP_RESOURCENAME $CLP_EVENT\" >> \"$LOG\"; exec sh -c 'sleep 0.2; exit 1'"
        ),
    );
    rig.script("g", "ra", "stop.sh", REC_STOP);
    let m = pidw("pidw1", "ra")
        .first_wait(3)
        .emergency(&escalation(2, 0, action));
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &format!("{}{extra_root}", monitors(&[m])),
    ));
    rig.start();
    rig.open_gate();
    rig
}

/// Exactly three starts (the first and two restarts), two rm 13, and the
/// restarts' stops before `final_stop` (each without its `pid=`).
fn assert_two_restarts(rig: &Rig, final_stop: &str) {
    assert_eq!(
        rig.lines_starting("start ra"),
        ["start ra START", "start ra START", "start ra START"],
        "{}",
        rig.dump()
    );
    assert_eq!(
        alerts_with(rig, "rm", 13, "Recovery target ra has restarted").len(),
        2,
        "{}",
        rig.dump()
    );
    assert_eq!(
        alerts_with(rig, "rm", 9, "Detected an error in monitoring pidw1.").len(),
        3,
        "{}",
        rig.dump()
    );
    let stops: Vec<String> = rig
        .lines_starting("stop ra")
        .iter()
        .map(|l| l.split(" pid=").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        stops,
        [
            "stop ra RESOURCERESTART",
            "stop ra RESOURCERESTART",
            final_stop
        ],
        "{}",
        rig.dump()
    );
}

#[test]
fn monitor_pidw_after_the_restart_threshold_stops_the_group() {
    let rig = dying_app_rig(2, |_| String::new());
    wait_alert(
        &rig,
        "rm",
        12,
        "Recovery target g has stopped because an error was detected in monitoring pidw1.",
    );
    let snap = rig.wait_snap("group g Offline", |s| {
        group(s, "g").status == RunState::Offline && res(s, "ra").status == RunState::Offline
    });
    assert_eq!(snap.cluster.service, ServiceState::Online);
    assert_two_restarts(&rig, "stop ra GROUPSTOP");
    // The monitor stops with its target: nothing more is restarted.
    wait_mon(&rig, "pidw1", MonitorState::Offline);
    assert_eq!(rig.lines_starting("start ra").len(), 3);
    let snap = rig.snapshot().unwrap();
    let m = mon_in(&snap, "pidw1");
    assert_eq!((m.restart_count, m.final_action_done), (2, true), "{m:#?}");
    rig.stop_daemon();
}

#[test]
fn monitor_pidw_after_the_restart_threshold_stops_the_cluster_service() {
    let rig = dying_app_rig(3, |_| String::new());
    wait_alert(
        &rig,
        "rm",
        15,
        "Stopping the cluster has been required because an error was detected in monitoring pidw1.",
    );
    let snap = rig.wait_service_offline();
    assert_eq!(res(&snap, "ra").status, RunState::Offline, "{snap:#?}");
    assert_two_restarts(&rig, "stop ra CLUSTERSHUTDOWN");
    let pid = rig.daemon_pid().expect("clpd keeps running");
    assert!(alive(pid));
    rig.run(crate::daemon::CLPSTAT, &[]).success();
    rig.stop_daemon();
}

#[test]
fn monitor_pidw_after_the_restart_threshold_shuts_down_through_the_command() {
    let rig = dying_app_rig(4, |rig| {
        format!(
            "  <clp><action><shutdown>echo shutdown &gt;&gt; {}</shutdown></action></clp>\n",
            rig.t().join("os.log").display()
        )
    });
    let record = rig.t().join("os.log");
    wait_alert(
        &rig,
        "rm",
        16,
        "Stopping the system has been required because an error was detected in monitoring pidw1.",
    );
    rig.wait_for("the shutdown command's record", || {
        read_lines(&record)
            .iter()
            .any(|l| l == "shutdown")
            .then_some(())
    });
    assert_eq!(read_lines(&record), ["shutdown"], "{}", rig.dump());
    rig.wait_service_offline();
    assert_two_restarts(&rig, "stop ra CLUSTERSHUTDOWN");
    rig.assert_alert("pm", 23, "The system will be stopped.");
    rig.stop_daemon();
}

#[test]
fn monitor_pidw_preaction_runs_before_the_restart() {
    let rig = sleeper_rig(
        |m| {
            m.emergency(&format!(
                "{}<preaction><userestart>1</userestart><default>1</default><path>preaction.sh</path><timeout>5</timeout></preaction>",
                escalation(3, 0, 1)
            ))
        },
        |rig| {
            rig.script(
                "monitor.s",
                "pidw1",
                "preaction.sh",
                r#"echo "preaction $CLP_ACTION $CLP_MONITORNAME restart=$CLP_RESTARTCOUNT recovery=$CLP_RECOVERYCOUNT failover=$CLP_FAILOVERCOUNT" >> "$LOG""#,
            )
        },
    );
    rig.start_online();
    let first = wait_async_pid(&rig, "ra", None);
    settle(&rig);
    wait_mon(&rig, "pidw1", MonitorState::Normal);
    signal(&rig, first, Signal::SIGKILL);
    let second = wait_async_pid(&rig, "ra", Some(first));
    let lines = rig.wait_lines("start ra", 2);
    assert_eq!(
        rig.lines_starting("preaction"),
        ["preaction RESTART pidw1 restart=1 recovery=0 failover=0"],
        "{}",
        rig.dump()
    );
    // Pre-action, then the restart: stop, start.
    assert!(pos(&lines, "preaction") < pos(&lines, "stop ra RESOURCERESTART"));
    assert!(
        pos(&lines, "stop ra RESOURCERESTART")
            < pos(&lines, &format!("start ra START pid={second}"))
    );
    wait_alert(
        &rig,
        "rm",
        82,
        "Script before restart upon failure in monitor resource pidw1 completed.",
    );
    rig.assert_alert("rm", 13, "Recovery target ra has restarted");
    wait_mon(&rig, "pidw1", MonitorState::Normal);
    rig.stop_daemon();
}

/// `unix_ms` of every alert `module id` mentioning `text`, in log order.
pub fn alert_times(rig: &Rig, module: &str, id: u32, text: &str) -> Vec<u64> {
    read_lines(&rig.root().join("var/log/clp/alert.log"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["module"] == module
                && v["event_id"].as_u64() == Some(u64::from(id))
                && v["message"].as_str().is_some_and(|m| m.contains(text))
        })
        .filter_map(|v| v["unix_ms"].as_u64())
        .collect()
}

/// Gaps in milliseconds between consecutive times.
pub fn gaps(times: &[u64]) -> Vec<u64> {
    times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect()
}

#[test]
fn monitor_pidw_process_gone_keeps_one_check_per_interval() {
    // Recovery disabled, so the monitor stays active (and in error) after the
    // death: its checks must keep coming once per interval (1 s).
    let rig = Rig::new();
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME pid=$$" >> "$LOG"; exec sleep 300"#,
    );
    rig.script("g", "ra", "stop.sh", REC_STOP);
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &format!(
            "{}  <rm><errordetect><norecovery>1</norecovery></errordetect></rm>\n",
            monitors(&[pidw("pidw1", "ra")])
        ),
    ));
    rig.start_online();
    let first = wait_async_pid(&rig, "ra", None);
    wait_mon(&rig, "pidw1", MonitorState::Normal);
    // Let a few periodic checks pass so that the regular timer is armed.
    wait_alert(&rig, "rm", 1, "Monitoring pidw1 has started.");
    signal(&rig, first, Signal::SIGKILL);
    wait_alerts(&rig, "rm", 192, "pidw1", 7);
    // The first rm 9 is the death itself (and the second may be a first
    // check that was due in the same batch); the others are periodic checks.
    let times = alert_times(&rig, "rm", 9, "monitoring pidw1");
    let periodic = gaps(&times[2..]);
    assert!(
        periodic.iter().all(|g| *g >= 700),
        "checks closer than the 1 s interval (two timer chains): gaps {periodic:?} ms\n{}",
        rig.dump()
    );
    rig.stop_daemon();
}
