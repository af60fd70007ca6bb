//! The demo's proposal, draft and digest steps. Each calls the demo's own
//! API over HTTP exactly as the CRM would (SPEC §8/§11 wire shapes, the
//! printed token, `X-CRM-User` for an acting user, none for the CRM
//! itself), so the demo exercises the real routes, access rules and
//! shapes. What the steps report is then checked against fake Google and
//! the SMTP sink by `demo::run` before the summary prints it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::seed::ALICE;

/// The demo's API as the CRM sees it: base URL and bearer token.
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
    Failed(String),
}

impl<T> Step<T> {
    pub fn done(&self) -> Option<&T> {
        match self {
            Step::Done(v) => Some(v),
            Step::Failed(_) => None,
        }
    }
}

/// A non-2xx answer: its status and the SPEC error body.
struct Refused {
    status: StatusCode,
    body: Value,
}

impl Refused {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
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

    /// The body of a 2xx answer; a transport error or any other status is
    /// an error (`Ok(Err)` keeps the refusal for callers that expect some).
    async fn send(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Result<Value, Refused>, String> {
        let (status, body) = self.call(method, path, user, body).await?;
        Ok(if status.is_success() {
            Ok(body)
        } else {
            Err(Refused { status, body })
        })
    }

    /// Like `send`, but any refusal is an error naming the route.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        self.send(method.clone(), path, user, body)
            .await?
            .map_err(|r| refused(&method, path, &r))
    }
}

fn refused(method: &Method, path: &str, r: &Refused) -> String {
    format!(
        "{method} {path} answered {}: {}",
        r.status, r.body["error"]["message"]
    )
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// What the proposal step did: every proposal the capture made, one
/// approved by Alice, and that approval as the CRM's feed shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewed {
    /// Proposals of any status.
    pub total: usize,
    /// Still pending after the approval.
    pub pending: usize,
    pub approved_id: String,
    pub approved_subject: String,
    /// Items on the feed (`GET feed?after=0` as the service).
    pub feed_items: usize,
    /// The approved proposal's feed seq.
    pub feed_seq: u64,
}

const PROPOSALS: &str = "/api/email/proposals?limit=500";
const PENDING: &str = "/api/email/proposals?status=pending&limit=500";

/// Lists the proposals, approves the newest pending one as Alice (admin)
/// with an edited note, and reads the feed as the CRM.
pub async fn review_proposals(api: &DemoApi) -> Step<Reviewed> {
    match review(api).await {
        Ok(r) => Step::Done(r),
        Err(e) => Step::Failed(e),
    }
}

async fn review(api: &DemoApi) -> Result<Reviewed, String> {
    let total = items(
        &api.expect(Method::GET, PROPOSALS, Some(ALICE), None)
            .await?,
    )
    .len();
    let pending = items(&api.expect(Method::GET, PENDING, Some(ALICE), None).await?);
    let first = pending
        .first()
        .ok_or_else(|| format!("no pending proposal among {total}"))?;
    let id = text(first, "id");
    let decide = format!("/api/email/proposals/{id}/decide");
    let body = json!({"decision": "approve", "note": format!("{} (approved in the demo)", text(first, "note"))});
    let decided = api
        .expect(Method::POST, &decide, Some(ALICE), Some(&body))
        .await?;
    if decided["status"] != "approved" {
        return Err(format!("{decide} left the proposal {}", decided["status"]));
    }
    let pending_after = items(&api.expect(Method::GET, PENDING, Some(ALICE), None).await?).len();
    let feed = items(
        &api.expect(Method::GET, "/api/email/feed?after=0&limit=500", None, None)
            .await?,
    );
    let seq = feed
        .iter()
        .find(|f| f["proposal_id"] == id.as_str())
        .and_then(|f| f["seq"].as_u64())
        .ok_or_else(|| format!("approved proposal {id} is not on the feed"))?;
    Ok(Reviewed {
        total,
        pending: pending_after,
        approved_id: id,
        approved_subject: text(first, "subject"),
        feed_items: feed.len(),
        feed_seq: seq,
    })
}

/// What the draft step made (the API's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftMade {
    pub gmail_draft_id: String,
    pub thread_id: String,
    pub subject: String,
    pub to: String,
}

/// A reply draft in Alice's mailbox, in the Gmail thread of a matched
/// email she holds a copy of, created as Alice (admin). Candidates are the
/// proposals' emails, inbound first; one Alice has no copy of answers 409
/// `no_live_copy` before anything reaches Gmail, and the next is tried.
pub async fn create_draft(api: &DemoApi) -> Step<DraftMade> {
    match draft(api).await {
        Ok(d) => Step::Done(d),
        Err(e) => Step::Failed(e),
    }
}

async fn draft(api: &DemoApi) -> Result<DraftMade, String> {
    let mut proposals = items(
        &api.expect(Method::GET, PROPOSALS, Some(ALICE), None)
            .await?,
    );
    proposals.sort_by_key(|p| p["direction"] != "inbound");
    let mut tried = Vec::new();
    for p in &proposals {
        let email_id = text(p, "email_id");
        if tried.contains(&email_id) {
            continue;
        }
        let body = json!({
            "email_id": email_id,
            "account": ALICE,
            "body": "Thanks - let's talk on Tuesday at 3pm.\n\nAlice",
            "reply_all": false,
        });
        let path = "/api/email/drafts";
        match api
            .send(Method::POST, path, Some(ALICE), Some(&body))
            .await?
        {
            Ok(v) => {
                return Ok(DraftMade {
                    gmail_draft_id: text(&v, "gmail_draft_id"),
                    thread_id: text(&v, "thread_id"),
                    subject: text(&v, "subject"),
                    to: text(&v["to"][0], "email"),
                })
            }
            Err(r) if r.status == StatusCode::CONFLICT && r.code() == "no_live_copy" => {
                tried.push(email_id)
            }
            Err(r) => return Err(refused(&Method::POST, path, &r)),
        }
    }
    Err(format!(
        "none of the {} proposed emails has a copy in {ALICE}",
        tried.len()
    ))
}

/// What the digest step sent (the preview's figures and the run record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSent {
    pub subject: String,
    /// Matched emails in the last 24 h (the preview's count).
    pub emails: u64,
    /// `gmail` or `smtp`, as the run records it.
    pub transport: String,
    pub recipients: Vec<String>,
    pub message_id: String,
}

/// Builds the digest (preview) and sends the last 24 h to the active
/// admins now, as Alice; the run says which transport delivered it.
pub async fn send_digest(api: &DemoApi) -> Step<DigestSent> {
    match digest(api).await {
        Ok(d) => Step::Done(d),
        Err(e) => Step::Failed(e),
    }
}

async fn digest(api: &DemoApi) -> Result<DigestSent, String> {
    let preview = api
        .expect(Method::GET, "/api/email/digest/preview", Some(ALICE), None)
        .await?;
    let path = "/api/email/digest/send-now";
    let run = api
        .expect(Method::POST, path, Some(ALICE), Some(&json!({})))
        .await?;
    if run["status"] != "sent" {
        return Err(format!(
            "{path}: the run is {} ({})",
            run["status"], run["error"]
        ));
    }
    let recipients = run["recipients"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(DigestSent {
        subject: text(&preview, "subject"),
        emails: preview["emails"].as_u64().unwrap_or_default(),
        transport: text(&run, "transport"),
        recipients,
        message_id: text(&run, "message_id"),
    })
}
