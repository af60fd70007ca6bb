//! The checker against hand-built databases: a perfect one (tiny and full
//! size) checks clean, each corruption is named, and snapshots read while
//! the store is open with a write in flight.

use email_sidecar::fake_google::{FakeGoogle, FakeOptions};

use crate::db;
use crate::support::snapshot::Snapshot;
use crate::support::world::{Kind, Truth, World, WorldSpec};

/// The tiny world of the hand-built database tests, delivered to a fake.
async fn tiny() -> (World, Truth) {
    let spec = WorldSpec::standard(0);
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    let mut w = World::from_plan(
        &spec,
        &[
            (Kind::OutboundContactCcDomain, 0, Some(1)),
            (Kind::PublicNonContact, 1, None),
            (Kind::NoIdShared, 0, None),
            (Kind::Conversation, 2, None),
            (Kind::SpamOnly, 1, None),
        ],
    );
    w.deliver(&fake);
    let t = w.truth();
    (w, t)
}

fn first_of(t: &Truth, kind: Kind) -> usize {
    t.emails.iter().position(|e| e.kind == kind).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_built_perfect_database_checks_clean() {
    let (w, t) = tiny().await;
    let e = &t.emails[first_of(&t, Kind::OutboundContactCcDomain)];
    assert_eq!(e.links.len(), 2);
    assert_eq!(e.attachments.iter().filter(|a| a.too_large).count(), 1);
    assert!(t.emails.iter().filter(|e| e.conversation.is_some()).count() >= 2);
    let b = db::perfect(&w, &t);
    let snap = Snapshot::take(&b.db, &b.data);
    assert_eq!(snap.emails.len(), t.must_exist().len());
    assert!(!snap.files.is_empty());
    assert_eq!(t.check(&snap), Vec::<String>::new());
}

type Corruption = fn(&db::Built, &Truth);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_of_being_wrong_is_named() {
    let (w, t) = tiny().await;
    let out = first_of(&t, Kind::OutboundContactCcDomain);
    let public = first_of(&t, Kind::PublicNonContact);
    let shared = first_of(&t, Kind::NoIdShared);
    let conv = first_of(&t, Kind::Conversation);
    let spam = first_of(&t, Kind::SpamOnly);
    let cases: Vec<(&str, String)> = vec![
        ("email without sighting", "INSERT INTO emails (message_id, date_ms, direction, created_at, updated_at) VALUES ('ghost@x.example', 0, 'inbound', 0, 0)".into()),
        ("unknown sighting", format!("INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, gmail_thread_id, first_seen_at, updated_at) VALUES (1, {{{public}}}, 'f00f', 'f00f', 0, 0)")),
        ("missing email", format!("DELETE FROM emails WHERE id = {{{public}}}")),
        ("missing link", format!("DELETE FROM email_investor_links WHERE email_id = {{{out}}} AND strategy = 'domain'")),
        ("wrong link strategy", format!("UPDATE email_investor_links SET strategy = 'domain', contact_id = NULL WHERE email_id = {{{out}}} AND strategy = 'exact'")),
        ("wrong link contact", format!("UPDATE email_investor_links SET contact_id = 'ct-99z' WHERE email_id = {{{out}}} AND strategy = 'exact'")),
        ("extra link", format!("INSERT INTO email_investor_links (email_id, investor_id, strategy, matched_address, created_at) VALUES ({{{public}}}, 'inv-07', 'domain', 'a@stark.example', 0)")),
        ("duplicated", format!("INSERT INTO emails (message_id, date_ms, direction, created_at, updated_at) VALUES ('dup@x.example', 0, 'inbound', 0, 0); UPDATE email_account_messages SET email_id = last_insert_rowid() WHERE id = (SELECT max(id) FROM email_account_messages WHERE email_id = {{{shared}}})")),
        ("merged two emails", format!("UPDATE email_account_messages SET email_id = {{{shared}}} WHERE email_id = {{{public}}}")),
        ("body on unmatched", format!("UPDATE emails SET has_body = 1, body_text = 'hello' WHERE id = {{{public}}}")),
        ("missing body", format!("UPDATE emails SET has_body = 0, body_text = NULL, body_html = NULL WHERE id = {{{out}}}")),
        ("wrong body_text", format!("UPDATE emails SET body_text = body_text || ' tail' WHERE id = {{{out}}}")),
        ("wrong attachments", format!("UPDATE email_attachments SET status = 'failed' WHERE email_id = {{{out}}} AND status = 'too_large'")),
        ("wrong attachments", format!("DELETE FROM email_attachments WHERE email_id = {{{out}}} AND status = 'too_large'")),
        ("missing file", format!("UPDATE email_attachments SET status = 'stored', sha256 = '{}' WHERE status = 'too_large'", "ab".repeat(32))),
        ("conversation split across threads", format!("INSERT INTO email_threads (created_at, updated_at) VALUES (0, 0); UPDATE emails SET thread_id = last_insert_rowid() WHERE id = {{{conv}}}")),
        ("thread mixes conversations", format!("UPDATE emails SET thread_id = (SELECT thread_id FROM emails WHERE id = {{{conv}}}) WHERE id = {{{public}}}")),
        ("missing live sighting", format!("UPDATE email_account_messages SET is_trash = 1 WHERE email_id = {{{public}}}")),
        ("missing live sighting", format!("DELETE FROM email_account_messages WHERE email_id = {{{shared}}} AND id = (SELECT max(id) FROM email_account_messages WHERE email_id = {{{shared}}})")),
        ("wrong is_sent", format!("UPDATE email_account_messages SET is_sent = 1 - is_sent WHERE email_id = {{{public}}}")),
        ("wrong labels", format!("UPDATE email_account_messages SET labels_json = json_insert(labels_json, '$[#]', 'Label_99') WHERE email_id = {{{public}}}")),
        ("wrong message_id", format!("UPDATE emails SET message_id = message_id || 'x' WHERE id = {{{out}}}")),
        ("wrong message_id", format!("UPDATE emails SET message_id_synthesized = 0 WHERE id = {{{shared}}}")),
        ("wrong subject", format!("UPDATE emails SET subject = 'Re: ' || subject WHERE id = {{{out}}}")),
        ("wrong matched_address", format!("UPDATE email_investor_links SET matched_address = 'X' || matched_address WHERE email_id = {{{out}}}")),
        ("wrong date", format!("UPDATE emails SET date_ms = date_ms + 3600000 WHERE id = {{{public}}}")),
        ("wrong direction", format!("UPDATE emails SET direction = 'inbound' WHERE id = {{{out}}}")),
        ("wrong is_matched", format!("UPDATE emails SET is_matched = 0 WHERE id = {{{out}}}")),
        ("wrong is_internal", format!("UPDATE emails SET is_internal = 1 WHERE id = {{{public}}}")),
        ("queue row left", "INSERT INTO email_fetch_queue (account_id, gmail_message_id, kind, source, enqueued_at) VALUES (1, 'abc', 'full', 'backfill', 0)".into()),
    ];
    let spam_copy = t
        .sightings
        .iter()
        .find(|(_, s)| s.msg == spam)
        .map(|(k, _)| k.clone())
        .unwrap();
    let mut sql_cases = cases;
    sql_cases.push((
        "sighting of never-visible copy",
        format!(
            "INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, gmail_thread_id, is_spam, first_seen_at, updated_at) \
             VALUES ((SELECT id FROM email_accounts WHERE email = '{}'), {{{public}}}, '{}', 'x', 1, 0, 0)",
            spam_copy.0, spam_copy.1
        ),
    ));
    for (want, sql) in &sql_cases {
        let b = db::perfect(&w, &t);
        let mut sql = sql.clone();
        for (i, id) in &b.ids {
            sql = sql.replace(&format!("{{{i}}}"), &id.to_string());
        }
        b.conn().execute_batch(&sql).unwrap();
        assert_named(&t, &b, want, &sql);
    }
    let files: Vec<(&str, Corruption)> = vec![
        ("missing file", |b, _| {
            let f = walk_files(&b.attachments_dir()).into_iter().next().unwrap();
            std::fs::remove_file(f).unwrap();
        }),
        ("extra file", |b, _| {
            db::write_file(&b.data, &"a".repeat(64), b"x")
        }),
        ("corrupt file", |b, _| {
            let f = walk_files(&b.attachments_dir()).into_iter().next().unwrap();
            std::fs::write(f, b"changed").unwrap();
        }),
        ("misplaced file", |b, _| {
            let f = walk_files(&b.attachments_dir()).into_iter().next().unwrap();
            let to = b.attachments_dir().join("00");
            std::fs::create_dir_all(&to).unwrap();
            std::fs::rename(&f, to.join(f.file_name().unwrap())).unwrap();
        }),
        ("tmp file left", |b, _| {
            std::fs::create_dir_all(b.attachments_dir().join("tmp")).unwrap();
            std::fs::write(b.attachments_dir().join("tmp/part-1"), b"half").unwrap();
        }),
        ("stray file", |b, _| {
            std::fs::write(b.attachments_dir().join("notes.txt"), b"?").unwrap()
        }),
    ];
    for (want, f) in files {
        let b = db::perfect(&w, &t);
        f(&b, &t);
        assert_named(&t, &b, want, want);
    }
}

fn assert_named(t: &Truth, b: &db::Built, want: &str, what: &str) {
    let lines = t.check(&Snapshot::take(&b.db, &b.data));
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{want}:"))),
        "{what}\nshould be reported as {want:?}, got:\n{}",
        lines.join("\n")
    );
    assert!(lines.last().unwrap().starts_with("summary: "), "{lines:?}");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_world_checks_clean_against_a_perfect_database_before_and_after_mutations() {
    let spec = WorldSpec::standard(3000);
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    let mut w = World::generate(&spec);
    w.deliver(&fake);
    let before = w.truth();
    assert!(
        before.must_exist().len() > 8000,
        "{}",
        before.must_exist().len()
    );
    let b = db::perfect(&w, &before);
    let snap = Snapshot::take(&b.db, &b.data);
    assert_eq!(before.check(&snap), Vec::<String>::new());

    w.mutate(&fake, 400);
    let after = w.truth();
    let stale = after.check(&snap);
    let summary = stale.last().unwrap();
    for cat in [
        "missing email",
        "missing live sighting",
        "stale live sighting",
    ] {
        assert!(summary.contains(cat), "{cat} not in {summary}");
    }
    assert!(stale.len() <= 42, "report is capped: {}", stale.len());
    let b = db::perfect(&w, &after);
    assert_eq!(
        after.check(&Snapshot::take(&b.db, &b.data)),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_reads_while_the_store_is_open_and_a_write_is_in_flight() {
    let (w, t) = tiny().await;
    let b = db::perfect(&w, &t);
    let store = email_sidecar::store::Store::open(&b.db).unwrap();
    let mut writer = b.conn();
    let tx = writer.transaction().unwrap();
    tx.execute(
        "INSERT INTO emails (message_id, date_ms, direction, created_at, updated_at) VALUES ('ghost@x.example', 0, 'inbound', 0, 0)",
        [],
    )
    .unwrap();
    let snap = Snapshot::take(&b.db, &b.data);
    assert_eq!(t.check(&snap), Vec::<String>::new());
    tx.commit().unwrap();
    let lines = t.check(&Snapshot::take(&b.db, &b.data));
    assert!(lines[0].starts_with("email without sighting:"), "{lines:?}");
    drop(store);
}
