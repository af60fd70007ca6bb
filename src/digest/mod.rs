//! The daily digest (SPEC §10): builder ([`builder`], [`narrative`],
//! [`render`]), policy ([`policy`]), scheduler ([`schedule`], [`runs`]) and
//! the one module that sends ([`send`]: Gmail `messages.send`, else SMTP),
//! exactly once per local day. [`Digests`] is the service the HTTP routes,
//! the scheduler loop and the `digest` command share; it talks to the
//! store, the live config (zone, sender, SMTP, LLM read at the moment of
//! use) and, through `send`, to Gmail and SMTP.

pub mod builder;
pub mod narrative;
pub mod policy;
pub mod render;
pub mod runs;
pub mod schedule;
mod send;
mod smtp;

use chrono::{DateTime, Duration, Utc};

pub use policy::{DigestPolicy, PolicyPatch};
pub use runs::Outcome;

use crate::clock::SharedClock;
use crate::config::LiveConfig;
use crate::store::digest::{DigestRun, DigestRunKind, NewDigestRun};
use crate::store::{Store, StoreError};

/// The window of send-now, and of the very first scheduled digest.
pub const DEFAULT_WINDOW: Duration = Duration::hours(24);
/// A scheduled window never reaches further back than this (a daemon down
/// for months sends one digest of the last month, not of everything).
pub const MAX_WINDOW: Duration = Duration::days(31);

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} is not an active admin; the digest only goes to active admins")]
    NotAdmin(String),
    #[error("there is no active admin to send the digest to")]
    NoRecipients,
    #[error("no sender: set CRM_DIGEST_SENDER or enrol an active admin's mailbox")]
    NoSender,
    #[error("composing the digest failed: {0}")]
    Compose(String),
    #[error(
        "cannot tell whether the digest went out ({0}); it is looked up again before any retry"
    )]
    Unverified(String),
    #[error("sending the digest failed: {0}")]
    Send(String),
    #[error("a digest run with this Message-ID already exists")]
    Conflict,
}

impl DigestError {
    /// The request asked for something not allowed (a non-admin recipient).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, DigestError::NotAdmin(_))
    }

    /// A later attempt may succeed (transport trouble, an unverified send).
    pub fn is_retryable(&self) -> bool {
        match self {
            DigestError::Store(e) => e.is_retryable(),
            DigestError::Unverified(_) | DigestError::Send(_) => true,
            _ => false,
        }
    }
}

/// A built digest (nothing sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub local_day: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Distinct emails and investors in the window.
    pub emails: usize,
    pub investors: usize,
}

/// The digest service; cheap to clone.
#[derive(Clone)]
pub struct Digests {
    pub(crate) store: Store,
    pub(crate) live: LiveConfig,
    pub(crate) clock: SharedClock,
    http: reqwest::Client,
    /// Where the digest's Gmail calls are counted (the daemon's metrics).
    pub(crate) metrics: Option<crate::metrics::Metrics>,
}

impl Digests {
    pub fn new(store: Store, live: LiveConfig, clock: SharedClock) -> Digests {
        Digests {
            store,
            live,
            clock,
            http: reqwest::Client::new(),
            metrics: None,
        }
    }

    /// Counts this service's Gmail calls (send, lookup) into `metrics`,
    /// with capture's, in `GET metrics`.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Digests {
        self.metrics = Some(metrics);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Builds the digest of `(start, end]` (narratives by the LLM when configured).
    pub async fn build(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Digest, DigestError> {
        let cfg = self.live.current();
        let tz = cfg.digest.timezone;
        let activity = self
            .store
            .run(move |s| s.digest_activity(start, end))
            .await?;
        let mut summary = builder::summarize(&activity);
        narrative::fill(&mut summary.members, cfg.llm.as_ref(), &self.http).await;
        let r = render::render(&summary, start, end, tz);
        Ok(Digest {
            local_day: schedule::local_day(end, tz).to_string(),
            window_start: start,
            window_end: end,
            subject: r.subject,
            text: r.text,
            html: r.html,
            emails: summary.emails,
            investors: summary.investors.len(),
        })
    }

    /// What the next scheduled digest would hold if cut now; sends nothing.
    pub async fn preview(&self) -> Result<Digest, DigestError> {
        let now = self.now();
        let cursor = self.store.run(|s| s.digest_cursor()).await?;
        self.build(runs::window_start(cursor, now), now).await
    }

    /// The last 24 h to every active admin now; the scheduled cursor stays.
    pub async fn send_now(&self, actor: &str) -> Result<DigestRun, DigestError> {
        let now = self.now();
        let admins = self.store.run(|s| s.active_admin_emails()).await?;
        let run = self
            .manual_run(
                DigestRunKind::SendNow,
                now - DEFAULT_WINDOW,
                now,
                admins,
                actor,
            )
            .await?;
        Ok(run)
    }

    /// The preview's digest to `to`, every one of whom must be an active
    /// admin (else [`DigestError::NotAdmin`] and nothing is sent).
    pub async fn send_test(&self, to: Vec<String>, actor: &str) -> Result<DigestRun, DigestError> {
        let to: Vec<String> = to.iter().map(|t| t.trim().to_lowercase()).collect();
        let admins = self.store.run(|s| s.active_admin_emails()).await?;
        if let Some(bad) = to.iter().find(|t| !admins.contains(t)) {
            return Err(DigestError::NotAdmin(bad.clone()));
        }
        let now = self.now();
        let cursor = self.store.run(|s| s.digest_cursor()).await?;
        let start = runs::window_start(cursor, now);
        self.manual_run(DigestRunKind::Test, start, now, to, actor)
            .await
    }

    async fn manual_run(
        &self,
        kind: DigestRunKind,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        recipients: Vec<String>,
        actor: &str,
    ) -> Result<DigestRun, DigestError> {
        if recipients.is_empty() {
            return Err(DigestError::NoRecipients);
        }
        let digest = self.build(start, end).await?;
        let sender = self.sender().await?;
        let tag = match kind {
            DigestRunKind::Test => "test",
            _ => "now",
        };
        let new = NewDigestRun {
            kind,
            local_day: digest.local_day.clone(),
            window_start: start,
            window_end: end,
            message_id: message_id(
                &digest.local_day,
                &format!("{tag}-{}", end.timestamp_millis()),
                &sender,
            ),
            recipients,
            sender,
        };
        let details = serde_json::json!({"kind": kind.as_str(), "message_id": new.message_id,
            "recipients": new.recipients});
        let run = self
            .store
            .run(move |s| s.begin_digest_run(&new))
            .await?
            .ok_or(DigestError::Conflict)?;
        let action = format!("digest.{}", kind.as_str());
        let (actor, id) = (actor.to_string(), run.id.to_string());
        self.store
            .run(move |s| s.append_audit(&actor, &action, Some(&id), &details))
            .await?;
        send::deliver(self, &run, &digest, false).await?;
        Ok(self.store.run(move |s| s.digest_run(run.id)).await?)
    }

    /// The mailbox the digest is sent as: `CRM_DIGEST_SENDER` as of now,
    /// else the first active admin with an enrolled mailbox.
    pub async fn sender(&self) -> Result<String, DigestError> {
        if let Some(s) = &self.live.current().digest.sender {
            return Ok(s.clone());
        }
        self.store
            .run(|s| s.first_admin_with_mailbox())
            .await?
            .ok_or(DigestError::NoSender)
    }
}

/// `digest-<day>.<tag>@<sender's domain>` (no angle brackets).
pub fn message_id(local_day: &str, tag: &str, sender: &str) -> String {
    let domain = sender.rsplit_once('@').map_or("localhost", |(_, d)| d);
    format!("digest-{local_day}.{tag}@{domain}")
}
