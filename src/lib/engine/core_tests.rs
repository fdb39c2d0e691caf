//! Scenario tests of the engine core: the policy between the cluster engine
//! and the monitors, driven with scripted inputs and fake time.

use std::sync::Arc;

use super::core::{Core, CoreEffect, CoreInput, Now};
use super::monitor::{CheckResult, MonEffect, MonInput, MonTimer};
use super::resource::AsyncPid;
use super::{Command, Effect, Input, OpId, Service, StopFactor};
use crate::model::Cluster;
use crate::vocab::OsAction;

/// One server `node1`; group g with the asynchronous exec `r`; monitors:
/// `pw` (pidw on r, one restart then final action `action`) and `gw` (genw
/// whose recovery target is the local server, final action 8: sysrq panic).
fn model(action: u32, reboot_max: u32) -> Arc<Cluster> {
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <clp><reboot><max>{reboot_max}</max><window>3600</window></reboot></clp>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@r"/></group>
  <resource><types name="exec"/>
    <exec name="r"><parameters><act><path>/bin/true</path><sync>0</sync></act><deact><path>/bin/true</path></deact></parameters></exec>
  </resource>
  <monitor><types name="pidw"/><types name="genw"/>
    <pidw name="pw"><target>r</target><polling><timing>1</timing><interval>1</interval><reconfirmation>0</reconfirmation></polling>
      <relation><type>rsc</type><name>r</name></relation>
      <emergency><threshold><script>0</script><restart>1</restart><fo>0</fo></threshold><action>{action}</action></emergency></pidw>
    <genw name="gw"><parameters><default>0</default><path>/bin/true</path></parameters>
      <polling><interval>1</interval><reconfirmation>0</reconfirmation></polling>
      <emergency><threshold><script>0</script><restart>0</restart><fo>0</fo></threshold><action>8</action></emergency></genw>
  </monitor>
</root>"#
    );
    Arc::new(crate::config::test_model(&text, "node1"))
}

struct Sim {
    core: Core,
    now: Now,
}

impl Sim {
    fn new(model: Arc<Cluster>) -> Self {
        let now = Now {
            mono: 0,
            unix_secs: 1_000_000,
        };
        Sim {
            core: Core::new(model, crate::monitor::RUNNABLE, now),
            now,
        }
    }

    fn handle(&mut self, input: impl Into<CoreInput>) -> Vec<CoreEffect> {
        self.now.mono += 10;
        self.now.unix_secs += 1;
        self.core.handle(input, self.now)
    }

    /// Feeds back what the daemon would report for the scripts among
    /// `effects` (all succeed; asynchronous starts report pid 100 + op), until
    /// the engine asks for nothing more. Returns every effect seen.
    fn settle(&mut self, mut effects: Vec<CoreEffect>) -> Vec<CoreEffect> {
        let mut seen = Vec::new();
        while !effects.is_empty() {
            let mut next = Vec::new();
            for e in &effects {
                let input = match e {
                    CoreEffect::Engine(Effect::Activate { op, .. }) => Input::Spawned {
                        op: *op,
                        pid: pid(*op),
                    },
                    CoreEffect::Engine(Effect::Deactivate { op, .. }) => Input::ScriptDone {
                        op: *op,
                        result: Ok(()),
                    },
                    _ => continue,
                };
                next.extend(self.handle(input));
            }
            seen.extend(effects);
            effects = next;
        }
        seen
    }

    /// Like [`Sim::settle`] for synchronous resources: every activation and
    /// deactivation ends with `ScriptDone`.
    fn settle_sync(&mut self, mut effects: Vec<CoreEffect>) -> Vec<CoreEffect> {
        let mut seen = Vec::new();
        while !effects.is_empty() {
            let mut next = Vec::new();
            for e in &effects {
                if let CoreEffect::Engine(
                    Effect::Activate { op, .. } | Effect::Deactivate { op, .. },
                ) = e
                {
                    next.extend(self.handle(Input::ScriptDone {
                        op: *op,
                        result: Ok(()),
                    }));
                }
            }
            seen.extend(effects);
            effects = next;
        }
        seen
    }

    fn start_service(&mut self) -> Vec<CoreEffect> {
        let e = self.handle(CoreInput::Operator {
            req: 1,
            cmd: Command::StartService,
        });
        self.settle(e)
    }

    /// The check of `monitor` that the monitors asked for last, answered.
    fn answer_check(&mut self, effects: &[CoreEffect], result: CheckResult) -> Vec<CoreEffect> {
        let (monitor, check) = effects
            .iter()
            .rev()
            .find_map(|e| match e {
                CoreEffect::Monitor(MonEffect::StartCheck { monitor, check }) => {
                    Some((monitor.clone(), *check))
                }
                _ => None,
            })
            .expect("a check was asked for");
        self.handle(MonInput::CheckDone {
            monitor,
            check,
            result,
            elapsed: std::time::Duration::ZERO,
        })
    }

    /// Fires the next check timer of `monitor` (any epoch the monitors armed).
    fn tick(&mut self, monitor: &str, seen: &[CoreEffect]) -> Vec<CoreEffect> {
        let timer = seen
            .iter()
            .rev()
            .find_map(|e| match e {
                CoreEffect::Monitor(MonEffect::ArmTimer {
                    monitor: m, timer, ..
                }) if m == monitor && matches!(timer, MonTimer::Check { .. }) => Some(*timer),
                _ => None,
            })
            .expect("a check timer was armed");
        self.handle(MonInput::Timer {
            monitor: monitor.into(),
            timer,
        })
    }
}

fn pid(op: OpId) -> AsyncPid {
    AsyncPid {
        pid: u32::try_from(100 + op).unwrap(),
        start_time: 1,
    }
}

fn scripts(effects: &[CoreEffect]) -> Vec<(String, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            CoreEffect::Engine(Effect::Activate { resource, .. }) => Some((resource.clone(), true)),
            CoreEffect::Engine(Effect::Deactivate { resource, .. }) => {
                Some((resource.clone(), false))
            }
            _ => None,
        })
        .collect()
}

fn alerts(effects: &[CoreEffect]) -> Vec<(&'static str, u32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            CoreEffect::Engine(Effect::Alert(a)) | CoreEffect::Monitor(MonEffect::Alert(a)) => {
                Some((a.module, a.id))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_monitors_start_with_the_service_and_stop_with_it() {
    let mut sim = Sim::new(model(2, 3));
    let seen = sim.start_service();
    assert_eq!(scripts(&seen), [("r".to_string(), true)]);
    assert!(seen.iter().any(|e| matches!(
        e,
        CoreEffect::Monitor(MonEffect::Activated { monitor }) if monitor == "pw"
    )));
    assert_eq!(sim.core.service(), Service::Online);

    let e = sim.handle(Input::Command {
        req: None,
        cmd: Command::StopService {
            factor: StopFactor::ServerShutdown,
            then: None,
        },
    });
    let seen = sim.settle(e);
    assert!(seen.iter().any(|e| matches!(
        e,
        CoreEffect::Monitor(MonEffect::Deactivated { monitor }) if monitor == "pw"
    )));
    assert_eq!(sim.core.service(), Service::Offline);
    assert!(
        !sim.core.stopped_by_operator(),
        "a shutdown is not the operator's stop"
    );
}

#[test]
fn only_the_operators_stop_is_remembered() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    let e = sim.handle(CoreInput::Operator {
        req: 2,
        cmd: Command::StopService {
            factor: StopFactor::ClusterShutdown,
            then: None,
        },
    });
    let seen = sim.settle(e);
    assert!(sim.core.stopped_by_operator());
    assert!(seen.iter().any(|e| matches!(
        e,
        CoreEffect::Engine(Effect::Reply {
            req: 2,
            reply: Ok(_)
        })
    )));
    sim.start_service();
    assert!(!sim.core.stopped_by_operator());
}

#[test]
fn the_end_of_an_async_start_script_fails_its_pidw_at_once_and_restarts_the_resource() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    let e = sim.handle(CoreInput::AsyncExited {
        resource: "r".into(),
        pid: 101,
        how: "signal 9".into(),
    });
    // No check interval in between: pidw is in error (rm 9), the recovery
    // (rm 13) became a restart of r: stop.sh, then start.sh.
    assert!(alerts(&e).contains(&("rm", 9)), "{e:?}");
    assert!(alerts(&e).contains(&("rm", 13)), "{e:?}");
    let seen = sim.settle(e);
    assert_eq!(
        scripts(&seen),
        [("r".to_string(), false), ("r".to_string(), true)]
    );
}

#[test]
fn a_resource_being_stopped_does_not_fail_its_pidw() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    // The operator stops g: stop.sh runs (not yet finished) and kills the process.
    let stop = sim.handle(CoreInput::Operator {
        req: 3,
        cmd: Command::StopGroup { group: "g".into() },
    });
    assert_eq!(scripts(&stop), [("r".to_string(), false)]);
    let e = sim.handle(CoreInput::AsyncExited {
        resource: "r".into(),
        pid: 101,
        how: "signal 15".into(),
    });
    assert!(!alerts(&e).contains(&("rm", 9)), "{e:?}");
}

#[test]
fn after_its_restarts_the_monitor_takes_the_final_action() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    // First failure: restart (restart threshold 1).
    let e = sim.handle(CoreInput::AsyncExited {
        resource: "r".into(),
        pid: 101,
        how: "signal 9".into(),
    });
    sim.settle(e);
    // Second failure: no failover configured (fo 0), final action 2 stops g.
    let e = sim.handle(CoreInput::AsyncExited {
        resource: "r".into(),
        pid: 103,
        how: "signal 9".into(),
    });
    let seen = sim.settle(e);
    assert_eq!(scripts(&seen), [("r".to_string(), false)]);
    assert_eq!(sim.core.engine().group_state("g").as_str(), "Offline");
}

#[test]
fn reboot_type_actions_are_counted_and_the_budget_stops_them() {
    let mut sim = Sim::new(model(2, 1));
    let seen = sim.start_service();
    assert_eq!(sim.core.reboot_budget(sim.now.unix_secs), 1);
    // gw fails: its final action is a sysrq panic, carried out as Os(Panic).
    let e = sim.tick("gw", &seen);
    let e = sim.answer_check(&e, CheckResult::Failed("down".into()));
    assert!(
        e.contains(&CoreEffect::Os(OsAction::Panic)),
        "the panic is handed to the daemon: {e:?}"
    );
    assert_eq!(sim.core.reboots().len(), 1, "counted when decided");
    assert_eq!(sim.core.reboot_budget(sim.now.unix_secs), 0);
    // An hour later the window has passed.
    assert_eq!(sim.core.reboot_budget(sim.now.unix_secs + 3600), 1);
}

#[test]
fn a_move_has_no_destination_on_one_server() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    let e = sim.handle(CoreInput::Operator {
        req: 4,
        cmd: Command::MoveGroup {
            group: "g".into(),
            dest: None,
        },
    });
    let reply = e.iter().find_map(|e| match e {
        CoreEffect::Engine(Effect::Reply { req: 4, reply }) => Some(reply.clone()),
        _ => None,
    });
    assert_eq!(
        reply,
        Some(Err(super::Rejection::NoDestination {
            group: "g".into(),
            servers: vec!["node1".into()],
        })),
        "{e:?}"
    );
    assert_eq!(sim.core.membership().up_servers(), vec!["node1"]);
}

#[test]
fn a_suspended_monitor_is_not_activated_when_its_target_comes_online() {
    let mut sim = Sim::new(model(2, 3));
    sim.start_service();
    sim.handle(MonInput::Suspend {
        monitors: vec!["pw".into()],
    });
    let stop = sim.handle(CoreInput::Operator {
        req: 5,
        cmd: Command::StopGroup { group: "g".into() },
    });
    sim.settle(stop);
    let start = sim.handle(CoreInput::Operator {
        req: 6,
        cmd: Command::StartGroup { group: "g".into() },
    });
    let seen = sim.settle(start);
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            CoreEffect::Monitor(MonEffect::Activated { monitor }) if monitor == "pw"
        )),
        "a suspended monitor holds nothing: {seen:?}"
    );
    let resumed = sim.handle(MonInput::Resume {
        monitors: vec!["pw".into()],
    });
    assert!(resumed.iter().any(|e| matches!(
        e,
        CoreEffect::Monitor(MonEffect::Activated { monitor }) if monitor == "pw"
    )));
}

#[test]
fn recoveries_asked_by_one_input_run_in_the_order_asked() {
    // genw a restarts r; mtw m over a stops group g: one failed check of a
    // asks for both, the restart first.
    let text = r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@r"/></group>
  <resource><types name="exec"/>
    <exec name="r"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
  </resource>
  <monitor><types name="genw"/><types name="mtw"/>
    <genw name="a"><parameters><default>0</default><path>/bin/true</path></parameters>
      <polling><interval>1</interval><reconfirmation>0</reconfirmation></polling>
      <relation><type>rsc</type><name>r</name></relation>
      <emergency><threshold><script>0</script><restart>1</restart><fo>0</fo></threshold><action>1</action></emergency></genw>
    <mtw name="m"><parameters><list id="0"><monname>a</monname></list><errthreshold>1</errthreshold></parameters>
      <polling><interval>1</interval><reconfirmation>0</reconfirmation></polling>
      <relation><type>grp</type><name>g</name></relation>
      <emergency><threshold><script>0</script><restart>0</restart><fo>0</fo></threshold><action>2</action></emergency></mtw>
  </monitor>
</root>"#;
    let mut sim = Sim::new(Arc::new(crate::config::test_model(text, "node1")));
    let start = sim.handle(CoreInput::Operator {
        req: 1,
        cmd: Command::StartService,
    });
    let seen = sim.settle_sync(start);
    let e = sim.tick("a", &seen);
    let e = sim.answer_check(&e, CheckResult::Failed("down".into()));
    let factors: Vec<StopFactor> = e
        .iter()
        .filter_map(|e| match e {
            CoreEffect::Engine(Effect::Deactivate { factor, .. }) => Some(*factor),
            _ => None,
        })
        .collect();
    assert_eq!(
        factors.first(),
        Some(&StopFactor::ResourceRestart),
        "the restart comes first: {e:#?}"
    );
}
