//! Incremental sync from the history cursor, and the full re-list that
//! replaces it when the cursor has expired (404) or is older than
//! `CRM_GMAIL_HISTORY_STALE_DAYS`. Each history page is netted (an add and
//! a delete of one message cancel out) and applied with the cursor move in
//! one transaction; new messages go to the durable queue, so the cursor can
//! pass them safely. A loop guard refuses a second re-list forced by an
//! expired cursor soon after the last one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::record::LinkContext;
use super::{Capture, CaptureError, Progress};
use crate::google::types::{labels, History, HistoryId};
use crate::google::{GmailError, HistoryParams};
use crate::store::{Account, FetchSource, NetChange, RunCounts, SightingChanges};

const HISTORY_TYPES: [&str; 4] = [
    "messageAdded",
    "messageDeleted",
    "labelAdded",
    "labelRemoved",
];

impl Capture {
    pub(crate) async fn incremental(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        counts: &mut RunCounts,
    ) -> Result<(), CaptureError> {
        let Some(mut cursor) = account.history_id else {
            return self.full_resync(account, ctx, counts, true).await;
        };
        // A directory change: search just the new contacts and domains.
        self.search_new_items(account, counts).await?;
        let stale_ms = i64::from(self.inner.settings.history_stale_days) * 86_400_000;
        let age = account
            .history_id_at
            .map_or(i64::MAX, |t| self.now_ms() - t.timestamp_millis());
        if stale_ms > 0 && age > stale_ms {
            tracing::info!(mailbox = %account.email, "history cursor is stale; full re-sync");
            return self.full_resync(account, ctx, counts, true).await;
        }
        let params = HistoryParams {
            start_history_id: HistoryId(cursor),
            history_types: HISTORY_TYPES.iter().map(|s| s.to_string()).collect(),
            label_id: None,
            max_results: Some(500),
        };
        let mut page: Option<String> = None;
        loop {
            let resp = match self
                .inner
                .gmail
                .list_history(&account.email, &params, page.as_deref())
                .await
            {
                Ok(r) => r,
                Err(GmailError::HistoryExpired { .. }) => {
                    tracing::warn!(mailbox = %account.email, cursor, "history cursor expired; full re-sync");
                    return self.full_resync(account, ctx, counts, true).await;
                }
                Err(e) => return Err(e.into()),
            };
            let next = resp.next_page_token.filter(|n| Some(n) != page.as_ref());
            let last_record = resp.history.iter().map(|h| h.id.0).max().unwrap_or(cursor);
            // Mid-listing, the cursor may only move to the last record seen;
            // the mailbox's own historyId is the cursor only after the last page.
            let new_cursor = if next.is_some() {
                last_record
            } else {
                resp.history_id.0
            }
            .max(cursor);
            let net = net_changes(&resp.history);
            let id = account.id;
            let applied = self
                .db(move |s| s.apply_history(id, &net, new_cursor))
                .await?;
            tally(counts, &applied);
            cursor = new_cursor;
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
            self.checkpoint(account.id).await?;
        }
        self.drain(account, ctx, FetchSource::History, counts).await
    }

    /// Lists the whole mailbox (within the backfill window) and reconciles:
    /// adds what is missing, soft-deletes what is gone, no duplicates.
    pub(crate) async fn full_resync(
        &self,
        account: &Account,
        ctx: &Arc<LinkContext>,
        counts: &mut RunCounts,
        guarded: bool,
    ) -> Result<(), CaptureError> {
        let id = account.id;
        if guarded {
            let guard = self.inner.settings.full_resync_guard.as_millis() as i64;
            if let Some(last) = self.db(move |s| s.last_full_sync_ms(id)).await? {
                let since = self.now_ms() - last;
                if since < guard {
                    return Err(CaptureError::ResyncGuard {
                        minutes: since / 60_000,
                        guard_minutes: guard / 60_000,
                    });
                }
            }
        }
        let profile = self.inner.gmail.get_profile(&account.email).await?;
        let refs = self
            .inner
            .gmail
            .list_all_messages(&account.email, &self.list_params())
            .await?;
        counts.listed += refs.len() as u64;
        Progress::add(&self.inner.progress.listed, refs.len() as u64);
        let listed: HashSet<String> = refs.into_iter().map(|m| m.id).collect();
        let state = self.state_listings(account).await?;
        let (cursor, window) = (profile.history_id.0, self.window_start_ms());
        let applied = self
            .db(move |s| s.reconcile(id, &listed, &state, cursor, window))
            .await?;
        tally(counts, &applied);
        self.drain(account, ctx, FetchSource::Reconcile, counts)
            .await
    }
}

impl Capture {
    /// Which messages carry INBOX and SENT now: history is gone, so the
    /// state of copies already captured is read from two label listings
    /// (5 units per 500 ids) instead of a get per message.
    async fn state_listings(
        &self,
        account: &Account,
    ) -> Result<Vec<(String, HashSet<String>)>, CaptureError> {
        let mut out = Vec::new();
        for label in [labels::INBOX, labels::SENT] {
            let mut params = self.list_params();
            params.label_ids = vec![label.to_string()];
            let refs = self
                .inner
                .gmail
                .list_all_messages(&account.email, &params)
                .await?;
            out.push((label.to_string(), refs.into_iter().map(|m| m.id).collect()));
        }
        Ok(out)
    }
}

fn tally(counts: &mut RunCounts, c: &SightingChanges) {
    counts.deleted += c.deleted;
    counts.labels_changed += c.relabeled;
}

/// The net effect of history records on each message, in first-seen order.
pub(crate) fn net_changes(history: &[History]) -> Vec<(String, NetChange)> {
    let mut order: Vec<String> = Vec::new();
    let mut state: HashMap<String, NetChange> = HashMap::new();
    let mut touch = |id: &str, f: &dyn Fn(Option<NetChange>) -> NetChange| {
        let prev = state.remove(id);
        if prev.is_none() {
            order.push(id.to_string());
        }
        state.insert(id.to_string(), f(prev));
    };
    for h in history {
        for m in &h.messages_added {
            let labels = m.message.label_ids.clone();
            touch(&m.message.id, &|_| NetChange::Present {
                labels: labels.clone(),
            });
        }
        for l in &h.labels_added {
            touch(&l.message.id, &|prev| relabel(prev, &l.label_ids, &[]));
        }
        for l in &h.labels_removed {
            touch(&l.message.id, &|prev| relabel(prev, &[], &l.label_ids));
        }
        for m in &h.messages_deleted {
            touch(&m.message.id, &|_| NetChange::Gone);
        }
    }
    order
        .into_iter()
        .filter_map(|id| state.remove(&id).map(|c| (id, c)))
        .collect()
}

fn relabel(prev: Option<NetChange>, add: &[String], remove: &[String]) -> NetChange {
    let apply = |mut set: Vec<String>| {
        set.retain(|x| !remove.contains(x));
        set.extend(
            add.iter()
                .filter(|a| !set.contains(a))
                .cloned()
                .collect::<Vec<_>>(),
        );
        set
    };
    match prev {
        Some(NetChange::Gone) => NetChange::Gone,
        Some(NetChange::Present { labels }) => NetChange::Present {
            labels: apply(labels),
        },
        Some(NetChange::Relabeled { add: a, remove: r }) => {
            let mut a = apply(a);
            let mut r: Vec<String> = r.into_iter().filter(|x| !add.contains(x)).collect();
            r.extend(
                remove
                    .iter()
                    .filter(|x| !r.contains(x))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            a.retain(|x| !r.contains(x));
            NetChange::Relabeled { add: a, remove: r }
        }
        None => NetChange::Relabeled {
            add: add.to_vec(),
            remove: remove.to_vec(),
        },
    }
}
