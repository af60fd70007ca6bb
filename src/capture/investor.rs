//! Investor-first backfill (issue 7). Gmail's quota caps a backfill at
//! about 20 messages a second, but listing is cheap (5 units for up to 500
//! ids) and Gmail search can list exactly the mail that involves the
//! directory. So before the ordinary newest-first listing, each mailbox is
//! searched for the directory's contact addresses and investor domains
//! (`from:`/`to:`/`cc:`/`bcc:` terms in `{ }` groups, public mail domains
//! never as domains, within `CRM_GMAIL_BACKFILL_DAYS`), and what it lists is
//! queued as `search` items, fetched first and whole: one `format=full` get
//! serves headers, matching, body and attachments.
//!
//! Search results are a hint, not the truth: every listed message goes
//! through the same parse → link → save path, so a false positive is just
//! an unmatched email, and a miss is captured by the ordinary backfill that
//! follows (which skips what is already captured or queued). Only the order
//! changes, never the end state. A mailbox remembers the items it has
//! searched, so a directory change searches just what is new.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;
use tokio::sync::Semaphore;

use super::attach::Fetched;
use super::record::LinkContext;
use super::{Capture, CaptureError, Progress};
use crate::matching::{build_queries, search_items, DEFAULT_QUERY_MAX};
use crate::store::{Account, FetchKind, FetchSource, RunCounts};

impl Capture {
    /// Searches this mailbox for the directory items it has not searched
    /// yet and queues what is listed ahead of everything. Returns how many
    /// messages were queued.
    pub(crate) async fn search_new_items(
        &self,
        account: &Account,
        counts: &mut RunCounts,
    ) -> Result<usize, CaptureError> {
        if !self.inner.settings.investor_first {
            return Ok(0);
        }
        let (id, domains) = (account.id, self.inner.settings.our_domains.clone());
        let (items, done) = self
            .db(move |s| {
                Ok((
                    search_items(&s.directory()?, &domains),
                    s.searched_items(id)?,
                ))
            })
            .await?;
        let done: HashSet<String> = done.into_iter().collect();
        let new: Vec<String> = items.into_iter().filter(|i| !done.contains(i)).collect();
        if new.is_empty() {
            return Ok(0);
        }
        let window = self.list_params().q;
        let (mut ids, mut seen) = (Vec::new(), HashSet::new());
        for q in build_queries(&new, DEFAULT_QUERY_MAX) {
            let mut params = self.list_params();
            params.q = Some(match &window {
                Some(after) => format!("{q} {after}"),
                None => q,
            });
            let listed = self
                .inner
                .gmail
                .list_all_messages(&account.email, &params)
                .await?;
            counts.listed += listed.len() as u64;
            Progress::add(&self.inner.progress.listed, listed.len() as u64);
            ids.extend(
                listed
                    .into_iter()
                    .map(|m| m.id)
                    .filter(|i| seen.insert(i.clone())),
            );
        }
        let queued = self.db(move |s| s.record_search(id, &ids, &new)).await?;
        self.db(move |s| s.refresh_sync_phase(id)).await?;
        tracing::info!(mailbox = %account.email, queued, "investor search queued mail to fetch first");
        Ok(queued)
    }

    /// One round of `search` items: fetched whole, saved like any message,
    /// and when matched (the usual rules decide) stored with body and
    /// attachments at once. Returns how many items it handled.
    pub(crate) async fn search_round(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        counts: &mut RunCounts,
    ) -> Result<usize, CaptureError> {
        let chunk = self
            .inner
            .settings
            .full_chunk
            .max(self.inner.settings.metadata_chunk / 2);
        let fetched = self.fetch_due(account, FetchKind::Search, chunk).await?;
        let handled = fetched.len();
        let (mut items, mut msgs, mut saves) = (Vec::new(), Vec::new(), Vec::new());
        for (item, result) in fetched {
            match result {
                Ok(msg) => {
                    counts.fetched += 1;
                    if let Some(rec) = self.accept(account, &item, &msg, ctx).await? {
                        saves.push(rec);
                        items.push(item);
                        msgs.push(msg);
                    }
                }
                Err(e) => self.fetch_failed(account, &item, e, counts).await?,
            }
        }
        Progress::add(&self.inner.progress.fetched, handled as u64);
        if saves.is_empty() {
            return Ok(handled);
        }
        let (id, ctx2, n) = (account.id, ctx.clone(), saves.len() as u64);
        let saved = self
            .db(move |s| s.save_metadata(id, &saves, FetchSource::Search, &|p| ctx2.decide(p)))
            .await?;
        counts.added += saved.iter().filter(|s| s.created).count() as u64;
        counts.matched += saved.iter().filter(|s| s.matched).count() as u64;
        Progress::add(&self.inner.progress.saved, n);
        let permits = Arc::new(Semaphore::new(self.inner.settings.attach_concurrency));
        let work = items.iter().zip(msgs).zip(&saved).map(|((item, msg), s)| {
            let permits = permits.clone();
            async move {
                if s.matched {
                    self.store_full(account, item, msg, permits).await
                } else {
                    Ok(Fetched::Done)
                }
            }
        });
        let (mut bodies, mut done) = (Vec::new(), Vec::new());
        for (item, outcome) in items.iter().zip(join_all(work).await) {
            match outcome? {
                Fetched::Done => done.push(item.clone()),
                Fetched::Body(body, wrote) => {
                    bodies.push((*body, wrote));
                    done.push(item.clone());
                }
                Fetched::Retry(CaptureError::Gmail(e)) => {
                    self.fetch_failed(account, item, e, counts).await?
                }
                Fetched::Retry(other) => return Err(other),
            }
        }
        // Bodies first: a crash in between refetches, never loses.
        self.save_bodies(account, bodies).await?;
        self.db(move |s| done.iter().try_for_each(|it| s.drop_fetch(it)))
            .await?;
        Ok(handled)
    }
}
