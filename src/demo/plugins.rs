//! PLUG-IN POINTS: the demo steps that use features built by other issues
//! (proposals, drafts, digest; issues 4 and 5). Each calls the demo's own
//! API as the CRM would (SPEC §8/§11 wire shapes), so once those routes
//! are merged the steps work with no change here; until then a route
//! answers 404 and the step reports "not in this build". The lead may
//! replace a body with a direct library call; keep the signatures.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::seed::ALICE;

/// The demo's API as the CRM sees it: base URL, bearer token, acting user.
#[derive(Clone)]
pub struct DemoApi {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

/// What a step did, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    Done(T),
    /// The route is not in this build (another issue adds it).
    NotInBuild(&'static str),
    Failed(String),
}

impl DemoApi {
    pub fn new(base: String, token: String) -> DemoApi {
        DemoApi {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    /// Calls `path` as `user` (None = the CRM itself); (status, JSON body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(u) = user {
            rb = rb.header("X-CRM-User", u);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let value = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }
}

/// Ok(None) for a 404 (no such route), the body for a 2xx, else an error.
async fn try_route(
    api: &DemoApi,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<Value>, String> {
    let (status, value) = api.call(method, path, Some(ALICE), body).await?;
    match status {
        s if s.is_success() => Ok(Some(value)),
        StatusCode::NOT_FOUND if value["error"]["code"] == "not_found" && is_no_route(&value) => {
            Ok(None)
        }
        s => Err(format!(
            "{path} answered {s}: {}",
            value["error"]["message"]
        )),
    }
}

/// The router's fallback says "no route for …" (a missing feature), unlike
/// a handler's 404 for a missing record.
fn is_no_route(v: &Value) -> bool {
    v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("no route for"))
}

/// PLUG-IN (proposals, issue 4): how many proposals wait for review.
pub async fn proposal_count(api: &DemoApi) -> Step<u64> {
    match try_route(
        api,
        Method::GET,
        "/api/email/proposals?status=pending&limit=500",
        None,
    )
    .await
    {
        Ok(Some(v)) => Step::Done(v["items"].as_array().map_or(0, |a| a.len() as u64)),
        Ok(None) => Step::NotInBuild("GET /api/email/proposals"),
        Err(e) => Step::Failed(e),
    }
}

/// What the draft step made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftMade {
    pub gmail_draft_id: String,
    pub subject: String,
    pub to: String,
}

/// PLUG-IN (drafts, issue 5): a reply draft to the newest matched inbound
/// email Alice has a copy of, in her mailbox (agents draft, humans send).
pub async fn create_draft(api: &DemoApi) -> Step<DraftMade> {
    let path = "/api/email/activity?direction=inbound&limit=50";
    let email_id = match try_route(api, Method::GET, path, None).await {
        Ok(Some(v)) => {
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let alices = items.iter().find(|i| {
                i["accounts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|m| m == ALICE))
            });
            match alices.and_then(|i| i["email_id"].as_str()) {
                Some(id) => id.to_string(),
                None => return Step::Failed("no matched inbound email of Alice's".into()),
            }
        }
        Ok(None) => return Step::NotInBuild("GET /api/email/activity"),
        Err(e) => return Step::Failed(e),
    };
    let body = json!({
        "email_id": email_id,
        "account": ALICE,
        "body": "Thanks - let's talk on Tuesday at 3pm.\n\nAlice",
        "reply_all": false,
    });
    match try_route(api, Method::POST, "/api/email/drafts", Some(&body)).await {
        Ok(Some(v)) => Step::Done(DraftMade {
            gmail_draft_id: v["gmail_draft_id"].as_str().unwrap_or_default().to_string(),
            subject: v["subject"].as_str().unwrap_or_default().to_string(),
            to: v["to"][0]["email"]
                .as_str()
                .or_else(|| v["to"][0].as_str())
                .unwrap_or_default()
                .to_string(),
        }),
        Ok(None) => Step::NotInBuild("POST /api/email/drafts"),
        Err(e) => Step::Failed(e),
    }
}

/// PLUG-IN (digest, issue 5): builds today's digest (preview) and sends it
/// now to the active admins; the summary then says where it went (Gmail
/// `messages.send` on the fake, or the SMTP sink).
pub async fn send_digest(api: &DemoApi) -> Step<usize> {
    let preview = match try_route(api, Method::GET, "/api/email/digest/preview", None).await {
        Ok(Some(v)) => v.to_string().len(),
        Ok(None) => return Step::NotInBuild("GET /api/email/digest/preview"),
        Err(e) => return Step::Failed(e),
    };
    match try_route(
        api,
        Method::POST,
        "/api/email/digest/send-now",
        Some(&json!({})),
    )
    .await
    {
        Ok(Some(_)) => Step::Done(preview),
        Ok(None) => Step::NotInBuild("POST /api/email/digest/send-now"),
        Err(e) => Step::Failed(e),
    }
}
