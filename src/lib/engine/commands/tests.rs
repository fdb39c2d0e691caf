//! Each refused command gives the typed rejection that names what stands in the way.

use std::sync::Arc;

use super::*;

/// g1 = r1, r2 (r2 depends on r1); g2 = r3; one server, node1.
fn two_groups() -> Arc<Cluster> {
    let exec = |name: &str, inner: &str| {
        format!(
            r#"<exec name="{name}"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters>{inner}</exec>"#
        )
    };
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g1"><resource name="exec@r1"/><resource name="exec@r2"/></group>
  <group name="g2"><resource name="exec@r3"/></group>
  <resource><types name="exec"/>{}{}{}</resource>
</root>"#,
        exec("r1", ""),
        exec("r2", r#"<depend name="r1"/>"#),
        exec("r3", "")
    );
    Arc::new(crate::config::test_model(&text, "node1"))
}

struct Sim {
    engine: Engine,
    now: Millis,
    next_req: ReqId,
}

impl Sim {
    fn new() -> Self {
        Sim {
            engine: Engine::new(two_groups(), 0),
            now: 0,
            next_req: 1,
        }
    }

    /// Sends `cmd`; returns its answer if it came at once, and the effects.
    fn send(&mut self, cmd: Command) -> (Option<Reply>, Vec<Effect>) {
        let req = self.next_req;
        self.next_req += 1;
        self.now += 1;
        let effects = self.engine.handle(
            Input::Command {
                req: Some(req),
                cmd,
            },
            self.now,
        );
        let reply = effects.iter().find_map(|e| match e {
            Effect::Reply { req: r, reply } if *r == req => Some(reply.clone()),
            _ => None,
        });
        (reply, effects)
    }

    /// The rejection `cmd` gets at once.
    fn rejection(&mut self, cmd: Command) -> Rejection {
        match self.send(cmd) {
            (Some(Err(why)), _) => why,
            other => panic!("not rejected at once: {other:?}"),
        }
    }

    /// Lets every script started by `effects` (and those they lead to) succeed.
    fn settle(&mut self, effects: Vec<Effect>) {
        let mut pending = effects;
        while let Some(effect) = pending.pop() {
            if let Effect::Activate { op, .. } | Effect::Deactivate { op, .. } = effect {
                self.now += 1;
                let more = self
                    .engine
                    .handle(Input::ScriptDone { op, result: Ok(()) }, self.now);
                pending.extend(more);
            }
        }
    }

    fn started() -> Self {
        let mut sim = Sim::new();
        let (_, effects) = sim.send(Command::StartService);
        sim.settle(effects);
        sim
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unknown_objects_come_with_the_known_names() {
    let mut sim = Sim::started();
    assert_eq!(
        sim.rejection(Command::StopGroup {
            group: "web".into()
        }),
        Rejection::Unknown {
            object: Object::Group,
            name: "web".into(),
            known: names(&["g1", "g2"]),
        }
    );
    assert_eq!(
        sim.rejection(Command::StartResource {
            resource: "r9".into(),
            force: false,
        }),
        Rejection::Unknown {
            object: Object::Resource,
            name: "r9".into(),
            known: names(&["r1", "r2", "r3"]),
        }
    );
    assert_eq!(
        sim.rejection(Command::RestartGroup {
            group: "web".into()
        }),
        Rejection::Unknown {
            object: Object::Group,
            name: "web".into(),
            known: names(&["g1", "g2"]),
        }
    );
}

#[test]
fn groups_and_resources_already_as_asked_are_named_with_their_state() {
    let mut sim = Sim::started();
    assert_eq!(
        sim.rejection(Command::StartGroup { group: "g1".into() }),
        Rejection::Already {
            object: Object::Group,
            name: "g1".into(),
            online: true,
        }
    );
    assert_eq!(
        sim.rejection(Command::StartResource {
            resource: "r3".into(),
            force: false,
        }),
        Rejection::Already {
            object: Object::Resource,
            name: "r3".into(),
            online: true,
        }
    );
    assert_eq!(
        sim.rejection(Command::MoveGroup {
            group: "g2".into(),
            dest: Some("node1".into()),
        }),
        Rejection::AlreadyOnServer {
            group: "g2".into(),
            server: "node1".into(),
        }
    );
    let (answer, effects) = sim.send(Command::StopGroup { group: "g2".into() });
    assert_eq!(answer, None, "answered when stopped");
    sim.settle(effects);
    assert_eq!(
        sim.rejection(Command::StopGroup { group: "g2".into() }),
        Rejection::Already {
            object: Object::Group,
            name: "g2".into(),
            online: false,
        }
    );
    assert_eq!(
        sim.rejection(Command::StopResource {
            resource: "r3".into(),
            force: false,
        }),
        Rejection::Already {
            object: Object::Resource,
            name: "r3".into(),
            online: false,
        }
    );
}

#[test]
fn a_group_in_motion_is_busy() {
    let mut sim = Sim::started();
    let (answer, _scripts_left_running) = sim.send(Command::StopGroup { group: "g1".into() });
    assert_eq!(answer, None);
    assert_eq!(
        sim.rejection(Command::StartGroup { group: "g1".into() }),
        Rejection::GroupBusy {
            group: "g1".into(),
            state: Some(crate::vocab::RunState::OfflinePending),
        }
    );
    assert_eq!(
        sim.rejection(Command::StopResource {
            resource: "r1".into(),
            force: true,
        }),
        Rejection::GroupBusy {
            group: "g1".into(),
            state: None,
        }
    );
}

#[test]
fn a_stopped_or_stopping_service_refuses_operations() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.rejection(Command::StartGroup { group: "g1".into() }),
        Rejection::ServiceNotRunning
    );
    assert_eq!(
        sim.rejection(Command::StartResource {
            resource: "r1".into(),
            force: false,
        }),
        Rejection::ServiceNotRunning
    );
    assert_eq!(
        sim.rejection(Command::Suspend),
        Rejection::ServiceNotRunning
    );

    let mut sim = Sim::started();
    let (answer, _stop_scripts_running) = sim.send(Command::StopService {
        factor: crate::vocab::StopFactor::ClusterShutdown,
        then: None,
    });
    assert_eq!(answer, None);
    assert_eq!(
        sim.rejection(Command::StartService),
        Rejection::ServiceStopping
    );
}

#[test]
fn a_start_without_groups_leaves_them_offline_until_the_automatic_start_is_asked() {
    use crate::vocab::RunState;
    let mut sim = Sim::new();
    // Before the service runs, the automatic start has nothing to do.
    let (reply, effects) = sim.send(Command::StartAutoGroups);
    assert!(matches!(reply, Some(Ok(_))), "{reply:?}");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Activate { .. })));

    let (reply, effects) = sim.send(Command::StartServiceWithoutGroups);
    assert!(matches!(reply, Some(Ok(_))), "{reply:?}");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Activate { .. })));
    assert_eq!(sim.engine.service(), Service::Online);
    assert_eq!(sim.engine.group_state("g1"), RunState::Offline);

    // The operator starts g2 meanwhile; the automatic start leaves it be
    // and starts g1.
    let (_, effects) = sim.send(Command::StartGroup { group: "g2".into() });
    sim.settle(effects);
    assert_eq!(sim.engine.group_state("g2"), RunState::Online);
    let (reply, effects) = sim.send(Command::StartAutoGroups);
    assert!(matches!(reply, Some(Ok(_))), "{reply:?}");
    sim.settle(effects);
    assert_eq!(sim.engine.group_state("g1"), RunState::Online);
    assert_eq!(sim.engine.group_state("g2"), RunState::Online);
}
