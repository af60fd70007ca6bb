//! The `/api/email/*` HTTP surface (SPEC §8), axum on hyper: `health`,
//! `status`, `push` (Pub/Sub) and `watch` so far; unknown routes answer the SPEC
//! error shape. Talks to the [`Store`] and the capture worker; served by
//! `main serve`.

pub mod auth;
mod error;
mod push;
mod status;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;

pub use error::ApiError;

use crate::capture::push::{PushLimiter, PushVerifier};
use crate::capture::worker::WorkerHandle;
use crate::capture::Capture;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: SharedClock,
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

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/email/health", get(health))
        .route("/api/email/status", get(status::status))
        .route("/api/email/push", post(push::push))
        .route("/api/email/watch", post(push::watch))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
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
