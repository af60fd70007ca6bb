//! Investor-first backfill (issue 7): the same end state as the plain
//! backfill on the ground-truth world plus search-unfriendly mail (IDN
//! domains, plus-tags, display-name-only "matches", Cc-only investors);
//! investor mail arrives before the rest; status shows the phase; a
//! directory change searches only what is new.

mod support;

use std::time::Duration;

use email_sidecar::capture::SyncMode;
use email_sidecar::store::{DirectoryContact, RunStatus};
use rusqlite::Connection;
use support::app::{spawn_app, AppOptions, TestApp};
use support::snapshot::assert_matches_truth;
use support::world::{World, WorldSpec};

fn spec() -> WorldSpec {
    WorldSpec {
        attachment_cap_bytes: 1 << 20,
        seed: 0x1f1e57,
        ..WorldSpec::standard(300)
    }
}

async fn world_app(investor_first: bool) -> (World, TestApp) {
    let spec = spec();
    let mut world = World::generate(&spec);
    let app = spawn_app(AppOptions {
        mailboxes: spec.mailboxes.clone(),
        env: vec![(
            "CRM_GMAIL_INVESTOR_FIRST".into(),
            investor_first.to_string(),
        )],
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&world.directory()).unwrap();
    world.deliver(&app.fake);
    (world, app)
}

/// Everything the end state is made of, keyed by Message-ID (synthesized
/// ids included: they are deterministic), without our own row ids.
fn dump(app: &TestApp) -> Vec<String> {
    let c = Connection::open(app.db_path()).unwrap();
    let mut s = c
        .prepare(
            "SELECT e.message_id, e.is_matched, e.has_body, coalesce(e.body_text, ''), \
               e.direction, e.is_internal, e.is_bulk, e.is_excluded, \
               (SELECT group_concat(investor_id || '/' || coalesce(contact_id, '-') || '/' || strategy, ' ') \
                  FROM (SELECT * FROM email_investor_links l WHERE l.email_id = e.id ORDER BY investor_id)), \
               (SELECT group_concat(part_id || ':' || status || ':' || coalesce(sha256, '-'), ' ') \
                  FROM (SELECT * FROM email_attachments a WHERE a.email_id = e.id ORDER BY part_id)), \
               (SELECT group_concat(x.email || ':' || m.gmail_message_id || ':' || (m.deleted_at IS NULL), ' ') \
                  FROM (SELECT * FROM email_account_messages m2 WHERE m2.email_id = e.id \
                        ORDER BY m2.account_id, m2.gmail_message_id) m \
                  JOIN email_accounts x ON x.id = m.account_id) \
             FROM emails e ORDER BY e.message_id",
        )
        .unwrap();
    let rows = s
        .query_map([], |r| {
            let cols: Vec<String> = (0..11)
                .map(|i| {
                    r.get::<_, Option<rusqlite::types::Value>>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<Result<_, _>>()?;
            Ok(cols.join(" | "))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn unfriendly(app: &TestApp, world: &World) {
    // Search-unfriendly mail, delivered the same way to both runs.
    let dir = world.directory();
    let contact = &dir.contacts[0].email;
    let mail = |id: &str, from: &str, to: &str, cc: &str| {
        format!(
            "Message-ID: <{id}@unfriendly.example>\r\nFrom: {from}\r\nTo: {to}\r\nCc: {cc}\r\n\
             Subject: unfriendly {id}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nText {id}.\r\n"
        )
        .into_bytes()
    };
    let alice = "alice@fund.test";
    // The contact's address only as a display name: a search may list it,
    // the matcher must not link it.
    let spoof = format!("\"{contact}\" <noreply@gmail.com>");
    app.fake
        .deliver(alice, &mail("u1", &spoof, alice, ""), &["INBOX"]);
    // The investor only in Cc.
    app.fake.deliver(
        alice,
        &mail("u2", "pat@gmail.com", alice, contact),
        &["INBOX"],
    );
    // Upper case and a plus-tag the contact list does not have.
    let (local, domain) = contact.split_once('@').unwrap();
    let tagged = format!("{}+news@{}", local.to_uppercase(), domain);
    app.fake
        .deliver(alice, &mail("u3", &tagged, alice, ""), &["INBOX"]);
}

async fn settle(app: &TestApp) {
    for _ in 0..5 {
        let reports = app.capture.sync_all(SyncMode::Auto).await.unwrap();
        if reports.iter().all(|r| r.status == RunStatus::Ok) {
            return;
        }
    }
    panic!("did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_state_is_the_same_with_and_without_investor_first() {
    let (world_a, with) = world_app(true).await;
    let (world_b, without) = world_app(false).await;
    unfriendly(&with, &world_a);
    unfriendly(&without, &world_b);
    settle(&with).await;
    settle(&without).await;
    let statuses = with.store.mailbox_statuses().unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s.investor_listed > 0 && s.investor_pending == 0),
        "{statuses:?}"
    );
    assert!(without
        .store
        .mailbox_statuses()
        .unwrap()
        .iter()
        .all(|s| s.investor_listed == 0));
    let (a, b) = (dump(&with), dump(&without));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        // Gmail ids differ between the two fakes; everything else may not.
        let strip = |s: &str| s.rsplit_once(" | ").map(|(h, _)| h.to_string()).unwrap();
        assert_eq!(strip(x), strip(y));
    }
    let u: Vec<&String> = a.iter().filter(|r| r.contains("unfriendly")).collect();
    assert_eq!(u.len(), 3, "{u:?}");
    assert!(
        u[0].contains("u1@") && u[0].contains("| Some(Integer(0)) | Some(Integer(0)) |"),
        "display name only: unmatched: {}",
        u[0]
    );
    assert!(
        u[1].contains("u2@") && u[1].contains("exact"),
        "Cc-only investor: linked: {}",
        u[1]
    );
    assert_matches_truth_except_unfriendly(&world_a, &with);
}

/// The world's truth holds apart from the three extra messages, which the
/// truth does not know: compare on a database without them.
fn assert_matches_truth_except_unfriendly(world: &World, app: &TestApp) {
    let copy = app.dir.path().join("copy.db");
    let c = Connection::open(app.db_path()).unwrap();
    c.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    let d = Connection::open(&copy).unwrap();
    d.execute_batch(
        "PRAGMA foreign_keys = ON; DELETE FROM emails WHERE message_id LIKE '%@unfriendly.example';",
    )
    .unwrap();
    drop(d);
    assert_matches_truth(world, &copy, &app.data_dir(), "investor-first", false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investor_mail_is_all_stored_before_most_other_mail_and_status_shows_the_phase() {
    let spec = spec();
    let mut world = World::generate(&spec);
    let app = spawn_app(AppOptions {
        mailboxes: spec.mailboxes.clone(),
        fake_quota: Some(400),
        env: vec![("CRM_GMAIL_RATE_UNITS_SEC".into(), "400".into())],
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&world.directory()).unwrap();
    world.deliver(&app.fake);
    let capture = app.capture.clone();
    let carol = app.account_id("carol@fund.test");
    let run = tokio::spawn(async move { capture.sync_account(carol, SyncMode::Auto).await });
    let c = Connection::open(app.db_path()).unwrap();
    let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let mut phases = Vec::new();
    let mut unmatched_when_investor_done = None;
    while !run.is_finished() {
        let phase = app.store.mailbox_statuses().unwrap()[2].phase.clone();
        if phases.last() != Some(&phase) {
            phases.push(phase);
        }
        let pending = count("SELECT count(*) FROM email_fetch_queue WHERE kind = 'search'");
        let listed =
            count("SELECT investor_listed FROM email_accounts WHERE email = 'carol@fund.test'");
        if unmatched_when_investor_done.is_none() && listed > 0 && pending == 0 {
            unmatched_when_investor_done =
                Some(count("SELECT count(*) FROM emails WHERE is_matched = 0"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(run.await.unwrap().unwrap().status, RunStatus::Ok);
    phases.push(app.store.mailbox_statuses().unwrap()[2].phase.clone());
    let total_unmatched = count("SELECT count(*) FROM emails WHERE is_matched = 0");
    let early = unmatched_when_investor_done.expect("investor stage observed");
    assert!(
        early * 4 < total_unmatched,
        "investor mail first: {early} of {total_unmatched} unmatched already stored"
    );
    // Before the first sync a mailbox shows `backfill` (nothing searched yet).
    let seen: Vec<&str> = phases.iter().map(String::as_str).collect();
    let first_investor = seen
        .iter()
        .position(|p| *p == "investor-first")
        .expect("phase shown");
    let later_backfill = seen
        .iter()
        .skip(first_investor)
        .position(|p| *p == "backfill");
    assert!(later_backfill.is_some(), "{phases:?}");
    assert_eq!(seen.last(), Some(&"incremental"), "{phases:?}");
}

#[tokio::test]
async fn a_directory_change_searches_only_the_new_contact() {
    let (world, app) = world_app(true).await;
    settle(&app).await;
    let alice = app.account_id("alice@fund.test");
    let before = app.store.searched_items(alice).unwrap();
    let mut dir = world.directory();
    dir.contacts.push(DirectoryContact {
        id: "c-new".into(),
        investor_id: dir.investors[0].id.clone(),
        email: "newcomer@gmail.com".into(),
        name: "Newcomer".into(),
    });
    app.store.replace_directory(&dir).unwrap();
    app.fake.reset_counters();
    app.capture
        .sync_account(alice, SyncMode::Auto)
        .await
        .unwrap();
    let after = app.store.searched_items(alice).unwrap();
    let added: Vec<&String> = after.iter().filter(|i| !before.contains(i)).collect();
    assert_eq!(added, ["newcomer@gmail.com"]);
    let lists = app
        .fake
        .counters()
        .calls
        .get("users.messages.list")
        .copied()
        .unwrap_or(0);
    assert_eq!(lists, 1, "one search for the one new item");
}

/// A directory push that lands while a sync sits between loading the
/// directory and saving what it fetched (the list reply is held): the
/// push's own relink finds nothing yet, so the sync must relink at its end
/// or the mail it saved stays linked to the directory that was replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_saved_by_a_sync_that_raced_a_directory_push_is_linked_to_the_new_directory() {
    let app = spawn_app(AppOptions {
        mailboxes: vec!["alice@fund.test".into()],
        ..AppOptions::default()
    })
    .await;
    let raw = b"Message-ID: <race@acme.vc>\r\nFrom: Jo <jo@acme.vc>\r\n\
        To: alice@fund.test\r\nSubject: Terms\r\n\
        Date: Thu, 05 Nov 2026 08:00:00 +0000\r\n\r\nHello\r\n";
    app.fake.deliver("alice@fund.test", raw, &["INBOX"]);
    app.fake
        .hold_replies("users.messages.list", Duration::from_millis(1500));
    let alice = app.account_id("alice@fund.test");
    let capture = app.capture.clone();
    let sync = tokio::spawn(async move { capture.sync_account(alice, SyncMode::Auto).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.store
        .replace_directory(&support::app::acme_directory())
        .unwrap();
    let pushed = app.capture.rematch().await.unwrap();
    assert_eq!(pushed.changed, 0, "the push's relink ran before the save");
    sync.await.unwrap().unwrap();
    let db = Connection::open(app.db_path()).unwrap();
    let links: Vec<(String, Option<String>)> = db
        .prepare("SELECT investor_id, contact_id FROM email_investor_links")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(links, [("inv".to_string(), Some("c".to_string()))]);
    let proposals: i64 = db
        .query_row("SELECT count(*) FROM email_proposals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(proposals, 1, "and it is proposed");
}
