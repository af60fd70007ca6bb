//! Backfill bookkeeping of a mailbox: the checkpoint (each listed page is
//! queued together with the next page token, in one transaction), the
//! investor searches already run and what they queued, the end-of-backfill
//! verification, the phase status shows, and the hand-over to incremental
//! sync (the cursor taken before backfill began).

use rusqlite::params;

use super::accounts::{history_id_from_sql, history_id_to_sql};
use super::queue::{self, FetchKind, FetchSource};
use super::sync::sighted;
use super::{Store, StoreError};
use rusqlite::OptionalExtension;

/// Where a mailbox's backfill stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillCheckpoint {
    /// `pending` (not begun), `running`, `done`.
    pub state: String,
    /// The cursor taken from getProfile before the first list.
    pub history_id: Option<u64>,
    /// The next page to list; `None` with `listed_all` false = first page.
    pub page_token: Option<String>,
    pub listed_all: bool,
    pub listed: u64,
    pub messages_total: Option<u64>,
}

impl Store {
    pub fn backfill_checkpoint(&self, account_id: i64) -> Result<BackfillCheckpoint, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT backfill_state, backfill_history_id, backfill_page_token, \
                   backfill_listed_all, backfill_listed, messages_total \
                 FROM email_accounts WHERE id = ?1",
                [account_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found(format!("account {account_id}")))
            .and_then(|(state, hid, page_token, listed_all, listed, total)| {
                Ok(BackfillCheckpoint {
                    state,
                    history_id: hid.as_deref().map(history_id_from_sql).transpose()?,
                    page_token,
                    listed_all,
                    listed: listed.max(0) as u64,
                    messages_total: total.map(|t| t.max(0) as u64),
                })
            })
        })
    }

    /// Starts (or restarts from scratch) a backfill at `history_id`, the
    /// mailbox's cursor before anything is listed.
    pub fn begin_backfill(
        &self,
        account_id: i64,
        history_id: u64,
        messages_total: u64,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "UPDATE email_accounts SET backfill_state = 'running', backfill_history_id = ?2, \
                   backfill_page_token = NULL, backfill_listed_all = 0, backfill_listed = 0, \
                   messages_total = ?3, backfill_started_at = ?4, sync_phase = 'backfill', \
                   updated_at = ?4 WHERE id = ?1",
                params![
                    account_id,
                    history_id_to_sql(history_id),
                    messages_total as i64,
                    now
                ],
            )?;
            Ok(())
        })
    }

    /// Queues one listed page (ids not yet sighted) and moves the listing
    /// checkpoint to `next_page`, atomically: a crash before this commits
    /// relists the page; after, never. Returns how many ids were queued.
    pub fn record_backfill_page(
        &self,
        account_id: i64,
        ids: &[String],
        next_page: Option<&str>,
    ) -> Result<usize, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            // Already captured, or queued (e.g. by an investor search): skipped.
            let (k, src) = (FetchKind::Metadata, FetchSource::Backfill);
            let queued = enqueue_new(&tx, account_id, ids, k, src, now)?.len();
            tx.execute(
                "UPDATE email_accounts SET backfill_page_token = ?2, backfill_listed_all = ?3, \
                   backfill_listed = backfill_listed + ?4, updated_at = ?5 WHERE id = ?1",
                params![
                    account_id,
                    next_page,
                    next_page.is_none(),
                    ids.len() as i64,
                    now
                ],
            )?;
            tx.commit()?;
            Ok(queued)
        })
    }

    /// Of `ids` (a fresh listing), those with neither a sighting nor a
    /// queue item, now queued; returned so the caller can say so. The end
    /// of a backfill checks its own work this way: nothing listed may be
    /// silently missing.
    pub fn queue_unaccounted(
        &self,
        account_id: i64,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let (k, src) = (FetchKind::Metadata, FetchSource::Backfill);
            let missing = enqueue_new(&tx, account_id, ids, k, src, now)?;
            tx.commit()?;
            Ok(missing)
        })
    }

    /// The directory items (addresses, domains) already searched here.
    pub fn searched_items(&self, account_id: i64) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let json: String = c.query_row(
                "SELECT searched_items_json FROM email_accounts WHERE id = ?1",
                [account_id],
                |r| r.get(0),
            )?;
            Ok(serde_json::from_str(&json).unwrap_or_default())
        })
    }

    /// Queues what investor searches listed (ids neither captured nor
    /// queued) ahead of everything, and records `items` as searched, in
    /// one transaction. Returns how many ids were queued.
    pub fn record_search(
        &self,
        account_id: i64,
        ids: &[String],
        items: &[String],
    ) -> Result<usize, StoreError> {
        let now = self.now_ms();
        let mut searched = self.searched_items(account_id)?;
        searched.extend(items.iter().cloned());
        searched.sort();
        searched.dedup();
        let json = serde_json::to_string(&searched).unwrap_or_else(|_| "[]".into());
        self.write(|c| {
            let tx = c.transaction()?;
            let (k, src) = (FetchKind::Search, FetchSource::Search);
            let queued = enqueue_new(&tx, account_id, ids, k, src, now)?.len();
            tx.execute(
                "UPDATE email_accounts SET searched_items_json = ?2, \
                   investor_listed = investor_listed + ?3, updated_at = ?4 WHERE id = ?1",
                params![account_id, json, queued as i64, now],
            )?;
            tx.commit()?;
            Ok(queued)
        })
    }

    /// Sets the phase status shows from the state: `investor-first` while
    /// investor-search items wait, `backfill` until it is done, then
    /// `incremental`.
    pub fn refresh_sync_phase(&self, account_id: i64) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE email_accounts SET sync_phase = CASE \
                   WHEN EXISTS (SELECT 1 FROM email_fetch_queue q WHERE q.account_id = ?1 \
                                AND q.kind = 'search' AND q.failed_at IS NULL) \
                     THEN 'investor-first' \
                   WHEN backfill_state <> 'done' THEN 'backfill' \
                   ELSE 'incremental' END \
                 WHERE id = ?1",
                [account_id],
            )?;
            Ok(())
        })
    }

    /// Backfill finished: the cursor becomes the one taken before it began
    /// (unless incremental sync already moved one), so everything that
    /// arrived meanwhile is picked up from history.
    pub fn finish_backfill(&self, account_id: i64) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "UPDATE email_accounts SET backfill_state = 'done', backfill_done_at = ?2, \
                   history_id = coalesce(history_id, backfill_history_id), \
                   history_id_at = coalesce(history_id_at, ?2), sync_phase = 'incremental', \
                   updated_at = ?2 WHERE id = ?1",
                params![account_id, now],
            )?;
            Ok(())
        })
    }
}

/// Queues each of `ids` that has neither a sighting nor any queue item in
/// this mailbox; returns those it queued.
fn enqueue_new(
    c: &rusqlite::Connection,
    account_id: i64,
    ids: &[String],
    kind: FetchKind,
    source: FetchSource,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut queued = Vec::new();
    for id in ids {
        if !sighted(c, account_id, id)? && !queue::queued(c, account_id, id)? {
            queue::enqueue(c, account_id, id, kind, source, now)?;
            queued.push(id.clone());
        }
    }
    Ok(queued)
}
