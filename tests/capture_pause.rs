//! Stopping a sync part-way: a mailbox paused mid-backfill stops at the
//! sync's next checkpoint (a fetch round, a page) instead of backfilling on
//! for minutes, and a stopping engine (shutdown) does the same; in both
//! cases what was saved stands and a later sync reaches exactly the whole
//! mailbox. Fake Google's quota is on so a backfill takes seconds.

mod support;

use std::time::Duration;

use email_sidecar::capture::{Capture, SyncMode, SyncReport};
use email_sidecar::clock;
use email_sidecar::store::{AccountStatus, RunStatus};
use support::app::{spawn_app, AppOptions, TestApp};

const ALICE: &str = "alice@fund.test";
/// At 500 units/s a metadata get (5 units) is 100 messages/s: a 1,200
/// message backfill takes about 12 s, a fetch round of 250 about 2.5 s.
const MESSAGES: usize = 1_200;

async fn slow_mailbox() -> TestApp {
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        fake_quota: Some(500),
        env: vec![("CRM_GMAIL_RATE_UNITS_SEC".into(), "500".into())],
        ..AppOptions::default()
    })
    .await;
    for n in 0..MESSAGES {
        let raw = format!(
            "From: someone{n}@elsewhere.test\r\nTo: {ALICE}\r\nSubject: note {n}\r\n\
             Message-ID: <p{n}@elsewhere.test>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nbody {n}\r\n"
        );
        app.fake.deliver(ALICE, raw.as_bytes(), &["INBOX"]);
    }
    app
}

fn count(app: &TestApp, sql: &str) -> i64 {
    rusqlite::Connection::open(app.db_path())
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Starts a sync of Alice on `capture` and returns once it has saved mail.
async fn sync_under_way(app: &TestApp, capture: &Capture) -> tokio::task::JoinHandle<SyncReport> {
    let (capture, id) = (capture.clone(), app.account_id(ALICE));
    let sync = tokio::spawn(async move {
        capture
            .sync_account(id, SyncMode::Auto)
            .await
            .expect("a stopped sync is a report, not an error")
    });
    for _ in 0..1_500 {
        if count(app, "SELECT count(*) FROM emails") > 0 {
            return sync;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the backfill saved nothing in 30 s");
}

/// Mailboxes without a recorded successful sync.
fn never_succeeded(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM email_accounts WHERE last_success_at IS NULL",
    )
}

/// Every message once, with its sighting, and nothing left to fetch.
fn assert_whole_mailbox(app: &TestApp) {
    let n = MESSAGES as i64;
    assert_eq!(count(app, "SELECT count(*) FROM emails"), n);
    assert_eq!(
        count(app, "SELECT count(DISTINCT message_id) FROM emails"),
        n
    );
    assert_eq!(
        count(
            app,
            "SELECT count(*) FROM email_account_messages WHERE deleted_at IS NULL"
        ),
        n
    );
    assert_eq!(count(app, "SELECT count(*) FROM email_fetch_queue"), 0);
}

/// The run was stopped part-way, not failed: partial, with the reason.
fn assert_stopped(report: &SyncReport, reason: &str) -> i64 {
    assert_eq!(report.status, RunStatus::Partial, "{report:?}");
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains(reason), "{error}");
    report.counts.added as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_mailbox_mid_backfill_stops_its_sync_and_resuming_finishes_it_exactly() {
    let app = slow_mailbox().await;
    let id = app.account_id(ALICE);
    let sync = sync_under_way(&app, &app.capture).await;
    // Paused as the API pauses: the mailbox's last error stays visible.
    app.store
        .set_account_status(id, AccountStatus::Paused, Some("an earlier error"))
        .unwrap();
    let report = sync.await.unwrap();
    let saved = assert_stopped(&report, "the mailbox is now paused");
    let stored = count(&app, "SELECT count(*) FROM emails");
    assert_eq!(stored, saved, "the report counts what is in the database");
    assert!(
        stored < MESSAGES as i64,
        "the sync went on to the end ({stored}) after the pause"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM email_sync_runs WHERE status = 'partial' AND error LIKE '%paused%'"),
        1
    );
    let account = app.store.account(id).unwrap();
    assert_eq!(
        account.status,
        AccountStatus::Paused,
        "a pause is not an error"
    );
    assert!(!account.backfill_done);
    // Nor a success: the stopped run leaves the mailbox's record alone.
    assert_eq!(account.last_error.as_deref(), Some("an earlier error"));
    assert_eq!(never_succeeded(&app), 1);

    // While paused, a sync does nothing at all.
    let skipped = app.capture.sync_account(id, SyncMode::Auto).await.unwrap();
    assert!(skipped.skipped, "{skipped:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM emails"), stored);

    app.store
        .set_account_status(id, AccountStatus::Active, None)
        .unwrap();
    let done = app.capture.sync_account(id, SyncMode::Auto).await.unwrap();
    assert_eq!(done.status, RunStatus::Ok, "{done:?}");
    assert_eq!(done.counts.added as i64, MESSAGES as i64 - stored);
    assert!(app.store.account(id).unwrap().backfill_done);
    assert_whole_mailbox(&app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_engine_ends_its_syncs_at_the_next_checkpoint_and_a_restart_carries_on() {
    let app = slow_mailbox().await;
    let id = app.account_id(ALICE);
    let sync = sync_under_way(&app, &app.capture).await;
    app.capture.stop_syncs();
    let report = sync.await.unwrap();
    assert_stopped(&report, "the daemon is shutting down");
    assert_eq!(never_succeeded(&app), 1);
    let stored = count(&app, "SELECT count(*) FROM emails");
    assert!(stored < MESSAGES as i64, "{stored}");
    assert_eq!(app.store.account(id).unwrap().status, AccountStatus::Active);

    // The next process's engine: same store, a fresh capture.
    let restarted = Capture::from_config(&app.config, app.store.clone(), clock::system()).unwrap();
    let done = restarted.sync_account(id, SyncMode::Auto).await.unwrap();
    assert_eq!(done.status, RunStatus::Ok, "{done:?}");
    assert_whole_mailbox(&app);
}
