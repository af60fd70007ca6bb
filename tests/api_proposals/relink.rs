//! Relinking on a directory push (SPEC §7): a contact added later proposes
//! their past email; a vanished link leaves a pending proposal decidable;
//! an email that becomes excluded has its pending proposals withdrawn.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::helpers::*;
use crate::support::api::{As, ADMIN};

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
async fn an_email_that_becomes_excluded_has_its_pending_proposals_withdrawn() {
    let (app, api, _stop) = world().await;
    sync(&app).await;
    let follow = proposal_id(&app, "Follow-up", "inv");
    let (s, _) = decide(&api, &follow, json!({"decision": "approve"}), ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    let mut dir = world_directory();
    dir["exclusions"] = json!(["jo@acme.vc"]);
    let (s, r) = put_directory(&api, &dir).await;
    // Jo's intro, the follow-up to Jo and Jo's (linked, never proposed) bulk mail.
    assert_eq!(
        (s, r["relinked"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{r}"
    );
    for inv in ["inv", "beta"] {
        let id = proposal_id(&app, "Intro to Beta", inv);
        let p = app.store.proposal(id.parse().unwrap()).unwrap().unwrap();
        assert_eq!(p.status.as_str(), "rejected", "{inv}");
        assert_eq!(p.decided_by.as_deref(), Some("system"));
        assert_eq!(
            (p.subject.as_str(), p.note.contains("withdrawn")),
            ("", true)
        );
        let (s, e) = decide(&api, &id, json!({"decision": "approve"}), ADMIN).await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
    }
    let approved = app
        .store
        .proposal(follow.parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        approved.status.as_str(),
        "approved",
        "already in the feed: kept"
    );
    assert_eq!(all_feed(&api).await.len(), 1);
    let withdrawn = "SELECT count(*) FROM audit_log WHERE action = 'proposal.withdraw'";
    assert_eq!(count(&app, withdrawn), 2);
}
