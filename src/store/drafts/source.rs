//! What a reply is built from: the email, its participants (never its
//! Bcc), its captured headers, each mailbox's live copy of it, and the
//! addresses that are ours.

use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;

use super::super::{Store, StoreError};
use super::{LiveSighting, Person, ReplySource};

impl Store {
    /// The email `email_id` as a reply needs it; `None` if there is none.
    pub fn reply_source(&self, email_id: i64) -> Result<Option<ReplySource>, StoreError> {
        self.read(|c| {
            let head = c
                .query_row(
                    "SELECT message_id, message_id_synthesized, subject, from_email, from_name, \
                     headers_json FROM emails WHERE id = ?1",
                    [email_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, bool>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((message_id, synthesized, subject, from_email, from_name, headers)) = head
            else {
                return Ok(None);
            };
            let mut src = ReplySource {
                email_id,
                message_id,
                message_id_synthesized: synthesized,
                subject,
                from: Person {
                    email: from_email,
                    name: from_name,
                },
                reply_to: Vec::new(),
                to: Vec::new(),
                cc: Vec::new(),
                headers: parse_headers(&headers)?,
                sightings: live_sightings(c, email_id)?,
            };
            load_participants(c, &mut src)?;
            Ok(Some(src))
        })
    }

    /// Every address that is ours: enrolled mailboxes and the CRM's users.
    pub fn own_addresses(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT email FROM email_accounts UNION SELECT email FROM directory_users",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

fn live_sightings(c: &Connection, email_id: i64) -> Result<Vec<LiveSighting>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT s.account_id, a.email, a.status, s.gmail_thread_id \
         FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id \
         WHERE s.email_id = ?1 AND s.deleted_at IS NULL AND s.is_trash = 0 AND s.is_spam = 0 \
         ORDER BY s.account_id, s.id",
    )?;
    let rows = stmt.query_map([email_id], |r| {
        Ok(LiveSighting {
            account_id: r.get(0)?,
            account_email: r.get(1)?,
            account_status: r.get(2)?,
            gmail_thread_id: r.get(3)?,
        })
    })?;
    let mut out: Vec<LiveSighting> = Vec::new();
    for s in rows {
        let s = s?;
        // One per mailbox: the first copy names the thread.
        if !out.iter().any(|o| o.account_id == s.account_id) {
            out.push(s);
        }
    }
    Ok(out)
}

fn load_participants(c: &Connection, src: &mut ReplySource) -> Result<(), StoreError> {
    let mut stmt = c.prepare(
        "SELECT role, address, name FROM email_participants \
         WHERE email_id = ?1 AND role IN ('to', 'cc', 'reply_to')",
    )?;
    let rows = stmt.query_map([src.email_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Person {
                email: r.get(1)?,
                name: r.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (role, person) = row?;
        match role.as_str() {
            "to" => src.to.push(person),
            "cc" => src.cc.push(person),
            _ => src.reply_to.push(person),
        }
    }
    Ok(())
}

fn parse_headers(json: &str) -> Result<Vec<(String, String)>, StoreError> {
    #[derive(Deserialize)]
    struct Header {
        name: String,
        value: String,
    }
    let list: Vec<Header> = serde_json::from_str(json)
        .map_err(|e| StoreError::corrupt("emails.headers_json", e.to_string()))?;
    Ok(list.into_iter().map(|h| (h.name, h.value)).collect())
}
