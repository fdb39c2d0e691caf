//! `/metrics`: Prometheus's text format (0.0.4), through `prometheus-client`.
//!
//! States come from the published snapshot (this server's merged view of the
//! whole cluster, so any server answers for the cluster); counters and
//! timings from [`crate::metrics`]. Neither asks the loop.
//!
//! A state is one series per object and CLUSTERPRO word, 1 for the current
//! word and 0 for the others (`clp_group_state{group="g",state="Online"} 1`),
//! the convention of kube-state-metrics and node_exporter's systemd
//! collector: `clp_group_state{state="Online"} == 0` finds what is not up,
//! and the words are the ones clpstat prints.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request as HttpRequest, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{ApiError, ApiState, ClientAddr};
use crate::error::ErrorKind;
use crate::model::MetricsAccess;
use crate::status::{Edition, HeartbeatState, ServerState, Snapshot};
use crate::vocab::{MonitorState, RunState};

/// The `/metrics` route, behind its gate ([`gate`]).
pub(super) fn routes(state: Arc<ApiState>) -> axum::Router<Arc<ApiState>> {
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(state, gate))
}

/// `rstd/metrics`: `auth` logs in like the API's reads, `open` lets a
/// loopback client in without a login, `off` answers 404.
async fn gate(State(state): State<Arc<ApiState>>, request: HttpRequest, next: Next) -> Response {
    let loopback = request
        .extensions()
        .get::<ClientAddr>()
        .is_some_and(|a| a.0.ip().to_canonical().is_loopback());
    match state.metrics {
        MetricsAccess::Off => {
            ApiError::not_found("GET /metrics: the metrics are off (rstd/metrics off in clp.conf)")
                .into_response()
        }
        MetricsAccess::OpenOnLoopback if loopback => next.run(request).await,
        MetricsAccess::OpenOnLoopback | MetricsAccess::Login => {
            super::authenticate(State(state), request, next).await
        }
    }
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    // 1000 monitors take 2 to 5 ms to encode (670 KB): on a blocking
    // thread, so that the API's two workers keep answering meanwhile.
    let edition = state.published.latest();
    match tokio::task::spawn_blocking(move || render(edition)).await {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Ok(Err(_)) | Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Failed,
            "the metrics could not be encoded; see clpd's log",
        )
        .into_response(),
    }
}

/// The whole page: the counters, and the states when clpd has published.
pub fn render(edition: Option<Arc<Edition>>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    crate::metrics::global().register(&mut registry);
    if let Some(edition) = edition {
        registry.register_collector(Box::new(States(edition)));
    }
    // About 90 bytes a series: the size of a page of 1000 monitors.
    let mut body = String::with_capacity(64 * 1024);
    prometheus_text::encode(&mut body, &registry)?;
    Ok(body)
}

const SERVER_WORDS: [ServerState; 5] = [
    ServerState::Online,
    ServerState::Offline,
    ServerState::OnlinePending,
    ServerState::Caution,
    ServerState::Unknown,
];
const HEARTBEAT_WORDS: [HeartbeatState; 6] = [
    HeartbeatState::Normal,
    HeartbeatState::Caution,
    HeartbeatState::Error,
    HeartbeatState::Unused,
    HeartbeatState::Unknown,
    HeartbeatState::Offline,
];
const RUN_WORDS: [RunState; 7] = [
    RunState::Online,
    RunState::Offline,
    RunState::OnlinePending,
    RunState::OfflinePending,
    RunState::OnlineFailure,
    RunState::OfflineFailure,
    RunState::Unknown,
];
const MONITOR_WORDS: [MonitorState; 8] = [
    MonitorState::Normal,
    MonitorState::Caution,
    MonitorState::Error,
    MonitorState::Warning,
    MonitorState::Offline,
    MonitorState::Suspend,
    MonitorState::Unused,
    MonitorState::Unknown,
];
const SERVICE_WORDS: [&str; 5] = [
    "Online",
    "Offline",
    "Online Pending",
    "Offline Pending",
    "Suspend",
];

/// The states of one snapshot, encoded at the scrape.
#[derive(Debug)]
struct States(Arc<Edition>);

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One series per word of `words`, 1 for `current`.
fn one_hot(
    metric: &mut MetricEncoder<'_>,
    labels: &Labels<'_>,
    words: impl IntoIterator<Item = &'static str>,
    current: &str,
) -> Result<(), std::fmt::Error> {
    for word in words {
        let mut with = labels.clone();
        with.push(("state", word));
        metric
            .encode_family(&with)?
            .encode_gauge(&i64::from(word == current))?;
    }
    Ok(())
}

fn gauge<'e>(
    encoder: &'e mut DescriptorEncoder<'_>,
    name: &'e str,
    help: &str,
) -> Result<MetricEncoder<'e>, std::fmt::Error> {
    encoder.encode_descriptor(name, help, None, MetricType::Gauge)
}

impl Collector for States {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let edition = &self.0;
        let snapshot = &edition.snapshot;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let help = "Age of the published status the states come from";
        gauge(&mut encoder, "clp_status_age_seconds", help)?
            .encode_gauge(&(now_ms.saturating_sub(snapshot.generated_at_ms) as f64 / 1000.0))?;
        let help = "The cluster service on the server that answers (1 for its current state)";
        let mut m = gauge(&mut encoder, "clp_cluster_state", help)?;
        let cluster = &snapshot.cluster;
        one_hot(
            &mut m,
            &vec![("cluster", cluster.name.as_str())],
            SERVICE_WORDS,
            super::read::service_word(cluster.service),
        )?;
        servers(&mut encoder, snapshot)?;
        groups(&mut encoder, snapshot)?;
        monitors(&mut encoder, snapshot)
    }
}

fn servers(
    encoder: &mut DescriptorEncoder<'_>,
    snapshot: &Snapshot,
) -> Result<(), std::fmt::Error> {
    let help = "Each server's state as clpstat shows it (1 for its current state)";
    let mut m = gauge(encoder, "clp_server_state", help)?;
    for s in &snapshot.servers {
        let words = SERVER_WORDS.map(ServerState::as_str);
        one_hot(
            &mut m,
            &vec![("server", s.name.as_str())],
            words,
            s.status.as_str(),
        )?;
    }
    let help = "Each heartbeat's state on each server (1 for its current state)";
    let mut m = gauge(encoder, "clp_heartbeat_state", help)?;
    for s in &snapshot.servers {
        for hb in &s.heartbeats {
            let labels = vec![("server", s.name.as_str()), ("heartbeat", hb.name.as_str())];
            let words = HEARTBEAT_WORDS.map(HeartbeatState::as_str);
            one_hot(&mut m, &labels, words, hb.status.as_str())?;
        }
    }
    let help = "1 when the server hears the peer on the heartbeat link, 0 when not";
    let mut m = gauge(encoder, "clp_heartbeat_link_up", help)?;
    for s in &snapshot.servers {
        for hb in &s.heartbeats {
            for peer in &hb.peers {
                let labels = [
                    ("server", s.name.as_str()),
                    ("heartbeat", hb.name.as_str()),
                    ("peer", peer.server.as_str()),
                ];
                m.encode_family(&labels)?
                    .encode_gauge(&i64::from(peer.up))?;
            }
        }
    }
    Ok(())
}

fn groups(encoder: &mut DescriptorEncoder<'_>, snapshot: &Snapshot) -> Result<(), std::fmt::Error> {
    let words = || RUN_WORDS.map(RunState::as_str);
    let help = "Each group's state (1 for its current state)";
    let mut m = gauge(encoder, "clp_group_state", help)?;
    for g in &snapshot.groups {
        one_hot(
            &mut m,
            &vec![("group", g.name.as_str())],
            words(),
            g.status.as_str(),
        )?;
    }
    let help = "1 for the server a group is current on (no series while it runs nowhere)";
    let mut m = gauge(encoder, "clp_group_current_server", help)?;
    for g in &snapshot.groups {
        if let Some(server) = &g.current {
            let labels = [("group", g.name.as_str()), ("server", server.as_str())];
            m.encode_family(&labels)?.encode_gauge(&1i64)?;
        }
    }
    let help = "Each resource's state (1 for its current state)";
    let mut m = gauge(encoder, "clp_resource_state", help)?;
    for g in &snapshot.groups {
        for r in &g.resources {
            let labels = vec![
                ("group", g.name.as_str()),
                ("resource", r.name.as_str()),
                ("type", r.kind.as_str()),
            ];
            one_hot(&mut m, &labels, words(), r.status.as_str())?;
        }
    }
    Ok(())
}

fn monitors(
    encoder: &mut DescriptorEncoder<'_>,
    snapshot: &Snapshot,
) -> Result<(), std::fmt::Error> {
    let local = snapshot
        .servers
        .iter()
        .find(|s| s.local)
        .map_or("", |s| s.name.as_str());
    let help = "Each monitor's state on each server (1 for its current state)";
    let mut m = gauge(encoder, "clp_monitor_state", help)?;
    for mon in &snapshot.monitors {
        let words = || MONITOR_WORDS.map(MonitorState::as_str);
        if mon.servers.is_empty() {
            let labels = vec![
                ("monitor", mon.name.as_str()),
                ("type", mon.kind.as_str()),
                ("server", local),
            ];
            one_hot(&mut m, &labels, words(), mon.status.as_str())?;
        }
        for on in &mon.servers {
            let labels = vec![
                ("monitor", mon.name.as_str()),
                ("type", mon.kind.as_str()),
                ("server", on.server.as_str()),
            ];
            one_hot(&mut m, &labels, words(), on.status.as_str())?;
        }
    }
    Ok(())
}
