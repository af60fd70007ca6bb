//! The operator side of the API over real HTTP against fake Google:
//! mailboxes (list, enroll, enroll-all, pause/resume) with their audit
//! rows, sync/run-now and rematch, the SSE stream (sync progress, bus
//! events, lag), Prometheus metrics checked against fake Google's own
//! counters, and the HTTP limits and error shapes of the middleware.

mod support;

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

/// Reads SSE frames off `resp` until `done` says so (or 30 s pass).
async fn read_events(
    resp: &mut reqwest::Response,
    mut done: impl FnMut(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no more events; got {events:?}"))
            .unwrap()
            .expect("stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut kind, mut data) = (String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    kind = v.to_string();
                } else if let Some(v) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(v);
                }
            }
            if !kind.is_empty() {
                events.push((kind, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn run_now_syncs_a_mailbox_and_the_stream_carries_its_progress_and_bus_events() {
    let app = app(&[ALICE]).await;
    app.fake.deliver(
        ALICE,
        &mail("m1@acme.vc", "Jo <jo@acme.vc>", ALICE),
        &["INBOX"],
    );
    let (api, stop) = app.serve_api().await;
    wait_for(|| all_synced(&app), "the initial backfill").await;

    let mut resp = api
        .request(Method::GET, "/api/email/stream", As::User(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");

    app.fake.deliver(
        ALICE,
        &mail("m2@acme.vc", "Jo <jo@acme.vc>", ALICE),
        &["INBOX"],
    );
    let (s, body) = api
        .post(
            "/api/email/sync/run-now",
            As::User(ADMIN),
            &json!({"account": ALICE, "mode": "incremental"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body,
        json!({"status": "queued", "mode": "incremental", "accounts": [ALICE]})
    );
    let alice = app.account_id(ALICE).to_string();
    // The run-now run: from its start (phase = its kind) to its end; the
    // initial backfill's last events may come before it.
    let run_of = |ev: &[(String, Value)]| -> Option<Vec<Value>> {
        let progress: Vec<&Value> = ev
            .iter()
            .filter(|(k, _)| k == "sync_progress")
            .map(|(_, d)| d)
            .collect();
        let start = progress.iter().position(|d| d["phase"] == "incremental")?;
        let end = start
            + progress[start..]
                .iter()
                .position(|d| d["phase"] == "done")?;
        Some(progress[start..=end].iter().map(|d| (*d).clone()).collect())
    };
    let events = read_events(&mut resp, |ev| run_of(ev).is_some()).await;
    let run = run_of(&events).unwrap();
    let done = run.last().unwrap();
    assert_eq!(done["account_id"], alice);
    assert_eq!(done["email"], ALICE);
    assert_eq!(done["saved"], 1, "one new message stored: {run:?}");
    assert_eq!(done["pending"], 0);
    assert!(run.len() >= 3, "start, fetch rounds, end: {run:?}");
    assert!(
        run[1..run.len() - 1]
            .iter()
            .all(|d| d["phase"] == "fetching"),
        "{run:?}"
    );
    let live = app.store.live_gmail_ids(app.account_id(ALICE)).unwrap();
    assert_eq!(live.len(), 2, "the run-now sync captured the new mail");

    app.store.events().publish(Event::ProposalDecided {
        id: "41".into(),
        status: "approved".into(),
        decided_by: ADMIN.into(),
    });
    let events = read_events(&mut resp, |ev| {
        ev.iter().any(|(k, _)| k == "proposal_decided")
    })
    .await;
    let decided = events
        .iter()
        .find(|(k, _)| k == "proposal_decided")
        .unwrap();
    assert_eq!(
        decided.1,
        json!({"type": "proposal_decided", "id": "41", "status": "approved", "decided_by": ADMIN})
    );

    for (body, status) in [
        (
            json!({"account": "nobody@fund.test"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"mode": "sideways"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, b) = api
            .post("/api/email/sync/run-now", As::User(ADMIN), &body)
            .await;
        assert_eq!(s, status, "{body}: {b}");
        assert!(b["error"]["message"].is_string());
    }
    let (s, body) = api
        .post(
            "/api/email/sync/run-now",
            As::User(ADMIN),
            &json!({"mode": "full"}),
        )
        .await;
    assert_eq!(
        (s, body["accounts"].clone()),
        (StatusCode::ACCEPTED, json!([ALICE])),
        "{body}"
    );
    let runs: Vec<_> = audit_actions(&app)
        .into_iter()
        .filter(|a| a.0 == "sync.run_now")
        .collect();
    assert_eq!(
        runs,
        [
            (
                "sync.run_now".to_string(),
                ADMIN.to_string(),
                Some(ALICE.to_string())
            ),
            (
                "sync.run_now".to_string(),
                ADMIN.to_string(),
                Some("all".to_string())
            ),
        ]
    );
    stop.cancel();
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_subscriber_that_falls_behind_is_told_how_much_it_missed() {
    let app = app(&[ALICE]).await;
    let (api, stop) = app.serve_api().await;
    let mut resp = api
        .request(Method::GET, "/api/email/stream", As::User(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // On this one thread the stream cannot run while we publish: the bus
    // (1024 events) overflows.
    for i in 0..3000 {
        app.store.events().publish(Event::DraftCreated {
            id: i.to_string(),
            email_id: "1".into(),
        });
    }
    let events = read_events(&mut resp, |ev| ev.iter().any(|(k, _)| k == "lagged")).await;
    let lagged = events.iter().find(|(k, _)| k == "lagged").unwrap();
    assert!(lagged.1["missed"].as_u64().unwrap() >= 1000, "{lagged:?}");
    let events = read_events(&mut resp, |ev| {
        ev.iter()
            .any(|(k, d)| k == "draft_created" && d["id"] == "2999")
    })
    .await;
    assert!(!events.is_empty());
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

/// `name{labels} value` lines of `family` as label-set → value.
fn samples(text: &str, family: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (name, labels) = key
                .split_once('{')
                .map_or((key, ""), |(n, rest)| (n, rest.trim_end_matches('}')));
            (name == family).then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_gmail_calls_and_429s_exactly_as_fake_google_saw_them() {
    let app = app(&[ALICE, BOB]).await;
    for i in 0..3 {
        app.fake.deliver(
            ALICE,
            &mail(&format!("a{i}@acme.vc"), "Jo <jo@acme.vc>", ALICE),
            &["INBOX"],
        );
    }
    app.fake.deliver(
        BOB,
        &mail("b1@else.example", "Zed <zed@else.example>", BOB),
        &["INBOX"],
    );
    app.fake.deliver(
        BOB,
        &mail("b2@else.example", "Zed <zed@else.example>", BOB),
        &["INBOX"],
    );
    app.fake
        .fail_next("users.messages.list", 2, FaultKind::RateLimit429);
    app.fake
        .fail_next("users.messages.get", 2, FaultKind::RateLimit429);
    let (api, stop) = app.serve_api().await;
    wait_for(|| all_synced(&app), "both backfills").await;
    let (s, _) = api.get("/api/email/status", As::Service).await;
    assert_eq!(s, StatusCode::OK);

    let resp = api
        .request(Method::GET, "/api/email/metrics", As::Service)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().await.unwrap();

    let fake = app.fake.counters();
    let theirs: BTreeMap<String, f64> = fake
        .calls
        .iter()
        .filter(|(m, _)| m.as_str() != "token")
        .map(|(m, n)| (format!("method=\"{m}\""), *n as f64))
        .collect();
    assert!(theirs.contains_key("method=\"batch\""), "{theirs:?}");
    assert_eq!(
        samples(&text, "email_sidecar_gmail_calls_total"),
        theirs,
        "{text}"
    );
    let want_429: BTreeMap<String, f64> = [
        ("method=\"users.messages.get\"".to_string(), 2.0),
        ("method=\"users.messages.list\"".to_string(), 2.0),
    ]
    .into();
    assert_eq!(
        samples(&text, "email_sidecar_gmail_429_total"),
        want_429,
        "{text}"
    );
    assert_eq!(fake.injected_faults, 4);

    assert_eq!(samples(&text, "email_sidecar_emails_captured")[""], 5.0);
    assert_eq!(samples(&text, "email_sidecar_emails_matched")[""], 3.0);
    let proposals = samples(&text, "email_sidecar_proposals");
    assert_eq!(
        proposals.keys().collect::<Vec<_>>(),
        [
            "status=\"approved\"",
            "status=\"pending\"",
            "status=\"rejected\""
        ]
    );
    let lag = samples(&text, "email_sidecar_sync_lag_seconds");
    assert_eq!(lag.len(), 2, "{text}");
    assert!(lag.values().all(|s| (0.0..120.0).contains(s)), "{lag:?}");
    let status = samples(&text, "email_sidecar_http_request_duration_seconds_count");
    assert_eq!(
        status.get("route=\"/api/email/status\",method=\"GET\",status=\"200\""),
        Some(&1.0),
        "{status:?}"
    );
    stop.cancel();
}

#[tokio::test]
async fn limits_request_ids_and_middleware_errors_answer_in_the_spec_shape() {
    let app = app(&[ALICE]).await;
    let (api, stop) = app.serve_api().await;
    let big = "x".repeat(email_sidecar::http::BODY_LIMIT + 10);
    for path in ["/api/email/accounts/enroll", "/api/email/push"] {
        let resp = api
            .request(Method::POST, path, As::User(ADMIN))
            .header("content-type", "application/json")
            .body(format!("{{\"email\": \"{big}\"}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{path}: {body}");
    }
    let long = "q=".to_string() + &"a".repeat(email_sidecar::http::QUERY_LIMIT + 1);
    for (path, who) in [
        ("/api/email/accounts", As::User(ADMIN)),
        ("/api/email/accounts", As::NoToken),
        ("/api/email/nowhere", As::NoToken),
    ] {
        let (s, body) = api.get(&format!("{path}?{long}"), who).await;
        assert_eq!(s, StatusCode::URI_TOO_LONG, "{path}");
        assert_eq!(body["error"]["code"], "query_too_long");
    }
    let (s, _) = api
        .get(
            &format!("/api/email/accounts?q={}", "a".repeat(2000)),
            As::User(ADMIN),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a query under the limit passes");

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .header("content-type", "application/json")
                .body("{\"email\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .body("email=x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            api.request(Method::POST, "/api/email/accounts/enroll", As::User(ADMIN))
                .json(&json!({"email": 7})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            api.request(Method::GET, "/api/email/nowhere", As::User(ADMIN)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            api.request(Method::DELETE, "/api/email/accounts", As::User(ADMIN)),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            api.request(Method::GET, "/api/email/accounts", As::User(MEMBER)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (rb, status, code) in cases {
        let resp = rb.send().await.unwrap();
        assert_eq!(resp.status(), status, "{code}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(
        app.store.list_accounts().unwrap().len(),
        1,
        "bad input changed nothing"
    );

    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let resp = api
        .request(Method::GET, "/api/email/health", As::NoToken)
        .header("x-request-id", "crm-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&resp).as_deref(), Some("crm-42.a"));
    let long_id = "x".repeat(300);
    for given in [None, Some("bad id"), Some(long_id.as_str())] {
        let mut rb = api.request(Method::GET, "/api/email/health", As::NoToken);
        if let Some(g) = given {
            rb = rb.header("x-request-id", g);
        }
        let id = id_of(&rb.send().await.unwrap()).unwrap();
        assert_eq!(id.len(), 36, "a fresh UUID for {given:?}: {id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
    }

    // Invented methods and unknown paths share labels: no unbounded series.
    let brew = Method::from_bytes(b"BREW").unwrap();
    let (s, _) = api
        .call(brew, "/api/email/coffee/42", As::NoToken, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let text = api.metrics().await;
    let counts = samples(&text, "email_sidecar_http_request_duration_seconds_count");
    assert_eq!(
        counts.get("route=\"unmatched\",method=\"OTHER\",status=\"404\""),
        Some(&1.0),
        "{counts:?}"
    );
    assert!(!text.contains("BREW") && !text.contains("coffee"));
    stop.cancel();
}

async fn body_len(
    email_sidecar::http::extract::ApiJson(v): email_sidecar::http::extract::ApiJson<Value>,
) -> axum::Json<Value> {
    axum::Json(json!({"len": v.to_string().len()}))
}

#[tokio::test]
async fn a_route_may_raise_its_body_limit_and_the_others_keep_the_default() {
    use email_sidecar::http::routes::{Access, RouteDef};
    let app = app(&[ALICE]).await;
    let state = email_sidecar::http::AppState::new(
        app.store.clone(),
        std::sync::Arc::new(app.config.clone()),
        app.clock.clone(),
    );
    let route = |path: &'static str| {
        RouteDef::new(
            Method::POST,
            path,
            Access::Public,
            axum::routing::post(body_len),
        )
    };
    let defs = vec![
        route("/api/email/big").body_limit(4 * 1024 * 1024),
        route("/api/email/small"),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = email_sidecar::http::router_for(state, defs);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let post = |path: &str, mib: usize| {
        let body = json!({"x": "y".repeat(mib * 1024 * 1024)});
        client.post(format!("{base}{path}")).json(&body).send()
    };
    let resp = post("/api/email/big", 2).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(body["len"].as_u64().unwrap() > 2 * 1024 * 1024);
    for (path, mib) in [("/api/email/big", 5), ("/api/email/small", 2)] {
        let resp = post(path, mib).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large");
    }
    server.abort();
}
