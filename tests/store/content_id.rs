//! V11: attachments keep their Content-ID. Rows captured before keep NULL
//! through the upgrade; rows written after carry it, and `email_detail`
//! (what `emails/{id}` serves) reads it back.

use email_sidecar::store::{AttachmentRow, AttachmentStatus, BodyRecord, Store};

use super::db_in;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn a_version_10_attachment_keeps_no_content_id_and_a_new_one_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    assert_eq!(Store::migrate_to(&path, 10).unwrap().last(), Some(&10));
    {
        // A matched email with one inline image, as a V10 daemon stored it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO email_accounts (id, email, auth_method, created_at, updated_at) \
               VALUES (1, 'a@fund.test', 'dwd', 0, 0); \
             INSERT INTO emails (id, message_id, subject, date_ms, direction, is_matched, \
               created_at, updated_at) VALUES (1, 'm1@x', 'Logo', 5, 'inbound', 1, 0, 0); \
             INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
               gmail_thread_id, first_seen_at, updated_at) VALUES (1, 1, 'g1', 't', 0, 0); \
             INSERT INTO email_attachments (email_id, part_id, filename, mime_type, \
               size_bytes, sha256, status, created_at, updated_at) \
               VALUES (1, '1', 'old.png', 'image/png', 4, '{SHA}', 'stored', 0, 0);"
        ))
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let row = |part: &str, cid: Option<&str>| AttachmentRow {
        part_id: part.into(),
        filename: format!("{part}.png"),
        mime_type: "image/png".into(),
        size: 4,
        sha256: Some(SHA.into()),
        status: AttachmentStatus::Stored,
        error: None,
        content_id: cid.map(Into::into),
    };
    let body = BodyRecord {
        gmail_message_id: "g1".into(),
        text: None,
        html: Some("<img src=\"cid:Logo@X\">".into()),
        attachments: vec![row("2", Some("Logo@X")), row("3", None)],
    };
    assert_eq!(store.save_body(1, &body).unwrap(), Some(1));
    let detail = store.email_detail(1).unwrap().unwrap();
    let got: Vec<(&str, Option<&str>)> = detail
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_id.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("old.png", None),
            ("2.png", Some("Logo@X")),
            ("3.png", None)
        ]
    );
}
