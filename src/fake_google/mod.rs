//! fake_google: the project's own fake Google, a real HTTP server (axum on
//! hyper, 127.0.0.1:0) that tests and the `demo` command start in-process.
//! It behaves like Google's OAuth token endpoint (service-account JWT with
//! domain-wide delegation, refresh and authorization-code grants) and the
//! Gmail API subset the daemon uses, with Gmail's shapes and semantics,
//! per-user quota, fault injection and counters.
//!
//! Talks to: whoever connects over HTTP (our `google` client, Google's own
//! Python client in tests). Inside: `token` (grants), `gmail` (routing and
//! the auth/fault/quota gate) → `messages`/`users`/`compose` handlers over
//! `mailbox`/`history`; `batch` re-enters `gmail` per inner call; `server`
//! turns replies into HTTP (or dropped connections); `oidc` publishes the
//! JWKS and mints the OIDC tokens of Pub/Sub push.

mod batch;
mod compose;
mod faults;
mod gmail;
mod grants;
mod history;
mod keys;
mod mailbox;
mod messages;
pub mod mime;
mod oidc;
pub mod query;
mod quota;
mod reply;
mod server;
mod state;
mod token;
mod users;

use crate::clock::SharedClock;
use crate::google::types::{encode_base64url, HistoryId, Message};
use mailbox::Threading;
use state::{random_token, Shared};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How to start a fake.
#[derive(Default, Debug)]
pub struct FakeOptions {
    /// Token iat/exp checks and the default internalDate; default SystemClock.
    pub clock: Option<SharedClock>,
    /// Gmail quota units per second per user; `None` = quota off.
    pub quota_units_per_sec: Option<u32>,
    /// `expires_in` of access tokens; default 3599.
    pub token_lifetime_secs: Option<u64>,
}

/// Random faults on Gmail calls.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// 500 backendError / 503.
    pub server_error_rate: f64,
    /// 429 rateLimitExceeded or 403 userRateLimitExceeded (injected, not quota).
    pub rate_limit_rate: f64,
    /// Connection closed without an answer.
    pub reset_rate: f64,
    /// Added to every Gmail HTTP request (once per batch).
    pub latency: std::time::Duration,
    pub seed: u64,
}

/// A targeted fault for `fail_next`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    ServerError,
    RateLimit429,
    RateLimit403,
    Reset,
    NotFound,
    /// 429 with `Retry-After: N`.
    RetryAfter(u32),
}

/// What the fake has seen, for tests.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// By method name (`users.messages.get`, …, `batch`, `token`); calls
    /// inside a batch count under their own method.
    pub calls: std::collections::BTreeMap<String, u64>,
    pub units_charged: u64,
    /// 429s served because a quota bucket was empty.
    pub quota_429s: u64,
    pub injected_faults: u64,
    /// Most units charged to one user in any one-second sliding window.
    pub peak_units_per_sec: u64,
    /// Successful and failed POSTs to /token.
    pub token_exchanges: u64,
    /// GETs of the push JWKS (`/oauth2/v3/certs`), faulted ones included.
    pub jwks_fetches: u64,
}

/// A running fake. Cheap to clone; the server stops when the last handle
/// is dropped or on `shutdown()`.
#[derive(Clone)]
pub struct FakeGoogle {
    shared: Arc<Shared>,
    server: Arc<ServerGuard>,
}

impl std::fmt::Debug for FakeGoogle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGoogle")
            .field("url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

struct ServerGuard {
    stop: CancellationToken,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeGoogle {
    /// Bind 127.0.0.1:0 and serve until shut down.
    pub async fn start(opts: FakeOptions) -> std::io::Result<FakeGoogle> {
        let key = tokio::task::spawn_blocking(keys::sa_key)
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let clock = opts.clock.unwrap_or_else(crate::clock::system);
        let lifetime = opts.token_lifetime_secs.unwrap_or(3599);
        let shared = Arc::new(Shared::new(
            clock,
            lifetime,
            url,
            key,
            opts.quota_units_per_sec,
        ));
        let stop = CancellationToken::new();
        let app =
            server::router(shared.clone()).into_make_service_with_connect_info::<server::Conn>();
        let signal = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            let _ = axum::serve(server::KillListener(listener), app)
                .with_graceful_shutdown(signal)
                .await;
        });
        let server = Arc::new(ServerGuard {
            stop,
            task: std::sync::Mutex::new(Some(task)),
        });
        Ok(FakeGoogle { shared, server })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Same as `url()`: Gmail paths are `/gmail/v1/users/{userId}/…`.
    pub fn api_base(&self) -> String {
        self.url()
    }

    pub fn token_uri(&self) -> String {
        self.shared.token_uri()
    }

    /// Google's service-account JSON for the fake's key.
    pub fn service_account_json(&self) -> String {
        self.shared.key.service_account_json(&self.token_uri())
    }

    pub fn client_email(&self) -> String {
        keys::CLIENT_EMAIL.to_string()
    }

    /// A mailbox, DWD-authorised for gmail.readonly + gmail.compose.
    pub fn add_user(&self, email: &str) {
        let mut st = self.shared.lock();
        st.grants.add_user(email);
        st.mailbox(email);
    }

    /// Replace the scopes the service account may use for this user.
    pub fn set_user_scopes(&self, email: &str, scopes: &[&str]) {
        self.shared.lock().grants.set_scopes(email, scopes);
    }

    /// Later exchanges for this user → 401 unauthorized_client.
    pub fn revoke_user(&self, email: &str) {
        self.shared.lock().grants.revoke_user(email);
    }

    pub fn add_oauth_client(&self, client_id: &str, client_secret: &str) {
        let mut st = self.shared.lock();
        st.grants
            .clients
            .insert(client_id.to_string(), client_secret.to_string());
    }

    /// A one-time authorization code, as the consent screen would return.
    pub fn authorize_code(
        &self,
        client_id: &str,
        user: &str,
        scopes: &[&str],
        redirect_uri: &str,
    ) -> String {
        let code = random_token("4/0Afake-", 40);
        let mut st = self.shared.lock();
        st.mailbox(user);
        st.grants.codes.insert(
            code.clone(),
            grants::CodeGrant {
                client_id: client_id.to_string(),
                user: user.to_ascii_lowercase(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                redirect_uri: redirect_uri.to_string(),
            },
        );
        code
    }

    /// Refresh grants for this user → 400 invalid_grant from now on.
    pub fn revoke_refresh_tokens(&self, user: &str) {
        self.shared.lock().grants.revoke_refresh_tokens(user);
    }

    /// Deliver raw RFC 822 bytes with these labels; returns the Gmail id.
    pub fn deliver(&self, user: &str, raw: &[u8], labels: &[&str]) -> String {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        let id = st.ids.message_id();
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        st.mailbox(user).insert(
            id.clone(),
            raw.to_vec(),
            &labels,
            (None, now),
            Threading::Auto,
        );
        id
    }

    /// Hard delete (history: messagesDeleted).
    pub fn delete_message(&self, user: &str, id: &str) {
        self.shared.lock().mailbox(user).delete(id);
    }

    /// history: labelsAdded / labelsRemoved for what actually changed.
    pub fn modify_labels(&self, user: &str, id: &str, add: &[&str], remove: &[&str]) {
        self.shared
            .lock()
            .mailbox(user)
            .modify_labels(id, add, remove);
    }

    /// Every startHistoryId ≤ the current one answers 404 from now on.
    pub fn expire_history(&self, user: &str) {
        self.shared.lock().mailbox(user).history.expire();
    }

    pub fn set_quota(&self, units_per_sec: Option<u32>) {
        self.shared.lock().quota.set_rate(units_per_sec);
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults.set_random(faults);
    }

    /// The next `n` calls of `method` (a Gmail method name, `batch` or
    /// `token`) fail with `kind`.
    pub fn fail_next(&self, method: &str, n: u32, kind: FaultKind) {
        self.shared.lock().faults.push_targeted(method, n, kind);
    }

    /// Answers of `method` are held back for `hold` AFTER the call took
    /// effect (zero = off): a caller killed meanwhile never learns that
    /// its `messages.send` went out (crash-between-send-and-record tests).
    pub fn hold_replies(&self, method: &str, hold: std::time::Duration) {
        self.shared.lock().faults.set_hold(method, hold);
    }

    pub fn counters(&self) -> Counters {
        let st = self.shared.lock();
        let mut c = st.counters.clone();
        c.peak_units_per_sec = st.quota.peak();
        c
    }

    pub fn reset_counters(&self) {
        let mut st = self.shared.lock();
        st.counters = Counters::default();
        st.quota.reset_peak();
    }

    /// Drafts created, oldest first: full payload (bodies inline) and raw.
    pub fn drafts(&self, user: &str) -> Vec<Message> {
        let mut st = self.shared.lock();
        let mb = st.mailbox(user);
        mb.drafts
            .iter()
            .filter_map(|(_, id)| mb.messages.get(id))
            .map(|m| {
                let mut msg = messages::render(m, messages::Format::Minimal, &[]);
                msg.payload = Some(m.payload.clone());
                msg.raw = Some(encode_base64url(&m.raw));
                msg
            })
            .collect()
    }

    /// Raw bytes of every messages.send, oldest first.
    pub fn sent(&self, user: &str) -> Vec<Vec<u8>> {
        self.shared.lock().mailbox(user).sent.clone()
    }

    pub fn history_id(&self, user: &str) -> HistoryId {
        HistoryId(self.shared.lock().mailbox(user).history.current())
    }

    /// Stop serving and wait (briefly) for the server task to end.
    pub async fn shutdown(self) {
        self.server.stop.cancel();
        let task = self.server.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
