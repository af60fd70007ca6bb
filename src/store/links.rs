//! Investor links of captured email (SPEC §7): decided by a caller's
//! `Linker` over the union of every copy's participants (the sender's Sent
//! copy is the only one that shows Bcc), kept in step with the email's
//! flags, and re-decided for every email when the directory changes. A
//! newly matched email without a body gets a full fetch queued.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::queue::{self, FetchKind, FetchSource};
use super::{Store, StoreError};

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

impl Store {
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
            // Proposals made by this chunk, announced once it committed.
            let mut created = Vec::new();
            self.write(|c| {
                let tx = c.transaction()?;
                for &id in chunk {
                    let r = relink_email(&tx, id, None, FetchSource::Rematch, linker, now)?;
                    report.changed += usize::from(r.changed);
                    report.new_links += r.new_links.len();
                    report.full_queued += usize::from(r.full_queued);
                    created.extend(r.proposals);
                }
                tx.commit()?;
                Ok(())
            })?;
            report.proposals += created.iter().filter(|c| !c.withdrawn).count();
            self.publish_proposal_changes(&created);
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
    /// Proposals created for newly linked email (issue 4).
    pub proposals: usize,
}

pub(super) struct Relinked {
    pub(super) changed: bool,
    pub(super) matched: bool,
    pub(super) new_links: Vec<String>,
    pub(super) full_queued: bool,
    /// Proposals created for the new links, or withdrawn because the email
    /// is now excluded (issue 4), to announce after commit.
    pub(super) proposals: Vec<super::proposals::ProposalChange>,
}

/// Re-decides one email's links from all its stored participants, keeps
/// the email's flags in step, and queues a full fetch when it is matched
/// without a body (from `via`, else from any live sighting).
pub(super) fn relink_email(
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
    // Proposal hook (issue 4): a new link of a proposable email proposes a
    // note in this same transaction (see store::proposals for the rules).
    let proposals = if d.excluded {
        super::proposals::withdraw_excluded(tx, email_id, now)?
    } else {
        super::proposals::propose_new_links(tx, email_id, &new_links, &desired, d.outbound, now)?
    };
    Ok(Relinked {
        changed,
        matched,
        new_links,
        full_queued,
        proposals,
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
