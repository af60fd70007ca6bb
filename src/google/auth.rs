//! Google credentials: the service-account key file, the domain-wide
//! delegation JWT assertion signed from it (RS256, jsonwebtoken on aws-lc),
//! and the OAuth client for per-mailbox refresh tokens. The token cache and
//! the exchanges with the token endpoint live in [`crate::google::token`];
//! its [`TokenProvider`] is re-exported here.

use crate::google::error::AuthError;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use crate::google::token::{AccessToken, OAuthGrant, TokenProvider, TokenRetry};

/// The Gmail scopes this daemon asks for.
pub mod scopes {
    /// Capture: list, get, history, attachments; also enough for watch/stop
    /// (the discovery document lists gmail.readonly for `users.watch`).
    pub const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
    /// Drafts and the digest send.
    pub const GMAIL_COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
}

/// Google's own token endpoint; what `aud` says when the key file has none.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The JWT-bearer grant type (RFC 7523) used for service-account tokens.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A Google service-account key (the JSON file from the Cloud console).
#[derive(Clone)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: String,
    pub private_key: Secret<String>,
    /// The key file's `token_uri` (Google's when absent).
    pub token_uri: String,
    pub project_id: Option<String>,
    pub client_id: Option<String>,
    signing_key: Secret<EncodingKey>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &self.private_key)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawKey {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    client_email: Option<String>,
    client_id: Option<String>,
    token_uri: Option<String>,
}

fn invalid(field: &str, problem: impl Into<String>) -> AuthError {
    AuthError::InvalidKey {
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn required(value: Option<String>, field: &str) -> Result<String, AuthError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(invalid(field, "is empty")),
        None => Err(invalid(field, "is missing")),
    }
}

impl ServiceAccountKey {
    /// Parse and check a key file's JSON. Errors name the field at fault
    /// and never echo key material.
    pub fn from_json(s: &str) -> Result<Self, AuthError> {
        // serde_json's message gives line/column only, never the content.
        let raw: RawKey = serde_json::from_str(s)
            .map_err(|e| invalid("(file)", format!("not valid service-account JSON: {e}")))?;
        if let Some(kind) = raw.kind.as_deref() {
            if kind != "service_account" {
                return Err(invalid(
                    "type",
                    format!("expected \"service_account\", got {kind:?}"),
                ));
            }
        }
        let private_key_id = required(raw.private_key_id, "private_key_id")?;
        let client_email = required(raw.client_email, "client_email")?;
        let private_key = required(raw.private_key, "private_key")?;
        let signing_key = parse_signing_key(&private_key)?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id,
            private_key: Secret::new(private_key),
            token_uri: raw
                .token_uri
                .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_string()),
            project_id: raw.project_id,
            client_id: raw.client_id,
            signing_key: Secret::new(signing_key),
        })
    }

    /// Read and parse a key file; the error names the path, not the content.
    pub fn from_file(p: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| invalid("(file)", format!("cannot read {}: {e}", p.display())))?;
        Self::from_json(&text)
    }

    /// The DWD assertion for `mailbox` with `scopes`, valid for an hour from
    /// `now`, audience `aud` (the token URI it will be posted to).
    pub fn assertion(
        &self,
        mailbox: &str,
        scopes: &[&str],
        aud: &str,
        now: DateTime<Utc>,
    ) -> Result<Secret<String>, AuthError> {
        let iat = now.timestamp();
        let claims = Claims {
            iss: &self.client_email,
            sub: mailbox,
            scope: scopes.join(" "),
            aud,
            iat,
            exp: iat + 3600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.private_key_id.clone());
        jsonwebtoken::encode(&header, &claims, self.signing_key.expose())
            .map(Secret::new)
            .map_err(|e| AuthError::Signing(e.kind_name()))
    }
}

/// The JWT claims Google expects for a delegated service-account token.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Load the PEM and prove it can sign: jsonwebtoken only checks the PEM
/// framing, so a broken key would otherwise surface at the first exchange.
fn parse_signing_key(pem: &str) -> Result<EncodingKey, AuthError> {
    let problem = "not a usable RSA private key in PEM form (PKCS#8 or PKCS#1)";
    let key =
        EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| invalid("private_key", problem))?;
    let header = Header::new(Algorithm::RS256);
    jsonwebtoken::encode(&header, &serde_json::json!({"probe": true}), &key)
        .map_err(|_| invalid("private_key", problem))?;
    Ok(key)
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    /// The error kind only: some kinds carry backend text we do not need.
    fn kind_name(&self) -> String {
        let kind = format!("{:?}", self.kind());
        kind.split('(').next().unwrap_or("unknown").to_string()
    }
}

/// An OAuth client (OAuth mode): refresh grants and the code exchange.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub token_uri: String,
}

/// Keys for unit tests elsewhere in `google`.
#[cfg(test)]
pub(crate) mod test_support {
    /// A throwaway 2048-bit key (PKCS#8 PEM), generated once per test run.
    pub(crate) fn test_key_pem() -> String {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        PEM.get_or_init(|| {
            let mut rng = rand::thread_rng();
            let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
            key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
        })
        .clone()
    }

    pub(crate) fn test_key() -> super::ServiceAccountKey {
        let json = serde_json::json!({
            "type": "service_account", "private_key_id": "kid-1", "private_key": test_key_pem(),
            "client_email": "sa@p.iam.gserviceaccount.com", "token_uri": "http://127.0.0.1:1/token"
        });
        super::ServiceAccountKey::from_json(&json.to_string()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::test_key_pem;
    use super::*;
    use chrono::TimeZone;

    fn key_json(pem: &str, drop: &str) -> String {
        let mut v = serde_json::json!({
            "type": "service_account", "project_id": "p", "private_key_id": "kid-1",
            "private_key": pem, "client_email": "sa@p.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "http://127.0.0.1:1/token"
        });
        v.as_object_mut().unwrap().remove(drop);
        v.to_string()
    }

    #[test]
    fn a_malformed_key_file_is_a_clear_error() {
        let err = ServiceAccountKey::from_json("{\"type\": \"service_account\",").unwrap_err();
        assert!(matches!(err, AuthError::InvalidKey { .. }));
        assert!(
            err.to_string().contains("not valid service-account JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_key_without_private_key_id_names_the_field() {
        let pem = test_key_pem();
        let err = ServiceAccountKey::from_json(&key_json(&pem, "private_key_id")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "service-account key: private_key_id: is missing"
        );
        let err = ServiceAccountKey::from_json(&key_json(&pem, "client_email")).unwrap_err();
        assert!(err.to_string().contains("client_email"), "{err}");
    }

    #[test]
    fn a_pem_that_does_not_parse_is_rejected_without_echoing_it() {
        let bogus = "-----BEGIN PRIVATE KEY-----\nTUlJQ0FOT1RBS0VZ\n-----END PRIVATE KEY-----\n";
        let err = ServiceAccountKey::from_json(&key_json(bogus, "")).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("private_key"), "{text}");
        assert!(!text.contains("TUlJQ0FOT1RBS0VZ"), "{text}");
    }

    #[test]
    fn the_assertion_carries_the_dwd_claims_and_kid() {
        let pem = test_key_pem();
        let key = ServiceAccountKey::from_json(&key_json(&pem, "")).unwrap();
        assert!(!format!("{key:?}").contains("PRIVATE KEY"));
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let jwt = key
            .assertion(
                "bob@fund.test",
                &[scopes::GMAIL_READONLY, scopes::GMAIL_COMPOSE],
                "http://t/token",
                now,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&crate::google::types::decode_base64url(parts[0]).unwrap())
                .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], "kid-1");
        let claims: serde_json::Value =
            serde_json::from_slice(&crate::google::types::decode_base64url(parts[1]).unwrap())
                .unwrap();
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["sub"], "bob@fund.test");
        assert_eq!(claims["aud"], "http://t/token");
        assert_eq!(
            claims["scope"],
            format!("{} {}", scopes::GMAIL_READONLY, scopes::GMAIL_COMPOSE)
        );
        assert_eq!(claims["iat"], now.timestamp());
        assert_eq!(claims["exp"], now.timestamp() + 3600);
    }
}
