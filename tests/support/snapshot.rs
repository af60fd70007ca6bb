//! What the database and the attachment directory hold, read straight from
//! the SQLite file (read-only; WAL readers do not block the daemon) and the
//! file system, for comparing with `world::Truth`. Knows only the schema
//! (migrations/V1), nothing of the crate's store code.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

/// One row of `emails` with everything hanging off it.
#[derive(Debug, Clone, Default)]
pub struct SnapEmail {
    pub id: i64,
    pub message_id: String,
    pub message_id_synthesized: bool,
    pub subject: String,
    pub from_email: String,
    pub date_ms: i64,
    pub direction: String,
    pub is_internal: bool,
    pub is_bulk: bool,
    pub is_excluded: bool,
    pub is_matched: bool,
    pub has_body: bool,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub thread_id: Option<i64>,
    pub links: Vec<SnapLink>,
    pub attachments: Vec<SnapAttachment>,
    pub sightings: Vec<SnapSighting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapLink {
    pub investor_id: String,
    pub contact_id: Option<String>,
    pub strategy: String,
    pub matched_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapAttachment {
    pub part_id: String,
    pub filename: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapSighting {
    /// The mailbox address (`email_accounts.email`).
    pub mailbox: String,
    pub gmail_message_id: String,
    pub gmail_thread_id: String,
    pub labels: Vec<String>,
    pub is_sent: bool,
    pub is_trash: bool,
    pub is_spam: bool,
    pub deleted: bool,
    /// Not deleted, not in trash or spam.
    pub live: bool,
}

/// A file under `<data_dir>/email_attachments/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// Relative to `email_attachments/`, e.g. `ab/abcdef…`.
    pub rel: String,
    pub dir: String,
    pub name: String,
    /// SHA-256 of the content actually on disk.
    pub content_sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub mailbox: String,
    pub gmail_message_id: String,
    pub kind: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub emails: Vec<SnapEmail>,
    /// Content files (in two-hex-digit directories).
    pub files: Vec<SnapFile>,
    /// Anything under `email_attachments/tmp/`.
    pub tmp_files: Vec<String>,
    /// Anything else under `email_attachments/` (misplaced files, odd dirs).
    pub stray: Vec<String>,
    pub queue: Vec<QueueRow>,
}

impl Snapshot {
    /// Read everything in one read transaction; panics on I/O errors
    /// (this is test support).
    pub fn take(db_path: &Path, data_dir: &Path) -> Snapshot {
        let conn = open(db_path);
        conn.execute_batch("BEGIN").unwrap();
        let mut emails = read_emails(&conn);
        let index: BTreeMap<i64, usize> =
            emails.iter().enumerate().map(|(n, e)| (e.id, n)).collect();
        read_links(&conn, &mut emails, &index);
        read_attachments(&conn, &mut emails, &index);
        read_sightings(&conn, &mut emails, &index);
        let queue = read_queue(&conn);
        conn.execute_batch("COMMIT").unwrap();
        let mut snap = Snapshot {
            emails,
            queue,
            ..Snapshot::default()
        };
        snap.read_files(&data_dir.join("email_attachments"));
        snap
    }

    pub fn by_message_id(&self, id: &str) -> Option<&SnapEmail> {
        self.emails.iter().find(|e| e.message_id == id)
    }

    /// Live sightings' gmail ids in `mailbox`.
    pub fn live(&self, mailbox: &str) -> std::collections::BTreeSet<String> {
        self.emails
            .iter()
            .flat_map(|e| &e.sightings)
            .filter(|s| s.mailbox == mailbox && s.live)
            .map(|s| s.gmail_message_id.clone())
            .collect()
    }

    fn read_files(&mut self, root: &Path) {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if !path.is_dir() {
                self.stray.push(name);
                continue;
            }
            for f in walk(&path) {
                let rel = f.strip_prefix(root).unwrap().to_string_lossy().to_string();
                if name == "tmp" {
                    self.tmp_files.push(rel);
                } else if is_hex_dir(&name) && f.parent() == Some(path.as_path()) {
                    let bytes = std::fs::read(&f).unwrap();
                    self.files.push(SnapFile {
                        name: f.file_name().unwrap().to_string_lossy().to_string(),
                        dir: name.clone(),
                        rel,
                        content_sha256: hex::encode(Sha256::digest(&bytes)),
                        size: bytes.len() as u64,
                    });
                } else {
                    self.stray.push(rel);
                }
            }
        }
        self.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    }
}

fn is_hex_dir(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Every regular file below `dir`, recursively.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Read-only; falls back to a normal open (still only reading) when SQLite
/// cannot open a WAL database read-only (no -shm yet).
fn open(db_path: &Path) -> Connection {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(db_path, flags) {
        Ok(c)
            if c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok() =>
        {
            c
        }
        _ => Connection::open(db_path).unwrap(),
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

fn read_emails(c: &Connection) -> Vec<SnapEmail> {
    let mut st = c
        .prepare(
            "SELECT id, message_id, message_id_synthesized, subject, from_email, direction, \
             is_internal, is_bulk, is_excluded, is_matched, has_body, body_text, body_html, thread_id, date_ms \
             FROM emails ORDER BY id",
        )
        .unwrap();
    let rows = st.query_map([], |r| {
        Ok(SnapEmail {
            id: r.get(0)?,
            message_id: r.get(1)?,
            message_id_synthesized: r.get(2)?,
            subject: r.get(3)?,
            from_email: r.get(4)?,
            direction: r.get(5)?,
            is_internal: r.get(6)?,
            is_bulk: r.get(7)?,
            is_excluded: r.get(8)?,
            is_matched: r.get(9)?,
            has_body: r.get(10)?,
            body_text: r.get(11)?,
            body_html: r.get(12)?,
            thread_id: r.get(13)?,
            date_ms: r.get(14)?,
            ..SnapEmail::default()
        })
    });
    rows.unwrap().map(Result::unwrap).collect()
}

fn read_links(c: &Connection, emails: &mut [SnapEmail], index: &BTreeMap<i64, usize>) {
    let mut st = c
        .prepare("SELECT email_id, investor_id, contact_id, strategy, matched_address FROM email_investor_links ORDER BY email_id, investor_id")
        .unwrap();
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            SnapLink {
                investor_id: r.get(1)?,
                contact_id: r.get(2)?,
                strategy: r.get(3)?,
                matched_address: r.get(4)?,
            },
        ))
    });
    for (id, l) in rows.unwrap().map(Result::unwrap) {
        emails[index[&id]].links.push(l);
    }
}

fn read_attachments(c: &Connection, emails: &mut [SnapEmail], index: &BTreeMap<i64, usize>) {
    let mut st = c
        .prepare("SELECT email_id, part_id, filename, mime_type, size_bytes, sha256, status FROM email_attachments ORDER BY email_id, id")
        .unwrap();
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            SnapAttachment {
                part_id: r.get(1)?,
                filename: r.get(2)?,
                mime_type: r.get(3)?,
                size: r.get(4)?,
                sha256: r.get(5)?,
                status: r.get(6)?,
            },
        ))
    });
    for (id, a) in rows.unwrap().map(Result::unwrap) {
        emails[index[&id]].attachments.push(a);
    }
}

fn read_sightings(c: &Connection, emails: &mut [SnapEmail], index: &BTreeMap<i64, usize>) {
    let mut st = c
        .prepare(
            "SELECT s.email_id, a.email, s.gmail_message_id, s.gmail_thread_id, s.labels_json, \
             s.is_sent, s.is_trash, s.is_spam, s.deleted_at IS NOT NULL \
             FROM email_account_messages s JOIN email_accounts a ON a.id = s.account_id ORDER BY s.id",
        )
        .unwrap();
    let rows = st.query_map([], |r| {
        let labels: String = r.get(4)?;
        let (is_trash, is_spam, deleted): (bool, bool, bool) = (r.get(6)?, r.get(7)?, r.get(8)?);
        Ok((
            r.get::<_, i64>(0)?,
            SnapSighting {
                mailbox: r.get(1)?,
                gmail_message_id: r.get(2)?,
                gmail_thread_id: r.get(3)?,
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                is_sent: r.get(5)?,
                is_trash,
                is_spam,
                deleted,
                live: !deleted && !is_trash && !is_spam,
            },
        ))
    });
    for (id, s) in rows.unwrap().map(Result::unwrap) {
        emails[index[&id]].sightings.push(s);
    }
}

fn read_queue(c: &Connection) -> Vec<QueueRow> {
    let mut st = c
        .prepare(
            "SELECT coalesce(a.email, '?'), q.gmail_message_id, q.kind, q.attempts, q.last_error \
             FROM email_fetch_queue q LEFT JOIN email_accounts a ON a.id = q.account_id ORDER BY q.id",
        )
        .unwrap();
    let rows = st.query_map([], |r| {
        Ok(QueueRow {
            mailbox: r.get(0)?,
            gmail_message_id: r.get(1)?,
            kind: r.get(2)?,
            attempts: r.get(3)?,
            last_error: r.get(4)?,
        })
    });
    rows.unwrap().map(Result::unwrap).collect()
}

/// Panics, listing the differences, unless the database at `db` (with its
/// attachment files under `data`) equals `world`'s truth. `history_gap`:
/// see [`crate::support::world::Truth::check_after_history_gap`].
pub fn assert_matches_truth(
    world: &super::world::World,
    db: &Path,
    data: &Path,
    when: &str,
    history_gap: bool,
) {
    let snap = Snapshot::take(db, data);
    let truth = world.truth();
    let problems = if history_gap {
        truth.check_after_history_gap(&snap)
    } else {
        truth.check(&snap)
    };
    assert!(
        problems.is_empty(),
        "{when}: the database differs from the truth in {} ways:\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
