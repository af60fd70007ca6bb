//! The Gmail API client. Every call goes: per-mailbox quota permit → access
//! token (readonly for reads and watch/stop, compose for drafts and send) →
//! HTTP request with a timeout → typed error → retry with backoff. The
//! endpoint methods are in [`crate::google::calls`], the batch endpoint in
//! [`crate::google::batch`]; this file holds the settings and the engine.

use crate::clock::SharedClock;
use crate::google::auth::{AccessToken, TokenProvider};
use crate::google::error::GmailError;
use crate::google::quota::{GmailMethod, Quota};
use crate::google::retry;
pub use crate::google::settings::{GmailSettings, GOOGLE_API_BASE};
use crate::metrics::Metrics;
use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use url::Url;

pub(crate) struct ClientInner {
    pub(crate) settings: GmailSettings,
    pub(crate) tokens: TokenProvider,
    pub(crate) http: reqwest::Client,
    pub(crate) quota: Quota,
    pub(crate) clock: SharedClock,
    /// Where each HTTP attempt is counted; unset = not counted (CLI, tests).
    pub(crate) metrics: OnceLock<Metrics>,
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
                metrics: OnceLock::new(),
            }),
        }
    }

    /// Counts every HTTP attempt from now on into `metrics` (the daemon's
    /// registry, built once in `Daemon::build`). Set once: false if this
    /// client already counts somewhere.
    pub fn count_into(&self, metrics: Metrics) -> bool {
        self.inner.metrics.set(metrics).is_ok()
    }

    /// One HTTP attempt of `method` and its status (`None`: no answer).
    pub(crate) fn count(&self, method: &'static str, status: Option<u16>) {
        if let Some(m) = self.inner.metrics.get() {
            m.gmail_call(method, status);
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
        let sent = self.send(req).await;
        self.count(
            call.method.name(),
            sent.as_ref().ok().map(|answer| answer.status),
        );
        let answer = match sent {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::auth::scopes::GMAIL_READONLY;
    use crate::google::auth::test_support::test_key;

    fn client(settings: GmailSettings) -> GmailClient {
        let http = reqwest::Client::new();
        let tokens = TokenProvider::service_account(
            test_key(),
            "http://127.0.0.1:1/token".into(),
            http.clone(),
            crate::clock::system(),
        );
        GmailClient::new(settings, tokens, http)
    }

    fn failure(error: GmailError, may_retry: bool) -> Failure {
        Failure {
            error,
            token: None,
            may_retry,
        }
    }

    #[tokio::test]
    async fn a_401_gets_one_fresh_token_and_then_gives_up() {
        let c = client(GmailSettings::default());
        let f = failure(
            GmailError::Unauthenticated {
                mailbox: "a@b".into(),
                message: "authError".into(),
            },
            true,
        );
        let mut refreshed = false;
        assert_eq!(
            c.next_step(&f, 0, &mut refreshed, "a@b", GMAIL_READONLY)
                .await,
            Step::Again
        );
        assert!(refreshed);
        assert_eq!(
            c.next_step(&f, 0, &mut refreshed, "a@b", GMAIL_READONLY)
                .await,
            Step::GiveUp
        );
    }

    #[tokio::test]
    async fn transient_errors_back_off_until_retry_max_and_retry_after_is_honoured() {
        let settings = GmailSettings {
            retry_max: 2,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            ..GmailSettings::default()
        };
        let c = client(settings);
        let mut r = false;
        let server = failure(
            GmailError::Server {
                status: 503,
                message: String::new(),
            },
            true,
        );
        match c.next_step(&server, 1, &mut r, "a@b", GMAIL_READONLY).await {
            Step::Wait(d) => assert!(d <= Duration::from_millis(200), "{d:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.next_step(&server, 2, &mut r, "a@b", GMAIL_READONLY).await,
            Step::GiveUp
        );
        let limited = |secs| {
            failure(
                GmailError::RateLimited {
                    retry_after: Some(Duration::from_secs(secs)),
                    reason: "x".into(),
                },
                true,
            )
        };
        match c
            .next_step(&limited(3), 0, &mut r, "a@b", GMAIL_READONLY)
            .await
        {
            Step::Wait(d) => assert!(d >= Duration::from_secs(3), "{d:?}"),
            other => panic!("{other:?}"),
        }
        // Longer than the cap: the caller reschedules instead of blocking.
        assert_eq!(
            c.next_step(&limited(600), 0, &mut r, "a@b", GMAIL_READONLY)
                .await,
            Step::GiveUp
        );
        let reset = GmailError::Transport {
            message: "closed".into(),
            timeout: false,
        };
        assert_eq!(
            c.next_step(&failure(reset, false), 0, &mut r, "a@b", GMAIL_READONLY)
                .await,
            Step::GiveUp
        );
        let gone = failure(
            GmailError::NotFound {
                mailbox: "a@b".into(),
                what: "m".into(),
            },
            true,
        );
        assert_eq!(
            c.next_step(&gone, 0, &mut r, "a@b", GMAIL_READONLY).await,
            Step::GiveUp
        );
    }

    #[test]
    fn mailbox_paths_are_encoded_under_the_api_base() {
        let c = client(GmailSettings {
            api_base: "http://127.0.0.1:9/prefix/".into(),
            ..GmailSettings::default()
        });
        let url = c
            .users_url("a+b@fund.test", &["messages", "18c/x"])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/gmail/v1/users/a+b@fund.test/messages/18c%2Fx"
        );
        assert!(matches!(
            c.users_url("", &["profile"]),
            Err(GmailError::InvalidRequest(_))
        ));
    }
}
