//! `email_sync_runs` (what each sync did) and the mailbox status the
//! `status` route and the CLI show: lag, backlog, last success and error,
//! watch expiry — truthful, so mail missing never hides behind "healthy".

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use super::accounts::{history_id_from_sql, AccountStatus};
use super::{opt_time, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    Backfill,
    Incremental,
    Full,
    Push,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backfill => "backfill",
            Self::Incremental => "incremental",
            Self::Full => "full",
            Self::Push => "push",
        }
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub listed: u64,
    pub fetched: u64,
    pub added: u64,
    pub deleted: u64,
    pub labels_changed: u64,
    pub matched: u64,
    pub errors: u64,
}

impl RunCounts {
    pub fn add(&mut self, o: &RunCounts) {
        self.listed += o.listed;
        self.fetched += o.fetched;
        self.added += o.added;
        self.deleted += o.deleted;
        self.labels_changed += o.labels_changed;
        self.matched += o.matched;
        self.errors += o.errors;
    }
}

/// `ok`: everything done; `partial`: items left deferred or failed;
/// `failed`: the run stopped on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Partial,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }
}

/// One mailbox's sync state for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxStatus {
    pub id: i64,
    pub email: String,
    pub status: String,
    pub phase: String,
    pub backfill_done: bool,
    /// Live sightings.
    pub messages: u64,
    pub history_id: Option<String>,
    /// When the cursor last moved (its age is the lag).
    pub history_id_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub watch_expiration: Option<DateTime<Utc>>,
    pub pending: u64,
    pub failed: u64,
    /// Messages investor searches queued, and how many still wait.
    pub investor_listed: u64,
    pub investor_pending: u64,
}

impl Store {
    pub fn start_sync_run(
        &self,
        account_id: i64,
        kind: SyncKind,
        history_start: Option<u64>,
    ) -> Result<i64, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "INSERT INTO email_sync_runs (account_id, kind, started_at, history_id_start) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    account_id,
                    kind.as_str(),
                    now,
                    history_start.map(|h| h.to_string())
                ],
            )?;
            c.execute(
                "UPDATE email_accounts SET last_sync_at = ?2 WHERE id = ?1",
                params![account_id, now],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Closes a run and records the mailbox's outcome: success clears the
    /// last error; failure records it (and `set_status`, e.g. `error` for a
    /// refused grant).
    pub fn finish_sync_run(
        &self,
        run_id: i64,
        counts: &RunCounts,
        status: RunStatus,
        error: Option<&str>,
        set_status: Option<AccountStatus>,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let account_id: i64 = tx.query_row(
                "SELECT account_id FROM email_sync_runs WHERE id = ?1",
                [run_id],
                |r| r.get(0),
            )?;
            let cursor: Option<String> = tx.query_row(
                "SELECT history_id FROM email_accounts WHERE id = ?1",
                [account_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE email_sync_runs SET status = ?2, finished_at = ?3, history_id_end = ?4, \
                   messages_listed = ?5, messages_fetched = ?6, messages_added = ?7, \
                   messages_deleted = ?8, labels_changed = ?9, matched = ?10, errors = ?11, \
                   error = ?12 WHERE id = ?1",
                params![
                    run_id,
                    status.as_str(),
                    now,
                    cursor,
                    counts.listed as i64,
                    counts.fetched as i64,
                    counts.added as i64,
                    counts.deleted as i64,
                    counts.labels_changed as i64,
                    counts.matched as i64,
                    counts.errors as i64,
                    error
                ],
            )?;
            // Partial with a reason is a sync stopped at a checkpoint (a
            // pause, a shutdown): neither a success nor an error of the
            // mailbox, whose last error and last success stay as they were.
            let interrupted = status == RunStatus::Partial && error.is_some();
            if status == RunStatus::Failed {
                tx.execute(
                    "UPDATE email_accounts SET last_error = ?2, last_error_at = ?3, \
                       status = coalesce(?4, status), updated_at = ?3 WHERE id = ?1",
                    params![account_id, error, now, set_status.map(|s| s.as_str())],
                )?;
            } else if !interrupted {
                tx.execute(
                    "UPDATE email_accounts SET last_success_at = ?2, last_error = NULL, \
                       last_error_at = NULL, updated_at = ?2 WHERE id = ?1",
                    params![account_id, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// When the last full re-list ran (the loop guard's memory).
    pub fn last_full_sync_ms(&self, account_id: i64) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT last_full_sync_at FROM email_accounts WHERE id = ?1",
                [account_id],
                |r| r.get(0),
            )?)
        })
    }

    /// Records a registered `watch`: its expiry and starting historyId.
    pub fn set_watch(
        &self,
        account_id: i64,
        expiration_ms: i64,
        history_id: u64,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE email_accounts SET watch_expiration = ?2, watch_history_id = ?3 WHERE id = ?1",
                params![account_id, expiration_ms, history_id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Forgets a mailbox's watch, so the next renewal registers it anew.
    pub fn clear_watch(&self, account_id: i64) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE email_accounts SET watch_expiration = NULL WHERE id = ?1",
                [account_id],
            )?;
            Ok(())
        })
    }

    /// Status of every mailbox, by id.
    pub fn mailbox_statuses(&self) -> Result<Vec<MailboxStatus>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT a.id, a.email, a.status, a.sync_phase, a.backfill_state = 'done', \
                   (SELECT count(*) FROM email_account_messages m WHERE m.account_id = a.id \
                      AND m.deleted_at IS NULL AND m.is_trash = 0 AND m.is_spam = 0), \
                   a.history_id, a.history_id_at, a.last_sync_at, a.last_success_at, \
                   a.last_error, a.last_error_at, a.watch_expiration, \
                   (SELECT count(*) FROM email_fetch_queue q WHERE q.account_id = a.id \
                      AND q.failed_at IS NULL), \
                   (SELECT count(*) FROM email_fetch_queue q WHERE q.account_id = a.id \
                      AND q.failed_at IS NOT NULL), \
                   a.investor_listed, \
                   (SELECT count(*) FROM email_fetch_queue q WHERE q.account_id = a.id \
                      AND q.kind = 'search' AND q.failed_at IS NULL) \
                 FROM email_accounts a ORDER BY a.id",
            )?;
            let rows = s.query_map([], |r| {
                let hid: Option<String> = r.get(6)?;
                Ok(MailboxStatus {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    status: r.get(2)?,
                    phase: r.get(3)?,
                    backfill_done: r.get(4)?,
                    messages: r.get::<_, i64>(5)?.max(0) as u64,
                    history_id: hid.filter(|h| history_id_from_sql(h).is_ok()),
                    history_id_at: opt_time(r.get(7)?),
                    last_sync_at: opt_time(r.get(8)?),
                    last_success_at: opt_time(r.get(9)?),
                    last_error: r.get(10)?,
                    last_error_at: opt_time(r.get(11)?),
                    watch_expiration: opt_time(r.get(12)?),
                    pending: r.get::<_, i64>(13)?.max(0) as u64,
                    failed: r.get::<_, i64>(14)?.max(0) as u64,
                    investor_listed: r.get::<_, i64>(15)?.max(0) as u64,
                    investor_pending: r.get::<_, i64>(16)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Ids of a mailbox's live sightings' Gmail messages (tests, reconcile).
    pub fn live_gmail_ids(&self, account_id: i64) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT gmail_message_id FROM email_account_messages WHERE account_id = ?1 \
                 AND deleted_at IS NULL AND is_trash = 0 AND is_spam = 0 ORDER BY gmail_message_id",
            )?;
            let rows = s.query_map([account_id], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
