//! The operations (POST): each becomes the protocol [`Request`] the CLI
//! sends, answered by the same function that answers the Unix socket, and
//! answered to the client when clpd answers: once the state it caused has
//! settled. `{"target": "server"}` carries it out on another server
//! ([`Request::On`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use super::envelope::{ApiError, ok};
use super::{ApiState, Caller};
use crate::error::ErrorKind;
use crate::protocol::{MonitorOp, Rejection, Reply, Request};
use crate::vocab::{OsAction, StopFactor};

/// Largest request body: operations carry at most a server name.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a client may take to send its body.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// How long an operation on another server is waited for (the CLI's default).
const REMOTE_WAIT_SECS: u64 = 3600;

/// The body's `target`, if any; an empty body is an empty object.
async fn target(headers: &HeaderMap, body: Body) -> Result<Option<String>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Usage,
            format!("the request body exceeds {MAX_BODY} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY as u64) {
        return Err(too_large());
    }
    let bytes: Bytes =
        match tokio::time::timeout(BODY_DEADLINE, axum::body::to_bytes(body, MAX_BODY)).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    ErrorKind::Timeout,
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_DEADLINE.as_secs()
                    ),
                ));
            }
            Ok(Err(_)) => return Err(too_large()),
            Ok(Ok(bytes)) => bytes,
        };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON in the request body: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object, e.g. {\"target\":\"server1\"}",
        ));
    };
    match object.get("target") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(
            "target must be a server name (a string)",
        )),
    }
}

/// Sends `request` (on `target` when it is another server) and waits for
/// clpd's answer off the async workers.
async fn carry_out(
    state: &ApiState,
    caller: &Caller,
    request: Request,
    target: Option<String>,
) -> Result<String, ApiError> {
    let request = match target {
        Some(server) if server != state.local => request.on(server, REMOTE_WAIT_SECS),
        _ => request,
    };
    tracing::info!(target: "rest", "{} from {} asks {:?}", caller.user, caller.addr, request);
    let answer = state.answer.clone();
    let reply = tokio::task::spawn_blocking(move || answer(request))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorKind::Internal,
                format!("the operation's thread failed: {e}"),
            )
        })?;
    match reply {
        Some(Reply::Done { note }) => Ok(note),
        Some(Reply::Rejected(rejection)) => Err(ApiError::from_rejection(&rejection)),
        Some(other) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Internal,
            format!("unexpected answer from clpd: {other:?}"),
        )),
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::NotRunning,
            "clpd is stopping; the operation was not carried out",
        )),
    }
}

fn done() -> Response {
    ok(Map::new())
}

fn unknown_operation(path: &str, op: &str, known: &str) -> ApiError {
    ApiError::not_found(format!(
        "{path}/{op}: no such operation; the operations are {known}"
    ))
}

/// `/cluster/{op}`: on every server of the cluster (those not members now
/// are passed over), this one last when it stops.
pub(super) async fn cluster(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(op): Path<String>,
) -> Result<Response, ApiError> {
    let (request, local_last) = match op.as_str() {
        "start" => (Request::StartService, false),
        "stop" => (stop(StopFactor::ClusterShutdown, None), true),
        "suspend" => (Request::Suspend, false),
        "resume" => (Request::Resume, false),
        "reboot" => (
            stop(StopFactor::ClusterShutdown, Some(OsAction::Reboot)),
            true,
        ),
        "shutdown" => (
            stop(StopFactor::ClusterShutdown, Some(OsAction::Shutdown)),
            true,
        ),
        _ => {
            return Err(unknown_operation(
                "/api/v1/cluster",
                &op,
                "start, stop, suspend, resume, reboot and shutdown",
            ));
        }
    };
    let edition = super::read::latest(&state)?;
    // None: this server.
    let mut order: Vec<Option<String>> = edition
        .snapshot
        .servers
        .iter()
        .filter(|s| !s.local)
        .map(|s| Some(s.name.clone()))
        .collect();
    if local_last {
        order.push(None);
    } else {
        order.insert(0, None);
    }
    let mut failures = Vec::new();
    for server in order {
        match carry_out(&state, &caller, request.clone(), server.clone()).await {
            Ok(_) => {}
            // Already as asked on one server: the cluster is, there.
            Err(e) if e.already() => {}
            // A server that is not a member now has no service to act on.
            Err(e) if matches!(e.rejection, Some(Rejection::ServerOffline { .. })) => {}
            Err(e) => failures.push((server.unwrap_or_else(|| state.local.clone()), e)),
        }
    }
    match failures.len() {
        0 => Ok(done()),
        1 => Err(failures.remove(0).1),
        _ => {
            let mut first = failures[0].1.clone();
            first.message = failures
                .iter()
                .map(|(server, e)| format!("{server}: {}", e.message))
                .collect::<Vec<_>>()
                .join("; ");
            Err(first)
        }
    }
}

fn stop(factor: StopFactor, then: Option<OsAction>) -> Request {
    Request::StopService { factor, then }
}

/// `/servers/{name}/{op}`: the cluster service of one server.
pub(super) async fn server(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((name, op)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = match op.as_str() {
        "start" => Request::StartService,
        "stop" => stop(StopFactor::ClusterShutdown, None),
        "reboot" => stop(StopFactor::ServerShutdown, Some(OsAction::Reboot)),
        "shutdown" => stop(StopFactor::ServerShutdown, Some(OsAction::Shutdown)),
        _ => {
            return Err(unknown_operation(
                &format!("/api/v1/servers/{name}"),
                &op,
                "start, stop, reboot and shutdown",
            ));
        }
    };
    let edition = super::read::latest(&state)?;
    let known: Vec<String> = edition
        .snapshot
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if !known.contains(&name) {
        return Err(ApiError::from_rejection(&Rejection::unknown(
            crate::protocol::ObjectKind::Server,
            name,
            known,
        )));
    }
    carry_out(&state, &caller, request, Some(name)).await?;
    Ok(done())
}

/// `/groups/{op}`: every group (`start`, `stop`); groups already as asked are skipped.
pub(super) async fn all_groups(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = target(&headers, body).await?;
    let make = match op.as_str() {
        "start" => |group| Request::StartGroup { group },
        "stop" => |group| Request::StopGroup { group },
        _ => return Err(unknown_operation("/api/v1/groups", &op, "start and stop")),
    };
    let edition = super::read::latest(&state)?;
    for group in edition.snapshot.groups.iter().map(|g| g.name.clone()) {
        match carry_out(&state, &caller, make(group), target.clone()).await {
            Ok(_) => {}
            Err(e) if e.already() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done())
}

/// `/groups/{name}/{op}`: start, stop, move (`target`: the destination of a move).
pub(super) async fn group(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((group, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = target(&headers, body).await?;
    let (request, on) = match op.as_str() {
        "start" => (Request::StartGroup { group }, target),
        "stop" => (Request::StopGroup { group }, target),
        "move" => (
            Request::MoveGroup {
                group,
                dest: target,
            },
            None,
        ),
        _ => {
            return Err(unknown_operation(
                &format!("/api/v1/groups/{group}"),
                &op,
                "start, stop and move",
            ));
        }
    };
    carry_out(&state, &caller, request, on).await?;
    Ok(done())
}

/// `/resources/{name}/{op}`: start, stop (without force, as clprsc).
pub(super) async fn resource(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((resource, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = target(&headers, body).await?;
    let request = match op.as_str() {
        "start" => Request::StartResource {
            resource,
            force: false,
        },
        "stop" => Request::StopResource {
            resource,
            force: false,
        },
        _ => {
            return Err(unknown_operation(
                &format!("/api/v1/resources/{resource}"),
                &op,
                "start and stop",
            ));
        }
    };
    carry_out(&state, &caller, request, target).await?;
    Ok(done())
}

async fn monitor_op(
    state: &ApiState,
    caller: &Caller,
    monitor: String,
    op: MonitorOp,
    target: Option<String>,
) -> Result<Response, ApiError> {
    let request = Request::Monitor {
        op,
        monitors: vec![monitor],
    };
    carry_out(state, caller, request, target).await?;
    Ok(done())
}

/// `/monitors/{name}/{op}`: suspend, resume.
pub(super) async fn monitor(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((monitor, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = target(&headers, body).await?;
    let op = match op.as_str() {
        "suspend" => MonitorOp::Suspend,
        "resume" => MonitorOp::Resume,
        _ => {
            return Err(unknown_operation(
                &format!("/api/v1/monitors/{monitor}"),
                &op,
                "suspend, resume, dummy-failure/start and dummy-failure/stop",
            ));
        }
    };
    monitor_op(&state, &caller, monitor, op, target).await
}

/// `/monitors/{name}/dummy-failure/{op}`: start, stop (clpmonctrl -n / -r).
pub(super) async fn dummy_failure(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((monitor, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = target(&headers, body).await?;
    let op = match op.as_str() {
        "start" => MonitorOp::DummyFailureOn,
        "stop" => MonitorOp::DummyFailureOff,
        _ => {
            return Err(unknown_operation(
                &format!("/api/v1/monitors/{monitor}/dummy-failure"),
                &op,
                "start and stop",
            ));
        }
    };
    monitor_op(&state, &caller, monitor, op, target).await
}
