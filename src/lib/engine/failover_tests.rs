//! Scenario tests of the engine's side of failover between servers: a start
//! for a claim (with its CLP_EVENT), a stop to leave (with its CLP_FACTOR),
//! and an activation failure past its retries that fails the group over
//! while another server is up, or escalates as on one server when none is.

use std::sync::Arc;

use super::membership::Membership;
use super::{ClpEvent, Command, Effect, Engine, Input, StopFactor};
use crate::model::Cluster;
use crate::vocab::RunState;

/// Servers node1 (this one) and node2; group g with the synchronous exec r
/// (no retry, one failover, final action 2: stop the group).
fn model() -> Arc<Cluster> {
    let text = r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority><device id="0"><type>lan</type><info>192.0.2.1</info></device></server>
  <server name="node2"><priority>1</priority><device id="0"><type>lan</type><info>192.0.2.2</info></device></server>
  <heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>
  <group name="g"><resource name="exec@r"/></group>
  <resource><types name="exec"/>
    <exec name="r"><act><retry>0</retry><fo>1</fo><action>2</action></act><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
  </resource>
</root>"#;
    Arc::new(crate::config::test_model(text, "node1"))
}

fn engine(node2_up: bool) -> Engine {
    let model = model();
    let mut engine = Engine::new(model.clone(), 0);
    let mut membership = Membership::local_only(&model);
    if node2_up {
        membership.set_up_servers(["node2"]);
    }
    engine.set_membership(membership);
    engine.handle(
        Input::Command {
            req: None,
            cmd: Command::StartServiceWithoutGroups,
        },
        0,
    );
    engine
}

/// The op of the first Activate (or Deactivate, `stop`) among `effects`.
fn op_of(effects: &[Effect], stop: bool) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Activate { op, .. } if !stop => Some(*op),
            Effect::Deactivate { op, .. } if stop => Some(*op),
            _ => None,
        })
        .unwrap()
}

fn place(engine: &mut Engine, event: ClpEvent) -> Vec<Effect> {
    engine.handle(
        Input::Command {
            req: None,
            cmd: Command::PlaceGroup {
                group: "g".into(),
                event,
            },
        },
        10,
    )
}

#[test]
fn a_claimed_group_starts_with_its_event_and_leaves_with_its_factor() {
    let mut e = engine(true);
    let effects = place(&mut e, ClpEvent::Failover);
    assert!(effects.iter().any(|x| matches!(
        x,
        Effect::Activate {
            event: ClpEvent::Failover,
            ..
        }
    )));
    let op = op_of(&effects, false);
    e.handle(Input::ScriptDone { op, result: Ok(()) }, 20);
    assert_eq!(e.group_state("g"), RunState::Online);
    let effects = e.handle(
        Input::Command {
            req: None,
            cmd: Command::LeaveGroup {
                group: "g".into(),
                factor: StopFactor::GroupMove,
            },
        },
        30,
    );
    assert!(effects.iter().any(|x| matches!(
        x,
        Effect::Deactivate {
            factor: StopFactor::GroupMove,
            event: ClpEvent::Failover,
            ..
        }
    )));
    let op = op_of(&effects, true);
    e.handle(Input::ScriptDone { op, result: Ok(()) }, 40);
    assert_eq!(e.group_state("g"), RunState::Offline);
}

#[test]
fn an_activation_failure_fails_the_group_over_while_another_server_is_up() {
    let mut e = engine(true);
    let op = op_of(&place(&mut e, ClpEvent::Start), false);
    let effects = e.handle(
        Input::ScriptDone {
            op,
            result: Err("exit 1".into()),
        },
        20,
    );
    assert!(
        effects.contains(&Effect::Failover {
            group: "g".into(),
            resource: Some("r".into())
        }),
        "{effects:?}"
    );
    // No final action: the group stops here to leave (GROUPFAILOVER).
    assert!(
        !effects
            .iter()
            .any(|x| matches!(x, Effect::Alert(a) if a.id == 202))
    );
    let stop = effects
        .iter()
        .find_map(|x| match x {
            Effect::Deactivate { op, factor, .. } => Some((*op, *factor)),
            _ => None,
        })
        .unwrap();
    assert_eq!(stop.1, StopFactor::GroupFailover);
    e.handle(
        Input::ScriptDone {
            op: stop.0,
            result: Ok(()),
        },
        30,
    );
    assert_eq!(e.group_state("g"), RunState::Offline);
}

#[test]
fn with_no_other_server_up_the_failure_escalates_as_on_one_server() {
    let mut e = engine(false);
    let op = op_of(&place(&mut e, ClpEvent::Start), false);
    let effects = e.handle(
        Input::ScriptDone {
            op,
            result: Err("exit 1".into()),
        },
        20,
    );
    assert!(!effects.iter().any(|x| matches!(x, Effect::Failover { .. })));
    let ids: Vec<u32> = effects
        .iter()
        .filter_map(|x| match x {
            Effect::Alert(a) if a.module == "rc" => Some(a.id),
            _ => None,
        })
        .collect();
    // rc 65 (no destination), then the final action: stop the group (rc 202).
    assert!(ids.contains(&65) && ids.contains(&202), "{ids:?}");
}
