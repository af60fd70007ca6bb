//! Google's push-signing keys, fetched from the JWKS URI and cached in
//! memory. Fetch policy, all timed by the injected clock:
//! - keys are fresh for the response's `Cache-Control: max-age`;
//! - a kid we do not know triggers a refetch (Google rotates keys), but
//!   never sooner than `MIN_REFETCH` after the previous fetch, so a flood
//!   of tokens with made-up kids cannot turn into a flood at Google;
//! - after a failed fetch we try again no sooner than `RETRY_AFTER_FAILURE`,
//!   and meanwhile keep using stale keys that still name the token's kid.
//!
//! One fetch at a time: concurrent verifications wait for it rather than
//! each fetching. Talks to: the JWKS URI over HTTP.

use super::PushError;
use crate::clock::SharedClock;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;

const MIN_REFETCH: Duration = Duration::seconds(60);
const RETRY_AFTER_FAILURE: Duration = Duration::seconds(5);
/// Longest we trust a key set, whatever `max-age` says.
const MAX_FRESH_SECS: i64 = 24 * 3600;
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Google's key set is a few KB; anything much bigger is not a JWKS.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub(super) struct JwksCache {
    http: reqwest::Client,
    uri: String,
    clock: SharedClock,
    state: tokio::sync::Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Option<DateTime<Utc>>,
    /// No fetch before this instant (rate limit on refetches).
    next_fetch: Option<DateTime<Utc>>,
}

impl JwksCache {
    pub(super) fn new(http: reqwest::Client, uri: String, clock: SharedClock) -> JwksCache {
        JwksCache {
            http,
            uri,
            clock,
            state: tokio::sync::Mutex::new(Cached::default()),
        }
    }

    /// The key published under `kid`, fetching the set if it is stale or
    /// lacks `kid` and the refetch limit allows.
    pub(super) async fn key(&self, kid: &str) -> Result<DecodingKey, PushError> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        let fresh = st.fresh_until.is_some_and(|t| now < t);
        if let (true, Some(key)) = (fresh, st.keys.get(kid)) {
            return Ok(key.clone());
        }
        let may_fetch = st.next_fetch.is_none_or(|t| now >= t);
        if may_fetch {
            match self.fetch().await {
                Ok((keys, max_age)) => {
                    st.keys = keys;
                    st.fresh_until = Some(now + max_age);
                    st.next_fetch = Some(now + MIN_REFETCH);
                }
                Err(e) => {
                    st.next_fetch = Some(now + RETRY_AFTER_FAILURE);
                    return match st.keys.get(kid) {
                        Some(stale) => {
                            tracing::warn!(error = %e, "push JWKS refetch failed; using cached keys");
                            Ok(stale.clone())
                        }
                        None => Err(e),
                    };
                }
            }
        }
        match st.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if st.keys.is_empty() => Err(PushError::JwksUnavailable(
                "no keys fetched yet; retrying shortly".into(),
            )),
            None => Err(PushError::UnknownKey(short(kid))),
        }
    }

    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Duration), PushError> {
        let unavailable = |what: String| PushError::JwksUnavailable(what);
        let resp = self
            .http
            .get(&self.uri)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching the JWKS failed: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(unavailable(format!("the JWKS URI answered {status}")));
        }
        if resp.content_length().unwrap_or(0) > MAX_JWKS_BYTES as u64 {
            return Err(unavailable("the JWKS is implausibly large".into()));
        }
        let max_age = resp
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map_or(0, max_age_secs);
        let body = resp
            .bytes()
            .await
            .map_err(|e| unavailable(format!("reading the JWKS failed: {e}")))?;
        let keys = parse_jwks(&body).map_err(unavailable)?;
        Ok((keys, Duration::seconds(max_age.clamp(0, MAX_FRESH_SECS))))
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RS256 signing keys of a JWKS by kid; other entries are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let jwks: Jwks =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS is not valid JSON: {e}"))?;
    let keys: HashMap<String, DecodingKey> = jwks
        .keys
        .into_iter()
        .filter(|k| k.kty.as_deref() == Some("RSA"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter(|k| k.usage.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
            Some((k.kid?, key))
        })
        .collect();
    if keys.is_empty() {
        return Err("the JWKS lists no RS256 signing keys".into());
    }
    Ok(keys)
}

/// `max-age` of a Cache-Control value; `no-cache`/`no-store` mean 0.
fn max_age_secs(value: &str) -> i64 {
    let mut age = 0;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return 0;
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().unwrap_or(0);
        }
    }
    age
}

/// A kid from the network, cut short for messages and logs.
fn short(kid: &str) -> String {
    kid.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control_and_no_cache_wins() {
        let cases = [
            (
                "public, max-age=23000, must-revalidate, no-transform",
                23000,
            ),
            ("max-age=60", 60),
            ("MAX-AGE=\"120\"", 120),
            ("public", 0),
            ("no-cache, max-age=600", 0),
            ("max-age=abc", 0),
        ];
        for (value, want) in cases {
            assert_eq!(max_age_secs(value), want, "{value}");
        }
    }

    #[test]
    fn a_jwks_keeps_only_rs256_signing_keys_and_refuses_an_empty_set() {
        // n/e of a tiny (insecure, test-only) RSA key are enough to parse.
        let rsa = r#"{"kty":"RSA","alg":"RS256","use":"sig","kid":"a","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}"#;
        let body = format!(
            r#"{{"keys":[{rsa},{{"kty":"EC","kid":"b","crv":"P-256"}},{}]}}"#,
            rsa.replace(r#""kid":"a""#, r#""kid":"c""#)
                .replace("RS256", "RS512")
        );
        let keys = parse_jwks(body.as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
        let err = parse_jwks(br#"{"keys":[]}"#).err().unwrap();
        assert!(err.contains("no RS256"), "{err}");
        assert!(parse_jwks(b"<html>").is_err());
    }
}
