//! The admin reads through HTTP only (SPEC §8, §11): activity and threads
//! equal the ground truth of a generated mail world (tests/support/world)
//! page by page under every filter; `q` is literal text; bad input is a
//! clear 4xx that changes nothing; email HTML comes out inert; attachments
//! download byte-exact under safe headers; inline `cid:` images point at
//! the email's own stored attachments.

mod support;

#[path = "api_reads/files.rs"]
mod files;
#[path = "api_reads/hand.rs"]
mod hand;
#[path = "api_reads/inline.rs"]
mod inline;
#[path = "api_reads/truth.rs"]
mod truth;

use email_sidecar::capture::SyncMode;
use email_sidecar::store::RunStatus;
use serde_json::Value;
use support::api::{Api, As};
use support::app::TestApp;
use tokio_util::sync::CancellationToken;

pub const ADMIN: As<'static> = As::User("alice@fund.test");

/// The HTTP API over the app's store, without a capture worker (the tests
/// sync explicitly, so nothing changes under a read).
pub async fn serve(app: &TestApp) -> (Api, CancellationToken) {
    app.serve_routes_api().await
}

/// Syncs every mailbox until a round ends clean.
pub async fn sync_until_settled(app: &TestApp) {
    for _ in 0..12 {
        let reports = app.capture.sync_all(SyncMode::Auto).await.unwrap();
        if reports.iter().all(|r| r.status == RunStatus::Ok) {
            return;
        }
    }
    panic!("sync did not settle");
}

/// Every item of a list route, following `next` with `limit`; asserts each
/// page is at most `limit` long and the last page's `next` is null.
pub async fn all_pages(api: &Api, path_and_query: &str, limit: usize) -> Vec<Value> {
    let sep = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..10_000 {
        let mut url = format!("{path_and_query}{sep}limit={limit}");
        if let Some(b) = &before {
            url.push_str(&format!("&before={b}"));
        }
        let (status, body) = api.get(&url, ADMIN).await;
        assert_eq!(status, 200, "{url}: {body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{url}: page of {}", items.len());
        out.extend(items.iter().cloned());
        match &body["next"] {
            Value::Null => return out,
            Value::String(s) => {
                assert!(!items.is_empty(), "{url}: empty page with a next cursor");
                before = Some(s.clone());
            }
            other => panic!("{url}: next is {other}"),
        }
    }
    panic!("{path_and_query}: paging did not end");
}
