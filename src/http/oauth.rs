//! OAuth mode: `oauth/start` (admin) redirects to Google's consent page
//! with a signed, single-use state; `oauth/callback` (the browser, no
//! bearer: the state is its proof) connects the mailbox and answers a small
//! HTML page. The flow is [`crate::oauth`]; failures show a plain page that
//! names no internals, and tokens never appear in a page or a log.

use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::extract::ApiQuery;
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::capture::worker::Command;
use crate::capture::SyncMode;
use crate::oauth::{OAuthError, OAuthFlow};

pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(
            Method::GET,
            "/api/email/oauth/start",
            Access::ADMIN,
            get(start),
        )
        .summary("Redirect to Google's consent page to connect a mailbox (OAuth mode)")
        .doc(start_doc()),
        RouteDef::new(
            Method::GET,
            "/api/email/oauth/callback",
            Access::OwnProof,
            get(callback),
        )
        .summary("Google's redirect back: verify the state, store the refresh token encrypted")
        .doc(callback_doc()),
    ]
}

#[derive(Deserialize)]
struct StartQuery {
    login_hint: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn flow(state: &AppState) -> Result<OAuthFlow, OAuthError> {
    OAuthFlow::from_config(&state.config, state.store.clone(), state.clock.clone())
}

async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let admin = match caller {
        Caller::User { email, .. } => email,
        _ => "service".to_string(),
    };
    let flow = flow(&state).map_err(api_error)?;
    let url = flow
        .start(&admin, q.login_hint.as_deref())
        .await
        .map_err(api_error)?;
    let headers = [
        (header::LOCATION, url.clone()),
        (header::CACHE_CONTROL, "no-store".to_string()),
    ];
    Ok((StatusCode::FOUND, headers, Json(json!({ "url": url }))).into_response())
}

async fn callback(State(state): State<AppState>, ApiQuery(q): ApiQuery<CallbackQuery>) -> Response {
    let outcome = match (&q.error, &q.code, &q.state) {
        (Some(e), _, _) => Err(OAuthError::Denied(short(e))),
        (None, Some(code), Some(st)) => match flow(&state) {
            // Detached: the state is used up first, so the rest must finish
            // even if the browser goes away.
            Ok(f) => {
                let (code, st) = (code.clone(), st.clone());
                match tokio::spawn(async move { f.callback(&code, &st).await }).await {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        tracing::error!(error = %e, "oauth callback task failed");
                        Err(OAuthError::Internal)
                    }
                }
            }
            Err(e) => Err(e),
        },
        _ => Err(OAuthError::BadState("code or state missing")),
    };
    match outcome {
        Ok(connected) => {
            if let Some(c) = &state.capture {
                c.worker.send(Command::SyncNow {
                    account_id: Some(connected.account_id),
                    mode: SyncMode::Auto,
                });
            }
            let text = format!(
                "Connected {}. Its mail will be captured shortly; you can close this window.",
                escape(&connected.email)
            );
            page(StatusCode::OK, "Mailbox connected", &text)
        }
        Err(e) => {
            let (status, _) = status_of(&e);
            match &e {
                OAuthError::BadState(why) => tracing::warn!(why, "oauth callback: state refused"),
                other => tracing::warn!(error = %other, "oauth callback failed"),
            }
            page(status, "Mailbox not connected", &escape(&e.to_string()))
        }
    }
}

fn status_of(e: &OAuthError) -> (StatusCode, &'static str) {
    match e {
        OAuthError::NotOAuthMode => (StatusCode::CONFLICT, "oauth_off"),
        OAuthError::NotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        e if e.is_client_error() => (StatusCode::BAD_REQUEST, "invalid_request"),
        OAuthError::TokenEndpoint(_) | OAuthError::Profile(_) => {
            (StatusCode::BAD_GATEWAY, "google_error")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

fn api_error(e: OAuthError) -> ApiError {
    if let OAuthError::Store(s) = e {
        return ApiError::from(s);
    }
    let (status, code) = status_of(&e);
    if status.is_server_error() {
        tracing::error!(error = %e, "oauth/start failed");
    }
    ApiError::new(status, code, e.to_string())
}

/// A plain, self-contained page: no scripts, no remote loads, not cached,
/// and the URL (which held the code) not sent on as a referrer.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\
         <h1>{title}</h1><p>{text}</p></body></html>"
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
    ];
    (status, headers, html).into_response()
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Google's `error` parameter, bounded and printable.
fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

fn start_doc() -> Value {
    json!({
        "description": "OAuth mode only. Answers 302 to Google's consent URL (also given \
            as {\"url\"}) asking gmail.readonly and gmail.compose offline, with a signed \
            state valid for 10 minutes and usable once.",
        "parameters": [{"name": "login_hint", "in": "query", "required": false,
            "schema": {"type": "string", "format": "email"}}],
        "responses": {
            "302": {"description": "to Google's consent page", "content": {"application/json":
                {"schema": {"type": "object", "properties": {"url": {"type": "string"}}}}}},
            "400": {"description": "login_hint is not an email address"},
            "409": {"description": "OAuth mode is off"},
            "503": {"description": "OAuth mode is not fully configured"}}
    })
}

fn callback_doc() -> Value {
    json!({
        "description": "Where Google sends the browser back. Verifies and uses up the \
            state, exchanges the code, requires the mailbox to be in our Workspace domain, \
            stores its refresh token encrypted (enrolling it if new) and answers an HTML page.",
        "security": [],
        "parameters": [
            {"name": "code", "in": "query", "required": false, "schema": {"type": "string"}},
            {"name": "state", "in": "query", "required": false, "schema": {"type": "string"}},
            {"name": "error", "in": "query", "required": false, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "connected (text/html)"},
            "400": {"description": "bad, expired or replayed state; refused code; missing \
                scope; mailbox outside our domain (text/html)"},
            "502": {"description": "Google failed (text/html)"}}
    })
}
