//! The digest routes over HTTP (admin only): the policy's validation,
//! audit row and "the database wins over the env seed", test-email's
//! active-admin rule (a refusal sends nothing, a send is counted in
//! metrics), and preview sending nothing.

mod digest_support;
mod support;

use std::collections::BTreeMap;

use email_sidecar::clock::ManualClock;
use serde_json::json;

use digest_support::*;
use support::api::As;

#[tokio::test]
async fn the_policy_route_validates_audits_and_the_database_wins_over_the_env_seed() {
    let clock = ManualClock::new(utc(2026, 6, 1, 8, 0));
    let env = [
        ("CRM_DIGEST_ENABLED", "true"),
        ("CRM_DIGEST_SEND_HOUR", "7"),
    ];
    let app = app(&clock, "Europe/Berlin", &env).await;
    let (api, stop) = serve_routes(&app).await;
    let (status, body) = api.get("/api/email/digest/policy", As::User(ALICE)).await;
    assert_eq!(
        (status.as_u16(), body),
        (200, json!({"enabled": true, "send_hour": 7}))
    );
    let bad = [
        json!({"send_hour": 24}),
        json!({"send_hour": -1}),
        json!({"send_hour": "9"}),
        json!({"enabled": "yes"}),
        json!({"enabled": true, "hour": 9}),
    ];
    for body in bad {
        let (status, answer) = api
            .call(
                reqwest::Method::PATCH,
                "/api/email/digest/policy",
                As::User(ALICE),
                Some(&body),
            )
            .await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert!(answer["error"]["code"].is_string());
    }
    let (status, _) = api
        .call(
            reqwest::Method::PATCH,
            "/api/email/digest/policy",
            As::User(BOB),
            Some(&json!({"send_hour": 9})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            "/api/email/digest/policy",
            As::User(ALICE),
            Some(&json!({"send_hour": 9})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (200, json!({"enabled": true, "send_hour": 9}))
    );
    let audit = app.store.recent_audit(10).unwrap();
    let row = audit.iter().find(|a| a.action == "digest.policy").unwrap();
    assert_eq!(row.actor, ALICE);
    assert_eq!(
        row.details["after"],
        json!({"enabled": true, "send_hour": 9})
    );
    assert_eq!(
        row.details["before"],
        json!({"enabled": true, "send_hour": 7})
    );
    // A restart with another env seed keeps the stored policy.
    let mut reseed = app.config.digest.clone();
    reseed.enabled = false;
    reseed.send_hour = 18;
    assert!(!app.store.seed_digest_policy(&reseed).unwrap());
    let (_, body) = api.get("/api/email/digest/policy", As::User(DANA)).await;
    assert_eq!(body, json!({"enabled": true, "send_hour": 9}));
    stop.cancel();
}

#[tokio::test]
async fn test_email_may_only_address_active_admins_and_a_refusal_sends_nothing() {
    let clock = ManualClock::new(utc(2026, 6, 1, 10, 0));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    let (api, stop) = serve_routes(&app).await;
    let refused = [
        json!({"to": [BOB]}),
        json!({"to": [OLD]}),
        json!({"to": [ALICE, "someone@acme.vc"]}),
        json!({"to": ["carol@fund.test"]}),
    ];
    for body in refused {
        let (status, answer) = api
            .post("/api/email/digest/test-email", As::User(ALICE), &body)
            .await;
        assert_eq!(status, 403, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    let (status, _) = api
        .post(
            "/api/email/digest/test-email",
            As::User(ALICE),
            &json!({"to": []}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(send_calls(&app), 0);
    assert!(runs(&app).is_empty());
    let (status, body) = api
        .post(
            "/api/email/digest/test-email",
            As::User(ALICE),
            &json!({"to": [DANA]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "test");
    assert_eq!(body["recipients"], json!([DANA]));
    assert_eq!(send_calls(&app), 1);
    let sent = sent_texts(&app, ALICE);
    assert_eq!(header(&sent[0], "To").unwrap(), DANA);
    // The digest's own Gmail client counts into the daemon's metrics.
    let metrics = api.metrics().await;
    assert!(
        metrics.contains("email_sidecar_gmail_calls_total{method=\"users.messages.send\"} 1\n"),
        "{metrics}"
    );
    stop.cancel();
}

#[tokio::test]
async fn preview_builds_the_digest_and_sends_nothing() {
    let clock = ManualClock::new(utc(2026, 6, 1, 12, 0));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    let raw = mail(
        "p1@acme.vc",
        "jo@acme.vc",
        &[ALICE, BOB],
        "Preview <b>me</b>",
        utc(2026, 6, 1, 9, 0),
    );
    deliver(&app, &raw, "jo@acme.vc", &[ALICE, BOB]);
    capture(&app).await;
    let (api, stop) = serve_routes(&app).await;
    let (status, body) = api.get("/api/email/digest/preview", As::User(ALICE)).await;
    assert_eq!(status, 200, "{body}");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("1 email with 1 investor: 1 received, 0 sent."),
        "{text}"
    );
    assert!(text.contains("Preview <b>me</b>"));
    let html = body["html"].as_str().unwrap();
    assert!(html.contains("Preview &lt;b&gt;me&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>me</b>"));
    assert_eq!(body["window"]["end"], "2026-06-01T12:00:00.000Z");
    assert_eq!(body["emails"], 1);
    let (status, _) = api.get("/api/email/digest/preview", As::User(BOB)).await;
    assert_eq!(status, 403);
    assert_eq!(send_calls(&app), 0);
    assert!(runs(&app).is_empty());
    let by_kind: BTreeMap<String, u64> = app.fake.counters().calls;
    assert!(!by_kind.contains_key("users.messages.send"));
    stop.cancel();
}
