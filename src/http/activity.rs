//! Admin reads (SPEC §8, §11): `activity` (matched-only, live-only, newest
//! first, keyset pages), `emails/{id}` with sanitized HTML, streamed
//! `attachments/{id}`, and `threads`. All admin-only (the route table checks
//! roles). Talks to `store::activity` and `crate::sanitize`.
//!
//! Only matched email is served, also by id: the CRM panel is about
//! investor activity; internal mail between teammates, or mail with people
//! outside the directory, is not its business (and holds no body anyway).

mod doc;
mod download;
mod params;
mod render;

use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use serde_json::Value;

use super::extract::{parse_id, ApiPath};
use super::routes::{Access, RouteDef};
use super::{ApiError, AppState};
use crate::sanitize::InlineImages;
use crate::store::activity::EmailDetail;

const ACTIVITY_PARAMS: &[&str] = &[
    "investor_id",
    "account_id",
    "direction",
    "q",
    "before",
    "limit",
];
const THREADS_PARAMS: &[&str] = &["investor_id", "before", "limit"];

pub(super) fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(
            Method::GET,
            "/api/email/activity",
            Access::ADMIN,
            get(activity),
        )
        .summary("Matched, live email newest first, filtered, keyset-paginated")
        .doc(doc::activity()),
        RouteDef::new(
            Method::GET,
            "/api/email/emails/{id}",
            Access::ADMIN,
            get(email),
        )
        .summary("One matched email: headers, text, sanitized HTML, attachments")
        .doc(doc::email()),
        RouteDef::new(
            Method::GET,
            "/api/email/attachments/{id}",
            Access::ADMIN,
            get(download::download),
        )
        .summary("Download one attachment of a matched email (streamed)")
        .doc(doc::attachment()),
        RouteDef::new(
            Method::GET,
            "/api/email/threads",
            Access::ADMIN,
            get(threads),
        )
        .summary("Threads with matched, live email, newest activity first")
        .doc(doc::threads()),
        RouteDef::new(
            Method::GET,
            "/api/email/threads/{id}",
            Access::ADMIN,
            get(thread),
        )
        .summary("One thread's matched, live email, oldest first")
        .doc(doc::thread()),
    ]
}

async fn activity(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse(raw.as_deref(), ACTIVITY_PARAMS)?;
    let filter = params::activity_filter(&p)?;
    let (before, limit) = (params::before(&p)?, params::limit(&p)?);
    let page = state
        .store
        .run(move |s| s.activity(&filter, before, limit))
        .await?;
    let items = page.items.iter().map(render::item).collect();
    Ok(Json(render::page(items, page.next)))
}

async fn email(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("email", &raw)?;
    let detail = state
        .store
        .run(move |s| s.email_detail(id))
        .await?
        .ok_or_else(|| ApiError::not_found("no matched email with that id"))?;
    // Sanitizing a large body is real CPU work: off the async workers.
    let (html, images) = (detail.html.clone(), inline_images(&detail));
    let clean = tokio::task::spawn_blocking(move || {
        html.map(|h| crate::sanitize::sanitize_email_html(&h, &images))
    })
    .await
    .map_err(|e| ApiError::unavailable(format!("sanitizer task failed: {e}")))?;
    Ok(Json(render::detail(&detail, clean)))
}

/// The email's own attachments a `cid:` image may show: only stored ones
/// (any other would answer the image request with an error), in id order.
fn inline_images(detail: &EmailDetail) -> InlineImages {
    InlineImages::new(detail.attachments.iter().filter_map(|a| {
        let cid = a.content_id.as_deref()?;
        (a.status == "stored").then_some((cid, a.id))
    }))
}

async fn threads(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = params::parse(raw.as_deref(), THREADS_PARAMS)?;
    let investor = params::investor_id(&p)?;
    let (before, limit) = (params::before(&p)?, params::limit(&p)?);
    let page = state
        .store
        .run(move |s| s.threads(investor, before, limit))
        .await?;
    let items = page.items.iter().map(render::thread_summary).collect();
    Ok(Json(render::page(items, page.next)))
}

async fn thread(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("thread", &raw)?;
    let t = state
        .store
        .run(move |s| s.thread(id))
        .await?
        .ok_or_else(|| ApiError::not_found("no thread with matched email under that id"))?;
    Ok(Json(render::thread_detail(&t)))
}
