//! Proposals (one per email and investor), decisions, the approved-activity
//! feed and the review bot's marks (SPEC §7).
//!
//! Creation happens inside the transaction that links an email (capture's
//! save and every relink, see `links::relink_email`), so a link and its
//! proposal commit together; the caller publishes
//! [`Event::ProposalCreated`] after the commit.
//!
//! Decisions taken here (see also the report of issue 4):
//! * Graveyard investors get no NEW proposals: their email is still linked
//!   and listed in activity, but nobody is asked to log it. A proposal
//!   made before the investor was graveyarded stays as it is.
//! * A pending proposal whose link later disappears (directory change) is
//!   left alone and can still be approved or rejected: the email did
//!   happen and was matched when proposed, and the admin's decision is
//!   the check. Lists show such a proposal with `linked: false`.
//! * One proposal per (email, investor) ever: a link that vanishes and
//!   comes back does not propose again.
//! * The exception: an email that becomes excluded (the "never log" list,
//!   SPEC §6) has its pending proposals withdrawn — rejected by `system`,
//!   their note and subject blanked — so nobody can approve it any more
//!   and the bot still sees them in `to_close`. Approved ones are already
//!   in the CRM's feed and stay.
//!
//! Submodules: `create` (the linking hooks), `decide` (decisions and the feed row), `feed` (feed reads,
//! bot work-lists and marks), `notes` (the LLM note worker's queue).

mod create;
mod decide;
mod feed;
mod notes;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{ms_to_time, opt_time, Store, StoreError};
use crate::events::Event;

pub(super) use create::{propose_new_links, withdraw_excluded};
pub use decide::{DecideOutcome, Decision};
pub use feed::{FeedItem, MarkOutcome, ProposalWork};
pub use notes::NoteJob;

/// `email_proposals.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            other => Err(StoreError::corrupt("proposal status", other)),
        }
    }
}

/// One proposal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: i64,
    pub email_id: i64,
    pub investor_id: String,
    pub contact_id: Option<String>,
    /// `inbound` / `outbound`.
    pub direction: String,
    pub occurred_at: DateTime<Utc>,
    pub subject: String,
    pub note: String,
    /// `deterministic` / `llm`.
    pub note_source: String,
    pub status: ProposalStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub posted_at: Option<DateTime<Utc>>,
    pub posted_ref: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The email is still linked to the investor (a directory change may
    /// have removed the link since).
    pub linked: bool,
}

/// A page request for [`Store::list_proposals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalQuery {
    pub status: Option<ProposalStatus>,
    /// Keyset cursor: strictly older than `(occurred_at ms, id)`.
    pub before: Option<(i64, i64)>,
    pub limit: u32,
}

/// A proposal created (or withdrawn) in a transaction, to announce after
/// it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalChange {
    pub id: i64,
    pub email_id: i64,
    pub investor_id: String,
    /// Withdrawn (the email is now excluded) rather than created.
    pub withdrawn: bool,
}

/// Who withdraws the proposals of excluded email.
pub const SYSTEM_ACTOR: &str = "system";
/// The note left on a withdrawn proposal (the original is not kept).
pub const WITHDRAWN_NOTE: &str = "(withdrawn: the email is on the exclusion list)";

const COLUMNS: &str = "p.id, p.email_id, p.investor_id, p.contact_id, p.direction, \
    p.occurred_at, p.subject, p.note, p.note_source, p.status, p.decided_by, p.decided_at, \
    p.posted_at, p.posted_ref, p.closed_at, EXISTS (SELECT 1 FROM email_investor_links l \
    WHERE l.email_id = p.email_id AND l.investor_id = p.investor_id)";

fn row_to_proposal(r: &Row<'_>) -> rusqlite::Result<Result<Proposal, StoreError>> {
    let status: String = r.get(9)?;
    let status = match ProposalStatus::parse(&status) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Proposal {
        id: r.get(0)?,
        email_id: r.get(1)?,
        investor_id: r.get(2)?,
        contact_id: r.get(3)?,
        direction: r.get(4)?,
        occurred_at: ms_to_time(r.get(5)?),
        subject: r.get(6)?,
        note: r.get(7)?,
        note_source: r.get(8)?,
        status,
        decided_by: r.get(10)?,
        decided_at: opt_time(r.get(11)?),
        posted_at: opt_time(r.get(12)?),
        posted_ref: r.get(13)?,
        closed_at: opt_time(r.get(14)?),
        linked: r.get(15)?,
    }))
}

fn load(c: &Connection, id: i64) -> Result<Option<Proposal>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM email_proposals p WHERE p.id = ?1"
    ))?
    .query_row([id], row_to_proposal)
    .optional()?
    .transpose()
}

fn load_many(
    c: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Proposal>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(args, row_to_proposal)?;
    rows.map(|r| r?).collect()
}

impl Store {
    /// One proposal, if it exists.
    pub fn proposal(&self, id: i64) -> Result<Option<Proposal>, StoreError> {
        self.read(|c| load(c, id))
    }

    /// Proposals newest first by when the email happened, then by id.
    pub fn list_proposals(&self, q: &ProposalQuery) -> Result<Vec<Proposal>, StoreError> {
        let (t, i) = q.before.unwrap_or((i64::MAX, i64::MAX));
        self.read(|c| match q.status {
            Some(s) => load_many(
                c,
                &format!(
                    "SELECT {COLUMNS} FROM email_proposals p WHERE p.status = ?1 \
                     AND (p.occurred_at, p.id) < (?2, ?3) \
                     ORDER BY p.occurred_at DESC, p.id DESC LIMIT ?4"
                ),
                params![s.as_str(), t, i, q.limit],
            ),
            None => load_many(
                c,
                &format!(
                    "SELECT {COLUMNS} FROM email_proposals p \
                     WHERE (p.occurred_at, p.id) < (?1, ?2) \
                     ORDER BY p.occurred_at DESC, p.id DESC LIMIT ?3"
                ),
                params![t, i, q.limit],
            ),
        })
    }

    /// Announces proposal changes whose transaction has committed.
    pub(super) fn publish_proposal_changes(&self, changes: &[ProposalChange]) {
        for p in changes {
            self.events().publish(if p.withdrawn {
                Event::ProposalDecided {
                    id: p.id.to_string(),
                    status: ProposalStatus::Rejected.as_str().to_string(),
                    decided_by: SYSTEM_ACTOR.to_string(),
                }
            } else {
                Event::ProposalCreated {
                    id: p.id.to_string(),
                    email_id: p.email_id.to_string(),
                    investor_id: p.investor_id.clone(),
                }
            });
        }
    }
}

/// An audit row in the caller's transaction (`Store::append_audit` takes
/// the writer lock itself, so it cannot join a transaction in progress).
fn audit(
    tx: &Connection,
    now: i64,
    actor: &str,
    action: &str,
    proposal_id: i64,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, target, details_json) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        now,
        actor,
        action,
        format!("proposal:{proposal_id}"),
        details.to_string()
    ])?;
    Ok(())
}
