//! Building the status snapshot from the engine's state.

use crate::engine::monitor::Monitors;
use crate::engine::{Engine, Service};
use crate::status::*;

/// Milliseconds since the Unix epoch, and the local time as clpstat shows it.
pub fn wall_clock() -> (u64, String) {
    let now = chrono::Local::now();
    (
        u64::try_from(now.timestamp_millis()).unwrap_or(0),
        now.format("%Y/%m/%d %H:%M:%S").to_string(),
    )
}

/// The snapshot of `engine`. `epoch_ms` converts the engine's monotonic
/// milliseconds into wall-clock milliseconds.
pub fn build(
    engine: &Engine,
    monitors: &Monitors,
    daemon_pid: u32,
    config_digest: &str,
    epoch_ms: u64,
) -> Snapshot {
    let model = engine.model();
    let (now_ms, now_text) = wall_clock();
    let service = match engine.service() {
        Service::Offline => ServiceState::Offline,
        Service::Online => ServiceState::Online,
        Service::Stopping { .. } => ServiceState::Stopping,
        Service::Suspended => ServiceState::Suspended,
    };
    let up = matches!(
        service,
        ServiceState::Online | ServiceState::Suspended | ServiceState::Stopping
    );
    let servers = model
        .servers
        .iter()
        .map(|s| {
            let local = s.name == model.local_server;
            // This server is up while its service runs; another one while the
            // cluster layer sees its clpd (always down with one server).
            let running = if local {
                up
            } else {
                engine.membership().is_up(&s.name)
            };
            ServerStatus {
                name: s.name.clone(),
                local,
                status: if running {
                    ServerState::Online
                } else {
                    ServerState::Offline
                },
                heartbeats: model
                    .heartbeats
                    .iter()
                    .map(|h| HeartbeatStatus {
                        name: h.name.clone(),
                        kind: h.kind.clone(),
                        // Normal while the server runs: Corosync sees it (per-link
                        // states come with the links' status).
                        status: if running {
                            HeartbeatState::Normal
                        } else {
                            HeartbeatState::Offline
                        },
                        peers: Vec::new(),
                    })
                    .collect(),
                // Comments and report ages belong to the merged cluster view
                // (status::merge); a server's own snapshot prints as before.
                comment: String::new(),
                report_age_ms: None,
            }
        })
        .collect();
    let groups = model
        .groups
        .iter()
        .map(|g| {
            let status = engine.group_state(&g.name);
            GroupStatus {
                name: g.name.clone(),
                status,
                current: (status != RunState::Offline).then(|| model.local_server.clone()),
                resources: g
                    .resources
                    .iter()
                    .map(|r| resource_status(engine, r, epoch_ms))
                    .collect(),
                comment: String::new(),
            }
        })
        .collect();
    let monitors = model
        .monitors
        .iter()
        .map(|m| {
            let view = monitors.view(&m.name);
            let counters = view.as_ref().map(|v| v.counters).unwrap_or_default();
            MonitorStatus {
                name: m.name.clone(),
                kind: m.kind.type_name().to_string(),
                status: view.as_ref().map_or(MonitorState::Unknown, |v| v.state),
                script_count: counters.script,
                restart_count: counters.restart,
                failover_count: counters.failover,
                final_action_done: counters.final_done,
                detail: view.and_then(|v| v.detail),
                comment: String::new(),
                servers: Vec::new(),
            }
        })
        .collect();
    Snapshot {
        schema: SCHEMA_VERSION,
        generated_at_ms: now_ms,
        generated_at: now_text,
        daemon_pid,
        version: crate::daemon::script::version_full(),
        cluster: ClusterStatus {
            name: model.name.clone(),
            service,
            config_digest: config_digest.to_string(),
            quorum: None,
        },
        servers,
        groups,
        monitors,
    }
}

fn resource_status(engine: &Engine, name: &str, epoch_ms: u64) -> ResourceStatus {
    let model = engine.model();
    match engine.resource_state(name) {
        Some(state) => ResourceStatus {
            name: name.to_string(),
            kind: model
                .resource(name)
                .map_or("exec", |r| r.kind.type_name())
                .to_string(),
            status: state.public(),
            pid: state.async_pid().map(|p| p.pid),
            since_ms: epoch_ms + state.since(),
            last_error: state.cause().map(str::to_string),
            retry_count: engine.retry_count(name),
        },
        // A member of a type clp does not run: shown, never started.
        None => ResourceStatus {
            name: name.to_string(),
            kind: model
                .unsupported
                .iter()
                .find(|u| u.name == name)
                .map_or_else(|| "unknown".to_string(), |u| u.kind.clone()),
            status: RunState::Offline,
            pid: None,
            since_ms: epoch_ms,
            last_error: Some("not supported by this version".into()),
            retry_count: 0,
        },
    }
}

/// Equal apart from the time stamp (to skip rewriting an unchanged snapshot).
pub fn same_content(a: &Snapshot, b: &Snapshot) -> bool {
    // Every field but the time stamp, named so that a new field cannot be
    // forgotten here.
    let Snapshot {
        schema,
        generated_at_ms: _,
        generated_at: _,
        daemon_pid,
        version,
        cluster,
        servers,
        groups,
        monitors,
    } = a;
    *schema == b.schema
        && *daemon_pid == b.daemon_pid
        && *version == b.version
        && *cluster == b.cluster
        && *servers == b.servers
        && *groups == b.groups
        && *monitors == b.monitors
}
