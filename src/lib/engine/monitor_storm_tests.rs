//! Scenario tests of restart storms (`clp/restartlimit`): an application that
//! dies only after a good check is restarted a bounded number of times, then
//! the ladder goes on. Fake time; helpers from `monitor_tests`.

use super::monitor::*;
use super::monitor_tests::{Sim, alerts, genw, model_with, recoveries, state};
use crate::vocab::MonitorState;

/// genw `name` restarting `target` (rsc or grp), 3 restarts then failover then
/// final action 2 (stop the group); clp/restartlimit `max` in `window` s.
fn storm_model(mons: &[(&str, &str, &str)], max: u32, window: u32) -> Sim {
    let xml: String = mons
        .iter()
        .map(|(name, kind, target)| {
            genw(
                name,
                &format!(
                    "<polling><reconfirmation>0</reconfirmation></polling>\
                     <relation><type>{kind}</type><name>{target}</name></relation>\
                     <emergency><threshold><script>0</script><restart>3</restart><fo>1</fo></threshold><action>2</action></emergency>"
                ),
            )
        })
        .collect();
    let root = format!(
        "<clp><restartlimit><max>{max}</max><window>{window}</window></restartlimit></clp>"
    );
    let mut sim = Sim::new(model_with(&xml, "", &root));
    sim.context(true, &["r", "r2"]);
    sim
}

/// One crash of the loop: the check fails, then (if restarted) the next one is
/// good, which resets the monitor's counters (rm 26). Returns the failure's effects.
fn crash(sim: &mut Sim, name: &str) -> Vec<MonEffect> {
    let e = sim.fail(name);
    if !recoveries(&e).is_empty() && recoveries(&e)[0] != Recovery::StopGroup("g".into()) {
        let ok = sim.check(name, CheckResult::Ok);
        assert_eq!(alerts(&ok), [26], "back to normal after the restart");
    }
    e
}

fn storm_alert(effects: &[MonEffect]) -> Option<Vec<String>> {
    effects.iter().find_map(|e| match e {
        MonEffect::Alert(a) if a.module == "rm" && a.id == 900 => Some(a.args.clone()),
        _ => None,
    })
}

fn restart_r() -> Vec<Recovery> {
    vec![Recovery::RestartResource("r".into())]
}

#[test]
fn storm_a_crash_loop_after_good_checks_escalates_after_max_restarts() {
    let mut sim = storm_model(&[("g1", "rsc", "r")], 3, 60);
    for n in 1..=3 {
        let e = crash(&mut sim, "g1");
        assert_eq!(recoveries(&e), restart_r(), "restart {n}");
        assert_eq!(alerts(&e), [9, 13]);
        // The counters alone never stop it: they were reset by rm 26.
        assert_eq!(sim.m.view("g1").unwrap().counters.restart, 0);
    }
    // The fourth crash within the window: no restart; failover (none on one
    // server) and the final action, with the reason in rm 900.
    let e = crash(&mut sim, "g1");
    assert_eq!(
        storm_alert(&e),
        Some(vec!["r".into(), "3".into(), "60".into(), "g1".into()]),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| matches!(x, MonEffect::Alert(a) if a.module == "rc" && a.id == 65))
    );
    assert_eq!(recoveries(&e), [Recovery::StopGroup("g".into())]);
    assert_eq!(alerts(&e), [9, 900, 12]);
    let c = sim.m.view("g1").unwrap().counters;
    assert_eq!((c.restart, c.failover, c.final_done), (3, 1, true));
    assert_eq!(state(&sim, "g1"), MonitorState::Error);
}

#[test]
fn storm_window_slides_with_time() {
    let mut sim = storm_model(&[("g1", "rsc", "r")], 3, 60);
    for _ in 0..2 {
        crash(&mut sim, "g1");
    }
    // 50 s later one more restart fits (3 in the window).
    sim.now += 50_000;
    assert_eq!(recoveries(&crash(&mut sim, "g1")), restart_r());
    // 11 s later the first two are older than 60 s: one restart in the window.
    sim.now += 11_000;
    for n in 0..2 {
        let e = crash(&mut sim, "g1");
        assert_eq!(recoveries(&e), restart_r(), "restart {n} after the slide");
        assert_eq!(storm_alert(&e), None);
    }
    // Now three again (at 50 s, 61 s, 61 s): the next one is a storm.
    let e = crash(&mut sim, "g1");
    assert_eq!(storm_alert(&e).map(|a| a[1].clone()), Some("3".into()));
}

#[test]
fn storm_clpmonctrl_c_clears_the_history() {
    let mut sim = storm_model(&[("g1", "rsc", "r")], 2, 600);
    crash(&mut sim, "g1");
    crash(&mut sim, "g1");
    sim.input(MonInput::ClearCounters {
        monitors: vec!["g1".into()],
    });
    let e = crash(&mut sim, "g1");
    assert_eq!(recoveries(&e), restart_r(), "{e:?}");
    // Clearing all monitors (no name) clears every target.
    crash(&mut sim, "g1");
    sim.input(MonInput::ClearCounters { monitors: vec![] });
    assert_eq!(recoveries(&crash(&mut sim, "g1")), restart_r());
}

#[test]
fn storm_zero_restores_unbounded_restarts() {
    let mut sim = storm_model(&[("g1", "rsc", "r")], 0, 600);
    for n in 0..30 {
        let e = crash(&mut sim, "g1");
        assert_eq!(recoveries(&e), restart_r(), "restart {n}");
    }
}

#[test]
fn storm_counts_per_target_across_monitors() {
    // Two monitors restart the same resource; a third restarts the group.
    let mut sim = storm_model(
        &[("a", "rsc", "r"), ("b", "rsc", "r"), ("grp", "grp", "g")],
        3,
        600,
    );
    crash(&mut sim, "a");
    crash(&mut sim, "b");
    crash(&mut sim, "a");
    let e = crash(&mut sim, "b");
    assert_eq!(storm_alert(&e).map(|a| a[0].clone()), Some("r".into()));
    // The group is another target, with its own count.
    let e = crash(&mut sim, "grp");
    assert_eq!(recoveries(&e), [Recovery::RestartGroup("g".into())]);
}

#[test]
fn storm_history_survives_a_restart_of_the_daemon() {
    let mut sim = storm_model(&[("g1", "rsc", "r")], 3, 60);
    // This clpd started 1000 s after boot.
    sim.m.set_clock_base(1_000_000);
    sim.now = 5_000;
    for _ in 0..3 {
        crash(&mut sim, "g1");
    }
    let saved = sim.m.restart_history(sim.now);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].target, "resource:r");
    assert!(saved[0].at_ms.iter().all(|t| *t >= 1_005_000), "{saved:?}");

    // The next clpd starts 10 s later on the same boot: its time 0 is further on.
    let mut next = storm_model(&[("g1", "rsc", "r")], 3, 60);
    next.m.set_clock_base(1_015_000);
    next.now = 0;
    next.m.restore_restart_history(&saved, 0);
    let e = crash(&mut next, "g1");
    assert!(storm_alert(&e).is_some(), "{e:?}");

    // Restored a minute later, the same history no longer counts.
    let mut late = storm_model(&[("g1", "rsc", "r")], 3, 60);
    late.m.set_clock_base(1_070_000);
    late.m.restore_restart_history(&saved, 0);
    assert_eq!(recoveries(&crash(&mut late, "g1")), restart_r());
}
