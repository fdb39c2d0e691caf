//! `kill -9` of the real clpd and a restart with `clpcl -s`: what was online is
//! adopted and nothing is started twice; a start script that was running is
//! killed with its process group and the resource is recovered per its retry
//! setting. Plus the consistency of what commands report with the snapshot.

use std::fs;

use clp::status::RunState;

use crate::daemon::{
    CLPCL, CLPGRP, CLPRSC, CLPSTAT, REC_START, REC_STOP, Rig, alive, conf, exec, group,
    group_members, pid_in, res,
};

#[test]
fn daemon_kill_9_then_restart_adopts_without_starting_twice() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["rs"]);
    rig.script(
        "g",
        "ra",
        "start.sh",
        &format!("{REC_START}\necho $$ > \"$T/ra.pid\"\nexec sleep 300"),
    );
    rig.script(
        "g",
        "ra",
        "stop.sh",
        &format!("{REC_STOP}\nkill \"$CLP_PID\""),
    );
    rig.install(&conf(
        &[("g", &[exec("rs"), exec("ra").asynchronous()])],
        "",
    ));
    rig.start_online();
    let snap = rig.wait_snap("ra's pid in the snapshot", |s| res(s, "ra").pid.is_some());
    let async_pid = res(&snap, "ra").pid.unwrap();
    assert_eq!(pid_in(&rig, "ra.pid"), i32::try_from(async_pid).unwrap());

    let old = rig.kill_daemon();
    assert!(
        alive(i32::try_from(async_pid).unwrap()),
        "the application outlives clpd"
    );
    // The snapshot is left behind; clpstat must not present it as live.
    let out = rig.run(CLPSTAT, &[]);
    out.expect_code(6);
    assert!(out.stderr.contains("clpd is not running"), "{}", out.stderr);

    let out = rig.run(CLPCL, &["-s"]);
    out.success();
    let new = rig.daemon_pid().expect("a new clpd");
    assert_ne!(new, old);
    let snap = rig.wait_snap("the new clpd's snapshot with g Online", |s| {
        s.daemon_pid == u32::try_from(new).unwrap() && group(s, "g").status == RunState::Online
    });
    assert_eq!(res(&snap, "rs").status, RunState::Online);
    assert_eq!(res(&snap, "ra").status, RunState::Online);
    assert_eq!(
        res(&snap, "ra").pid,
        Some(async_pid),
        "the async pid is adopted"
    );
    assert_eq!(rig.lines_starting("start rs").len(), 1, "{}", rig.dump());
    assert_eq!(rig.lines_starting("start ra").len(), 1, "{}", rig.dump());
    assert!(
        rig.daemon_logs()
            .contains(&format!("adopted the start script of ra (pid {async_pid})")),
        "{}",
        rig.dump()
    );

    rig.run(CLPCL, &["-t"]).success();
    // rs and ra are independent: they stop in parallel, in either order.
    let mut stops = rig.lines_starting("stop");
    stops.sort();
    assert_eq!(
        stops,
        [
            format!("stop ra CLUSTERSHUTDOWN pid={async_pid}"),
            "stop rs CLUSTERSHUTDOWN pid=".to_string(),
        ],
        "{}",
        rig.dump()
    );
    rig.wait_gone(i32::try_from(async_pid).unwrap(), "the adopted application");
    assert_eq!(rig.lines_starting("start").len(), 2, "{}", rig.dump());
    rig.stop_daemon();
}

#[test]
fn daemon_kill_9_during_a_start_script_kills_it_and_recovers() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["first"]);
    // Blocks while $T/block exists: the first run hangs, the retry succeeds.
    rig.script(
        "g",
        "hang",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME $CLP_EVENT" >> "$LOG"
if [ -e "$T/block" ]; then
    echo $$ > "$T/hang.pid"
    sleep 300 &
    echo $! > "$T/hang.child"
    sleep 300
fi"#,
    );
    rig.script("g", "hang", "stop.sh", REC_STOP);
    fs::write(rig.t().join("block"), "").unwrap();
    rig.install(&conf(
        &[(
            "g",
            &[
                exec("first"),
                exec("hang").depends("first").act("<retry>1</retry>"),
            ],
        )],
        "",
    ));
    rig.start();
    let script = pid_in(&rig, "hang.pid");
    let child = pid_in(&rig, "hang.child");
    rig.wait_snap("hang Online Pending", |s| {
        res(s, "hang").status == RunState::OnlinePending
            && res(s, "first").status == RunState::Online
    });

    rig.kill_daemon();
    assert!(alive(script) && alive(child), "the script outlives clpd");
    fs::remove_file(rig.t().join("block")).unwrap();

    rig.run(CLPCL, &["-s"]).success();
    rig.wait_gone(script, "the interrupted start script");
    rig.wait_gone(child, "the interrupted script's child");
    rig.wait_for("the interrupted script's process group to be empty", || {
        group_members(script).is_empty().then_some(())
    });
    let snap = rig.wait_snap("g Online after the retry", |s| {
        group(s, "g").status == RunState::Online
    });
    assert_eq!(res(&snap, "hang").status, RunState::Online);
    rig.assert_alert("rc", 32, "clpd was restarted while the script ran");
    rig.assert_alert(
        "rc",
        200,
        "Resource(hang) will be reactivated since activating resource(hang) failed.",
    );
    // first was adopted (not started again); hang ran twice: interrupted + retry.
    assert_eq!(rig.lines_starting("start first").len(), 1, "{}", rig.dump());
    assert_eq!(
        rig.lines_starting("start hang"),
        ["start hang START", "start hang START"],
        "{}",
        rig.dump()
    );
    rig.stop_daemon();
}

#[test]
fn daemon_snapshot_is_current_when_a_command_returns() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["r1", "r2"]);
    rig.install(&conf(&[("g", &[exec("r1"), exec("r2").depends("r1")])], ""));
    rig.start_online();
    for i in 0..20 {
        rig.run(CLPGRP, &["-t", "g"]).success();
        let snap = rig.snapshot().unwrap();
        assert_eq!(
            group(&snap, "g").status,
            RunState::Offline,
            "round {i}: clpgrp -t returned, the snapshot still says {snap:#?}"
        );
        rig.run(CLPGRP, &["-s", "g"]).success();
        let snap = rig.snapshot().unwrap();
        assert_eq!(
            group(&snap, "g").status,
            RunState::Online,
            "round {i}: clpgrp -s returned, the snapshot still says {snap:#?}"
        );
    }
    rig.run(CLPCL, &["-t"]).success();
    let snap = rig.snapshot().unwrap();
    assert_eq!(
        snap.cluster.service,
        clp::status::ServiceState::Offline,
        "clpcl -t returned, the snapshot still says {snap:#?}"
    );
}

#[test]
fn daemon_single_resource_stop_is_alerted_as_rc_87() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["r1"]);
    rig.install(&conf(&[("g", &[exec("r1")])], ""));
    rig.start_online();
    rig.run(CLPRSC, &["-t", "r1"]).success();
    rig.wait_snap("r1 Offline", |s| res(s, "r1").status == RunState::Offline);
    rig.assert_alert("rc", 87, "Stopping a single resource r1.");
    let unfilled: Vec<String> = rig
        .alerts()
        .into_iter()
        .filter(|(_, _, m)| m.contains('%'))
        .map(|(m, i, msg)| format!("{m} {i} {msg}"))
        .collect();
    assert!(
        unfilled.is_empty(),
        "alerts with unfilled arguments: {unfilled:#?}"
    );
}

#[test]
fn daemon_clpcl_start_does_not_undo_a_final_action() {
    let rig = Rig::new();
    rig.script(
        "g",
        "bad",
        "start.sh",
        r#"echo "start $CLP_RESOURCENAME" >> "$LOG"; exit 1"#,
    );
    rig.script("g", "bad", "stop.sh", REC_STOP);
    rig.install(&conf(
        &[("g", &[exec("bad").act("<fo>0</fo><action>3</action>")])],
        "",
    ));
    for round in 1..=10 {
        let out = rig.run(CLPCL, &["-s"]);
        rig.wait_service_offline();
        rig.stop_daemon();
        assert_eq!(
            (out.code, rig.lines_starting("start bad").len()),
            (0, round),
            "round {round}: clpcl -s exited {} ({}), or started the service again after act/action 3 stopped it\n{}",
            out.code,
            out.stderr.trim(),
            rig.dump()
        );
    }
}
