//! capture: every enrolled mailbox captured, matched and stored (SPEC
//! §5–§7), losing nothing and duplicating nothing whatever Gmail or the
//! machine does.
//!
//! ```text
//!  backfill ─┐ (list pages, checkpointed)      ┌─ metadata: parse → link → save
//!  history ──┼─► email_fetch_queue (SQLite) ──►│
//!  reconcile ┘  (durable: the cursor may pass)  └─ full (matched only): bodies,
//!                                                  attachments → disk + save
//! ```
//!
//! Talks to Gmail through [`crate::google::GmailClient`] (per-mailbox quota
//! inside) and to SQLite through [`crate::store`]; the rules of matching
//! come from [`crate::matching`]. Submodules: `runner` (one sync of one
//! mailbox, its run record and error handling), `backfill`, `incremental`
//! (history and the full re-list), `investor` (investor mail searched and
//! fetched first), `fetch` (draining the queue), `attach`
//! (attachment downloads), `record` (a parsed message → store records and
//! the linker), `push` (Pub/Sub notices), `worker` (the daemon's loop).

mod attach;
mod backfill;
mod error;
mod fetch;
mod incremental;
mod investor;
pub mod push;
mod record;
mod runner;
pub mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::attachments::AttachmentStore;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::google::GmailClient;
use crate::store::Store;

pub use error::CaptureError;
pub use runner::{SyncMode, SyncReport};

/// What capture needs of the configuration.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    /// messages.list page size (≤ 500).
    pub page_size: u32,
    /// How far back backfill reaches; 0 = everything.
    pub backfill_days: u32,
    pub max_attachment_bytes: u64,
    pub attach_concurrency: usize,
    /// A cursor older than this is not trusted: full re-list instead.
    pub history_stale_days: u32,
    /// Loop guard: no second full re-list forced by an expired cursor
    /// within this long of the last one.
    pub full_resync_guard: Duration,
    /// Queue items fetched per round (then saved in one transaction).
    pub metadata_chunk: usize,
    pub full_chunk: usize,
    /// A transient fetch failure is retried this many times across runs,
    /// then the item is marked failed (kept, visible in status).
    pub max_fetch_attempts: u32,
    pub our_domains: Vec<String>,
    pub attachments_dir: PathBuf,
    /// Search the directory's mail first (issue 7).
    pub investor_first: bool,
}

impl CaptureSettings {
    pub fn from_config(config: &Config) -> Self {
        // A round is saved as a whole, so it is sized to about two seconds
        // of the mailbox's quota (5 units a get): a crash loses little and
        // progress shows steadily, while quota-off runs use big rounds.
        let per_2s = (config.rate_units_sec as usize * 2 / 5).max(1);
        CaptureSettings {
            page_size: config.backfill_page_size.clamp(1, 500),
            backfill_days: config.backfill_days,
            max_attachment_bytes: config.max_attachment_bytes(),
            attach_concurrency: config.attach_concurrency.max(1),
            history_stale_days: config.history_stale_days,
            full_resync_guard: Duration::from_secs(3600),
            metadata_chunk: per_2s.clamp(10, 250),
            full_chunk: (per_2s / 2).clamp(5, 50),
            max_fetch_attempts: 10,
            our_domains: config.workspace_domains.clone(),
            attachments_dir: config.attachments_dir(),
            investor_first: config.investor_first,
        }
    }
}

/// Live counters for progress bars and metrics.
#[derive(Debug, Default)]
pub struct Progress {
    pub listed: AtomicU64,
    pub fetched: AtomicU64,
    pub saved: AtomicU64,
    pub bodies: AtomicU64,
}

impl Progress {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// The capture engine; cheap to clone.
#[derive(Clone)]
pub struct Capture {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    gmail: GmailClient,
    files: AttachmentStore,
    settings: CaptureSettings,
    clock: SharedClock,
    progress: Progress,
    /// One sync per mailbox at a time.
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Cancelled at shutdown: running syncs stop at their next checkpoint.
    stop: tokio_util::sync::CancellationToken,
}

impl Capture {
    pub fn new(
        store: Store,
        gmail: GmailClient,
        settings: CaptureSettings,
        clock: SharedClock,
    ) -> Result<Capture, CaptureError> {
        let files = AttachmentStore::open(&settings.attachments_dir)?;
        Ok(Capture {
            inner: Arc::new(Inner {
                store,
                gmail,
                files,
                settings,
                clock,
                progress: Progress::default(),
                locks: Mutex::new(HashMap::new()),
                stop: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    /// Builds the engine the configuration describes (store already open).
    pub fn from_config(
        config: &Config,
        store: Store,
        clock: SharedClock,
    ) -> Result<Capture, CaptureError> {
        let (gmail, broken) = crate::google::setup::gmail_client(config, &store, clock.clone())
            .map_err(CaptureError::Setup)?;
        for (mailbox, why) in broken {
            tracing::warn!(%mailbox, %why, "mailbox cannot authenticate");
        }
        Capture::new(store, gmail, CaptureSettings::from_config(config), clock)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Shutdown: every running sync of this engine (and any started later)
    /// stops at its next checkpoint, between two saved steps.
    pub fn stop_syncs(&self) {
        self.inner.stop.cancel();
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    /// A checkpoint between two saved steps of a sync (a fetch round, a
    /// backfill page, a history page): `Interrupted` once the engine is
    /// stopping or the mailbox is no longer active, so a pause takes effect
    /// within one round rather than after a whole backfill.
    pub(crate) async fn checkpoint(&self, account_id: i64) -> Result<(), CaptureError> {
        if self.inner.stop.is_cancelled() {
            return Err(CaptureError::Interrupted(
                "the daemon is shutting down".into(),
            ));
        }
        let status = self.db(move |s| s.account(account_id)).await?.status;
        if status != crate::store::AccountStatus::Active {
            return Err(CaptureError::Interrupted(format!(
                "the mailbox is now {}",
                status.as_str()
            )));
        }
        Ok(())
    }

    pub fn gmail(&self) -> &GmailClient {
        &self.inner.gmail
    }

    pub fn settings(&self) -> &CaptureSettings {
        &self.inner.settings
    }

    pub fn progress(&self) -> &Progress {
        &self.inner.progress
    }

    pub fn attachments(&self) -> &AttachmentStore {
        &self.inner.files
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now().timestamp_millis()
    }

    fn mailbox_lock(&self, account_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(account_id).or_default().clone()
    }
}
