//! Draining a mailbox's fetch queue: `metadata` items in rounds through
//! Gmail's batch endpoint (quota-paced by the client), each round saved in
//! one transaction with its queue items removed; then `full` items of
//! matched email (bodies, attachments). A message deleted between list and
//! get (404) is skipped, never retried; a transient failure defers the item
//! with back-off; a permanent one marks it failed, kept for an admin.

use std::sync::Arc;

use super::record::LinkContext;
use super::{Capture, CaptureError, Progress};
use crate::google::types::{labels, Message};
use crate::google::{GmailError, MessageFormat};
use crate::parse;
use crate::store::{Account, FetchKind, FetchSource, QueueItem, RunCounts, Store};

/// Longest back-off of a deferred item between runs.
const MAX_DEFER_MS: i64 = 3_600_000;

/// Spam, trash and unsent drafts (ours included: `drafts.create` logs a
/// new message) are not captured; a draft that is sent loses DRAFT and
/// gains SENT, and that label change queues it.
pub(crate) fn visible(label_ids: &[String]) -> bool {
    !label_ids
        .iter()
        .any(|l| l == labels::SPAM || l == labels::TRASH || l == labels::DRAFT)
}

impl Capture {
    /// Fetches until nothing is due: investor-search items, metadata, bodies.
    pub(crate) async fn drain(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        source: FetchSource,
        counts: &mut RunCounts,
    ) -> Result<(), CaptureError> {
        loop {
            self.checkpoint(account.id).await?;
            // Investor mail first (issue 7), then headers, then bodies.
            if self.search_round(account, ctx, counts).await? > 0 {
                continue;
            }
            let meta = self.metadata_round(account, ctx, source, counts).await?;
            let full = if meta == 0 {
                self.full_round(account, counts).await?
            } else {
                0
            };
            if meta == 0 && full == 0 {
                return Ok(());
            }
            self.publish_progress(account, "fetching", counts).await;
        }
    }

    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, CaptureError>
    where
        F: FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
        T: Send + 'static,
    {
        Ok(self.inner.store.run(f).await?)
    }

    /// Up to `n` due items of `kind` and Gmail's answer for each, in order
    /// (empty when nothing is due).
    pub(crate) async fn fetch_due(
        &self,
        account: &Account,
        kind: FetchKind,
        n: usize,
    ) -> Result<Vec<(QueueItem, Result<Message, GmailError>)>, CaptureError> {
        let id = account.id;
        let items = self.db(move |s| s.due_fetches(id, kind, n)).await?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = items.iter().map(|i| i.gmail_message_id.clone()).collect();
        let format = match kind {
            FetchKind::Metadata => MessageFormat::Metadata,
            FetchKind::Full | FetchKind::Search => MessageFormat::Full,
        };
        let results = self
            .inner
            .gmail
            .get_messages_batch(&account.email, &ids, format, &[])
            .await;
        Ok(items.into_iter().zip(results).collect())
    }

    /// One round of metadata gets; returns how many items it handled.
    async fn metadata_round(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        source: FetchSource,
        counts: &mut RunCounts,
    ) -> Result<usize, CaptureError> {
        let chunk = self.inner.settings.metadata_chunk;
        let fetched = self.fetch_due(account, FetchKind::Metadata, chunk).await?;
        let handled = fetched.len();
        if handled == 0 {
            return Ok(0);
        }
        let mut saves = Vec::with_capacity(handled);
        for (item, result) in fetched {
            match result {
                Ok(msg) => {
                    counts.fetched += 1;
                    if let Some(rec) = self.accept(account, &item, &msg, ctx).await? {
                        saves.push(rec);
                    }
                }
                Err(e) => self.fetch_failed(account, &item, e, counts).await?,
            }
        }
        Progress::add(&self.inner.progress.fetched, handled as u64);
        let n = saves.len() as u64;
        let (id, ctx2) = (account.id, ctx.clone());
        let saved = self
            .db(move |s| s.save_metadata(id, &saves, source, &|p| ctx2.decide(p)))
            .await?;
        counts.added += saved.iter().filter(|s| s.created).count() as u64;
        counts.matched += saved.iter().filter(|s| s.matched).count() as u64;
        Progress::add(&self.inner.progress.saved, n);
        Ok(handled)
    }

    /// A fetched message → its records, or `None` when it is not captured
    /// (spam/trash now, or not an email at all).
    pub(super) async fn accept(
        &self,
        account: &Account,
        item: &QueueItem,
        msg: &Message,
        ctx: &LinkContext,
    ) -> Result<Option<(crate::store::EmailRecord, crate::store::SightingRecord)>, CaptureError>
    {
        if msg.id != item.gmail_message_id {
            tracing::error!(mailbox = %account.email, asked = %item.gmail_message_id, got = %msg.id,
                kind = item.kind.as_str(), "Gmail answered with another message");
        }
        if !visible(&msg.label_ids) {
            tracing::debug!(mailbox = %account.email, message = %item.gmail_message_id, "in spam or trash: not captured");
            let (id, gid, labels) = (
                account.id,
                item.gmail_message_id.clone(),
                msg.label_ids.clone(),
            );
            self.db(move |s| s.skip_fetched(id, &gid, Some(&labels)))
                .await?;
            return Ok(None);
        }
        match parse::parse_message(msg) {
            Ok(p) => Ok(Some(ctx.records(&p))),
            Err(e) => {
                let (it, why) = (item.clone(), e.to_string());
                self.db(move |s| s.fail_fetch(&it, &why)).await?;
                Ok(None)
            }
        }
    }

    /// Routes a failed get: 404 skips, transient defers, a refused grant
    /// stops the mailbox's run, anything else fails the item (recorded).
    pub(crate) async fn fetch_failed(
        &self,
        account: &Account,
        item: &QueueItem,
        e: GmailError,
        counts: &mut RunCounts,
    ) -> Result<(), CaptureError> {
        let (id, gid) = (account.id, item.gmail_message_id.clone());
        if matches!(e, GmailError::NotFound { .. }) {
            tracing::debug!(mailbox = %account.email, message = %gid, kind = item.kind.as_str(), "gone before its get: skipped");
            counts.deleted += 1;
            return match item.kind {
                FetchKind::Metadata | FetchKind::Search => {
                    self.db(move |s| s.skip_fetched(id, &gid, None)).await
                }
                FetchKind::Full => {
                    self.db(move |s| s.full_fetch_gone(id, &gid).map(|_| ()))
                        .await
                }
            };
        }
        let err = CaptureError::Gmail(e);
        if err.refused_grant().is_some() {
            return Err(err);
        }
        counts.errors += 1;
        let (item, why) = (item.clone(), err.to_string());
        if err.is_retryable() {
            let delay = defer_delay(item.attempts);
            let max = self.inner.settings.max_fetch_attempts;
            let gave_up = self
                .db(move |s| s.defer_fetch(&item, &why, delay, max))
                .await?;
            if gave_up {
                tracing::warn!(mailbox = %account.email, message = %gid, error = %err, "fetch failed too often; marked failed");
            }
        } else {
            tracing::warn!(mailbox = %account.email, message = %gid, error = %err, "fetch failed permanently");
            self.db(move |s| s.fail_fetch(&item, &why)).await?;
        }
        Ok(())
    }
}

/// 30 s, doubling per attempt, capped at an hour.
fn defer_delay(attempts: u32) -> i64 {
    (30_000_i64 << attempts.min(20)).min(MAX_DEFER_MS)
}
