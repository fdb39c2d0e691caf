//! The status page at `/`: one HTML page, its script and its style sheet,
//! compiled into clpd (no build step, nothing fetched from elsewhere), and
//! the few reads it needs in clp's own namespace, `/api/clp/v1/`:
//!
//! * `whoami`: the account and whether it may operate (the page shows the
//!   operation buttons only then; the server refuses them anyway);
//! * `status?known=N`: the published snapshot (what clpstat shows) with its
//!   generation; when the page already has generation `N`, only
//!   `{"generation": N, "unchanged": true}`, so polling an idle cluster
//!   costs a number;
//! * `alerts?count=N`: the newest records of this server's alert log, read
//!   from the file's end on a blocking thread.
//!
//! The page polls these every second rather than holding a stream open: a
//! server-sent event stream would hold one of the server's few bounded
//! connections per open tab for as long as the tab lives, and the published
//! snapshot has no change notification to drive one; a poll of an unchanged
//! snapshot answers from the `Arc` already there. Operations go to the
//! CLUSTERPRO endpoints (`/api/v1/groups/NAME/stop`, ...): no second path.
//!
//! Everything here is behind the login (HTTP Basic: the browser asks on the
//! 401 and sends the credentials with the page's own requests after that).
//! Answers carry a strict Content-Security-Policy (only this origin's
//! script, no framing, Trusted Types so that no string becomes markup) and
//! no-store; [`refuse_cross_site`] keeps other sites from borrowing the
//! browser's remembered login for an operation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::envelope::{ApiError, ok};
use super::read::{latest, service_word};
use super::{ApiState, Caller};
use crate::error::ErrorKind;

const PAGE_HTML: &str = include_str!("web/page.html");
const PAGE_JS: &str = include_str!("web/page.js");
const PAGE_CSS: &str = include_str!("web/page.css");

/// Alerts a page may ask for at once.
pub const MAX_ALERTS: usize = 200;
/// Alerts given when the page does not say.
const DEFAULT_ALERTS: usize = 30;

/// The policy of every answer of the page: this origin's script and style
/// only, no markup made from strings (Trusted Types with no policy), never
/// framed, nothing posted elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

/// The page's routes, to be merged behind the login.
pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/", get(page))
        .route("/ui/page.js", get(script))
        .route("/ui/page.css", get(style))
        .route("/api/clp/v1/whoami", get(whoami))
        .route("/api/clp/v1/status", get(status))
        .route("/api/clp/v1/alerts", get(alerts))
        .layer(axum::middleware::map_response(protect))
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", PAGE_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", PAGE_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// The headers every answer of the page carries.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `GET /api/clp/v1/whoami`: `{"user": NAME, "operate": BOOL}`.
async fn whoami(caller: Caller) -> Response {
    let mut payload = Map::new();
    payload.insert("user".into(), json!(caller.user));
    payload.insert("operate".into(), json!(caller.may_operate));
    ok(payload)
}

/// `GET /api/clp/v1/status[?known=N]`: the published snapshot and its
/// generation, or only the generation when the caller has it already.
async fn status(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let edition = latest(&state)?;
    let known = match params.get("known") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "known={text}: give the generation the page has (a number)"
            ))
        })?),
    };
    let mut payload = Map::new();
    payload.insert("generation".into(), json!(edition.generation));
    if known == Some(edition.generation) {
        payload.insert("unchanged".into(), Value::Bool(true));
        return Ok(ok(payload));
    }
    let snapshot = serde_json::to_value(&edition.snapshot).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Internal,
            format!("the status could not be encoded: {e}"),
        )
    })?;
    payload.insert(
        "service".into(),
        json!(service_word(edition.snapshot.cluster.service)),
    );
    payload.insert("status".into(), snapshot);
    Ok(ok(payload))
}

/// `GET /api/clp/v1/alerts[?count=N]`: this server's newest alerts, oldest
/// first.
async fn alerts(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let count = match params.get("count") {
        None => DEFAULT_ALERTS,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_ALERTS).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "count={text}: give a number from 1 to {MAX_ALERTS}"
                )));
            }
        },
    };
    let path = state.alert_log.clone();
    let records = tokio::task::spawn_blocking(move || crate::alert::newest_alerts(&path, count))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorKind::Internal,
                format!("the alert log could not be read: {e}"),
            )
        })?;
    let mut payload = Map::new();
    payload.insert("server".into(), json!(state.local));
    payload.insert("alerts".into(), json!(records));
    Ok(ok(payload))
}

/// Refuses an operation a browser sends on behalf of another site: the
/// browser adds the login it remembers for clpd to any request to clpd, even
/// one a foreign page makes it send. Browsers say where a request comes from
/// (`Sec-Fetch-Site`, `Origin`); scripts such as curl send neither and pass.
pub async fn refuse_cross_site(request: HttpRequest, next: Next) -> Response {
    let reads = request.method() == Method::GET || request.method() == Method::HEAD;
    if !reads && let Some(why) = cross_site(request.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, ErrorKind::Permission, why).into_response();
    }
    next.run(request).await
}

/// Why the request comes from another site, if it does.
pub fn cross_site(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // A browser that says where the request comes from is believed (a proxy
    // in front may change Host); an older one is judged by its Origin.
    if let Some(site) = text("sec-fetch-site") {
        return (site != "same-origin" && site != "none").then(|| {
            format!("operations are not taken from another site's page (Sec-Fetch-Site: {site})")
        });
    }
    let (Some(origin), Some(host)) = (text("origin"), text("host")) else {
        return None;
    };
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    (!authority.eq_ignore_ascii_case(host))
        .then(|| format!("operations are not taken from another site's page (Origin: {origin})"))
}

#[cfg(test)]
#[path = "web/tests.rs"]
mod tests;
