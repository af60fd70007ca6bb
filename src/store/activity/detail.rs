//! One matched email in full (headers, bodies, attachment list) and the
//! attachment row a download needs. Unmatched email is not found here: the
//! admin panel is about investor activity, and mail between teammates or
//! with anyone outside the directory is not its business (nor is it stored
//! beyond metadata, SPEC §5).

use rusqlite::{Connection, OptionalExtension};

use super::items::{self, ActivityItem, Core};
use super::CORE;
use crate::store::{Store, StoreError};

/// `GET emails/{id}`: the activity fields plus the stored content.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailDetail {
    pub item: ActivityItem,
    /// At least one live copy (activity lists only live email; a proposal
    /// may still point at one deleted since).
    pub live: bool,
    /// JSON `[{"name","value"}]` as captured.
    pub headers_json: String,
    pub text: Option<String>,
    /// As captured: NOT safe to show; the HTTP layer sanitizes it.
    pub html: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
}

/// One `email_attachments` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: i64,
    pub email_id: i64,
    pub filename: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: Option<String>,
    /// `pending`, `stored`, `too_large` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// Content-ID as captured (angle brackets removed); NULL before V11.
    pub content_id: Option<String>,
}

const ATTACHMENT: &str = "a.id, a.email_id, a.filename, a.mime_type, a.size_bytes, a.sha256, \
                          a.status, a.error, a.content_id";

fn attachment(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentInfo> {
    Ok(AttachmentInfo {
        id: r.get(0)?,
        email_id: r.get(1)?,
        filename: r.get(2)?,
        mime_type: r.get(3)?,
        size: r.get(4)?,
        sha256: r.get(5)?,
        status: r.get(6)?,
        error: r.get(7)?,
        content_id: r.get(8)?,
    })
}

impl Store {
    /// A matched email in full; `None` when there is no such matched email.
    pub fn email_detail(&self, id: i64) -> Result<Option<EmailDetail>, StoreError> {
        self.read(|c| {
            let row = c
                .prepare_cached(&format!(
                    "SELECT {CORE}, e.headers_json, e.body_text, e.body_html, {} \
                     FROM emails e WHERE e.id = ?1 AND e.is_matched = 1",
                    super::LIVE
                ))?
                .query_row([id], |r| {
                    Ok((
                        Core::from_row(r)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, Option<String>>(11)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, bool>(13)?,
                    ))
                })
                .optional()?;
            let Some((core, headers_json, text, html, live)) = row else {
                return Ok(None);
            };
            let item = items::complete(c, vec![core])?.pop();
            let Some(item) = item else { return Ok(None) };
            Ok(Some(EmailDetail {
                item,
                live,
                headers_json,
                text,
                html,
                attachments: attachments_of(c, id)?,
            }))
        })
    }

    /// An attachment of a matched email; `None` otherwise.
    pub fn attachment_of_matched(&self, id: i64) -> Result<Option<AttachmentInfo>, StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {ATTACHMENT} FROM email_attachments a JOIN emails e ON e.id = a.email_id \
                 WHERE a.id = ?1 AND e.is_matched = 1"
            ))?
            .query_row([id], attachment)
            .optional()?)
        })
    }
}

fn attachments_of(c: &Connection, email_id: i64) -> Result<Vec<AttachmentInfo>, StoreError> {
    let mut s = c.prepare_cached(&format!(
        "SELECT {ATTACHMENT} FROM email_attachments a WHERE a.email_id = ?1 ORDER BY a.id"
    ))?;
    let rows = s.query_map([email_id], attachment)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
