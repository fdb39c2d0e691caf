//! psw and mtw in the real clpd: a process count that drops is detected and
//! the exec that owns the processes restarted; a multi-target monitor turns
//! Warning, then Error, as its members fail, and its counters start again when
//! it comes back to normal through Warning.

use std::time::{SystemTime, UNIX_EPOCH};

use clp::status::MonitorState;
use nix::sys::signal::Signal;

use crate::daemon::{CLPSTAT, REC_STOP, Rig, alive, conf, exec, read_lines};
use crate::monitor::{
    alerts_with, as_pid, escalation, flag_script, genw, mon, mon_in, monitors, set_fail, signal,
    wait_alert, wait_mon,
};

/// The worker pids the start script recorded (two per start).
fn worker_pids(rig: &Rig) -> Vec<u32> {
    let path = rig.t().join("workers.pids");
    rig.wait_for("two worker pids", || {
        let pids: Vec<u32> = read_lines(&path)
            .iter()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        (pids.len() == 2).then_some(pids)
    })
}

#[test]
fn monitor_psw_count_drop_restarts_the_owner() {
    let rig = Rig::new();
    // A duration no other test uses, so that only our workers match.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let tag = format!("4{:06}{:03}", nanos % 1_000_000, std::process::id() % 1000);
    // The script returns once both workers run, as an application's start
    // script must: a child forked by `&` keeps the shell's command line until
    // its exec, and psw1 (firstmonwait 0) checks as soon as the script ends.
    // Under load that exec comes later, psw1 counts one worker and restarts
    // the resource once more.
    rig.script(
        "g",
        "workers",
        "start.sh",
        &format!(
            r#"sleep {tag} &
echo $! >> "$T/workers.pids"
sleep {tag} &
echo $! >> "$T/workers.pids"
for p in $(cat "$T/workers.pids"); do
  n=0
  until tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "^sleep {tag} $"; do
    n=$((n + 1))
    if [ "$n" -gt 1000 ]; then echo "worker $p never ran sleep {tag}" >&2; exit 1; fi
    sleep 0.01
  done
done
echo "start workers" >> "$LOG""#
        ),
    );
    rig.script(
        "g",
        "workers",
        "stop.sh",
        &format!(
            r#"{REC_STOP}
for p in $(cat "$T/workers.pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
rm -f "$T/workers.pids"
exit 0"#
        ),
    );
    let psw = mon("psw", "psw1")
        .active("workers")
        .recover_rsc("workers")
        .emergency(&escalation(3, 0, 1))
        .params(&format!(
            "<processname>sleep {tag}</processname><processnum>2</processnum>"
        ));
    rig.install(&conf(&[("g", &[exec("workers")])], &monitors(&[psw])));
    rig.start_online();
    let first = worker_pids(&rig);
    wait_mon(&rig, "psw1", MonitorState::Normal);
    assert_eq!(mon_in(&rig.snapshot().unwrap(), "psw1").kind, "psw");

    signal(&rig, first[0], Signal::SIGKILL);
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring psw1.");
    assert!(
        rm9.contains(&format!(
            "1 process(es) match \"sleep {tag}\", at least 2 needed"
        )),
        "{rm9}"
    );
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target workers has restarted because an error was detected in monitoring psw1.",
    );
    rig.wait_lines("start workers", 2);
    assert_eq!(
        rig.lines_starting("stop workers"),
        ["stop workers RESOURCERESTART pid="],
        "{}",
        rig.dump()
    );
    // The stop script took the surviving worker; two new ones run.
    rig.wait_gone(as_pid(first[1]), "the surviving worker");
    let second = worker_pids(&rig);
    assert!(
        second
            .iter()
            .all(|p| !first.contains(p) && alive(as_pid(*p)))
    );
    wait_alert(&rig, "rm", 26, "psw1 status changed from error to normal.");
    let snap = wait_mon(&rig, "psw1", MonitorState::Normal);
    assert_eq!(mon_in(&snap, "psw1").restart_count, 0, "{snap:#?}");
    assert_eq!(
        alerts_with(&rig, "rm", 13, "psw1").len(),
        1,
        "{}",
        rig.dump()
    );
    rig.stop_daemon();
}

/// The line of `clpstat -m` for monitor `name`.
fn clpstat_m_line(rig: &Rig, name: &str) -> String {
    let out = rig.run(CLPSTAT, &["-m"]);
    out.success();
    out.stdout
        .lines()
        .find(|l| l.contains(&format!("[{name} : ")))
        .unwrap_or_else(|| panic!("no line for {name} in\n{}", out.stdout))
        .trim()
        .to_string()
}

#[test]
fn monitor_mtw_warning_then_error_by_thresholds() {
    let rig = Rig::new();
    let mut mons = Vec::new();
    for m in ["m1", "m2", "m3"] {
        flag_script(&rig, m);
        mons.push(genw(m));
    }
    mons.push(mon("mtw", "mtw1").params(
        "<list id=\"0\"><monname>m1</monname></list><list id=\"1\"><monname>m2</monname></list>\
         <list id=\"2\"><monname>m3</monname></list><errthreshold>2</errthreshold><warnthreshold>1</warnthreshold>",
    ));
    rig.install(&conf(&[], &monitors(&mons)));
    rig.start();
    for m in ["m1", "m2", "m3"] {
        rig.wait_lines(&format!("run {m}"), 1);
    }
    let snap = wait_mon(&rig, "mtw1", MonitorState::Normal);
    assert_eq!(mon_in(&snap, "mtw1").kind, "mtw");

    // One member in error: Warning.
    set_fail(&rig, "m2", true);
    wait_mon(&rig, "m2", MonitorState::Error);
    let snap = wait_mon(&rig, "mtw1", MonitorState::Warning);
    assert_eq!(mon_in(&snap, "m1").status, MonitorState::Normal);
    let rm4 = wait_alert(&rig, "rm", 4, "Warn monitoring mtw1.");
    assert!(rm4.contains("1 of 3 members in error: m2"), "{rm4}");
    assert_eq!(clpstat_m_line(&rig, "mtw1"), "Monitor3 [mtw1 : Warning]");
    assert!(alerts_with(&rig, "rm", 9, "monitoring mtw1").is_empty());

    // Two: Error.
    set_fail(&rig, "m3", true);
    wait_mon(&rig, "mtw1", MonitorState::Error);
    let rm9 = wait_alert(&rig, "rm", 9, "Detected an error in monitoring mtw1.");
    assert!(rm9.contains("2 of 3 members in error: m2, m3"), "{rm9}");
    assert_eq!(clpstat_m_line(&rig, "mtw1"), "Monitor3 [mtw1 : Error]");

    // Back to one, then none.
    set_fail(&rig, "m3", false);
    wait_mon(&rig, "mtw1", MonitorState::Warning);
    set_fail(&rig, "m2", false);
    wait_mon(&rig, "mtw1", MonitorState::Normal);
    // Error -> Warning -> Normal: the last change is from warning (rm 49).
    wait_alert(
        &rig,
        "rm",
        49,
        "mtw1 status changed from warning to normal.",
    );
    assert_eq!(clpstat_m_line(&rig, "mtw1"), "Monitor3 [mtw1 : Normal]");
    rig.stop_daemon();
}

#[test]
fn monitor_mtw_counters_reset_when_back_to_normal_through_warning() {
    let rig = Rig::new();
    let mut mons = Vec::new();
    for m in ["m1", "m2"] {
        flag_script(&rig, m);
        mons.push(genw(m));
    }
    mons.push(mon("mtw", "mtw1").params(
        "<list id=\"0\"><monname>m1</monname></list><list id=\"1\"><monname>m2</monname></list>\
         <errthreshold>2</errthreshold><warnthreshold>1</warnthreshold>",
    ));
    rig.install(&conf(&[], &monitors(&mons)));
    rig.start();
    wait_mon(&rig, "mtw1", MonitorState::Normal);
    set_fail(&rig, "m1", true);
    set_fail(&rig, "m2", true);
    // Error: LocalServer target, so straight to the final action (none).
    rig.wait_snap("mtw1 Error with its final action done", |s| {
        let m = mon_in(s, "mtw1");
        m.status == MonitorState::Error && m.final_action_done
    });
    set_fail(&rig, "m2", false);
    wait_mon(&rig, "mtw1", MonitorState::Warning);
    set_fail(&rig, "m1", false);
    let snap = wait_mon(&rig, "mtw1", MonitorState::Normal);
    assert!(
        !mon_in(&snap, "mtw1").final_action_done,
        "back to normal, but the counters were kept: {:#?}",
        mon_in(&snap, "mtw1")
    );
    rig.stop_daemon();
}
