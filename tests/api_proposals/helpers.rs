//! The mail world of the proposal tests and small HTTP/DB helpers.

use std::sync::Arc;
use std::time::Duration;

use email_sidecar::capture::push::PushLimiter;
use email_sidecar::capture::worker::{Worker, WorkerSettings};
use email_sidecar::capture::SyncMode;
use email_sidecar::http::{AppState, CaptureState};
use email_sidecar::store::Store;
use reqwest::{Method, StatusCode};
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::support::api::{directory_with_users, Api, As};
use crate::support::app::{spawn_app, AppOptions, TestApp};

pub const ALICE: &str = "alice@fund.test";
pub const BOB: &str = "bob@fund.test";
pub const CAROL: &str = "carol@fund.test";

pub fn raw_dated(id: &str, from: &str, to: &str, subject: &str, date: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello about {subject}.\r\n"
    )
    .into_bytes()
}

/// A plain-text email dated 2026-11-03 10:00 UTC; `extra` = more headers.
pub fn raw(id: &str, from: &str, to: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nMeet Pat from Beta.\r\n"
    )
    .into_bytes()
}

/// Users of every role; investors `inv` (acme.vc, contact jo@), `beta`
/// (beta.vc, no contacts) and `old` (grave.vc, in the graveyard).
pub fn world_directory() -> Value {
    let mut d = serde_json::to_value(directory_with_users()).unwrap();
    let investors = d["investors"].as_array_mut().unwrap();
    investors.push(json!({"id": "beta", "name": "Beta", "domains": ["beta.vc"]}));
    investors.push(json!({"id": "old", "name": "Old", "domains": ["grave.vc"], "graveyard": true}));
    d
}

/// The world: directory pushed over HTTP, then five emails delivered (not
/// yet synced): an intro from Jo cc'ing Beta seen in three mailboxes, an
/// outbound follow-up, a bulk mail, an internal one and a graveyard one.
pub async fn world() -> (TestApp, Api, CancellationToken) {
    world_with(Vec::new()).await
}

pub async fn world_with(env: Vec<(String, String)>) -> (TestApp, Api, CancellationToken) {
    let app = spawn_app(AppOptions {
        enabled: true,
        env,
        ..AppOptions::default()
    })
    .await;
    let (api, stop) = serve(&app, app.store.clone(), true).await;
    let (s, r) = put_directory(&api, &world_directory()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let intro = raw(
        "intro@x.test",
        "Jo Smith <jo@acme.vc>",
        "alice@fund.test, bob@fund.test, carol@fund.test",
        "Intro to Beta",
        "Cc: pat@beta.vc\r\n",
    );
    for m in [ALICE, BOB, CAROL] {
        app.fake.deliver(m, &intro, &["INBOX"]);
    }
    let follow = raw_dated(
        "follow@x.test",
        ALICE,
        "Jo <jo@acme.vc>",
        "Follow-up",
        "Thu, 05 Nov 2026 08:00:00 +0000",
    );
    app.fake.deliver(ALICE, &follow, &["SENT"]);
    let bulk = raw(
        "bulk@x.test",
        "jo@acme.vc",
        ALICE,
        "Newsletter",
        "List-Unsubscribe: <mailto:u@acme.vc>\r\n",
    );
    app.fake.deliver(ALICE, &bulk, &["INBOX"]);
    app.fake
        .deliver(BOB, &raw("int@x.test", ALICE, BOB, "Lunch", ""), &["INBOX"]);
    app.fake.deliver(
        BOB,
        &raw("grave@x.test", "x@grave.vc", BOB, "Still here", ""),
        &["INBOX"],
    );
    (app, api, stop)
}

/// The real router over `store` on 127.0.0.1:0, with the test's capture
/// engine (`with_capture`) but no capture worker running.
pub async fn serve(app: &TestApp, store: Store, with_capture: bool) -> (Api, CancellationToken) {
    let mut state = AppState::new(store, Arc::new(app.config.clone()), app.clock.clone());
    if with_capture {
        let settings = WorkerSettings {
            sweep_interval: Duration::from_secs(3600),
            debounce: Duration::from_millis(300),
            pubsub_topic: None,
            drain_timeout: Duration::from_secs(1),
        };
        // Never run: commands sent to it are dropped, syncs are the test's.
        let (_worker, handle) = Worker::new(app.capture.clone(), settings);
        state.capture = Some(Arc::new(CaptureState {
            capture: app.capture.clone(),
            worker: handle,
            verifier: None,
            limiter: PushLimiter::new(2.0, 20, 200.0, 1000),
        }));
    }
    let (base, stop) = crate::support::app::serve_state(state).await;
    (Api::new(base), stop)
}

pub async fn sync(app: &TestApp) {
    for r in app.capture.sync_all(SyncMode::Auto).await.unwrap() {
        assert!(r.error.is_none(), "{r:?}");
    }
}

pub async fn sync_full(app: &TestApp) {
    app.capture.sync_all(SyncMode::Full).await.unwrap();
}

pub async fn put_directory(api: &Api, dir: &Value) -> (StatusCode, Value) {
    api.call(Method::PUT, "/api/email/directory", As::Service, Some(dir))
        .await
}

pub async fn decide(api: &Api, id: &str, body: Value, who: &str) -> (StatusCode, Value) {
    api.post(
        &format!("/api/email/proposals/{id}/decide"),
        As::User(who),
        &body,
    )
    .await
}

/// Every feed item, following `next`.
pub async fn all_feed(api: &Api) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let (s, page) = api
            .get(
                &format!("/api/email/feed?after={after}&limit=2"),
                As::Service,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => return out,
        }
    }
}

pub fn subject_of(p: &Value) -> String {
    p["subject"].as_str().unwrap().to_string()
}

fn db(app: &TestApp) -> Connection {
    Connection::open(app.db_path()).unwrap()
}

pub fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The id (as the API writes it) of the proposal for `subject` × `investor`.
pub fn proposal_id(app: &TestApp, subject: &str, investor: &str) -> String {
    db(app)
        .query_row(
            "SELECT p.id FROM email_proposals p JOIN emails e ON e.id = p.email_id \
             WHERE e.subject = ?1 AND p.investor_id = ?2",
            [subject, investor],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        .to_string()
}

/// Every row of the tables the API can change, as text.
pub fn dump(app: &TestApp) -> Vec<String> {
    let c = db(app);
    let tables = [
        "email_proposals",
        "activity_feed",
        "audit_log",
        "email_investor_links",
        "directory_users",
        "directory_investors",
        "directory_investor_domains",
        "directory_contacts",
        "directory_exclusions",
    ];
    let mut out = Vec::new();
    for t in tables {
        let mut s = c
            .prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2"))
            .unwrap();
        let n = s.column_count();
        let rows = s
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        out.extend(rows.map(|r| format!("{t}: {}", r.unwrap())));
    }
    out
}

/// Checks an error answer: status (when given), the SPEC error shape with
/// a message; returns the message.
pub async fn assert_error(
    resp: reqwest::Response,
    want: impl Into<Option<StatusCode>>,
    ctx: &str,
) -> String {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if let Some(w) = want.into() {
        assert_eq!(status, w, "{ctx}: {body}");
    }
    assert!(status.is_client_error(), "{ctx}: {status}");
    let msg = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        body["error"]["code"].is_string() && !msg.is_empty(),
        "{ctx}: {body}"
    );
    msg
}
