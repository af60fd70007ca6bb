//! The auth matrix, from SPEC §8's table copied here as data (on purpose
//! independent of the code's route table, so this test can catch either
//! drifting): every route × {no token, wrong token, member, bot, admin,
//! service, unknown user, inactive user} answers what the SPEC implies —
//! 401 without a valid bearer token (health, push and oauth/callback take
//! none), 403 for a role not listed and for unknown or inactive users,
//! neither for an allowed caller. Disabled, every route but health and
//! status answers 503. And the code serves exactly the SPEC's routes.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

use email_sidecar::http::routes;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::api::{directory_with_users, Api, As, ADMIN, BOT, INACTIVE, MEMBER};
use support::app::{spawn_app, AppOptions, TEST_API_TOKEN};

/// Who SPEC §8 lets call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No bearer token at all (health; push and oauth/callback prove
    /// themselves another way).
    NoBearer,
    Admin,
    Member,
    Bot,
    Service,
}
use Who::*;

/// SPEC §8, one row per method and path, plus `openapi.json` (issue 4
/// item 7: "OpenAPI document served"; admin and service).
const SPEC: &[(&str, &str, &[Who])] = &[
    ("GET", "/api/email/health", &[NoBearer]),
    ("GET", "/api/email/status", &[Admin, Service]),
    ("PUT", "/api/email/directory", &[Service]),
    ("GET", "/api/email/accounts", &[Admin]),
    ("POST", "/api/email/accounts/enroll", &[Admin]),
    ("POST", "/api/email/accounts/enroll-all", &[Admin]),
    ("PATCH", "/api/email/accounts/{id}", &[Admin]),
    ("POST", "/api/email/sync/run-now", &[Admin]),
    ("POST", "/api/email/rematch", &[Admin]),
    ("GET", "/api/email/activity", &[Admin]),
    ("GET", "/api/email/emails/{id}", &[Admin]),
    ("GET", "/api/email/attachments/{id}", &[Admin]),
    ("GET", "/api/email/threads", &[Admin]),
    ("GET", "/api/email/threads/{id}", &[Admin]),
    ("GET", "/api/email/proposals", &[Admin, Bot]),
    ("POST", "/api/email/proposals/{id}/decide", &[Admin, Bot]),
    ("GET", "/api/email/proposals/work", &[Bot, Admin]),
    ("POST", "/api/email/proposals/{id}/posted", &[Bot, Admin]),
    ("POST", "/api/email/proposals/{id}/closed", &[Bot, Admin]),
    ("GET", "/api/email/feed", &[Service]),
    // "admin, mailbox owner, bot": a member passes the gate; whether they
    // own the mailbox is the handler's check.
    ("POST", "/api/email/drafts", &[Admin, Member, Bot]),
    ("GET", "/api/email/digest/policy", &[Admin]),
    ("PATCH", "/api/email/digest/policy", &[Admin]),
    ("POST", "/api/email/digest/send-now", &[Admin]),
    ("POST", "/api/email/digest/test-email", &[Admin]),
    ("GET", "/api/email/digest/preview", &[Admin]),
    ("POST", "/api/email/push", &[NoBearer]),
    ("POST", "/api/email/watch", &[Admin]),
    ("GET", "/api/email/oauth/start", &[Admin]),
    ("GET", "/api/email/oauth/callback", &[NoBearer]),
    ("GET", "/api/email/stream", &[Admin]),
    ("GET", "/api/email/metrics", &[Service]),
    ("GET", "/api/email/openapi.json", &[Admin, Service]),
];

const UNKNOWN: &str = "stranger@fund.test";

/// The callers of the matrix, and the role each stands for.
const CALLERS: [(&str, As<'static>, Option<Who>); 8] = [
    ("no token", As::NoToken, None),
    ("wrong token", As::WrongToken, None),
    ("member", As::User(MEMBER), Some(Member)),
    ("bot", As::User(BOT), Some(Bot)),
    ("admin", As::User(ADMIN), Some(Admin)),
    ("service", As::Service, Some(Service)),
    ("unknown user", As::User(UNKNOWN), None),
    ("inactive user", As::User(INACTIVE), None),
];

/// A minimal plausible request for the route: ids that do not exist
/// (404 is fine), bodies of the right shape that change nothing lasting.
fn request(api: &Api, method: &str, path: &str, who: As<'_>) -> reqwest::RequestBuilder {
    let concrete = path.replace("{id}", "999999");
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let rb = api.request(method, &concrete, who);
    let body: Option<Value> = match path.trim_start_matches("/api/email/") {
        "directory" => Some(serde_json::to_value(directory_with_users()).unwrap()),
        "accounts/enroll" => Some(json!({"email": "alice@fund.test"})),
        "accounts/{id}" => Some(json!({"status": "active"})),
        "sync/run-now" => Some(json!({"account": "nobody@fund.test", "mode": "incremental"})),
        "proposals/{id}/decide" => Some(json!({"decision": "reject"})),
        "drafts" => Some(json!({"email_id": "999999", "body": "Thanks!", "reply_all": false})),
        "digest/policy" => Some(json!({"enabled": false, "send_hour": 18})),
        "digest/test-email" => Some(json!({"to": [ADMIN]})),
        "push" => Some(json!({"message": {"data": "bm90IGpzb24="}})),
        "accounts/enroll-all" | "rematch" | "watch" | "digest/send-now" => Some(json!({})),
        "proposals/{id}/posted" | "proposals/{id}/closed" => Some(json!({})),
        _ => None,
    };
    match body {
        Some(b) => rb.json(&b),
        None => rb,
    }
}

/// Sends; the status, and the error code when the answer is an error
/// (a stream's body is never read).
async fn send(rb: reqwest::RequestBuilder) -> (StatusCode, Option<String>) {
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    if !status.is_client_error() && !status.is_server_error() {
        return (status, None);
    }
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().map(String::from))
}

/// What SPEC §8 implies for `who` on a route open to `allowed`:
/// `Some(status)` for an exact answer, `None` for "allowed: neither 401 nor 403".
fn expected(allowed: &[Who], who: Option<Who>, token_ok: bool) -> Option<StatusCode> {
    if allowed.contains(&NoBearer) {
        return None;
    }
    if !token_ok {
        return Some(StatusCode::UNAUTHORIZED);
    }
    match who {
        Some(w) if allowed.contains(&w) => None,
        _ => Some(StatusCode::FORBIDDEN),
    }
}

#[test]
fn the_code_serves_exactly_the_routes_of_the_spec() {
    let spec: BTreeSet<String> = SPEC.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    let code: BTreeSet<String> = routes::all()
        .iter()
        .map(|d| format!("{} {}", d.method, d.path))
        .collect();
    let missing: Vec<&String> = spec.difference(&code).collect();
    let undocumented: Vec<&String> = code.difference(&spec).collect();
    assert!(
        missing.is_empty() && undocumented.is_empty(),
        "SPEC routes the code lacks: {missing:?}; code routes the SPEC lacks: {undocumented:?}"
    );
}

#[tokio::test]
async fn every_route_answers_every_caller_as_spec_section_8_says() {
    let (_app, api, stop) = support::api::served_with_users().await;
    let mut wrong = Vec::new();
    for (method, path, allowed) in SPEC {
        for (name, who, role) in CALLERS {
            let token_ok = !matches!(who, As::NoToken | As::WrongToken);
            let want = expected(allowed, role, token_ok);
            let (got, code) = send(request(&api, method, path, who)).await;
            let ok = match want {
                Some(status) => {
                    let code_ok = match status {
                        StatusCode::UNAUTHORIZED => code.as_deref() == Some("unauthorized"),
                        _ => code.as_deref() == Some("forbidden"),
                    };
                    got == status && code_ok
                }
                // A missing route shows as 404 here, and as a wrong 401/403
                // in the other rows and in the route-set test.
                None => got != StatusCode::UNAUTHORIZED && got != StatusCode::FORBIDDEN,
            };
            if !ok {
                let want = want.map_or("allowed (neither 401 nor 403)".to_string(), |s| {
                    s.to_string()
                });
                wrong.push(format!(
                    "{method} {path} as {name}: got {got} {code:?}, want {want}"
                ));
            }
        }
    }
    stop.cancel();
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn a_disabled_integration_answers_503_everywhere_but_health_and_status() {
    let secrets = tempfile::tempdir().unwrap();
    let token = secrets.path().join("api-token");
    std::fs::write(&token, TEST_API_TOKEN).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let app = spawn_app(AppOptions {
        enabled: false,
        env: vec![(
            "CRM_GMAIL_API_TOKEN_PATH".into(),
            token.display().to_string(),
        )],
        ..AppOptions::default()
    })
    .await;
    assert!(!app.config.enabled);
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    let (api, stop) = app.serve_api().await;
    let mut wrong = Vec::new();
    for (method, path, _) in SPEC {
        for (name, who) in [
            ("admin", As::User(ADMIN)),
            ("service", As::Service),
            ("no token", As::NoToken),
        ] {
            let (got, code) = send(request(&api, method, path, who)).await;
            let want = match (*path, name) {
                ("/api/email/health", _) => StatusCode::OK,
                ("/api/email/status", "no token") => StatusCode::UNAUTHORIZED,
                ("/api/email/status", _) => StatusCode::OK,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            let code_ok =
                want != StatusCode::SERVICE_UNAVAILABLE || code.as_deref() == Some("unavailable");
            if got != want || !code_ok {
                wrong.push(format!(
                    "{method} {path} as {name}: got {got} {code:?}, want {want}"
                ));
            }
        }
    }
    let (_, status) = api.get("/api/email/status", As::Service).await;
    assert_eq!(status["enabled"], false);
    stop.cancel();
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// An `X-CRM-User` that is present but not readable text is refused, not
/// taken for "no header" (which would make the caller the CRM itself).
#[tokio::test]
async fn an_unreadable_acting_user_is_refused_not_taken_for_the_service() {
    let (_app, api, stop) = support::api::served_with_users().await;
    let odd = reqwest::header::HeaderValue::from_bytes(b"alice@fund.test\xff").unwrap();
    let resp = api
        .request(Method::GET, "/api/email/status", As::Service)
        .header("X-CRM-User", odd)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let (s, _) = api.get("/api/email/status", As::Service).await;
    assert_eq!(s, StatusCode::OK, "without the header it is the CRM");
    stop.cancel();
}
