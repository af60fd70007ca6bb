//! Digest policy, preview, send-now and test-email (admin; SPEC §8, §10).
//! Handlers only translate HTTP to the [`Digests`] service: the policy in
//! `app_settings` (audited), and sends that go through `digest::send`,
//! which re-checks that every recipient is an active admin.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Extension, Json};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::extract::ApiJson;
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::digest::{Digest, DigestError, Digests, PolicyPatch};
use crate::store::digest::DigestRun;

pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(
            Method::GET,
            "/api/email/digest/policy",
            Access::ADMIN,
            get(get_policy),
        )
        .summary("The digest policy {enabled, send_hour}")
        .doc(json!({"responses": {"200": {"description": "The policy",
            "content": {"application/json": {"schema": policy_schema()}}}}})),
        RouteDef::new(
            Method::PATCH,
            "/api/email/digest/policy",
            Access::ADMIN,
            patch(patch_policy),
        )
        .summary("Change the digest policy (applies at the next scheduler tick; audited)")
        .doc(json!({
            "requestBody": {"required": true, "content": {"application/json": {"schema": policy_schema()}}},
            "responses": {
                "200": {"description": "The new policy",
                    "content": {"application/json": {"schema": policy_schema()}}},
                "422": {"description": "send_hour outside 0..23, a wrong type or an unknown field"}}})),
        RouteDef::new(
            Method::GET,
            "/api/email/digest/preview",
            Access::ADMIN,
            get(preview),
        )
        .summary("The digest the next scheduled send would hold now (nothing is sent)")
        .doc(json!({"responses": {"200": {"description": "subject, text, html and window",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "subject": {"type": "string"}, "text": {"type": "string"},
                "html": {"type": "string"}, "local_day": {"type": "string"},
                "window": window_schema(), "emails": {"type": "integer"},
                "investors": {"type": "integer"}}}}}}}})),
        RouteDef::new(
            Method::POST,
            "/api/email/digest/send-now",
            Access::ADMIN,
            post(send_now),
        )
        .summary("Send the last 24 h to the active admins now (the daily schedule is unchanged)")
        .doc(json!({"responses": {
            "200": {"description": "The run", "content": {"application/json": {"schema": run_schema()}}},
            "409": {"description": "No active admin, or no sender mailbox"},
            "502": {"description": "Neither Gmail nor SMTP delivered it"}}})),
        RouteDef::new(
            Method::POST,
            "/api/email/digest/test-email",
            Access::ADMIN,
            post(test_email),
        )
        .summary("Send the preview to the given active admins only")
        .doc(json!({
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["to"], "additionalProperties": false,
                "properties": {"to": {"type": "array", "minItems": 1,
                    "items": {"type": "string", "format": "email"}}}}}}},
            "responses": {
                "200": {"description": "The run", "content": {"application/json": {"schema": run_schema()}}},
                "403": {"description": "A recipient is not an active admin; nothing was sent"},
                "502": {"description": "Neither Gmail nor SMTP delivered it"}}})),
    ]
}

fn policy_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "enabled": {"type": "boolean"},
        "send_hour": {"type": "integer", "minimum": 0, "maximum": 23}}})
}

fn window_schema() -> Value {
    json!({"type": "object", "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"}}})
}

fn run_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"}, "kind": {"enum": ["scheduled", "send_now", "test"]},
        "local_day": {"type": "string"}, "window": window_schema(),
        "message_id": {"type": "string"},
        "status": {"enum": ["pending", "sending", "sent", "failed"]},
        "transport": {"type": ["string", "null"]},
        "recipients": {"type": "array", "items": {"type": "string"}},
        "sent_at": {"type": ["string", "null"], "format": "date-time"},
        "error": {"type": ["string", "null"]}}})
}

fn service(state: &AppState) -> Digests {
    Digests::new(state.store.clone(), state.live.clone(), state.clock.clone())
        .with_metrics(state.metrics.clone())
}

fn actor(caller: &Caller) -> String {
    match caller {
        Caller::User { email, .. } => email.clone(),
        Caller::Service => "service".into(),
        Caller::Anonymous => "anonymous".into(),
    }
}

async fn get_policy(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let p = state.store.run(|s| s.digest_policy()).await?;
    Ok(Json(json!(p)))
}

async fn patch_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(patch): ApiJson<PolicyPatch>,
) -> Result<Json<Value>, ApiError> {
    let before = state.store.run(|s| s.digest_policy()).await?;
    let after = patch
        .apply(before)
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", m))?;
    let who = actor(&caller);
    state
        .store
        .run(move |s| s.set_digest_policy(&after, &who, &before))
        .await?;
    Ok(Json(json!(after)))
}

async fn preview(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let d: Digest = service(&state).preview().await.map_err(digest_error)?;
    Ok(Json(json!({
        "subject": d.subject, "text": d.text, "html": d.html, "local_day": d.local_day,
        "window": {"start": d.window_start.to_rfc3339_opts(SecondsFormat::Millis, true), "end": d.window_end.to_rfc3339_opts(SecondsFormat::Millis, true)},
        "emails": d.emails, "investors": d.investors,
    })))
}

async fn send_now(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let run = service(&state)
        .send_now(&actor(&caller))
        .await
        .map_err(digest_error)?;
    Ok(Json(run_json(&run)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestEmail {
    to: Vec<String>,
}

async fn test_email(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<TestEmail>,
) -> Result<Json<Value>, ApiError> {
    if body.to.is_empty() {
        let m = "`to` must name at least one active admin";
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            m,
        ));
    }
    let run = service(&state)
        .send_test(body.to, &actor(&caller))
        .await
        .map_err(digest_error)?;
    Ok(Json(run_json(&run)))
}

pub(super) fn run_json(r: &DigestRun) -> Value {
    json!({
        "id": r.id.to_string(), "kind": r.kind.as_str(), "local_day": r.local_day,
        "window": {"start": r.window_start.to_rfc3339_opts(SecondsFormat::Millis, true), "end": r.window_end.to_rfc3339_opts(SecondsFormat::Millis, true)},
        "message_id": r.message_id, "status": r.status.as_str(), "transport": r.transport,
        "recipients": r.recipients, "sent_at": r.sent_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "error": r.error,
    })
}

fn digest_error(e: DigestError) -> ApiError {
    match e {
        DigestError::Store(s) => s.into(),
        DigestError::NotAdmin(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
        }
        DigestError::NoRecipients | DigestError::NoSender | DigestError::Conflict => {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        DigestError::Compose(_) => {
            tracing::error!(error = %e, "digest could not be composed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the digest could not be composed",
            )
        }
        DigestError::Unverified(_) | DigestError::Send(_) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "send_failed", e.to_string())
        }
    }
}
