//! Sightings kept in step with Gmail: history changes applied together
//! with the cursor move, the full re-list's reconciliation (state labels
//! from label listings), and messages found in spam/trash or gone.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::accounts::history_id_to_sql;
use super::emails::label_flags;
use super::queue::{self, FetchKind, FetchSource};
use super::{Store, StoreError};
use crate::google::types::labels;

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

/// Same rule as capture's: no spam, trash or unsent drafts.
fn visible(labels_: &[String]) -> bool {
    !labels_
        .iter()
        .any(|l| l == labels::SPAM || l == labels::TRASH || l == labels::DRAFT)
}

impl Store {
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

pub(super) fn sighted(c: &Connection, account_id: i64, gmail_id: &str) -> Result<bool, StoreError> {
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
