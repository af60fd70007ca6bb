//! Google's OIDC side of Pub/Sub push: the key Google signs push tokens
//! with, its JWKS at `GET /oauth2/v3/certs`, and minting of the
//! `Authorization: Bearer` JWT a push subscription would send, plus the
//! push envelope itself. One RSA-2048 key per process, generated on first
//! use (like the service-account key in `keys`); a token "from a stranger"
//! is signed with the service-account key, which the JWKS never lists.
//! Talks to: whoever fetches the JWKS over HTTP; tests call the minting
//! methods directly.

use super::keys;
use super::reply::Reply;
use super::state::Shared;
use super::{FakeGoogle, FaultKind};
use crate::google::types::encode_base64url;
use base64::Engine;
use rand::Rng;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The identity Pub/Sub puts in `email` of a push token.
pub(crate) const PUSH_EMAIL: &str = "pubsub-push@email-sidecar-fake.iam.gserviceaccount.com";
const ISSUER: &str = "https://accounts.google.com";
const SUBSCRIPTION: &str = "projects/email-sidecar-fake/subscriptions/gmail-push";

/// An RS256 signing key with its JWKS identity.
pub(crate) struct OidcKey {
    signer: SigningKey<Sha256>,
    kid: String,
    n: String,
    e: String,
}

static GOOGLE: OnceLock<Result<OidcKey, String>> = OnceLock::new();
static STRANGER: OnceLock<Result<OidcKey, String>> = OnceLock::new();

/// Google's push-signing key, generated on first use. Blocking.
pub(crate) fn google_key() -> Result<&'static OidcKey, String> {
    GOOGLE
        .get_or_init(|| {
            let private =
                RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| e.to_string())?;
            Ok(OidcKey::new(private, None))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A key the JWKS never lists: the service account's, under its own kid.
fn stranger_key() -> Result<&'static OidcKey, String> {
    STRANGER
        .get_or_init(|| {
            let sa = keys::sa_key()?;
            let private = RsaPrivateKey::from_pkcs8_pem(&sa.pem).map_err(|e| e.to_string())?;
            Ok(OidcKey::new(
                private,
                Some(format!("stranger-{}", sa.key_id)),
            ))
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl OidcKey {
    fn new(private: RsaPrivateKey, kid: Option<String>) -> OidcKey {
        let public = RsaPublicKey::from(&private);
        let n = public.n().to_bytes_be();
        // Google's kids are 40 hex digits; derive ours from the modulus.
        let kid = kid.unwrap_or_else(|| hex::encode(&Sha256::digest(&n)[..20]));
        OidcKey {
            signer: SigningKey::<Sha256>::new(private),
            kid,
            n: encode_base64url(&n),
            e: encode_base64url(&public.e().to_bytes_be()),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            encode_base64url(header.to_string().as_bytes()),
            encode_base64url(claims.to_string().as_bytes())
        );
        let sig = self.signer.sign(input.as_bytes());
        format!("{input}.{}", encode_base64url(&sig.to_vec()))
    }

    fn jwk(&self) -> Value {
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

/// `GET /oauth2/v3/certs`: counted; `fail_next("jwks", …)` applies.
pub(crate) async fn jwks(shared: &Shared) -> Reply {
    {
        let mut st = shared.lock();
        st.counters.jwks_fetches += 1;
        st.count_call("jwks");
        if let Some(kind) = st.faults.take_targeted("jwks") {
            st.counters.injected_faults += 1;
            return fault_reply(kind);
        }
    }
    let key = match tokio::task::spawn_blocking(google_key).await {
        Ok(Ok(key)) => key,
        _ => return Reply::json(500, &json!({"error": "key generation failed"})),
    };
    Reply::json(200, &json!({"keys": [key.jwk()]})).with_header(
        "cache-control",
        format!(
            "public, max-age={}, must-revalidate, no-transform",
            FakeGoogle::JWKS_MAX_AGE_SECS
        ),
    )
}

fn fault_reply(kind: FaultKind) -> Reply {
    let status = match kind {
        FaultKind::Reset => return Reply::Reset,
        FaultKind::ServerError => 503,
        FaultKind::NotFound => 404,
        FaultKind::RateLimit429 | FaultKind::RetryAfter(_) => 429,
        FaultKind::RateLimit403 => 403,
    };
    Reply::json(status, &json!({"error": "injected fault"}))
}

/// The token's stand-in when key generation failed (it does not in
/// practice): three segments that can never verify.
fn unsigned(err: &str) -> String {
    format!("keygen-failed.{}.x", encode_base64url(err.as_bytes()))
}

impl FakeGoogle {
    /// What the JWKS's `Cache-Control: max-age` says (Google's is hours).
    pub const JWKS_MAX_AGE_SECS: u64 = 6 * 3600;

    /// Where Google's push-signing keys are published.
    pub fn jwks_uri(&self) -> String {
        format!("{}/oauth2/v3/certs", self.url())
    }

    /// The claims of a genuine push token for `audience`, issued now by the
    /// fake's clock and valid for an hour.
    pub fn push_claims(&self, audience: &str) -> Value {
        let iat = self.shared.clock.now().timestamp();
        json!({
            "iss": ISSUER,
            "aud": audience,
            "azp": "104938271650938271651",
            "email": PUSH_EMAIL,
            "email_verified": true,
            "sub": "104938271650938271651",
            "iat": iat,
            "exp": iat + 3600,
        })
    }

    /// A genuine Pub/Sub push token for `audience`. Blocking on first use
    /// (key generation).
    pub fn mint_push_token(&self, audience: &str) -> String {
        self.mint_push_token_with(self.push_claims(audience))
    }

    /// Any claims, signed with Google's push key under its published kid.
    pub fn mint_push_token_with(&self, claims: Value) -> String {
        match google_key() {
            Ok(key) => key.sign(&claims),
            Err(e) => unsigned(&e),
        }
    }

    /// A well-formed token for `audience` signed by a key the JWKS never
    /// lists, under a kid it never lists either.
    pub fn mint_push_token_unknown_key(&self, audience: &str) -> String {
        match stranger_key() {
            Ok(key) => key.sign(&self.push_claims(audience)),
            Err(e) => unsigned(&e),
        }
    }

    /// The kid Google's push key is published under.
    pub fn push_key_id(&self) -> String {
        google_key().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// A Pub/Sub push request body for a Gmail notification: `data` is
    /// standard base64 of `{"emailAddress","historyId"}`, the id a JSON
    /// number (as real deliveries send it) or a string (as the docs show).
    pub fn push_body(email: &str, history_id: u64, as_number: bool) -> String {
        let history: Value = if as_number {
            json!(history_id)
        } else {
            json!(history_id.to_string())
        };
        let data = json!({"emailAddress": email, "historyId": history}).to_string();
        let message_id = rand::thread_rng().gen_range(1_000_000_000_000u64..10_000_000_000_000);
        json!({
            "message": {
                "data": base64::engine::general_purpose::STANDARD.encode(data),
                "messageId": message_id.to_string(),
                "message_id": message_id.to_string(),
                "publishTime": "2026-04-01T09:00:00.000Z",
                "publish_time": "2026-04-01T09:00:00.000Z",
            },
            "subscription": SUBSCRIPTION,
        })
        .to_string()
    }
}
