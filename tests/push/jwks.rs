//! How PushVerifier fetches Google's keys: once while fresh, again after
//! max-age, at most once a minute for unknown kids, 503 when unreachable,
//! stale keys when a refetch fails.

use super::support::{bearer, rig, verifier_for, AUDIENCE, PUSH_EMAIL};
use chrono::Duration as ChronoDuration;
use email_sidecar::capture::push::PushError;
use email_sidecar::clock::SharedClock;
use email_sidecar::fake_google::{FakeGoogle, FaultKind};
use serde_json::{json, Value};

#[tokio::test]
async fn the_jwks_is_fetched_once_for_many_verifications() {
    let rig = rig().await;
    let token = rig.fake.mint_push_token(AUDIENCE);
    for _ in 0..25 {
        rig.verify(&token).await.unwrap();
    }
    rig.clock.advance(ChronoDuration::seconds(3000));
    rig.verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
}

#[tokio::test]
async fn concurrent_first_verifications_share_one_jwks_fetch() {
    let rig = rig().await;
    let header = bearer(&rig.fake.mint_push_token(AUDIENCE));
    let all = futures::future::join_all((0..12).map(|_| rig.verifier.verify(Some(&header)))).await;
    assert!(all.iter().all(Result::is_ok), "{all:?}");
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
}

#[tokio::test]
async fn the_fakes_jwks_publishes_the_push_key_with_a_max_age() {
    let rig = rig().await;
    let resp = reqwest::get(rig.fake.jwks_uri()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let cache = resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cache.contains(&format!("max-age={}", FakeGoogle::JWKS_MAX_AGE_SECS)),
        "{cache}"
    );
    let jwks: Value = resp.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&key["kty"], &key["alg"], &key["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    assert_eq!(key["kid"], json!(rig.fake.push_key_id()));
    assert_eq!(key["e"], json!("AQAB"));
    let token = rig.fake.mint_push_token(AUDIENCE);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(rig.fake.push_key_id().as_str()));
}

#[tokio::test]
async fn the_keys_are_refetched_once_their_max_age_has_passed() {
    let rig = rig().await;
    rig.verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    rig.clock.advance(ChronoDuration::seconds(
        FakeGoogle::JWKS_MAX_AGE_SECS as i64 - 1,
    ));
    rig.verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
    rig.clock.advance(ChronoDuration::seconds(1));
    rig.verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    assert_eq!(rig.fake.counters().jwks_fetches, 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_the_jwks_at_most_once_a_minute() {
    let rig = rig().await;
    let good = rig.fake.mint_push_token(AUDIENCE);
    let stranger = rig.fake.mint_push_token_unknown_key(AUDIENCE);
    rig.verify(&good).await.unwrap();
    let flood = |expect_fetches: u64| {
        let rig = &rig;
        let (good, stranger) = (&good, &stranger);
        async move {
            for _ in 0..40 {
                let err = rig.verify(stranger).await.unwrap_err();
                assert!(matches!(err, PushError::UnknownKey(_)), "{err:?}");
                assert_eq!(err.status(), 401);
            }
            // Genuine pushes keep flowing during the flood.
            rig.verify(good).await.unwrap();
            assert_eq!(rig.fake.counters().jwks_fetches, expect_fetches);
        }
    };
    flood(1).await; // the cache is seconds old: no refetch at all
    rig.clock.advance(ChronoDuration::seconds(60));
    flood(2).await;
    rig.clock.advance(ChronoDuration::seconds(30));
    flood(2).await;
    rig.clock.advance(ChronoDuration::seconds(30));
    flood(3).await;
}

#[tokio::test]
async fn a_failing_jwks_answers_503_and_heals_when_google_answers_again() {
    let rig = rig().await;
    rig.fake.fail_next("jwks", 1, FaultKind::ServerError);
    let token = rig.fake.mint_push_token(AUDIENCE);
    let err = rig.verify(&token).await.unwrap_err();
    assert!(
        matches!(&err, PushError::JwksUnavailable(m) if m.contains("503")),
        "{err:?}"
    );
    assert_eq!(err.status(), 503);
    assert!(err.is_retryable());
    // Right after a failure we do not hammer the JWKS URI.
    let again = rig.verify(&token).await.unwrap_err();
    assert!(again.is_retryable(), "{again:?}");
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
    rig.clock.advance(ChronoDuration::seconds(5));
    assert_eq!(rig.verify(&token).await.unwrap().email, PUSH_EMAIL);
    assert_eq!(rig.fake.counters().jwks_fetches, 2);
}

#[tokio::test]
async fn an_unreachable_jwks_uri_is_a_retryable_503() {
    let rig = rig().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/oauth2/v3/certs", listener.local_addr().unwrap());
    drop(listener);
    let clock: SharedClock = rig.clock.clone();
    let verifier = verifier_for(dead, clock);
    let header = bearer(&rig.fake.mint_push_token(AUDIENCE));
    let err = verifier.verify(Some(&header)).await.unwrap_err();
    assert!(
        matches!(&err, PushError::JwksUnavailable(m) if m.contains("fetching")),
        "{err:?}"
    );
    assert_eq!((err.status(), err.is_retryable()), (503, true));
    assert!(!err
        .to_string()
        .contains(header.trim_start_matches("Bearer ")));
}

#[tokio::test]
async fn cached_keys_carry_on_when_a_refetch_fails() {
    let rig = rig().await;
    rig.verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    rig.clock.advance(ChronoDuration::seconds(
        FakeGoogle::JWKS_MAX_AGE_SECS as i64 + 1,
    ));
    rig.fake.fail_next("jwks", 1, FaultKind::Reset);
    let claims = rig
        .verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    assert_eq!(claims.email, PUSH_EMAIL);
    assert_eq!(rig.fake.counters().jwks_fetches, 2);
}
