//! Captured email: `emails` (one per Message-ID), their participants and
//! references, the sightings in each mailbox, and investor links. The
//! capture engine saves a fetched message here in one transaction together
//! with the removal of its queue item, so a crash either keeps both or
//! neither (SPEC §6 "without losing and without duplicating").
//!
//! Links are decided over the union of every copy's participants, through
//! a caller's `Linker` (see `links`) — the store owns SQL, not matching
//! rules.

use rusqlite::{params, OptionalExtension, Transaction};

use super::links::{relink_email, Linker};
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
        // Proposals made by this save, announced once it committed (issue 4).
        let mut created = Vec::new();
        let out = self.write(|c| {
            let tx = c.transaction()?;
            let mut out = Vec::with_capacity(items.len());
            for (email, sighting) in items {
                let (saved, proposals) =
                    save_one(&tx, account_id, email, sighting, source, linker, now)?;
                out.push(saved);
                created.extend(proposals);
            }
            tx.commit()?;
            Ok(out)
        })?;
        self.publish_proposal_changes(&created);
        Ok(out)
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
}

fn save_one(
    tx: &Transaction<'_>,
    account_id: i64,
    email: &EmailRecord,
    sighting: &SightingRecord,
    source: FetchSource,
    linker: Linker<'_>,
    now: i64,
) -> Result<(SavedEmail, Vec<super::proposals::ProposalChange>), StoreError> {
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
    let saved = SavedEmail {
        email_id,
        created,
        matched: relinked.matched,
        new_links: relinked.new_links,
        full_queued: relinked.full_queued,
    };
    Ok((saved, relinked.proposals))
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
