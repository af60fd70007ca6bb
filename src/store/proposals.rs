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
//!
//! Submodules: `decide` (decisions and the feed row), `feed` (feed reads,
//! bot work-lists and marks), `notes` (the LLM note worker's queue).

mod decide;
mod feed;
mod notes;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::links::LinkRow;
use super::{ms_to_time, opt_time, Store, StoreError};
use crate::events::Event;
use crate::proposals::note::{self, NoteFacts};

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

/// A proposal created in a transaction, to announce after it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProposal {
    pub id: i64,
    pub email_id: i64,
    pub investor_id: String,
}

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

    /// Announces proposals whose transaction has committed.
    pub(super) fn publish_created(&self, created: &[NewProposal]) {
        for p in created {
            self.events().publish(Event::ProposalCreated {
                id: p.id.to_string(),
                email_id: p.email_id.to_string(),
                investor_id: p.investor_id.clone(),
            });
        }
    }
}

/// The proposal hook of `links::relink_email`: one proposal for each
/// investor newly linked to a proposable email (not bulk; internal-only
/// and excluded mail is never linked at all), unless the investor is in
/// the graveyard. Runs in the caller's transaction.
pub(super) fn propose_new_links(
    tx: &Connection,
    email_id: i64,
    new_links: &[String],
    desired: &BTreeMap<&str, &LinkRow>,
    outbound: bool,
    now: i64,
) -> Result<Vec<NewProposal>, StoreError> {
    if new_links.is_empty() {
        return Ok(Vec::new());
    }
    let Some(email) = email_facts(tx, email_id)? else {
        return Ok(Vec::new());
    };
    if email.is_bulk {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for inv in new_links {
        let Some(link) = desired.get(inv.as_str()) else {
            continue;
        };
        if is_graveyard(tx, inv)? {
            continue;
        }
        let contact = (link.strategy == "exact")
            .then(|| link.contact_id.clone())
            .flatten();
        let name = counterpart_name(tx, email_id, &link.matched_address, contact.as_deref())?;
        let text = note::deterministic(&NoteFacts {
            outbound,
            counterpart_name: &name,
            counterpart_address: &link.matched_address,
            subject: &email.subject,
            body_text: email.body_text.as_deref(),
            snippet: &email.snippet,
        });
        let n = tx
            .prepare_cached(
                "INSERT INTO email_proposals (email_id, investor_id, contact_id, direction, \
                   occurred_at, subject, note, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
                 ON CONFLICT (email_id, investor_id) DO NOTHING",
            )?
            .execute(params![
                email_id,
                inv,
                contact,
                if outbound { "outbound" } else { "inbound" },
                email.date_ms,
                email.subject,
                text,
                now
            ])?;
        if n == 1 {
            created.push(NewProposal {
                id: tx.last_insert_rowid(),
                email_id,
                investor_id: inv.clone(),
            });
        }
    }
    Ok(created)
}

struct EmailFacts {
    subject: String,
    snippet: String,
    body_text: Option<String>,
    date_ms: i64,
    is_bulk: bool,
}

fn email_facts(c: &Connection, email_id: i64) -> Result<Option<EmailFacts>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT subject, snippet, CASE WHEN has_body THEN body_text END, date_ms, is_bulk \
         FROM emails WHERE id = ?1",
    )?
    .query_row([email_id], |r| {
        Ok(EmailFacts {
            subject: r.get(0)?,
            snippet: r.get(1)?,
            body_text: r.get(2)?,
            date_ms: r.get(3)?,
            is_bulk: r.get(4)?,
        })
    })
    .optional()?)
}

fn is_graveyard(c: &Connection, investor_id: &str) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT graveyard FROM directory_investors WHERE id = ?1")?
            .query_row([investor_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false),
    )
}

/// The display name of the matched participant as written in the email,
/// else the contact's name from the directory, else empty.
fn counterpart_name(
    c: &Connection,
    email_id: i64,
    address: &str,
    contact_id: Option<&str>,
) -> Result<String, StoreError> {
    let written: Option<String> = c
        .prepare_cached(
            "SELECT name FROM email_participants WHERE email_id = ?1 AND address = ?2 \
             AND name <> '' ORDER BY role LIMIT 1",
        )?
        .query_row(params![email_id, address], |r| r.get(0))
        .optional()?;
    if let Some(n) = written {
        return Ok(n);
    }
    let Some(id) = contact_id else {
        return Ok(String::new());
    };
    Ok(
        c.prepare_cached("SELECT name FROM directory_contacts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
    )
}
