//! Figures for the metrics endpoint (`GET /api/email/metrics`), read at
//! scrape time so they always agree with the data: emails stored, emails
//! linked to an investor, proposals by status.

use std::collections::BTreeMap;

use super::{Store, StoreError};

/// Counts of what the database holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsCounts {
    pub emails: u64,
    /// Emails with at least one investor link.
    pub matched: u64,
    /// By status; `pending`, `approved`, `rejected` always present.
    pub proposals: BTreeMap<String, u64>,
}

impl Store {
    pub fn ops_counts(&self) -> Result<OpsCounts, StoreError> {
        self.read(|c| {
            let count = |sql: &str| -> Result<u64, rusqlite::Error> {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|n| n.max(0) as u64)
            };
            let emails = count("SELECT count(*) FROM emails")?;
            let matched = count("SELECT count(DISTINCT email_id) FROM email_investor_links")?;
            let mut proposals: BTreeMap<String, u64> = ["pending", "approved", "rejected"]
                .into_iter()
                .map(|s| (s.to_string(), 0))
                .collect();
            let mut stmt =
                c.prepare("SELECT status, count(*) FROM email_proposals GROUP BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (status, n) = row?;
                proposals.insert(status, n.max(0) as u64);
            }
            Ok(OpsCounts {
                emails,
                matched,
                proposals,
            })
        })
    }
}
