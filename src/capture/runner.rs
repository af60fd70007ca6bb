//! One sync of one mailbox: picks the step (backfill until done, then
//! incremental; `Full` forces the re-list), holds the mailbox's lock so
//! there is never more than one sync per mailbox, records the run in
//! `email_sync_runs` and the outcome on the account. A refused grant moves
//! the mailbox to `error` with the reason; other mailboxes carry on.

use std::sync::Arc;

use serde::Serialize;

use super::backfill::BackfillEnd;
use super::record::LinkContext;
use super::{Capture, CaptureError};
use crate::events::Event;
use crate::store::{Account, AccountStatus, RunCounts, RunStatus, SyncKind};

/// What the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Backfill until done, then incremental.
    #[default]
    Auto,
    /// Like `Auto`, recorded as a push-triggered run.
    Push,
    /// A full re-list and reconcile (after backfill is done).
    Full,
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub account_id: i64,
    pub email: String,
    pub kind: SyncKind,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub error: Option<String>,
    /// Skipped: the mailbox is paused, revoked or in error.
    pub skipped: bool,
    /// The directory changed while this sync ran and every email was
    /// relinked at its end: other mailboxes may now have bodies to fetch.
    pub relinked: bool,
}

impl Capture {
    /// Syncs one mailbox (waits if a sync of it is already running).
    pub async fn sync_account(
        &self,
        account_id: i64,
        mode: SyncMode,
    ) -> Result<SyncReport, CaptureError> {
        let lock = self.mailbox_lock(account_id);
        let _held = lock.lock().await;
        let account = self.db(move |s| s.account(account_id)).await?;
        if account.status != AccountStatus::Active {
            return Ok(SyncReport {
                account_id,
                email: account.email,
                kind: SyncKind::Incremental,
                status: RunStatus::Ok,
                counts: RunCounts::default(),
                error: None,
                skipped: true,
                relinked: false,
            });
        }
        let kind = match (mode, account.backfill_done) {
            (_, false) => SyncKind::Backfill,
            (SyncMode::Full, true) => SyncKind::Full,
            (SyncMode::Push, true) => SyncKind::Push,
            (SyncMode::Auto, true) => SyncKind::Incremental,
        };
        let start = account.history_id;
        let run = self
            .db(move |s| s.start_sync_run(account_id, kind, start))
            .await?;
        let mut counts = RunCounts::default();
        self.publish_progress(&account, kind.as_str(), &counts)
            .await;
        let generation = self.db(|s| s.directory_generation()).await?;
        let mut result = self.run_step(&account, kind, &mut counts).await;
        let mut relinked = false;
        match result {
            Ok(done) => {
                result = self
                    .catch_up_directory(account_id, generation, &mut counts, &mut relinked)
                    .await
                    .map(|clean| done && clean);
            }
            // A failed step may still have saved mail under the older
            // directory: relink it (the next sync starts from the new one).
            Err(_) => {
                if let Err(e) = self.relink_if_directory_changed(generation).await {
                    tracing::warn!(error = %e, "relink after a failed sync did not run");
                }
            }
        }
        let (status, error, set) = match &result {
            Ok(true) => (RunStatus::Ok, None, None),
            Ok(false) => (RunStatus::Partial, None, None),
            // Stopped at a checkpoint: what was saved stands, the next
            // sync carries on from there.
            Err(e) if e.is_interrupted() => (RunStatus::Partial, Some(e.to_string()), None),
            Err(e) => {
                let set = e.refused_grant().map(|_| AccountStatus::Error);
                (RunStatus::Failed, Some(e.to_string()), set)
            }
        };
        match (&error, status) {
            (Some(e), RunStatus::Partial) => {
                tracing::info!(mailbox = %account.email, kind = kind.as_str(), reason = %e, "sync stopped")
            }
            (Some(e), _) => {
                tracing::warn!(mailbox = %account.email, kind = kind.as_str(), error = %e, "sync failed")
            }
            (None, _) => {}
        }
        let err2 = error.clone();
        self.db(move |s| s.finish_sync_run(run, &counts, status, err2.as_deref(), set))
            .await?;
        let phase = match status {
            RunStatus::Ok => "done",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        };
        self.publish_progress(&account, phase, &counts).await;
        Ok(SyncReport {
            account_id,
            email: account.email,
            kind,
            status,
            counts,
            error,
            skipped: false,
            relinked,
        })
    }

    /// Tells SSE subscribers how far a mailbox's sync got: its kind at the
    /// start, `fetching` after each fetch round, `done`/`partial`/`failed`
    /// at the end; `saved` is messages newly stored by this run. Best
    /// effort: a failed queue count is 0.
    pub(crate) async fn publish_progress(
        &self,
        account: &Account,
        phase: &str,
        counts: &RunCounts,
    ) {
        let id = account.id;
        let pending = self
            .db(move |s| s.queue_counts(id))
            .await
            .map_or(0, |q| q.pending);
        self.inner.store.events().publish(Event::SyncProgress {
            account_id: id.to_string(),
            email: account.email.clone(),
            phase: phase.to_string(),
            saved: counts.added,
            pending,
        });
    }

    /// Every active mailbox, concurrently (each paced by its own quota).
    pub async fn sync_all(&self, mode: SyncMode) -> Result<Vec<SyncReport>, CaptureError> {
        let accounts = self.db(|s| s.list_accounts()).await?;
        let runs = accounts
            .iter()
            .filter(|a| a.status == AccountStatus::Active)
            .map(|a| self.sync_account(a.id, mode));
        futures::future::join_all(runs).await.into_iter().collect()
    }

    /// Ok(true): complete; Ok(false): items still wait in the queue.
    async fn run_step(
        &self,
        account: &Account,
        kind: SyncKind,
        counts: &mut RunCounts,
    ) -> Result<bool, CaptureError> {
        let domains = self.inner.settings.our_domains.clone();
        let ctx = Arc::new(self.db(move |s| LinkContext::load(s, &domains)).await?);
        match kind {
            SyncKind::Backfill => {
                let end = self.backfill(account, &ctx, counts).await?;
                if end == BackfillEnd::Pending {
                    return Ok(false);
                }
                // History that arrived during backfill, right away.
                let account = self
                    .db({
                        let id = account.id;
                        move |s| s.account(id)
                    })
                    .await?;
                self.incremental(&account, &ctx, counts).await?;
            }
            SyncKind::Full => self.full_resync(account, &ctx, counts, false).await?,
            SyncKind::Incremental | SyncKind::Push => {
                self.incremental(account, &ctx, counts).await?
            }
        }
        let id = account.id;
        self.db(move |s| s.refresh_sync_phase(id)).await?;
        let left = self.db(move |s| s.queue_counts(id)).await?;
        Ok(left.pending == 0 && left.failed == 0)
    }

    /// After a step: if the directory changed meanwhile, relink and fetch
    /// this mailbox's newly matched bodies now, not at the next sweep (the
    /// worker restarts the other mailboxes when `relinked` is set).
    async fn catch_up_directory(
        &self,
        account_id: i64,
        generation: u64,
        counts: &mut RunCounts,
        relinked: &mut bool,
    ) -> Result<bool, CaptureError> {
        let Some(bodies) = self.relink_if_directory_changed(generation).await? else {
            return Ok(true);
        };
        *relinked = true;
        if bodies == 0 {
            return Ok(true);
        }
        let account = self.db(move |s| s.account(account_id)).await?;
        self.run_step(&account, SyncKind::Incremental, counts).await
    }

    /// A directory push while this sync ran: what the sync saved with the
    /// older directory is relinked now (the push's own relink may have run
    /// before those saves). `Some(bodies queued)` when it relinked.
    async fn relink_if_directory_changed(
        &self,
        before: u64,
    ) -> Result<Option<usize>, CaptureError> {
        let now = self.db(|s| s.directory_generation()).await?;
        if now == before {
            return Ok(None);
        }
        let report = self.rematch().await?;
        tracing::info!(
            changed = report.changed,
            bodies = report.full_queued,
            "directory changed during the sync; relinked"
        );
        Ok(Some(report.full_queued))
    }

    /// Re-decides every email's links after a directory change and fetches
    /// bodies of newly matched email from a live copy.
    pub async fn rematch(&self) -> Result<crate::store::RelinkReport, CaptureError> {
        let domains = self.inner.settings.our_domains.clone();
        let ctx = Arc::new(self.db(move |s| LinkContext::load(s, &domains)).await?);
        self.db(move |s| s.relink_all(&|p| ctx.decide(p))).await
    }
}
