//! The generations the daemon publishes by: they move when what clpstat shows
//! or what clpd persists may have changed, and only then.

use super::monitor::*;
use super::monitor_tests::{Sim, genw, model};
use super::{Command, Engine, Input};

fn monitors_generation(sim: &Sim) -> u64 {
    sim.m.generation()
}

#[test]
fn a_normal_check_that_stays_normal_moves_nothing() {
    let mut sim = Sim::new(model(&genw("g1", ""), ""));
    let before = monitors_generation(&sim);
    sim.context(true, &[]);
    assert!(
        monitors_generation(&sim) > before,
        "monitoring started: the monitor shows Normal instead of Offline"
    );
    sim.check("g1", CheckResult::Ok);
    let steady = monitors_generation(&sim);
    for _ in 0..5 {
        // A timer that starts a check, and its result: Normal, same counters, no detail.
        sim.check("g1", CheckResult::Ok);
    }
    assert_eq!(monitors_generation(&sim), steady);
}

#[test]
fn a_failure_a_warning_and_the_return_to_normal_move_it() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling>",
        ),
        "",
    ));
    sim.context(true, &[]);
    sim.check("g1", CheckResult::Ok);
    let mut last = monitors_generation(&sim);
    for result in [
        CheckResult::Failed("exit 1".into()),
        CheckResult::Ok,
        CheckResult::Warning("slow".into()),
        CheckResult::Warning("slower".into()),
    ] {
        sim.check("g1", result.clone());
        let now = monitors_generation(&sim);
        assert!(now > last, "{result:?} must move the generation");
        last = now;
    }
    // The same warning again: nothing new to show.
    sim.check("g1", CheckResult::Warning("slower".into()));
    assert_eq!(monitors_generation(&sim), last);
}

#[test]
fn operator_requests_move_it() {
    let mut sim = Sim::new(model(&genw("g1", ""), ""));
    sim.context(true, &[]);
    sim.check("g1", CheckResult::Ok);
    let before = monitors_generation(&sim);
    sim.input(MonInput::Suspend {
        monitors: vec!["g1".into()],
    });
    assert!(monitors_generation(&sim) > before);
    let before = monitors_generation(&sim);
    sim.input(MonInput::ClearCounters { monitors: vec![] });
    assert!(monitors_generation(&sim) > before);
}

#[test]
fn the_cluster_engine_moves_with_every_input_only() {
    let mut engine = Engine::new(model(&genw("g1", ""), ""), 0);
    let before = engine.generation();
    // Reading does not move it.
    let _ = engine.persisted();
    let _ = engine.group_state("g");
    assert_eq!(engine.generation(), before);
    engine.handle(
        Input::Command {
            req: None,
            cmd: Command::StartService,
        },
        1,
    );
    assert!(engine.generation() > before);
}
