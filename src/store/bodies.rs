//! Bodies and attachments of matched email (SPEC §5 "match-only full
//! storage"): saved with the removal of the `full` queue item in one
//! transaction. Attachment content lives on disk (see `crate::attachments`);
//! rows here say which part is which file, or why there is none.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::links::live_sighting;
use super::queue::{self, FetchKind, FetchSource};
use super::{Store, StoreError};

/// `email_attachments.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentStatus {
    Stored,
    TooLarge,
    Failed,
}

impl AttachmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::TooLarge => "too_large",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    pub part_id: String,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub status: AttachmentStatus,
    pub error: Option<String>,
    /// The part's Content-ID (see `parse::content_id`), for `cid:` images.
    pub content_id: Option<String>,
}

/// A full fetch's result for one mailbox's copy of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyRecord {
    pub gmail_message_id: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentRow>,
}

impl Store {
    /// Stores bodies and attachment rows of the email behind `(account,
    /// gmail id)` and removes its `full` queue item. Returns the email id,
    /// or `None` when the sighting is unknown (the item is dropped).
    pub fn save_body(&self, account_id: i64, body: &BodyRecord) -> Result<Option<i64>, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let email_id = sighting_email_id(&tx, account_id, &body.gmail_message_id)?;
            if let Some(id) = email_id {
                write_body(&tx, id, body, now)?;
            }
            queue::dequeue(
                &tx,
                account_id,
                &body.gmail_message_id,
                Some(FetchKind::Full),
            )?;
            tx.commit()?;
            Ok(email_id)
        })
    }

    /// The attachments already stored for an email, by part id → sha256,
    /// so a retried full fetch downloads only what is missing.
    pub fn stored_attachments(&self, email_id: i64) -> Result<HashMap<String, String>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT part_id, sha256 FROM email_attachments \
                 WHERE email_id = ?1 AND status = 'stored'",
            )?;
            let rows = s.query_map([email_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The message vanished before its full fetch (404): drop the item and
    /// try another live copy of the email in another mailbox, if any.
    /// Returns whether another copy was queued.
    pub fn full_fetch_gone(&self, account_id: i64, gmail_id: &str) -> Result<bool, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            queue::dequeue(&tx, account_id, gmail_id, Some(FetchKind::Full))?;
            let mut requeued = false;
            if let Some(email_id) = sighting_email_id(&tx, account_id, gmail_id)? {
                if let Some((a, g)) = live_sighting(&tx, email_id, Some((account_id, gmail_id)))? {
                    requeued =
                        queue::enqueue(&tx, a, &g, FetchKind::Full, FetchSource::Rematch, now)?;
                }
            }
            tx.commit()?;
            Ok(requeued)
        })
    }
}

fn sighting_email_id(
    c: &Connection,
    account_id: i64,
    gmail_id: &str,
) -> Result<Option<i64>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(c.prepare_cached(
        "SELECT email_id FROM email_account_messages WHERE account_id = ?1 AND gmail_message_id = ?2",
    )?
    .query_row(params![account_id, gmail_id], |r| r.get(0))
    .optional()?)
}

fn write_body(c: &Connection, email_id: i64, b: &BodyRecord, now: i64) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE emails SET has_body = 1, body_text = ?2, body_html = ?3, has_attachments = ?4, \
           updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![
        email_id,
        b.text,
        b.html,
        !b.attachments.is_empty(),
        now
    ])?;
    let mut ins = c.prepare_cached(
        "INSERT INTO email_attachments (email_id, part_id, filename, mime_type, size_bytes, \
           sha256, status, error, content_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) \
         ON CONFLICT (email_id, part_id) DO UPDATE SET filename = excluded.filename, \
           mime_type = excluded.mime_type, size_bytes = excluded.size_bytes, \
           sha256 = excluded.sha256, status = excluded.status, error = excluded.error, \
           content_id = excluded.content_id, updated_at = excluded.updated_at",
    )?;
    for a in &b.attachments {
        ins.execute(params![
            email_id,
            a.part_id,
            a.filename,
            a.mime_type,
            a.size.min(i64::MAX as u64) as i64,
            a.sha256,
            a.status.as_str(),
            a.error,
            a.content_id,
            now
        ])?;
    }
    Ok(())
}
