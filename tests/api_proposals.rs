//! Proposals, decisions, the feed, the review bot's bridge and the
//! directory push, through HTTP against a daemon-side stack on fake
//! Google (SPEC §7, §11). Each test asserts the data the CRM would see.
//!
//! The server here is the real router on the test's own capture engine
//! with no capture worker running (`serve`): `serve_api()` starts the
//! worker, whose first sweep would race the explicit syncs these tests
//! make, and the tests want to know exactly when mail is captured.

mod support;

#[path = "api_proposals/bad_input.rs"]
mod bad_input;
#[path = "api_proposals/bot.rs"]
mod bot;
#[path = "api_proposals/helpers.rs"]
mod helpers;
#[path = "api_proposals/llm_notes.rs"]
mod llm_notes;
#[path = "api_proposals/relink.rs"]
mod relink;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use helpers::*;
use support::api::{As, ADMIN, BOT};

#[tokio::test]
async fn each_email_gets_one_proposal_per_investor_and_none_for_bulk_internal_or_graveyard_mail() {
    let (app, api, _stop) = world().await;
    let mut events = app.store.events().subscribe();
    sync(&app).await;
    let (s, page) = api.get("/api/email/proposals", As::User(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let got: BTreeSet<(String, String, String, String)> = items
        .iter()
        .map(|p| {
            (
                subject_of(p),
                p["investor_id"].as_str().unwrap().to_string(),
                p["contact_id"].to_string(),
                p["direction"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String, String)> = [
        ("Intro to Beta", "inv", json!("c"), "inbound"),
        ("Intro to Beta", "beta", Value::Null, "inbound"),
        ("Follow-up", "inv", json!("c"), "outbound"),
    ]
    .into_iter()
    .map(|(s, i, c, d)| (s.to_string(), i.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(
        got, want,
        "three mailboxes saw the intro: still one per investor"
    );
    assert_eq!(page["next"], Value::Null);
    let intro = items
        .iter()
        .find(|p| p["investor_id"] == "inv" && subject_of(p) == "Intro to Beta")
        .unwrap();
    assert_eq!(intro["status"], "pending");
    assert_eq!(intro["occurred_at"], "2026-11-03T10:00:00Z");
    assert_eq!(intro["decided_by"], Value::Null);
    assert!(intro["id"].is_string() && intro["email_id"].is_string());
    assert_eq!(
        intro["note"],
        "Inbound email from Jo Smith <jo@acme.vc>\nSubject: Intro to Beta\nMeet Pat from Beta."
    );
    let note_of = |inv: &str, subject: &str| {
        let p = items
            .iter()
            .find(|p| p["investor_id"] == inv && subject_of(p) == subject);
        p.unwrap()["note"].as_str().unwrap().to_string()
    };
    assert!(
        note_of("beta", "Intro to Beta")
            .starts_with("Inbound email from Jo Smith <jo@acme.vc>, with pat@beta.vc\n"),
        "Beta was in copy: the note says so"
    );
    assert!(note_of("inv", "Follow-up").starts_with("Outbound email to Jo <jo@acme.vc>\n"));
    // The graveyard investor's email is linked (activity) but not proposed.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM email_investor_links WHERE investor_id = 'old'"
        ),
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM email_proposals"), 3);
    let mut announced = 0;
    while let Ok(e) = events.try_recv() {
        announced += usize::from(matches!(
            e,
            email_sidecar::events::Event::ProposalCreated { .. }
        ));
    }
    assert_eq!(announced, 3, "one event per proposal, after commit");
    // Syncing again (nothing new) proposes nothing new.
    sync_full(&app).await;
    assert_eq!(count(&app, "SELECT count(*) FROM email_proposals"), 3);
}

#[tokio::test]
async fn decisions_are_idempotent_conflicts_are_refused_and_the_feed_survives_a_restart() {
    let (app, api, stop) = world().await;
    sync(&app).await;
    let id = |subject: &str, inv: &str| proposal_id(&app, subject, inv);
    let (intro_inv, intro_beta, follow) = (
        id("Intro to Beta", "inv"),
        id("Intro to Beta", "beta"),
        id("Follow-up", "inv"),
    );
    let (s, p) = decide(
        &api,
        &intro_beta,
        json!({"decision": "approve", "note": "Edited."}),
        ADMIN,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (p["status"].as_str(), p["note"].as_str()),
        (Some("approved"), Some("Edited."))
    );
    assert_eq!(p["decided_by"], ADMIN);
    let (s, r) = decide(&api, &intro_inv, json!({"decision": "reject"}), BOT).await;
    assert_eq!(
        (s, r["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let (s, _) = decide(&api, &follow, json!({"decision": "approve"}), ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    // The same decision again: the stored result, no second feed row.
    let (s, again) = decide(
        &api,
        &intro_beta,
        json!({"decision": "approve", "note": "Other"}),
        BOT,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, p, "the stored result, unchanged");
    for (pid, decision) in [(&intro_beta, "reject"), (&intro_inv, "approve")] {
        let (s, e) = decide(&api, pid, json!({"decision": decision}), ADMIN).await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["error"]["code"], "conflict");
        assert!(e["error"]["message"].as_str().unwrap().contains("already"));
    }
    let feed = all_feed(&api).await;
    let summary: Vec<(String, String, String)> = feed
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("proposal_id"), s("note"), s("approved_by"))
        })
        .collect();
    let follow_note = app
        .store
        .proposal(follow.parse().unwrap())
        .unwrap()
        .unwrap()
        .note;
    assert_eq!(
        summary,
        vec![
            (intro_beta.clone(), "Edited.".into(), ADMIN.into()),
            (follow.clone(), follow_note, ADMIN.into())
        ]
    );
    let seqs: Vec<i64> = feed.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(feed[0]["investor_id"], "beta");
    assert_eq!(feed[0]["subject"], "Intro to Beta");
    assert_eq!(feed[0]["occurred_at"], "2026-11-03T10:00:00Z");
    // Paging: a full page names its last seq; `after` continues from it.
    let (_, p1) = api.get("/api/email/feed?limit=1", As::Service).await;
    assert_eq!(p1["next"], json!(seqs[0].to_string()));
    let (_, p2) = api
        .get(
            &format!("/api/email/feed?after={}&limit=5", seqs[0]),
            As::Service,
        )
        .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["next"], Value::Null);
    let decisions = "SELECT count(*) FROM audit_log WHERE action = 'proposal.decide'";
    assert_eq!(
        count(&app, decisions),
        3,
        "one audit row per decision taken"
    );
    // Restart: the same database reopened and served again.
    stop.cancel();
    let reopened = email_sidecar::store::Store::open(app.db_path()).unwrap();
    let (api2, _stop2) = serve(&app, reopened, false).await;
    assert_eq!(all_feed(&api2).await, feed);
    let (_, approved) = api2
        .get("/api/email/proposals?status=approved", As::User(BOT))
        .await;
    assert_eq!(approved["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn ten_simultaneous_approvals_append_exactly_one_feed_row() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let pid = proposal_id(&app, "Follow-up", "inv");
    let calls = (0..10).map(|n| {
        let who = if n % 2 == 0 { ADMIN } else { BOT };
        decide(&api, &pid, json!({"decision": "approve"}), who)
    });
    let answers = futures::future::join_all(calls).await;
    let firsts: BTreeSet<String> = answers
        .iter()
        .map(|(s, p)| {
            assert_eq!(*s, StatusCode::OK, "{p}");
            p["decided_by"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        firsts.len(),
        1,
        "every answer reports the one decision taken"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM activity_feed"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'proposal.decide'"
        ),
        1
    );
}

#[tokio::test]
async fn proposal_lists_page_newest_first_with_a_keyset_cursor() {
    let (app, api, _stop) = world().await;
    for n in 0..5 {
        let date = format!("Wed, 0{} Nov 2026 09:00:00 +0000", n + 4);
        let m = raw_dated(
            &format!("p{n}@x.test"),
            "jo@acme.vc",
            "bob@fund.test",
            &format!("n{n}"),
            &date,
        );
        app.fake.deliver("bob@fund.test", &m, &["INBOX"]);
    }
    sync(&app).await;
    let mut seen = Vec::new();
    let mut url = "/api/email/proposals?status=pending&limit=3".to_string();
    loop {
        let (s, page) = api.get(&url, As::User(ADMIN)).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["occurred_at"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => {
                url = format!("/api/email/proposals?status=pending&limit=3&before={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "5 new + the world's 3");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no repeats across pages");
}
