//! POST /api/email/drafts through HTTP against fake Google, checking the
//! drafts Gmail actually holds (raw bytes parsed back), the rows and the
//! counters: recipient sets for reply and reply-all on inbound and outbound
//! email, threading headers and thread ids, idempotency keys, CR/LF
//! refusal, who may draft where, Gmail failures — and never a send.

mod support;

use std::collections::BTreeSet;

use email_sidecar::capture::SyncMode;
use email_sidecar::events::Event;
use email_sidecar::fake_google::FaultKind;
use mail_parser::{Address, MessageParser};
use reqwest::{Method, StatusCode};
use rusqlite::Connection;
use serde_json::{json, Value};
use support::api::{directory_with_users, Api, As, ADMIN, BOT, MEMBER};
use support::app::{spawn_app, AppOptions, TestApp};
use tokio_util::sync::CancellationToken;

const ALICE: &str = "alice@fund.test";
const BOB: &str = "bob@fund.test";
const CAROL: &str = "carol@fund.test";

/// Inbound to alice and bob: a reply in an existing thread, with a
/// teammate in To, one in Cc, a case-variant duplicate and a Bcc.
const INBOUND: &str = "Message-ID: <in-1@acme.vc>\r\n\
From: Jo Investor <jo@acme.vc>\r\n\
To: alice@fund.test, pat@acme.vc, Bob <bob@fund.test>\r\n\
Cc: carol@fund.test, Sam <sam@partner.example>, PAT@acme.vc\r\n\
Bcc: hidden@acme.vc\r\n\
Subject: RE: Re: Series A\r\n\
In-Reply-To: <mid@acme.vc>\r\n\
References: <root@acme.vc> <mid@acme.vc>\r\n\
Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Numbers attached.\r\n";

/// Outbound from alice (her Sent copy keeps the Bcc).
const OUTBOUND: &str = "Message-ID: <out-1@fund.test>\r\n\
From: Alice <alice@fund.test>\r\n\
To: jo@acme.vc, carol@fund.test\r\n\
Cc: lee@acme.vc, bob@fund.test, ALICE@fund.test\r\n\
Bcc: secret@acme.vc\r\n\
Subject: Update\r\n\
Date: Tue, 03 Nov 2026 11:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Our update.\r\n";

struct World {
    app: TestApp,
    api: Api,
    stop: CancellationToken,
    inbound: String,
    outbound: String,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn world() -> World {
    let app = spawn_app(AppOptions {
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    app.fake.deliver(ALICE, INBOUND.as_bytes(), &["INBOX"]);
    app.fake.deliver(BOB, INBOUND.as_bytes(), &["INBOX"]);
    app.fake.deliver(ALICE, OUTBOUND.as_bytes(), &["SENT"]);
    app.capture.sync_all(SyncMode::Auto).await.unwrap();
    let inbound = email_id(&app, "in-1@acme.vc");
    let outbound = email_id(&app, "out-1@fund.test");
    let (api, stop) = serve_without_worker(&app).await;
    World {
        app,
        api,
        stop,
        inbound,
        outbound,
    }
}

/// The daemon's HTTP side without its capture worker: the only syncs are
/// the ones a test runs, so none races them.
async fn serve_without_worker(app: &TestApp) -> (Api, CancellationToken) {
    let daemon = email_sidecar::daemon::Daemon::build(
        app.config.clone(),
        app.store.clone(),
        app.clock.clone(),
    )
    .unwrap();
    let (base, stop) = support::app::serve_state(daemon.state.clone()).await;
    (Api::new(base), stop)
}

fn db(app: &TestApp) -> Connection {
    Connection::open(app.db_path()).unwrap()
}

fn email_id(app: &TestApp, message_id: &str) -> String {
    db(app)
        .query_row(
            "SELECT id FROM emails WHERE message_id = ?1",
            [message_id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        .to_string()
}

fn thread_of(app: &TestApp, mailbox: &str, email_id: &str) -> String {
    db(app)
        .query_row(
            "SELECT s.gmail_thread_id FROM email_account_messages s \
             JOIN email_accounts a ON a.id = s.account_id WHERE a.email = ?1 AND s.email_id = ?2",
            rusqlite::params![mailbox, email_id.parse::<i64>().unwrap()],
            |r| r.get(0),
        )
        .unwrap()
}

fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).query_row(sql, [], |r| r.get(0)).unwrap()
}

async fn draft(api: &Api, who: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut rb = api.request(Method::POST, "/api/email/drafts", As::User(who));
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    let resp = rb.json(body).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn addresses(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The raw bytes of the newest Gmail draft in `mailbox`.
fn newest_raw(app: &TestApp, mailbox: &str) -> Vec<u8> {
    use base64::Engine;
    let drafts = app.fake.drafts(mailbox);
    let raw = drafts.last().unwrap().raw.clone().unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .unwrap()
}

fn header_addresses(a: Option<&Address<'_>>) -> BTreeSet<String> {
    a.map(|a| {
        a.iter()
            .map(|x| x.address().unwrap().to_ascii_lowercase())
            .collect()
    })
    .unwrap_or_default()
}

fn assert_no_send(app: &TestApp) {
    let c = app.fake.counters();
    assert_eq!(c.calls.get("users.messages.send").copied().unwrap_or(0), 0);
    for m in [ALICE, BOB, CAROL] {
        assert!(app.fake.sent(m).is_empty(), "{m} sent something");
    }
}

/// (caller, email, account, reply_all, expected To, expected Cc)
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    bool,
    &'a [&'a str],
    &'a [&'a str],
);

#[tokio::test]
async fn reply_and_reply_all_address_the_right_people_and_never_a_bcc() {
    let w = world().await;
    let (inb, out) = (w.inbound.as_str(), w.outbound.as_str());
    let table: [Case; 6] = [
        (ADMIN, inb, None, false, &["jo@acme.vc"], &[]),
        (
            ADMIN,
            inb,
            None,
            true,
            &["jo@acme.vc", "pat@acme.vc"],
            &["sam@partner.example"],
        ),
        (
            ADMIN,
            out,
            None,
            false,
            &["jo@acme.vc", "carol@fund.test"],
            &[],
        ),
        (
            ADMIN,
            out,
            None,
            true,
            &["jo@acme.vc", "carol@fund.test"],
            &["lee@acme.vc"],
        ),
        (
            MEMBER,
            inb,
            None,
            true,
            &["jo@acme.vc", "pat@acme.vc"],
            &["sam@partner.example"],
        ),
        (BOT, inb, Some(BOB), false, &["jo@acme.vc"], &[]),
    ];
    for (i, (who, email, account, all, to, cc)) in table.into_iter().enumerate() {
        let mut body = json!({"email_id": email, "body": format!("reply {i}"), "reply_all": all});
        if let Some(a) = account {
            body["account"] = json!(a);
        }
        let (status, got) = draft(&w.api, who, None, &body).await;
        assert_eq!(status, StatusCode::CREATED, "case {i}: {got}");
        assert_eq!(addresses(&got["to"]), set(to), "case {i} To");
        assert_eq!(addresses(&got["cc"]), set(cc), "case {i} Cc");
        let mailbox = got["account"].as_str().unwrap().to_string();
        let expected_box = if who == MEMBER || account.is_some() {
            BOB
        } else {
            ALICE
        };
        assert_eq!(mailbox, expected_box, "case {i}");
        let raw = newest_raw(&w.app, &mailbox);
        let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        assert!(!text.contains("bcc:"), "case {i}: a Bcc header in\n{text}");
        assert!(
            !text.contains("hidden@") && !text.contains("secret@"),
            "case {i}"
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(header_addresses(parsed.to()), set(to), "case {i} raw To");
        assert_eq!(header_addresses(parsed.cc()), set(cc), "case {i} raw Cc");
        assert_eq!(
            header_addresses(parsed.from()),
            set(&[&mailbox]),
            "case {i}"
        );
    }
    assert_eq!(w.app.fake.drafts(ALICE).len(), 4);
    assert_eq!(w.app.fake.drafts(BOB).len(), 2);
    assert_eq!(
        count(
            &w.app,
            "SELECT count(*) FROM email_drafts WHERE status = 'created'"
        ),
        6
    );
    assert_no_send(&w.app);
}

#[tokio::test]
async fn a_draft_carries_the_threading_headers_and_lands_in_the_emails_gmail_thread() {
    let w = world().await;
    let text = "Thanks Jo,\nsee you Tuesday.\n\n— Alice";
    let body = json!({"email_id": w.inbound, "body": text, "reply_all": false});
    let mut events = w.app.store.events().subscribe();
    let (status, got) = draft(&w.api, ADMIN, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let mut announced = None;
    while let Ok(e) = events.try_recv() {
        if let Event::DraftCreated { id, email_id } = e {
            announced = Some((id, email_id));
        }
    }
    let want = (got["id"].as_str().unwrap().to_string(), w.inbound.clone());
    assert_eq!(announced, Some(want));
    let thread = thread_of(&w.app, ALICE, &w.inbound);
    assert_eq!(got["thread_id"], json!(thread));
    assert_eq!(got["subject"], "Re: Series A");
    let drafts = w.app.fake.drafts(ALICE);
    assert_eq!(drafts.len(), 1);
    assert_eq!(
        drafts[0].thread_id, thread,
        "Gmail put the draft in another thread"
    );
    assert!(drafts[0].label_ids.contains(&"DRAFT".to_string()));
    let raw = newest_raw(&w.app, ALICE);
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.subject(), Some("Re: Series A"));
    assert_eq!(parsed.in_reply_to().as_text(), Some("in-1@acme.vc"));
    let refs: Vec<String> = parsed
        .references()
        .as_text_list()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, ["root@acme.vc", "mid@acme.vc", "in-1@acme.vc"]);
    let sent_text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert_eq!(sent_text.trim_end(), text);
    // The row, its audit entry, and the id answered.
    let conn = db(&w.app);
    let (status, gid, by): (String, String, String) = conn
        .query_row(
            "SELECT status, gmail_draft_id, created_by FROM email_drafts WHERE id = ?1",
            [got["id"].as_str().unwrap().parse::<i64>().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), by.as_str()), ("created", ADMIN));
    assert_eq!(got["gmail_draft_id"], json!(gid));
    let audited: (String, String) = conn
        .query_row(
            "SELECT actor, target FROM audit_log WHERE action = 'draft.create'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        audited,
        (ADMIN.to_string(), got["id"].as_str().unwrap().to_string())
    );
    assert_no_send(&w.app);
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_draft_and_a_different_request_a_conflict() {
    let w = world().await;
    let body = json!({"email_id": w.inbound, "body": "Once only", "reply_all": true});
    let (s1, first) = draft(&w.api, ADMIN, Some("key-1"), &body).await;
    let (s2, second) = draft(&w.api, ADMIN, Some("key-1"), &body).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::CREATED, StatusCode::OK),
        "{first} {second}"
    );
    assert_eq!(first, second);
    let other = json!({"email_id": w.inbound, "body": "Something else", "reply_all": true});
    let (s3, err) = draft(&w.api, ADMIN, Some("key-1"), &other).await;
    assert_eq!(s3, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "idempotency_key_reused");
    // Another user replaying the key is a different request too.
    let (s4, _) = draft(&w.api, BOT, Some("key-1"), &body).await;
    assert_eq!(s4, StatusCode::CONFLICT);
    assert_eq!(w.app.fake.drafts(ALICE).len(), 1);
    let c = w.app.fake.counters();
    assert_eq!(c.calls.get("users.drafts.create").copied(), Some(1));
    assert_eq!(count(&w.app, "SELECT count(*) FROM email_drafts"), 1);
    assert_no_send(&w.app);
}

#[tokio::test]
async fn cr_or_lf_in_a_header_bound_value_is_refused_and_nothing_is_created() {
    let w = world().await;
    let long_key = "k".repeat(201);
    let cases = [
        (
            json!({"email_id": w.inbound, "account": "alice@fund.test\r\nBcc: x@evil.example", "body": "hi"}),
            None,
        ),
        (
            json!({"email_id": w.inbound, "account": "alice@fund.test\nX: y", "body": "hi"}),
            None,
        ),
        (
            json!({"email_id": w.inbound, "body": "hi"}),
            Some("two words".to_string()),
        ),
        (
            json!({"email_id": w.inbound, "body": "hi"}),
            Some(long_key.clone()),
        ),
        (
            json!({"email_id": w.inbound, "body": "x".repeat(300 * 1024)}),
            None,
        ),
        (json!({"email_id": w.inbound, "body": "  \n "}), None),
    ];
    for (i, (body, key)) in cases.iter().enumerate() {
        let (status, got) = draft(&w.api, ADMIN, key.as_deref(), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "case {i}: {got}");
        assert!(got["error"]["message"].as_str().is_some(), "case {i}");
    }
    assert!(w.app.fake.drafts(ALICE).is_empty());
    assert_eq!(count(&w.app, "SELECT count(*) FROM email_drafts"), 0);
    let c = w.app.fake.counters();
    assert_eq!(c.calls.get("users.drafts.create"), None);
    assert_no_send(&w.app);
}

#[tokio::test]
async fn a_member_drafts_only_in_their_own_mailbox_and_only_where_the_email_lives() {
    let w = world().await;
    let into_alice = json!({"email_id": w.inbound, "account": ALICE, "body": "hi"});
    let (status, got) = draft(&w.api, MEMBER, None, &into_alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{got}");
    // Bob never saw the outbound email: no thread to draft in.
    let outbound = json!({"email_id": w.outbound, "body": "hi"});
    let (status, got) = draft(&w.api, MEMBER, None, &outbound).await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    assert!(got["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bob@fund.test"));
    // Not enrolled, and no such email.
    let nowhere = json!({"email_id": w.inbound, "account": "zed@fund.test", "body": "hi"});
    let (status, _) = draft(&w.api, ADMIN, None, &nowhere).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = json!({"email_id": "999999", "body": "hi"});
    assert_eq!(
        draft(&w.api, ADMIN, None, &missing).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(w.app.fake.drafts(ALICE).is_empty() && w.app.fake.drafts(BOB).is_empty());
    assert_eq!(count(&w.app, "SELECT count(*) FROM email_drafts"), 0);
    assert_no_send(&w.app);
}

#[tokio::test]
async fn a_gmail_failure_is_a_502_with_the_row_failed_and_the_same_key_may_try_again() {
    let w = world().await;
    w.app
        .fake
        .fail_next("users.drafts.create", 1, FaultKind::Reset);
    let body = json!({"email_id": w.inbound, "body": "retry me"});
    let (status, got) = draft(&w.api, ADMIN, Some("k-retry"), &body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{got}");
    assert!(got["error"]["message"].as_str().unwrap().contains("Gmail"));
    let failed = count(
        &w.app,
        "SELECT count(*) FROM email_drafts WHERE status = 'failed' AND error IS NOT NULL",
    );
    assert_eq!(failed, 1);
    let (status, got) = draft(&w.api, ADMIN, Some("k-retry"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(w.app.fake.drafts(ALICE).len(), 1);
    assert_eq!(count(&w.app, "SELECT count(*) FROM email_drafts"), 1);
    assert_no_send(&w.app);
}

#[tokio::test]
async fn a_draft_is_never_captured_as_mail_or_proposed_as_activity() {
    let w = world().await;
    let proposals = count(&w.app, "SELECT count(*) FROM email_proposals");
    let emails = count(&w.app, "SELECT count(*) FROM emails");
    let body = json!({"email_id": w.inbound, "body": "Not sent yet", "reply_all": true});
    let (status, got) = draft(&w.api, ADMIN, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    // Gmail logs the draft as a new message; the next sync must skip it.
    for report in w.app.capture.sync_all(SyncMode::Auto).await.unwrap() {
        assert!(report.error.is_none(), "{:?}", report.error);
    }
    assert_eq!(count(&w.app, "SELECT count(*) FROM emails"), emails);
    assert_eq!(
        count(&w.app, "SELECT count(*) FROM email_proposals"),
        proposals
    );
    let draft_sightings = count(
        &w.app,
        "SELECT count(*) FROM email_account_messages WHERE labels_json LIKE '%DRAFT%'",
    );
    assert_eq!(draft_sightings, 0);
    assert_no_send(&w.app);
}
