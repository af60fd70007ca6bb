//! Whole-database counts for the demo's summary and operators (what was
//! captured and matched so far). Read-only.

use serde::Serialize;

use super::{Store, StoreError};

/// How much the database holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Distinct emails (one per Message-ID).
    pub emails: u64,
    /// Live sightings (copies in mailboxes, not deleted).
    pub copies: u64,
    /// Emails linked to at least one investor.
    pub matched: u64,
    /// Distinct investors with at least one linked email.
    pub investors: u64,
    /// Matched emails whose body is stored.
    pub bodies: u64,
    /// Attachment rows with their file stored.
    pub attachments_stored: u64,
    /// Internal-only and bulk emails (kept as metadata, never proposed).
    pub internal: u64,
    pub bulk: u64,
}

impl Store {
    pub fn totals(&self) -> Result<Totals, StoreError> {
        self.read(|c| {
            let n = |sql: &str| {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|v| v as u64)
            };
            Ok(Totals {
                emails: n("SELECT count(*) FROM emails")?,
                copies: n("SELECT count(*) FROM email_account_messages WHERE deleted_at IS NULL")?,
                matched: n("SELECT count(*) FROM emails WHERE is_matched = 1")?,
                investors: n("SELECT count(DISTINCT investor_id) FROM email_investor_links")?,
                bodies: n("SELECT count(*) FROM emails WHERE is_matched = 1 AND has_body = 1")?,
                attachments_stored: n(
                    "SELECT count(*) FROM email_attachments WHERE status = 'stored'",
                )?,
                internal: n("SELECT count(*) FROM emails WHERE is_internal = 1")?,
                bulk: n("SELECT count(*) FROM emails WHERE is_bulk = 1")?,
            })
        })
    }
}
