//! The Gmail API client. Every call goes: per-mailbox quota permit → access
//! token (readonly for reads and watch/stop, compose for drafts and send) →
//! HTTP request with a timeout → typed error → retry with backoff. The
//! endpoint methods are in [`crate::google::calls`], the batch endpoint in
//! [`crate::google::batch`]; this file holds the settings and the engine.

use crate::clock::SharedClock;
use crate::google::auth::{AccessToken, TokenProvider};
use crate::google::error::GmailError;
use crate::google::quota::{GmailMethod, Quota, QuotaSettings};
use crate::google::retry::{self, Backoff};
use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

/// Google's Gmail API base URL.
pub const GOOGLE_API_BASE: &str = "https://gmail.googleapis.com";

/// How the client talks to Gmail. `Default` = production values.
#[derive(Clone, Debug, PartialEq)]
pub struct GmailSettings {
    /// `CRM_GMAIL_API_BASE`; paths `/gmail/v1/users/{mailbox}/…` go under it.
    pub api_base: String,
    /// Per-mailbox budget (`CRM_GMAIL_RATE_UNITS_SEC`); 0 = no pacing.
    pub units_per_sec: u32,
    /// Requests in flight per mailbox (`CRM_GMAIL_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Retries of a transient failure (`CRM_GMAIL_RETRY_MAX`).
    pub retry_max: u32,
    pub backoff_base: Duration,
    /// Longest backoff; a `Retry-After` longer than this is not waited
    /// for: the call fails `RateLimited` and the caller reschedules.
    pub backoff_cap: Duration,
    pub request_timeout: Duration,
    /// Share of the unit budget kept unused for jitter (see `quota`).
    pub quota_headroom: f64,
    /// Units a mailbox's bucket saves up while idle (see `quota`).
    pub burst_units: u32,
}

impl Default for GmailSettings {
    fn default() -> Self {
        GmailSettings {
            api_base: GOOGLE_API_BASE.to_string(),
            units_per_sec: 90,
            max_in_flight: 8,
            retry_max: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(32),
            request_timeout: Duration::from_secs(60),
            quota_headroom: 0.04,
            burst_units: 5,
        }
    }
}

impl GmailSettings {
    pub(crate) fn quota(&self) -> QuotaSettings {
        QuotaSettings {
            units_per_sec: self.units_per_sec,
            headroom: self.quota_headroom,
            burst_units: self.burst_units,
            max_in_flight: self.max_in_flight,
        }
    }

    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.backoff_base, self.backoff_cap)
    }
}

pub(crate) struct ClientInner {
    pub(crate) settings: GmailSettings,
    pub(crate) tokens: TokenProvider,
    pub(crate) http: reqwest::Client,
    pub(crate) quota: Quota,
    pub(crate) clock: SharedClock,
}

/// One per daemon; cheap to clone. Per-mailbox quota buckets inside.
#[derive(Clone)]
pub struct GmailClient {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for GmailClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GmailClient")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// One Gmail request, described so it can be re-sent on retry.
pub(crate) struct Call<'a> {
    pub mailbox: &'a str,
    pub method: GmailMethod,
    pub scope: &'static str,
    pub verb: Method,
    pub url: Url,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    /// What a 404 means, for the error ("message 18c…").
    pub what: String,
}

/// A failed attempt, with what the retry loop needs to decide.
pub(crate) struct Failure {
    pub error: GmailError,
    pub token: Option<AccessToken>,
    /// False when repeating could duplicate a side effect, or when the
    /// token provider already did its own retrying.
    pub may_retry: bool,
}

impl GmailClient {
    pub fn new(settings: GmailSettings, tokens: TokenProvider, http: reqwest::Client) -> Self {
        let quota = Quota::new(settings.quota());
        let clock = tokens.clock();
        GmailClient {
            inner: Arc::new(ClientInner {
                settings,
                tokens,
                http,
                quota,
                clock,
            }),
        }
    }

    pub fn settings(&self) -> &GmailSettings {
        &self.inner.settings
    }

    /// `{api_base}/gmail/v1/users/{mailbox}/{rest…}`, each segment encoded.
    pub(crate) fn users_url(&self, mailbox: &str, rest: &[&str]) -> Result<Url, GmailError> {
        if mailbox.is_empty() || rest.iter().any(|s| s.is_empty()) {
            return Err(GmailError::InvalidRequest(format!(
                "empty path segment in {mailbox:?}/{rest:?}"
            )));
        }
        let base = &self.inner.settings.api_base;
        let mut url = Url::parse(base)
            .map_err(|e| GmailError::InvalidRequest(format!("api_base {base:?}: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| {
                GmailError::InvalidRequest(format!("api_base {base:?} cannot take a path"))
            })?
            .pop_if_empty()
            .extend(["gmail", "v1", "users", mailbox])
            .extend(rest);
        Ok(url)
    }

    /// Run a call with retries and decode its JSON answer.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<T, GmailError> {
        let body = self.execute_raw(call).await?;
        serde_json::from_slice(&body).map_err(|e| {
            GmailError::Decode(format!("{} for {}: {e}", call.method.name(), call.mailbox))
        })
    }

    /// Run a call with retries; the raw body of the 2xx answer.
    pub(crate) async fn execute_raw(&self, call: &Call<'_>) -> Result<Bytes, GmailError> {
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            let failure = match self.attempt(call).await {
                Ok(body) => return Ok(body),
                Err(f) => f,
            };
            match self
                .next_step(&failure, attempt, &mut refreshed, call.mailbox, call.scope)
                .await
            {
                Step::Again => {}
                Step::Wait(delay) => {
                    tracing::debug!(mailbox = call.mailbox, method = call.method.name(), attempt,
                        error = %failure.error, ?delay, "retrying Gmail call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Step::GiveUp => return Err(failure.error),
            }
        }
    }

    /// Decide what follows a failure: a fresh token once after a 401, a
    /// backoff for transient errors within `retry_max`, or giving up.
    pub(crate) async fn next_step(
        &self,
        failure: &Failure,
        attempt: u32,
        refreshed: &mut bool,
        mailbox: &str,
        scope: &str,
    ) -> Step {
        if let GmailError::Unauthenticated { .. } = failure.error {
            if *refreshed {
                return Step::GiveUp;
            }
            *refreshed = true;
            if let Some(token) = &failure.token {
                self.inner.tokens.invalidate(mailbox, &[scope], token).await;
            }
            return Step::Again;
        }
        let settings = &self.inner.settings;
        if !failure.may_retry || !failure.error.is_retryable() || attempt >= settings.retry_max {
            return Step::GiveUp;
        }
        let after = failure.error.retry_after();
        if after.is_some_and(|a| a > settings.backoff_cap) {
            return Step::GiveUp;
        }
        Step::Wait(settings.backoff().delay(attempt, after))
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Bytes, Failure> {
        let inner = &self.inner;
        let _permit = inner.quota.acquire(call.mailbox, call.method).await;
        let token = self.token_for(call.mailbox, call.scope).await?;
        let mut req = inner
            .http
            .request(call.verb.clone(), call.url.clone())
            .bearer_auth(token.token.expose())
            .timeout(inner.settings.request_timeout);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let answer = match self.send(req).await {
            Ok(answer) => answer,
            Err((error, connect)) => {
                let may_retry = connect || call.method.is_idempotent();
                return Err(Failure {
                    error,
                    token: Some(token),
                    may_retry,
                });
            }
        };
        if (200..300).contains(&answer.status) {
            return Ok(answer.body);
        }
        let error = retry::error_from_response(
            call.mailbox,
            &call.what,
            answer.status,
            answer.retry_after,
            &answer.body,
        );
        Err(Failure {
            error,
            token: Some(token),
            may_retry: true,
        })
    }

    pub(crate) async fn token_for(
        &self,
        mailbox: &str,
        scope: &str,
    ) -> Result<AccessToken, Failure> {
        self.inner
            .tokens
            .token(mailbox, &[scope])
            .await
            .map_err(|e| Failure {
                error: GmailError::Auth(e),
                token: None,
                may_retry: false,
            })
    }

    /// Send and read the whole answer, or the transport error and whether
    /// it failed before reaching the server (safe to repeat any request).
    pub(crate) async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<Answer, (GmailError, bool)> {
        let resp = req
            .send()
            .await
            .map_err(|e| (retry::error_from_transport(&e), e.is_connect()))?;
        let status = resp.status().as_u16();
        let now: SystemTime = self.inner.clock.now().into();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after =
            header(reqwest::header::RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v, now));
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let body = resp
            .bytes()
            .await
            .map_err(|e| (retry::error_from_transport(&e), false))?;
        Ok(Answer {
            status,
            retry_after,
            content_type,
            body,
        })
    }
}

/// An HTTP answer, read whole.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// What the retry loop does next.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Immediately (a fresh token after a 401).
    Again,
    Wait(Duration),
    GiveUp,
}
