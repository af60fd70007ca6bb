//! The store: migrations (empty → latest, re-open no-op, V1 → latest with
//! data), connection settings, encrypted tokens at rest, and the typed API
//! the foundation needs (accounts, settings, audit, directory). V11's
//! Content-IDs: see `store/content_id.rs`.

#[path = "store/content_id.rs"]
mod content_id;

use std::path::{Path, PathBuf};

use email_sidecar::config::AuthMethod;
use email_sidecar::crypto::TokenCipher;
use email_sidecar::secret::Secret;
use email_sidecar::store::{
    AccountStatus, Directory, DirectoryContact, DirectoryInvestor, DirectoryUser, Store,
    StoreError, UserRole,
};

const ALL_TABLES: &[&str] = &[
    "activity_feed",
    "app_settings",
    "audit_log",
    "digest_runs",
    "directory_contacts",
    "directory_exclusions",
    "directory_investor_domains",
    "directory_investors",
    "directory_users",
    "email_account_messages",
    "email_accounts",
    "email_attachments",
    "email_drafts",
    "email_fetch_queue",
    "email_investor_links",
    "email_participants",
    "email_proposals",
    "email_references",
    "email_sync_runs",
    // V6: the trigram index over matched email's text (FTS5 and its shadow
    // tables); V9: its keys in page order.
    "email_text",
    "email_text_config",
    "email_text_data",
    "email_text_docsize",
    "email_text_idx",
    "email_text_keys",
    "email_threads",
    "emails",
    "oauth_states",
];

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("email-sidecar.db")
}

fn versions(store: &Store) -> Vec<u32> {
    store
        .applied_migrations()
        .unwrap()
        .iter()
        .map(|m| m.version)
        .collect()
}

#[test]
fn migrating_an_empty_database_creates_every_table_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let tables = store.table_names().unwrap();
    assert_eq!(tables, ALL_TABLES);
    assert_eq!(versions(&store), (1..=11).collect::<Vec<u32>>());
    assert_eq!(email_sidecar::store::latest_version(), 11);
    let indexes = store.index_names().unwrap();
    for wanted in [
        "emails_matched_by_date",
        "email_links_by_investor",
        "email_sightings_by_account",
        "email_proposals_by_status",
        "digest_runs_one_scheduled_per_day",
    ] {
        assert!(
            indexes.iter().any(|i| i == wanted),
            "missing index {wanted}"
        );
    }
    assert_eq!(store.integrity_check().unwrap(), vec!["ok"]);
}

#[test]
fn reopening_is_a_no_op_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let store = Store::open(&path).unwrap();
    store
        .enroll_account("alice@fund.test", AuthMethod::Dwd, None)
        .unwrap();
    let before = store.applied_migrations().unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.applied_migrations().unwrap(), before);
    let emails: Vec<String> = store
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.email)
        .collect();
    assert_eq!(emails, vec!["alice@fund.test"]);
}

#[test]
fn a_version_1_database_upgrades_to_the_latest_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    assert_eq!(Store::migrate_to(&path, 1).unwrap(), vec![1]);
    {
        // Data written by a V1-era daemon, straight through SQLite.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO email_accounts (email, auth_method, history_id, created_at, updated_at) \
             VALUES ('old@fund.test', 'dwd', '12345', 1, 1)",
            [],
        )
        .unwrap();
        let has_audit: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'audit_log'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_audit, 0, "V1 must not have V2's tables");
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(versions(&store), (1..=11).collect::<Vec<u32>>());
    assert_eq!(store.table_names().unwrap(), ALL_TABLES);
    let old = store.account_by_email("OLD@fund.test").unwrap().unwrap();
    assert_eq!(old.history_id, Some(12345));
    store
        .append_audit("cli", "test.upgrade", None, &serde_json::json!({}))
        .unwrap();
    assert_eq!(store.recent_audit(10).unwrap().len(), 1);
}

#[test]
fn wal_foreign_keys_synchronous_normal_and_busy_timeout_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let p = store.pragmas().unwrap();
    assert_eq!(p.journal_mode, "wal");
    assert!(p.foreign_keys);
    assert_eq!(p.synchronous, 1);
    assert_eq!(p.busy_timeout_ms, 5000);
    let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(store.path()).unwrap());
    assert_eq!(mode & 0o077, 0, "the database file must be owner-only");
}

fn read_all(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_stored_refresh_token_never_reaches_the_disk_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let token = "1//0gPLAINTEXT-refresh-token-do-not-store-me";
    let cipher = TokenCipher::from_base64(TokenCipher::generate_key_base64().expose()).unwrap();
    let store = Store::open(&path).unwrap();
    let account = store
        .enroll_account("carol@fund.test", AuthMethod::OAuth, None)
        .unwrap()
        .account;
    let blob = cipher
        .encrypt_token("carol@fund.test", &Secret::new(token.to_string()))
        .unwrap();
    store.set_refresh_token(account.id, &blob).unwrap();

    // While open: the write sits in the WAL. The ciphertext must be found
    // (so the scan is real) and the plaintext must not.
    let open_bytes = [read_all(&path), read_all(&wal)].concat();
    assert!(
        contains(&open_bytes, &blob),
        "ciphertext not found: scan is blind"
    );
    assert!(!contains(&open_bytes, token.as_bytes()));
    drop(store);

    let closed_bytes = [read_all(&path), read_all(&wal)].concat();
    assert!(contains(&closed_bytes, &blob));
    assert!(!contains(&closed_bytes, token.as_bytes()));

    let store = Store::open(&path).unwrap();
    let stored = store.refresh_token(account.id).unwrap().unwrap();
    assert!(store.account(account.id).unwrap().has_refresh_token);
    let back = cipher.decrypt_token("carol@fund.test", &stored).unwrap();
    assert_eq!(back.expose(), token);
    let other = TokenCipher::from_base64(TokenCipher::generate_key_base64().expose()).unwrap();
    let err = other.decrypt_token("carol@fund.test", &stored).unwrap_err();
    assert!(err.to_string().contains("wrong key"), "{err}");
    assert!(cipher.decrypt_token("dave@fund.test", &stored).is_err());
}

#[test]
fn enrolling_is_idempotent_and_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let first = store
        .enroll_account(" Alice@Fund.TEST ", AuthMethod::Dwd, Some("u1"))
        .unwrap();
    assert!(first.created);
    assert_eq!(first.account.email, "alice@fund.test");
    assert_eq!(first.account.status, AccountStatus::Active);
    assert_eq!(first.account.crm_user_id.as_deref(), Some("u1"));
    let again = store
        .enroll_account("alice@fund.test", AuthMethod::Dwd, None)
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.account, first.account);
    assert_eq!(store.list_accounts().unwrap().len(), 1);
    let err = store
        .enroll_account("not-an-address", AuthMethod::Dwd, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

#[test]
fn the_history_cursor_keeps_every_u64_including_above_i64_max() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let id = store
        .enroll_account("a@fund.test", AuthMethod::Dwd, None)
        .unwrap()
        .account
        .id;
    assert_eq!(store.account(id).unwrap().history_id, None);
    for value in [0, 9_999, i64::MAX as u64 + 7, u64::MAX] {
        store.set_history_cursor(id, value).unwrap();
        let account = store.account(id).unwrap();
        assert_eq!(account.history_id, Some(value));
        assert!(account.history_id_at.is_some());
    }
    assert!(store.set_history_cursor(999, 1).unwrap_err().is_not_found());
}

#[test]
fn a_status_change_records_the_error_and_resuming_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let id = store
        .enroll_account("b@fund.test", AuthMethod::Dwd, None)
        .unwrap()
        .account
        .id;
    let a = store
        .set_account_status(id, AccountStatus::Error, Some("unauthorized_client"))
        .unwrap();
    assert_eq!(a.status, AccountStatus::Error);
    assert_eq!(a.last_error.as_deref(), Some("unauthorized_client"));
    assert!(a.last_error_at.is_some());
    let a = store
        .set_account_status(id, AccountStatus::Active, None)
        .unwrap();
    assert_eq!((a.status, a.last_error), (AccountStatus::Active, None));
}

#[test]
fn settings_round_trip_and_seeding_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let policy = serde_json::json!({"enabled": true, "send_hour": 7});
    assert_eq!(store.setting_json("digest_policy").unwrap(), None);
    assert!(store.seed_setting("digest_policy", &policy).unwrap());
    let later = serde_json::json!({"enabled": false, "send_hour": 18});
    assert!(!store.seed_setting("digest_policy", &later).unwrap());
    assert_eq!(store.setting_json("digest_policy").unwrap(), Some(policy));
    store
        .set_setting("digest_policy", &later, Some("admin@fund.test"))
        .unwrap();
    let got: Option<serde_json::Value> = store.setting("digest_policy").unwrap();
    assert_eq!(got, Some(later));
}

#[test]
fn the_audit_log_appends_and_reads_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    for action in ["account.enroll", "directory.replace", "proposal.decide"] {
        store
            .append_audit(
                "admin@fund.test",
                action,
                Some("7"),
                &serde_json::json!({"n": 1}),
            )
            .unwrap();
    }
    let rows = store.recent_audit(2).unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["proposal.decide", "directory.replace"]);
    assert_eq!(rows[0].details, serde_json::json!({"n": 1}));
    assert_eq!(rows[0].target.as_deref(), Some("7"));
}

fn directory() -> Directory {
    Directory {
        users: vec![
            DirectoryUser {
                id: "u1".into(),
                email: "Alice@Fund.test".into(),
                name: "Alice".into(),
                role: UserRole::Admin,
                active: true,
            },
            DirectoryUser {
                id: "u2".into(),
                email: "bot@fund.test".into(),
                name: "Bot".into(),
                role: UserRole::Bot,
                active: false,
            },
        ],
        investors: vec![DirectoryInvestor {
            id: "i1".into(),
            name: "Acme".into(),
            domains: vec!["ACME.com".into(), "acme.com".into(), "@bücher.de".into()],
            graveyard: true,
        }],
        contacts: vec![DirectoryContact {
            id: "c1".into(),
            investor_id: "i1".into(),
            email: "Jane.Doe+deals@Acme.com".into(),
            name: "Jane".into(),
        }],
        exclusions: vec!["Bank.example".into(), "Someone@acme.com".into()],
    }
}

#[test]
fn the_directory_is_replaced_whole_and_normalized() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let counts = store.replace_directory(&directory()).unwrap();
    assert_eq!(
        (
            counts.users,
            counts.investors,
            counts.contacts,
            counts.domains,
            counts.exclusions
        ),
        (2, 1, 1, 2, 2)
    );
    let stored = store.directory().unwrap();
    assert_eq!(stored.users[0].email, "alice@fund.test");
    assert_eq!(
        stored.investors[0].domains,
        vec!["acme.com", "xn--bcher-kva.de"]
    );
    assert!(stored.investors[0].graveyard);
    assert_eq!(stored.contacts[0].email, "jane.doe+deals@acme.com");
    assert_eq!(stored.exclusions, vec!["bank.example", "someone@acme.com"]);
    let bot = store
        .directory_user_by_email("BOT@fund.test")
        .unwrap()
        .unwrap();
    assert_eq!((bot.role, bot.active), (UserRole::Bot, false));

    let smaller = Directory {
        users: vec![directory().users[0].clone()],
        ..Directory::default()
    };
    store.replace_directory(&smaller).unwrap();
    let stored = store.directory().unwrap();
    assert_eq!(stored.users.len(), 1);
    assert!(
        stored.investors.is_empty() && stored.contacts.is_empty() && stored.exclusions.is_empty()
    );
    assert_eq!(store.list_directory_users().unwrap()[0].id, "u1");
}

#[test]
fn a_bad_directory_is_refused_and_the_old_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    store.replace_directory(&directory()).unwrap();
    let mut bad = directory();
    bad.contacts[0].investor_id = "i404".into();
    let err = store.replace_directory(&bad).unwrap_err();
    assert!(err.to_string().contains("unknown investor_id"), "{err}");
    let mut dup = directory();
    dup.users[1].email = "ALICE@fund.test".into();
    let err = store.replace_directory(&dup).unwrap_err();
    assert!(err.to_string().contains("duplicate email"), "{err}");
    assert_eq!(store.directory().unwrap().users.len(), 2);
    let parsed: Directory = serde_json::from_str(
        r#"{"users":[{"id":"u9","email":"x@fund.test","role":"member"}],"investors":[],"contacts":[],"exclusions":[]}"#,
    )
    .unwrap();
    assert!(parsed.users[0].active, "active defaults to true");
}

#[test]
fn only_busy_and_locked_errors_are_retryable() {
    let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
    let locked = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(6), None);
    let constraint = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(19), None);
    assert!(StoreError::from(busy).is_retryable());
    assert!(StoreError::from(locked).is_retryable());
    let constraint = StoreError::from(constraint);
    assert!(!constraint.is_retryable());
    assert!(constraint.is_constraint());
}

#[tokio::test]
async fn async_callers_run_store_work_off_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(move |s| {
                        s.enroll_account(&format!("u{i}@fund.test"), AuthMethod::Dwd, None)
                    })
                    .await
            })
        })
        .collect();
    for h in handles {
        assert!(h.await.unwrap().unwrap().created);
    }
    store.run(|s| s.ping()).await.unwrap();
    assert_eq!(store.list_accounts().unwrap().len(), 8);
}

/// A worker holds an item's id while another path may remove the item;
/// the id must never come to name a newer item (another mailbox's, say).
#[test]
fn a_queue_item_removed_elsewhere_is_never_confused_with_a_newer_one() {
    use email_sidecar::store::FetchKind;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(db_in(&dir)).unwrap();
    let a = store
        .enroll_account("a@fund.test", AuthMethod::Dwd, None)
        .unwrap()
        .account
        .id;
    let b = store
        .enroll_account("b@fund.test", AuthMethod::Dwd, None)
        .unwrap()
        .account
        .id;
    store.record_backfill_page(a, &["m1".into()], None).unwrap();
    let held = store
        .due_fetches(a, FetchKind::Metadata, 10)
        .unwrap()
        .remove(0);
    // Another path (a 404, spam) removes it; then a new item arrives.
    store.skip_fetched(a, "m1", None).unwrap();
    store.record_backfill_page(b, &["n1".into()], None).unwrap();
    let newer = store.due_fetches(b, FetchKind::Metadata, 10).unwrap();
    assert_ne!(newer[0].id, held.id, "ids are not reused");
    store.drop_fetch(&held).unwrap();
    store.fail_fetch(&held, "late").unwrap();
    store.defer_fetch(&held, "late", 1000, 5).unwrap();
    let still = store.due_fetches(b, FetchKind::Metadata, 10).unwrap();
    assert_eq!(still, newer, "the newer item is untouched");
}

#[test]
fn a_version_9_database_gets_its_snippets_and_undecided_notes_back_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    assert_eq!(Store::migrate_to(&path, 9).unwrap().last(), Some(&9));
    let escaped = "I&#39;m in &lt;Q3&gt; &amp;amp; &quot;more&quot;";
    {
        // As a V9 daemon stored Gmail's snippet: escaped.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO email_accounts (id, email, auth_method, created_at, updated_at) \
               VALUES (1, 'a@fund.test', 'dwd', 0, 0); \
             INSERT INTO emails (id, message_id, subject, date_ms, snippet, direction, \
               is_matched, created_at, updated_at) \
               VALUES (1, 'm1@x', 'Hello', 5, '{escaped}', 'inbound', 1, 0, 0), \
                      (2, 'm2@x', 'Other', 6, 'Tom &amp; Jerry', 'inbound', 0, 0, 0); \
             INSERT INTO email_account_messages (account_id, email_id, gmail_message_id, \
               gmail_thread_id, first_seen_at, updated_at) VALUES (1, 1, 'g1', 't', 0, 0); \
             INSERT INTO email_investor_links (email_id, investor_id, strategy, \
               matched_address, created_at) VALUES (1, 'inv', 'domain', 'x@y', 0); \
             INSERT INTO email_proposals (id, email_id, investor_id, direction, occurred_at, \
               note, status, decided_by, decided_at, created_at, updated_at) VALUES \
               (1, 1, 'inv', 'inbound', 5, 'Hello: {escaped}', 'pending', NULL, NULL, 0, 0), \
               (2, 1, 'inv2', 'inbound', 5, 'Hello: {escaped}', 'approved', 'admin', 9, 0, 0); \
             INSERT INTO email_proposals (id, email_id, investor_id, direction, occurred_at, \
               note, note_source, created_at, updated_at) VALUES \
               (3, 1, 'inv3', 'inbound', 5, 'Model: {escaped}', 'llm', 0, 0);"
        ))
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let text = "I'm in <Q3> &amp; \"more\"";
    let conn = rusqlite::Connection::open(&path).unwrap();
    let column = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(
        column("SELECT snippet FROM emails ORDER BY id"),
        vec![text.to_string(), "Tom & Jerry".into()]
    );
    assert_eq!(
        column("SELECT note FROM email_proposals ORDER BY id"),
        vec![
            format!("Hello: {text}"),
            format!("Hello: {escaped}"),
            format!("Model: {escaped}")
        ]
    );
    // The decoded text is what search finds now (re-indexed by V9's trigger).
    for (q, hits) in [("I'm in <Q3>", 1), ("&#39;", 0), ("&amp;", 1)] {
        let page = store
            .activity(
                &email_sidecar::store::activity::ActivityFilter {
                    q: Some(q.into()),
                    ..Default::default()
                },
                None,
                10,
            )
            .unwrap();
        assert_eq!(page.items.len(), hits, "{q}");
    }
}
