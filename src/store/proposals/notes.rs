//! The LLM note worker's queue: pending proposals whose deterministic note
//! has not been offered to the LLM yet, and the record of each attempt
//! (success replaces the note while still pending; failure keeps it), so
//! a broken endpoint costs one call per proposal, not a retry loop.

use rusqlite::params;

use crate::store::{Store, StoreError};

/// What the LLM is asked to write from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteJob {
    pub proposal_id: i64,
    pub investor_name: String,
    pub direction: String,
    pub subject: String,
    /// The deterministic note (direction, counterpart, subject, lines).
    pub note: String,
    /// The start of the stored text body, else the snippet.
    pub excerpt: String,
}

/// Characters of the body offered to the LLM.
const EXCERPT_CHARS: i64 = 2000;

impl Store {
    /// Up to `limit` proposals waiting for an LLM note, oldest first.
    pub fn note_jobs(&self, limit: u32) -> Result<Vec<NoteJob>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT p.id, COALESCE(i.name, p.investor_id), p.direction, p.subject, p.note, \
                   substr(CASE WHEN e.has_body AND COALESCE(e.body_text, '') <> '' \
                     THEN e.body_text ELSE e.snippet END, 1, ?2) \
                 FROM email_proposals p JOIN emails e ON e.id = p.email_id \
                 LEFT JOIN directory_investors i ON i.id = p.investor_id \
                 WHERE p.status = 'pending' AND p.note_source = 'deterministic' \
                   AND p.note_attempted_at IS NULL ORDER BY p.id LIMIT ?1",
            )?;
            let rows = s.query_map(params![limit, EXCERPT_CHARS], |r| {
                Ok(NoteJob {
                    proposal_id: r.get(0)?,
                    investor_name: r.get(1)?,
                    direction: r.get(2)?,
                    subject: r.get(3)?,
                    note: r.get(4)?,
                    excerpt: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Records an LLM attempt: `Ok(text)` replaces the note only if the
    /// proposal is still pending with its deterministic note (an admin may
    /// have decided or edited it meanwhile); `Err(why)` keeps the note.
    /// Returns whether the note was replaced.
    pub fn record_note_attempt(
        &self,
        id: i64,
        result: Result<&str, &str>,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let replaced = match result {
                Ok(text) => c
                    .prepare_cached(
                        "UPDATE email_proposals SET note = ?2, note_source = 'llm', \
                           note_attempted_at = ?3, note_error = NULL, updated_at = ?3 \
                         WHERE id = ?1 AND status = 'pending' AND note_source = 'deterministic'",
                    )?
                    .execute(params![id, text, now])?,
                Err(_) => 0,
            };
            if replaced == 0 {
                c.prepare_cached(
                    "UPDATE email_proposals SET note_attempted_at = ?2, note_error = ?3 \
                     WHERE id = ?1 AND note_attempted_at IS NULL",
                )?
                .execute(params![
                    id,
                    now,
                    result.err().unwrap_or("proposal already decided")
                ])?;
            }
            Ok(replaced == 1)
        })
    }

    /// `(note_source, note_attempted, note_error)` of a proposal (tests, ops).
    pub fn note_state(&self, id: i64) -> Result<(String, bool, Option<String>), StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT note_source, note_attempted_at IS NOT NULL, note_error \
                 FROM email_proposals WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
        })
    }
}
