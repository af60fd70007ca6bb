//! `email_fetch_queue`: the durable list of Gmail messages still to fetch
//! (SPEC §6: work to do lives in the database, never only in memory). The
//! capture engine enqueues ids as it lists them (together with the listing
//! checkpoint, in one transaction), takes due items in enqueue order
//! (newest-first for backfill), and removes an item only in the same
//! transaction that stores its result. Transient failures push
//! `not_before` out; permanent ones set `failed_at` and stay visible.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Store, StoreError};

/// What to fetch: headers only, the whole message of matched email, or a
/// message an investor search listed (fetched whole at once, first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchKind {
    Metadata,
    Full,
    Search,
}

impl FetchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::Full => "full",
            Self::Search => "search",
        }
    }
}

/// Why an item was queued (kept for status and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchSource {
    Backfill,
    History,
    Reconcile,
    Rematch,
    Push,
    Search,
}

impl FetchSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backfill => "backfill",
            Self::History => "history",
            Self::Reconcile => "reconcile",
            Self::Rematch => "rematch",
            Self::Push => "push",
            Self::Search => "search",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub id: i64,
    pub account_id: i64,
    pub gmail_message_id: String,
    pub kind: FetchKind,
    pub attempts: u32,
}

/// Queue size of one mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    /// Waiting, due now or after a back-off.
    pub pending: u64,
    /// Of those, waiting out a back-off after a transient failure.
    pub deferred: u64,
    /// Given up on (permanent error or too many attempts); kept for an admin.
    pub failed: u64,
}

/// The row of one item: its id and its key, so an item that another path
/// already removed is never confused with another row.
const ITEM: &str = "WHERE id = ?1 AND account_id = ?2 AND gmail_message_id = ?3 AND kind = ?4";

impl Store {
    /// Up to `limit` items of `kind` due at `now_ms`, oldest enqueued first.
    pub fn due_fetches(
        &self,
        account_id: i64,
        kind: FetchKind,
        limit: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        let now = self.now_ms();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, gmail_message_id, attempts FROM email_fetch_queue \
                 WHERE account_id = ?1 AND kind = ?2 AND failed_at IS NULL AND not_before <= ?3 \
                 ORDER BY id LIMIT ?4",
            )?;
            let rows =
                stmt.query_map(params![account_id, kind.as_str(), now, limit as i64], |r| {
                    Ok(QueueItem {
                        id: r.get(0)?,
                        account_id,
                        gmail_message_id: r.get(1)?,
                        kind,
                        attempts: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                    })
                })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// A transient failure: try again after `delay_ms`; after `max_attempts`
    /// the item is marked failed instead (kept, never silently dropped).
    /// Returns whether it was given up on.
    pub fn defer_fetch(
        &self,
        item: &QueueItem,
        error: &str,
        delay_ms: i64,
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let give_up = item.attempts + 1 >= max_attempts;
        self.write(|c| {
            c.execute(
                &format!(
                    "UPDATE email_fetch_queue SET attempts = attempts + 1, last_error = ?5, \
                     not_before = ?6, failed_at = CASE WHEN ?7 THEN ?8 ELSE NULL END {ITEM}"
                ),
                params![
                    item.id,
                    item.account_id,
                    item.gmail_message_id,
                    item.kind.as_str(),
                    error,
                    now + delay_ms,
                    give_up,
                    now
                ],
            )?;
            Ok(give_up)
        })
    }

    /// A permanent failure: keep the item, marked, with its reason.
    pub fn fail_fetch(&self, item: &QueueItem, error: &str) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                &format!(
                    "UPDATE email_fetch_queue SET attempts = attempts + 1, last_error = ?5, \
                     failed_at = ?6 {ITEM}"
                ),
                params![
                    item.id,
                    item.account_id,
                    item.gmail_message_id,
                    item.kind.as_str(),
                    error,
                    now
                ],
            )?;
            Ok(())
        })
    }

    /// Removes an item whose work turned out to be done already (a no-op
    /// if another path removed it first).
    pub fn drop_fetch(&self, item: &QueueItem) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                &format!("DELETE FROM email_fetch_queue {ITEM}"),
                params![
                    item.id,
                    item.account_id,
                    item.gmail_message_id,
                    item.kind.as_str()
                ],
            )?;
            Ok(())
        })
    }

    /// Counts for status and progress.
    pub fn queue_counts(&self, account_id: i64) -> Result<QueueCounts, StoreError> {
        let now = self.now_ms();
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FILTER (WHERE failed_at IS NULL), \
                        count(*) FILTER (WHERE failed_at IS NULL AND not_before > ?2), \
                        count(*) FILTER (WHERE failed_at IS NOT NULL) \
                 FROM email_fetch_queue WHERE account_id = ?1",
                params![account_id, now],
                |r| {
                    Ok(QueueCounts {
                        pending: r.get::<_, i64>(0)?.max(0) as u64,
                        deferred: r.get::<_, i64>(1)?.max(0) as u64,
                        failed: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )?)
        })
    }
}

/// Adds one item unless the same (mailbox, message, kind) is queued; a
/// re-added item that had failed gets a fresh start.
pub(crate) fn enqueue(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
    kind: FetchKind,
    source: FetchSource,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "INSERT INTO email_fetch_queue (account_id, gmail_message_id, kind, source, enqueued_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (account_id, gmail_message_id, kind) DO UPDATE SET \
               failed_at = NULL, attempts = 0, not_before = 0 WHERE failed_at IS NOT NULL",
        )?
        .execute(params![account_id, gmail_id, kind.as_str(), source.as_str(), now])?;
    Ok(n > 0)
}

/// Removes the item for (mailbox, message, kind), if queued.
pub(crate) fn dequeue(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
    kind: Option<FetchKind>,
) -> Result<(), StoreError> {
    match kind {
        Some(k) => c
            .prepare_cached(
                "DELETE FROM email_fetch_queue WHERE account_id = ?1 AND gmail_message_id = ?2 \
                 AND kind = ?3",
            )?
            .execute(params![account_id, gmail_id, k.as_str()])?,
        None => c
            .prepare_cached(
                "DELETE FROM email_fetch_queue WHERE account_id = ?1 AND gmail_message_id = ?2",
            )?
            .execute(params![account_id, gmail_id])?,
    };
    Ok(())
}

/// Whether anything is queued for (mailbox, message).
pub(crate) fn queued(c: &Connection, account_id: i64, gmail_id: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM email_fetch_queue WHERE account_id = ?1 AND gmail_message_id = ?2 LIMIT 1",
    )?
    .query_row(params![account_id, gmail_id], |_| Ok(()))
    .optional()?
    .is_some())
}

/// Whether a full fetch of `email_id` is already queued in any mailbox, so
/// an email seen in three mailboxes has its body fetched once.
pub(crate) fn full_fetch_queued(c: &Connection, email_id: i64) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM email_fetch_queue q JOIN email_account_messages s \
           ON s.account_id = q.account_id AND s.gmail_message_id = q.gmail_message_id \
         WHERE s.email_id = ?1 AND q.kind = 'full' AND q.failed_at IS NULL LIMIT 1",
    )?
    .query_row([email_id], |_| Ok(()))
    .optional()?
    .is_some())
}
