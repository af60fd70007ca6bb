//! `GET /api/email/status` (admin, service): whether the integration is on
//! and each mailbox's sync state, told truthfully — backlog still queued,
//! failed fetches kept for attention, cursor lag, last success and error,
//! and whether the push watch has lapsed. Answers even when disabled.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::store::MailboxStatus;

pub(super) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let statuses = state
        .store
        .run(|s| s.mailbox_statuses())
        .await
        .map_err(ApiError::from)?;
    let now = state.clock.now();
    let watched = state.config.pubsub.topic.is_some();
    let accounts: Vec<Value> = statuses.iter().map(|s| account(s, now, watched)).collect();
    Ok(Json(json!({
        "enabled": state.config.enabled,
        "accounts": accounts,
    })))
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

fn account(s: &MailboxStatus, now: DateTime<Utc>, watched: bool) -> Value {
    let lag = s.history_id_at.map(|t| (now - t).num_seconds().max(0));
    let watch_lapsed = watched && s.watch_expiration.is_none_or(|t| t <= now);
    json!({
        "id": s.id.to_string(),
        "email": s.email,
        "status": s.status,
        "phase": s.phase,
        "backfill_done": s.backfill_done,
        "messages": s.messages,
        "history_id": s.history_id,
        "last_sync_at": rfc3339(s.last_sync_at),
        "last_success_at": rfc3339(s.last_success_at),
        "last_error": s.last_error,
        "last_error_at": rfc3339(s.last_error_at),
        "lag_seconds": lag,
        "pending": s.pending,
        "investor_listed": s.investor_listed,
        "investor_pending": s.investor_pending,
        "failed": s.failed,
        "watch_expiration": rfc3339(s.watch_expiration),
        "watch_lapsed": watch_lapsed,
    })
}
