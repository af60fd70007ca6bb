//! Backfill: the mailbox listed newest first, page by page. Before the
//! first list the cursor is taken from getProfile, so anything arriving
//! during backfill is picked up from history afterwards. Each page's ids
//! are queued together with the next page token (one transaction), then
//! the queue is drained, so `kill -9` at any instant resumes at the first
//! page not yet queued and refetches nothing already saved.

use std::sync::Arc;

use super::record::LinkContext;
use super::{Capture, CaptureError, Progress};
use crate::google::ListMessagesParams;
use crate::store::{Account, FetchSource, RunCounts};

/// How a backfill run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackfillEnd {
    /// Listed and fetched; the cursor is set and incremental sync takes over.
    Done,
    /// Listed, but some items wait out a back-off or failed; the next run
    /// continues.
    Pending,
}

impl Capture {
    pub(crate) async fn backfill(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        counts: &mut RunCounts,
    ) -> Result<BackfillEnd, CaptureError> {
        let id = account.id;
        let mut cp = self.db(move |s| s.backfill_checkpoint(id)).await?;
        if cp.state == "pending" || cp.history_id.is_none() {
            let profile = self.inner.gmail.get_profile(&account.email).await?;
            let (hid, total) = (profile.history_id.0, profile.messages_total);
            self.db(move |s| s.begin_backfill(id, hid, total)).await?;
            cp = self.db(move |s| s.backfill_checkpoint(id)).await?;
        }
        if !cp.listed_all {
            // Investor mail first: searched, queued ahead, fetched whole.
            self.search_new_items(account, counts).await?;
            self.drain(account, ctx, FetchSource::Backfill, counts)
                .await?;
            self.db(move |s| s.refresh_sync_phase(id)).await?;
        }
        let params = self.list_params();
        let mut page = cp.page_token.clone();
        let mut listed_all = cp.listed_all;
        while !listed_all {
            let resp = self
                .inner
                .gmail
                .list_messages(&account.email, &params, page.as_deref())
                .await?;
            let ids: Vec<String> = resp.messages.into_iter().map(|m| m.id).collect();
            counts.listed += ids.len() as u64;
            Progress::add(&self.inner.progress.listed, ids.len() as u64);
            let next = resp.next_page_token.filter(|n| Some(n) != page.as_ref());
            let (next2, n) = (next.clone(), ids.len());
            let first = ids.first().cloned().unwrap_or_default();
            let queued = self
                .db(move |s| s.record_backfill_page(id, &ids, next2.as_deref()))
                .await?;
            tracing::debug!(mailbox = %account.email, listed = n, queued, %first, "backfill page");
            listed_all = next.is_none();
            page = next;
            self.drain(account, ctx, FetchSource::Backfill, counts)
                .await?;
        }
        self.drain(account, ctx, FetchSource::Backfill, counts)
            .await?;
        let left = self.db(move |s| s.queue_counts(id)).await?;
        if left.pending > 0 {
            return Ok(BackfillEnd::Pending);
        }
        self.verify_backfill(account, ctx, counts).await?;
        self.db(move |s| s.finish_backfill(id)).await?;
        Ok(BackfillEnd::Done)
    }

    /// Lists the mailbox once more (ids only: 5 units per 500, about 1% of
    /// the backfill) and fetches anything with neither a sighting nor a
    /// queue item. Nothing should turn up; if something does it is fetched
    /// now and said loudly, so mail never goes missing quietly.
    async fn verify_backfill(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        counts: &mut RunCounts,
    ) -> Result<(), CaptureError> {
        let listed = self
            .inner
            .gmail
            .list_all_messages(&account.email, &self.list_params())
            .await?;
        let ids: Vec<String> = listed.into_iter().map(|m| m.id).collect();
        let id = account.id;
        let missing = self.db(move |s| s.queue_unaccounted(id, &ids)).await?;
        if !missing.is_empty() {
            tracing::warn!(mailbox = %account.email, missing = missing.len(), sample = ?&missing[..missing.len().min(5)],
                "backfill verification found listed mail that was not captured; fetching it now");
            counts.errors += missing.len() as u64;
            self.drain(account, ctx, FetchSource::Backfill, counts)
                .await?;
        }
        Ok(())
    }

    /// `messages.list` filters: spam and trash excluded (Gmail's default),
    /// and `after:` when backfill is limited to recent days.
    pub(crate) fn list_params(&self) -> ListMessagesParams {
        let s = &self.inner.settings;
        let q = (s.backfill_days > 0).then(|| {
            let since = self.now_ms() / 1000 - i64::from(s.backfill_days) * 86_400;
            format!("after:{since}")
        });
        ListMessagesParams {
            q,
            max_results: Some(s.page_size),
            ..ListMessagesParams::default()
        }
    }

    /// Start of the backfill window (ms), if limited.
    pub(crate) fn window_start_ms(&self) -> Option<i64> {
        let days = self.inner.settings.backfill_days;
        (days > 0).then(|| self.now_ms() - i64::from(days) * 86_400_000)
    }
}
