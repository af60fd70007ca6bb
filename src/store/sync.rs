//! Sync state of a mailbox: the backfill checkpoint (listing progress is
//! saved with the ids it queued, in one transaction), history changes
//! applied to sightings together with the cursor move, the full re-list's
//! reconciliation, and the per-mailbox sync outcome fields.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::accounts::{history_id_from_sql, history_id_to_sql};
use super::emails::label_flags;
use super::queue::{self, FetchKind, FetchSource};
use super::{Store, StoreError};
use crate::google::types::labels;

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

/// The net effect of one history batch on one message (add+delete nets to
/// `Gone`; an add carries the labels Gmail reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetChange {
    Gone,
    Present {
        labels: Vec<String>,
    },
    Relabeled {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

/// What a history batch or a reconcile did to the sightings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SightingChanges {
    pub enqueued: u64,
    pub deleted: u64,
    pub relabeled: u64,
}

fn visible(labels_: &[String]) -> bool {
    !labels_
        .iter()
        .any(|l| l == labels::SPAM || l == labels::TRASH)
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
            let mut queued = 0;
            for id in ids {
                // Already captured, or queued (e.g. by an investor search).
                if !sighted(&tx, account_id, id)? && !queue::queued(&tx, account_id, id)? {
                    queued += usize::from(queue::enqueue(
                        &tx,
                        account_id,
                        id,
                        FetchKind::Metadata,
                        FetchSource::Backfill,
                        now,
                    )?);
                }
            }
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
            let mut missing = Vec::new();
            for id in ids {
                if !sighted(&tx, account_id, id)? && !queue::queued(&tx, account_id, id)? {
                    queue::enqueue(
                        &tx,
                        account_id,
                        id,
                        FetchKind::Metadata,
                        FetchSource::Backfill,
                        now,
                    )?;
                    missing.push(id.clone());
                }
            }
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
            let mut queued = 0;
            for id in ids {
                if !sighted(&tx, account_id, id)? && !queue::queued(&tx, account_id, id)? {
                    let (k, s) = (FetchKind::Search, FetchSource::Search);
                    queued += usize::from(queue::enqueue(&tx, account_id, id, k, s, now)?);
                }
            }
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

    /// Applies one history batch's net changes and moves the cursor to
    /// `cursor`, in one transaction. New messages are queued (the cursor
    /// may pass them: the queue holds them until fetched).
    pub fn apply_history(
        &self,
        account_id: i64,
        changes: &[(String, NetChange)],
        cursor: u64,
    ) -> Result<SightingChanges, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let mut out = SightingChanges::default();
            for (id, change) in changes {
                apply_one(&tx, account_id, id, change, now, &mut out)?;
            }
            set_cursor(&tx, account_id, cursor, now)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// A full re-list's result: live sightings not listed are soft-deleted;
    /// listed ids not live here are queued; failed items get a fresh start;
    /// the cursor becomes `cursor` (taken before the listing began).
    pub fn reconcile(
        &self,
        account_id: i64,
        listed: &HashSet<String>,
        state_labels: &[(String, HashSet<String>)],
        cursor: u64,
        window_start_ms: Option<i64>,
    ) -> Result<SightingChanges, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let mut out = SightingChanges::default();
            let live = sightings_liveness(&tx, account_id)?;
            let in_window = |d: Option<i64>| match (window_start_ms, d) {
                (Some(w), Some(d)) => d >= w,
                _ => true,
            };
            for (id, (is_live, date)) in &live {
                // Outside a limited backfill window nothing is listed, so
                // absence there proves nothing.
                if *is_live && !listed.contains(id) && in_window(*date) {
                    tx.prepare_cached(
                        "UPDATE email_account_messages SET deleted_at = ?3, updated_at = ?3 \
                         WHERE account_id = ?1 AND gmail_message_id = ?2",
                    )?
                    .execute(params![account_id, id, now])?;
                    queue::dequeue(&tx, account_id, id, None)?;
                    out.deleted += 1;
                }
            }
            for id in listed {
                if live.get(id).is_some_and(|(l, _)| *l) {
                    out.relabeled += u64::from(restate(&tx, account_id, id, state_labels, now)?);
                } else {
                    let src = FetchSource::Reconcile;
                    out.enqueued += u64::from(queue::enqueue(
                        &tx,
                        account_id,
                        id,
                        FetchKind::Metadata,
                        src,
                        now,
                    )?);
                }
            }
            tx.execute(
                "UPDATE email_fetch_queue SET failed_at = NULL, attempts = 0, not_before = 0 \
                 WHERE account_id = ?1 AND failed_at IS NOT NULL",
                [account_id],
            )?;
            set_cursor(&tx, account_id, cursor, now)?;
            tx.execute(
                "UPDATE email_accounts SET last_full_sync_at = ?2 WHERE id = ?1",
                params![account_id, now],
            )?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// A fetched message turned out to be in spam or trash (or gone): keep
    /// its sighting's labels current, if we have one, and drop the item.
    pub fn skip_fetched(
        &self,
        account_id: i64,
        gmail_id: &str,
        labels_now: Option<&[String]>,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            match labels_now {
                Some(l) => set_labels(&tx, account_id, gmail_id, l, now)?,
                None => soft_delete(&tx, account_id, gmail_id, now)?,
            };
            queue::dequeue(&tx, account_id, gmail_id, None)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// Sets the state labels of a live copy from the label listings; other
/// labels stay as last known. Returns whether anything changed.
fn restate(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
    state_labels: &[(String, HashSet<String>)],
    now: i64,
) -> Result<bool, StoreError> {
    let Some(mut l) = current_labels(c, account_id, gmail_id)? else {
        return Ok(false);
    };
    let before = l.clone();
    for (label, ids) in state_labels {
        let has = l.iter().any(|x| x == label);
        match (ids.contains(gmail_id), has) {
            (true, false) => l.push(label.clone()),
            (false, true) => l.retain(|x| x != label),
            _ => {}
        }
    }
    if l == before {
        return Ok(false);
    }
    set_labels(c, account_id, gmail_id, &l, now)?;
    Ok(true)
}

fn sighted(c: &Connection, account_id: i64, gmail_id: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM email_account_messages WHERE account_id = ?1 AND gmail_message_id = ?2",
    )?
    .query_row(params![account_id, gmail_id], |_| Ok(()))
    .optional()?
    .is_some())
}

type Liveness = HashMap<String, (bool, Option<i64>)>;

fn sightings_liveness(c: &Connection, account_id: i64) -> Result<Liveness, StoreError> {
    let mut s = c.prepare_cached(
        "SELECT gmail_message_id, deleted_at IS NULL AND is_trash = 0 AND is_spam = 0, \
           internal_date_ms FROM email_account_messages WHERE account_id = ?1",
    )?;
    let rows = s.query_map([account_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn current_labels(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    let json: Option<String> = c
        .prepare_cached(
            "SELECT labels_json FROM email_account_messages \
             WHERE account_id = ?1 AND gmail_message_id = ?2",
        )?
        .query_row(params![account_id, gmail_id], |r| r.get(0))
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j).unwrap_or_default()))
}

fn apply_one(
    c: &Connection,
    account_id: i64,
    id: &str,
    change: &NetChange,
    now: i64,
    out: &mut SightingChanges,
) -> Result<(), StoreError> {
    let have = current_labels(c, account_id, id)?;
    let (src, meta) = (FetchSource::History, FetchKind::Metadata);
    match (change, have) {
        (NetChange::Gone, Some(_)) => {
            soft_delete(c, account_id, id, now)?;
            queue::dequeue(c, account_id, id, None)?;
            out.deleted += 1;
        }
        (NetChange::Gone, None) => queue::dequeue(c, account_id, id, None)?,
        (NetChange::Present { labels }, Some(_)) => {
            set_labels(c, account_id, id, labels, now)?;
            out.relabeled += 1;
        }
        (NetChange::Present { labels }, None) => {
            if visible(labels) {
                out.enqueued += u64::from(queue::enqueue(c, account_id, id, meta, src, now)?);
            }
        }
        (NetChange::Relabeled { add, remove }, Some(mut l)) => {
            l.retain(|x| !remove.contains(x));
            l.extend(
                add.iter()
                    .filter(|a| !l.contains(a))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            set_labels(c, account_id, id, &l, now)?;
            out.relabeled += 1;
        }
        (NetChange::Relabeled { add, .. }, None) => {
            // Not captured yet (it was in spam/trash, or is still queued):
            // fetching tells where it is now.
            if visible(add) {
                out.enqueued += u64::from(queue::enqueue(c, account_id, id, meta, src, now)?);
            }
        }
    }
    Ok(())
}

/// New labels for a sighting. A label change proves the message exists, so
/// a soft delete from a reconcile (it was in trash then) is lifted.
fn set_labels(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
    l: &[String],
    now: i64,
) -> Result<(), StoreError> {
    let (sent, inbox, trash, spam) = label_flags(l);
    let json = serde_json::to_string(l).unwrap_or_else(|_| "[]".into());
    c.prepare_cached(
        "UPDATE email_account_messages SET labels_json = ?3, is_sent = ?4, is_inbox = ?5, \
           is_trash = ?6, is_spam = ?7, deleted_at = NULL, updated_at = ?8 \
         WHERE account_id = ?1 AND gmail_message_id = ?2",
    )?
    .execute(params![
        account_id, gmail_id, json, sent, inbox, trash, spam, now
    ])?;
    Ok(())
}

fn soft_delete(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE email_account_messages SET deleted_at = ?3, updated_at = ?3 \
         WHERE account_id = ?1 AND gmail_message_id = ?2 AND deleted_at IS NULL",
    )?
    .execute(params![account_id, gmail_id, now])?;
    Ok(())
}

fn set_cursor(c: &Connection, account_id: i64, cursor: u64, now: i64) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE email_accounts SET history_id = ?2, history_id_at = ?3, updated_at = ?3 \
         WHERE id = ?1",
    )?
    .execute(params![account_id, history_id_to_sql(cursor), now])?;
    Ok(())
}
