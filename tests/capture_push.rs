//! Push end to end: the daemon's HTTP server and capture worker against
//! fake Google. A verified Pub/Sub notice becomes a stored, matched email;
//! bad tokens and bodies are refused with their reasons; an unknown mailbox
//! is acknowledged and ignored; watches are registered at start and on an
//! admin's request.

mod support;

use std::time::Duration;

use email_sidecar::store::{Directory, DirectoryUser, UserRole};
use serde_json::Value;
use support::app::{acme_directory, spawn_app, AppOptions, TestApp, TEST_API_TOKEN};
use tokio_util::sync::CancellationToken;

const ALICE: &str = "alice@fund.test";
const AUDIENCE: &str = "https://sidecar.fund.test/api/email/push";

struct Running {
    app: TestApp,
    base: String,
    stop: CancellationToken,
    http: reqwest::Client,
}

async fn start() -> Running {
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        enabled: true,
        env: vec![
            ("CRM_GMAIL_PUBSUB_AUDIENCE".into(), AUDIENCE.into()),
            (
                "CRM_GMAIL_PUBSUB_TOPIC".into(),
                "projects/fund/topics/gmail".into(),
            ),
        ],
        ..AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&Directory {
            users: vec![DirectoryUser {
                id: "u1".into(),
                email: ALICE.into(),
                name: "Alice".into(),
                role: UserRole::Admin,
                active: true,
            }],
            ..acme_directory()
        })
        .unwrap();
    let (base, stop) = app.serve_daemon().await;
    let r = Running {
        app,
        base,
        stop,
        http: reqwest::Client::new(),
    };
    let id = r.app.account_id(ALICE);
    // Done and its sync over: the sync that finishes a backfill goes on to
    // read history, and mail delivered in between would be taken by it.
    let db = rusqlite::Connection::open(r.app.db_path()).unwrap();
    let running = move || -> i64 {
        db.query_row(
            "SELECT count(*) FROM email_sync_runs WHERE status = 'running'",
            [],
            |row| row.get(0),
        )
        .unwrap()
    };
    wait_for(
        || r.app.store.account(id).unwrap().backfill_done && running() == 0,
        "initial backfill",
    )
    .await;
    r
}

async fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

impl Running {
    async fn push(&self, token: Option<String>, body: String) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/email/push", self.base))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    fn emails(&self) -> Vec<String> {
        let c = rusqlite::Connection::open(self.app.db_path()).unwrap();
        let mut s = c
            .prepare("SELECT message_id || ' ' || has_body FROM emails ORDER BY id")
            .unwrap();
        let rows = s.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }
}

fn mail(id: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: Jo <jo@acme.vc>\r\nTo: {ALICE}\r\nSubject: News {id}\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\nFresh news.\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_verified_push_gets_the_new_mail_stored_and_matched_within_seconds() {
    let r = start().await;
    assert!(
        r.app
            .store
            .account(r.app.account_id(ALICE))
            .unwrap()
            .watch_expiration
            .is_some(),
        "watch registered at start"
    );
    r.app.fake.deliver(ALICE, &mail("p1@acme.vc"), &["INBOX"]);
    let hid = r.app.fake.history_id(ALICE).0;
    let token = r.app.fake.mint_push_token(AUDIENCE);
    let (status, body) = r
        .push(
            Some(token),
            email_sidecar::fake_google::FakeGoogle::push_body(ALICE, hid, true),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    wait_for(
        || r.emails() == ["p1@acme.vc 1"],
        "the pushed email with its body",
    )
    .await;
    r.stop.cancel();
}

#[tokio::test]
async fn bad_pushes_are_refused_with_their_reason_and_unknown_mailboxes_ignored() {
    let r = start().await;
    let body = |who: &str| email_sidecar::fake_google::FakeGoogle::push_body(who, 99, false);
    let (s, b) = r.push(None, body(ALICE)).await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = r
        .push(
            Some(r.app.fake.mint_push_token("https://elsewhere.example/push")),
            body(ALICE),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = r
        .push(
            Some(r.app.fake.mint_push_token_unknown_key(AUDIENCE)),
            body(ALICE),
        )
        .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = r
        .push(
            Some(r.app.fake.mint_push_token(AUDIENCE)),
            "{\"message\":{}}".into(),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("data"),
        "{b}"
    );
    let (s, b) = r
        .push(
            Some(r.app.fake.mint_push_token(AUDIENCE)),
            body("stranger@else.example"),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ignored")), "{b}");
    r.stop.cancel();
}

#[tokio::test]
async fn an_admin_can_reregister_watches_and_others_cannot() {
    let r = start().await;
    let url = format!("{}/api/email/watch", r.base);
    let resp = r
        .http
        .post(&url)
        .bearer_auth(TEST_API_TOKEN)
        .header("X-CRM-User", "nobody@fund.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = r
        .http
        .post(&url)
        .bearer_auth("wrong")
        .header("X-CRM-User", ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let before = r
        .app
        .fake
        .counters()
        .calls
        .get("users.watch")
        .copied()
        .unwrap_or(0);
    let resp = r
        .http
        .post(&url)
        .bearer_auth(TEST_API_TOKEN)
        .header("X-CRM-User", ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["registered"], 1);
    let after = r
        .app
        .fake
        .counters()
        .calls
        .get("users.watch")
        .copied()
        .unwrap_or(0);
    assert_eq!(after, before + 1);
    r.stop.cancel();
}

#[tokio::test]
async fn status_tells_backlog_lag_and_watch_truthfully_to_admins_and_the_crm() {
    let r = start().await;
    r.app.fake.deliver(ALICE, &mail("s1@acme.vc"), &["INBOX"]);
    let url = format!("{}/api/email/status", r.base);
    let resp = r.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = r
        .http
        .get(&url)
        .bearer_auth(TEST_API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["enabled"], true);
    let a = &body["accounts"][0];
    assert_eq!(a["email"], ALICE);
    assert_eq!(a["backfill_done"], true);
    assert_eq!(
        a["messages"], 0,
        "the new mail is not captured until a sync: status must not pretend"
    );
    assert_eq!(a["pending"], 0);
    assert_eq!(a["watch_lapsed"], false);
    assert!(a["lag_seconds"].as_i64().unwrap() >= 0);
    let cursor: u64 = a["history_id"].as_str().unwrap().parse().unwrap();
    assert!(
        cursor < r.app.fake.history_id(ALICE).0,
        "the cursor is behind the new mail"
    );
    r.stop.cancel();
}
