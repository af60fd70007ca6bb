//! The `/api/email/*` HTTP surface (SPEC §8), axum on hyper. The router is
//! built from one table ([`routes::all`]): each module below contributes its
//! routes with their access rule and OpenAPI description. Unknown routes
//! answer the SPEC error shape. Talks to the [`Store`], the capture worker
//! and the drafts/digest services; served by `main serve`.

mod accounts;
mod activity;
pub mod auth;
mod digest;
mod directory;
mod drafts;
mod error;
pub mod extract;
mod layers;
mod metrics;
mod oauth;
pub mod openapi;
mod proposals;
mod push;
pub mod routes;
mod status;
mod stream;
mod sync;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;

pub use error::ApiError;
pub use layers::{BODY_LIMIT, QUERY_LIMIT};

use crate::capture::push::{PushLimiter, PushVerifier};
use crate::capture::worker::WorkerHandle;
use crate::capture::Capture;
use crate::clock::SharedClock;
use crate::config::{Config, LiveConfig};
use crate::store::Store;
use openapi::json_response;
use routes::{Access, RouteDef};
use serde_json::json;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The config the daemon started with.
    pub config: Arc<Config>,
    /// The settings a SIGHUP may change (digest, SMTP, intervals).
    pub live: LiveConfig,
    pub clock: SharedClock,
    pub metrics: crate::metrics::Metrics,
    /// The capture side, when the daemon runs it.
    pub capture: Option<Arc<CaptureState>>,
}

/// The capture engine and what the push route needs of it.
pub struct CaptureState {
    pub capture: Capture,
    pub worker: WorkerHandle,
    /// `None` when no push audience is configured (JWT check off).
    pub verifier: Option<PushVerifier>,
    pub limiter: PushLimiter,
}

impl AppState {
    /// State for `config`, with the system clock and no capture (tests of
    /// routes that need no Gmail, the CLI).
    pub fn new(store: Store, config: Arc<Config>, clock: SharedClock) -> AppState {
        AppState {
            store,
            live: LiveConfig::new(config.clone()),
            config,
            clock,
            metrics: crate::metrics::Metrics::default(),
            capture: None,
        }
    }
}

/// The routes this module serves itself.
fn core_routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(
            Method::GET,
            "/api/email/health",
            Access::Public,
            get(health),
        )
        .when_disabled()
        .summary("Liveness plus a database round trip")
        .doc(json!({"responses": {
            "200": json_response("Up, database reachable", json!({"type": "object",
                "properties": {"status": {"type": "string"}, "db": {"type": "string"}}})),
            "503": {"$ref": "#/components/responses/Error"}}})),
        RouteDef::new(
            Method::GET,
            "/api/email/status",
            Access::ADMIN_OR_SERVICE,
            get(status::status),
        )
        .when_disabled()
        .summary("Whether the integration is on; each mailbox's sync state")
        .doc(json!({"responses": {"200": json_response("The integration's state", json!({
            "type": "object", "required": ["enabled", "accounts"], "properties": {
                "enabled": {"type": "boolean"},
                "accounts": {"type": "array", "items": {"type": "object"}}}}))}})),
        RouteDef::new(
            Method::POST,
            "/api/email/push",
            Access::OwnProof,
            post(push::push),
        )
        .summary("Pub/Sub push: a mailbox changed (OIDC JWT when configured)")
        .doc(json!({
            "requestBody": openapi::json_body(json!({"type": "object", "required": ["message"],
                "properties": {"message": {"type": "object", "properties": {
                    "data": {"type": "string", "description": "base64 of {emailAddress, historyId}"}}}}})),
            "responses": {
                "200": json_response("accepted, deferred or ignored", json!({"type": "object",
                    "properties": {"status": {"type": "string"}}})),
                "400": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"}}})),
        RouteDef::new(
            Method::POST,
            "/api/email/watch",
            Access::ADMIN,
            post(push::watch),
        )
        .summary("Re-register every mailbox's Gmail watch now")
        .doc(json!({"responses": {
            "200": json_response("Watches registered", json!({"type": "object",
                "properties": {"registered": {"type": "integer"}}})),
            "409": {"$ref": "#/components/responses/Error"}}})),
    ]
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    router_for(state, routes::all())
}

/// The router for `defs` with every layer of the real one (tests of the
/// layers with routes of their own).
pub fn router_for(state: AppState, defs: Vec<RouteDef>) -> Router {
    let routes = routes::build(&state, defs)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    layers::apply(routes, state.metrics.clone()).with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then
/// stops accepting and lets in-flight requests finish.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Liveness plus a database round trip; 503 when the database fails.
async fn health(State(state): State<AppState>) -> Response {
    match state.store.run(|s| s.ping()).await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "db": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database ping failed");
            let err = ApiError::unavailable("the database is not reachable");
            let mut body = err.body();
            body["status"] = "error".into();
            body["db"] = "error".into();
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}
