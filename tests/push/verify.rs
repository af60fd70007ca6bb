//! PushVerifier: which tokens pass and which are refused, with the reason
//! and the status each refusal answers.

use super::support::{bearer, rig, unsigned_token, verifier_for, AUDIENCE, PUSH_EMAIL};
use chrono::Duration as ChronoDuration;
use email_sidecar::capture::push::PushError;
use email_sidecar::clock::SharedClock;
use email_sidecar::google::types::encode_base64url;
use serde_json::{json, Value};

#[tokio::test]
async fn a_genuine_push_token_verifies_and_says_who_sent_it() {
    let rig = rig().await;
    let claims = rig
        .verify(&rig.fake.mint_push_token(AUDIENCE))
        .await
        .unwrap();
    assert_eq!(claims.email, PUSH_EMAIL);
    assert_eq!(claims.audience, AUDIENCE);
    assert_eq!(claims.issuer, "https://accounts.google.com");
    assert_eq!(claims.issued_at.timestamp(), rig.now());
    assert_eq!(claims.expires_at.timestamp(), rig.now() + 3600);
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
}

#[tokio::test]
async fn tokens_google_may_also_issue_are_accepted() {
    let rig = rig().await;
    let cases: [(&str, Value); 4] = [
        (
            "bare issuer",
            rig.claims_with(|c| c["iss"] = json!("accounts.google.com")),
        ),
        (
            "audience list",
            rig.claims_with(|c| c["aud"] = json!(["other", AUDIENCE])),
        ),
        (
            "email_verified as a string",
            rig.claims_with(|c| c["email_verified"] = json!("true")),
        ),
        ("issued 59 s in the future", {
            let now = rig.now();
            rig.claims_with(|c| c["iat"] = json!(now + 59))
        }),
    ];
    for (name, claims) in cases {
        let token = rig.fake.mint_push_token_with(claims);
        let got = rig.verify(&token).await;
        assert!(got.is_ok(), "{name}: {got:?}");
        assert_eq!(got.unwrap().audience, AUDIENCE, "{name}");
    }
}

#[tokio::test]
async fn every_bad_token_is_refused_with_its_own_reason_and_status() {
    let rig = rig().await;
    let kid = rig.fake.push_key_id();
    let now = rig.now();
    let genuine = rig.fake.mint_push_token(AUDIENCE);
    let mut parts: Vec<String> = genuine.split('.').map(String::from).collect();
    let forged_claims = rig.claims_with(|c| c["aud"] = json!("https://attacker.test/push"));
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        encode_base64url(
            rig.claims_with(|c| c["email"] = json!("evil@x.test"))
                .to_string()
                .as_bytes()
        ),
        parts[2]
    );
    let mid = parts[2].len() / 2;
    let flipped = if &parts[2][mid..mid + 1] == "A" {
        "B"
    } else {
        "A"
    };
    parts[2].replace_range(mid..mid + 1, flipped);
    let tampered_signature = parts.join(".");
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &rig.fake.push_claims(AUDIENCE),
        &jsonwebtoken::EncodingKey::from_secret(b"the public key, say"),
    )
    .unwrap();
    let mint = |claims: Value| rig.fake.mint_push_token_with(claims);

    type Check = fn(&PushError) -> bool;
    let cases: Vec<(&str, Option<String>, u16, Check)> = vec![
        ("no Authorization header", None, 401, |e| {
            *e == PushError::MissingAuthorization
        }),
        (
            "Basic credentials",
            Some("Basic dXNlcjpwdw==".into()),
            401,
            |e| *e == PushError::NotBearer,
        ),
        (
            "a bearer that is not a JWT",
            Some("Bearer nonsense".into()),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("three")),
        ),
        (
            "another audience",
            Some(bearer(&rig.fake.mint_push_token("https://other.test/push"))),
            403,
            |e| *e == PushError::Audience("https://other.test/push".into()),
        ),
        (
            "no audience",
            Some(bearer(&mint(rig.claims_with(|c| {
                c.as_object_mut().unwrap().remove("aud");
            })))),
            403,
            |e| matches!(e, PushError::Audience(_)),
        ),
        (
            "expired an hour ago",
            Some(bearer(&mint(rig.claims_with(|c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            })))),
            401,
            |e| *e == PushError::Expired,
        ),
        (
            "issued five minutes from now",
            Some(bearer(&mint(
                rig.claims_with(|c| c["iat"] = json!(now + 300)),
            ))),
            401,
            |e| *e == PushError::NotYetValid,
        ),
        (
            "not before five minutes from now",
            Some(bearer(&mint(
                rig.claims_with(|c| c["nbf"] = json!(now + 300)),
            ))),
            401,
            |e| *e == PushError::NotYetValid,
        ),
        (
            "no exp",
            Some(bearer(&mint(rig.claims_with(|c| {
                c.as_object_mut().unwrap().remove("exp");
            })))),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("exp")),
        ),
        (
            "not Google's issuer",
            Some(bearer(&mint(
                rig.claims_with(|c| c["iss"] = json!("https://evil.test")),
            ))),
            401,
            |e| *e == PushError::Issuer("https://evil.test".into()),
        ),
        (
            "email not verified",
            Some(bearer(&mint(
                rig.claims_with(|c| c["email_verified"] = json!(false)),
            ))),
            403,
            |e| *e == PushError::EmailUnverified,
        ),
        (
            "no email at all",
            Some(bearer(&mint(rig.claims_with(|c| {
                let o = c.as_object_mut().unwrap();
                o.remove("email");
                o.remove("email_verified");
            })))),
            403,
            |e| *e == PushError::EmailUnverified,
        ),
        (
            "payload swapped under a genuine signature",
            Some(bearer(&tampered_payload)),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("signature")),
        ),
        (
            "signature altered",
            Some(bearer(&tampered_signature)),
            401,
            |e| matches!(e, PushError::BadToken(_)),
        ),
        (
            "signed by a key Google never published",
            Some(bearer(&rig.fake.mint_push_token_unknown_key(AUDIENCE))),
            401,
            |e| matches!(e, PushError::UnknownKey(k) if k.starts_with("stranger-")),
        ),
        (
            "alg none",
            Some(bearer(&unsigned_token(
                json!({"alg": "none", "kid": kid}),
                &forged_claims,
                "",
            ))),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("\"none\" refused")),
        ),
        (
            "alg HS256 under Google's kid",
            Some(bearer(&hs256)),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("\"HS256\" refused")),
        ),
        (
            "RS256 header without a kid",
            Some(bearer(&unsigned_token(
                json!({"alg": "RS256"}),
                &forged_claims,
                "c2ln",
            ))),
            401,
            |e| matches!(e, PushError::BadToken(m) if m.contains("kid")),
        ),
    ];
    for (name, header, status, check) in cases {
        let err = rig.verifier.verify(header.as_deref()).await.unwrap_err();
        assert!(check(&err), "{name}: got {err:?}");
        assert_eq!(err.status(), status, "{name}: {err}");
        assert!(!err.is_retryable(), "{name}");
    }
    // One fetch served every case: unknown kids came within the minute.
    assert_eq!(rig.fake.counters().jwks_fetches, 1);
}

#[tokio::test]
async fn a_token_expires_on_the_shared_clock_after_a_minutes_leeway() {
    let rig = rig().await;
    let token = rig.fake.mint_push_token(AUDIENCE);
    rig.clock.advance(ChronoDuration::seconds(3600 + 60));
    assert!(rig.verify(&token).await.is_ok(), "within the leeway");
    rig.clock.advance(ChronoDuration::seconds(1));
    let err = rig.verify(&token).await.unwrap_err();
    assert_eq!(err, PushError::Expired);
    assert_eq!(err.status(), 401);
}

#[tokio::test]
async fn only_the_configured_push_identity_passes_when_one_is_required() {
    let rig = rig().await;
    let clock: SharedClock = rig.clock.clone();
    let strict = verifier_for(rig.fake.jwks_uri(), clock)
        .require_email("PubSub-Push@email-sidecar-fake.iam.gserviceaccount.com");
    let header = bearer(&rig.fake.mint_push_token(AUDIENCE));
    assert_eq!(
        strict.verify(Some(&header)).await.unwrap().email,
        PUSH_EMAIL
    );
    let other = rig.fake.mint_push_token_with(
        rig.claims_with(|c| c["email"] = json!("someone@else.iam.gserviceaccount.com")),
    );
    let err = strict.verify(Some(&bearer(&other))).await.unwrap_err();
    assert_eq!(
        err,
        PushError::WrongEmail("someone@else.iam.gserviceaccount.com".into())
    );
    assert_eq!(err.status(), 403);
}
