//! genw in the real clpd: a hanging script killed at the monitor's timeout
//! with its whole process group (and `notrecovery` after a timeout), the delay
//! warning, the userlog and its rotation, a SIGSTOPped application caught by a
//! health script and restarted, Active timing gating, recovery disabled by
//! `rm/errordetect/norecovery`, an asynchronous script started again after
//! recovery, and a check failing as its target is stopped on purpose.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use clp::status::{MonitorState, RunState, ServiceState};
use nix::sys::signal::Signal;

use crate::daemon::{
    CLPGRP, CLPSTAT, REC_START, REC_STOP, Rig, alive, conf, exec, group, group_members, pid_in, pos,
};
use crate::monitor::{
    alerts_with, as_pid, escalation, flag_script, genw, genw_script, mon_in, monitors, set_fail,
    signal, ticker, wait_alert, wait_async_pid, wait_mon, wait_ticks,
};

/// Exec `app` (synchronous, recording) in group `g`, a genw `hang` whose first run
/// hangs ignoring SIGTERM (`sleep 300` in the foreground and in the background,
/// pid and pgid recorded) and whose later runs pass, restarting `app`; plus a
/// ticker.
fn hanging_rig(emergency: &str) -> Rig {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    genw_script(
        &rig,
        "hang",
        r#"echo "run hang" >> "$LOG"
if [ ! -e "$T/hung" ]; then
  : > "$T/hung"
  # Deaf to SIGTERM (and so are its children): only the SIGKILL that
  # follows the grace can end the group.
  trap '' TERM
  sleep 300 &
  echo $! > "$T/hang.child"
  cut -d' ' -f5 /proc/$$/stat > "$T/hang.pgid"
  echo $$ > "$T/hang.pid"
  sleep 300
fi
exit 0"#,
    );
    let hang = genw("hang")
        .timeout(2)
        .recover_rsc("app")
        .emergency(emergency);
    let tick = ticker(&rig);
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[hang, tick])));
    rig
}

/// Waits until the hanging check's process group is gone; returns its pgid and
/// how long after the hang started it was gone.
fn wait_hang_killed(rig: &Rig) -> (i32, Duration) {
    let pid = pid_in(rig, "hang.pid");
    let seen = Instant::now();
    let pgid = pid_in(rig, "hang.pgid");
    let child = pid_in(rig, "hang.child");
    // The executor starts every script in a session of its own.
    assert_eq!(pgid, pid, "the genw script leads its own process group");
    assert!(alive(child), "{}", rig.dump());
    rig.wait_for("no process left in the hung check's group", || {
        group_members(pgid).is_empty().then_some(())
    });
    assert!(!alive(pid) && !alive(child));
    (pgid, seen.elapsed())
}

#[test]
fn monitor_genw_hanging_script_is_killed_at_its_timeout_and_counted() {
    let rig = hanging_rig(&escalation(1, 0, 1));
    rig.start_online();
    let before = rig.lines_starting("tick").len();
    let (_, took) = wait_hang_killed(&rig);
    // Timeout 2 s, SIGTERM to the group, SIGKILL 2 s later.
    assert!(
        took < Duration::from_secs(8),
        "the hung check lived {took:?} past its start with a 2 s timeout\n{}",
        rig.dump()
    );
    assert!(
        took > Duration::from_millis(1500),
        "the check was killed {took:?} after it started, before its 2 s timeout"
    );
    // The hang stalled neither clpd nor the other monitor.
    assert!(
        rig.lines_starting("tick").len() > before,
        "the ticker did not run while the check hung\n{}",
        rig.dump()
    );
    rig.run(CLPSTAT, &["-m"]).success();

    // Reconfirmation 0: one timeout is an error, counted and recovered.
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring hang.");
    assert!(rm9.contains("no answer within 2 s"), "{rm9}");
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target app has restarted because an error was detected in monitoring hang.",
    );
    let lines = rig.wait_lines("start app", 2);
    assert_eq!(
        rig.lines_starting("stop app"),
        ["stop app RESOURCERESTART pid="],
        "{}",
        rig.dump()
    );
    let second_start = lines
        .iter()
        .rposition(|l| l.starts_with("start app"))
        .unwrap();
    assert!(pos(&lines, "stop app") < second_start, "{lines:#?}");
    // The next run passes: back to normal.
    wait_alert(&rig, "rm", 26, "hang status changed from error to normal.");
    wait_mon(&rig, "hang", MonitorState::Normal);
    assert_eq!(alerts_with(&rig, "rm", 9, "monitoring hang").len(), 1);
    rig.stop_daemon();
}

#[test]
fn monitor_genw_timeout_without_recovery_when_notrecovery_is_set() {
    let rig = hanging_rig(&format!(
        "{}<timeout><notrecovery><use>1</use></notrecovery></timeout>",
        escalation(1, 0, 1)
    ));
    rig.start_online();
    wait_hang_killed(&rig);
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring hang.");
    assert!(rm9.contains("no answer within 2 s"), "{rm9}");
    wait_alert(
        &rig,
        "rm",
        193,
        "recovery action of monitor hang was not executed",
    );
    wait_alert(&rig, "rm", 26, "hang status changed from error to normal.");
    assert!(
        alerts_with(&rig, "rm", 13, "hang").is_empty(),
        "{}",
        rig.dump()
    );
    assert_eq!(rig.lines_starting("start app").len(), 1);
    assert!(rig.lines_starting("stop app").is_empty());
    rig.stop_daemon();
}

#[test]
fn monitor_genw_slow_check_warns_of_the_delay() {
    let rig = Rig::new();
    // 1.7 s of a 2 s timeout: past the 80 % delay-warning rate, not a timeout.
    genw_script(&rig, "slow", r#"echo "run slow" >> "$LOG"; sleep 1.7"#);
    rig.install(&conf(&[], &monitors(&[genw("slow").timeout(2)])));
    rig.start();
    let rm71 = wait_alert(
        &rig,
        "rm",
        71,
        "Detected a monitor delay in monitoring slow.",
    );
    assert!(rm71.contains("timeout=2"), "{rm71}");
    assert!(rm71.contains("delay warning rate=80"), "{rm71}");
    let snap = wait_mon(&rig, "slow", MonitorState::Normal);
    assert!(alerts_with(&rig, "rm", 9, "slow").is_empty(), "{snap:#?}");
    rig.stop_daemon();
}

#[test]
fn monitor_genw_output_goes_to_its_userlog_with_rotation() {
    let rig = Rig::new();
    genw_script(
        &rig,
        "chatty",
        r#"echo "stdout line of a check, padded to be long enough to rotate soon"; echo "stderr line" >&2"#,
    );
    let chatty = genw("chatty").params(
        "<userlog>/var/log/clp/genw-chatty.log</userlog><logrotate><use>1</use><size>300</size></logrotate>",
    );
    rig.install(&conf(&[], &monitors(&[chatty])));
    rig.start();
    let log = rig.root().join("var/log/clp/genw-chatty.log");
    let pre = rig.root().join("var/log/clp/genw-chatty.log.pre");
    let rotated = rig.wait_for("the userlog rotated to .pre", || {
        std::fs::read_to_string(&pre).ok().filter(|t| !t.is_empty())
    });
    assert!(rotated.contains("stdout line of a check"), "{rotated}");
    assert!(rotated.contains("stderr line"), "{rotated}");
    let current = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(current.len() <= 300 + 200, "{} bytes", current.len());
    wait_mon(&rig, "chatty", MonitorState::Normal);
    rig.stop_daemon();
}

// ---- a stopped application caught by a health script ----------------------------

fn python3() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /` on 127.0.0.1:`port` with a 1 s limit: the body of a 200 answer.
fn http_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(1))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_string())
}

/// Kills a SIGSTOPped process that outlived the test's expectations.
struct Unstop(u32);

impl Drop for Unstop {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(as_pid(self.0));
        if alive(as_pid(self.0)) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::signal::kill(pid, Signal::SIGCONT);
        }
    }
}

#[test]
fn monitor_genw_health_script_catches_a_stopped_application() {
    let rig = Rig::new();
    let port = free_port();
    rig.script(
        "g",
        "web",
        "start.sh",
        &format!(
            r#"mkdir -p "$T/www"; echo "served by $$" > "$T/www/index.html"
echo "start web pid=$$" >> "$LOG"
exec {} -m http.server {port} --bind 127.0.0.1 --directory "$T/www""#,
            python3()
        ),
    );
    // SIGCONT, then SIGKILL; wait until it is gone (or a zombie) so that the
    // port is free for the next start.
    rig.script(
        "g",
        "web",
        "stop.sh",
        &format!(
            r#"{REC_STOP}
P="$CLP_PID"
# CLP_PID is kept after the server died: make sure it is still ours.
if [ -n "$P" ] && tr '\0' ' ' < /proc/$P/cmdline 2>/dev/null | grep -q http.server; then
  kill -CONT "$P"; kill -9 "$P"
  for i in $(seq 200); do
    s=$(cut -d' ' -f3 /proc/$P/stat 2>/dev/null)
    [ -z "$s" ] || [ "$s" = Z ] && break
    sleep 0.02
  done
fi
exit 0"#
        ),
    );
    genw_script(
        &rig,
        "health",
        &format!(
            r#"curl -s -f -o /dev/null -m 1 http://127.0.0.1:{port}/
rc=$?
echo "health $rc" >> "$LOG"
exit $rc"#
        ),
    );
    // firstmonwait 2 lets the server come up; one retry (two failures) makes
    // a slow first answer harmless.
    let health = genw("health")
        .active("web")
        .timeout(3)
        .retry(1)
        .first_wait(2)
        .recover_rsc("web")
        .emergency(&escalation(3, 0, 1));
    rig.install(&conf(
        &[("g", &[exec("web").asynchronous()])],
        &monitors(&[health]),
    ));
    rig.start_online();
    let first = wait_async_pid(&rig, "web", None);
    let _unstop_first = Unstop(first);
    let body = rig.wait_for("the first server to answer", || http_get(port));
    assert_eq!(body.trim(), format!("served by {first}"));
    rig.wait_lines("health 0", 1);
    wait_mon(&rig, "health", MonitorState::Normal);

    signal(&rig, first, Signal::SIGSTOP);
    let stopped_at = Instant::now();
    wait_alert(&rig, "rm", 9, "Detected an error in monitoring health.");
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target web has restarted because an error was detected in monitoring health.",
    );
    let second = wait_async_pid(&rig, "web", Some(first));
    let _unstop_second = Unstop(second);
    let body = rig.wait_for("the new server to answer", || http_get(port));
    assert_eq!(body.trim(), format!("served by {second}"));
    // Two failed checks (1 s client timeout each), then the restart.
    assert!(
        stopped_at.elapsed() < Duration::from_secs(12),
        "{:?}",
        stopped_at.elapsed()
    );
    // The stop script of the restart took the stopped server away.
    rig.wait_gone(as_pid(first), "the stopped server");
    assert_eq!(
        rig.lines_starting("stop web"),
        [format!("stop web RESOURCERESTART pid={first}")],
        "{}",
        rig.dump()
    );
    wait_alert(
        &rig,
        "rm",
        26,
        "health status changed from error to normal.",
    );
    wait_mon(&rig, "health", MonitorState::Normal);
    // curl gave up after its 1 s limit: exit 28.
    assert!(
        rig.lines().iter().any(|l| l == "health 28"),
        "{}",
        rig.dump()
    );
    assert_eq!(rig.lines_starting("start web").len(), 2);
    rig.stop_daemon();
}

// ---- Active timing ----------------------------------------------------------------

#[test]
fn monitor_genw_active_timing_runs_only_while_the_target_is_online() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    flag_script(&rig, "gated");
    let gated = genw("gated").active("app");
    let tick = ticker(&rig);
    // Group g does not start with the cluster service (<start>0</start>).
    let text = conf(&[("g", &[exec("app")])], &monitors(&[gated, tick]));
    let text = text.replacen(
        "<group name=\"g\"><gid>0</gid>",
        "<group name=\"g\"><gid>0</gid><start>0</start>",
        1,
    );
    rig.install(&text);
    rig.start();
    rig.wait_snap("the service Online", |s| {
        s.cluster.service == ServiceState::Online
    });
    wait_ticks(&rig, 3);
    let snap = rig.snapshot().unwrap();
    assert_eq!(group(&snap, "g").status, RunState::Offline, "{snap:#?}");
    assert_eq!(mon_in(&snap, "gated").status, MonitorState::Offline);
    assert_eq!(mon_in(&snap, "tick").status, MonitorState::Normal);
    assert!(rig.lines_starting("run gated").is_empty(), "{}", rig.dump());
    assert!(alerts_with(&rig, "rm", 1, "Monitoring gated").is_empty());

    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_alert(&rig, "rm", 1, "Monitoring gated has started.");
    rig.wait_lines("run gated", 1);
    wait_mon(&rig, "gated", MonitorState::Normal);

    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_alert(&rig, "rm", 2, "Monitoring gated has stopped.");
    wait_mon(&rig, "gated", MonitorState::Offline);
    let runs = rig.lines_starting("run gated").len();
    wait_ticks(&rig, 3);
    assert_eq!(
        rig.lines_starting("run gated").len(),
        runs,
        "gated ran while app was offline\n{}",
        rig.dump()
    );
    assert_eq!(
        mon_in(&rig.snapshot().unwrap(), "gated").status,
        MonitorState::Offline
    );
    rig.stop_daemon();
}

// ---- recovery disabled --------------------------------------------------------------

#[test]
fn monitor_norecovery_detects_but_does_not_recover() {
    let rig = Rig::new();
    rig.script("g", "app", "start.sh", REC_START);
    rig.script("g", "app", "stop.sh", REC_STOP);
    flag_script(&rig, "check");
    let check = genw("check")
        .recover_rsc("app")
        .emergency(&escalation(3, 0, 2));
    rig.install(&conf(
        &[("g", &[exec("app")])],
        &format!(
            "{}  <rm><errordetect><norecovery>1</norecovery></errordetect></rm>\n",
            monitors(&[check])
        ),
    ));
    rig.start_online();
    wait_mon(&rig, "check", MonitorState::Normal);
    set_fail(&rig, "check", true);
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring check.");
    assert!(rm9.contains("exit 1"), "{rm9}");
    wait_alert(
        &rig,
        "rm",
        192,
        "Ignored the recovery action in monitoring check because recovery action caused by monitor resource error is disabled.",
    );
    let snap = wait_mon(&rig, "check", MonitorState::Error);
    // Still failing, still no recovery.
    let runs = rig.lines_starting("run check").len();
    rig.wait_lines("run check", runs + 2);
    assert!(alerts_with(&rig, "rm", 13, "").is_empty(), "{}", rig.dump());
    assert!(alerts_with(&rig, "rm", 12, "").is_empty(), "{}", rig.dump());
    assert_eq!(rig.lines_starting("start app").len(), 1, "{}", rig.dump());
    assert!(rig.lines_starting("stop app").is_empty(), "{}", rig.dump());
    let m = mon_in(&snap, "check");
    assert_eq!((m.restart_count, m.final_action_done), (0, false), "{m:#?}");
    assert_eq!(
        group(&rig.snapshot().unwrap(), "g").status,
        RunState::Online
    );

    set_fail(&rig, "check", false);
    wait_alert(&rig, "rm", 26, "check status changed from error to normal.");
    wait_mon(&rig, "check", MonitorState::Normal);
    rig.stop_daemon();
}

#[test]
fn monitor_genw_async_script_is_started_again_after_recovery() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    genw_script(
        &rig,
        "agent",
        r#"echo "agent pid=$$" >> "$LOG"; exec sleep 300"#,
    );
    let agent = genw("agent")
        .recover_rsc("app")
        .emergency(&escalation(1, 0, 1))
        .params("<sync>0</sync>");
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[agent])));
    rig.start_online();
    rig.wait_lines("agent pid=", 1);
    wait_mon(&rig, "agent", MonitorState::Normal);
    let first: u32 = rig.lines_starting("agent pid=")[0]
        .trim_start_matches("agent pid=")
        .parse()
        .unwrap();
    signal(&rig, first, Signal::SIGKILL);
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring agent.");
    assert!(rm9.contains("the monitor script ended"), "{rm9}");
    wait_alert(&rig, "rm", 13, "Recovery target app has restarted");
    rig.wait_lines("start app", 2);
    // After the recovery the script runs again and the monitor is Normal.
    rig.wait_lines("agent pid=", 2);
    wait_alert(&rig, "rm", 26, "agent status changed from error to normal.");
    wait_mon(&rig, "agent", MonitorState::Normal);
    rig.stop_daemon();
}

#[test]
fn monitor_genw_check_failing_as_its_target_stops_is_no_failure() {
    // The check blocks until stop.sh of its target has begun, then fails: a
    // check that ends in the batch of the stop request must not count.
    let rig = Rig::new();
    rig.script("g", "app", "start.sh", REC_START);
    rig.script(
        "g",
        "app",
        "stop.sh",
        &format!("{REC_STOP}\n: > \"$T/stopping\""),
    );
    genw_script(
        &rig,
        "check",
        r#"if [ -e "$T/armed" ]; then
  echo "check waiting" >> "$LOG"
  while [ ! -e "$T/stopping" ]; do :; done
  exit 1
fi
exit 0"#,
    );
    let check = genw("check")
        .active("app")
        .timeout(10)
        .recover_rsc("app")
        .emergency(&escalation(3, 0, 1));
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[check])));
    rig.start_online();
    let armed = rig.t().join("armed");
    let stopping = rig.t().join("stopping");
    for round in 1..=30 {
        let _ = std::fs::remove_file(&stopping);
        std::fs::write(&armed, "").unwrap();
        rig.wait_lines("check waiting", round);
        let out = rig.run(CLPGRP, &["-t", "g"]);
        assert_eq!(out.code, 0, "round {round}: {}\n{}", out.stderr, rig.dump());
        let _ = std::fs::remove_file(&armed);
        let stopped = rig.wait_for("check and g Offline, or an rm 9", || {
            if !alerts_with(&rig, "rm", 9, "check").is_empty() {
                return Some(false);
            }
            let s = rig.snapshot()?;
            (mon_in(&s, "check").status == MonitorState::Offline
                && group(&s, "g").status == RunState::Offline)
                .then_some(true)
        });
        assert!(
            stopped,
            "round {round}: a deliberate stop was taken for a failure\n{}",
            rig.dump()
        );
        rig.run(CLPGRP, &["-s", "g"]).success();
        wait_mon(&rig, "check", MonitorState::Normal);
    }
    rig.stop_daemon();
}
