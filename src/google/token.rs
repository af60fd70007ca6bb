//! Access tokens: exchanges at the token endpoint (DWD JWT-bearer or OAuth
//! refresh grant), cached per (mailbox, scope set) until five minutes before
//! expiry, with ONE exchange in flight per key however many callers wait.
//! Talks to the token URI over HTTP; Gmail calls ask it for tokens.

use crate::clock::SharedClock;
use crate::google::auth::{OAuthClient, ServiceAccountKey, JWT_BEARER_GRANT};
use crate::google::error::AuthError;
use crate::google::retry::Backoff;
use crate::secret::Secret;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Mutex as AsyncMutex;

/// Tokens are refreshed this long before Google says they expire.
const REFRESH_MARGIN_SECS: i64 = 300;

/// A bearer token and when it stops working.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret<String>,
    pub expires_at: DateTime<Utc>,
}

/// What the authorization-code exchange (OAuth callback) yields.
#[derive(Clone, Debug)]
pub struct OAuthGrant {
    /// Google sends one only on first consent (or with `prompt=consent`).
    pub refresh_token: Option<Secret<String>>,
    pub access_token: AccessToken,
    pub scope: Option<String>,
}

/// Retries of 5xx/connection failures at the token endpoint.
#[derive(Clone, Copy, Debug)]
pub struct TokenRetry {
    pub max: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for TokenRetry {
    fn default() -> Self {
        TokenRetry {
            max: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
        }
    }
}

enum Mode {
    ServiceAccount {
        key: ServiceAccountKey,
        token_uri: String,
    },
    OAuth {
        client: OAuthClient,
    },
}

/// Looks a mailbox's refresh token up where it is kept (the store), so a
/// mailbox connected by OAuth while the daemon runs, or re-consented, is
/// used without a restart. `None` = not there (or not usable).
pub type RefreshTokenSource =
    Arc<dyn Fn(String) -> BoxFuture<'static, Option<Secret<String>>> + Send + Sync>;

type CacheKey = (String, String);
type Slot = Arc<AsyncMutex<Option<AccessToken>>>;

struct Inner {
    mode: Mode,
    http: reqwest::Client,
    clock: SharedClock,
    retry: TokenRetry,
    slots: Mutex<HashMap<CacheKey, Slot>>,
    refresh_tokens: RwLock<HashMap<String, Secret<String>>>,
    refresh_source: Option<RefreshTokenSource>,
}

/// Mints and caches access tokens. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.inner.mode {
            Mode::ServiceAccount { .. } => "service_account",
            Mode::OAuth { .. } => "oauth",
        };
        f.debug_struct("TokenProvider")
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenProvider {
    /// DWD mode: sign assertions with `key`, post them to `token_uri` (also
    /// the JWT's `aud`).
    pub fn service_account(
        key: ServiceAccountKey,
        token_uri: String,
        http: reqwest::Client,
        clock: SharedClock,
    ) -> Self {
        Self::with_mode(Mode::ServiceAccount { key, token_uri }, http, clock)
    }

    /// OAuth mode: refresh grants with per-mailbox refresh tokens.
    pub fn oauth(client: OAuthClient, http: reqwest::Client, clock: SharedClock) -> Self {
        Self::with_mode(Mode::OAuth { client }, http, clock)
    }

    fn with_mode(mode: Mode, http: reqwest::Client, clock: SharedClock) -> Self {
        TokenProvider {
            inner: Arc::new(Inner {
                mode,
                http,
                clock,
                retry: TokenRetry::default(),
                slots: Mutex::new(HashMap::new()),
                refresh_tokens: RwLock::new(HashMap::new()),
                refresh_source: None,
            }),
        }
    }

    /// Replace the token-endpoint retry policy (call before sharing).
    pub fn with_retry(self, retry: TokenRetry) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.retry = retry;
                TokenProvider {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => TokenProvider { inner },
        }
    }

    /// OAuth mode: where refresh tokens are looked up at exchange time (it
    /// wins over tokens set at start). Call before sharing.
    pub fn with_refresh_source(self, source: RefreshTokenSource) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.refresh_source = Some(source);
                TokenProvider {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => TokenProvider { inner },
        }
    }

    /// Puts an access token obtained elsewhere (the OAuth callback's code
    /// exchange) into the cache for `mailbox` and exactly these scopes.
    pub async fn seed(&self, mailbox: &str, scopes: &[&str], token: AccessToken) {
        let (key, _) = cache_key(mailbox, scopes);
        *self.slot(&key).lock().await = Some(token);
    }

    /// The clock tokens are dated by (the Gmail client shares it).
    pub fn clock(&self) -> SharedClock {
        self.inner.clock.clone()
    }

    /// OAuth mode: the mailbox's refresh token (decrypted by the caller).
    pub fn set_refresh_token(&self, mailbox: &str, token: Secret<String>) {
        let mut map = self
            .inner
            .refresh_tokens
            .write()
            .unwrap_or_else(|e| e.into_inner());
        map.insert(mailbox.to_ascii_lowercase(), token);
        drop(map);
        // A new grant makes cached tokens of the old one moot.
        self.forget_mailbox(mailbox);
    }

    /// A valid token for `mailbox` with exactly this scope set.
    pub async fn token(&self, mailbox: &str, scopes: &[&str]) -> Result<AccessToken, AuthError> {
        let (key, scope_list) = cache_key(mailbox, scopes);
        let slot = self.slot(&key);
        // Holding the slot's lock across the exchange is the single flight:
        // concurrent callers queue here and then find the fresh token.
        let mut cached = slot.lock().await;
        let now = self.inner.clock.now();
        if let Some(t) = cached.as_ref() {
            if t.expires_at - ChronoDuration::seconds(REFRESH_MARGIN_SECS) > now {
                return Ok(t.clone());
            }
        }
        let scope_refs: Vec<&str> = scope_list.iter().map(String::as_str).collect();
        let fresh = self.exchange_with_retry(mailbox, &scope_refs).await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drop a cached token that Gmail rejected (401), unless a newer one
    /// has already replaced it.
    pub async fn invalidate(&self, mailbox: &str, scopes: &[&str], rejected: &AccessToken) {
        let (key, _) = cache_key(mailbox, scopes);
        let slot = self.slot(&key);
        let mut cached = slot.lock().await;
        if cached.as_ref().map(|t| t.token.expose()) == Some(rejected.token.expose()) {
            *cached = None;
        }
    }

    fn forget_mailbox(&self, mailbox: &str) {
        let mailbox = mailbox.to_ascii_lowercase();
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.retain(|(m, _), _| *m != mailbox);
    }

    fn slot(&self, key: &CacheKey) -> Slot {
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    async fn exchange_with_retry(
        &self,
        mailbox: &str,
        scopes: &[&str],
    ) -> Result<AccessToken, AuthError> {
        let r = self.inner.retry;
        let backoff = Backoff::new(r.base, r.cap);
        let mut attempt = 0;
        loop {
            match self.exchange_once(mailbox, scopes).await {
                Err(e) if e.is_retryable() && attempt < r.max => {
                    tracing::warn!(mailbox, attempt, error = %e, "token exchange failed; retrying");
                    tokio::time::sleep(backoff.delay(attempt, None)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn exchange_once(
        &self,
        mailbox: &str,
        scopes: &[&str],
    ) -> Result<AccessToken, AuthError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let (uri, form): (&str, Vec<(&str, String)>) = match &inner.mode {
            Mode::ServiceAccount { key, token_uri } => {
                let jwt = key.assertion(mailbox, scopes, token_uri, now)?;
                let form = vec![
                    ("grant_type", JWT_BEARER_GRANT.to_string()),
                    ("assertion", jwt.expose().clone()),
                ];
                (token_uri, form)
            }
            Mode::OAuth { client } => {
                let refresh = self.refresh_token_of(mailbox).await?;
                let form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", refresh.expose().clone()),
                    ("client_id", client.client_id.clone()),
                    ("client_secret", client.client_secret.expose().clone()),
                ];
                (&client.token_uri, form)
            }
        };
        let answer = post_token_form(&inner.http, uri, &form, mailbox).await?;
        Ok(access_token_from(&answer, now))
    }

    async fn refresh_token_of(&self, mailbox: &str) -> Result<Secret<String>, AuthError> {
        if let Some(source) = &self.inner.refresh_source {
            if let Some(token) = source(mailbox.to_ascii_lowercase()).await {
                return Ok(token);
            }
        }
        let map = self
            .inner
            .refresh_tokens
            .read()
            .unwrap_or_else(|e| e.into_inner());
        map.get(&mailbox.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| AuthError::NoRefreshToken {
                mailbox: mailbox.to_string(),
            })
    }
}

impl OAuthClient {
    /// The OAuth callback's authorization-code exchange. Errors name
    /// `"(oauth callback)"` as the mailbox: it is not known yet.
    pub async fn exchange_code(
        &self,
        http: &reqwest::Client,
        clock: &SharedClock,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthGrant, AuthError> {
        let now = clock.now();
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.expose().clone()),
            ("redirect_uri", redirect_uri.to_string()),
        ];
        let answer = post_token_form(http, &self.token_uri, &form, "(oauth callback)").await?;
        Ok(OAuthGrant {
            refresh_token: answer.refresh_token.clone().map(Secret::new),
            access_token: access_token_from(&answer, now),
            scope: answer.scope.clone(),
        })
    }
}

/// Mailbox addresses are case-insensitive; the scope set is order-free.
fn cache_key(mailbox: &str, scopes: &[&str]) -> (CacheKey, Vec<String>) {
    let set: BTreeSet<String> = scopes.iter().map(|s| s.trim().to_string()).collect();
    let list: Vec<String> = set.into_iter().filter(|s| !s.is_empty()).collect();
    ((mailbox.to_ascii_lowercase(), list.join(" ")), list)
}

fn access_token_from(answer: &TokenAnswer, now: DateTime<Utc>) -> AccessToken {
    AccessToken {
        token: Secret::new(answer.access_token.clone()),
        expires_at: now + ChronoDuration::seconds(answer.expires_in.unwrap_or(3599).max(0)),
    }
}

async fn post_token_form(
    http: &reqwest::Client,
    uri: &str,
    form: &[(&str, String)],
    mailbox: &str,
) -> Result<TokenAnswer, AuthError> {
    let transport = |e: reqwest::Error| AuthError::Transport {
        mailbox: mailbox.to_string(),
        message: crate::google::retry::describe_reqwest(&e),
    };
    let resp = http
        .post(uri)
        .form(form)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(transport)?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| AuthError::Decode {
            mailbox: mailbox.to_string(),
            message: format!("token answer: {e}"),
        });
    }
    if status >= 500 || status == 429 {
        return Err(AuthError::Server {
            mailbox: mailbox.to_string(),
            status,
        });
    }
    let err: TokenErrorAnswer = serde_json::from_slice(&body).unwrap_or_default();
    let code = if err.error.is_empty() {
        format!("http_{status}")
    } else {
        err.error
    };
    Err(AuthError::Unauthorized {
        mailbox: mailbox.to_string(),
        code,
        reason: truncate(&err.error_description, 300),
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_ignores_scope_order_and_mailbox_case() {
        let (a, _) = cache_key("Bob@Fund.test", &["b", "a"]);
        let (b, list) = cache_key("bob@fund.test", &["a", "b", "a"]);
        assert_eq!(a, b);
        assert_eq!(list, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn a_token_answer_without_expires_in_gets_googles_default() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let answer: TokenAnswer = serde_json::from_str(r#"{"access_token":"ya29.x"}"#).unwrap();
        let t = access_token_from(&answer, now);
        assert_eq!((t.expires_at - now).num_seconds(), 3599);
        assert!(!format!("{t:?}").contains("ya29"));
    }
}
