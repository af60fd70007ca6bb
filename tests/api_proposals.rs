//! Proposals, decisions, the feed, the review bot's bridge and the
//! directory push, through HTTP against a daemon-side stack on fake
//! Google (SPEC §7, §11). Each test asserts the data the CRM would see.
//!
//! The server here is the real router on the test's own capture engine
//! with no capture worker running (`serve`): `serve_api()` starts the
//! worker, whose first sweep would race the explicit syncs these tests
//! make, and the tests want to know exactly when mail is captured.

mod support;

#[path = "api_proposals/helpers.rs"]
mod helpers;
#[path = "api_proposals/llm_notes.rs"]
mod llm_notes;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
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
async fn a_contact_added_later_yields_proposals_for_their_past_email() {
    let (app, api, _stop) = world().await;
    let mail = raw(
        "late-1@x.test",
        "Sam <sam@gamma.vc>",
        "alice@fund.test",
        "Gamma deck",
        "",
    );
    app.fake.deliver("alice@fund.test", &mail, &["INBOX"]);
    sync(&app).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM email_proposals WHERE investor_id = 'gamma'"
        ),
        0
    );
    let mut dir = world_directory();
    dir["investors"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "gamma", "name": "Gamma"}));
    dir["contacts"].as_array_mut().unwrap().push(
        json!({"id": "c-sam", "investor_id": "gamma", "email": "Sam@Gamma.vc", "name": "Sam"}),
    );
    let (s, r) = put_directory(&api, &dir).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["investors"].as_u64(), r["contacts"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(r["relinked"], 1, "only Sam's email changed links");
    let (_, page) = api
        .get("/api/email/proposals?status=pending", As::User(ADMIN))
        .await;
    let sam: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["investor_id"] == "gamma")
        .collect();
    assert_eq!(sam.len(), 1);
    assert_eq!(sam[0]["contact_id"], "c-sam");
    assert_eq!(subject_of(sam[0]), "Gamma deck");
    let audit =
        "SELECT count(*) FROM audit_log WHERE action = 'directory.replace' AND actor = 'service'";
    assert_eq!(count(&app, audit), 2, "the set-up push and this one");
    // Pushing the same directory again changes nothing.
    let (_, r) = put_directory(&api, &dir).await;
    assert_eq!(r["relinked"], 0);
    assert_eq!(count(&app, "SELECT count(*) FROM email_proposals"), 4);
}

#[tokio::test]
async fn a_pending_proposal_whose_link_vanished_is_flagged_and_can_still_be_decided() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let pid = proposal_id(&app, "Intro to Beta", "beta");
    let mut dir = world_directory();
    dir["investors"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != "beta");
    let (s, r) = put_directory(&api, &dir).await;
    assert_eq!(
        (s, r["relinked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{r}"
    );
    let (_, page) = api.get("/api/email/proposals", As::User(ADMIN)).await;
    let p = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pid.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (p["status"].as_str(), p["linked"].as_bool()),
        (Some("pending"), Some(false))
    );
    let (s, d) = decide(&api, &pid, json!({"decision": "approve"}), ADMIN).await;
    assert_eq!(
        (s, d["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );
    let feed = all_feed(&api).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["investor_id"], "beta");
    // Re-adding the investor relinks, but proposes nothing twice.
    put_directory(&api, &world_directory()).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM email_proposals WHERE investor_id = 'beta'"
        ),
        1
    );
}

#[tokio::test]
async fn the_review_bot_works_its_lists_and_its_marks_survive() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let pid = proposal_id(&app, "Follow-up", "inv");
    let ids = |w: &Value, k: &str| -> Vec<String> {
        w[k].as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, w) = api.get("/api/email/proposals/work", As::User(BOT)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&w, "to_post").len(), 3);
    assert!(ids(&w, "open").is_empty() && ids(&w, "to_close").is_empty());
    let posted = format!("/api/email/proposals/{pid}/posted");
    let (s, p) = api
        .post(&posted, As::User(BOT), &json!({"ref": "card-1"}))
        .await;
    assert_eq!(
        (s, p["posted_ref"].as_str()),
        (StatusCode::OK, Some("card-1"))
    );
    let (s, p2) = api
        .post(&posted, As::User(BOT), &json!({"ref": "card-2"}))
        .await;
    assert_eq!(
        (s, p2["posted_ref"].as_str()),
        (StatusCode::OK, Some("card-1")),
        "first mark wins"
    );
    assert_eq!(p2["posted_at"], p["posted_at"]);
    let closed = format!("/api/email/proposals/{pid}/closed");
    let (s, e) = api.post(&closed, As::User(BOT), &json!({})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (_, w) = api.get("/api/email/proposals/work", As::User(ADMIN)).await;
    assert_eq!(
        (ids(&w, "to_post").len(), ids(&w, "open")),
        (2, vec![pid.clone()])
    );
    decide(&api, &pid, json!({"decision": "reject"}), ADMIN).await;
    let (_, w) = api.get("/api/email/proposals/work", As::User(BOT)).await;
    assert_eq!(
        (ids(&w, "open").len(), ids(&w, "to_close")),
        (0, vec![pid.clone()])
    );
    for _ in 0..2 {
        let (s, c) = api.call(Method::POST, &closed, As::User(BOT), None).await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert!(c["closed_at"].is_string());
    }
    let (_, w) = api.get("/api/email/proposals/work", As::User(BOT)).await;
    assert!(ids(&w, "to_close").is_empty());
    let stored = app.store.proposal(pid.parse().unwrap()).unwrap().unwrap();
    assert_eq!(stored.posted_ref.as_deref(), Some("card-1"));
    assert!(stored.closed_at.is_some());
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

#[tokio::test]
async fn bad_input_is_refused_in_the_error_shape_and_changes_nothing() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let pid = proposal_id(&app, "Follow-up", "inv");
    let before = dump(&app);
    let decide_path = format!("/api/email/proposals/{pid}/decide");
    let bodies: Vec<(&str, &str, StatusCode)> = vec![
        (
            decide_path.as_str(),
            "{\"decision\": ",
            StatusCode::BAD_REQUEST,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": 5}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"maybe\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"approve\", \"note\": \"  \"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            decide_path.as_str(),
            "{\"decision\": \"approve\", \"note\": 3}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (decide_path.as_str(), "[]", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/email/proposals/..%2Fx/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/1%3BDROP%20TABLE%20emails/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/0/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/decide",
            "{\"decision\": \"approve\"}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/posted",
            "{}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/email/proposals/999999/closed",
            "",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, body, want) in bodies {
        let resp = api
            .request(Method::POST, path, As::User(ADMIN))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_error(resp, want, &format!("POST {path} {body}")).await;
    }
    let posted_bad = format!("/api/email/proposals/{pid}/posted");
    for body in ["{\"ref\": 5}", "{\"ref\": "] {
        let resp = api
            .request(Method::POST, &posted_bad, As::User(BOT))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error());
        assert_error(resp, None, body).await;
    }
    for query in [
        "/api/email/proposals?status=bogus",
        "/api/email/proposals?before=garbage",
        "/api/email/proposals?before=1:x",
        "/api/email/proposals?limit=0",
        "/api/email/proposals?limit=501",
        "/api/email/proposals/work?limit=-1",
        "/api/email/feed?after=-1",
        "/api/email/feed?after=abc",
        "/api/email/feed?limit=9999",
    ] {
        let who = if query.contains("feed") {
            As::Service
        } else {
            As::User(ADMIN)
        };
        let resp = api.request(Method::GET, query, who).send().await.unwrap();
        assert_error(resp, StatusCode::BAD_REQUEST, query).await;
    }
    let mut dup = world_directory();
    dup["investors"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "inv"}));
    let mut orphan = world_directory();
    orphan["contacts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "c9", "investor_id": "nope", "email": "x@y.vc"}));
    let mut bad_domain = world_directory();
    bad_domain["investors"][0]["domains"] = json!(["acme..vc"]);
    let mut bad_role = world_directory();
    bad_role["users"][0]["role"] = json!("owner");
    let directories: Vec<(String, StatusCode, &str)> = vec![
        ("{\"users\": [".into(), StatusCode::BAD_REQUEST, ""),
        (
            "{\"users\": 5}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (bad_role.to_string(), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (dup.to_string(), StatusCode::UNPROCESSABLE_ENTITY, "\"inv\""),
        (orphan.to_string(), StatusCode::UNPROCESSABLE_ENTITY, "c9"),
        (
            bad_domain.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "acme..vc",
        ),
    ];
    for (body, want, names) in directories {
        let resp = api
            .request(Method::PUT, "/api/email/directory", As::Service)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let msg = assert_error(resp, want, &body).await;
        assert!(msg.contains(names), "{msg:?} should name {names}");
    }
    assert_eq!(dump(&app), before, "no table changed");
}
