//! The review bot's bridge: work-lists and the posted/closed marks kept on
//! the proposal (SPEC §7).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::helpers::*;
use crate::support::api::{As, ADMIN, BOT};

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
