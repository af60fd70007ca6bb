//! Creating proposals inside the linking transaction (the hooks of
//! `links::relink_email`): one per newly linked investor of a proposable
//! email with its deterministic note, and withdrawal when the email
//! becomes excluded. The rules are in the parent module's notes.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::{audit, ProposalChange, SYSTEM_ACTOR, WITHDRAWN_NOTE};
use crate::proposals::note::{self, NoteFacts};
use crate::store::links::LinkRow;
use crate::store::StoreError;

/// The proposal hook of `links::relink_email`: one proposal for each
/// investor newly linked to a proposable email (not bulk; internal-only
/// and excluded mail is never linked at all), unless the investor is in
/// the graveyard. Runs in the caller's transaction.
pub(in crate::store) fn propose_new_links(
    tx: &Connection,
    email_id: i64,
    new_links: &[String],
    desired: &BTreeMap<&str, &LinkRow>,
    outbound: bool,
    now: i64,
) -> Result<Vec<ProposalChange>, StoreError> {
    if new_links.is_empty() {
        return Ok(Vec::new());
    }
    let Some(email) = email_facts(tx, email_id)? else {
        return Ok(Vec::new());
    };
    if email.is_bulk {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for inv in new_links {
        let Some(link) = desired.get(inv.as_str()) else {
            continue;
        };
        if is_graveyard(tx, inv)? {
            continue;
        }
        let contact = (link.strategy == "exact")
            .then(|| link.contact_id.clone())
            .flatten();
        // Inbound: who wrote (maybe a third party with the investor in
        // copy, then named too); outbound: the investor's address we wrote to.
        let matched = link.matched_address.as_str();
        let sender =
            (!outbound && !email.from_email.is_empty()).then_some(email.from_email.as_str());
        let address = sender.unwrap_or(matched);
        let name = match sender {
            Some(_) if !email.from_name.trim().is_empty() => email.from_name.clone(),
            _ => counterpart_name(tx, email_id, address, contact.as_deref())?,
        };
        let text = note::deterministic(&NoteFacts {
            outbound,
            counterpart_name: &name,
            counterpart_address: address,
            investor_address: (!address.eq_ignore_ascii_case(matched)).then_some(matched),
            subject: &email.subject,
            body_text: email.body_text.as_deref(),
            snippet: &email.snippet,
        });
        let n = tx
            .prepare_cached(
                "INSERT INTO email_proposals (email_id, investor_id, contact_id, direction, \
                   occurred_at, subject, note, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
                 ON CONFLICT (email_id, investor_id) DO NOTHING",
            )?
            .execute(params![
                email_id,
                inv,
                contact,
                if outbound { "outbound" } else { "inbound" },
                email.date_ms,
                email.subject,
                text,
                now
            ])?;
        if n == 1 {
            created.push(ProposalChange {
                id: tx.last_insert_rowid(),
                email_id,
                investor_id: inv.clone(),
                withdrawn: false,
            });
        }
    }
    Ok(created)
}

/// The other hook of `links::relink_email`: the email is now excluded, so
/// its pending proposals are withdrawn (see the module notes).
pub(in crate::store) fn withdraw_excluded(
    tx: &Connection,
    email_id: i64,
    now: i64,
) -> Result<Vec<ProposalChange>, StoreError> {
    let mut s = tx.prepare_cached(
        "UPDATE email_proposals SET status = 'rejected', decided_by = ?2, decided_at = ?3, \
           note = ?4, subject = '', updated_at = ?3 \
         WHERE email_id = ?1 AND status = 'pending' RETURNING id, investor_id",
    )?;
    let rows = s.query_map(params![email_id, SYSTEM_ACTOR, now, WITHDRAWN_NOTE], |r| {
        Ok(ProposalChange {
            id: r.get(0)?,
            email_id,
            investor_id: r.get(1)?,
            withdrawn: true,
        })
    })?;
    let withdrawn = rows.collect::<Result<Vec<_>, _>>()?;
    for p in &withdrawn {
        let details = serde_json::json!({"decision": "rejected", "reason": "excluded",
            "investor_id": p.investor_id, "email_id": email_id.to_string()});
        audit(tx, now, SYSTEM_ACTOR, "proposal.withdraw", p.id, &details)?;
    }
    Ok(withdrawn)
}

struct EmailFacts {
    subject: String,
    from_email: String,
    from_name: String,
    snippet: String,
    body_text: Option<String>,
    date_ms: i64,
    is_bulk: bool,
}

fn email_facts(c: &Connection, email_id: i64) -> Result<Option<EmailFacts>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT subject, snippet, CASE WHEN has_body THEN body_text END, date_ms, is_bulk, \
           from_email, from_name FROM emails WHERE id = ?1",
    )?
    .query_row([email_id], |r| {
        Ok(EmailFacts {
            subject: r.get(0)?,
            snippet: r.get(1)?,
            body_text: r.get(2)?,
            date_ms: r.get(3)?,
            is_bulk: r.get(4)?,
            from_email: r.get(5)?,
            from_name: r.get(6)?,
        })
    })
    .optional()?)
}

fn is_graveyard(c: &Connection, investor_id: &str) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT graveyard FROM directory_investors WHERE id = ?1")?
            .query_row([investor_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false),
    )
}

/// The display name of the matched participant as written in the email,
/// else the contact's name from the directory, else empty.
fn counterpart_name(
    c: &Connection,
    email_id: i64,
    address: &str,
    contact_id: Option<&str>,
) -> Result<String, StoreError> {
    let written: Option<String> = c
        .prepare_cached(
            "SELECT name FROM email_participants WHERE email_id = ?1 AND address = ?2 \
             AND name <> '' ORDER BY role LIMIT 1",
        )?
        .query_row(params![email_id, address], |r| r.get(0))
        .optional()?;
    if let Some(n) = written {
        return Ok(n);
    }
    let Some(id) = contact_id else {
        return Ok(String::new());
    };
    Ok(
        c.prepare_cached("SELECT name FROM directory_contacts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
    )
}
