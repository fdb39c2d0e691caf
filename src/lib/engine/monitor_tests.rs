//! Scenario tests of the monitor engine: scripted inputs, fake time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::OsAction;
use super::monitor::*;
use crate::model::Cluster;
use crate::vocab::MonitorState;

/// One server, group g with exec r (and r2), and the given monitors.
pub(super) fn model(monitors: &str, cluster: &str) -> Arc<Cluster> {
    model_with(monitors, cluster, "")
}

/// [`model`] with `root` added under `<root>` (clp's `<clp>` extension).
pub(super) fn model_with(monitors: &str, cluster: &str, root: &str) -> Arc<Cluster> {
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name>{cluster}</cluster>{root}
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@r"/><resource name="exec@r2"/></group>
  <resource><types name="exec"/>
    <exec name="r"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
    <exec name="r2"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
  </resource>
  <monitor><types name="genw"/><types name="psw"/><types name="mtw"/>{monitors}</monitor>
</root>"#
    );
    Arc::new(crate::config::test_model(&text, "node1"))
}

/// A genw monitor with a user script (no bundled file needed).
pub(super) fn genw(name: &str, inner: &str) -> String {
    format!(
        r#"<genw name="{name}"><parameters><default>0</default><path>/bin/true</path></parameters>{inner}</genw>"#
    )
}

pub(super) struct Sim {
    pub(super) m: Monitors,
    pub(super) now: u64,
    /// The epoch of each monitor's latest check timer, read from the effects.
    epochs: std::collections::BTreeMap<String, u64>,
}

impl Sim {
    pub(super) fn new(model: Arc<Cluster>) -> Self {
        Sim {
            m: Monitors::new(model, &["genw", "psw", "mtw", "pidw"]),
            now: 0,
            epochs: Default::default(),
        }
    }

    pub(super) fn input(&mut self, input: MonInput) -> Vec<MonEffect> {
        self.now += 1;
        let effects = self.m.handle(input, self.now);
        for e in &effects {
            if let MonEffect::ArmTimer {
                monitor,
                timer: MonTimer::Check { epoch },
                ..
            } = e
            {
                self.epochs.insert(monitor.clone(), *epoch);
            }
        }
        effects
    }

    pub(super) fn context(&mut self, up: bool, online: &[&str]) -> Vec<MonEffect> {
        self.context_with_budget(up, online, 3)
    }

    fn context_with_budget(&mut self, up: bool, online: &[&str], budget: u32) -> Vec<MonEffect> {
        self.input(MonInput::Context {
            service_up: up,
            online: online
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>(),
            reboot_budget: budget,
        })
    }

    /// Fires the check timer of `name`; returns the effects and the started check.
    pub(super) fn tick(&mut self, name: &str) -> (Vec<MonEffect>, Option<CheckId>) {
        let epoch = self.epochs.get(name).copied().unwrap_or(0);
        let effects = self.input(MonInput::Timer {
            monitor: name.into(),
            timer: MonTimer::Check { epoch },
        });
        let check = effects.iter().find_map(|e| match e {
            MonEffect::StartCheck { check, .. } => Some(*check),
            _ => None,
        });
        (effects, check)
    }

    /// Runs one check of `name` that answers `result`.
    pub(super) fn check(&mut self, name: &str, result: CheckResult) -> Vec<MonEffect> {
        let (mut all, check) = self.tick(name);
        if let Some(check) = check {
            all.extend(self.input(MonInput::CheckDone {
                monitor: name.into(),
                check,
                result,
                elapsed: Duration::from_millis(10),
            }));
        }
        all
    }

    pub(super) fn fail(&mut self, name: &str) -> Vec<MonEffect> {
        self.check(name, CheckResult::Failed("exit 1".into()))
    }
}

pub(super) fn alerts(effects: &[MonEffect]) -> Vec<u32> {
    effects
        .iter()
        .filter_map(|e| match e {
            MonEffect::Alert(a) if a.module == "rm" => Some(a.id),
            _ => None,
        })
        .collect()
}

pub(super) fn recoveries(effects: &[MonEffect]) -> Vec<Recovery> {
    effects
        .iter()
        .filter_map(|e| match e {
            MonEffect::Recover(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn state(sim: &Sim, name: &str) -> MonitorState {
    sim.m
        .view(name)
        .map(|v| v.state)
        .unwrap_or(MonitorState::Unknown)
}

#[test]
fn active_timing_follows_the_target_and_waits_firstmonwait() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<target>r</target><polling><timing>1</timing></polling><firstmonwait>7</firstmonwait>",
        ),
        "",
    ));
    assert!(
        sim.context(true, &[]).is_empty(),
        "target offline: not monitoring"
    );
    assert_eq!(state(&sim, "g1"), MonitorState::Offline);
    let e = sim.context(true, &["r"]);
    assert_eq!(alerts(&e), [1]);
    assert!(e.contains(&MonEffect::ArmTimer {
        monitor: "g1".into(),
        timer: MonTimer::Check { epoch: 1 },
        after: Duration::from_secs(7)
    }));
    assert_eq!(state(&sim, "g1"), MonitorState::Normal);
    let e = sim.context(true, &[]);
    assert_eq!(alerts(&e), [2]);
    assert!(e.contains(&MonEffect::Deactivated {
        monitor: "g1".into()
    }));
    // A timer of the earlier activation does nothing.
    let (e, check) = sim.tick("g1");
    assert!(check.is_none() && e.is_empty(), "{e:?}");
}

#[test]
fn detection_needs_retry_plus_one_failures_then_escalates_to_the_final_action() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>1</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>\
             <emergency><threshold><script>1</script><restart>2</restart><fo>1</fo></threshold><action>2</action></emergency>",
        ),
        "",
    ));
    sim.context(true, &["r", "r2"]);
    assert!(
        alerts(&sim.fail("g1")).is_empty(),
        "first failure: reconfirming"
    );
    assert_eq!(state(&sim, "g1"), MonitorState::Normal);
    // Second failure: error; first step is the recovery script.
    let e = sim.fail("g1");
    assert_eq!(alerts(&e), [9, 170]);
    assert!(e.iter().any(|x| matches!(
        x,
        MonEffect::PreAction {
            action: "RECOVERY",
            counts: (1, 0, 0),
            ..
        }
    )));
    assert_eq!(state(&sim, "g1"), MonitorState::Error);
    // Next detections: restart twice.
    for n in 1..=2 {
        sim.fail("g1");
        let e = sim.fail("g1");
        assert_eq!(
            recoveries(&e),
            [Recovery::RestartResource("r".into())],
            "restart {n}"
        );
        assert_eq!(alerts(&e), [9, 13]);
    }
    // Then failover: no destination (rc 65) and straight to the final action.
    sim.fail("g1");
    let e = sim.fail("g1");
    assert!(
        e.iter()
            .any(|x| matches!(x, MonEffect::Alert(a) if a.module == "rc" && a.id == 65))
    );
    assert_eq!(recoveries(&e), [Recovery::StopGroup("g".into())]);
    assert!(alerts(&e).contains(&12));
    let c = sim.m.view("g1").unwrap().counters;
    assert_eq!(
        (c.script, c.restart, c.failover, c.final_done),
        (1, 2, 1, true)
    );
    // The final action runs once.
    sim.fail("g1");
    assert!(recoveries(&sim.fail("g1")).is_empty());
}

#[test]
fn counters_reset_when_the_monitor_returns_to_normal_and_on_clear() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    let e = sim.fail("g1");
    assert_eq!(recoveries(&e), [Recovery::RestartResource("r".into())]);
    assert_eq!(sim.m.view("g1").unwrap().counters.restart, 1);
    let e = sim.check("g1", CheckResult::Ok);
    assert_eq!(alerts(&e), [26]);
    assert_eq!(sim.m.view("g1").unwrap().counters, Counters::default());
    sim.fail("g1");
    sim.input(MonInput::ClearCounters { monitors: vec![] });
    assert_eq!(sim.m.view("g1").unwrap().counters, Counters::default());
}

#[test]
fn local_server_target_uses_only_script_and_final_action() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling>\
             <emergency><threshold><restart>3</restart><fo>1</fo></threshold><action>5</action></emergency>",
        ),
        "",
    ));
    sim.context(true, &[]);
    let e = sim.fail("g1");
    assert_eq!(alerts(&e), [9, 17]);
    assert_eq!(
        recoveries(&e),
        [Recovery::StopCluster(Some(OsAction::Reboot))]
    );
}

#[test]
fn no_recovery_when_the_target_is_inactive_or_recovery_is_disabled() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &[]);
    assert_eq!(alerts(&sim.fail("g1")), [9, 25]);

    // rm/errordetect/norecovery 1: the same monitor, recovery disabled.
    let mut settings_model = (*model(
        &genw("g1", "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>"),
        "",
    ))
    .clone();
    settings_model.settings.no_recovery_on_monitor_error = true;
    let mut sim = Sim::new(Arc::new(settings_model));
    sim.context(true, &["r"]);
    let e = sim.fail("g1");
    assert_eq!(alerts(&e), [9, 192]);
    assert!(recoveries(&e).is_empty());
}

#[test]
fn timeouts_cancel_the_check_and_follow_the_timeout_flags() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>2</reconfirmation><timeout>9</timeout></polling><relation><type>rsc</type><name>r</name></relation>\
             <emergency><timeout><notreconfirmation><use>1</use></notreconfirmation><notrecovery><use>1</use></notrecovery></timeout></emergency>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    let (e, check) = sim.tick("g1");
    let check = check.expect("check started");
    assert!(e.iter().any(|x| matches!(x, MonEffect::ArmTimer { timer: MonTimer::CheckTimeout { .. }, after, .. } if *after == Duration::from_secs(9))));
    let e = sim.input(MonInput::Timer {
        monitor: "g1".into(),
        timer: MonTimer::CheckTimeout { epoch: 1, check },
    });
    assert!(e.contains(&MonEffect::CancelCheck {
        monitor: "g1".into(),
        check
    }));
    // No retry after a timeout: error at once; no recovery after a timeout.
    assert_eq!(alerts(&e), [9, 193]);
    assert!(recoveries(&e).is_empty());
    // A late answer of the cancelled check changes nothing.
    let late = sim.input(MonInput::CheckDone {
        monitor: "g1".into(),
        check,
        result: CheckResult::Ok,
        elapsed: Duration::from_secs(20),
    });
    assert!(alerts(&late).is_empty());
    assert_eq!(state(&sim, "g1"), MonitorState::Error);
}

#[test]
fn a_slow_check_raises_the_delay_warning() {
    let mut sim = Sim::new(model(
        &genw("g1", "<polling><timeout>10</timeout></polling>"),
        "",
    ));
    sim.context(true, &[]);
    let (_, check) = sim.tick("g1");
    let e = sim.input(MonInput::CheckDone {
        monitor: "g1".into(),
        check: check.unwrap(),
        result: CheckResult::Ok,
        elapsed: Duration::from_millis(8_500),
    });
    assert_eq!(alerts(&e), [71]);
    assert_eq!(state(&sim, "g1"), MonitorState::Normal);
}

#[test]
fn suspend_during_error_keeps_counters_and_stops_checks() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    sim.fail("g1");
    let e = sim.input(MonInput::Suspend {
        monitors: vec!["g1".into()],
    });
    assert_eq!(alerts(&e), [29]);
    assert!(
        e.contains(&MonEffect::Deactivated {
            monitor: "g1".into()
        }),
        "the probe is released"
    );
    assert_eq!(state(&sim, "g1"), MonitorState::Suspend);
    let (_, check) = sim.tick("g1");
    assert!(check.is_none(), "suspended: no check");
    assert_eq!(sim.m.view("g1").unwrap().counters.restart, 1);
    let e = sim.input(MonInput::Resume { monitors: vec![] });
    assert_eq!(alerts(&e), [32]);
    assert!(
        e.contains(&MonEffect::Activated {
            monitor: "g1".into()
        }),
        "the probe comes back"
    );
    let (_, check) = sim.tick("g1");
    assert!(check.is_some(), "resumed: checks again");
}

#[test]
fn dummy_failure_fails_without_checking() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    let e = sim.input(MonInput::DummyFailure {
        monitor: Some("g1".into()),
        on: true,
    });
    assert_eq!(alerts(&e), [180]);
    // No check runs: the failure is reported at once.
    let (e, check) = sim.tick("g1");
    assert!(check.is_none());
    assert_eq!(alerts(&e), [9, 13]);
    let e = sim.input(MonInput::DummyFailure {
        monitor: None,
        on: false,
    });
    assert_eq!(alerts(&e), [183]);
    assert!(alerts(&sim.check("g1", CheckResult::Ok)).contains(&26));
}

#[test]
fn pre_action_runs_before_the_restart() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>grp</type><name>g</name></relation>\
             <emergency><preaction><userestart>1</userestart><default>0</default><path>/bin/true</path></preaction></emergency>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    let e = sim.fail("g1");
    assert!(recoveries(&e).is_empty(), "waits for the pre-action");
    let id = e
        .iter()
        .find_map(|x| match x {
            MonEffect::PreAction {
                id,
                action: "RESTART",
                counts: (0, 1, 0),
                ..
            } => Some(*id),
            _ => None,
        })
        .expect("pre-action");
    let e = sim.input(MonInput::PreActionDone {
        monitor: "g1".into(),
        id,
        ok: true,
    });
    assert_eq!(alerts(&e), [82]);
    assert_eq!(recoveries(&e), [Recovery::RestartGroup("g".into())]);
}

#[test]
fn a_process_gone_fails_at_once() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    let e = sim.input(MonInput::ProcessGone {
        monitor: "g1".into(),
        detail: "pid 5 exited".into(),
    });
    assert_eq!(alerts(&e), [9, 13]);
}

#[test]
fn multi_target_thresholds() {
    let members = format!(
        "{}{}{}",
        genw("a", "<polling><reconfirmation>0</reconfirmation></polling>"),
        genw("b", "<polling><reconfirmation>0</reconfirmation></polling>"),
        genw("c", "<polling><reconfirmation>0</reconfirmation></polling>")
    );
    let mtw = r#"<mtw name="m"><parameters><list id="0"><monname>a</monname></list><list id="1"><monname>b</monname></list><list id="2"><monname>c</monname></list><errthreshold>2</errthreshold><warnthreshold>1</warnthreshold></parameters></mtw>"#;
    let mut sim = Sim::new(model(&format!("{members}{mtw}"), ""));
    sim.context(true, &[]);
    assert_eq!(state(&sim, "m"), MonitorState::Normal);
    let e = sim.fail("a");
    assert!(alerts(&e).contains(&4), "one member in error: warning");
    assert_eq!(state(&sim, "m"), MonitorState::Warning);
    sim.fail("b");
    assert_eq!(state(&sim, "m"), MonitorState::Error);
    sim.check("a", CheckResult::Ok);
    sim.check("b", CheckResult::Ok);
    assert_eq!(state(&sim, "m"), MonitorState::Normal);
}

#[test]
fn reboot_type_final_actions_respect_the_budget() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<polling><reconfirmation>0</reconfirmation></polling><emergency><action>5</action></emergency>",
        ),
        "",
    ));
    sim.context_with_budget(true, &[], 0);
    let e = sim.fail("g1");
    assert_eq!(alerts(&e), [9, 100]);
    assert!(recoveries(&e).is_empty());
}

#[test]
fn an_error_survives_the_restart_of_its_target_until_a_good_check() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<target>r</target><polling><timing>1</timing><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    assert_eq!(
        recoveries(&sim.fail("g1")),
        [Recovery::RestartResource("r".into())]
    );
    // The restart takes the target down and up again.
    sim.context(true, &[]);
    sim.context(true, &["r"]);
    assert_eq!(state(&sim, "g1"), MonitorState::Error);
    let e = sim.check("g1", CheckResult::Ok);
    assert_eq!(alerts(&e), [26]);
    assert_eq!(sim.m.view("g1").unwrap().counters, Counters::default());
}

#[test]
fn a_check_from_before_the_targets_restart_is_not_judged_after_it() {
    let mut sim = Sim::new(model(
        &genw(
            "g1",
            "<target>r</target><polling><timing>1</timing><reconfirmation>0</reconfirmation></polling><relation><type>rsc</type><name>r</name></relation>",
        ),
        "",
    ));
    sim.context(true, &["r"]);
    assert_eq!(
        recoveries(&sim.fail("g1")),
        [Recovery::RestartResource("r".into())]
    );
    // A check starts just as the restart takes the target down: it is cancelled...
    let (_, stale) = sim.tick("g1");
    let stale = stale.expect("a check started");
    let e = sim.context(true, &[]);
    assert!(e.contains(&MonEffect::CancelCheck {
        monitor: "g1".into(),
        check: stale
    }));
    // ...nothing is checked while the target is down...
    let (e, check) = sim.tick("g1");
    assert!(check.is_none() && e.is_empty(), "{e:?}");
    sim.context(true, &["r"]);
    // ...and its failure, answered once monitoring is back, is not a second detection.
    let e = sim.input(MonInput::CheckDone {
        monitor: "g1".into(),
        check: stale,
        result: CheckResult::Failed("1 process(es) match".into()),
        elapsed: Duration::from_millis(10),
    });
    assert!(alerts(&e).is_empty() && recoveries(&e).is_empty(), "{e:?}");
    assert_eq!(sim.m.view("g1").unwrap().counters.restart, 1);
    assert_eq!(alerts(&sim.check("g1", CheckResult::Ok)), [26]);
}
