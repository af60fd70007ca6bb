//! The operator side of the API over real HTTP against fake Google:
//! mailboxes (list, enroll, enroll-all, pause/resume) with their audit
//! rows, sync/run-now and rematch, the SSE stream (sync progress, bus
//! events, lag), Prometheus metrics checked against fake Google's own
//! counters, and the HTTP limits and error shapes of the middleware.

mod support;

#[path = "api_ops/limits.rs"]
mod limits;
#[path = "api_ops/metrics.rs"]
mod metrics;
#[path = "api_ops/stream.rs"]
mod stream;

use std::collections::BTreeMap;
use std::time::Duration;

use email_sidecar::capture::SyncMode;
use email_sidecar::events::Event;
use email_sidecar::fake_google::FaultKind;
use email_sidecar::store::{AccountStatus, Directory, DirectoryInvestor, DirectoryUser, UserRole};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::api::{directory_with_users, As, ADMIN, MEMBER};
use support::app::{spawn_app, AppOptions, TestApp};

const ALICE: &str = "alice@fund.test";
const BOB: &str = "bob@fund.test";

fn mail(id: &str, from: &str, to: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: About {id}\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello about {id}.\r\n"
    )
    .into_bytes()
}

async fn app(mailboxes: &[&str]) -> TestApp {
    let app = spawn_app(AppOptions {
        mailboxes: mailboxes.iter().map(|s| s.to_string()).collect(),
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    app
}

async fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    for _ in 0..800 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Every enrolled active mailbox finished a complete sync.
fn all_synced(app: &TestApp) -> bool {
    let s = app.store.mailbox_statuses().unwrap();
    s.iter()
        .all(|m| m.status != "active" || (m.backfill_done && m.last_success_at.is_some()))
}

fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let mut rows: Vec<_> = app
        .store
        .recent_audit(200)
        .unwrap()
        .into_iter()
        .map(|a| (a.action, a.actor, a.target))
        .collect();
    rows.reverse();
    rows
}

#[tokio::test]
async fn admins_list_enroll_pause_and_resume_mailboxes_and_each_change_is_audited() {
    let app = app(&[ALICE, BOB]).await;
    for m in ["dan@fund.test", "bot@fund.test", "carol@fund.test"] {
        app.fake.add_user(m);
    }
    let mut dir = directory_with_users();
    let user = |id: &str, email: &str| DirectoryUser {
        id: id.into(),
        email: email.into(),
        name: id.into(),
        role: UserRole::Member,
        active: true,
    };
    dir.users.push(user("u-dan", "dan@fund.test"));
    dir.users.push(user("u-ext", "ext@other.example"));
    app.store.replace_directory(&dir).unwrap();
    let (api, stop) = app.serve_api().await;

    let (s, body) = api.get("/api/email/accounts", As::User(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let emails: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [ALICE, BOB]);
    let first = &body["items"][0];
    assert_eq!(first["id"], app.account_id(ALICE).to_string());
    assert_eq!(first["auth_method"], "dwd");
    for key in [
        "status",
        "backfill_done",
        "messages",
        "last_sync_at",
        "last_error",
    ] {
        assert!(first.get(key).is_some(), "{key} missing from {first}");
    }

    let (s, body) = api
        .post(
            "/api/email/accounts/enroll",
            As::User(ADMIN),
            &json!({"email": " Dan@Fund.TEST "}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let dan = app.account_id("dan@fund.test");
    assert_eq!(
        body,
        json!({"id": dan.to_string(), "email": "dan@fund.test", "status": "active", "created": true, "reactivated": false})
    );
    assert_eq!(
        app.store.account(dan).unwrap().crm_user_id.as_deref(),
        Some("u-dan")
    );
    let (s, body) = api
        .post(
            "/api/email/accounts/enroll",
            As::User(ADMIN),
            &json!({"email": "dan@fund.test"}),
        )
        .await;
    assert_eq!(
        (s, body["created"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );

    for (email, code) in [
        ("x@gmail.com", "not_our_domain"),
        ("not an address", "invalid_email"),
    ] {
        let (s, body) = api
            .post(
                "/api/email/accounts/enroll",
                As::User(ADMIN),
                &json!({"email": email}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{email}: {body}");
        assert_eq!(body["error"]["code"], code);
    }
    assert_eq!(
        app.store.list_accounts().unwrap().len(),
        3,
        "refused enrolments add nothing"
    );

    // A mailbox in error comes back when enrolled again.
    let bob = app.account_id(BOB);
    wait_for(|| all_synced(&app), "first syncs").await;
    app.store
        .set_account_status(bob, AccountStatus::Error, Some("invalid_grant"))
        .unwrap();
    let (s, body) = api
        .post(
            "/api/email/accounts/enroll",
            As::User(ADMIN),
            &json!({"email": BOB}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["reactivated"].as_bool()),
        (Some("active"), Some(true))
    );
    assert_eq!(app.store.account(bob).unwrap().last_error, None);

    // enroll-all: active users in our domain; ext@other.example skipped,
    // the inactive old@ not considered.
    let (s, body) = api
        .post(
            "/api/email/accounts/enroll-all",
            As::User(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["users"].clone(),
            body["enrolled"].clone(),
            body["already"].clone(),
            body["skipped"].clone()
        ),
        (json!(5), json!(1), json!(3), json!(1)),
        "{body}"
    );
    let mut enrolled: Vec<String> = app
        .store
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.email)
        .collect();
    enrolled.sort();
    assert_eq!(enrolled, [ALICE, BOB, "bot@fund.test", "dan@fund.test"]);

    // Pause: the account says so and capture skips it; resume undoes it.
    let path = format!("/api/email/accounts/{bob}");
    let (s, body) = api
        .call(
            Method::PATCH,
            &path,
            As::User(ADMIN),
            Some(&json!({"status": "paused"})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("paused")),
        "{body}"
    );
    assert_eq!(
        app.store.account(bob).unwrap().status,
        AccountStatus::Paused
    );
    assert!(
        app.capture
            .sync_account(bob, SyncMode::Auto)
            .await
            .unwrap()
            .skipped
    );
    let (s, body) = api
        .post(
            "/api/email/sync/run-now",
            As::User(ADMIN),
            &json!({"account": BOB}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_active"))
    );
    let (s, body) = api
        .call(
            Method::PATCH,
            &path,
            As::User(ADMIN),
            Some(&json!({"status": "revoked"})),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_status"))
    );
    for bad in ["/api/email/accounts/99999", "/api/email/accounts/..%2Fetc"] {
        let (s, _) = api
            .call(
                Method::PATCH,
                bad,
                As::User(ADMIN),
                Some(&json!({"status": "paused"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
    let (s, body) = api
        .call(
            Method::PATCH,
            &path,
            As::User(ADMIN),
            Some(&json!({"status": "active"})),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{body}"
    );
    assert_eq!(
        app.store.account(bob).unwrap().status,
        AccountStatus::Active
    );

    let want: Vec<(String, String, Option<String>)> = [
        ("account.enroll", Some("dan@fund.test")),
        ("account.reactivate", Some(BOB)),
        ("account.enroll", Some("bot@fund.test")),
        ("account.enroll_all", None),
        ("account.pause", Some(BOB)),
        ("account.resume", Some(BOB)),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_string(), ADMIN.to_string(), t.map(String::from)))
    .collect();
    assert_eq!(audit_actions(&app), want);
    stop.cancel();
}

#[tokio::test]
async fn rematch_links_past_email_to_a_new_investor_and_answers_the_report() {
    let app = app(&[ALICE]).await;
    app.fake.deliver(
        ALICE,
        &mail("n1@newco.vc", "Ann <ann@newco.vc>", ALICE),
        &["INBOX"],
    );
    app.fake.deliver(
        ALICE,
        &mail("n2@newco.vc", "Ann <ann@newco.vc>", ALICE),
        &["INBOX"],
    );
    let (api, stop) = app.serve_api().await;
    wait_for(|| all_synced(&app), "the initial backfill").await;
    assert_eq!(app.store.ops_counts().unwrap().matched, 0);

    let mut dir: Directory = directory_with_users();
    dir.investors.push(DirectoryInvestor {
        id: "newco".into(),
        name: "NewCo".into(),
        domains: vec!["newco.vc".into()],
        graveyard: false,
    });
    app.store.replace_directory(&dir).unwrap();
    let (s, body) = api
        .post("/api/email/rematch", As::User(ADMIN), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (body["changed"].clone(), body["new_links"].clone()),
        (json!(2), json!(2)),
        "{body}"
    );
    assert_eq!(app.store.ops_counts().unwrap().matched, 2);
    let last = audit_actions(&app).pop().unwrap();
    assert_eq!((last.0.as_str(), last.1.as_str()), ("rematch", ADMIN));
    stop.cancel();
}
