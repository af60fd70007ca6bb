//! `POST sync/run-now` (admin: queue a sync of one mailbox or all active
//! ones on the capture worker's command channel; 202) and `POST rematch`
//! (admin: relink every email against the current directory now and answer
//! the report; a sync follows to fetch bodies of newly matched email).
//! Both write an audit row.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::post;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::db;
use super::auth::Caller;
use super::extract::ApiJson;
use super::openapi::{json_body, json_response};
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState, CaptureState};
use crate::capture::worker::Command;
use crate::capture::SyncMode;
use crate::store::{Account, AccountStatus};

pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::POST, "/api/email/sync/run-now", Access::ADMIN, post(run_now))
            .summary("Queue a sync of one mailbox or of every active one")
            .doc(json!({
                "requestBody": json_body(json!({"type": "object", "properties": {
                    "account": {"type": "string", "format": "email"},
                    "mode": {"type": "string", "enum": ["incremental", "full"], "default": "incremental"}}})),
                "responses": {"202": json_response("Queued", json!({"type": "object", "properties": {
                    "status": {"type": "string"}, "mode": {"type": "string"},
                    "accounts": {"type": "array", "items": {"type": "string"}}}}))}})),
        RouteDef::new(Method::POST, "/api/email/rematch", Access::ADMIN, post(rematch))
            .summary("Relink every email against the current directory; bodies of newly matched email are fetched")
            .doc(json!({"responses": {"200": json_response("The relink report", json!({"type": "object",
                "properties": {"changed": {"type": "integer"}, "new_links": {"type": "integer"},
                    "full_queued": {"type": "integer"}}}))}})),
    ]
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum RunMode {
    #[default]
    Incremental,
    Full,
}

#[derive(Deserialize)]
struct RunNowBody {
    account: Option<String>,
    #[serde(default)]
    mode: RunMode,
}

fn capture(state: &AppState) -> Result<&CaptureState, ApiError> {
    state
        .capture
        .as_deref()
        .ok_or_else(|| ApiError::unavailable("capture is not running in this process"))
}

async fn run_now(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<RunNowBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let cap = capture(&state)?;
    let targets: Vec<Account> = match body.account.clone() {
        Some(raw) => {
            let email = raw.trim().to_ascii_lowercase();
            let lookup = email.clone();
            let a = db(&state, move |s| s.account_by_email(&lookup))
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no enrolled mailbox {email}")))?;
            if a.status != AccountStatus::Active {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "not_active",
                    format!("{} is {}; resume it first", a.email, a.status.as_str()),
                ));
            }
            vec![a]
        }
        None => db(&state, |s| s.list_accounts())
            .await?
            .into_iter()
            .filter(|a| a.status == AccountStatus::Active)
            .collect(),
    };
    let mode = match body.mode {
        RunMode::Incremental => SyncMode::Auto,
        RunMode::Full => SyncMode::Full,
    };
    let account_id = body
        .account
        .as_ref()
        .and_then(|_| targets.first())
        .map(|a| a.id);
    if !cap.worker.send(Command::SyncNow { account_id, mode }) {
        return Err(ApiError::unavailable(
            "the capture worker is not taking commands right now; try again shortly",
        ));
    }
    let mode_name = if body.mode == RunMode::Full {
        "full"
    } else {
        "incremental"
    };
    let emails: Vec<String> = targets.into_iter().map(|a| a.email).collect();
    let (actor, target) = (caller.actor().to_string(), body.account.clone());
    let details = json!({"mode": mode_name, "accounts": emails});
    db(&state, move |s| {
        s.append_audit(
            &actor,
            "sync.run_now",
            Some(target.as_deref().unwrap_or("all")),
            &details,
        )
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "queued", "mode": mode_name, "accounts": emails})),
    ))
}

async fn rematch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let cap = capture(&state)?;
    let report = cap.capture.rematch().await.map_err(|e| {
        tracing::error!(error = %e, "rematch failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the rematch could not be completed; see the daemon's log",
        )
    })?;
    // Newly matched email gets its body from a sync (what the worker's
    // own rematch command does next).
    let _ = cap.worker.send(Command::SyncNow {
        account_id: None,
        mode: SyncMode::Auto,
    });
    let body = json!({
        "changed": report.changed,
        "new_links": report.new_links,
        "full_queued": report.full_queued,
    });
    let (actor, details) = (caller.actor().to_string(), body.clone());
    db(&state, move |s| {
        s.append_audit(&actor, "rematch", None, &details)
    })
    .await?;
    Ok(Json(body))
}
