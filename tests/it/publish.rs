//! Publishing the status: a change reaches `clpstat --json` within a deadline,
//! and monitors that stay as they were do not rewrite `status.json`.

use std::time::{Duration, Instant};

use clp::status::{MonitorState, Snapshot};

use crate::daemon::{CLPSTAT, Rig, conf, exec};
use crate::monitor::{CLPMONCTRL, flag_script, genw, mon_in, monitors, wait_mon, wait_ticks};

/// clpd promises 100 ms from a change to `status.json`; a clpstat process
/// must also start and read it on a busy test machine.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

fn clpstat_json(rig: &Rig) -> Snapshot {
    let out = rig.run(CLPSTAT, &["--json"]);
    out.success();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn publish_a_suspended_monitor_shows_in_clpstat_at_once_and_quiet_checks_write_nothing() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    flag_script(&rig, "watch");
    crate::monitor::genw_script(&rig, "tick", r#"echo tick >> "$LOG""#);
    rig.install(&conf(
        &[("g", &[exec("app")])],
        &monitors(&[genw("watch"), genw("tick")]),
    ));
    rig.start_online();
    wait_mon(&rig, "watch", MonitorState::Normal);
    wait_mon(&rig, "tick", MonitorState::Normal);
    wait_ticks(&rig, 1);

    // Checks that leave every monitor Normal change nothing clpstat shows:
    // the file is not rewritten (its time stamp stays).
    let file = rig.root().join("run/clp/status.json");
    let before = std::fs::read(&file).unwrap();
    wait_ticks(&rig, 2);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "status.json was rewritten while nothing changed\n{}",
        rig.dump()
    );

    let out = rig.run(CLPMONCTRL, &["-s", "-m", "watch"]);
    out.success();
    let asked = Instant::now();
    loop {
        let snap = clpstat_json(&rig);
        if mon_in(&snap, "watch").status == MonitorState::Suspend {
            assert_eq!(mon_in(&snap, "tick").status, MonitorState::Normal);
            break;
        }
        assert!(
            asked.elapsed() < VISIBLE_WITHIN,
            "clpstat --json did not show watch suspended within {VISIBLE_WITHIN:?}\n{}",
            rig.dump()
        );
    }
}
