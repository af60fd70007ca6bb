//! POST /api/email/drafts (admin, mailbox owner, bot): an in-thread Gmail
//! reply draft, honouring `Idempotency-Key`; never sends. The work is in
//! [`crate::drafts`]; this maps the request, the caller and the errors.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::drafts::{DraftError, DraftRequest, Drafter, Requester};
use crate::google::GmailClient;
use crate::store::drafts::DraftRow;
use crate::store::UserRole;

pub(super) fn routes() -> Vec<RouteDef> {
    vec![RouteDef::new(
        Method::POST,
        "/api/email/drafts",
        Access::DRAFTERS,
        post(create),
    )
    .summary("Create an in-thread Gmail reply draft (never sends)")
    .doc(doc())]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// Ids are strings in the API; a bare number is accepted too.
    email_id: Value,
    #[serde(default)]
    account: Option<String>,
    body: String,
    #[serde(default)]
    reply_all: bool,
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    super::extract::ApiJson(body): super::extract::ApiJson<Body>,
) -> Result<Response, ApiError> {
    let who = match caller {
        Caller::User { email, role } => Requester {
            email,
            any_mailbox: matches!(role, UserRole::Admin | UserRole::Bot),
        },
        _ => return Err(bad("drafts need an acting user (X-CRM-User)")),
    };
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| bad("Idempotency-Key must be printable ASCII"))?
                .to_string(),
        ),
    };
    let email_id = match &body.email_id {
        Value::String(s) => super::extract::parse_id("email", s)?,
        Value::Number(n) => n
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::not_found("no email with that id"))?,
        _ => return Err(bad("email_id must be a string id")),
    };
    let req = DraftRequest {
        email_id,
        account: body.account,
        body: body.body,
        reply_all: body.reply_all,
        idempotency_key: key,
    };
    let drafter = Drafter::new(
        state.store.clone(),
        gmail(&state).await?,
        state.clock.clone(),
    );
    // Detached, so a caller hanging up cannot cancel it between Gmail
    // creating the draft and the row recording it.
    let created = tokio::spawn(async move { drafter.create(&who, req).await })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "draft task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the draft task failed",
            )
        })?
        .map_err(api_error)?;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(render(&created.draft))).into_response())
}

/// The capture engine's client (shared quota buckets), or one built from
/// the configuration when the daemon runs without capture.
async fn gmail(state: &AppState) -> Result<GmailClient, ApiError> {
    if let Some(c) = &state.capture {
        return Ok(c.capture.gmail().clone());
    }
    let (config, clock) = (state.config.clone(), state.clock.clone());
    let built = state
        .store
        .run(move |s| Ok(crate::google::setup::gmail_client(&config, s, clock)))
        .await?;
    built.map(|(g, _)| g).map_err(|e| {
        tracing::error!(error = %e, "cannot build a Gmail client for drafts");
        ApiError::unavailable("Gmail is not configured; see the daemon's log")
    })
}

fn render(d: &DraftRow) -> Value {
    json!({
        "id": d.id.to_string(),
        "gmail_draft_id": d.gmail_draft_id,
        "thread_id": d.gmail_thread_id,
        "to": d.to,
        "cc": d.cc,
        "subject": d.subject,
        "email_id": d.email_id.to_string(),
        "account": d.account_email,
        "reply_all": d.reply_all,
        "status": d.status,
        "created_at": d.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

fn bad(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn api_error(e: DraftError) -> ApiError {
    if let DraftError::Store(s) = e {
        return ApiError::from(s);
    }
    let (status, code) = match &e {
        DraftError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        DraftError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        DraftError::EmailNotFound => (StatusCode::NOT_FOUND, "not_found"),
        DraftError::NotEnrolled(_) | DraftError::Reply(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable")
        }
        DraftError::NoLiveCopy(_) => (StatusCode::CONFLICT, "no_live_copy"),
        DraftError::KeyConflict => (StatusCode::CONFLICT, "idempotency_key_reused"),
        DraftError::InFlight => (StatusCode::CONFLICT, "in_progress"),
        DraftError::Gmail(_) => (StatusCode::BAD_GATEWAY, "gmail_error"),
        DraftError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    ApiError::new(status, code, e.to_string())
}

fn doc() -> Value {
    let person = json!({"type": "object", "properties": {
        "email": {"type": "string"}, "name": {"type": "string"}}});
    json!({
        "description": "Builds a reply (In-Reply-To/References threading, one `Re:`) to a \
            captured email and creates it as a Gmail draft in the thread of the chosen \
            mailbox. To = the sender (inbound) or the original To (outbound); reply_all \
            adds the other participants minus our own addresses; never a Bcc. Admins and \
            the bot may use any enrolled mailbox; a member only their own. Nothing is sent.",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Same key + same request → the same draft (200); same key + a \
                different request → 409.",
            "schema": {"type": "string", "maxLength": crate::drafts::MAX_KEY_LEN}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["email_id", "body"],
            "properties": {
                "email_id": {"type": "string"},
                "account": {"type": "string", "description": "mailbox to draft in"},
                "body": {"type": "string", "maxLength": crate::drafts::MAX_BODY_BYTES},
                "reply_all": {"type": "boolean", "default": false}}}}}},
        "responses": {
            "201": {"description": "draft created", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "gmail_draft_id": {"type": "string"},
                    "thread_id": {"type": "string"},
                    "to": {"type": "array", "items": person},
                    "cc": {"type": "array", "items": person},
                    "subject": {"type": "string"}, "email_id": {"type": "string"},
                    "account": {"type": "string"}, "reply_all": {"type": "boolean"},
                    "status": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}}}}}},
            "200": {"description": "the draft made earlier under this Idempotency-Key"},
            "400": {"description": "CR/LF in a header-bound value, bad key, empty or oversized body"},
            "403": {"description": "a member drafting outside their own mailbox"},
            "404": {"description": "no such email"},
            "409": {"description": "no live copy in the mailbox, or the key was reused"},
            "422": {"description": "mailbox not enrolled, or the email cannot be replied to"},
            "502": {"description": "Gmail failed; the draft row is marked failed"}}
    })
}
