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
//! about `limit` row reads whatever the filter. Free text of three or more
//! characters is read from the trigram index, which V9 keys in page order
//! (`email_text_keys`): its hits come newest first, so a page stops after
//! `limit` hits however common or old they are. Shorter text, and text
//! combined with an investor or mailbox whose own index is the narrower
//! (more than [`TEXT_CANDIDATES`] hits), walks the page order and tests
//! each row with LIKE. Either way every row is verified with the same LIKE,
//! so both paths answer exactly the same set (the trigram index also folds
//! non-ASCII case; LIKE has the last word).

mod detail;
mod items;
mod threads;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::{Store, StoreError};

pub use detail::{AttachmentInfo, EmailDetail};
pub use items::{ActivityItem, InvestorLink, Person};
pub use threads::{ThreadDetail, ThreadPage, ThreadSummary};

/// With an investor or mailbox filter, free text with more hits than this
/// is left to that filter's index (see the module doc).
pub const TEXT_CANDIDATES: usize = 4000;

/// Shortest `q` the trigram index can look up; shorter ones are walked.
const TRIGRAM: usize = 3;

/// Text keys (migration V9): `clamp(date_ms) << SLOT_BITS | slot`.
const SLOT_BITS: u32 = 20;
const KEY_DATE_MAX: i64 = (1 << 42) - 1;

/// How free text is looked up; tests force each path (the only users of
/// `Index` and `Scan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
enum TextPath {
    /// The trigram index, unless a filter's own index is narrower.
    Auto,
    /// The trigram index whenever `q` is long enough.
    Index,
    /// The page order, testing LIKE on each row.
    Scan,
}

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
            let q = plan(c, filter, Cursor::START, TextPath::Auto)?;
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
    /// Rows come in text-key order (an 11th column holds the key), exact
    /// page order only across key blocks.
    keyed: bool,
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
    walk_by(c, filter, from, TextPath::Auto, f)
}

/// [`walk`] with the text path chosen by the caller.
fn walk_by(
    c: &Connection,
    filter: &ActivityFilter,
    from: Cursor,
    path: TextPath,
    mut f: impl FnMut(items::Core) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let q = plan(c, filter, from, path)?;
    let mut stmt = c.prepare_cached(&q.sql)?;
    let mut rows = stmt.query(params_from_iter(q.params))?;
    let (mut last, mut block, mut held) = (None, None, Vec::new());
    while let Some(r) = rows.next()? {
        let core = items::Core::from_row(r)?;
        if q.keyed {
            // Key order is page order between blocks; within one, sort.
            let b = r.get::<_, i64>(10)? >> SLOT_BITS;
            if block != Some(b) && !release(&mut held, &mut f)? {
                return Ok(());
            }
            block = Some(b);
            held.push(core);
            continue;
        }
        // A mailbox may hold two copies of one email: adjacent in order.
        if last == Some(core.id) {
            continue;
        }
        last = Some(core.id);
        if !f(core)? {
            return Ok(());
        }
    }
    release(&mut held, &mut f).map(|_| ())
}

/// Hands `held` (one key block) to `f` newest first; false once `f` is full.
fn release(
    held: &mut Vec<items::Core>,
    f: &mut impl FnMut(items::Core) -> Result<bool, StoreError>,
) -> Result<bool, StoreError> {
    held.sort_by_key(|r| std::cmp::Reverse(r.cursor()));
    for core in held.drain(..) {
        if !f(core)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The index a page is read in (see the module doc).
enum Driver {
    /// The trigram index in key order.
    Text,
    Investor,
    Mailbox,
    Emails,
}

impl Driver {
    /// The FROM clause, and the page-order key columns the cursor tests.
    fn source(&self) -> (&'static str, [&'static str; 2]) {
        match self {
            Driver::Text => (
                "email_text t CROSS JOIN email_text_keys k ON k.key = t.rowid \
                 CROSS JOIN emails e ON e.id = k.email_id",
                ["e.date_ms", "e.id"],
            ),
            Driver::Investor => (
                "email_investor_links l CROSS JOIN emails e ON e.id = l.email_id",
                ["l.email_date_ms", "l.email_id"],
            ),
            Driver::Mailbox => (
                "email_account_messages s CROSS JOIN emails e ON e.id = s.email_id",
                ["s.email_date_ms", "s.email_id"],
            ),
            Driver::Emails => ("emails e", ["e.date_ms", "e.id"]),
        }
    }
}

/// Chooses the driving index and writes the query.
fn plan(
    c: &Connection,
    f: &ActivityFilter,
    from: Cursor,
    path: TextPath,
) -> Result<Query, StoreError> {
    let text = f.q.as_deref().filter(|s| !s.is_empty());
    let driver = match (text_index(c, f, path)?, &f.investor_id, f.account_id) {
        (true, _, _) => Driver::Text,
        (false, Some(_), _) => Driver::Investor,
        (false, None, Some(_)) => Driver::Mailbox,
        (false, None, None) => Driver::Emails,
    };
    let mut q = Query {
        sql: String::new(),
        params: Vec::new(),
        keyed: matches!(driver, Driver::Text),
    };
    let (d, i) = (q.bind(from.date_ms), q.bind(from.id));
    let (by_investor, by_mailbox) = (
        matches!(driver, Driver::Investor),
        matches!(driver, Driver::Mailbox),
    );
    let (source, key) = driver.source();
    let mut wh = vec![format!("({}, {}) < ({d}, {i})", key[0], key[1])];
    let order = if q.keyed {
        let t = phrase(text.unwrap_or_default());
        let (t, bound) = (
            q.bind(t),
            q.bind((from.date_ms.clamp(0, KEY_DATE_MAX) + 1) << SLOT_BITS),
        );
        wh.push(format!("t.email_text MATCH {t} AND t.rowid < {bound}"));
        "t.rowid DESC".to_string()
    } else {
        format!("{} DESC, {} DESC", key[0], key[1])
    };
    wh.push("e.is_matched = 1".into());
    filters(&mut q, &mut wh, f, by_investor, by_mailbox);
    if let Some(t) = text {
        let p = q.bind(like_pattern(t));
        wh.push(format!(
            "(e.subject LIKE {p} ESCAPE '\\' OR e.snippet LIKE {p} ESCAPE '\\' \
             OR e.from_email LIKE {p} ESCAPE '\\' OR e.from_name LIKE {p} ESCAPE '\\')"
        ));
    }
    let key = if q.keyed { ", t.rowid" } else { "" };
    q.sql = format!(
        "SELECT {CORE}{key} FROM {source} WHERE {} ORDER BY {order}",
        wh.join(" AND ")
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

/// Whether `f`'s text is looked up in the trigram index (see the module
/// doc): always when nothing narrower drives the page, otherwise only when
/// the string has at most [`TEXT_CANDIDATES`] hits.
fn text_index(c: &Connection, f: &ActivityFilter, path: TextPath) -> Result<bool, StoreError> {
    let Some(t) = f.q.as_deref().filter(|t| t.chars().count() >= TRIGRAM) else {
        return Ok(false);
    };
    Ok(match path {
        TextPath::Scan => false,
        TextPath::Index => true,
        TextPath::Auto if f.investor_id.is_none() && f.account_id.is_none() => true,
        TextPath::Auto => text_hits(c, t, TEXT_CANDIDATES + 1)? <= TEXT_CANDIDATES,
    })
}

/// How many emails the trigram index holds for `t`, counting at most `cap`.
fn text_hits(c: &Connection, t: &str, cap: usize) -> Result<usize, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT count(*) FROM (SELECT 1 FROM email_text WHERE email_text MATCH ?1 LIMIT ?2)",
    )?;
    let n: i64 = stmt.query_row(rusqlite::params![phrase(t), cap as i64], |r| r.get(0))?;
    Ok(n.max(0) as usize)
}

/// `t` as one FTS5 phrase: a substring, for the trigram tokenizer.
fn phrase(t: &str) -> String {
    format!("\"{}\"", t.replace('"', "\"\""))
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
