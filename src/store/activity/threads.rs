//! Threads as the admin panel sees them: only threads holding matched, live
//! email, ordered by their newest such email (the same order and cursor as
//! activity: a thread's place is its newest email's `(date_ms, id)`), and
//! one thread's matched live emails oldest first. Threads themselves are
//! built by capture (`store::threads`).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection};

use super::items::{self, ActivityItem, Core};
use super::{walk, ActivityFilter, Cursor, CORE, LIVE};
use crate::store::{Store, StoreError};

/// Most emails one thread answer carries (a runaway thread, e.g. a
/// newsletter threaded by subject, must not make an unbounded answer).
pub const THREAD_MAX_EMAILS: usize = 1000;

/// One thread in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadSummary {
    pub thread_id: i64,
    /// The subject of the thread's oldest matched live email.
    pub subject: String,
    /// Matched live emails in the thread (whichever investor).
    pub emails: i64,
    pub first_date_ms: i64,
    /// Every investor linked to one of those emails, sorted.
    pub investors: Vec<String>,
    /// The newest email that placed the thread (under the investor filter).
    pub latest: ActivityItem,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPage {
    pub items: Vec<ThreadSummary>,
    pub next: Option<Cursor>,
}

/// `GET threads/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadDetail {
    pub thread_id: i64,
    pub subject: String,
    /// Oldest first, at most [`THREAD_MAX_EMAILS`].
    pub emails: Vec<ActivityItem>,
    pub truncated: bool,
}

impl Store {
    /// Threads with matched live email (of `investor_id`, if given), newest
    /// activity first, after `before`.
    pub fn threads(
        &self,
        investor_id: Option<String>,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<ThreadPage, StoreError> {
        let limit = limit.max(1);
        let filter = ActivityFilter {
            investor_id,
            ..ActivityFilter::default()
        };
        self.read(|c| {
            let mut seen = HashSet::new();
            let mut tops: Vec<Core> = Vec::with_capacity(limit + 1);
            walk(c, &filter, before.unwrap_or(Cursor::START), |core| {
                let Some(t) = core.thread_id else {
                    return Ok(true);
                };
                if !seen.insert(t) {
                    return Ok(true);
                }
                // Walking from a cursor, a thread first met here may have
                // newer email at or above the cursor: an earlier page had it.
                if let Some(b) = before {
                    if placed_earlier(c, t, b, filter.investor_id.as_deref())? {
                        return Ok(true);
                    }
                }
                tops.push(core);
                Ok(tops.len() <= limit)
            })?;
            let next = (tops.len() > limit).then(|| tops[limit - 1].cursor());
            tops.truncate(limit);
            let ids: Vec<i64> = tops.iter().filter_map(|t| t.thread_id).collect();
            let mut stats = thread_stats(c, &ids)?;
            let latest = items::complete(c, tops)?;
            let items = latest
                .into_iter()
                .filter_map(|item| {
                    let t = item.thread_id?;
                    let s = stats.remove(&t)?;
                    Some(ThreadSummary {
                        thread_id: t,
                        subject: s.subject,
                        emails: s.emails,
                        first_date_ms: s.first_date_ms,
                        investors: s.investors,
                        latest: item,
                    })
                })
                .collect();
            Ok(ThreadPage { items, next })
        })
    }

    /// One thread's matched live emails, oldest first; `None` when it has
    /// none (or does not exist).
    pub fn thread(&self, id: i64) -> Result<Option<ThreadDetail>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {CORE} FROM emails e WHERE e.thread_id = ?1 AND e.is_matched = 1 \
                 AND {LIVE} ORDER BY e.date_ms, e.id LIMIT ?2"
            ))?;
            let cap = THREAD_MAX_EMAILS as i64 + 1;
            let mut rows = s
                .query_map(params![id, cap], Core::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let truncated = rows.len() > THREAD_MAX_EMAILS;
            rows.truncate(THREAD_MAX_EMAILS);
            let emails = items::complete(c, rows)?;
            let Some(first) = emails.first() else {
                return Ok(None);
            };
            Ok(Some(ThreadDetail {
                thread_id: id,
                subject: first.subject.clone(),
                emails,
                truncated,
            }))
        })
    }
}

/// Whether thread `t` has matched live email (of `investor`) at or above
/// `cursor` in the newest-first order.
fn placed_earlier(
    c: &Connection,
    t: i64,
    cursor: Cursor,
    investor: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT 1 FROM emails e WHERE e.thread_id = ?1 AND e.is_matched = 1 \
         AND (e.date_ms, e.id) >= (?2, ?3) AND {LIVE} \
         AND (?4 IS NULL OR EXISTS (SELECT 1 FROM email_investor_links l \
              WHERE l.email_id = e.id AND l.investor_id = ?4)) LIMIT 1"
    );
    let mut s = c.prepare_cached(&sql)?;
    Ok(s.exists(params![t, cursor.date_ms, cursor.id, investor])?)
}

struct Stats {
    subject: String,
    emails: i64,
    first_date_ms: i64,
    investors: Vec<String>,
}

fn thread_stats(c: &Connection, ids: &[i64]) -> Result<HashMap<i64, Stats>, StoreError> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    // SQLite takes the bare `subject` from the row that gave min(date_ms).
    let mut s = c.prepare_cached(&format!(
        "SELECT e.thread_id, count(*), min(e.date_ms), e.subject FROM emails e \
         WHERE e.thread_id IN (SELECT value FROM json_each(?1)) AND e.is_matched = 1 \
         AND {LIVE} GROUP BY e.thread_id"
    ))?;
    let mut out = HashMap::new();
    let mut rows = s.query([&ids])?;
    while let Some(r) = rows.next()? {
        out.insert(
            r.get::<_, i64>(0)?,
            Stats {
                emails: r.get(1)?,
                first_date_ms: r.get(2)?,
                subject: r.get(3)?,
                investors: Vec::new(),
            },
        );
    }
    let mut s = c.prepare_cached(&format!(
        "SELECT DISTINCT e.thread_id, l.investor_id FROM emails e \
         JOIN email_investor_links l ON l.email_id = e.id \
         WHERE e.thread_id IN (SELECT value FROM json_each(?1)) AND e.is_matched = 1 \
         AND {LIVE} ORDER BY e.thread_id, l.investor_id"
    ))?;
    let mut rows = s.query([&ids])?;
    while let Some(r) = rows.next()? {
        if let Some(st) = out.get_mut(&r.get::<_, i64>(0)?) {
            st.investors.push(r.get(1)?);
        }
    }
    Ok(out)
}
