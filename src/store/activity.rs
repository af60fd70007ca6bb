//! Reads behind the admin panel (SPEC §8, issue 4): the activity list,
//! one email's detail, attachment lookup for downloads, and threads. Called
//! by `http::activity`; writes nothing.
//!
//! Activity is matched-only (the email has an investor link) and live-only
//! (at least one sighting not soft-deleted and not in trash or spam, the
//! same rule as `live_gmail_ids`), newest first on `(date_ms, id)` with
//! keyset pages. Graveyard investors keep their links, so their email is
//! listed and searchable like any other.
//!
//! Every filter is driven from an index already in page order (migration
//! V6), and rows are stepped lazily until the page is full, so a page costs
//! about `limit` row reads whatever the filter. Free text is the exception
//! that needs a choice: a rare string is found through the trigram index
//! (then at most [`TEXT_CANDIDATES`] candidates are sorted), a common one
//! by walking the page order and testing each row with LIKE (a few hundred
//! rows give a page). Either way every row is verified with the same LIKE,
//! so both paths answer exactly the same set. The slow case left is a
//! string common enough to pass the cap whose matches are mostly old: the
//! walk then passes many rows before the page fills (benches/activity.rs
//! measures a 3%-of-mail sender name at ~8 ms per page on 200,000 matched).

mod detail;
mod items;
mod threads;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::{Store, StoreError};

pub use detail::{AttachmentInfo, EmailDetail};
pub use items::{ActivityItem, InvestorLink, Person};
pub use threads::{ThreadDetail, ThreadPage, ThreadSummary};

/// Full-text candidates above this many mean the string is common: the
/// page order is walked instead (see the module doc).
pub const TEXT_CANDIDATES: usize = 4000;

/// Shortest `q` the trigram index can look up; shorter ones are walked.
const TRIGRAM: usize = 3;

/// `emails.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// What to list; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub investor_id: Option<String>,
    /// `email_accounts.id`: the email has a live sighting in this mailbox.
    pub account_id: Option<i64>,
    pub direction: Option<Direction>,
    /// Substring of the subject, snippet, sender address or sender name;
    /// ASCII letters case-insensitive; `%` and `_` are literal.
    pub q: Option<String>,
}

/// A position in the newest-first order: the last item of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub date_ms: i64,
    pub id: i64,
}

impl Cursor {
    /// Before everything: the first page.
    const START: Cursor = Cursor {
        date_ms: i64::MAX,
        id: i64::MAX,
    };
}

/// One page of activity; `next` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    pub next: Option<Cursor>,
}

impl Store {
    /// The activity page after `before` (newest first), at most `limit`.
    pub fn activity(
        &self,
        filter: &ActivityFilter,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<ActivityPage, StoreError> {
        let limit = limit.max(1);
        self.read(|c| {
            let mut rows = Vec::with_capacity(limit + 1);
            walk(c, filter, before.unwrap_or(Cursor::START), |row| {
                rows.push(row);
                Ok(rows.len() <= limit)
            })?;
            let next = (rows.len() > limit).then(|| rows[limit - 1].cursor());
            rows.truncate(limit);
            let items = items::complete(c, rows)?;
            Ok(ActivityPage { items, next })
        })
    }
}

impl Store {
    /// SQLite's plan for `filter`'s first page, one line per step (for the
    /// benchmark and for an operator wondering why a page is slow).
    pub fn explain_activity(&self, filter: &ActivityFilter) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let q = plan(c, filter, Cursor::START, TEXT_CANDIDATES)?;
            let mut s = c.prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql))?;
            let rows = s.query_map(params_from_iter(q.params), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// The columns every walk selects, in [`items::Core`]'s order.
const CORE: &str = "e.id, e.date_ms, e.message_id, e.subject, e.from_email, e.from_name, \
                    e.direction, e.snippet, e.has_attachments, e.thread_id";

/// An email has a live sighting (partial index `email_sightings_live_by_email`).
const LIVE: &str = "EXISTS (SELECT 1 FROM email_account_messages s0 WHERE s0.email_id = e.id \
                    AND s0.deleted_at IS NULL AND s0.is_trash = 0 AND s0.is_spam = 0)";

/// The filter's SQL, built with numbered parameters.
struct Query {
    sql: String,
    params: Vec<Value>,
}

impl Query {
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }
}

/// Steps through the filter's emails strictly after `from` in page order,
/// each once, handing each to `f` until it returns false.
pub(super) fn walk(
    c: &Connection,
    filter: &ActivityFilter,
    from: Cursor,
    f: impl FnMut(items::Core) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    walk_capped(c, filter, from, TEXT_CANDIDATES, f)
}

/// [`walk`] with the full-text candidate cap as a parameter (tests force
/// each text path with it).
fn walk_capped(
    c: &Connection,
    filter: &ActivityFilter,
    from: Cursor,
    cap: usize,
    mut f: impl FnMut(items::Core) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let q = plan(c, filter, from, cap)?;
    let mut stmt = c.prepare_cached(&q.sql)?;
    let mut rows = stmt.query(params_from_iter(q.params))?;
    let mut last = None;
    while let Some(r) = rows.next()? {
        let core = items::Core::from_row(r)?;
        // A mailbox may hold two copies of one email: adjacent in order.
        if last == Some(core.id) {
            continue;
        }
        last = Some(core.id);
        if !f(core)? {
            break;
        }
    }
    Ok(())
}

/// The index a page is read in (see the module doc).
enum Driver {
    /// The trigram index's candidates (a JSON array of ids), then sorted.
    Text(String),
    Investor,
    Mailbox,
    Emails,
}

/// Chooses the driving index and writes the query.
fn plan(c: &Connection, f: &ActivityFilter, from: Cursor, cap: usize) -> Result<Query, StoreError> {
    let text = f.q.as_deref().filter(|s| !s.is_empty());
    let candidates = match text {
        Some(t) if t.chars().count() >= TRIGRAM => text_candidates(c, t, cap)?,
        _ => None,
    };
    let driver = match (candidates, &f.investor_id, f.account_id) {
        (Some(ids), _, _) => Driver::Text(ids),
        (None, Some(_), _) => Driver::Investor,
        (None, None, Some(_)) => Driver::Mailbox,
        (None, None, None) => Driver::Emails,
    };
    let mut q = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let (d, i) = (q.bind(from.date_ms), q.bind(from.id));
    let (by_investor, by_mailbox) = (
        matches!(driver, Driver::Investor),
        matches!(driver, Driver::Mailbox),
    );
    let (source, key) = match driver {
        Driver::Text(ids) => (
            format!(
                "json_each({}) j CROSS JOIN emails e ON e.id = j.value",
                q.bind(ids)
            ),
            ["e.date_ms", "e.id"],
        ),
        Driver::Investor => (
            "email_investor_links l CROSS JOIN emails e ON e.id = l.email_id".into(),
            ["l.email_date_ms", "l.email_id"],
        ),
        Driver::Mailbox => (
            "email_account_messages s CROSS JOIN emails e ON e.id = s.email_id".into(),
            ["s.email_date_ms", "s.email_id"],
        ),
        Driver::Emails => ("emails e".to_string(), ["e.date_ms", "e.id"]),
    };
    let mut wh = vec![
        format!("({}, {}) < ({d}, {i})", key[0], key[1]),
        "e.is_matched = 1".into(),
    ];
    filters(&mut q, &mut wh, f, by_investor, by_mailbox);
    if let Some(t) = text {
        let p = q.bind(like_pattern(t));
        wh.push(format!(
            "(e.subject LIKE {p} ESCAPE '\\' OR e.snippet LIKE {p} ESCAPE '\\' \
             OR e.from_email LIKE {p} ESCAPE '\\' OR e.from_name LIKE {p} ESCAPE '\\')"
        ));
    }
    q.sql = format!(
        "SELECT {CORE} FROM {source} WHERE {} ORDER BY {} DESC, {} DESC",
        wh.join(" AND "),
        key[0],
        key[1]
    );
    Ok(q)
}

/// The investor, mailbox, direction and liveness conditions; the driving
/// index (`by_investor`, `by_mailbox`) already applies its own.
fn filters(
    q: &mut Query,
    wh: &mut Vec<String>,
    f: &ActivityFilter,
    by_investor: bool,
    by_mailbox: bool,
) {
    if let Some(inv) = &f.investor_id {
        let inv = q.bind(inv.clone());
        wh.push(if by_investor {
            format!("l.investor_id = {inv}")
        } else {
            format!(
                "EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id \
                 AND l.investor_id = {inv})"
            )
        });
    }
    if let Some(a) = f.account_id {
        let a = q.bind(a);
        wh.push(if by_mailbox {
            format!(
                "s.account_id = {a} AND s.email_matched = 1 AND s.deleted_at IS NULL \
                 AND s.is_trash = 0 AND s.is_spam = 0"
            )
        } else {
            format!(
                "EXISTS (SELECT 1 FROM email_account_messages s WHERE s.email_id = e.id \
                 AND s.account_id = {a} AND s.deleted_at IS NULL AND s.is_trash = 0 \
                 AND s.is_spam = 0)"
            )
        });
    } else {
        // Without a mailbox filter (which demands a live copy there).
        wh.push(LIVE.into());
    }
    if let Some(dir) = f.direction {
        // A literal, so the partial index on direction can serve it.
        wh.push(format!("e.direction = '{}'", dir.as_str()));
    }
}

/// Matched emails whose text contains `t` as the trigram index sees it
/// (a superset of the LIKE answer: it also folds non-ASCII case), as a
/// JSON array of ids; `None` when there are more than `cap`.
fn text_candidates(c: &Connection, t: &str, cap: usize) -> Result<Option<String>, StoreError> {
    let phrase = format!("\"{}\"", t.replace('"', "\"\""));
    let mut stmt =
        c.prepare_cached("SELECT rowid FROM email_text WHERE email_text MATCH ?1 LIMIT ?2")?;
    let ids = stmt
        .query_map(rusqlite::params![phrase, cap as i64 + 1], |r| {
            r.get::<_, i64>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > cap {
        return Ok(None);
    }
    Ok(Some(
        serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
    ))
}

/// `%t%` with `\`, `%` and `_` in `t` taken literally.
fn like_pattern(t: &str) -> String {
    let mut p = String::with_capacity(t.len() + 2);
    p.push('%');
    for ch in t.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests;
