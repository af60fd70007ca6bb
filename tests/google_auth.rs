//! Service-account (DWD) and OAuth tokens against the project's fake Google:
//! the fake verifies the JWT signature, claims and scopes, so a token that
//! works there was minted right. Covers the cache, single flight, expiry,
//! refused grants and retries at the token endpoint.

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use email_sidecar::clock::{self, ManualClock, SharedClock};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions, FaultKind};
use email_sidecar::google::auth::{
    scopes, OAuthClient, ServiceAccountKey, TokenProvider, TokenRetry,
};
use email_sidecar::google::{AuthError, GmailClient, GmailSettings};
use email_sidecar::secret::Secret;
use std::time::Duration;

const ALICE: &str = "alice@fund.test";
const BOB: &str = "bob@fund.test";

async fn fake_with(clock: Option<SharedClock>) -> FakeGoogle {
    let fake = FakeGoogle::start(FakeOptions {
        clock,
        ..Default::default()
    })
    .await
    .unwrap();
    fake.add_user(ALICE);
    fake.add_user(BOB);
    fake
}

fn dwd(fake: &FakeGoogle, clock: SharedClock) -> TokenProvider {
    let key = ServiceAccountKey::from_json(&fake.service_account_json()).unwrap();
    TokenProvider::service_account(key, fake.token_uri(), reqwest::Client::new(), clock).with_retry(
        TokenRetry {
            max: 4,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        },
    )
}

fn gmail(fake: &FakeGoogle, tokens: TokenProvider) -> GmailClient {
    let settings = GmailSettings {
        api_base: fake.api_base(),
        units_per_sec: 0,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
        ..GmailSettings::default()
    };
    GmailClient::new(settings, tokens, reqwest::Client::new())
}

#[tokio::test]
async fn the_fakes_key_file_loads_with_its_identity() {
    let fake = fake_with(None).await;
    let key = ServiceAccountKey::from_json(&fake.service_account_json()).unwrap();
    assert_eq!(key.client_email, fake.client_email());
    assert_eq!(key.token_uri, fake.token_uri());
    assert!(!key.private_key_id.is_empty());
    assert!(!format!("{key:?}").contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_token_minted_against_the_fake_opens_the_mailbox() {
    let fake = fake_with(None).await;
    let tokens = dwd(&fake, clock::system());
    let token = tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    assert!(!token.token.expose().is_empty());
    assert_eq!(fake.counters().token_exchanges, 1);
    let profile = gmail(&fake, tokens).get_profile(ALICE).await.unwrap();
    assert_eq!(profile.email_address, ALICE);
    assert_eq!(profile.history_id, fake.history_id(ALICE));
    // The Gmail call reused the cached token.
    assert_eq!(fake.counters().token_exchanges, 1);
}

#[tokio::test]
async fn a_token_is_reused_until_five_minutes_before_expiry_and_then_refreshed() {
    let manual = ManualClock::new(Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap());
    let clock: SharedClock = manual.clone();
    let fake = fake_with(Some(clock.clone())).await;
    let tokens = dwd(&fake, clock);
    let first = tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    // expires_in 3599: refresh is due at 3599 - 300 = 3299 s.
    manual.advance(ChronoDuration::seconds(3298));
    let same = tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    assert_eq!(same.token.expose(), first.token.expose());
    assert_eq!(fake.counters().token_exchanges, 1);
    manual.advance(ChronoDuration::seconds(2));
    let fresh = tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    assert_ne!(fresh.token.expose(), first.token.expose());
    assert_eq!(fake.counters().token_exchanges, 2);
    assert!(fresh.expires_at > first.expires_at);
}

#[tokio::test]
async fn fifty_concurrent_callers_share_one_exchange() {
    let fake = fake_with(None).await;
    let tokens = dwd(&fake, clock::system());
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let t = tokens.clone();
            tokio::spawn(async move { t.token(ALICE, &[scopes::GMAIL_READONLY]).await })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for c in callers {
        seen.insert(c.await.unwrap().unwrap().token.expose().clone());
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(fake.counters().token_exchanges, 1);
}

#[tokio::test]
async fn the_cache_is_per_mailbox_and_scope_set() {
    let fake = fake_with(None).await;
    let tokens = dwd(&fake, clock::system());
    let both = [scopes::GMAIL_READONLY, scopes::GMAIL_COMPOSE];
    let a = tokens.token(ALICE, &both).await.unwrap();
    let b = tokens
        .token(ALICE, &[scopes::GMAIL_COMPOSE, scopes::GMAIL_READONLY])
        .await
        .unwrap();
    assert_eq!(a.token.expose(), b.token.expose());
    tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    tokens.token(BOB, &both).await.unwrap();
    assert_eq!(fake.counters().token_exchanges, 3);
}

#[tokio::test]
async fn a_revoked_grant_names_the_mailbox_and_the_others_carry_on() {
    let fake = fake_with(None).await;
    fake.revoke_user(BOB);
    let tokens = dwd(&fake, clock::system());
    let err = tokens
        .token(BOB, &[scopes::GMAIL_READONLY])
        .await
        .unwrap_err();
    match &err {
        AuthError::Unauthorized { mailbox, code, .. } => {
            assert_eq!(mailbox, BOB);
            assert_eq!(code, "unauthorized_client");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(err.is_permanent());
    let text = format!("{err} {err:?}");
    assert!(text.contains(BOB), "{text}");
    assert!(!text.contains("eyJ"), "a JWT leaked into the error: {text}");
    // A permanent refusal is not retried.
    assert_eq!(fake.counters().token_exchanges, 1);

    let client = gmail(&fake, tokens);
    let gerr = client.get_profile(BOB).await.unwrap_err();
    assert_eq!(gerr.unauthorized_mailbox(), Some(BOB));
    assert_eq!(
        client.get_profile(ALICE).await.unwrap().email_address,
        ALICE
    );
}

#[tokio::test]
async fn a_scope_the_user_has_not_granted_is_a_typed_refusal() {
    let fake = fake_with(None).await;
    fake.set_user_scopes(ALICE, &[scopes::GMAIL_READONLY]);
    let tokens = dwd(&fake, clock::system());
    tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    let err = tokens
        .token(ALICE, &[scopes::GMAIL_COMPOSE])
        .await
        .unwrap_err();
    assert_eq!(err.unauthorized_mailbox(), Some(ALICE), "{err:?}");
}

#[tokio::test]
async fn server_errors_at_the_token_endpoint_are_retried() {
    let fake = fake_with(None).await;
    fake.fail_next("token", 2, FaultKind::ServerError);
    let tokens = dwd(&fake, clock::system());
    let token = tokens
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap();
    assert!(!token.token.expose().is_empty());
    assert_eq!(fake.counters().token_exchanges, 3);
}

#[tokio::test]
async fn oauth_code_exchange_then_refresh_grant_opens_the_mailbox() {
    let fake = fake_with(None).await;
    fake.add_oauth_client("cid-1", "csecret-1");
    let redirect = "http://127.0.0.1:8765/api/email/oauth/callback";
    let code = fake.authorize_code("cid-1", ALICE, &[scopes::GMAIL_READONLY], redirect);
    let client = OAuthClient {
        client_id: "cid-1".into(),
        client_secret: Secret::new("csecret-1".into()),
        token_uri: fake.token_uri(),
    };
    let http = reqwest::Client::new();
    let grant = client
        .exchange_code(&http, &clock::system(), &code, redirect)
        .await
        .unwrap();
    let refresh = grant
        .refresh_token
        .expect("first consent yields a refresh token");
    assert!(!grant.access_token.token.expose().is_empty());

    let tokens = TokenProvider::oauth(client.clone(), http.clone(), clock::system());
    tokens.set_refresh_token(ALICE, refresh.clone());
    let profile = gmail(&fake, tokens).get_profile(ALICE).await.unwrap();
    assert_eq!(profile.email_address, ALICE);

    fake.revoke_refresh_tokens(ALICE);
    let fresh = TokenProvider::oauth(client, http, clock::system());
    fresh.set_refresh_token(ALICE, refresh);
    let err = fresh
        .token(ALICE, &[scopes::GMAIL_READONLY])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::Unauthorized { mailbox, code, .. } if mailbox == ALICE && code == "invalid_grant"),
        "{err:?}"
    );
    let missing = fresh
        .token(BOB, &[scopes::GMAIL_READONLY])
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        AuthError::NoRefreshToken {
            mailbox: BOB.into()
        }
    );
}
