//! `email_threads`: cross-mailbox threads (SPEC §5). An email joins every
//! thread it is connected to, and connected threads merge, so the result is
//! the connected components of these edges whatever order mail arrives in:
//! - the same Gmail threadId in the same mailbox;
//! - one email names the other in References / In-Reply-To;
//! - both name a common ancestor and their normalised subjects agree
//!   ([`crate::threads::same_thread`]'s rule, so a reused References chain
//!   with a new topic stays apart).

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::threads::normalize_subject;

pub(crate) struct ThreadFacts<'a> {
    pub account_id: i64,
    pub gmail_thread_id: &'a str,
    pub message_id: &'a str,
    pub ancestors: &'a [String],
    pub subject: &'a str,
    pub date_ms: i64,
}

/// Puts `email_id` into its thread (creating or merging threads); returns
/// the thread id.
pub(crate) fn assign(
    c: &Connection,
    email_id: i64,
    f: &ThreadFacts<'_>,
    now: i64,
) -> Result<i64, StoreError> {
    let found = connected_threads(c, email_id, f)?;
    let target = match found.first() {
        Some(&t) => t,
        None => {
            c.prepare_cached(
                "INSERT INTO email_threads (subject_normalized, first_date_ms, last_date_ms, \
                   created_at, updated_at) VALUES (?1, ?2, ?2, ?3, ?3)",
            )?
            .execute(params![normalize_subject(f.subject), f.date_ms, now])?;
            c.last_insert_rowid()
        }
    };
    for &other in found.iter().skip(1) {
        c.prepare_cached("UPDATE emails SET thread_id = ?1 WHERE thread_id = ?2")?
            .execute(params![target, other])?;
        c.prepare_cached("DELETE FROM email_threads WHERE id = ?1")?
            .execute([other])?;
    }
    c.prepare_cached("UPDATE emails SET thread_id = ?1 WHERE id = ?2")?
        .execute(params![target, email_id])?;
    c.prepare_cached(
        "UPDATE email_threads SET \
           first_date_ms = (SELECT min(date_ms) FROM emails WHERE thread_id = ?1), \
           last_date_ms = (SELECT max(date_ms) FROM emails WHERE thread_id = ?1), \
           updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![target, now])?;
    Ok(target)
}

/// Every existing thread the email connects to, smallest id first.
fn connected_threads(
    c: &Connection,
    email_id: i64,
    f: &ThreadFacts<'_>,
) -> Result<Vec<i64>, StoreError> {
    let mut found = BTreeSet::new();
    let own: Option<i64> = c
        .prepare_cached("SELECT thread_id FROM emails WHERE id = ?1")?
        .query_row([email_id], |r| r.get(0))
        .optional()?
        .flatten();
    found.extend(own);
    let mut gmail = c.prepare_cached(
        "SELECT DISTINCT e.thread_id FROM email_account_messages s JOIN emails e \
           ON e.id = s.email_id \
         WHERE s.account_id = ?1 AND s.gmail_thread_id = ?2 AND e.thread_id IS NOT NULL",
    )?;
    for t in gmail.query_map(params![f.account_id, f.gmail_thread_id], |r| r.get(0))? {
        found.insert(t?);
    }
    let mut referencing = c.prepare_cached(
        "SELECT e.thread_id FROM email_references r JOIN emails e ON e.id = r.email_id \
         WHERE r.message_id = ?1 AND e.thread_id IS NOT NULL",
    )?;
    for t in referencing.query_map([f.message_id], |r| r.get(0))? {
        found.insert(t?);
    }
    let subject = normalize_subject(f.subject);
    for anc in f.ancestors.iter().filter(|a| !a.is_empty()) {
        let referenced: Option<i64> = c
            .prepare_cached("SELECT thread_id FROM emails WHERE message_id = ?1")?
            .query_row([anc], |r| r.get(0))
            .optional()?
            .flatten();
        found.extend(referenced);
        let mut siblings = c.prepare_cached(
            "SELECT e.thread_id, e.subject FROM email_references r JOIN emails e \
               ON e.id = r.email_id \
             WHERE r.message_id = ?1 AND e.id <> ?2 AND e.thread_id IS NOT NULL",
        )?;
        let rows = siblings.query_map(params![anc, email_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (t, s) = row?;
            if normalize_subject(&s) == subject {
                found.insert(t);
            }
        }
    }
    Ok(found.into_iter().collect())
}
