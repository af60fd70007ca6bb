//! The OIDC bearer token Pub/Sub attaches to each push: RS256 only, signed
//! by a key in Google's JWKS, issued by Google for our audience, within its
//! lifetime, for a verified email (and, when configured, the one service
//! account our subscription pushes as: anyone can point a subscription of
//! their own at our URL with our audience, so the email is what pins it
//! to ours). Time is the injected clock with a minute's leeway; the
//! library's own `exp` check reads system time, so it is off and done here.
//! Talks to: the JWKS URI, through `jwks`.

use super::jwks::JwksCache;
use super::PushError;
use crate::clock::SharedClock;
use crate::google::types::decode_base64url;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

/// Clock skew tolerated on `exp`, `iat` and `nbf`.
const LEEWAY_SECS: i64 = 60;
const ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// What a verified push token says about its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushClaims {
    /// The service account the subscription pushes as.
    pub email: String,
    pub subject: String,
    pub issuer: String,
    pub audience: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Checks `Authorization` headers of push requests.
pub struct PushVerifier {
    jwks: JwksCache,
    audience: String,
    email: Option<String>,
    clock: SharedClock,
}

impl std::fmt::Debug for PushVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushVerifier")
            .field("audience", &self.audience)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    email: Option<String>,
    email_verified: Option<Value>,
    sub: Option<String>,
}

/// `aud` is a string, or (per RFC 7519) an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl PushVerifier {
    pub fn new(
        http: reqwest::Client,
        jwks_uri: String,
        audience: String,
        clock: SharedClock,
    ) -> PushVerifier {
        PushVerifier {
            jwks: JwksCache::new(http, jwks_uri, clock.clone()),
            audience,
            email: None,
            clock,
        }
    }

    /// Also require the token's `email` to be this service account
    /// (compared case-insensitively).
    pub fn require_email(mut self, email: impl Into<String>) -> PushVerifier {
        self.email = Some(email.into());
        self
    }

    /// Check the `Authorization` header value of one push request.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<PushClaims, PushError> {
        let token = bearer(authorization)?;
        let kid = rs256_kid(token)?;
        let key = self.jwks.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<RawClaims>(token, &key, &validation).map_err(|e| {
            PushError::BadToken(match e.kind() {
                ErrorKind::InvalidSignature => "signature does not verify".into(),
                ErrorKind::Json(_) => "claims are not the expected JSON".into(),
                other => format!("{other:?}"),
            })
        })?;
        self.check(data.claims)
    }

    fn check(&self, c: RawClaims) -> Result<PushClaims, PushError> {
        let issuer = c.iss.unwrap_or_default();
        if !ISSUERS.contains(&issuer.as_str()) {
            return Err(PushError::Issuer(issuer.chars().take(64).collect()));
        }
        let now = self.clock.now().timestamp();
        let exp = c.exp.ok_or_else(|| bad("no exp claim"))?;
        let iat = c.iat.ok_or_else(|| bad("no iat claim"))?;
        if now > exp.saturating_add(LEEWAY_SECS) {
            return Err(PushError::Expired);
        }
        if iat.max(c.nbf.unwrap_or(i64::MIN)) > now.saturating_add(LEEWAY_SECS) {
            return Err(PushError::NotYetValid);
        }
        let audience = match c.aud {
            Some(Audience::One(a)) if a == self.audience => a,
            Some(Audience::Many(list)) if list.contains(&self.audience) => self.audience.clone(),
            Some(Audience::One(a)) => {
                return Err(PushError::Audience(a.chars().take(200).collect()))
            }
            Some(Audience::Many(list)) => return Err(PushError::Audience(list.join(" "))),
            None => return Err(PushError::Audience(String::new())),
        };
        let verified = matches!(&c.email_verified, Some(Value::Bool(true)))
            || matches!(&c.email_verified, Some(Value::String(s)) if s == "true");
        let email = c.email.unwrap_or_default();
        if email.is_empty() || !verified {
            return Err(PushError::EmailUnverified);
        }
        if let Some(want) = &self.email {
            if !email.eq_ignore_ascii_case(want) {
                return Err(PushError::WrongEmail(email.chars().take(200).collect()));
            }
        }
        Ok(PushClaims {
            email,
            subject: c.sub.unwrap_or_default(),
            issuer,
            audience,
            issued_at: timestamp(iat)?,
            expires_at: timestamp(exp)?,
        })
    }
}

fn bad(why: &str) -> PushError {
    PushError::BadToken(why.to_string())
}

fn timestamp(secs: i64) -> Result<DateTime<Utc>, PushError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| bad("timestamp out of range"))
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer(authorization: Option<&str>) -> Result<&str, PushError> {
    let value = authorization.ok_or(PushError::MissingAuthorization)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(PushError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(PushError::NotBearer);
    }
    Ok(token)
}

/// The header's `kid`, once `alg` is known to be RS256: read before any
/// key is chosen so `none`, HS256 (signed with the public key as secret)
/// and friends are refused by name.
fn rs256_kid(token: &str) -> Result<String, PushError> {
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() != 3 {
        return Err(bad("not a JWS compact token (three dot-separated parts)"));
    }
    let header: Value = decode_base64url(segments[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("header is not base64url JSON"))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(alg) => {
            let alg: String = alg.chars().take(16).collect();
            return Err(PushError::BadToken(format!(
                "alg {alg:?} refused: only RS256"
            )));
        }
        None => return Err(bad("header has no alg")),
    }
    match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_string()),
        _ => Err(bad("header has no kid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_bearer_token_is_taken_from_the_header() {
        assert_eq!(bearer(Some("Bearer a.b.c")).unwrap(), "a.b.c");
        assert_eq!(bearer(Some("bearer  a.b.c ")).unwrap(), "a.b.c");
        assert_eq!(bearer(None).unwrap_err(), PushError::MissingAuthorization);
        for bad in [
            "Basic dXNlcjpwdw==",
            "Bearer",
            "Bearer ",
            "a.b.c",
            "Bearer a b",
        ] {
            assert_eq!(
                bearer(Some(bad)).unwrap_err(),
                PushError::NotBearer,
                "{bad}"
            );
        }
    }
}
