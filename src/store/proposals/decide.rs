//! Approve / reject (SPEC §7): idempotent, a different second decision is a
//! conflict, and approval appends exactly one `activity_feed` row in the
//! same transaction as the status change and its audit row. The writer
//! connection is one at a time, so concurrent approvals serialise here:
//! the first decides, the rest see the stored result.

use rusqlite::{params, Connection};

use super::{audit, load, Proposal, ProposalStatus};
use crate::events::Event;
use crate::store::{Store, StoreError};

/// What the caller decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn status(self) -> ProposalStatus {
        match self {
            Self::Approve => ProposalStatus::Approved,
            Self::Reject => ProposalStatus::Rejected,
        }
    }
}

/// The result of [`Store::decide_proposal`]; each carries the proposal as
/// stored afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// Decided now.
    Decided(Proposal),
    /// Already decided the same way: nothing changed.
    Unchanged(Proposal),
    /// Already decided the other way: nothing changed.
    Conflict(Proposal),
}

impl Store {
    /// Decides a pending proposal as `by` (the acting user's address).
    /// `note` replaces the proposal's note (and is the feed row's note on
    /// approval). NotFound when there is no such proposal.
    pub fn decide_proposal(
        &self,
        id: i64,
        decision: Decision,
        note: Option<&str>,
        by: &str,
    ) -> Result<DecideOutcome, StoreError> {
        let now = self.now_ms();
        let outcome = self.write(|c| {
            let tx = c.transaction()?;
            let p = load(&tx, id)?.ok_or_else(|| StoreError::not_found("proposal"))?;
            if p.status != ProposalStatus::Pending {
                return Ok(if p.status == decision.status() {
                    DecideOutcome::Unchanged(p)
                } else {
                    DecideOutcome::Conflict(p)
                });
            }
            let note = note.unwrap_or(&p.note);
            apply(&tx, &p, decision, note, by, now)?;
            let p = load(&tx, id)?.ok_or_else(|| StoreError::not_found("proposal"))?;
            tx.commit()?;
            Ok(DecideOutcome::Decided(p))
        })?;
        if let DecideOutcome::Decided(p) = &outcome {
            self.events().publish(Event::ProposalDecided {
                id: p.id.to_string(),
                status: p.status.as_str().to_string(),
                decided_by: by.to_string(),
            });
        }
        Ok(outcome)
    }
}

fn apply(
    tx: &Connection,
    p: &Proposal,
    decision: Decision,
    note: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let status = decision.status().as_str();
    tx.prepare_cached(
        "UPDATE email_proposals SET status = ?2, note = ?3, decided_by = ?4, decided_at = ?5, \
           updated_at = ?5 WHERE id = ?1 AND status = 'pending'",
    )?
    .execute(params![p.id, status, note, by, now])?;
    if decision == Decision::Approve {
        tx.prepare_cached(
            "INSERT INTO activity_feed (proposal_id, investor_id, contact_id, email_id, \
               occurred_at, direction, subject, note, approved_by, approved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            p.id,
            p.investor_id,
            p.contact_id,
            p.email_id,
            p.occurred_at.timestamp_millis(),
            p.direction,
            p.subject,
            note,
            by,
            now
        ])?;
    }
    // The audit row commits with the decision.
    let details = serde_json::json!({
        "decision": status,
        "investor_id": p.investor_id,
        "email_id": p.email_id.to_string(),
        "note_edited": note != p.note,
    });
    audit(tx, now, by, "proposal.decide", p.id, &details)?;
    Ok(())
}
