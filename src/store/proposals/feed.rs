//! The approved-activity feed the CRM consumes (ordered by its monotonic
//! `seq`), and the review bot's bridge: its work-lists and the
//! `posted`/`closed` marks it leaves on a proposal, which live here so a
//! bot restart loses nothing (SPEC §7).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{load, load_many, Proposal, ProposalStatus, COLUMNS};
use crate::store::{ms_to_time, Store, StoreError};

/// One approved activity (SPEC §11 feed item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub seq: i64,
    pub proposal_id: i64,
    pub investor_id: String,
    pub contact_id: Option<String>,
    pub email_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub direction: String,
    pub subject: String,
    pub note: String,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
}

/// The review bot's three lists, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposalWork {
    /// Pending, no card posted yet.
    pub to_post: Vec<Proposal>,
    /// Card posted, still pending.
    pub open: Vec<Proposal>,
    /// Card posted, decided anywhere, card not closed yet.
    pub to_close: Vec<Proposal>,
}

/// The result of a bot mark; each carries the proposal as stored after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkOutcome {
    Marked(Proposal),
    /// The mark was already there (first mark wins).
    Unchanged(Proposal),
    /// `closed` on a proposal still pending: decide it first.
    StillPending(Proposal),
}

impl Store {
    /// Feed rows with `seq > after`, by seq.
    pub fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<FeedItem>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT seq, proposal_id, investor_id, contact_id, email_id, occurred_at, \
                   direction, subject, note, approved_by, approved_at \
                 FROM activity_feed WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = s.query_map(params![after, limit], |r| {
                Ok(FeedItem {
                    seq: r.get(0)?,
                    proposal_id: r.get(1)?,
                    investor_id: r.get(2)?,
                    contact_id: r.get(3)?,
                    email_id: r.get(4)?,
                    occurred_at: ms_to_time(r.get(5)?),
                    direction: r.get(6)?,
                    subject: r.get(7)?,
                    note: r.get(8)?,
                    approved_by: r.get(9)?,
                    approved_at: ms_to_time(r.get(10)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The bot's work-lists, each at most `limit` long, oldest first.
    pub fn proposal_work(&self, limit: u32) -> Result<ProposalWork, StoreError> {
        let list = |c: &rusqlite::Connection, filter: &str| {
            load_many(
                c,
                &format!(
                    "SELECT {COLUMNS} FROM email_proposals p WHERE {filter} ORDER BY p.id LIMIT ?1"
                ),
                [limit],
            )
        };
        self.read(|c| {
            Ok(ProposalWork {
                to_post: list(c, "p.status = 'pending' AND p.posted_at IS NULL")?,
                open: list(c, "p.status = 'pending' AND p.posted_at IS NOT NULL")?,
                to_close: list(
                    c,
                    "p.status <> 'pending' AND p.posted_at IS NOT NULL AND p.closed_at IS NULL",
                )?,
            })
        })
    }

    /// The bot posted a card for the proposal (`reference`: its id in the
    /// chat room). Idempotent: the first mark and reference stay.
    pub fn mark_posted(&self, id: i64, reference: Option<&str>) -> Result<MarkOutcome, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let n = tx
                .prepare_cached(
                    "UPDATE email_proposals SET posted_at = ?2, posted_ref = ?3, updated_at = ?2 \
                     WHERE id = ?1 AND posted_at IS NULL",
                )?
                .execute(params![id, now, reference])?;
            let p = load(&tx, id)?.ok_or_else(|| StoreError::not_found("proposal"))?;
            tx.commit()?;
            Ok(if n == 1 {
                MarkOutcome::Marked(p)
            } else {
                MarkOutcome::Unchanged(p)
            })
        })
    }

    /// The bot closed the proposal's card (it was decided). Idempotent;
    /// refused while the proposal is still pending, so `closed` always
    /// means "decided and dealt with".
    pub fn mark_closed(&self, id: i64) -> Result<MarkOutcome, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let p = load(&tx, id)?.ok_or_else(|| StoreError::not_found("proposal"))?;
            if p.status == ProposalStatus::Pending {
                return Ok(MarkOutcome::StillPending(p));
            }
            if p.closed_at.is_some() {
                return Ok(MarkOutcome::Unchanged(p));
            }
            tx.prepare_cached(
                "UPDATE email_proposals SET closed_at = ?2, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, now])?;
            let p = load(&tx, id)?.ok_or_else(|| StoreError::not_found("proposal"))?;
            tx.commit()?;
            Ok(MarkOutcome::Marked(p))
        })
    }
}
