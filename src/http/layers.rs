//! Middleware around every route (the access check itself stays in the
//! route table): request ids (`x-request-id` kept when sane, else a fresh
//! UUID; echoed on the answer), one tracing span per request with method,
//! matched route, status and latency, the latency histogram, a query-string
//! length limit (414) and the body limit (413, answered by the extractors),
//! and a last pass that rewrites any plain-text error an axum rejection or
//! a tower layer produced into the SPEC shape `{"error":{"code","message"}}`.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::Instrument;

use super::{ApiError, AppState};
use crate::metrics::Metrics;

/// Largest request body (SPEC §8 "limits on body size").
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Longest query string, in bytes as sent (SPEC §8 "query length").
pub const QUERY_LIMIT: usize = 2048;
/// Longest client-supplied request id kept.
const MAX_REQUEST_ID: usize = 128;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with every layer; the last added runs first.
pub(super) fn apply(router: Router<AppState>, metrics: Metrics) -> Router<AppState> {
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(limit_query))
        .layer(middleware::from_fn(error_shape))
        .layer(middleware::from_fn_with_state(metrics, observe))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            X_REQUEST_ID.clone(),
            MakeRequestUuid,
        ))
        .layer(middleware::from_fn(drop_bad_request_id))
}

/// A caller's id is kept only when short and plain, so logs cannot be
/// flooded or forged through it; otherwise a fresh one is made.
async fn drop_bad_request_id(mut req: Request, next: Next) -> Response {
    let bad = req.headers().get(&X_REQUEST_ID).is_some_and(|v| {
        let b = v.as_bytes();
        b.is_empty()
            || b.len() > MAX_REQUEST_ID
            || !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    });
    if bad {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    next.run(req).await
}

/// The request's span and access log line, and the latency histogram.
async fn observe(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Unmatched paths share one label: raw paths would be unbounded.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = req.method().clone();
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route,
        status = tracing::field::Empty, latency_ms = tracing::field::Empty);
    let resp = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    span.record("status", status);
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request");
        }
    });
    metrics.http_request(&route, method_label(&method), status, elapsed.as_secs_f64());
    resp
}

/// Callers may invent methods; only the standard ones become labels.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    const NAMES: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    KNOWN
        .iter()
        .position(|m| m == method)
        .map_or("OTHER", |i| NAMES[i])
}

/// 414 before any work (auth, handler) for an oversized query string.
async fn limit_query(req: Request, next: Next) -> Response {
    let len = req.uri().query().map_or(0, str::len);
    if len > QUERY_LIMIT {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "query_too_long",
            format!("the query string is {len} bytes; the limit is {QUERY_LIMIT}"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Error answers that are not JSON yet (axum's plain-text rejections, a
/// layer's empty 413) get the SPEC shape; headers such as `Retry-After`
/// are kept. The original text is short and ours, so it becomes the message.
async fn error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let mut out = ApiError::new(status, code_for(status), text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "query_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}
