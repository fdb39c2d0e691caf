//! Recovery paths of the monitor engine in the real clpd beyond the resource
//! restart: the recovery script, the restart of a whole group, a recovery
//! target that is not active, the reboot cap on final actions, a death that
//! happens while the watching monitor is suspended, and the restart limit on a
//! crash loop.

use clp::status::{MonitorState, RunState, ServiceState};
use nix::sys::signal::Signal;

use crate::daemon::{Rig, conf, exec, group, read_lines};
use crate::monitor::{
    CLPMONCTRL, KILL_SLEEPER, alerts_with, escalation, flag_script, genw, genw_script, mon_in,
    monitors, pidw, set_fail, signal, ticker, wait_alert, wait_async_pid, wait_mon, wait_ticks,
};

/// A genw script that fails once when `$T/fail.<name>` exists (and removes it).
fn fail_once_script(rig: &Rig, name: &str) {
    genw_script(
        rig,
        name,
        &format!(
            r#"echo "run {name}" >> "$LOG"
if [ -e "$T/fail.{name}" ]; then rm -f "$T/fail.{name}"; exit 1; fi
exit 0"#
        ),
    );
}

#[test]
fn monitor_recovery_script_runs_first_with_clp_action_recovery() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    fail_once_script(&rig, "check");
    rig.script(
        "monitor.s",
        "check",
        "preaction.sh",
        r#"echo "recovery $CLP_ACTION $CLP_MONITORNAME recovery=$CLP_RECOVERYCOUNT restart=$CLP_RESTARTCOUNT" >> "$LOG""#,
    );
    let check = genw("check").recover_rsc("app").emergency(
        "<threshold><script>1</script><restart>1</restart><fo>0</fo></threshold><action>1</action>",
    );
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[check])));
    rig.start_online();
    rig.wait_lines("run check", 1);
    set_fail(&rig, "check", true);
    wait_alert(
        &rig,
        "rm",
        170,
        "Recovery script has been executed since an error was detected in monitoring check.",
    );
    rig.wait_lines("recovery", 1);
    assert_eq!(
        rig.lines_starting("recovery"),
        ["recovery RECOVERY check recovery=1 restart=0"]
    );
    // The script was the whole recovery: no restart, and the next good check
    // is the return to normal.
    wait_alert(&rig, "rm", 26, "check status changed from error to normal.");
    assert!(alerts_with(&rig, "rm", 13, "").is_empty(), "{}", rig.dump());
    assert_eq!(rig.lines_starting("start app").len(), 1);
    rig.stop_daemon();
}

#[test]
fn monitor_group_target_restarts_the_whole_group() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["a", "b"]);
    fail_once_script(&rig, "check");
    let mut check = genw("check").emergency(&escalation(1, 0, 1));
    check = check.recover_grp("g");
    rig.install(&conf(
        &[("g", &[exec("a"), exec("b")])],
        &monitors(&[check]),
    ));
    rig.start_online();
    rig.wait_lines("run check", 1);
    set_fail(&rig, "check", true);
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target g has restarted because an error was detected in monitoring check.",
    );
    rig.wait_lines("start a", 2);
    rig.wait_lines("start b", 2);
    rig.wait_snap("g Online again", |s| {
        group(s, "g").status == RunState::Online
    });
    let mut stops = rig.lines_starting("stop");
    stops.sort();
    assert_eq!(
        stops,
        ["stop a GROUPRESTART pid=", "stop b GROUPRESTART pid="],
        "{}",
        rig.dump()
    );
    wait_alert(&rig, "rm", 26, "check status changed from error to normal.");
    rig.stop_daemon();
}

#[test]
fn monitor_recovery_target_not_active_is_not_recovered() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    flag_script(&rig, "check");
    set_fail(&rig, "check", true);
    let check = genw("check")
        .recover_rsc("app")
        .emergency(&escalation(3, 0, 2));
    // Group g does not start with the service: app is not active.
    let text = conf(&[("g", &[exec("app")])], &monitors(&[check]));
    let text = text.replacen(
        "<group name=\"g\"><gid>0</gid>",
        "<group name=\"g\"><gid>0</gid><start>0</start>",
        1,
    );
    rig.install(&text);
    rig.start();
    wait_alert(&rig, "rm", 9, "Detected an error in monitoring check.");
    wait_alert(
        &rig,
        "rm",
        25,
        "Recovery will not be executed since the recovery target app is not active.",
    );
    let snap = wait_mon(&rig, "check", MonitorState::Error);
    let m = mon_in(&snap, "check");
    assert_eq!((m.restart_count, m.final_action_done), (0, false), "{m:#?}");
    assert!(rig.lines_starting("start app").is_empty(), "{}", rig.dump());
    assert!(alerts_with(&rig, "rm", 13, "").is_empty());
    assert!(alerts_with(&rig, "rm", 12, "").is_empty());
    assert_eq!(group(&snap, "g").status, RunState::Offline);
    rig.stop_daemon();
}

/// A failing genw with recovery target LocalServer and final action 5 (stop
/// the cluster service and reboot), a recording reboot command, and a reboot
/// budget of `max`.
fn reboot_rig(max: u32) -> Rig {
    let rig = Rig::new();
    flag_script(&rig, "check");
    let check = genw("check").emergency(&escalation(0, 0, 5));
    let record = rig.t().join("os.log");
    rig.install(&conf(
        &[],
        &format!(
            "{}  <clp><reboot><max>{max}</max></reboot><action><reboot>echo reboot &gt;&gt; {}</reboot></action></clp>\n",
            monitors(&[check]),
            record.display()
        ),
    ));
    rig.start();
    wait_mon(&rig, "check", MonitorState::Normal);
    set_fail(&rig, "check", true);
    rig
}

#[test]
fn monitor_reboot_final_action_runs_the_command_within_the_budget() {
    let rig = reboot_rig(1);
    wait_alert(
        &rig,
        "rm",
        17,
        "Rebooting the system has been required because an error was detected in monitoring check.",
    );
    let record = rig.t().join("os.log");
    rig.wait_for("the reboot command's record", || {
        (read_lines(&record) == ["reboot"]).then_some(())
    });
    rig.wait_service_offline();
    rig.assert_alert("pm", 25, "");
    rig.stop_daemon();
}

#[test]
fn monitor_reboot_final_action_is_capped_by_the_budget() {
    let rig = reboot_rig(0);
    wait_alert(
        &rig,
        "rm",
        100,
        "Restart count exceeded the maximum of 0. Final action of monitoring check will not be executed.",
    );
    let snap = wait_mon(&rig, "check", MonitorState::Error);
    assert_eq!(snap.cluster.service, ServiceState::Online);
    assert!(alerts_with(&rig, "rm", 17, "").is_empty(), "{}", rig.dump());
    assert!(read_lines(&rig.t().join("os.log")).is_empty());
    rig.stop_daemon();
}

#[test]
fn monitor_death_while_suspended_is_recovered_after_resume() {
    let rig = Rig::new();
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME pid=$$" >> "$LOG"; exec sleep 300"#,
    );
    rig.script(
        "g",
        "ra",
        "stop.sh",
        &format!("echo \"stop $CLP_RESOURCENAME $CLP_FACTOR\" >> \"$LOG\"\n{KILL_SLEEPER}"),
    );
    let tick = ticker(&rig);
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &monitors(&[pidw("pidw1", "ra").emergency(&escalation(3, 0, 1)), tick]),
    ));
    rig.start_online();
    let first = wait_async_pid(&rig, "ra", None);
    wait_mon(&rig, "pidw1", MonitorState::Normal);
    rig.run(CLPMONCTRL, &["-s", "-m", "pidw1"]).success();
    wait_mon(&rig, "pidw1", MonitorState::Suspend);

    // Suspended: the death is no error and nothing is restarted.
    signal(&rig, first, Signal::SIGKILL);
    rig.wait_gone(crate::monitor::as_pid(first), "ra's process");
    wait_ticks(&rig, 2);
    assert!(
        alerts_with(&rig, "rm", 9, "pidw1").is_empty(),
        "{}",
        rig.dump()
    );
    assert_eq!(rig.lines_starting("start ra").len(), 1);
    assert_eq!(
        mon_in(&rig.snapshot().unwrap(), "pidw1").status,
        MonitorState::Suspend
    );

    // Resumed: the next check finds the process gone and recovers.
    rig.run(CLPMONCTRL, &["-r", "-m", "pidw1"]).success();
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring pidw1.");
    assert!(
        rm9.contains(&format!("process {first} has exited")),
        "{rm9}"
    );
    wait_alert(&rig, "rm", 13, "Recovery target ra has restarted");
    wait_async_pid(&rig, "ra", Some(first));
    wait_alert(&rig, "rm", 26, "pidw1 status changed from error to normal.");
    assert_eq!(rig.lines_starting("start ra").len(), 2);
    rig.stop_daemon();
}

#[test]
fn monitor_restart_storm_is_bounded_and_escalates() {
    // The application dies about 1 s after each start, after pidw has seen it
    // alive: each good check resets the monitor's counters (rm 26), so only the
    // restart limit (3 in 600 s here) stops the loop.
    let rig = Rig::new();
    rig.script(
        "g",
        "ra",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME $CLP_EVENT pid=$$" >> "$LOG"; exec sleep 1"#,
    );
    rig.script("g", "ra", "stop.sh", crate::daemon::REC_STOP);
    let watch = pidw("pidw1", "ra").emergency(&escalation(10, 1, 2));
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &format!(
            "{}  <clp><restartlimit><max>3</max><window>600</window></restartlimit></clp>\n",
            monitors(&[watch])
        ),
    ));
    rig.start();
    let storm = wait_alert(&rig, "rm", 900, "Recovery target ra was restarted 3 times");
    assert!(
        storm.contains("within 600 seconds") && storm.contains("monitoring pidw1"),
        "{storm}"
    );
    wait_alert(
        &rig,
        "rm",
        12,
        "Recovery target g has stopped because an error was detected in monitoring pidw1.",
    );
    rig.wait_snap("g Offline", |s| group(s, "g").status == RunState::Offline);
    assert_eq!(
        alerts_with(&rig, "rm", 13, "pidw1").len(),
        3,
        "{}",
        rig.dump()
    );
    assert!(
        !alerts_with(&rig, "rm", 26, "pidw1").is_empty(),
        "the counters were reset between crashes\n{}",
        rig.dump()
    );
    // Nothing restarts it any more. That nothing happens can only be watched
    // for a while: twice the crash period, failing at the first new start.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < until {
        assert_eq!(rig.lines_starting("start ra").len(), 4, "{}", rig.dump());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    rig.stop_daemon();
}

#[test]
fn monitor_reboot_budget_is_remembered_across_a_clpd_restart() {
    // One reboot allowed: the first failure reboots (through the recorder),
    // then clpd is killed as a reboot would and started again on the same
    // root; the failure comes back and the persisted budget refuses a second
    // reboot.
    let rig = reboot_rig(1);
    let record = rig.t().join("os.log");
    rig.wait_for("the reboot command's record", || {
        (read_lines(&record) == ["reboot"]).then_some(())
    });
    rig.wait_service_offline();
    let exceeded = "Restart count exceeded the maximum of 1.";
    let before = alerts_with(&rig, "rm", 100, exceeded).len();
    let old = rig.kill_daemon();
    rig.start();
    let new = rig.daemon_pid().expect("clpd runs again");
    assert_ne!(new, old);
    rig.wait_for("rm 100 from the restarted clpd", || {
        (alerts_with(&rig, "rm", 100, exceeded).len() > before).then_some(())
    });
    assert_eq!(read_lines(&record), ["reboot"], "{}", rig.dump());
    rig.stop_daemon();
}
