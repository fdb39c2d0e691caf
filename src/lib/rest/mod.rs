//! CLUSTERPRO's REST API, served by clpd: an HTTP transport of the
//! [`crate::protocol`].
//!
//! clpd starts it ([`start`]) on threads of its own: a small tokio runtime
//! (two workers) that never touches the loop. Reads take the published
//! snapshot ([`crate::status::Published`]); operations become the protocol's
//! [`Request`]s and go through the same answering function as the Unix
//! socket ([`Answer`]), on a blocking thread, answered when clpd answers.
//!
//! Security: HTTPS with rustls (`tls`), HTTP Basic checked by PAM with read
//! and operate rights and a lockout per client address (`auth`); plain HTTP
//! only on loopback (config refuses it elsewhere). Limits (`serve`): bounded
//! connections, header and body deadlines, a body size cap.
//!
//! Adding a route: write its handler (an axum handler taking
//! `State<Arc<ApiState>>`; a [`Caller`] argument gives who asks) and add one
//! `.route(...)` line in [`routes`]: inside `authenticated` it is behind the
//! login (GET needs read rights, any other method operate rights); in `open`
//! it is served to anyone. `/metrics` has a gate of its own (`scrape`:
//! `rstd/metrics` may open it to loopback or turn it off). Errors are
//! [`envelope::ApiError`], successes [`envelope::ok`]: CLUSTERPRO's envelope.
//!
//! The status page at `/` and its reads under `/api/clp/v1/` live in [`web`].

pub mod auth;
pub mod envelope;
pub mod lockout;
mod ops;
pub mod read;
pub mod scrape;
mod serve;
pub mod tls;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request as HttpRequest, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{ClpError, ErrorKind, Result};
use crate::model::RestSettings;
use crate::paths::Paths;
use crate::protocol::{Reply, Request};
use crate::status::Published;

pub use auth::{Authenticator, Identity, Verdict};
pub use envelope::ApiError;

/// The answering function of the daemon: the one the Unix socket calls.
/// Blocks until clpd answers (None: clpd is going away).
pub type Answer = Arc<dyn Fn(Request) -> Option<Reply> + Send + Sync>;

/// What every handler shares.
pub struct ApiState {
    pub published: Arc<Published>,
    pub answer: Answer,
    pub auth: Authenticator,
    /// This server's name (a `target` naming it is carried out here).
    pub local: String,
    /// This server's alert log (the page's recent alerts).
    pub alert_log: std::path::PathBuf,
    /// `rstd/metrics`: who may scrape `/metrics`.
    pub metrics: crate::model::MetricsAccess,
}

/// The client's address, set on every request by the connection it came on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Who asks: the authenticated account and its address.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub addr: IpAddr,
    pub may_operate: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Permission,
                "authentication required",
            )
        })
    }
}

/// Every route of the server.
pub fn routes(state: Arc<ApiState>) -> Router {
    let authenticated = Router::new()
        .route("/api/v1/cluster", get(read::cluster))
        .route("/api/v1/cluster/toratio", get(read::toratio))
        .route("/api/v1/cluster/{op}", post(ops::cluster))
        .route("/api/v1/servers", get(read::server_list))
        .route("/api/v1/servers/{name}", get(read::server_one))
        .route("/api/v1/servers/{name}/{op}", post(ops::server))
        .route("/api/v1/groups", get(read::group_list))
        .route(
            "/api/v1/groups/{name}",
            get(read::group_one).post(ops::all_groups),
        )
        .route("/api/v1/groups/{name}/{op}", post(ops::group))
        .route("/api/v1/resources", get(read::resource_list))
        .route("/api/v1/resources/{name}", get(read::resource_one))
        .route("/api/v1/resources/{name}/{op}", post(ops::resource))
        .route("/api/v1/monitors", get(read::monitor_list))
        .route("/api/v1/monitors/{name}", get(read::monitor_one))
        .route("/api/v1/monitors/{name}/{op}", post(ops::monitor))
        .route(
            "/api/v1/monitors/{name}/dummy-failure/{op}",
            post(ops::dummy_failure),
        )
        .merge(web::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .route_layer(axum::middleware::from_fn(web::refuse_cross_site));
    let open = Router::new();
    Router::new()
        .merge(authenticated)
        .merge(open)
        .merge(scrape::routes(state.clone()))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "{method} {}: no such endpoint; see clpd(8) for the API",
        uri.path()
    ))
}

async fn wrong_method(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Usage,
        format!(
            "{method} {}: not allowed here (reads are GET, operations POST)",
            uri.path()
        ),
    )
}

/// The login in front of every authenticated route.
async fn authenticate(
    State(state): State<Arc<ApiState>>,
    mut request: HttpRequest,
    next: Next,
) -> Response {
    let addr = request
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.0.ip().to_canonical());
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let identity = match state.auth.check(header, addr).await {
        Verdict::Granted(identity) => identity,
        Verdict::NoRights(user) => {
            return forbidden(&format!("account {user} may not read the cluster's state"));
        }
        Verdict::Denied => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Permission,
                "authentication failed: give an OS account's name and password (HTTP Basic)",
            )
            .into_response();
        }
        Verdict::LockedOut(left) => {
            let secs = left.as_secs().max(1);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::Permission,
                format!("too many failed logins from {addr}: try again in {secs} s"),
            );
            e.retry_after = Some(secs);
            return e.into_response();
        }
        Verdict::Unavailable(why) => {
            tracing::error!(target: "rest", "cannot check a login from {addr}: {why}");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Failed,
                format!("the login could not be checked: {why}"),
            )
            .into_response();
        }
    };
    let reads = request.method() == Method::GET || request.method() == Method::HEAD;
    if !reads && !identity.may_operate {
        return forbidden(&format!(
            "account {} may read but not operate: operations need root or the operate group",
            identity.user
        ));
    }
    request.extensions_mut().insert(Caller {
        user: identity.user,
        addr,
        may_operate: identity.may_operate,
    });
    next.run(request).await
}

fn forbidden(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, ErrorKind::Permission, message).into_response()
}

/// The running server: dropping it does not stop it (it lives as long as clpd).
pub struct Running {
    pub addr: SocketAddr,
}

/// Starts the API as `settings` say, on threads of its own. Errors name
/// what to fix (the port taken, an unreadable certificate).
pub fn start(
    paths: &Paths,
    settings: &RestSettings,
    local: &str,
    published: Arc<Published>,
    answer: Answer,
) -> Result<Running> {
    let tls = if settings.https {
        let (cert, key) = tls::certificate_files(paths, settings, local)?;
        Some(tls::server_config(&cert, &key)?)
    } else {
        None
    };
    let ip = settings.address.unwrap_or(IpAddr::from([0u8; 16]));
    let addr = SocketAddr::new(ip, settings.port);
    let listener = serve::bind(addr).map_err(|e| {
        ClpError::new(
            ErrorKind::Io,
            format!(
                "REST API: cannot listen on {addr}: {e}; free the port or set another in rstd/port"
            ),
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let state = Arc::new(ApiState {
        published,
        answer,
        auth: Authenticator::new(settings),
        local: local.to_string(),
        alert_log: crate::alert::alert_log_path(paths),
        metrics: settings.metrics,
    });
    serve::spawn(listener, tls, routes(state), settings.max_connections)?;
    tracing::info!(target: "rest", "REST API on {}://{bound}", if settings.https { "https" } else { "http" });
    Ok(Running { addr: bound })
}
