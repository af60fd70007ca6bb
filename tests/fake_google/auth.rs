//! The token endpoint and the bearer checks on Gmail calls.

use crate::support::*;
use chrono::{TimeZone, Utc};
use email_sidecar::clock::{ManualClock, SharedClock};
use email_sidecar::fake_google::FakeOptions;
use serde_json::json;

#[tokio::test]
async fn a_signed_dwd_jwt_gets_a_bearer_token_that_reads_the_mailbox() {
    let fake = start().await;
    let (status, body) = exchange(&fake, &sign(&fake, &claims(&fake, ALICE, READONLY))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let tok = body["access_token"].as_str().unwrap();
    let (status, profile) = get(&fake, tok, "me/profile", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(profile["emailAddress"], ALICE);
    assert_eq!(profile["historyId"], fake.history_id(ALICE).to_string());
    assert_eq!(fake.counters().token_exchanges, 1);
}

#[tokio::test]
async fn a_jwt_whose_claims_were_altered_after_signing_is_an_invalid_signature() {
    let fake = start().await;
    let jwt = sign(&fake, &claims(&fake, ALICE, READONLY));
    let forged = sign(&fake, &claims(&fake, BOB, READONLY));
    let mut parts: Vec<&str> = jwt.split('.').collect();
    parts[1] = forged.split('.').nth(1).unwrap();
    let (status, body) = exchange(&fake, &parts.join(".")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], "Invalid JWT Signature.");
}

#[tokio::test]
async fn the_audience_may_be_the_fake_or_google_but_nothing_else() {
    let fake = start().await;
    let mut c = claims(&fake, ALICE, READONLY);
    c["aud"] = json!("https://oauth2.googleapis.com/token");
    assert_eq!(exchange(&fake, &sign(&fake, &c)).await.0, 200);
    c["aud"] = json!("https://evil.test/token");
    let (status, body) = exchange(&fake, &sign(&fake, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_jwt_living_longer_than_an_hour_or_already_expired_is_refused() {
    let fake = start().await;
    let now = now_secs(None);
    let mut c = claims(&fake, ALICE, READONLY);
    c["exp"] = json!(now + 7200);
    let (status, body) = exchange(&fake, &sign(&fake, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("iat and exp"));
    c["iat"] = json!(now - 7200);
    c["exp"] = json!(now - 3600);
    assert_eq!(exchange(&fake, &sign(&fake, &c)).await.0, 400);
}

#[tokio::test]
async fn an_unknown_user_is_an_invalid_grant_naming_the_user_id() {
    let fake = start().await;
    let (status, body) = exchange(
        &fake,
        &sign(&fake, &claims(&fake, "nobody@fund.test", READONLY)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], "Invalid email or User ID");
}

#[tokio::test]
async fn a_scope_not_granted_is_unauthorized_client_and_an_empty_scope_is_invalid_scope() {
    let fake = start().await;
    fake.set_user_scopes(ALICE, &[READONLY]);
    let (status, body) = exchange(&fake, &sign(&fake, &claims(&fake, ALICE, COMPOSE))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized_client"))
    );
    let (status, body) = exchange(&fake, &sign(&fake, &claims(&fake, ALICE, ""))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    token(&fake, ALICE, READONLY).await;
}

#[tokio::test]
async fn a_revoked_user_is_unauthorized_client_while_others_still_get_tokens() {
    let fake = start().await;
    fake.revoke_user(ALICE);
    let (status, body) = exchange(&fake, &sign(&fake, &claims(&fake, ALICE, READONLY))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized_client"))
    );
    token(&fake, BOB, READONLY).await;
    assert_eq!(fake.counters().token_exchanges, 2);
}

#[tokio::test]
async fn a_jwt_with_padded_base64_segments_is_accepted() {
    let fake = start().await;
    let jwt = sign_padded(&fake, &claims(&fake, ALICE, READONLY));
    assert!(
        jwt.contains('='),
        "the test JWT must really be padded: {jwt}"
    );
    let (status, body) = exchange(&fake, &jwt).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_token_expires_on_the_injected_clock_and_then_gets_401_auth_error() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let manual = ManualClock::new(t0);
    let clock: SharedClock = manual.clone();
    let fake = start_with(FakeOptions {
        clock: Some(clock.clone()),
        ..Default::default()
    })
    .await;
    let now = now_secs(Some(&clock));
    let c = json!({"iss": fake.client_email(), "sub": ALICE, "scope": READONLY,
                   "aud": fake.token_uri(), "iat": now, "exp": now + 3600});
    let (status, body) = exchange(&fake, &sign(&fake, &c)).await;
    assert_eq!(status, 200, "{body}");
    let tok = body["access_token"].as_str().unwrap();
    assert_eq!(get(&fake, tok, "me/profile", &[]).await.0, 200);
    manual.advance(chrono::Duration::seconds(3600));
    let (status, body) = get(&fake, tok, "me/profile", &[]).await;
    assert_eq!((status, reason(&body)), (401, "authError"));
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_compose_token_cannot_read_and_a_token_for_one_user_cannot_open_another() {
    let fake = start().await;
    let id = fake.deliver(
        ALICE,
        &mail("m1@x", "Hi", "Mon, 2 Mar 2026 09:00:00 +0000", "", "x"),
        &["INBOX"],
    );
    let compose = token(&fake, ALICE, COMPOSE).await;
    let (status, body) = get(&fake, &compose, &format!("me/messages/{id}"), &[]).await;
    assert_eq!((status, reason(&body)), (403, "insufficientPermissions"));
    let read = token(&fake, ALICE, READONLY).await;
    let (status, body) = get(&fake, &read, &format!("{BOB}/messages"), &[]).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = get(&fake, &read, &format!("{ALICE}/messages/{id}"), &[]).await;
    assert_eq!(status, 200);
    let (status, body) = get(&fake, "garbage", "me/profile", &[]).await;
    assert_eq!((status, reason(&body)), (401, "authError"));
}

#[tokio::test]
async fn an_authorization_code_is_single_use_and_its_refresh_token_works_until_revoked() {
    let fake = start().await;
    fake.add_oauth_client("cid", "secret");
    let code = fake.authorize_code("cid", ALICE, &[READONLY], "http://localhost/cb");
    let grant = |code: String, redirect: &'static str| {
        let fake = fake.clone();
        async move {
            form_post(
                &fake,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("client_id", "cid"),
                    ("client_secret", "secret"),
                    ("redirect_uri", redirect),
                ],
            )
            .await
        }
    };
    let other = fake.authorize_code("cid", ALICE, &[READONLY], "http://localhost/cb");
    let (status, body) = grant(other, "http://elsewhere/cb").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("redirect_uri_mismatch"))
    );
    let (status, body) = grant(code.clone(), "http://localhost/cb").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], READONLY);
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = grant(code, "http://localhost/cb").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "cid"),
        ("client_secret", "secret"),
    ];
    let (status, body) = form_post(&fake, &form).await;
    assert_eq!(status, 200, "{body}");
    let (status, profile) = get(
        &fake,
        body["access_token"].as_str().unwrap(),
        "me/profile",
        &[],
    )
    .await;
    assert_eq!(
        (status, profile["emailAddress"].as_str()),
        (200, Some(ALICE))
    );
    fake.revoke_refresh_tokens(ALICE);
    let (status, body) = form_post(&fake, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_service_account_token_without_a_subject_has_no_mailbox_to_read() {
    let fake = start().await;
    let mut c = claims(&fake, ALICE, READONLY);
    c.as_object_mut().unwrap().remove("sub");
    let (status, body) = exchange(&fake, &sign(&fake, &c)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(
        &fake,
        body["access_token"].as_str().unwrap(),
        "me/profile",
        &[],
    )
    .await;
    assert_eq!((status, reason(&body)), (400, "failedPrecondition"));
    assert_eq!(body["error"]["status"], "FAILED_PRECONDITION");
}
