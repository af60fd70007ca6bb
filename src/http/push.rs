//! `POST /api/email/push` (Pub/Sub push, its own OIDC JWT) and
//! `POST /api/email/watch` (admin: re-register Gmail watches now).
//! A verified notice for an active mailbox becomes a debounced incremental
//! sync in the capture worker; an unknown or inactive mailbox is answered
//! 200 and ignored, so Pub/Sub does not retry it forever.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::capture::push::decode_push;
use crate::capture::worker::{self, Command};
use crate::store::AccountStatus;

pub(super) async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let cap = state
        .capture
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("capture is not running"))?;
    if let Some(verifier) = &cap.verifier {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        verifier.verify(header).await.map_err(|e| {
            tracing::warn!(error = %e, "push refused");
            ApiError::new(status(e.status()), e.code(), e.to_string())
        })?;
    }
    let notice = decode_push(&body)
        .map_err(|e| ApiError::new(status(e.status()), e.code(), e.to_string()))?;
    if !cap.limiter.allow(&notice.email, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many notices for {}; the next sweep catches up",
                notice.email
            ),
        ));
    }
    let email = notice.email.clone();
    let account = state
        .store
        .run(move |s| s.account_by_email(&email))
        .await
        .map_err(ApiError::from)?;
    let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
        tracing::info!(mailbox = %notice.email, "push for a mailbox we do not sync; ignored");
        return Ok(Json(json!({"status": "ignored"})));
    };
    let queued = cap.worker.send(Command::Push {
        account_id: account.id,
        history_id: notice.history_id.0,
    });
    Ok(Json(
        json!({"status": if queued { "accepted" } else { "deferred" }}),
    ))
}

pub(super) async fn watch(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let cap = state
        .capture
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("capture is not running"))?;
    let topic = state.config.pubsub.topic.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_topic",
            "CRM_GMAIL_PUBSUB_TOPIC is not set: mailboxes are swept, not watched",
        )
    })?;
    // An admin asking means now, not at the daily renewal's threshold.
    let id_list = state
        .store
        .run(|s| s.list_accounts())
        .await
        .map_err(ApiError::from)?;
    for a in &id_list {
        let id = a.id;
        state
            .store
            .run(move |s| s.clear_watch(id))
            .await
            .map_err(ApiError::from)?;
    }
    let renewed = worker::renew_watches(&cap.capture, Some(&topic))
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "gmail_error", e.to_string()))?;
    Ok(Json(json!({"registered": renewed})))
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}
