//! Capture engine scenarios against fake Google, each checking the stored
//! data: backfill, match-only bodies, dedup across mailboxes, incremental
//! adds/deletes/labels, netting, expired history and its loop guard,
//! deletes between list and get, and a refused grant.

mod support;

use email_sidecar::capture::SyncMode;
use email_sidecar::fake_google::FaultKind;
use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor, RunStatus, SyncKind};
use rusqlite::Connection;
use support::app::{spawn_app, AppOptions, TestApp};

const ALICE: &str = "alice@fund.test";
const BOB: &str = "bob@fund.test";

fn mail(id: &str, from: &str, to: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello about {subject}.\r\n"
    )
    .into_bytes()
}

fn with_attachment(id: &str, from: &str, to: &str, content: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(content);
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: deck\r\n\
         Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nSee the deck.\r\n--b\r\n\
         Content-Type: application/pdf; name=\"deck.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"deck.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn directory() -> Directory {
    Directory {
        investors: vec![DirectoryInvestor {
            id: "inv-acme".into(),
            name: "Acme Ventures".into(),
            domains: vec!["acme.vc".into()],
            graveyard: false,
        }],
        contacts: vec![DirectoryContact {
            id: "c-jo".into(),
            investor_id: "inv-acme".into(),
            email: "jo@acme.vc".into(),
            name: "Jo".into(),
        }],
        ..Directory::default()
    }
}

async fn app() -> TestApp {
    app_with(&[]).await
}

async fn app_with(env: &[(&str, &str)]) -> TestApp {
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into(), BOB.into()],
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory()).unwrap();
    app
}

fn db(app: &TestApp) -> Connection {
    Connection::open(app.db_path()).unwrap()
}

fn q(app: &TestApp, sql: &str) -> i64 {
    db(app).query_row(sql, [], |r| r.get(0)).unwrap()
}

fn strings(app: &TestApp, sql: &str) -> Vec<String> {
    let c = db(app);
    let mut s = c.prepare(sql).unwrap();
    let rows = s.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

async fn sync(app: &TestApp, who: &str, mode: SyncMode) -> email_sidecar::capture::SyncReport {
    app.capture
        .sync_account(app.account_id(who), mode)
        .await
        .unwrap()
}

#[tokio::test]
async fn backfill_stores_one_email_per_message_id_and_bodies_only_for_matched_mail() {
    let app = app().await;
    let shared = mail(
        "m1@acme.vc",
        "jo@acme.vc",
        "alice@fund.test, bob@fund.test",
        "Term sheet",
        "",
    );
    app.fake.deliver(ALICE, &shared, &["INBOX"]);
    app.fake.deliver(BOB, &shared, &["INBOX"]);
    app.fake.deliver(
        ALICE,
        &mail("m2@x.example", "pat@gmail.com", ALICE, "Lunch", ""),
        &["INBOX"],
    );
    app.fake.deliver(
        ALICE,
        &mail("m3@acme.vc", "sam@acme.vc", ALICE, "Spam", ""),
        &["SPAM"],
    );
    app.fake.deliver(
        ALICE,
        &mail("m4@acme.vc", "sam@acme.vc", ALICE, "Trash", ""),
        &["TRASH"],
    );
    let a = sync(&app, ALICE, SyncMode::Auto).await;
    let b = sync(&app, BOB, SyncMode::Auto).await;
    assert_eq!(
        (a.status, b.status),
        (RunStatus::Ok, RunStatus::Ok),
        "{a:?} {b:?}"
    );
    assert_eq!(a.kind, SyncKind::Backfill);
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails ORDER BY message_id"),
        ["m1@acme.vc", "m2@x.example"]
    );
    assert_eq!(q(&app, "SELECT count(*) FROM email_account_messages"), 3);
    assert_eq!(
        strings(&app, "SELECT e.message_id || ' ' || l.investor_id || ' ' || l.strategy || ' ' || coalesce(l.contact_id, '-') FROM email_investor_links l JOIN emails e ON e.id = l.email_id"),
        ["m1@acme.vc inv-acme exact c-jo"]
    );
    assert_eq!(
        strings(&app, "SELECT message_id || ':' || has_body || ':' || coalesce(body_text, 'NULL') FROM emails ORDER BY message_id"),
        ["m1@acme.vc:1:Hello about Term sheet.\r\n", "m2@x.example:0:NULL"]
    );
    assert_eq!(q(&app, "SELECT count(*) FROM email_fetch_queue"), 0);
    let acct = app.store.account(app.account_id(ALICE)).unwrap();
    assert!(acct.backfill_done);
    assert_eq!(acct.history_id, Some(app.fake.history_id(ALICE).0));
}

#[tokio::test]
async fn identical_attachments_of_two_matched_emails_are_stored_once_and_big_ones_are_not() {
    let app = app().await;
    let deck = b"%PDF-1.4 the same deck".repeat(10);
    app.fake.deliver(
        ALICE,
        &with_attachment("a1@acme.vc", "jo@acme.vc", ALICE, &deck),
        &["INBOX"],
    );
    app.fake.deliver(
        ALICE,
        &with_attachment("a2@acme.vc", "jo@acme.vc", ALICE, &deck),
        &["INBOX"],
    );
    let big = vec![b'x'; 1024 * 1024 + 10];
    app.fake.deliver(
        ALICE,
        &with_attachment("a3@acme.vc", "jo@acme.vc", ALICE, &big),
        &["INBOX"],
    );
    app.fake.deliver(
        ALICE,
        &with_attachment("a4@else.example", "pat@gmail.com", ALICE, &deck),
        &["INBOX"],
    );
    sync(&app, ALICE, SyncMode::Auto).await;
    let sha = sha256_hex(&deck);
    assert_eq!(
        strings(&app, "SELECT e.message_id || ' ' || a.filename || ' ' || a.status || ' ' || coalesce(a.sha256, '-') FROM email_attachments a JOIN emails e ON e.id = a.email_id ORDER BY e.message_id"),
        [
            format!("a1@acme.vc deck.pdf stored {sha}"),
            format!("a2@acme.vc deck.pdf stored {sha}"),
            "a3@acme.vc deck.pdf too_large -".to_string(),
        ]
    );
    assert_eq!(
        app.capture.attachments().list_hashes().unwrap(),
        vec![sha.clone()]
    );
    let on_disk = std::fs::read(app.capture.attachments().path_for(&sha).unwrap()).unwrap();
    assert_eq!(on_disk, deck);
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn incremental_sync_adds_soft_deletes_relabels_and_nets_out_add_then_delete() {
    let app = app().await;
    let keep = app.fake.deliver(
        ALICE,
        &mail("k@acme.vc", "jo@acme.vc", ALICE, "Keep", ""),
        &["INBOX"],
    );
    let gone = app.fake.deliver(
        ALICE,
        &mail("g@acme.vc", "jo@acme.vc", ALICE, "Gone", ""),
        &["INBOX"],
    );
    sync(&app, ALICE, SyncMode::Auto).await;
    app.fake.deliver(
        ALICE,
        &mail("n@acme.vc", "jo@acme.vc", ALICE, "New", ""),
        &["INBOX"],
    );
    let flash = app.fake.deliver(
        ALICE,
        &mail("f@acme.vc", "jo@acme.vc", ALICE, "Flash", ""),
        &["INBOX"],
    );
    app.fake.delete_message(ALICE, &flash);
    app.fake.delete_message(ALICE, &gone);
    app.fake.modify_labels(ALICE, &keep, &["TRASH"], &["INBOX"]);
    app.fake.reset_counters();
    let r = sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(
        (r.kind, r.status),
        (SyncKind::Incremental, RunStatus::Ok),
        "{r:?}"
    );
    let id = app.account_id(ALICE);
    let live = app.store.live_gmail_ids(id).unwrap();
    assert_eq!(live.len(), 1, "only the new message is live: {live:?}");
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails ORDER BY message_id"),
        ["g@acme.vc", "k@acme.vc", "n@acme.vc"],
        "deleted mail keeps its email row; the netted-out one never got one"
    );
    assert_eq!(
        q(
            &app,
            "SELECT count(*) FROM email_account_messages WHERE deleted_at IS NOT NULL"
        ),
        1
    );
    assert_eq!(q(&app, "SELECT is_trash FROM email_account_messages WHERE gmail_message_id = (SELECT s.gmail_message_id FROM email_account_messages s JOIN emails e ON e.id = s.email_id WHERE e.message_id = 'k@acme.vc')"), 1);
    let gets = app
        .fake
        .counters()
        .calls
        .get("users.messages.get")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        gets, 2,
        "one metadata and one full get for the new message; none for the netted one"
    );
    // Untrash: live again.
    app.fake.modify_labels(ALICE, &keep, &["INBOX"], &["TRASH"]);
    sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(app.store.live_gmail_ids(id).unwrap().len(), 2);
}

#[tokio::test]
async fn an_expired_cursor_reconciles_by_full_relist_and_the_loop_guard_stops_a_second_one() {
    let app = app().await;
    let a = app.fake.deliver(
        ALICE,
        &mail("a@acme.vc", "jo@acme.vc", ALICE, "A", ""),
        &["INBOX"],
    );
    let b = app.fake.deliver(
        ALICE,
        &mail("b@acme.vc", "jo@acme.vc", ALICE, "B", ""),
        &["INBOX"],
    );
    sync(&app, ALICE, SyncMode::Auto).await;
    app.fake.delete_message(ALICE, &a);
    // Archived while history is lost: the re-list's label listings tell.
    app.fake.modify_labels(ALICE, &b, &[], &["INBOX"]);
    app.fake.deliver(
        ALICE,
        &mail("c@acme.vc", "jo@acme.vc", ALICE, "C", ""),
        &["INBOX"],
    );
    app.fake.expire_history(ALICE);
    let r = sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(r.status, RunStatus::Ok, "{r:?}");
    let id = app.account_id(ALICE);
    assert_eq!(app.store.live_gmail_ids(id).unwrap().len(), 2);
    assert_eq!(q(&app, "SELECT count(*) FROM emails"), 3);
    assert_eq!(
        q(
            &app,
            "SELECT count(*) FROM email_account_messages WHERE deleted_at IS NOT NULL"
        ),
        1
    );
    let archived =
        format!("SELECT is_inbox FROM email_account_messages WHERE gmail_message_id = '{b}'");
    assert_eq!(q(&app, &archived), 0);
    app.fake.expire_history(ALICE);
    app.fake.deliver(
        ALICE,
        &mail("d@acme.vc", "jo@acme.vc", ALICE, "D", ""),
        &["INBOX"],
    );
    app.fake.expire_history(ALICE);
    app.fake.reset_counters();
    let again = sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(again.status, RunStatus::Failed);
    assert!(
        again
            .error
            .as_deref()
            .unwrap()
            .contains("history expired again"),
        "{again:?}"
    );
    let lists = app
        .fake
        .counters()
        .calls
        .get("users.messages.list")
        .copied()
        .unwrap_or(0);
    assert_eq!(lists, 0, "no second full re-list inside the guard");
    let acct = app.store.account(id).unwrap();
    assert!(acct.last_error.unwrap().contains("history expired again"));
    // An admin's explicit full sync is not held back by the guard.
    let full = sync(&app, ALICE, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Ok, "{full:?}");
    assert_eq!(app.store.live_gmail_ids(id).unwrap().len(), 3);
}

#[tokio::test]
async fn a_message_deleted_between_list_and_get_is_skipped_not_retried() {
    let app = app().await;
    app.fake.deliver(
        ALICE,
        &mail("x@acme.vc", "jo@acme.vc", ALICE, "X", ""),
        &["INBOX"],
    );
    sync(&app, ALICE, SyncMode::Auto).await;
    app.fake.deliver(
        ALICE,
        &mail("z@acme.vc", "jo@acme.vc", ALICE, "Z", ""),
        &["INBOX"],
    );
    // History names Z; its get answers 404, as for mail deleted meanwhile.
    app.fake
        .fail_next("users.messages.get", 1, FaultKind::NotFound);
    let r = sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!((r.status, r.counts.deleted), (RunStatus::Ok, 1), "{r:?}");
    assert_eq!(q(&app, "SELECT count(*) FROM email_fetch_queue"), 0);
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails"),
        ["x@acme.vc"]
    );
    app.fake.reset_counters();
    sync(&app, ALICE, SyncMode::Auto).await;
    let gets = app.fake.counters().calls.get("users.messages.get").copied();
    assert_eq!(gets, None, "a skipped message is not fetched again");
}

#[tokio::test]
async fn backfill_verifies_its_listing_and_fetches_what_a_spurious_404_skipped() {
    let app = app_with(&[("CRM_GMAIL_INVESTOR_FIRST", "false")]).await;
    for id in ["v1@acme.vc", "v2@acme.vc"] {
        app.fake
            .deliver(ALICE, &mail(id, "jo@acme.vc", ALICE, id, ""), &["INBOX"]);
    }
    // A 404 for a message that still exists: skipped by the fetch, found
    // again by the end-of-backfill listing, so nothing is missing.
    app.fake
        .fail_next("users.messages.get", 1, FaultKind::NotFound);
    let r = sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(r.status, RunStatus::Ok, "{r:?}");
    assert_eq!((r.counts.deleted, r.counts.errors), (1, 1), "{r:?}");
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails ORDER BY message_id"),
        ["v1@acme.vc", "v2@acme.vc"]
    );
    assert_eq!(q(&app, "SELECT count(*) FROM email_fetch_queue"), 0);
}

#[tokio::test]
async fn a_revoked_grant_puts_that_mailbox_in_error_and_the_other_carries_on() {
    let app = app().await;
    app.fake.deliver(
        ALICE,
        &mail("r1@acme.vc", "jo@acme.vc", ALICE, "R1", ""),
        &["INBOX"],
    );
    app.fake.deliver(
        BOB,
        &mail("r2@acme.vc", "jo@acme.vc", BOB, "R2", ""),
        &["INBOX"],
    );
    app.fake.revoke_user(ALICE);
    let reports = app.capture.sync_all(SyncMode::Auto).await.unwrap();
    let alice = reports.iter().find(|r| r.email == ALICE).unwrap();
    let bob = reports.iter().find(|r| r.email == BOB).unwrap();
    assert_eq!(alice.status, RunStatus::Failed);
    assert_eq!(bob.status, RunStatus::Ok);
    let acct = app.store.account(app.account_id(ALICE)).unwrap();
    assert_eq!(acct.status.as_str(), "error");
    assert!(acct.last_error.unwrap().contains(ALICE));
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails"),
        ["r2@acme.vc"]
    );
}

#[tokio::test]
async fn a_directory_change_relinks_past_mail_and_fetches_its_body() {
    let app = app().await;
    app.fake.deliver(
        ALICE,
        &mail("p@newco.example", "max@newco.example", ALICE, "Intro", ""),
        &["INBOX"],
    );
    sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(q(&app, "SELECT has_body FROM emails"), 0);
    let mut dir = directory();
    dir.contacts.push(DirectoryContact {
        id: "c-max".into(),
        investor_id: "inv-acme".into(),
        email: "max@newco.example".into(),
        name: "Max".into(),
    });
    app.store.replace_directory(&dir).unwrap();
    let report = app.capture.rematch().await.unwrap();
    assert_eq!((report.changed, report.full_queued), (1, 1));
    sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(
        strings(&app, "SELECT l.strategy || ' ' || l.contact_id || ' ' || e.has_body FROM email_investor_links l JOIN emails e ON e.id = l.email_id"),
        ["exact c-max 1"]
    );
}

#[tokio::test]
async fn backfill_days_limits_the_backfill_and_a_full_resync_keeps_older_mail() {
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        env: vec![("CRM_GMAIL_BACKFILL_DAYS".into(), "30".into())],
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory()).unwrap();
    let now = app.clock.now();
    let dated = |id: &str, days_ago: i64| {
        let when = now - chrono::Duration::days(days_ago);
        String::from_utf8(mail(id, "jo@acme.vc", ALICE, id, ""))
            .unwrap()
            .replace("Tue, 03 Nov 2026 10:00:00 +0000", &when.to_rfc2822())
            .into_bytes()
    };
    app.fake
        .deliver(ALICE, &dated("new@acme.vc", 3), &["INBOX"]);
    app.fake
        .deliver(ALICE, &dated("old@acme.vc", 400), &["INBOX"]);
    sync(&app, ALICE, SyncMode::Auto).await;
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails"),
        ["new@acme.vc"]
    );
    // An old-dated message arriving now comes through history all the same,
    // and a full re-list (which only lists the window) must not drop it.
    app.fake
        .deliver(ALICE, &dated("late@acme.vc", 90), &["INBOX"]);
    sync(&app, ALICE, SyncMode::Auto).await;
    let full = sync(&app, ALICE, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Ok, "{full:?}");
    assert_eq!(
        strings(&app, "SELECT message_id FROM emails ORDER BY message_id"),
        ["late@acme.vc", "new@acme.vc"]
    );
    assert_eq!(
        app.store
            .live_gmail_ids(app.account_id(ALICE))
            .unwrap()
            .len(),
        2
    );
}
