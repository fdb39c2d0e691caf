//! The real clpd when scripts fail: a synchronous start script killed at its
//! timeout with its whole process group, activation retry then the final
//! actions (stop the group, stop the cluster service, shut down the OS through
//! the configured command or refuse the built-in default under a relocated
//! root), and deactivation failure.

use std::fs;

use clp::status::{RunState, ServiceState};

use crate::daemon::{
    CLPCL, CLPDOWN, CLPGRP, CLPSTAT, CLPSTDN, GATE, REC_STOP, Rig, alive, all_in, conf, exec,
    group, group_members, pid_in, pos, res,
};

#[test]
fn daemon_sync_start_timeout_kills_the_whole_process_group() {
    let rig = Rig::new();
    // A background grandchild and a foreground child: both must die with the script.
    rig.script(
        "g",
        "slow",
        "start.sh",
        r#"echo $$ > "$T/script.pid"; sleep 300 & echo $! > "$T/grandchild.pid"; echo started >> "$LOG"; sleep 300"#,
    );
    rig.script("g", "slow", "stop.sh", REC_STOP);
    rig.install(&crate::daemon::slow_start_conf());
    rig.start();
    let script = pid_in(&rig, "script.pid");
    let grandchild = pid_in(&rig, "grandchild.pid");
    assert!(alive(grandchild));

    let snap = rig.wait_snap("slow Online Failure", |s| {
        res(s, "slow").status == RunState::OnlineFailure
    });
    let cause = res(&snap, "slow").last_error.clone().unwrap_or_default();
    assert!(cause.contains("did not finish within 2 s"), "{cause}");
    assert_eq!(group(&snap, "g").status, RunState::OnlineFailure);
    rig.wait_gone(grandchild, "the script's background grandchild");
    rig.wait_gone(script, "the timed-out start script");
    rig.wait_for("no process left in the script's process group", || {
        group_members(script).is_empty().then_some(())
    });
    rig.assert_alert("rc", 32, "Activating slow resource has failed.");
    // Retry 0 and fo 0: it ran once; the default final action (1) stops nothing.
    assert_eq!(rig.lines_starting("started").len(), 1, "{}", rig.dump());
    assert!(rig.alert_messages("rc", 200).is_empty(), "{}", rig.dump());

    let stat = rig.run(CLPSTAT, &[]);
    stat.success();
    assert!(
        stat.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("slow ") && l.contains(": Online Failure")),
        "{}",
        stat.stdout
    );
    rig.stop_daemon();
}

/// A group `g` whose resource `bad` always fails to start, with `act` policy,
/// and `extra` root XML.
fn failing_start_rig(act: &str, extra: &str) -> Rig {
    let rig = Rig::new();
    rig.script(
        "g",
        "bad",
        "start.sh",
        &format!("{GATE}\necho \"start $CLP_RESOURCENAME $CLP_EVENT\" >> \"$LOG\"; exit 1"),
    );
    rig.script("g", "bad", "stop.sh", REC_STOP);
    rig.install(&conf(&[("g", &[exec("bad").act(act)])], extra));
    rig
}

/// What every activation-failure test sees: two starts (retry 1), rc 32 twice,
/// rc 200, then rc 65 (no failover destination on one server).
fn assert_retried_then_no_destination(rig: &Rig) {
    let starts = rig.lines_starting("start bad");
    assert_eq!(
        starts,
        ["start bad START", "start bad START"],
        "{}",
        rig.dump()
    );
    assert_eq!(rig.alert_messages("rc", 32).len(), 2, "{}", rig.dump());
    rig.assert_alert(
        "rc",
        200,
        "Resource(bad) will be reactivated since activating resource(bad) failed.",
    );
    rig.assert_alert(
        "rc",
        65,
        "There is no appropriate destination for the group g",
    );
}

#[test]
fn daemon_activation_retry_then_stop_group() {
    let rig = failing_start_rig("<retry>1</retry><action>2</action>", "");
    rig.start();
    rig.open_gate();
    rig.wait_lines("stop bad", 1);
    let snap = rig.wait_snap("group g Offline", |s| {
        group(s, "g").status == RunState::Offline
    });
    assert_retried_then_no_destination(&rig);
    rig.assert_alert(
        "rc",
        202,
        "Group(g) will be stopped since activating resource(bad) failed.",
    );
    assert_eq!(rig.lines_starting("stop bad"), ["stop bad GROUPSTOP pid="]);
    // Only the group stopped: the service goes on.
    assert_eq!(snap.cluster.service, ServiceState::Online);
    let lines = rig.lines();
    assert!(pos(&lines, "start bad") < pos(&lines, "stop bad"));
    rig.stop_daemon();
}

#[test]
fn daemon_activation_retry_then_stop_cluster_service() {
    let rig = failing_start_rig("<retry>1</retry><action>3</action>", "");
    rig.start();
    rig.open_gate();
    let snap = rig.wait_service_offline();
    assert!(all_in(&snap, &["bad"], RunState::Offline), "{snap:#?}");
    assert_retried_then_no_destination(&rig);
    rig.assert_alert(
        "rc",
        203,
        "Cluster daemon will be stopped since activating resource(bad) failed.",
    );
    assert_eq!(
        rig.lines_starting("stop bad"),
        ["stop bad CLUSTERSHUTDOWN pid="]
    );
    // clpd keeps running and answering.
    let pid = rig.daemon_pid().expect("clpd still runs");
    assert!(alive(pid));
    rig.run(CLPSTAT, &[]).success();
    rig.run(CLPCL, &["-s"]).success();
    rig.wait_lines("start bad", 4);
    rig.stop_daemon();
}

#[test]
fn daemon_activation_final_action_shutdown_runs_the_configured_command() {
    let rig = Rig::new();
    let record = rig.t().join("os.log");
    let extra = format!(
        "  <clp><action><shutdown>echo \"shutdown $CLP_ACTION\" &gt;&gt; {}</shutdown></action></clp>\n",
        record.display()
    );
    rig.script(
        "g",
        "bad",
        "start.sh",
        &format!("{GATE}\necho \"start $CLP_RESOURCENAME $CLP_EVENT\" >> \"$LOG\"; exit 1"),
    );
    // The stop script writes to the same file as the recorder: order shows.
    rig.script(
        "g",
        "bad",
        "stop.sh",
        &format!(
            "{REC_STOP}\necho \"stop $CLP_FACTOR\" >> '{}'",
            record.display()
        ),
    );
    rig.install(&conf(
        &[(
            "g",
            &[exec("bad").act("<retry>1</retry><action>4</action>")],
        )],
        &extra,
    ));
    rig.start();
    rig.open_gate();
    let lines = rig.wait_for("the shutdown command's record", || {
        let lines = crate::daemon::read_lines(&record);
        lines
            .iter()
            .any(|l| l.starts_with("shutdown"))
            .then_some(lines)
    });
    assert_eq!(
        lines,
        ["stop CLUSTERSHUTDOWN", "shutdown shutdown"],
        "{}",
        rig.dump()
    );
    rig.wait_service_offline();
    assert_retried_then_no_destination(&rig);
    rig.assert_alert(
        "rc",
        204,
        "System will be halted since activating resource(bad) failed.",
    );
    rig.assert_alert("pm", 23, "The system will be stopped.");
    rig.stop_daemon();
}

#[test]
fn daemon_activation_final_action_shutdown_default_refuses_under_relocated_root() {
    // No <clp><action> configured: the built-in /sbin/shutdown must not run.
    let rig = failing_start_rig("<retry>1</retry><action>4</action>", "");
    rig.start();
    rig.open_gate();
    rig.wait_service_offline();
    rig.wait_for("pm.log.cur to say the shutdown was refused", || {
        let pm = fs::read_to_string(rig.root().join("var/log/clp/pm.log.cur")).ok()?;
        pm.contains("refused to shutdown the OS: the root is relocated")
            .then_some(())
    });
    assert_retried_then_no_destination(&rig);
    rig.assert_alert(
        "rc",
        204,
        "System will be halted since activating resource(bad) failed.",
    );
    // Nothing else runs in the sandbox but clpd itself.
    let pid = rig.daemon_pid().expect("clpd still runs");
    assert_eq!(rig.processes(), [pid], "{}", rig.dump());
    rig.stop_daemon();
}

#[test]
fn daemon_deactivation_retry_then_final_action() {
    // deact/action 3 (stop the cluster service) is activation-only in CLUSTERPRO
    // and refused by validation; 4 stops the cluster service, then shuts the OS
    // down through the recording command.
    let rig = Rig::new();
    let record = rig.t().join("os.log");
    let extra = format!(
        "  <clp><action><shutdown>echo shutdown &gt;&gt; {}</shutdown></action></clp>\n",
        record.display()
    );
    rig.script("g", "sticky", "start.sh", crate::daemon::REC_START);
    rig.script("g", "sticky", "stop.sh", &format!("{REC_STOP}\nexit 1"));
    rig.install(&conf(
        &[(
            "g",
            &[exec("sticky").deact("<retry>1</retry><action>4</action>")],
        )],
        &extra,
    ));
    rig.start_online();
    let out = rig.run(CLPGRP, &["-t", "g"]);
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("group g did not stop: resource sticky: ")
            && out.stderr.contains("scripts/g/sticky/stop.sh exited 1"),
        "{}",
        out.stderr
    );
    rig.wait_for("the shutdown command's record", || {
        fs::read_to_string(&record)
            .ok()
            .filter(|t| t.contains("shutdown"))
    });
    let snap = rig.wait_service_offline();
    assert_eq!(
        res(&snap, "sticky").status,
        RunState::OfflineFailure,
        "{snap:#?}"
    );
    assert_eq!(
        rig.lines_starting("stop sticky"),
        ["stop sticky GROUPSTOP pid=", "stop sticky GROUPSTOP pid="],
        "{}",
        rig.dump()
    );
    assert_eq!(rig.alert_messages("rc", 42).len(), 2, "{}", rig.dump());
    rig.assert_alert(
        "rc",
        220,
        "Resource(sticky) will be stopping again since stopping resource(sticky) failed.",
    );
    rig.assert_alert(
        "rc",
        224,
        "System will be halted since stopping resource(sticky) failed.",
    );
    assert!(rig.daemon_pid().is_some());
    rig.stop_daemon();
}

#[test]
fn daemon_deactivation_action_3_is_refused_by_validation() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["r"]);
    rig.write_conf(&conf(
        &[(
            "g",
            &[exec("r").deact("<retry>1</retry><action>3</action>")],
        )],
        "",
    ));
    let cfg = rig.cfg();
    let out = rig.run(
        crate::util::CLPCFCTRL,
        &["--push", "-x", cfg.to_str().unwrap()],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.all().contains("deact/action"), "{}", out.all());
}

#[test]
fn daemon_clpdown_and_clpstdn_stop_with_their_factor_then_run_the_os_command() {
    // clpdown -r: SERVERSHUTDOWN then reboot; clpstdn: CLUSTERSHUTDOWN then
    // shutdown. Both through the recording commands, never the real ones.
    for (program, args, factor, action) in [
        (CLPDOWN, &["-r"][..], "SERVERSHUTDOWN", "reboot"),
        (CLPSTDN, &[][..], "CLUSTERSHUTDOWN", "shutdown"),
    ] {
        let rig = Rig::new();
        let record = rig.t().join("os.log");
        let extra = format!(
            "  <clp><action><shutdown>echo shutdown &gt;&gt; {rec}</shutdown>\
             <reboot>echo reboot &gt;&gt; {rec}</reboot></action></clp>\n",
            rec = record.display()
        );
        rig.script("g", "app", "start.sh", crate::daemon::REC_START);
        rig.script(
            "g",
            "app",
            "stop.sh",
            &format!(
                "{REC_STOP}\necho \"stop $CLP_FACTOR\" >> '{}'",
                record.display()
            ),
        );
        rig.install(&conf(&[("g", &[exec("app")])], &extra));
        rig.start_online();
        let out = rig.run(program, args);
        out.success();
        assert!(out.stdout.contains("Command succeeded."), "{}", out.all());
        let lines = rig.wait_for("the OS command's record", || {
            let lines = crate::daemon::read_lines(&record);
            (lines.len() >= 2).then_some(lines)
        });
        assert_eq!(
            lines,
            [format!("stop {factor}"), action.to_string()],
            "{program}: {}",
            rig.dump()
        );
        rig.wait_service_offline();
        rig.stop_daemon();
    }
}
