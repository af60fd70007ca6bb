//! Proposals (admin, bot): list, decide; the review bot's work-lists and
//! marks; the approved-activity feed (service). SPEC §7 and §11: ids are
//! strings, times RFC 3339 UTC, lists `{"items", "next"}`. Talks to the
//! store only (`crate::store::proposals`), which publishes the events.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::extract::{limit, list, parse_id, ApiJson, ApiPath, ApiQuery};
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::store::proposals::{
    DecideOutcome, Decision, FeedItem, MarkOutcome, Proposal, ProposalQuery, ProposalStatus,
};

/// Longest edited note accepted on decide (characters).
const MAX_NOTE_CHARS: usize = 10_000;
/// Longest chat reference accepted on `posted`.
const MAX_REF_CHARS: usize = 500;

pub(super) fn routes() -> Vec<RouteDef> {
    use Method as M;
    vec![
        RouteDef::new(
            M::GET,
            "/api/email/proposals",
            Access::ADMIN_OR_BOT,
            get(list_proposals),
        )
        .summary("Proposed activity notes, newest first (keyset-paginated)")
        .doc(docs::list()),
        RouteDef::new(
            M::GET,
            "/api/email/proposals/work",
            Access::ADMIN_OR_BOT,
            get(work),
        )
        .summary("The review bot's work-lists: to_post, open, to_close")
        .doc(docs::work()),
        RouteDef::new(
            M::POST,
            "/api/email/proposals/{id}/decide",
            Access::ADMIN_OR_BOT,
            post(decide),
        )
        .summary("Approve (optionally with an edited note) or reject a proposal")
        .doc(docs::decide()),
        RouteDef::new(
            M::POST,
            "/api/email/proposals/{id}/posted",
            Access::ADMIN_OR_BOT,
            post(posted),
        )
        .summary("The review bot posted a card for the proposal (idempotent)")
        .doc(docs::mark(true)),
        RouteDef::new(
            M::POST,
            "/api/email/proposals/{id}/closed",
            Access::ADMIN_OR_BOT,
            post(closed),
        )
        .summary("The review bot closed the card of a decided proposal (idempotent)")
        .doc(docs::mark(false)),
        RouteDef::new(M::GET, "/api/email/feed", Access::SERVICE, get(feed))
            .summary("Approved activity for the CRM, ordered by seq")
            .doc(docs::feed()),
    ]
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, time)
}

/// The SPEC §11 proposal item, plus the note's source, the bot's marks
/// and whether the email is still linked to the investor.
fn item(p: &Proposal) -> Value {
    json!({
        "id": p.id.to_string(),
        "email_id": p.email_id.to_string(),
        "investor_id": p.investor_id,
        "contact_id": p.contact_id,
        "direction": p.direction,
        "occurred_at": time(p.occurred_at),
        "subject": p.subject,
        "note": p.note,
        "note_source": p.note_source,
        "status": p.status.as_str(),
        "decided_by": p.decided_by,
        "decided_at": opt_time(p.decided_at),
        "posted_at": opt_time(p.posted_at),
        "posted_ref": p.posted_ref,
        "closed_at": opt_time(p.closed_at),
        "linked": p.linked,
    })
}

fn feed_item(f: &FeedItem) -> Value {
    json!({
        "seq": f.seq,
        "proposal_id": f.proposal_id.to_string(),
        "investor_id": f.investor_id,
        "contact_id": f.contact_id,
        "email_id": f.email_id.to_string(),
        "occurred_at": time(f.occurred_at),
        "direction": f.direction,
        "subject": f.subject,
        "note": f.note,
        "approved_by": f.approved_by,
        "approved_at": time(f.approved_at),
    })
}

fn bad_query(msg: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", msg)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<ProposalStatus>,
    before: Option<String>,
    limit: Option<u32>,
}

/// `before` cursors are `<occurred_at ms>:<id>`, as handed out in `next`.
fn parse_cursor(raw: &str) -> Result<(i64, i64), ApiError> {
    let bad = || bad_query("before must be a cursor from a previous page's next");
    let (t, i) = raw.split_once(':').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?))
}

async fn list_proposals(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = ProposalQuery {
        status: q.status,
        before: q.before.as_deref().map(parse_cursor).transpose()?,
        limit: limit(q.limit)?,
    };
    let rows = state.store.run(move |s| s.list_proposals(&query)).await?;
    let next = (rows.len() == query.limit as usize)
        .then(|| rows.last())
        .flatten()
        .map(|p| format!("{}:{}", p.occurred_at.timestamp_millis(), p.id));
    Ok(Json(list(rows.iter().map(item).collect(), next)))
}

#[derive(Deserialize)]
struct WorkQuery {
    limit: Option<u32>,
}

async fn work(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WorkQuery>,
) -> Result<Json<Value>, ApiError> {
    let n = limit(q.limit)?;
    let w = state.store.run(move |s| s.proposal_work(n)).await?;
    let items = |v: &[Proposal]| v.iter().map(item).collect::<Vec<_>>();
    Ok(Json(json!({
        "to_post": items(&w.to_post),
        "open": items(&w.open),
        "to_close": items(&w.to_close),
    })))
}

/// `decision` is read as a string and checked here: serde_json reports a
/// non-string enum value as a syntax error, which would answer 400
/// "malformed JSON" for well-formed JSON of the wrong type.
#[derive(Deserialize)]
struct DecideBody {
    decision: String,
    note: Option<String>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", msg)
}

fn caller_name(caller: &Caller) -> String {
    match caller {
        Caller::User { email, .. } => email.clone(),
        Caller::Service => "service".into(),
        Caller::Anonymous => "anonymous".into(),
    }
}

async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(body): ApiJson<DecideBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("proposal", &raw)?;
    let decision = match body.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(invalid("decision must be \"approve\" or \"reject\"")),
    };
    let note = match body.note {
        Some(n) if n.trim().is_empty() => return Err(invalid("note must not be empty")),
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            return Err(invalid(format!(
                "note is longer than {MAX_NOTE_CHARS} characters"
            )))
        }
        other => other,
    };
    let by = caller_name(&caller);
    let outcome = state
        .store
        .run(move |s| s.decide_proposal(id, decision, note.as_deref(), &by))
        .await
        .map_err(|e| not_found_or(e, id))?;
    match outcome {
        DecideOutcome::Decided(p) | DecideOutcome::Unchanged(p) => Ok(Json(item(&p))),
        DecideOutcome::Conflict(p) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "proposal {} is already {} by {}; a different decision is not allowed",
                p.id,
                p.status.as_str(),
                p.decided_by.as_deref().unwrap_or("someone")
            ),
        )),
    }
}

fn not_found_or(e: crate::store::StoreError, id: i64) -> ApiError {
    if e.is_not_found() {
        ApiError::not_found(format!("no proposal with id {id}"))
    } else {
        ApiError::from(e)
    }
}

#[derive(Deserialize, Default)]
struct PostedBody {
    #[serde(rename = "ref")]
    reference: Option<String>,
}

async fn posted(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("proposal", &raw)?;
    let reference = optional_body::<PostedBody>(&body)?.reference;
    if reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REF_CHARS)
    {
        return Err(invalid(format!(
            "ref is longer than {MAX_REF_CHARS} characters"
        )));
    }
    let outcome = state
        .store
        .run(move |s| s.mark_posted(id, reference.as_deref()))
        .await
        .map_err(|e| not_found_or(e, id))?;
    mark_answer(outcome)
}

/// A JSON body that may be left out entirely (then `T::default()`).
fn optional_body<T: serde::de::DeserializeOwned + Default>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(raw).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => invalid(e.to_string()),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()),
    })
}

async fn closed(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("proposal", &raw)?;
    let outcome = state
        .store
        .run(move |s| s.mark_closed(id))
        .await
        .map_err(|e| not_found_or(e, id))?;
    mark_answer(outcome)
}

fn mark_answer(outcome: MarkOutcome) -> Result<Json<Value>, ApiError> {
    match outcome {
        MarkOutcome::Marked(p) | MarkOutcome::Unchanged(p) => Ok(Json(item(&p))),
        MarkOutcome::StillPending(p) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "proposal {} is still pending; decide it before closing its card",
                p.id
            ),
        )),
    }
}

#[derive(Deserialize)]
struct FeedQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

async fn feed(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<Value>, ApiError> {
    let n = limit(q.limit)?;
    let after = i64::try_from(q.after.unwrap_or(0)).map_err(|_| bad_query("after is too large"))?;
    let rows = state.store.run(move |s| s.feed_after(after, n)).await?;
    let next = (rows.len() == n as usize)
        .then(|| rows.last())
        .flatten()
        .map(|f| f.seq.to_string());
    Ok(Json(list(rows.iter().map(feed_item).collect(), next)))
}

mod docs;
