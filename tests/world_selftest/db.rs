//! A database built by hand from a truth, the way a perfect capture engine
//! would leave it (Store::open for the schema, then plain INSERTs), plus its
//! attachment files; the self-test corrupts copies of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use email_sidecar::store::Store;
use rusqlite::{params, Connection};

use crate::support::world::{ExpectedSighting, Truth, World};

/// A message's copies: ((mailbox, gmail id), state).
type Copies<'a> = Vec<(&'a (String, String), &'a ExpectedSighting)>;

pub struct Built {
    _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub data: PathBuf,
    /// World message index → emails.id.
    pub ids: BTreeMap<usize, i64>,
}

impl Built {
    pub fn conn(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data.join("email_attachments")
    }
}

pub fn perfect(world: &World, truth: &Truth) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sidecar.db");
    let data = dir.path().join("data");
    drop(Store::open(&db).unwrap());
    let mut conn = Connection::open(&db).unwrap();
    let c = conn.transaction().unwrap();
    let contents = world.attachment_contents();
    let mut by_msg: BTreeMap<usize, Copies<'_>> = BTreeMap::new();
    for (k, s) in &truth.sightings {
        by_msg.entry(s.msg).or_default().push((k, s));
    }
    let mut accounts = BTreeMap::new();
    for m in &truth.mailboxes {
        c.execute(
            "INSERT INTO email_accounts (email, auth_method, created_at, updated_at) VALUES (?1, 'dwd', 0, 0)",
            [m],
        )
        .unwrap();
        accounts.insert(m.clone(), c.last_insert_rowid());
    }
    let mut threads: BTreeMap<usize, i64> = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for i in truth.must_exist() {
        let e = &truth.emails[i];
        let thread = match e.conversation {
            Some(conv) => *threads.entry(conv).or_insert_with(|| new_thread(&c)),
            None => new_thread(&c),
        };
        let id = insert_email(&c, truth, i, thread);
        ids.insert(i, id);
        for ((mb, gid), s) in by_msg[&i].iter().filter(|(_, s)| s.live) {
            c.execute(
                "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, gmail_thread_id, \
                 labels_json, is_sent, is_inbox, first_seen_at, updated_at) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, 0, 0)",
                params![accounts[mb], id, gid, serde_json::to_string(&s.labels).unwrap(), s.is_sent, s.labels.contains("INBOX")],
            )
            .unwrap();
        }
        if !e.is_matched() {
            continue;
        }
        for (inv, l) in &e.links {
            let addr = l.addresses.first().unwrap();
            c.execute(
                "INSERT INTO email_investor_links (email_id, investor_id, contact_id, strategy, matched_address, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![id, inv, l.contact_id, l.strategy.as_str(), addr],
            )
            .unwrap();
        }
        for (n, a) in e.attachments.iter().enumerate() {
            let (sha, status) = if a.too_large {
                (None, "too_large")
            } else {
                (Some(&a.sha256), "stored")
            };
            c.execute(
                "INSERT INTO email_attachments (email_id, part_id, filename, mime_type, size_bytes, sha256, status, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0)",
                params![id, n.to_string(), a.filename, a.mime_type, a.size as i64, sha, status],
            )
            .unwrap();
            if let Some(sha) = sha {
                write_file(&data, sha, &contents[sha]);
            }
        }
    }
    c.commit().unwrap();
    Built {
        _dir: dir,
        db,
        data,
        ids,
    }
}

fn new_thread(c: &Connection) -> i64 {
    c.execute(
        "INSERT INTO email_threads (created_at, updated_at) VALUES (0, 0)",
        [],
    )
    .unwrap();
    c.last_insert_rowid()
}

fn insert_email(c: &Connection, truth: &Truth, i: usize, thread: i64) -> i64 {
    let e = &truth.emails[i];
    let (mid, synth) = match &e.message_id {
        Some(m) => (m.clone(), false),
        None => (format!("{:032x}@synthesized.email-sidecar", i), true),
    };
    let matched = e.is_matched();
    let html = e
        .html_marker
        .as_ref()
        .filter(|_| matched)
        .map(|m| format!("<p>{m}</p>"));
    c.execute(
        "INSERT INTO emails (message_id, message_id_synthesized, thread_id, subject, from_email, date_ms, direction, \
         is_internal, is_bulk, is_excluded, is_matched, has_body, body_text, body_html, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?13, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, 0, 0)",
        params![
            mid, synth, thread, e.subject, e.from_email,
            if e.outbound { "outbound" } else { "inbound" },
            e.internal, e.bulk, e.excluded, matched,
            matched.then(|| e.text.replace('\n', "\r\n")), html, e.date_ms
        ],
    )
    .unwrap();
    c.last_insert_rowid()
}

pub fn write_file(data: &Path, sha: &str, bytes: &[u8]) {
    let dir = data.join("email_attachments").join(&sha[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(sha), bytes).unwrap();
}
