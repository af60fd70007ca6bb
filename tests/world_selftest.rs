//! Self-test of the ground-truth world (tests/support/world.rs) and of the
//! snapshot/check pair (tests/support/snapshot.rs), without the capture
//! engine: the generator is deterministic and covers every kind, its raw
//! mail says what the truth says (read back with mail-parser), the fake
//! lists exactly the truth's live copies before and after mutations, and a
//! hand-built database that is right passes while each way of being wrong
//! is named.

mod support;

use std::collections::BTreeSet;

use email_sidecar::clock::{Clock, SystemClock};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::snapshot::Snapshot;
use support::world::{canonical, Kind, World, WorldSpec};

#[path = "world_selftest/db.rs"]
mod db;

#[test]
fn the_same_seed_generates_byte_identical_worlds_and_another_seed_does_not() {
    let spec = WorldSpec::standard(150);
    let digest = |w: &World| {
        let mut h = Sha256::new();
        for m in &w.msgs {
            for d in &m.deliveries {
                h.update(d.mailbox.as_bytes());
                h.update(format!("{:?}", d.labels).as_bytes());
                h.update(m.raw(d.sender_copy));
            }
        }
        hex::encode(h.finalize())
    };
    let (a, b) = (World::generate(&spec), World::generate(&spec));
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.stats(), b.stats());
    let other = World::generate(&WorldSpec { seed: 7, ..spec });
    assert_ne!(digest(&a), digest(&other));
}

#[test]
fn a_standard_world_has_every_kind_and_feature_in_real_numbers() {
    let w = World::generate(&WorldSpec::standard(1000));
    let s = w.stats();
    println!("{s:#?}");
    assert!(w.message_count() >= 3000, "{}", w.message_count());
    for k in Kind::ALL {
        let floor = if matches!(k, Kind::NoIdShared | Kind::OutboundBccTeammate) {
            5
        } else {
            20
        };
        assert!(s.kind(*k) >= floor, "{k:?}: {}", s.kind(*k));
    }
    for (f, floor) in [
        ("exact link", 800),
        ("domain link", 400),
        ("two or more links", 150),
        ("outbound", 300),
        ("internal", 100),
        ("bulk", 80),
        ("excluded", 60),
        ("no message-id", 40),
        ("no message-id, 2+ mailboxes", 5),
        ("2+ mailboxes", 200),
        ("3 mailboxes", 20),
        ("never visible", 60),
        ("a copy in spam beside a visible copy", 10),
        ("archived copy (no INBOX, not SENT)", 50),
        ("bcc", 40),
        ("rfc2047 subject", 200),
        ("html", 600),
        ("attachments on matched", 100),
        ("attachments on unmatched", 20),
        ("reused attachment", 40),
        ("attachment contents used 2+ times", 8),
        ("too large attachment", 1),
        ("conversations", 20),
        ("conversations spanning 2+ mailboxes", 10),
        ("reply (in conversation, not first)", 40),
        ("idn written in unicode", 10),
        ("idn written in punycode", 10),
        ("address written with capitals", 100),
    ] {
        assert!(s.feature(f) >= floor, "{f}: {} < {floor}", s.feature(f));
    }
    assert_eq!(s.feature("too large attachment"), 1);
}

#[test]
fn every_kind_gets_the_links_and_flags_it_was_built_for() {
    let w = World::generate(&WorldSpec::standard(1000));
    for m in &w.msgs {
        let e = &m.expect;
        let strategies: Vec<&str> = e.links.values().map(|l| l.1.as_str()).collect();
        let exact = strategies.iter().filter(|s| **s == "exact").count();
        let domain = strategies.len() - exact;
        let ok = match e.kind {
            Kind::InboundContact => exact == 1 && domain == 0 && !e.outbound,
            Kind::PublicContact | Kind::PlusTagExact | Kind::IdnContact => {
                exact == 1 && domain == 0
            }
            Kind::InboundDomain | Kind::PlusTagStripped | Kind::IdnDomain | Kind::SecondDomain => {
                domain == 1 && exact == 0
            }
            Kind::OutboundContactCcDomain => exact == 1 && domain == 1 && e.outbound,
            Kind::OutboundBcc | Kind::OutboundBccTeammate => {
                exact == 1 && domain == 0 && e.outbound && !e.internal
            }
            Kind::PublicNonContact => e.links.is_empty() && !e.excluded,
            Kind::InternalOnly => e.links.is_empty() && e.internal,
            Kind::FromDave => exact == 1 && !e.outbound && e.from_email.starts_with("dave@"),
            Kind::Bulk => e.bulk && e.is_matched(),
            Kind::Excluded => e.excluded && e.links.is_empty() && !e.is_matched(),
            Kind::SpamOnly | Kind::TrashOnly => m.deliveries.iter().all(|d| !d.visible()),
            Kind::NoIdShared => e.message_id.is_none() && m.deliveries.len() == 2,
            Kind::Conversation => e.conversation.is_some() && exact == 1,
        };
        assert!(
            ok,
            "{:?} #{}: links {:?} outbound {} internal {}",
            e.kind, e.idx, e.links, e.outbound, e.internal
        );
        assert_eq!(
            e.internal,
            m.participants()
                .all(|a| a.canonical.ends_with("@fund.test"))
        );
        assert!(
            e.links.keys().all(|inv| inv != "inv-05"),
            "Umbrella's mail is excluded: {:?}",
            e.idx
        );
        assert!(!(e.is_matched() && e.internal));
        if e.kind == Kind::PublicNonContact {
            assert!(
                e.links.is_empty(),
                "gmail.com is listed by inv-03 but never matches by domain"
            );
        }
    }
}

/// The raw bytes say what the truth says, read with an independent parser.
#[test]
fn raw_mail_decodes_to_the_expected_subject_body_ids_and_attachments() {
    let w = World::generate(&WorldSpec::standard(150));
    for m in &w.msgs {
        let e = &m.expect;
        for d in &m.deliveries {
            let raw = m.raw(d.sender_copy);
            assert!(
                !raw.windows(2).any(|p| p[1] == b'\n' && p[0] != b'\r'),
                "bare LF in #{}",
                e.idx
            );
            let p = MessageParser::default().parse(&raw).unwrap();
            assert_eq!(p.subject().unwrap_or_default(), e.subject, "#{}", e.idx);
            assert_eq!(
                p.message_id().map(str::to_string),
                e.message_id,
                "#{}",
                e.idx
            );
            let from = p
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap();
            assert_eq!(canonical(from), e.from_email);
            let text = p.body_text(0).unwrap().replace("\r\n", "\n");
            assert_eq!(text.trim(), e.text.trim(), "#{}", e.idx);
            let html_parts = p.parts.iter().filter(|x| x.is_content_type("text", "html"));
            assert_eq!(
                html_parts.count(),
                usize::from(e.html_marker.is_some()),
                "#{}",
                e.idx
            );
            if let Some(mk) = &e.html_marker {
                assert!(p.body_html(0).unwrap().contains(mk.as_str()));
            }
            let shas: BTreeSet<String> = p
                .attachments()
                .map(|a| hex::encode(Sha256::digest(a.contents())))
                .collect();
            let want: BTreeSet<String> = e.attachments.iter().map(|a| a.sha256.clone()).collect();
            assert_eq!(shas, want, "#{}", e.idx);
            assert_eq!(
                p.header("Bcc").is_some(),
                d.sender_copy && !m.bcc.is_empty()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_lists_exactly_the_truths_live_copies_before_and_after_mutations() {
    let spec = WorldSpec::standard(100);
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    let mut w = World::generate(&spec);
    w.deliver(&fake);
    for round in 0..2 {
        let truth = w.truth();
        for m in &spec.mailboxes {
            let tok = token(&fake, m).await;
            let listed = list_ids(&fake, &tok, m, false).await;
            assert_eq!(listed, truth.live(m), "round {round}: {m}");
            assert_eq!(listed, w.live_ids(m));
            let all = list_ids(&fake, &tok, m, true).await;
            let existing: BTreeSet<String> = w
                .msgs
                .iter()
                .flat_map(|x| &x.deliveries)
                .filter(|d| &d.mailbox == m && !d.deleted)
                .filter_map(|d| d.gmail_id.clone())
                .collect();
            assert_eq!(all, existing, "round {round}: {m} with spam and trash");
        }
        w.mutate(&fake, 150);
    }
    println!("{:?}", w.mutations);
    for op in [
        "new message",
        "hard delete",
        "trash",
        "untrash",
        "spam to inbox",
        "inbox to spam",
        "late copy",
    ] {
        assert!(
            w.mutations.get(op).copied().unwrap_or(0) > 0,
            "{op} never happened: {:?}",
            w.mutations
        );
    }
}

async fn token(fake: &FakeGoogle, user: &str) -> String {
    let sa: Value = serde_json::from_str(&fake.service_account_json()).unwrap();
    let now = SystemClock.now().timestamp();
    let claims = json!({"iss": fake.client_email(), "sub": user,
        "scope": "https://www.googleapis.com/auth/gmail.readonly",
        "aud": fake.token_uri(), "iat": now, "exp": now + 3600});
    let key = EncodingKey::from_rsa_pem(sa["private_key"].as_str().unwrap().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(sa["private_key_id"].as_str().unwrap().to_string());
    let jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let resp: Value = reqwest::Client::new()
        .post(fake.token_uri())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["access_token"].as_str().unwrap().to_string()
}

/// Every id messages.list returns for `user`, all pages.
async fn list_ids(fake: &FakeGoogle, tok: &str, user: &str, spam_trash: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut page: Option<String> = None;
    loop {
        let mut q = vec![("maxResults", "500".to_string())];
        if spam_trash {
            q.push(("includeSpamTrash", "true".into()));
        }
        if let Some(p) = &page {
            q.push(("pageToken", p.clone()));
        }
        let v: Value = reqwest::Client::new()
            .get(format!(
                "{}/gmail/v1/users/{user}/messages",
                fake.api_base()
            ))
            .bearer_auth(tok)
            .query(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for m in v["messages"].as_array().into_iter().flatten() {
            assert!(
                out.insert(m["id"].as_str().unwrap().to_string()),
                "listed twice"
            );
        }
        match v["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => return out,
        }
    }
}

/// The tiny world of the hand-built database tests, delivered to a fake.
async fn tiny() -> (World, support::world::Truth) {
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

fn first_of(t: &support::world::Truth, kind: Kind) -> usize {
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

type Corruption = fn(&db::Built, &support::world::Truth);

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
        ("wrong message_id", format!("UPDATE emails SET message_id = message_id || 'x' WHERE id = {{{out}}}")),
        ("wrong message_id", format!("UPDATE emails SET message_id_synthesized = 0 WHERE id = {{{shared}}}")),
        ("wrong subject", format!("UPDATE emails SET subject = 'Re: ' || subject WHERE id = {{{out}}}")),
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

fn assert_named(t: &support::world::Truth, b: &db::Built, want: &str, what: &str) {
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
