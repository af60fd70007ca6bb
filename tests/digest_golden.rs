//! The digest of a seeded week, captured for real from fake Google, pinned
//! as golden text and HTML (`UPDATE_GOLDEN=1` rewrites them) and checked
//! for the rules behind it: each email counted once however many mailboxes
//! hold it, direction per email, soft-deleted sightings, inactive users,
//! internal mail and mail outside the window left out, HTML escaped. Also
//! the LLM narrative from a real HTTP endpoint, and the fallback when it fails.

mod digest_support;
mod support;

use std::path::PathBuf;

use axum::routing::post;
use axum::Json;
use email_sidecar::clock::ManualClock;
use serde_json::{json, Value};

use digest_support::*;
use support::app::TestApp;

/// Berlin, Sun 1 Nov 18:00 to Sun 8 Nov 18:00 (CET).
fn week() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    (utc(2026, 11, 1, 17, 0), utc(2026, 11, 8, 17, 0))
}

async fn seeded_week(env: &[(&str, &str)]) -> TestApp {
    let clock = ManualClock::new(utc(2026, 11, 8, 17, 30));
    let app = app(&clock, "Europe/Berlin", env).await;
    let m = |id, from, to: &[&str], subject, at| mail(id, from, to, subject, at);
    let inside = [
        (
            m(
                "e1@acme.vc",
                "jo@acme.vc",
                &[ALICE, BOB],
                "Intro: Series A",
                utc(2026, 11, 2, 8, 15),
            ),
            "jo@acme.vc",
            vec![ALICE, BOB],
        ),
        (
            m(
                "e2@fund.test",
                ALICE,
                &["jo@acme.vc", DANA],
                "Re: Intro: Series A",
                utc(2026, 11, 3, 13, 40),
            ),
            ALICE,
            vec![ALICE, DANA],
        ),
        (
            m(
                "e3@beta.vc",
                "partner@beta.vc",
                &[DANA],
                "Q4 <update> & notes",
                utc(2026, 11, 4, 10, 5),
            ),
            "partner@beta.vc",
            vec![DANA],
        ),
        (
            m(
                "e4@fund.test",
                BOB,
                &["ceo@beta.vc", "jo@acme.vc"],
                "Co-invest?",
                utc(2026, 11, 5, 16, 20),
            ),
            BOB,
            vec![BOB],
        ),
    ];
    let left_out = [
        // Only in an inactive user's mailbox.
        (
            m(
                "e5@acme.vc",
                "jo@acme.vc",
                &[OLD],
                "For old eyes only",
                utc(2026, 11, 4, 9, 0),
            ),
            "jo@acme.vc",
            vec![OLD],
        ),
        // Internal only: never matched.
        (
            m(
                "e7@fund.test",
                ALICE,
                &[BOB],
                "Lunch?",
                utc(2026, 11, 7, 11, 0),
            ),
            ALICE,
            vec![ALICE, BOB],
        ),
        // Before and after the window.
        (
            m(
                "e8@acme.vc",
                "jo@acme.vc",
                &[ALICE],
                "Too early",
                utc(2026, 11, 1, 16, 59),
            ),
            "jo@acme.vc",
            vec![ALICE],
        ),
        (
            m(
                "e10@acme.vc",
                "jo@acme.vc",
                &[ALICE],
                "Too late",
                utc(2026, 11, 8, 17, 1),
            ),
            "jo@acme.vc",
            vec![ALICE],
        ),
    ];
    for (raw, from, boxes) in inside.iter().chain(&left_out) {
        deliver(&app, raw, from, boxes);
    }
    let deleted = m(
        "e6@acme.vc",
        "jo@acme.vc",
        &[BOB],
        "Deleted later",
        utc(2026, 11, 6, 9, 30),
    );
    let gone = deliver(&app, &deleted, "jo@acme.vc", &[BOB]);
    capture(&app).await;
    app.fake.delete_message(BOB, &gone[0]);
    capture(&app).await;
    app
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs (UPDATE_GOLDEN=1 rewrites it)"
    );
}

#[tokio::test]
async fn a_seeded_week_renders_the_golden_digest() {
    let app = seeded_week(&[]).await;
    let (start, end) = week();
    let d = digests(&app).build(start, end).await.unwrap();
    assert_eq!((d.emails, d.investors), (4, 2));
    let t = &d.text;
    assert!(
        t.contains("4 emails with 2 investors: 2 received, 2 sent."),
        "{t}"
    );
    assert!(t.contains(
        "Alice Admin exchanged 2 emails with 1 investor (Acme Ventures): 1 received, 1 sent."
    ));
    assert!(t.contains("Bob Member exchanged 2 emails with 2 investors (Acme Ventures, Beta & <Sons> Capital): 1 received, 1 sent."));
    assert!(t.contains("Dana Partner exchanged 2 emails with 2 investors"));
    assert!(t.contains("Acme Ventures: 3 emails (1 received, 2 sent)"));
    assert!(t.contains("Beta & <Sons> Capital: 2 emails (1 received, 1 sent)"));
    for absent in [
        "Old Timer",
        "For old eyes only",
        "Lunch?",
        "Too early",
        "Too late",
        "Deleted later",
    ] {
        assert!(!t.contains(absent), "{absent} leaked into\n{t}");
    }
    assert!(d.html.contains("Beta &amp; &lt;Sons&gt; Capital"));
    assert!(d.html.contains("Q4 &lt;update&gt; &amp; notes"));
    assert!(!d.html.contains("<update>"));
    assert_eq!(
        d.subject,
        "Investor email digest, Sun 8 Nov 2026: 4 emails with 2 investors"
    );
    golden("digest_week.txt", &d.text);
    golden("digest_week.html", &d.html);
}

/// An OpenAI-compatible endpoint on loopback answering `status` with `text`.
async fn llm_stub(status: u16, text: &'static str) -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(req): Json<Value>| async move {
            assert_eq!(req["model"], "digest-model");
            let facts: Value =
                serde_json::from_str(req["messages"][1]["content"].as_str().unwrap()).unwrap();
            let who = facts["team_member"].as_str().unwrap().to_string();
            let body = json!({"choices": [{"message": {"role": "assistant",
                "content": format!("{text} {who}.")}}]});
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                Json(body),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_configured_llm_writes_the_paragraphs_and_a_failing_one_falls_back_to_counts() {
    for (status, expect_llm) in [(200, true), (500, false)] {
        let url = llm_stub(status, "Busy week for").await;
        let env = [
            ("CRM_LLM_BASE_URL", url.as_str()),
            ("CRM_LLM_MODEL", "digest-model"),
        ];
        let app = seeded_week(&env).await;
        let (start, end) = week();
        let d = digests(&app).build(start, end).await.unwrap();
        let t = &d.text;
        assert_eq!(t.contains("Busy week for Alice Admin."), expect_llm, "{t}");
        assert_eq!(
            t.contains("Alice Admin exchanged 2 emails"),
            !expect_llm,
            "{t}"
        );
        // The investor section never depends on the LLM.
        assert!(t.contains("Acme Ventures: 3 emails (1 received, 2 sent)"));
    }
}
