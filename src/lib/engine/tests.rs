//! Scenario tests of the engine: scripted inputs, fake time, no processes.

use std::sync::Arc;

use super::resource::{self, AsyncPid, ResCtx, ResEvent, ResState};
use super::*;
use crate::model::ActivationPolicy;
use crate::vocab::RunState;

/// A model from resource/group XML fragments on a one-server cluster `node1`.
fn model(groups: &str, resources: &str, extra: &str) -> Arc<Cluster> {
    model_with_cluster(groups, resources, "", extra)
}

/// Like [`model`], with `cluster` inside `<cluster>`.
fn model_with_cluster(groups: &str, resources: &str, cluster: &str, extra: &str) -> Arc<Cluster> {
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name>{cluster}</cluster>
  <server name="node1"><priority>0</priority></server>
  {groups}
  <resource><types name="exec"/>{resources}</resource>
  {extra}
</root>"#
    );
    Arc::new(crate::config::test_model(&text, "node1"))
}

fn exec(name: &str, inner: &str) -> String {
    format!(
        r#"<exec name="{name}"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters>{inner}</exec>"#
    )
}

fn group(name: &str, members: &[&str], inner: &str) -> String {
    let m: String = members
        .iter()
        .map(|r| format!(r#"<resource name="exec@{r}"/>"#))
        .collect();
    format!(r#"<group name="{name}">{m}{inner}</group>"#)
}

/// r1; r2 depends on r1; r3 independent.
fn three() -> Arc<Cluster> {
    model(
        &group("g", &["r1", "r2", "r3"], ""),
        &format!(
            "{}{}{}",
            exec("r1", ""),
            exec("r2", r#"<depend name="r1"/>"#),
            exec("r3", "")
        ),
        "",
    )
}

/// Runs scripts as the test says; keeps the clock.
struct Sim {
    engine: Engine,
    now: Millis,
}

impl Sim {
    fn new(model: Arc<Cluster>) -> Self {
        Sim {
            engine: Engine::new(model, 0),
            now: 0,
        }
    }

    fn cmd(&mut self, req: u64, cmd: Command) -> Vec<Effect> {
        self.now += 1;
        self.engine.handle(
            Input::Command {
                req: Some(req),
                cmd,
            },
            self.now,
        )
    }

    fn input(&mut self, input: Input) -> Vec<Effect> {
        self.now += 1;
        self.engine.handle(input, self.now)
    }

    fn state(&self, r: &str) -> RunState {
        self.engine
            .resource_state(r)
            .map(|s| s.public())
            .unwrap_or(RunState::Unknown)
    }
}

fn runs(effects: &[Effect]) -> Vec<(String, bool, OpId)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Activate { resource, op, .. } => Some((resource.clone(), true, *op)),
            Effect::Deactivate { resource, op, .. } => Some((resource.clone(), false, *op)),
            _ => None,
        })
        .collect()
}

fn op_of(effects: &[Effect], resource: &str) -> OpId {
    runs(effects)
        .into_iter()
        .find(|(r, _, _)| r == resource)
        .map(|(_, _, op)| op)
        .unwrap_or_else(|| panic!("no script run for {resource} in {effects:#?}"))
}

fn alerts(effects: &[Effect]) -> Vec<(&'static str, u32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Alert(a) => Some((a.module, a.id)),
            _ => None,
        })
        .collect()
}

fn reply(effects: &[Effect], req: u64) -> Option<Reply> {
    effects.iter().find_map(|e| match e {
        Effect::Reply { req: r, reply } if *r == req => Some(reply.clone()),
        _ => None,
    })
}

fn ok(op: OpId) -> Input {
    Input::ScriptDone { op, result: Ok(()) }
}

fn fail(op: OpId) -> Input {
    Input::ScriptDone {
        op,
        result: Err("start.sh exited 1".into()),
    }
}

/// Starts the service and completes every start script; returns the effects seen.
fn start_all(sim: &mut Sim) -> Vec<Effect> {
    let mut all = sim.cmd(1, Command::StartService);
    let mut pending: Vec<OpId> = runs(&all).iter().map(|r| r.2).collect();
    while let Some(op) = pending.pop() {
        let e = sim.input(ok(op));
        pending.extend(runs(&e).iter().map(|r| r.2));
        all.extend(e);
    }
    all
}

#[test]
fn activation_follows_dependencies_and_stop_is_the_reverse() {
    let mut sim = Sim::new(three());
    let e = sim.cmd(1, Command::StartService);
    assert_eq!(reply(&e, 1), Some(Ok("started".into())));
    let first: Vec<String> = runs(&e).into_iter().map(|r| r.0).collect();
    assert_eq!(
        first,
        ["r1", "r3"],
        "independent resources start together, r2 waits for r1"
    );
    assert!(e.iter().any(|x| matches!(x, Effect::ArmStall { .. })));
    assert_eq!(sim.engine.group_state("g"), RunState::OnlinePending);

    let r3 = op_of(&e, "r3");
    let e = sim.input(ok(op_of(&e, "r1")));
    assert_eq!(
        runs(&e).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        ["r2"]
    );
    sim.input(ok(op_of(&e, "r2")));
    let e = sim.input(ok(r3));
    assert!(alerts(&e).contains(&("rc", 11)), "{e:#?}");
    assert_eq!(sim.engine.group_state("g"), RunState::Online);

    let e = sim.cmd(
        2,
        Command::StopService {
            factor: StopFactor::ClusterShutdown,
            then: None,
        },
    );
    let first: Vec<String> = runs(&e).into_iter().map(|r| r.0).collect();
    assert_eq!(first, ["r3", "r2"], "r1 stops only after r2, its dependent");
    let factor = e.iter().find_map(|x| match x {
        Effect::Deactivate { factor, .. } => Some(*factor),
        _ => None,
    });
    assert_eq!(factor, Some(StopFactor::ClusterShutdown));
    let e1 = sim.input(ok(op_of(&e, "r2")));
    let r1 = op_of(&e1, "r1");
    sim.input(ok(op_of(&e, "r3")));
    let e = sim.input(ok(r1));
    assert!(e.contains(&Effect::ServiceStopped));
    assert_eq!(reply(&e, 2), Some(Ok("stopped".into())));
    assert_eq!(sim.engine.service(), Service::Offline);
}

#[test]
fn activation_retry_then_stop_group() {
    let m = model(
        &group("g", &["a", "b"], ""),
        &format!(
            "{}{}",
            exec("a", "<act><retry>1</retry><action>2</action></act>"),
            exec("b", "")
        ),
        "",
    );
    let mut sim = Sim::new(m);
    let e = sim.cmd(1, Command::StartService);
    let a = op_of(&e, "a");
    let b = op_of(&e, "b");
    sim.input(ok(b));
    let e = sim.input(fail(a));
    assert!(alerts(&e).contains(&("rc", 32)));
    assert!(alerts(&e).contains(&("rc", 200)), "retry announced");
    let a2 = op_of(&e, "a");
    assert_eq!(sim.engine.retry_count("a"), 1);
    let e = sim.input(fail(a2));
    // Retries used up: failover has no destination (rc 65), then final action 2 stops the group.
    assert!(alerts(&e).contains(&("rc", 65)));
    assert!(alerts(&e).contains(&("rc", 202)));
    let stops = runs(&e);
    assert!(stops.iter().all(|(_, start, _)| !start));
    let stop_factor = e.iter().find_map(|x| match x {
        Effect::Deactivate { factor, .. } => Some(*factor),
        _ => None,
    });
    assert_eq!(stop_factor, Some(StopFactor::GroupStop));
    for (_, _, op) in stops {
        sim.input(ok(op));
    }
    assert_eq!(sim.engine.group_state("g"), RunState::Offline);
    assert_eq!(sim.engine.service(), Service::Online);
}

#[test]
fn final_action_stop_cluster_then_shutdown_runs_after_the_service_stopped() {
    let m = model(
        &group("g", &["a"], ""),
        &exec("a", "<act><action>4</action><fo>0</fo></act>"),
        "",
    );
    let mut sim = Sim::new(m);
    let e = sim.cmd(1, Command::StartService);
    let e = sim.input(fail(op_of(&e, "a")));
    assert!(alerts(&e).contains(&("rc", 204)));
    assert!(
        !alerts(&e).contains(&("rc", 65)),
        "fo 0: no failover attempt"
    );
    // The failed resource is cleaned up with its stop script, then the OS action.
    let stop = op_of(&e, "a");
    assert!(
        !e.iter().any(|x| matches!(x, Effect::Os(_))),
        "OS action waits for the stop"
    );
    let e = sim.input(ok(stop));
    let stopped = e
        .iter()
        .position(|x| *x == Effect::ServiceStopped)
        .expect("service stopped");
    let os = e
        .iter()
        .position(|x| *x == Effect::Os(OsAction::Shutdown))
        .expect("shutdown");
    assert!(stopped < os);
}

#[test]
fn final_actions_panic_and_reset_are_immediate() {
    for (code, want) in [
        (8, OsAction::Panic),
        (9, OsAction::Reset),
        (10, OsAction::Panic),
        (12, OsAction::Shutdown),
    ] {
        let m = model(
            &group("g", &["a"], ""),
            &exec("a", &format!("<act><action>{code}</action></act>")),
            "",
        );
        let mut sim = Sim::new(m);
        let e = sim.cmd(1, Command::StartService);
        let e = sim.input(fail(op_of(&e, "a")));
        assert!(e.contains(&Effect::Os(want)), "code {code}: {e:#?}");
    }
}

#[test]
fn final_action_0_lets_dependents_start_and_1_halts() {
    let resources = |action: u32| {
        format!(
            "{}{}",
            exec("a", &format!("<act><action>{action}</action></act>")),
            exec("b", r#"<depend name="a"/>"#)
        )
    };
    let mut sim = Sim::new(model(&group("g", &["a", "b"], ""), &resources(0), ""));
    let e = sim.cmd(1, Command::StartService);
    let e = sim.input(fail(op_of(&e, "a")));
    assert_eq!(runs(&e).into_iter().map(|r| r.0).collect::<Vec<_>>(), ["b"]);
    sim.input(ok(op_of(&e, "b")));
    assert_eq!(sim.engine.group_state("g"), RunState::OnlineFailure);

    let mut sim = Sim::new(model(&group("g", &["a", "b"], ""), &resources(1), ""));
    let e = sim.cmd(1, Command::StartService);
    let e = sim.input(fail(op_of(&e, "a")));
    assert!(runs(&e).is_empty(), "code 1: nothing more starts");
    assert!(alerts(&e).contains(&("rc", 12)), "group start failed");
    assert_eq!(sim.state("a"), RunState::OnlineFailure);
    assert_eq!(sim.state("b"), RunState::Offline);
}

#[test]
fn norecovery_suppresses_retry_and_final_action() {
    let m = model(
        &group("g", &["a"], ""),
        &exec("a", "<act><retry>3</retry><action>3</action></act>"),
        "<rc><errordetect><rscact><norecovery>1</norecovery></rscact></errordetect></rc>",
    );
    let mut sim = Sim::new(m);
    let e = sim.cmd(1, Command::StartService);
    let e = sim.input(fail(op_of(&e, "a")));
    // The resource-level retry still happens (it is not recovery)...
    let a2 = op_of(&e, "a");
    let e = sim.input(fail(a2));
    let e2 = sim.input(fail(op_of(&e, "a")));
    let e3 = sim.input(fail(op_of(&e2, "a")));
    // ...but no final action: the cluster keeps running.
    assert!(!alerts(&e3).contains(&("rc", 203)));
    assert_eq!(sim.engine.service(), Service::Online);
    assert_eq!(sim.state("a"), RunState::OnlineFailure);
}

#[test]
fn deactivation_failure_retries_then_shuts_down() {
    let m = model(
        &group("g", &["a"], ""),
        &exec("a", "<deact><retry>1</retry></deact>"),
        "",
    );
    let mut sim = Sim::new(m);
    start_all(&mut sim);
    let e = sim.cmd(2, Command::StopGroup { group: "g".into() });
    let e = sim.input(fail(op_of(&e, "a")));
    assert!(alerts(&e).contains(&("rc", 220)));
    let e = sim.input(fail(op_of(&e, "a")));
    // Default deact/action 4: stop the cluster service, then shut down.
    assert!(alerts(&e).contains(&("rc", 224)));
    assert!(e.contains(&Effect::ServiceStopped));
    assert!(e.contains(&Effect::Os(OsAction::Shutdown)));
    assert_eq!(sim.state("a"), RunState::OfflineFailure);
    assert!(matches!(reply(&e, 2), Some(Err(Rejection::Failed { .. }))));
}

#[test]
fn stall_applies_rsctoaction() {
    // Default rsctoaction 2: stop the service and shut down.
    let mut sim = Sim::new(model(&group("g", &["a"], ""), &exec("a", ""), ""));
    let e = sim.cmd(1, Command::StartService);
    let op = op_of(&e, "a");
    let e = sim.input(Input::StallTimer { op });
    assert!(alerts(&e).contains(&("rc", 32)));
    // The service stops: the failed resource is cleaned up with its stop script.
    assert_eq!(sim.state("a"), RunState::OfflinePending);
    // A late result of the stalled script is ignored.
    let late = sim.input(ok(op));
    assert_eq!(sim.state("a"), RunState::OfflinePending, "{late:#?}");
    let stop = op_of(&e, "a");
    let e = sim.input(ok(stop));
    assert!(e.contains(&Effect::Os(OsAction::Shutdown)));

    // rsctoaction 0: an ordinary activation failure (final action 1: nothing more).
    let mut sim = Sim::new(model_with_cluster(
        &group("g", &["a"], ""),
        &exec("a", ""),
        "<rsctimeout><rsctoaction>0</rsctoaction></rsctimeout>",
        "",
    ));
    let e = sim.cmd(1, Command::StartService);
    let e = sim.input(Input::StallTimer { op: op_of(&e, "a") });
    assert!(!e.iter().any(|x| matches!(x, Effect::Os(_))));
    assert_eq!(sim.engine.service(), Service::Online);
}

#[test]
fn asynchronous_start_keeps_the_pid_for_stop() {
    let m = model(
        &group("g", &["a"], ""),
        r#"<exec name="a"><parameters><act><path>/bin/true</path><sync>0</sync></act><deact><path>/bin/true</path></deact></parameters></exec>"#,
        "",
    );
    let mut sim = Sim::new(m);
    let e = sim.cmd(1, Command::StartService);
    let pid = AsyncPid {
        pid: 4242,
        start_time: 77,
    };
    sim.input(Input::Spawned {
        op: op_of(&e, "a"),
        pid,
    });
    assert_eq!(sim.state("a"), RunState::Online);
    assert_eq!(
        sim.engine.resource_state("a").and_then(|s| s.async_pid()),
        Some(pid)
    );
    let e = sim.cmd(2, Command::StopGroup { group: "g".into() });
    let passed = e.iter().find_map(|x| match x {
        Effect::Deactivate { pid, .. } => *pid,
        _ => None,
    });
    assert_eq!(passed, Some(pid), "stop.sh gets CLP_PID");
    let e = sim.input(ok(op_of(&e, "a")));
    assert!(e.contains(&Effect::ForgetAsync {
        resource: "a".into(),
        pid
    }));
    assert_eq!(reply(&e, 2), Some(Ok("group g is offline".into())));
    // The process exiting on its own leaves the resource Online (pidw judges).
    let mut sim = Sim::new(sim.engine.model().clone());
    let e = sim.cmd(1, Command::StartService);
    sim.input(Input::Spawned {
        op: op_of(&e, "a"),
        pid,
    });
    sim.input(Input::AsyncExited {
        resource: "a".into(),
        pid: 4242,
    });
    assert_eq!(sim.state("a"), RunState::Online);
    // The pid is kept: stop.sh gets it to clean up what is left of its group.
    assert_eq!(
        sim.engine.resource_state("a").and_then(|s| s.async_pid()),
        Some(pid)
    );
}

#[test]
fn group_commands_answer_and_refuse_clearly() {
    let mut sim = Sim::new(three());
    let e = sim.cmd(1, Command::StartGroup { group: "g".into() });
    assert_eq!(reply(&e, 1), Some(Err(Rejection::ServiceNotRunning)));
    let e = sim.cmd(
        1,
        Command::StartGroup {
            group: "web".into(),
        },
    );
    assert!(matches!(reply(&e, 1), Some(Err(Rejection::Unknown { known, .. })) if known == ["g"]));
    start_all(&mut sim);
    let e = sim.cmd(2, Command::StartGroup { group: "g".into() });
    assert!(matches!(
        reply(&e, 2),
        Some(Err(Rejection::Already { online: true, .. }))
    ));
    let e = sim.cmd(
        3,
        Command::MoveGroup {
            group: "g".into(),
            dest: None,
        },
    );
    assert!(matches!(
        reply(&e, 3),
        Some(Err(Rejection::NoDestination { .. }))
    ));
    let e = sim.cmd(
        4,
        Command::MoveGroup {
            group: "g".into(),
            dest: Some("other".into()),
        },
    );
    assert!(matches!(
        reply(&e, 4),
        Some(Err(Rejection::Unknown {
            object: Object::Server,
            ..
        }))
    ));

    let e = sim.cmd(5, Command::StopGroup { group: "g".into() });
    assert!(reply(&e, 5).is_none(), "answered when stopped");
    let mut pending: Vec<OpId> = runs(&e).iter().map(|r| r.2).collect();
    let mut last = Vec::new();
    while let Some(op) = pending.pop() {
        last = sim.input(ok(op));
        pending.extend(runs(&last).iter().map(|r| r.2));
    }
    assert_eq!(reply(&last, 5), Some(Ok("group g is offline".into())));
    assert!(alerts(&last).contains(&("rc", 21)));
}

#[test]
fn single_resource_commands_respect_dependencies() {
    let mut sim = Sim::new(three());
    sim.cmd(1, Command::StartService);
    // Settle everything, then stop the group to get a clean offline state.
    let mut sim = Sim::new(three());
    let e = sim.cmd(1, Command::StartService);
    for (_, _, op) in runs(&e) {
        let more = sim.input(ok(op));
        for (_, _, op2) in runs(&more) {
            sim.input(ok(op2));
        }
    }
    let e = sim.cmd(
        2,
        Command::StopResource {
            resource: "r1".into(),
            force: false,
        },
    );
    assert!(
        matches!(reply(&e, 2), Some(Err(Rejection::DependentsActive { dependents, .. })) if dependents == ["r2"])
    );
    let e = sim.cmd(
        3,
        Command::StopResource {
            resource: "r1".into(),
            force: true,
        },
    );
    assert_eq!(
        runs(&e).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        ["r2"],
        "dependent first"
    );
    let e2 = sim.input(ok(op_of(&e, "r2")));
    let e3 = sim.input(ok(op_of(&e2, "r1")));
    assert_eq!(reply(&e3, 3), Some(Ok("resource r1 is Offline".into())));
    assert_eq!(sim.state("r3"), RunState::Online, "untouched");

    let e = sim.cmd(
        4,
        Command::StartResource {
            resource: "r2".into(),
            force: false,
        },
    );
    assert!(
        matches!(reply(&e, 4), Some(Err(Rejection::DependenciesOffline { dependencies, .. })) if dependencies == ["r1"])
    );
    let e = sim.cmd(
        5,
        Command::StartResource {
            resource: "r2".into(),
            force: true,
        },
    );
    assert_eq!(
        runs(&e).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        ["r1"]
    );
    let e = sim.input(ok(op_of(&e, "r1")));
    let e = sim.input(ok(op_of(&e, "r2")));
    assert_eq!(reply(&e, 5), Some(Ok("resource r2 is Online".into())));
    assert_eq!(sim.engine.group_state("g"), RunState::Online);
}

#[test]
fn restart_resource_stops_dependents_and_starts_again() {
    let mut sim = Sim::new(three());
    start_all(&mut sim);
    let e = sim.cmd(
        7,
        Command::RestartResource {
            resource: "r1".into(),
        },
    );
    assert!(alerts(&e).contains(&("rc", 80)));
    let factor = e.iter().find_map(|x| match x {
        Effect::Deactivate {
            factor, resource, ..
        } if resource == "r2" => Some(*factor),
        _ => None,
    });
    assert_eq!(factor, Some(StopFactor::ResourceRestart));
    let e = sim.input(ok(op_of(&e, "r2")));
    let e = sim.input(ok(op_of(&e, "r1")));
    // Back up in dependency order.
    assert_eq!(
        runs(&e).into_iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [("r1".to_string(), true)]
    );
    let e = sim.input(ok(op_of(&e, "r1")));
    let e = sim.input(ok(op_of(&e, "r2")));
    assert_eq!(reply(&e, 7), Some(Ok("resource r1 is Online".into())));
    assert_eq!(sim.state("r3"), RunState::Online);
}

#[test]
fn suspend_and_resume() {
    let mut sim = Sim::new(three());
    let e = sim.cmd(1, Command::Suspend);
    assert!(matches!(reply(&e, 1), Some(Err(_))));
    start_all(&mut sim);
    let e = sim.cmd(2, Command::Suspend);
    assert_eq!(reply(&e, 2), Some(Ok("suspended".into())));
    assert_eq!(sim.engine.service(), Service::Suspended);
    assert_eq!(
        sim.engine.group_state("g"),
        RunState::Online,
        "groups stay as they are"
    );
    let e = sim.cmd(3, Command::Resume);
    assert_eq!(reply(&e, 3), Some(Ok("resumed".into())));
}

#[test]
fn adoption_after_a_crash_starts_nothing_twice() {
    let mut sim = Sim::new(three());
    let e = sim.cmd(1, Command::StartService);
    // r1 done, r3 still running when clpd dies.
    let e1 = sim.input(ok(op_of(&e, "r1")));
    let _ = e1;
    let persisted = sim.engine.persisted();
    assert!(persisted.service_online);

    let mut fresh = Engine::new(three(), 100);
    let e = fresh.adopt(&persisted, 100);
    let started: Vec<String> = runs(&e).into_iter().filter(|r| r.1).map(|r| r.0).collect();
    assert!(
        !started.contains(&"r1".to_string()),
        "r1 was online: adopted, not restarted"
    );
    assert!(fresh.resource_state("r1").is_some_and(|s| s.is_online()));
    // r2 and r3 were in flight: treated as failed and recovered normally; their
    // default final action (1) starts nothing more.
    assert!(alerts(&e).contains(&("rc", 32)), "{e:#?}");
    assert!(started.is_empty(), "{e:#?}");
    assert_eq!(
        fresh.resource_state("r3").map(|s| s.public()),
        Some(RunState::OnlineFailure)
    );
    assert_eq!(
        fresh.resource_state("r2").map(|s| s.public()),
        Some(RunState::OnlineFailure)
    );

    // With a retry, the interrupted start is simply run again.
    let retrying = || {
        model(
            &group("g", &["a"], ""),
            &exec("a", "<act><retry>1</retry></act>"),
            "",
        )
    };
    let mut sim = Sim::new(retrying());
    sim.cmd(1, Command::StartService);
    let mut fresh = Engine::new(retrying(), 100);
    let e = fresh.adopt(&sim.engine.persisted(), 100);
    assert!(alerts(&e).contains(&("rc", 200)));
    assert_eq!(
        runs(&e).into_iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [("a".to_string(), true)]
    );
}

#[test]
fn reload_keeps_unchanged_state_and_refuses_removing_an_online_resource() {
    let mut sim = Sim::new(three());
    start_all(&mut sim);
    // Same config: everything stays online.
    let effects = sim.engine.reload(three(), sim.now).expect("reload");
    assert!(runs(&effects).is_empty());
    assert_eq!(sim.engine.group_state("g"), RunState::Online);
    // r3 removed while online: refused, state untouched.
    let smaller = model(
        &group("g", &["r1", "r2"], ""),
        &format!("{}{}", exec("r1", ""), exec("r2", r#"<depend name="r1"/>"#)),
        "",
    );
    let err = sim.engine.reload(smaller, sim.now).expect_err("refused");
    assert!(err.contains("r3") && err.contains("removed"), "{err}");
    assert_eq!(sim.state("r3"), RunState::Online);
}

/// Walks every (state, event) pair of the resource machine: no pair panics, an
/// operation id is consumed exactly when a script is started, and a report is
/// only produced together with a resting state.
#[test]
fn resource_machine_decides_every_pair() {
    let act = ActivationPolicy {
        timeout: Duration::from_secs(10),
        retry: 1,
        failover: 1,
        final_action: ResourceFinalAction::NoOpStop,
    };
    let deact = crate::model::DeactivationPolicy {
        timeout: Duration::from_secs(10),
        retry: 1,
        final_action: ResourceFinalAction::StopClusterAndShutdown,
    };
    let pid = AsyncPid {
        pid: 9,
        start_time: 1,
    };
    let states = [
        ResState::Offline { since: 0 },
        ResState::Starting {
            op: 5,
            attempt: 0,
            event: ClpEvent::Start,
            since: 0,
        },
        ResState::Starting {
            op: 5,
            attempt: 1,
            event: ClpEvent::Start,
            since: 0,
        },
        ResState::Online {
            event: ClpEvent::Start,
            pid: Some(pid),
            since: 0,
        },
        ResState::Online {
            event: ClpEvent::Start,
            pid: None,
            since: 0,
        },
        ResState::Stopping {
            op: 5,
            attempt: 0,
            factor: StopFactor::GroupStop,
            event: ClpEvent::Start,
            pid: Some(pid),
            since: 0,
        },
        ResState::Stopping {
            op: 5,
            attempt: 1,
            factor: StopFactor::GroupStop,
            event: ClpEvent::Start,
            pid: None,
            since: 0,
        },
        ResState::ActivationFailed {
            cause: "x".into(),
            since: 0,
        },
        ResState::DeactivationFailed {
            cause: "x".into(),
            event: ClpEvent::Start,
            since: 0,
        },
    ];
    let events = [
        ResEvent::Start {
            event: ClpEvent::Start,
        },
        ResEvent::Stop {
            factor: StopFactor::GroupStop,
        },
        ResEvent::Done {
            op: 5,
            result: Ok(()),
        },
        ResEvent::Done {
            op: 5,
            result: Err("e".into()),
        },
        ResEvent::Done {
            op: 6,
            result: Ok(()),
        },
        ResEvent::Spawned { op: 5, pid },
        ResEvent::Spawned { op: 6, pid },
        ResEvent::Stalled { op: 5 },
        ResEvent::Stalled { op: 6 },
        ResEvent::AsyncExited { pid: 9 },
        ResEvent::AsyncExited { pid: 10 },
        ResEvent::Reset,
    ];
    let ctx = ResCtx {
        name: "r",
        activation: &act,
        deactivation: &deact,
        now: 1,
        next_op: 100,
        retry_allowed: true,
    };
    for s in &states {
        for e in &events {
            let (next, effects, used) = resource::step(s, e.clone(), &ctx);
            let scripts = effects
                .iter()
                .filter(|x| {
                    matches!(
                        x,
                        super::resource::ResEffect::RunStart { .. }
                            | super::resource::ResEffect::RunStop { .. }
                    )
                })
                .count();
            assert_eq!(used, scripts == 1, "{s:?} + {e:?}");
            assert!(scripts <= 1);
            if used {
                assert_eq!(
                    next.op(),
                    Some(100),
                    "{s:?} + {e:?}: the new op is in the state"
                );
            }
            let reported = effects
                .iter()
                .any(|x| matches!(x, super::resource::ResEffect::Report(_)));
            if reported {
                assert!(!next.is_busy() || next.op() == Some(100), "{s:?} + {e:?}");
            }
            // Results of another operation never change the state.
            if matches!(
                e,
                ResEvent::Done { op: 6, .. }
                    | ResEvent::Spawned { op: 6, .. }
                    | ResEvent::Stalled { op: 6 }
            ) {
                assert_eq!(&next, s, "{e:?} must be ignored in {s:?}");
            }
        }
    }
}
