//! One activity item (SPEC §11) assembled for a page of emails: the core
//! columns come with the walk; recipients, investor links and the mailboxes
//! holding a live copy are read in one query each for the whole page.

use std::collections::HashMap;

use rusqlite::{Connection, Row};

use super::Cursor;
use crate::store::StoreError;

/// A name and address (`from`, `to`, `cc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    pub name: String,
}

/// One `email_investor_links` row as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorLink {
    pub investor_id: String,
    pub contact_id: Option<String>,
    /// `exact` or `domain`.
    pub strategy: String,
}

/// One matched, live email as the activity list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityItem {
    pub email_id: i64,
    pub message_id: String,
    pub subject: String,
    pub from: Person,
    /// Ordered by address (the store keeps participants as a set).
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub date_ms: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    pub snippet: String,
    pub has_attachments: bool,
    /// Ordered by investor id.
    pub investors: Vec<InvestorLink>,
    /// Addresses of the mailboxes holding a live copy, sorted.
    pub accounts: Vec<String>,
    pub thread_id: Option<i64>,
}

impl ActivityItem {
    /// This item's place in the newest-first order.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            date_ms: self.date_ms,
            id: self.email_id,
        }
    }
}

/// The `emails` columns of an item, as `super::CORE` selects them.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub id: i64,
    pub date_ms: i64,
    message_id: String,
    subject: String,
    from_email: String,
    from_name: String,
    direction: String,
    snippet: String,
    has_attachments: bool,
    pub thread_id: Option<i64>,
}

impl Core {
    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Core> {
        Ok(Core {
            id: r.get(0)?,
            date_ms: r.get(1)?,
            message_id: r.get(2)?,
            subject: r.get(3)?,
            from_email: r.get(4)?,
            from_name: r.get(5)?,
            direction: r.get(6)?,
            snippet: r.get(7)?,
            has_attachments: r.get(8)?,
            thread_id: r.get(9)?,
        })
    }

    pub(crate) fn cursor(&self) -> Cursor {
        Cursor {
            date_ms: self.date_ms,
            id: self.id,
        }
    }
}

/// Items for `rows`, in their order.
pub(crate) fn complete(c: &Connection, rows: Vec<Core>) -> Result<Vec<ActivityItem>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let mut recipients = recipients(c, &ids)?;
    let mut links = links(c, &ids)?;
    let mut accounts = accounts(c, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (to, cc) = recipients.remove(&r.id).unwrap_or_default();
            ActivityItem {
                email_id: r.id,
                message_id: r.message_id,
                subject: r.subject,
                from: Person {
                    email: r.from_email,
                    name: r.from_name,
                },
                to,
                cc,
                date_ms: r.date_ms,
                direction: r.direction,
                snippet: r.snippet,
                has_attachments: r.has_attachments,
                investors: links.remove(&r.id).unwrap_or_default(),
                accounts: accounts.remove(&r.id).unwrap_or_default(),
                thread_id: r.thread_id,
            }
        })
        .collect())
}

type Recipients = HashMap<i64, (Vec<Person>, Vec<Person>)>;

fn recipients(c: &Connection, ids: &str) -> Result<Recipients, StoreError> {
    let mut s = c.prepare_cached(
        "SELECT email_id, role, address, name FROM email_participants \
         WHERE email_id IN (SELECT value FROM json_each(?1)) AND role IN ('to', 'cc') \
         ORDER BY email_id, role, address",
    )?;
    let mut out: Recipients = HashMap::new();
    let mut rows = s.query([ids])?;
    while let Some(r) = rows.next()? {
        let (id, role): (i64, String) = (r.get(0)?, r.get(1)?);
        let p = Person {
            email: r.get(2)?,
            name: r.get(3)?,
        };
        let e = out.entry(id).or_default();
        if role == "to" {
            e.0.push(p);
        } else {
            e.1.push(p);
        }
    }
    Ok(out)
}

fn links(c: &Connection, ids: &str) -> Result<HashMap<i64, Vec<InvestorLink>>, StoreError> {
    let mut s = c.prepare_cached(
        "SELECT email_id, investor_id, contact_id, strategy FROM email_investor_links \
         WHERE email_id IN (SELECT value FROM json_each(?1)) ORDER BY email_id, investor_id",
    )?;
    let mut out: HashMap<i64, Vec<InvestorLink>> = HashMap::new();
    let mut rows = s.query([ids])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(InvestorLink {
            investor_id: r.get(1)?,
            contact_id: r.get(2)?,
            strategy: r.get(3)?,
        });
    }
    Ok(out)
}

fn accounts(c: &Connection, ids: &str) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let mut s = c.prepare_cached(
        "SELECT DISTINCT s.email_id, a.email FROM email_account_messages s \
         JOIN email_accounts a ON a.id = s.account_id \
         WHERE s.email_id IN (SELECT value FROM json_each(?1)) \
           AND s.deleted_at IS NULL AND s.is_trash = 0 AND s.is_spam = 0 \
         ORDER BY s.email_id, a.email",
    )?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    let mut rows = s.query([ids])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    Ok(out)
}
