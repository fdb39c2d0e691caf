//! CLUSTERPRO's envelope: every body is a JSON object with
//! `result: {code, message}` beside its payload; code 0 is success, other
//! codes are clp's exit codes (clp-exit-codes(7)) with an HTTP status >= 400.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::ErrorKind;
use crate::protocol::{Activity, NoAnswerCause, ObjectKind, Rejection, Settled};

/// A successful answer: `payload`'s fields beside `result`.
pub fn ok(payload: Map<String, Value>) -> Response {
    let mut body = payload;
    body.insert("result".into(), json!({"code": 0, "message": ""}));
    (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
}

/// An answer that refuses or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds a client should wait before trying again (a locked-out address).
    pub retry_after: Option<u64>,
    /// clpd's rejection, when this error is one: an operation on every
    /// group or server passes over some (already as asked, a server down).
    pub rejection: Option<Rejection>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            rejection: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorKind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
    }

    /// clpd's rejection of an operation, with the HTTP status its kind means.
    pub fn from_rejection(rejection: &Rejection) -> Self {
        let kind = rejection.kind();
        let status = match kind {
            ErrorKind::Usage | ErrorKind::Config => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Permission => StatusCode::FORBIDDEN,
            ErrorKind::State | ErrorKind::AlreadyRunning => StatusCode::CONFLICT,
            ErrorKind::NotRunning => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Failed | ErrorKind::Io | ErrorKind::Internal => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut error = Self::new(status, kind, rejection_message(rejection));
        error.rejection = Some(rejection.clone());
        error
    }
}

impl ApiError {
    /// The object already is as asked.
    pub fn already(&self) -> bool {
        matches!(self.rejection, Some(Rejection::AlreadyInState { .. }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"result": {"code": self.kind.exit_code(), "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"clp\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn noun(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Group => "group",
        ObjectKind::Resource => "resource",
        ObjectKind::Monitor => "monitor",
        ObjectKind::Server => "server",
        ObjectKind::Script => "script",
    }
}

/// The text of a rejection in `result.message`: what stands in the way and
/// what to do, for scripts that show it as it is.
pub fn rejection_message(rejection: &Rejection) -> String {
    match rejection {
        Rejection::AlreadyInState {
            object,
            name,
            state,
        } => match state {
            Settled::Online => format!("{} {name} is already online", noun(*object)),
            Settled::Offline => format!("{} {name} is already offline", noun(*object)),
            Settled::OnServer { server } => {
                format!("{} {name} is already on server {server}", noun(*object))
            }
        },
        Rejection::Unknown {
            object,
            names,
            known,
        } => unknown_message(*object, &names.join(", "), known),
        Rejection::Busy {
            what: Activity::ServiceStopping,
        } => "the cluster service is stopping; try again when it is stopped".into(),
        Rejection::Busy {
            what: Activity::Group { name, .. },
        } => format!("group {name} is busy; try again when it has settled"),
        Rejection::NotRunning => {
            "the cluster service is not running; start it (POST /api/v1/cluster/start)".into()
        }
        Rejection::NoDestination { group, servers } => format!(
            "there is no appropriate destination for group {group} (servers: {})",
            servers.join(", ")
        ),
        Rejection::DependenciesOffline {
            resource,
            dependencies,
        } => format!(
            "resource {resource} depends on {}, which are not online",
            dependencies.join(", ")
        ),
        Rejection::DependentsActive {
            resource,
            dependents,
        } => format!(
            "{} depend on resource {resource} and are not offline",
            dependents.join(", ")
        ),
        Rejection::Invalid { reason } => reason.clone(),
        Rejection::NotAllowed => "not allowed".into(),
        Rejection::Version { daemon, client } => format!(
            "protocol version {} is not clpd's {daemon}",
            client.map_or("missing".into(), |v| v.to_string())
        ),
        Rejection::ReloadRefused { detail, .. } | Rejection::Failed { detail, .. } => {
            detail.clone()
        }
        Rejection::ConfigDiffers { servers } => format!(
            "the configuration of {} differs from the cluster's; push it again with clpcfctrl --push",
            servers.join(", ")
        ),
        Rejection::ServerOffline { server } => {
            format!("server {server} is not a member of the cluster now (Offline)")
        }
        Rejection::NoAnswer { server, cause } => match cause {
            NoAnswerCause::Deadline { secs } => format!(
                "server {server} did not answer within {secs} s; the operation may still be running"
            ),
            NoAnswerCause::Left => {
                format!("server {server} left the cluster before answering")
            }
            NoAnswerCause::NotSent => {
                format!("the request could not be sent to server {server}")
            }
        },
        Rejection::ClusterUnavailable { reason } => {
            format!("the cluster cannot be reached: {reason}")
        }
    }
}

/// "Invalid group name: x. Groups are: a, b" (the CLI's wording).
pub fn unknown_message(object: ObjectKind, name: &str, known: &[String]) -> String {
    let noun = noun(object);
    let mut plural = noun.to_string();
    plural[..1].make_ascii_uppercase();
    format!(
        "Invalid {noun} name: {name}. {plural}s are: {}",
        known.join(", ")
    )
}
