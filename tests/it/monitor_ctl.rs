//! clpmonctrl against the real clpd: suspend and resume (one monitor and all),
//! dummy failure driving a real recovery, showing and clearing the counters, the
//! error for an unknown monitor, and one check schedule per monitor after -r
//! and -e/-n.

use clp::status::MonitorState;

use crate::daemon::{Rig, conf, exec};
use crate::monitor::{
    CLPMONCTRL, alerts_with, escalation, flag_script, genw, genw_script, mon_in, monitors,
    set_fail, ticker, wait_alert, wait_mon, wait_ticks,
};
use crate::util::Output;

fn monctrl(rig: &Rig, args: &[&str]) -> Output {
    let out = rig.run(CLPMONCTRL, args);
    out.success();
    assert_eq!(out.stdout, "Command succeeded.\n", "{args:?}");
    out
}

/// `clpmonctrl -v -m watch`.
fn counters(rig: &Rig) -> String {
    let out = rig.run(CLPMONCTRL, &["-v", "-m", "watch"]);
    out.success();
    out.stdout
}

fn runs(rig: &Rig) -> usize {
    rig.lines_starting("run watch").len()
}

#[test]
fn monitor_clpmonctrl_suspend_resume_dummy_failure_and_counters() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    flag_script(&rig, "watch");
    // One restart, no failover, then the final action "no operation".
    let watch = genw("watch")
        .recover_rsc("app")
        .emergency(&escalation(1, 0, 1));
    let tick = ticker(&rig);
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[watch, tick])));
    rig.start_online();
    rig.wait_lines("run watch", 1);
    wait_mon(&rig, "watch", MonitorState::Normal);

    // ---- -s -m: suspended, failures are not even seen.
    monctrl(&rig, &["-s", "-m", "watch"]);
    wait_alert(&rig, "rm", 29, "Monitoring watch was suspended.");
    wait_mon(&rig, "watch", MonitorState::Suspend);
    set_fail(&rig, "watch", true);
    let before = runs(&rig);
    wait_ticks(&rig, 3);
    assert_eq!(
        runs(&rig),
        before,
        "watch ran while suspended\n{}",
        rig.dump()
    );
    assert!(
        alerts_with(&rig, "rm", 9, "watch").is_empty(),
        "{}",
        rig.dump()
    );
    assert_eq!(rig.lines_starting("start app").len(), 1);
    let snap = rig.snapshot().unwrap();
    assert_eq!(mon_in(&snap, "watch").status, MonitorState::Suspend);
    assert_eq!(mon_in(&snap, "tick").status, MonitorState::Normal);

    // ---- -r -m: checking again.
    set_fail(&rig, "watch", false);
    monctrl(&rig, &["-r", "-m", "watch"]);
    wait_alert(&rig, "rm", 30, "Monitoring watch was resumed.");
    rig.wait_lines("run watch", before + 1);
    wait_mon(&rig, "watch", MonitorState::Normal);
    assert!(
        alerts_with(&rig, "rm", 9, "watch").is_empty(),
        "{}",
        rig.dump()
    );

    // ---- -e -m: an error without checking, and a real recovery.
    monctrl(&rig, &["-e", "-m", "watch"]);
    wait_alert(
        &rig,
        "rm",
        180,
        "Dummy Failure of monitor resource watch is enabled.",
    );
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring watch.");
    assert!(rm9.contains("dummy failure"), "{rm9}");
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target app has restarted because an error was detected in monitoring watch.",
    );
    rig.wait_lines("start app", 2);
    assert_eq!(
        rig.lines_starting("stop app"),
        ["stop app RESOURCERESTART pid="]
    );
    // Still failing: the restart budget is used, then the final action (none).
    let snap = rig.wait_snap("watch Error with its final action done", |s| {
        let m = mon_in(s, "watch");
        m.status == MonitorState::Error && m.final_action_done
    });
    assert_eq!(mon_in(&snap, "watch").restart_count, 1, "{snap:#?}");
    let during = runs(&rig);
    wait_ticks(&rig, 2);
    assert_eq!(
        runs(&rig),
        during,
        "the script ran during dummy failure\n{}",
        rig.dump()
    );
    assert_eq!(rig.lines_starting("start app").len(), 2, "{}", rig.dump());

    // ---- -v shows the counters; -c clears them (suspended, so that the dummy
    // failure cannot count again in between).
    let shown = counters(&rig);
    assert!(shown.contains("Monitor watch"), "{shown}");
    assert!(shown.contains(": Error"), "{shown}");
    assert!(shown.contains("Recovery script count : 0"), "{shown}");
    assert!(shown.contains("Restart count         : 1"), "{shown}");
    assert!(shown.contains("Failover count        : 0"), "{shown}");
    assert!(
        shown.contains("Final action          : executed"),
        "{shown}"
    );
    monctrl(&rig, &["-s", "-m", "watch"]);
    monctrl(&rig, &["-c", "-m", "watch"]);
    rig.wait_snap("watch's counters cleared", |s| {
        let m = mon_in(s, "watch");
        m.restart_count == 0 && !m.final_action_done
    });
    let shown = counters(&rig);
    assert!(shown.contains("Restart count         : 0"), "{shown}");
    assert!(
        shown.contains("Final action          : not executed"),
        "{shown}"
    );

    // ---- -n: dummy failure off; resumed, the real (passing) check runs.
    monctrl(&rig, &["-n", "-m", "watch"]);
    wait_alert(
        &rig,
        "rm",
        181,
        "Dummy Failure of monitor resource watch is disabled.",
    );
    let before = runs(&rig);
    monctrl(&rig, &["-r", "-m", "watch"]);
    rig.wait_lines("run watch", before + 1);
    wait_alert(&rig, "rm", 26, "watch status changed from error to normal.");
    wait_mon(&rig, "watch", MonitorState::Normal);
    assert_eq!(rig.lines_starting("start app").len(), 2, "{}", rig.dump());

    // ---- all monitors at once.
    monctrl(&rig, &["-s"]);
    rig.wait_snap("every monitor suspended", |s| {
        s.monitors.iter().all(|m| m.status == MonitorState::Suspend)
    });
    wait_alert(&rig, "rm", 31, "");
    monctrl(&rig, &["-r"]);
    rig.wait_snap("every monitor back to Normal", |s| {
        s.monitors.iter().all(|m| m.status == MonitorState::Normal)
    });
    wait_alert(&rig, "rm", 32, "");
    rig.stop_daemon();
}

#[test]
fn monitor_clpmonctrl_unknown_monitor_exits_4_and_lists_the_monitors() {
    let rig = Rig::new();
    flag_script(&rig, "watch");
    rig.install(&conf(&[], &monitors(&[genw("watch")])));
    rig.start();
    wait_mon(&rig, "watch", MonitorState::Normal);
    for args in [
        &["-s", "-m", "nosuch"][..],
        &["-r", "-m", "nosuch"],
        &["-c", "-m", "nosuch"],
        &["-e", "-m", "nosuch"],
        &["-n", "-m", "nosuch"],
        &["-v", "-m", "nosuch"],
        &["-s", "-m", "watch", "-m", "nosuch"],
    ] {
        let out = rig.run(CLPMONCTRL, args);
        out.expect_code(4);
        assert!(
            out.stderr.contains("nosuch") && out.stderr.contains("Monitors are: watch"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Nothing changed.
    let snap = rig.snapshot().unwrap();
    assert_eq!(mon_in(&snap, "watch").status, MonitorState::Normal);
    assert!(alerts_with(&rig, "rm", 29, "").is_empty());
    assert!(alerts_with(&rig, "rm", 180, "").is_empty());
    rig.stop_daemon();
}

#[test]
fn monitor_clpmonctrl_quick_suspend_resume_keeps_one_check_per_interval() {
    let rig = Rig::new();
    genw_script(
        &rig,
        "watch",
        r#"echo "run watch $(date +%s%3N)" >> "$LOG""#,
    );
    rig.install(&conf(&[], &monitors(&[genw("watch")])));
    rig.start();
    rig.wait_lines("run watch", 1);
    // Suspend and resume at once: well within the 1 s interval.
    monctrl(&rig, &["-s", "-m", "watch"]);
    monctrl(&rig, &["-r", "-m", "watch"]);
    let from = runs(&rig);
    rig.wait_lines("run watch", from + 5);
    let times: Vec<u64> = rig.lines_starting("run watch")[from..]
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= 700),
        "checks closer than the 1 s interval (two timer chains): gaps {gaps:?} ms\n{}",
        rig.dump()
    );
    rig.stop_daemon();
}

#[test]
fn monitor_clpmonctrl_dummy_failure_keeps_one_check_per_interval() {
    let rig = Rig::new();
    genw_script(
        &rig,
        "watch",
        r#"echo "run watch $(date +%s%3N)" >> "$LOG""#,
    );
    rig.install(&conf(&[], &monitors(&[genw("watch")])));
    rig.start();
    rig.wait_lines("run watch", 1);
    monctrl(&rig, &["-e", "-m", "watch"]);
    wait_alert(&rig, "rm", 9, "dummy failure");
    monctrl(&rig, &["-n", "-m", "watch"]);
    let from = runs(&rig);
    rig.wait_lines("run watch", from + 5);
    let times: Vec<u64> = rig.lines_starting("run watch")[from..]
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= 700),
        "checks closer than the 1 s interval (two timer chains): gaps {gaps:?} ms\n{}",
        rig.dump()
    );
    rig.stop_daemon();
}
