//! Mailboxes (admin): `GET accounts`, `POST accounts/enroll`,
//! `POST accounts/enroll-all` (active directory users in our Workspace
//! domains) and `PATCH accounts/{id}` (pause / resume); `sync/run-now`
//! and `rematch` are in `sync.rs`. Every change writes an audit row.
//! Talks to the store and the capture worker: enrolling or resuming
//! queues that mailbox's sync so capture starts without waiting for the
//! periodic sweep.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::extract::{parse_id, ApiJson, ApiPath};
use super::openapi::{json_body, json_response};
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::capture::worker::Command;
use crate::capture::SyncMode;
use crate::config::{normalize_mailbox, AuthMethod};
use crate::store::{Account, AccountStatus, MailboxStatus, Store, StoreError};

pub(super) fn routes() -> Vec<RouteDef> {
    let account = json!({"$ref": "#/components/schemas/Account"});
    vec![
        RouteDef::new(Method::GET, "/api/email/accounts", Access::ADMIN, get(list))
            .summary("Enrolled mailboxes and their sync state")
            .doc(json!({"responses": {"200": json_response("The mailboxes",
                json!({"type": "object", "properties": {"items": {"type": "array", "items": account}}}))}})),
        RouteDef::new(Method::POST, "/api/email/accounts/enroll", Access::ADMIN, post(enroll))
            .summary("Enroll one mailbox of our Workspace domain (re-enrolling one in error reactivates it)")
            .doc(json!({
                "requestBody": json_body(json!({"type": "object", "required": ["email"],
                    "properties": {"email": {"type": "string", "format": "email"}}})),
                "responses": {
                    "201": json_response("Enrolled", enrolled_schema()),
                    "200": json_response("Already enrolled (or reactivated)", enrolled_schema()),
                    "422": {"$ref": "#/components/responses/Error"}}})),
        RouteDef::new(Method::POST, "/api/email/accounts/enroll-all", Access::ADMIN, post(enroll_all))
            .summary("Enroll every active directory user whose address is in our Workspace domains")
            .doc(json!({"responses": {"200": json_response("What was enrolled", json!({"type": "object",
                "properties": {"users": {"type": "integer"}, "enrolled": {"type": "integer"},
                    "reactivated": {"type": "integer"}, "already": {"type": "integer"},
                    "skipped": {"type": "integer"}}}))}})),
        RouteDef::new(Method::PATCH, "/api/email/accounts/{id}", Access::ADMIN, patch(set_status))
            .summary("Pause or resume a mailbox's capture")
            .doc(json!({
                "requestBody": json_body(json!({"type": "object", "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["active", "paused"]}}})),
                "responses": {"200": json_response("The mailbox", account),
                    "404": {"$ref": "#/components/responses/Error"},
                    "409": {"$ref": "#/components/responses/Error"}}})),
    ]
}

fn enrolled_schema() -> Value {
    json!({"type": "object", "required": ["id", "email", "status"], "properties": {
        "id": {"type": "string"}, "email": {"type": "string"}, "status": {"type": "string"},
        "created": {"type": "boolean"}, "reactivated": {"type": "boolean"}}})
}

/// The OpenAPI schema of one mailbox in `GET accounts`.
pub(super) fn account_schema() -> Value {
    let s = |t: &str| json!({"type": t});
    let nullable = |t: &str| json!({"type": [t, "null"]});
    json!({"type": "object", "properties": {
        "id": s("string"), "email": s("string"), "status": s("string"),
        "auth_method": s("string"), "phase": s("string"), "backfill_done": s("boolean"),
        "messages": s("integer"), "pending": s("integer"), "failed": s("integer"),
        "last_sync_at": nullable("string"), "last_success_at": nullable("string"),
        "last_error": nullable("string")}})
}

pub(super) async fn db<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    state.store.run(f).await.map_err(ApiError::from)
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

fn account_json(s: &MailboxStatus, auth: Option<&str>) -> Value {
    json!({
        "id": s.id.to_string(),
        "email": s.email,
        "status": s.status,
        "auth_method": auth,
        "phase": s.phase,
        "backfill_done": s.backfill_done,
        "messages": s.messages,
        "pending": s.pending,
        "failed": s.failed,
        "last_sync_at": rfc3339(s.last_sync_at),
        "last_success_at": rfc3339(s.last_success_at),
        "last_error": s.last_error,
    })
}

/// Every mailbox as `GET accounts` shows it, by id.
async fn accounts(state: &AppState) -> Result<Vec<(i64, Value)>, ApiError> {
    let (statuses, accounts) =
        db(state, |s| Ok((s.mailbox_statuses()?, s.list_accounts()?))).await?;
    let auth: HashMap<i64, &'static str> = accounts
        .iter()
        .map(|a| (a.id, a.auth_method.as_str()))
        .collect();
    Ok(statuses
        .iter()
        .map(|s| (s.id, account_json(s, auth.get(&s.id).copied())))
        .collect())
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = accounts(&state)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok(Json(json!({"items": items, "next": null})))
}

#[derive(Deserialize)]
struct EnrollBody {
    email: String,
}

/// What enrolling one address did.
struct Enrolled {
    account: Account,
    created: bool,
    reactivated: bool,
}

/// Enrolls `email` as the CLI's `enroll` does: idempotent, and a mailbox
/// in `error` goes back to `active` (paused stays paused); audited.
fn enroll_one(
    s: &Store,
    auth: AuthMethod,
    email: &str,
    actor: &str,
) -> Result<Enrolled, StoreError> {
    let crm_user = s.directory_user_by_email(email)?.map(|u| u.id);
    let mut out = s.enroll_account(email, auth, crm_user.as_deref())?;
    let reactivated = !out.created && out.account.status == AccountStatus::Error;
    if reactivated {
        out.account = s.set_account_status(out.account.id, AccountStatus::Active, None)?;
    }
    if out.created || reactivated {
        let action = if reactivated {
            "account.reactivate"
        } else {
            "account.enroll"
        };
        let details = json!({"email": email, "auth_method": auth.as_str(), "via": "api"});
        s.append_audit(actor, action, Some(email), &details)?;
    }
    Ok(Enrolled {
        account: out.account,
        created: out.created,
        reactivated,
    })
}

/// The address, normalised, if it may be enrolled here.
fn enrollable(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let unprocessable = |code, m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m);
    if state.config.workspace_domains.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_workspace_domain",
            "CRM_GMAIL_WORKSPACE_DOMAIN is not set; only addresses in our Workspace domain can be enrolled",
        ));
    }
    let email = normalize_mailbox(raw)
        .ok_or_else(|| unprocessable("invalid_email", "email is not an email address".into()))?;
    if !state.config.is_workspace_address(&email) {
        let ours = state.config.workspace_domains.join(", ");
        return Err(unprocessable(
            "not_our_domain",
            format!("{email} is not in our Workspace domain ({ours})"),
        ));
    }
    Ok(email)
}

/// Queues a sync of `account_id` so a new or resumed mailbox starts now.
fn kick(state: &AppState, account_id: i64) {
    if let Some(cap) = &state.capture {
        let cmd = Command::SyncNow {
            account_id: Some(account_id),
            mode: SyncMode::Auto,
        };
        if !cap.worker.send(cmd) {
            tracing::warn!(
                account_id,
                "could not queue the first sync; the sweep will start it"
            );
        }
    }
}

async fn enroll(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = enrollable(&state, &body.email)?;
    let (auth, actor) = (state.config.auth_method, caller.actor().to_string());
    let e = db(&state, move |s| enroll_one(s, auth, &email, &actor)).await?;
    if e.created || e.reactivated {
        kick(&state, e.account.id);
    }
    let status = if e.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "id": e.account.id.to_string(),
            "email": e.account.email,
            "status": e.account.status.as_str(),
            "created": e.created,
            "reactivated": e.reactivated,
        })),
    ))
}

async fn enroll_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    if state.config.workspace_domains.is_empty() {
        enrollable(&state, "")?;
    }
    let users = db(&state, |s| s.list_directory_users()).await?;
    let active: Vec<String> = users
        .iter()
        .filter(|u| u.active)
        .map(|u| u.email.clone())
        .collect();
    let (ours, skipped): (Vec<String>, Vec<String>) = active
        .into_iter()
        .filter_map(|e| normalize_mailbox(&e))
        .partition(|e| state.config.is_workspace_address(e));
    let (auth, actor) = (state.config.auth_method, caller.actor().to_string());
    let addresses = ours.clone();
    let done = db(&state, move |s| {
        let mut done = Vec::with_capacity(addresses.len());
        for email in &addresses {
            done.push(enroll_one(s, auth, email, &actor)?);
        }
        let summary = json!({
            "enrolled": done.iter().filter(|e| e.created).map(|e| &e.account.email).collect::<Vec<_>>(),
            "reactivated": done.iter().filter(|e| e.reactivated).map(|e| &e.account.email).collect::<Vec<_>>(),
        });
        s.append_audit(&actor, "account.enroll_all", None, &summary)?;
        Ok(done)
    })
    .await?;
    for e in done.iter().filter(|e| e.created || e.reactivated) {
        kick(&state, e.account.id);
    }
    let count = |f: fn(&Enrolled) -> bool| done.iter().filter(|e| f(e)).count();
    Ok(Json(json!({
        "users": ours.len() + skipped.len(),
        "enrolled": count(|e| e.created),
        "reactivated": count(|e| e.reactivated),
        "already": count(|e| !e.created && !e.reactivated),
        "skipped": skipped.len(),
        "accounts": done.iter().map(|e| json!({"id": e.account.id.to_string(),
            "email": e.account.email, "status": e.account.status.as_str()})).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("account", &raw)?;
    let want = match body.status.as_str() {
        "active" => AccountStatus::Active,
        "paused" => AccountStatus::Paused,
        other => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_status",
                format!("status must be \"active\" or \"paused\", not {other:?}"),
            ))
        }
    };
    let account = db(&state, move |s| s.account(id)).await?;
    if account.status == AccountStatus::Revoked && want == AccountStatus::Active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "revoked",
            "the mailbox's grant was revoked; authorise it again before resuming",
        ));
    }
    if account.status != want {
        let actor = caller.actor().to_string();
        let (from, email) = (account.status, account.email.clone());
        // Pausing keeps the last error visible; resuming clears it.
        let keep = (want == AccountStatus::Paused)
            .then(|| account.last_error.clone())
            .flatten();
        db(&state, move |s| {
            s.set_account_status(id, want, keep.as_deref())?;
            let action = if want == AccountStatus::Paused {
                "account.pause"
            } else {
                "account.resume"
            };
            let details = json!({"from": from.as_str(), "to": want.as_str()});
            s.append_audit(&actor, action, Some(&email), &details)
        })
        .await?;
        if want == AccountStatus::Active {
            kick(&state, id);
        }
    }
    let found = accounts(&state).await?.into_iter().find(|(a, _)| *a == id);
    found
        .map(|(_, v)| Json(v))
        .ok_or_else(|| ApiError::not_found("no account with that id"))
}
