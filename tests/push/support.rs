//! The verifier rig: a fake Google and a PushVerifier on one ManualClock,
//! the verifier fetching the fake's JWKS over HTTP.

use chrono::{TimeZone, Utc};
use email_sidecar::capture::push::{PushClaims, PushError, PushVerifier};
use email_sidecar::clock::{Clock, ManualClock, SharedClock};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use email_sidecar::google::types::encode_base64url;
use serde_json::Value;
use std::sync::Arc;

pub const AUDIENCE: &str = "https://sidecar.fund.test/api/email/push";
pub const PUSH_EMAIL: &str = "pubsub-push@email-sidecar-fake.iam.gserviceaccount.com";

pub struct Rig {
    pub fake: FakeGoogle,
    pub clock: Arc<ManualClock>,
    pub verifier: PushVerifier,
}

pub async fn rig() -> Rig {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap());
    let shared: SharedClock = clock.clone();
    let fake = FakeGoogle::start(FakeOptions {
        clock: Some(shared.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let verifier = verifier_for(fake.jwks_uri(), shared);
    Rig {
        fake,
        clock,
        verifier,
    }
}

pub fn verifier_for(jwks_uri: String, clock: SharedClock) -> PushVerifier {
    PushVerifier::new(reqwest::Client::new(), jwks_uri, AUDIENCE.into(), clock)
}

impl Rig {
    pub async fn verify(&self, token: &str) -> Result<PushClaims, PushError> {
        self.verifier.verify(Some(&format!("Bearer {token}"))).await
    }

    pub fn claims_with(&self, change: impl FnOnce(&mut Value)) -> Value {
        let mut claims = self.fake.push_claims(AUDIENCE);
        change(&mut claims);
        claims
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

/// A token whose header and claims are ours but whose signature is not.
pub fn unsigned_token(header: Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        encode_base64url(header.to_string().as_bytes()),
        encode_base64url(claims.to_string().as_bytes())
    )
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
