//! Hand-built emails for what a generated world does not exercise: `q` as
//! literal text and bad input (content: see `files`).

use std::collections::BTreeMap;

use reqwest::StatusCode;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use super::files::{attachment_mail, html_mail};
use super::support::api::{directory_with_users, Api, As, MEMBER};
use super::support::app::{spawn_app, AppOptions, TestApp};
use super::{all_pages, serve, sync_until_settled, ADMIN};

pub const ALICE: &str = "alice@fund.test";

fn plain(id: &str, from: &str, to: &str, subject: &str, day: u32) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: Tue, {day:02} Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nNotes on {id}.\r\n"
    )
    .into_bytes()
}

/// An app with the hand-built mail captured; subject → email id of the
/// matched ones, plus the internal email's id (found in the database).
pub async fn hand_app() -> (
    TestApp,
    Api,
    tokio_util::sync::CancellationToken,
    BTreeMap<String, String>,
    i64,
) {
    let app = spawn_app(AppOptions {
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    let jo = "Jo <jo@acme.vc>";
    let subjects = [
        "Fund returned 100% of capital",
        "100 x return on the seed",
        "snake_case report",
        "snakeXcase report",
        "O'Brien intro",
        "Re: \"; DROP TABLE emails; --",
    ];
    for (n, s) in subjects.iter().enumerate() {
        let raw = plain(&format!("m{n}@acme.vc"), jo, ALICE, s, n as u32 + 1);
        app.fake.deliver(ALICE, &raw, &["INBOX"]);
    }
    let internal = plain(
        "internal@fund.test",
        ALICE,
        "bob@fund.test",
        "internal only",
        9,
    );
    app.fake.deliver(ALICE, &internal, &["SENT"]);
    app.fake.deliver(ALICE, &html_mail(), &["INBOX"]);
    app.fake.deliver(ALICE, &attachment_mail(), &["INBOX"]);
    sync_until_settled(&app).await;
    let (api, stop) = serve(&app).await;
    let ids = all_pages(&api, "/api/email/activity", 50)
        .await
        .iter()
        .map(|i| {
            (
                i["subject"].as_str().unwrap().to_string(),
                i["email_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let db = Connection::open_with_flags(app.db_path(), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let internal_id = db
        .query_row(
            "SELECT id FROM emails WHERE subject = 'internal only'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (app, api, stop, ids, internal_id)
}

async fn subjects_for(api: &Api, q: &str) -> Vec<String> {
    let enc: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, body) = api
        .get(&format!("/api/email/activity?q={enc}"), ADMIN)
        .await;
    assert_eq!(status, 200, "q={q}: {body}");
    let mut s: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

/// What must not change under bad input: row counts and the full listing.
async fn state_of(app: &TestApp, api: &Api) -> (Vec<i64>, Vec<Value>) {
    let db = Connection::open_with_flags(app.db_path(), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let count = |t: &str| {
        db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    let counts = [
        "emails",
        "email_investor_links",
        "email_account_messages",
        "email_attachments",
    ]
    .map(count);
    (
        counts.to_vec(),
        all_pages(api, "/api/email/activity", 4).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_treats_percent_underscore_quotes_and_sql_as_literal_text() {
    let (app, api, stop, _, _) = hand_app().await;
    let before = state_of(&app, &api).await;
    let cases: &[(&str, &[&str])] = &[
        ("100%", &["Fund returned 100% of capital"]),
        (
            "100",
            &["100 x return on the seed", "Fund returned 100% of capital"],
        ),
        ("0%", &["Fund returned 100% of capital"]),
        ("%", &["Fund returned 100% of capital"]),
        ("e_c", &["snake_case report"]),
        ("_", &["snake_case report"]),
        ("SNAKE", &["snakeXcase report", "snake_case report"]),
        ("O'Brien", &["O'Brien intro"]),
        ("'", &["O'Brien intro"]),
        (
            "\"; DROP TABLE emails; --",
            &["Re: \"; DROP TABLE emails; --"],
        ),
        ("'; DROP TABLE emails; --", &[]),
        ("\"", &["Re: \"; DROP TABLE emails; --"]),
        ("\\", &[]),
        ("%_%", &[]),
        ("internal", &[]),
        (
            "jo@acme",
            &[
                "100 x return on the seed",
                "Files",
                "Fund returned 100% of capital",
                "O'Brien intro",
                "Quarterly numbers",
                "Re: \"; DROP TABLE emails; --",
                "snakeXcase report",
                "snake_case report",
            ],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(subjects_for(&api, q).await, *want, "q={q:?}");
    }
    assert_eq!(state_of(&app, &api).await, before, "a search changed data");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_in_the_error_shape_and_changes_nothing() {
    let (app, api, stop, _, internal) = hand_app().await;
    let before = state_of(&app, &api).await;
    let long = "a".repeat(10_000);
    let a = "/api/email/activity";
    let cases: Vec<(String, u16, &str, &str)> = vec![
        (
            format!("{a}?q={long}"),
            414,
            "query_too_long",
            // The router's query limit answers before the handler's own.
            "the limit is 2048",
        ),
        (format!("{a}?q=%FF"), 400, "invalid_query", "UTF-8"),
        (format!("{a}?q=caf%C3"), 400, "invalid_query", "UTF-8"),
        (
            format!("{a}?q={}", "x".repeat(201)),
            400,
            "invalid_query",
            "200 characters",
        ),
        (format!("{a}?q=a%00b"), 400, "invalid_query", "control"),
        (format!("{a}?limit=0"), 400, "invalid_query", "limit"),
        (format!("{a}?limit=501"), 400, "invalid_query", "limit"),
        (format!("{a}?limit=abc"), 400, "invalid_query", "limit"),
        (format!("{a}?limit=-5"), 400, "invalid_query", "limit"),
        (format!("{a}?before=garbage"), 400, "invalid_cursor", "next"),
        (format!("{a}?before=MS4w"), 400, "invalid_cursor", "next"),
        (
            format!("{a}?before=%27%20OR%201%3D1"),
            400,
            "invalid_cursor",
            "next",
        ),
        (
            format!("{a}?direction=sideways"),
            400,
            "invalid_query",
            "direction",
        ),
        (
            format!("{a}?account_id=abc"),
            400,
            "invalid_query",
            "account_id",
        ),
        (
            format!("{a}?account_id=-1"),
            400,
            "invalid_query",
            "account_id",
        ),
        (
            format!("{a}?investor=inv"),
            400,
            "invalid_query",
            "unknown query parameter",
        ),
        (format!("{a}?q=a&q=b"), 400, "invalid_query", "twice"),
        (
            "/api/email/threads?limit=0".into(),
            400,
            "invalid_query",
            "limit",
        ),
        (
            "/api/email/threads?before=x".into(),
            400,
            "invalid_cursor",
            "next",
        ),
        (
            "/api/email/threads?q=x".into(),
            400,
            "invalid_query",
            "unknown",
        ),
        (
            "/api/email/emails/..%2F..%2Fetc%2Fpasswd".into(),
            404,
            "not_found",
            "no email",
        ),
        ("/api/email/emails/-1".into(), 404, "not_found", "no email"),
        ("/api/email/emails/1e3".into(), 404, "not_found", "no email"),
        ("/api/email/emails/0".into(), 404, "not_found", "no email"),
        (
            "/api/email/emails/99999999999999999999".into(),
            404,
            "not_found",
            "no email",
        ),
        (
            "/api/email/emails/123456".into(),
            404,
            "not_found",
            "no matched email",
        ),
        (
            format!("/api/email/emails/{internal}"),
            404,
            "not_found",
            "no matched email",
        ),
        (
            "/api/email/attachments/..%2F..%2Fetc%2Fpasswd".into(),
            404,
            "not_found",
            "no attachment",
        ),
        (
            "/api/email/attachments/-1".into(),
            404,
            "not_found",
            "no attachment",
        ),
        (
            "/api/email/attachments/424242".into(),
            404,
            "not_found",
            "no attachment",
        ),
        (
            "/api/email/threads/1e3".into(),
            404,
            "not_found",
            "no thread",
        ),
        (
            "/api/email/threads/987654".into(),
            404,
            "not_found",
            "no thread",
        ),
    ];
    for (path, status, code, hint) in &cases {
        let (got, body) = api.get(path, ADMIN).await;
        let shown: String = path.chars().take(80).collect();
        assert_eq!(got.as_u16(), *status, "{shown}: {body}");
        assert_eq!(body["error"]["code"], *code, "{shown}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(hint),
            "{shown}: message {msg:?} lacks {hint:?}"
        );
        for leak in ["etc/passwd", "aaaaaaaaaa", "SELECT", "sqlite", "panicked"] {
            assert!(
                !msg.contains(leak),
                "{shown}: message leaks {leak:?}: {msg}"
            );
        }
    }
    let (status, _) = api.get(a, As::User(MEMBER)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member may not read activity"
    );
    assert_eq!(state_of(&app, &api).await, before, "bad input changed data");
    stop.cancel();
}
