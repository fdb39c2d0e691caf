//! The read endpoints: the published snapshot (this server's merged view of
//! the whole cluster) in CLUSTERPRO's shapes, never the loop.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::ApiState;
use super::envelope::{ApiError, ok, unknown_message};
use crate::protocol::ObjectKind;
use crate::status::{Edition, ServiceState, Snapshot};

type Params = Query<HashMap<String, String>>;

/// The latest snapshot, or 503 before clpd has published one.
pub(super) fn latest(state: &ApiState) -> Result<Arc<Edition>, ApiError> {
    state.published.latest().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            crate::error::ErrorKind::NotRunning,
            "clpd has not published its status yet; try again in a moment",
        )
    })
}

/// The cluster service's word.
pub fn service_word(service: ServiceState) -> &'static str {
    match service {
        ServiceState::Online => "Online",
        ServiceState::Offline => "Offline",
        ServiceState::Starting => "Online Pending",
        ServiceState::Stopping => "Offline Pending",
        ServiceState::Suspended => "Suspend",
    }
}

fn servers(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .servers
        .iter()
        .map(|s| json!({"name": s.name, "status": s.status.as_str()}))
        .collect()
}

fn groups(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .groups
        .iter()
        .map(|g| {
            let resources: Vec<Value> = g
                .resources
                .iter()
                .map(|r| json!({"name": r.name, "type": r.kind, "status": r.status.as_str()}))
                .collect();
            json!({"name": g.name, "status": g.status.as_str(), "current": g.current, "resources": resources})
        })
        .collect()
}

fn resources(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .groups
        .iter()
        .flat_map(|g| {
            g.resources.iter().map(move |r| {
                json!({"name": r.name, "type": r.kind, "status": r.status.as_str(), "current": g.current, "group": g.name})
            })
        })
        .collect()
}

fn local_server(snapshot: &Snapshot) -> String {
    snapshot
        .servers
        .iter()
        .find(|s| s.local)
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

fn monitors(snapshot: &Snapshot) -> Vec<Value> {
    let local = local_server(snapshot);
    snapshot
        .monitors
        .iter()
        .map(|m| {
            let per_server: Vec<Value> = if m.servers.is_empty() {
                vec![json!({"name": local, "status": m.status.as_str()})]
            } else {
                m.servers
                    .iter()
                    .map(|s| json!({"name": s.server, "status": s.status.as_str()}))
                    .collect()
            };
            json!({"name": m.name, "type": m.kind, "status": m.status.as_str(), "servers": per_server})
        })
        .collect()
}

/// `?select=a,b`: only those fields of each object.
fn select(items: Vec<Value>, params: &HashMap<String, String>) -> Result<Vec<Value>, ApiError> {
    let Some(fields) = params.get("select") else {
        return Ok(items);
    };
    let wanted: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(ApiError::bad_request(
            "select names no field; write ?select=name or ?select=name,status",
        ));
    }
    Ok(items
        .into_iter()
        .map(|item| match item {
            Value::Object(object) => Value::Object(
                object
                    .into_iter()
                    .filter(|(k, _)| wanted.contains(&k.as_str()))
                    .collect(),
            ),
            other => other,
        })
        .collect())
}

/// A list, or the one element named `name` (still a list, as CLUSTERPRO answers).
fn answer(
    key: &str,
    object: ObjectKind,
    items: Vec<Value>,
    name: Option<&str>,
    params: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let items = match name {
        None => items,
        Some(name) => {
            let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
            let known: Vec<String> = items.iter().filter_map(name_of).collect();
            let found: Vec<Value> = items
                .into_iter()
                .filter(|v| name_of(v).as_deref() == Some(name))
                .collect();
            if found.is_empty() {
                return Err(ApiError::not_found(unknown_message(object, name, &known)));
            }
            found
        }
    };
    let mut payload = Map::new();
    payload.insert(key.into(), Value::Array(select(items, params)?));
    Ok(ok(payload))
}

pub(super) async fn cluster(
    State(state): State<Arc<ApiState>>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let edition = latest(&state)?;
    let c = &edition.snapshot.cluster;
    let item = json!({"name": c.name, "status": service_word(c.service)});
    let mut selected = select(vec![item], &params)?;
    let mut payload = Map::new();
    payload.insert("cluster".into(), selected.pop().unwrap_or(Value::Null));
    Ok(ok(payload))
}

pub(super) async fn toratio() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        crate::error::ErrorKind::Usage,
        "clp has no timeout ratio (clptoratio); timeouts are those of clp.conf",
    )
}

macro_rules! list_and_one {
    ($list:ident, $one:ident, $key:literal, $object:expr, $build:ident) => {
        pub(super) async fn $list(
            State(state): State<Arc<ApiState>>,
            Query(params): Params,
        ) -> Result<Response, ApiError> {
            let edition = latest(&state)?;
            answer($key, $object, $build(&edition.snapshot), None, &params)
        }

        pub(super) async fn $one(
            State(state): State<Arc<ApiState>>,
            Path(name): Path<String>,
            Query(params): Params,
        ) -> Result<Response, ApiError> {
            let edition = latest(&state)?;
            answer(
                $key,
                $object,
                $build(&edition.snapshot),
                Some(&name),
                &params,
            )
        }
    };
}

list_and_one!(
    server_list,
    server_one,
    "servers",
    ObjectKind::Server,
    servers
);
list_and_one!(group_list, group_one, "groups", ObjectKind::Group, groups);
list_and_one!(
    resource_list,
    resource_one,
    "resources",
    ObjectKind::Resource,
    resources
);
list_and_one!(
    monitor_list,
    monitor_one,
    "monitors",
    ObjectKind::Monitor,
    monitors
);
