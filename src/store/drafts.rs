//! Reply drafts (SPEC §8 drafts): what a reply is built from (the email,
//! its participants, its live sightings, our own addresses; loaded in
//! `source`), and the
//! `email_drafts` rows with their idempotency keys — a row is written
//! `pending` before Gmail is called and moves to `created` (with its audit
//! row, in one transaction) or `failed`. The OAuth consent states live in
//! the `oauth` submodule.

mod oauth;
mod source;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::{ms_to_time, Store, StoreError};

pub use oauth::{ConnectedAccount, OAuthStateRow};

/// One address with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    #[serde(default)]
    pub name: String,
}

/// One mailbox's live copy of an email (not deleted, not in the trash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSighting {
    pub account_id: i64,
    pub account_email: String,
    pub account_status: String,
    pub gmail_thread_id: String,
}

/// An email as a reply needs it. Never any Bcc: those are not loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplySource {
    pub email_id: i64,
    /// Normalised (no angle brackets).
    pub message_id: String,
    pub message_id_synthesized: bool,
    pub subject: String,
    pub from: Person,
    pub reply_to: Vec<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    /// Root headers as captured, `(name, value)`.
    pub headers: Vec<(String, String)>,
    pub sightings: Vec<LiveSighting>,
}

/// A draft request about to go to Gmail.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub email_id: i64,
    pub account_id: i64,
    pub gmail_thread_id: String,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: String,
    pub body: String,
    pub reply_all: bool,
    pub created_by: String,
}

/// An `email_drafts` row.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRow {
    pub id: i64,
    pub email_id: i64,
    pub account_id: i64,
    pub account_email: String,
    pub gmail_draft_id: Option<String>,
    pub gmail_thread_id: Option<String>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: String,
    pub reply_all: bool,
    pub status: String,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What [`Store::begin_draft`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftStart {
    /// Go ahead: call Gmail for this (pending) row.
    Proceed(i64),
    /// The same key and request already made this draft.
    Replay(Box<DraftRow>),
    /// The key was used for a different request.
    KeyConflict,
    /// The same key and request are being created right now.
    InFlight,
}

const DRAFT_COLUMNS: &str = "d.id, d.email_id, d.account_id, a.email, d.gmail_draft_id, \
     d.gmail_thread_id, d.to_json, d.cc_json, d.subject, d.reply_all, d.status, d.error, \
     d.created_by, d.created_at";

impl Store {
    /// Records a draft request before Gmail is called, honouring its
    /// idempotency key: a `failed` row (or a `pending` one older than
    /// `stale_after_ms`, left by a crash) with the same key and request is
    /// tried again.
    pub fn begin_draft(&self, d: &NewDraft, stale_after_ms: i64) -> Result<DraftStart, StoreError> {
        let now = self.now_ms();
        let to = to_json(&d.to)?;
        let cc = to_json(&d.cc)?;
        self.write(|c| {
            let tx = c.transaction()?;
            if let Some(start) = reuse_key(&tx, d, (&to, &cc), now, stale_after_ms)? {
                tx.commit()?;
                return Ok(start);
            }
            tx.execute(
                "INSERT INTO email_drafts (idempotency_key, request_hash, email_id, account_id, \
                 gmail_thread_id, to_json, cc_json, subject, body, reply_all, status, created_by, \
                 created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12, ?12)",
                params![
                    d.idempotency_key,
                    d.request_hash,
                    d.email_id,
                    d.account_id,
                    d.gmail_thread_id,
                    to,
                    cc,
                    d.subject,
                    d.body,
                    d.reply_all,
                    d.created_by,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(DraftStart::Proceed(id))
        })
    }

    /// Gmail made the draft: the row becomes `created` and the audit row
    /// is written in the same transaction.
    pub fn finish_draft(
        &self,
        id: i64,
        gmail_draft_id: &str,
        gmail_thread_id: &str,
        actor: &str,
    ) -> Result<DraftRow, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE email_drafts SET status = 'created', gmail_draft_id = ?2, \
                 gmail_thread_id = ?3, error = NULL, updated_at = ?4 WHERE id = ?1",
                params![id, gmail_draft_id, gmail_thread_id, now],
            )?;
            if n == 0 {
                return Err(StoreError::not_found(format!("draft {id}")));
            }
            let row = draft_row(&tx, id)?;
            let details = serde_json::json!({
                "email_id": row.email_id.to_string(),
                "account": row.account_email,
                "gmail_draft_id": gmail_draft_id,
                "gmail_thread_id": gmail_thread_id,
                "reply_all": row.reply_all,
                "to": row.to.iter().map(|p| &p.email).collect::<Vec<_>>(),
                "cc": row.cc.iter().map(|p| &p.email).collect::<Vec<_>>(),
            });
            audit(&tx, now, actor, "draft.create", &id.to_string(), &details)?;
            tx.commit()?;
            Ok(row)
        })
    }

    /// Gmail refused or failed: the row becomes `failed` with why (a retry
    /// with the same idempotency key may try again); audited.
    pub fn fail_draft(&self, id: i64, error: &str, actor: &str) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE email_drafts SET status = 'failed', error = ?2, updated_at = ?3 \
                 WHERE id = ?1",
                params![id, error, now],
            )?;
            let details = serde_json::json!({ "error": error });
            audit(&tx, now, actor, "draft.failed", &id.to_string(), &details)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// One draft row.
    pub fn draft(&self, id: i64) -> Result<DraftRow, StoreError> {
        self.read(|c| draft_row(c, id))
    }
}

/// What an idempotency key already on a row means for this request;
/// `None` when the request has no key or the key is new.
fn reuse_key(
    tx: &Transaction<'_>,
    d: &NewDraft,
    json: (&str, &str),
    now: i64,
    stale_after_ms: i64,
) -> Result<Option<DraftStart>, StoreError> {
    let Some(key) = &d.idempotency_key else {
        return Ok(None);
    };
    let found: Option<(i64, String, String, i64)> = tx
        .query_row(
            "SELECT id, request_hash, status, updated_at FROM email_drafts \
             WHERE idempotency_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((id, hash, status, updated_at)) = found else {
        return Ok(None);
    };
    Ok(Some(match (hash == d.request_hash, status.as_str()) {
        (false, _) => DraftStart::KeyConflict,
        (true, "created") => DraftStart::Replay(Box::new(draft_row(tx, id)?)),
        (true, "pending") if now - updated_at < stale_after_ms => DraftStart::InFlight,
        (true, _) => {
            retry_row(tx, id, d, json, now)?;
            DraftStart::Proceed(id)
        }
    }))
}

fn retry_row(
    tx: &Transaction<'_>,
    id: i64,
    d: &NewDraft,
    (to, cc): (&str, &str),
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE email_drafts SET status = 'pending', error = NULL, email_id = ?2, \
         account_id = ?3, gmail_thread_id = ?4, to_json = ?5, cc_json = ?6, subject = ?7, \
         body = ?8, reply_all = ?9, updated_at = ?10 WHERE id = ?1",
        params![
            id,
            d.email_id,
            d.account_id,
            d.gmail_thread_id,
            to,
            cc,
            d.subject,
            d.body,
            d.reply_all,
            now
        ],
    )?;
    Ok(())
}

/// The audit row, inside the caller's transaction (same columns as
/// `Store::append_audit`).
pub(super) fn audit(
    tx: &Transaction<'_>,
    now: i64,
    actor: &str,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, details_json) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, actor, action, target, details.to_string()],
    )?;
    Ok(())
}

fn draft_row(c: &Connection, id: i64) -> Result<DraftRow, StoreError> {
    let sql = format!(
        "SELECT {DRAFT_COLUMNS} FROM email_drafts d JOIN email_accounts a \
         ON a.id = d.account_id WHERE d.id = ?1"
    );
    c.query_row(&sql, [id], row_to_draft)
        .optional()?
        .ok_or_else(|| StoreError::not_found(format!("draft {id}")))?
}

fn row_to_draft(r: &Row<'_>) -> rusqlite::Result<Result<DraftRow, StoreError>> {
    let to: String = r.get(6)?;
    let cc: String = r.get(7)?;
    let row = DraftRow {
        id: r.get(0)?,
        email_id: r.get(1)?,
        account_id: r.get(2)?,
        account_email: r.get(3)?,
        gmail_draft_id: r.get(4)?,
        gmail_thread_id: r.get(5)?,
        to: Vec::new(),
        cc: Vec::new(),
        subject: r.get(8)?,
        reply_all: r.get(9)?,
        status: r.get(10)?,
        error: r.get(11)?,
        created_by: r.get(12)?,
        created_at: ms_to_time(r.get(13)?),
    };
    Ok((|| {
        Ok(DraftRow {
            to: from_json(&to, "to_json")?,
            cc: from_json(&cc, "cc_json")?,
            ..row
        })
    })())
}

fn to_json(people: &[Person]) -> Result<String, StoreError> {
    serde_json::to_string(people)
        .map_err(|e| StoreError::invalid("draft recipients", e.to_string()))
}

fn from_json(text: &str, what: &str) -> Result<Vec<Person>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what.to_string(), e.to_string()))
}
