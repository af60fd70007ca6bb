//! Captured email: `emails` (one per Message-ID), their participants and
//! references, the sightings in each mailbox, and investor links. The
//! capture engine saves a fetched message here in one transaction together
//! with the removal of its queue item, so a crash either keeps both or
//! neither (SPEC §6 "without losing and without duplicating").
//!
//! Links are decided over the union of every copy's participants (the
//! sender's Sent copy is the only one that shows Bcc), through a caller's
//! `Linker` — the store owns SQL, not matching rules.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::queue::{self, FetchKind, FetchSource};
use super::{threads, Store, StoreError};
use crate::google::types::labels;

/// One participant as stored; `role` is from/to/cc/bcc/reply_to/sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRow {
    pub role: &'static str,
    pub address: String,
    pub name: String,
}

/// The email-level record of a fetched message (metadata view).
#[derive(Debug, Clone, PartialEq)]
pub struct EmailRecord {
    pub message_id: String,
    pub synthesized: bool,
    pub in_reply_to: Option<String>,
    /// References and In-Reply-To ids, for threading.
    pub ancestors: Vec<String>,
    pub subject: String,
    pub from_email: String,
    pub from_name: String,
    pub date_ms: i64,
    pub snippet: String,
    pub size_bytes: i64,
    pub is_bulk: bool,
    pub headers_json: String,
    pub participants: Vec<ParticipantRow>,
}

/// This mailbox's copy of the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingRecord {
    pub gmail_message_id: String,
    pub gmail_thread_id: String,
    pub labels: Vec<String>,
    pub internal_date_ms: Option<i64>,
}

/// One desired email ↔ investor link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub investor_id: String,
    pub contact_id: Option<String>,
    pub strategy: &'static str,
    pub matched_address: String,
}

/// What the caller's matching decided for one email's participants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkDecision {
    pub links: Vec<LinkRow>,
    pub excluded: bool,
    pub internal_only: bool,
    pub outbound: bool,
}

/// `(role, address)` of every stored participant → the decision.
pub type Linker<'a> = &'a (dyn Fn(&[(String, String)]) -> LinkDecision + Sync);

/// What saving one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedEmail {
    pub email_id: i64,
    pub created: bool,
    pub matched: bool,
    /// Investors linked by this save that were not linked before.
    pub new_links: Vec<String>,
    /// A full fetch (bodies, attachments) was queued for this email.
    pub full_queued: bool,
}

impl Store {
    /// Saves fetched messages of one mailbox (metadata view) and removes
    /// their `metadata` queue items, all in one transaction.
    pub fn save_metadata(
        &self,
        account_id: i64,
        items: &[(EmailRecord, SightingRecord)],
        source: FetchSource,
        linker: Linker<'_>,
    ) -> Result<Vec<SavedEmail>, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let mut out = Vec::with_capacity(items.len());
            for (email, sighting) in items {
                out.push(save_one(
                    &tx, account_id, email, sighting, source, linker, now,
                )?);
            }
            tx.commit()?;
            Ok(out)
        })
    }

    /// The email a mailbox's Gmail message was stored as, and whether its
    /// body is stored.
    pub fn sighting_email(
        &self,
        account_id: i64,
        gmail_id: &str,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT e.id, e.has_body FROM email_account_messages s JOIN emails e \
                 ON e.id = s.email_id WHERE s.account_id = ?1 AND s.gmail_message_id = ?2",
            )?
            .query_row(params![account_id, gmail_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
        })
    }

    /// Re-decides the links of every email (a directory change or an
    /// admin's `rematch`). Newly matched emails without a body get a full
    /// fetch queued from one of their live sightings. Returns how many
    /// emails' links changed.
    pub fn relink_all(&self, linker: Linker<'_>) -> Result<RelinkReport, StoreError> {
        let now = self.now_ms();
        let ids: Vec<i64> = self.read(|c| {
            let mut s = c.prepare("SELECT id FROM emails ORDER BY id")?;
            let rows = s.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        let mut report = RelinkReport::default();
        for chunk in ids.chunks(500) {
            self.write(|c| {
                let tx = c.transaction()?;
                for &id in chunk {
                    let r = relink_email(&tx, id, None, FetchSource::Rematch, linker, now)?;
                    report.changed += usize::from(r.changed);
                    report.new_links += r.new_links.len();
                    report.full_queued += usize::from(r.full_queued);
                }
                tx.commit()?;
                Ok(())
            })?;
        }
        Ok(report)
    }
}

/// What [`Store::relink_all`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelinkReport {
    /// Emails whose set of links changed.
    pub changed: usize,
    pub new_links: usize,
    pub full_queued: usize,
}

fn save_one(
    tx: &Transaction<'_>,
    account_id: i64,
    email: &EmailRecord,
    sighting: &SightingRecord,
    source: FetchSource,
    linker: Linker<'_>,
    now: i64,
) -> Result<SavedEmail, StoreError> {
    let (email_id, created) = upsert_email(tx, email, now)?;
    insert_participants(tx, email_id, email)?;
    upsert_sighting(tx, account_id, email_id, sighting, now)?;
    threads::assign(
        tx,
        email_id,
        &threads::ThreadFacts {
            account_id,
            gmail_thread_id: &sighting.gmail_thread_id,
            message_id: &email.message_id,
            ancestors: &email.ancestors,
            subject: &email.subject,
            date_ms: email.date_ms,
        },
        now,
    )?;
    let relinked = relink_email(
        tx,
        email_id,
        Some((account_id, &sighting.gmail_message_id)),
        source,
        linker,
        now,
    )?;
    queue::dequeue(
        tx,
        account_id,
        &sighting.gmail_message_id,
        Some(FetchKind::Metadata),
    )?;
    Ok(SavedEmail {
        email_id,
        created,
        matched: relinked.matched,
        new_links: relinked.new_links,
        full_queued: relinked.full_queued,
    })
}

fn upsert_email(
    tx: &Transaction<'_>,
    e: &EmailRecord,
    now: i64,
) -> Result<(i64, bool), StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM emails WHERE message_id = ?1")?
        .query_row([&e.message_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        // Any copy marked bulk makes the email bulk (order-independent).
        if e.is_bulk {
            tx.prepare_cached("UPDATE emails SET is_bulk = 1 WHERE id = ?1")?
                .execute([id])?;
        }
        return Ok((id, false));
    }
    tx.prepare_cached(
        "INSERT INTO emails (message_id, message_id_synthesized, in_reply_to, subject, \
           from_email, from_name, date_ms, snippet, size_bytes, direction, is_bulk, \
           headers_json, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'inbound', ?10, ?11, ?12, ?12)",
    )?
    .execute(params![
        e.message_id,
        e.synthesized,
        e.in_reply_to,
        e.subject,
        e.from_email,
        e.from_name,
        e.date_ms,
        e.snippet,
        e.size_bytes,
        e.is_bulk,
        e.headers_json,
        now
    ])?;
    Ok((tx.last_insert_rowid(), true))
}

fn insert_participants(
    tx: &Transaction<'_>,
    email_id: i64,
    e: &EmailRecord,
) -> Result<(), StoreError> {
    let mut p = tx.prepare_cached(
        "INSERT OR IGNORE INTO email_participants (email_id, role, address, domain, name) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for row in &e.participants {
        let domain = row.address.rsplit_once('@').map_or("", |(_, d)| d);
        p.execute(params![email_id, row.role, row.address, domain, row.name])?;
    }
    let mut r = tx.prepare_cached(
        "INSERT OR IGNORE INTO email_references (email_id, message_id) VALUES (?1, ?2)",
    )?;
    for id in e.ancestors.iter().filter(|id| !id.is_empty()) {
        r.execute(params![email_id, id])?;
    }
    Ok(())
}

/// The sent/inbox/trash/spam flags of a label set.
pub(crate) fn label_flags(labels: &[String]) -> (bool, bool, bool, bool) {
    let has = |l: &str| labels.iter().any(|x| x == l);
    (
        has(labels::SENT),
        has(labels::INBOX),
        has(labels::TRASH),
        has(labels::SPAM),
    )
}

fn upsert_sighting(
    tx: &Transaction<'_>,
    account_id: i64,
    email_id: i64,
    s: &SightingRecord,
    now: i64,
) -> Result<(), StoreError> {
    let (sent, inbox, trash, spam) = label_flags(&s.labels);
    let labels = serde_json::to_string(&s.labels).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
           gmail_thread_id, labels_json, is_sent, is_inbox, is_trash, is_spam, \
           internal_date_ms, first_seen_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) \
         ON CONFLICT (account_id, gmail_message_id) DO UPDATE SET \
           email_id = excluded.email_id, gmail_thread_id = excluded.gmail_thread_id, \
           labels_json = excluded.labels_json, is_sent = excluded.is_sent, \
           is_inbox = excluded.is_inbox, is_trash = excluded.is_trash, \
           is_spam = excluded.is_spam, internal_date_ms = excluded.internal_date_ms, \
           deleted_at = NULL, updated_at = excluded.updated_at",
    )?
    .execute(params![
        account_id,
        email_id,
        s.gmail_message_id,
        s.gmail_thread_id,
        labels,
        sent,
        inbox,
        trash,
        spam,
        s.internal_date_ms,
        now
    ])?;
    Ok(())
}

struct Relinked {
    changed: bool,
    matched: bool,
    new_links: Vec<String>,
    full_queued: bool,
}

/// Re-decides one email's links from all its stored participants, keeps
/// the email's flags in step, and queues a full fetch when it is matched
/// without a body (from `via`, else from any live sighting).
fn relink_email(
    tx: &Connection,
    email_id: i64,
    via: Option<(i64, &str)>,
    source: FetchSource,
    linker: Linker<'_>,
    now: i64,
) -> Result<Relinked, StoreError> {
    let participants = load_participants(tx, email_id)?;
    let d = linker(&participants);
    let keep_links = !d.excluded && !d.internal_only;
    let desired: BTreeMap<&str, &LinkRow> = if keep_links {
        d.links
            .iter()
            .map(|l| (l.investor_id.as_str(), l))
            .collect()
    } else {
        BTreeMap::new()
    };
    let (changed, new_links) = replace_links(tx, email_id, &desired, now)?;
    let matched = !desired.is_empty();
    tx.prepare_cached(
        "UPDATE emails SET direction = ?2, is_internal = ?3, is_excluded = ?4, \
           is_matched = ?5, updated_at = CASE WHEN ?6 THEN ?7 ELSE updated_at END \
         WHERE id = ?1",
    )?
    .execute(params![
        email_id,
        if d.outbound { "outbound" } else { "inbound" },
        d.internal_only,
        d.excluded,
        matched,
        changed,
        now
    ])?;
    let full_queued = matched && queue_full_if_needed(tx, email_id, via, source, now)?;
    Ok(Relinked {
        changed,
        matched,
        new_links,
        full_queued,
    })
}

fn load_participants(c: &Connection, email_id: i64) -> Result<Vec<(String, String)>, StoreError> {
    let mut s = c.prepare_cached(
        "SELECT role, address FROM email_participants WHERE email_id = ?1 \
         AND role IN ('from', 'to', 'cc', 'bcc') ORDER BY role, address",
    )?;
    let rows = s.query_map([email_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

type StoredLink = (Option<String>, String, String);

fn replace_links(
    c: &Connection,
    email_id: i64,
    desired: &BTreeMap<&str, &LinkRow>,
    now: i64,
) -> Result<(bool, Vec<String>), StoreError> {
    let mut s = c.prepare_cached(
        "SELECT investor_id, contact_id, strategy, matched_address \
         FROM email_investor_links WHERE email_id = ?1",
    )?;
    let existing: BTreeMap<String, StoredLink> = s
        .query_map([email_id], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?
        .collect::<Result<_, _>>()?;
    let mut changed = false;
    let mut new_links = Vec::new();
    for (inv, link) in desired {
        let want: StoredLink = (
            link.contact_id.clone(),
            link.strategy.to_string(),
            link.matched_address.clone(),
        );
        match existing.get(*inv) {
            Some(have) if *have == want => continue,
            Some(_) => {}
            None => new_links.push(inv.to_string()),
        }
        changed = true;
        c.prepare_cached(
            "INSERT INTO email_investor_links (email_id, investor_id, contact_id, strategy, \
               matched_address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (email_id, investor_id) DO UPDATE SET contact_id = excluded.contact_id, \
               strategy = excluded.strategy, matched_address = excluded.matched_address",
        )?
        .execute(params![email_id, inv, want.0, want.1, want.2, now])?;
    }
    for inv in existing
        .keys()
        .filter(|k| !desired.contains_key(k.as_str()))
    {
        changed = true;
        c.prepare_cached(
            "DELETE FROM email_investor_links WHERE email_id = ?1 AND investor_id = ?2",
        )?
        .execute(params![email_id, inv])?;
    }
    Ok((changed, new_links))
}

fn queue_full_if_needed(
    c: &Connection,
    email_id: i64,
    via: Option<(i64, &str)>,
    source: FetchSource,
    now: i64,
) -> Result<bool, StoreError> {
    let has_body: bool = c
        .prepare_cached("SELECT has_body FROM emails WHERE id = ?1")?
        .query_row([email_id], |r| r.get(0))?;
    if has_body || queue::full_fetch_queued(c, email_id)? {
        return Ok(false);
    }
    let target = match via {
        Some((a, g)) => Some((a, g.to_string())),
        None => live_sighting(c, email_id, None)?,
    };
    match target {
        Some((account, gmail_id)) => {
            queue::enqueue(c, account, &gmail_id, FetchKind::Full, source, now)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// A live sighting of the email (of an active mailbox), other than `not`.
pub(crate) fn live_sighting(
    c: &Connection,
    email_id: i64,
    not: Option<(i64, &str)>,
) -> Result<Option<(i64, String)>, StoreError> {
    let (na, ng) = not.map_or((-1, ""), |(a, g)| (a, g));
    Ok(c.prepare_cached(
        "SELECT s.account_id, s.gmail_message_id FROM email_account_messages s \
         JOIN email_accounts a ON a.id = s.account_id \
         WHERE s.email_id = ?1 AND s.deleted_at IS NULL AND s.is_trash = 0 AND s.is_spam = 0 \
           AND a.status = 'active' AND NOT (s.account_id = ?2 AND s.gmail_message_id = ?3) \
         ORDER BY s.id LIMIT 1",
    )?
    .query_row(params![email_id, na, ng], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}
