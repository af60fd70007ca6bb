//! SIGTERM during a backfill: the real `serve` against fake Google (in this
//! process, 250 units/s, several thousand messages so the backfill takes
//! far longer than the test waits) is sent SIGTERM once it has stored mail
//! and attachments. It must exit 0 within 10 s; the database must then be
//! consistent on its own (no restart yet), and a restart (`sync`) must
//! finish the backfill to exactly the ground truth.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::support::app::env_for;
use crate::support::snapshot::assert_matches_truth;
use crate::support::world::{World, WorldSpec};
use crate::{output, sidecar, write_secret};

fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// (live sightings, stored attachments, mailboxes with backfill done), or
/// zeros before the daemon has created the schema.
fn progress(db: &Path) -> (i64, i64, i64) {
    if !db.exists() {
        return (0, 0, 0);
    }
    let c = read_only(db);
    let q = |sql| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    (
        q("SELECT count(*) FROM email_account_messages"),
        q("SELECT count(*) FROM email_attachments WHERE status = 'stored'"),
        q("SELECT count(*) FROM email_accounts WHERE backfill_state = 'done'"),
    )
}

/// Every problem with the database and attachment store as a stopped
/// daemon left them.
fn inconsistencies(db: &Path, data: &Path) -> Vec<String> {
    let c = read_only(db);
    let mut problems = Vec::new();
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    if integrity != "ok" {
        problems.push(format!("integrity_check: {integrity}"));
    }
    let checks = [
        (
            "emails without a sighting",
            "SELECT count(*) FROM emails e WHERE NOT EXISTS \
             (SELECT 1 FROM email_account_messages s WHERE s.email_id = e.id)",
        ),
        (
            // (A `search` item stays until the email's body is stored, in
            // a later transaction by design: a stop in between refetches.)
            "queued metadata fetches of messages already stored",
            "SELECT count(*) FROM email_fetch_queue q JOIN email_account_messages s \
             ON s.account_id = q.account_id AND s.gmail_message_id = q.gmail_message_id \
             WHERE q.kind = 'metadata'",
        ),
        (
            "attachment rows of emails that are gone",
            "SELECT count(*) FROM email_attachments a WHERE NOT EXISTS \
             (SELECT 1 FROM emails e WHERE e.id = a.email_id)",
        ),
    ];
    for (what, sql) in checks {
        let n = count(&c, sql);
        if n != 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    let store = data.join("email_attachments");
    let mut stmt = c
        .prepare("SELECT DISTINCT sha256 FROM email_attachments WHERE status = 'stored'")
        .unwrap();
    let hashes: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for h in hashes {
        let file = store.join(&h[..2]).join(&h);
        match std::fs::read(&file) {
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == h => {}
            Ok(_) => problems.push(format!("{} does not hash to its name", file.display())),
            Err(e) => problems.push(format!("stored attachment {h} missing: {e}")),
        }
    }
    let temps: Vec<_> = std::fs::read_dir(store.join("tmp"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    if !temps.is_empty() {
        problems.push(format!("stray temp files: {temps:?}"));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backfill_exits_0_within_10s_consistent_and_a_restart_reaches_the_truth() {
    crate::support::app::init_logs();
    let spec = WorldSpec {
        attachment_cap_bytes: 1 << 20,
        seed: 0x51_6e_7e,
        ..WorldSpec::standard(1200)
    };
    let mut world = World::generate(&spec);
    let fake = FakeGoogle::start(FakeOptions {
        quota_units_per_sec: Some(250),
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    world.deliver(&fake);
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "api-token", "tok", 0o600);
    let mut env: Vec<(String, String)> = env_for(&fake, dir.path())
        .into_iter()
        .filter(|(k, _)| k != "CRM_GMAIL_RATE_UNITS_SEC")
        .collect();
    env.extend(
        [
            ("CRM_GMAIL_RATE_UNITS_SEC", "250".to_string()),
            ("CRM_GMAIL_INTEGRATION_ENABLED", "true".into()),
            ("CRM_GMAIL_API_TOKEN_PATH", token.display().to_string()),
            ("CRM_GMAIL_LISTEN", "127.0.0.1:0".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let (data, db) = (
        dir.path().join("data"),
        dir.path().join("data/email-sidecar.db"),
    );
    let mut enroll = sidecar(dir.path(), &env);
    enroll.arg("enroll").args(&spec.mailboxes);
    assert_eq!(output(enroll).await.0, 0);
    let dir_file = dir.path().join("directory.json");
    std::fs::write(
        &dir_file,
        serde_json::to_string(&world.directory()).unwrap(),
    )
    .unwrap();
    let mut load = sidecar(dir.path(), &env);
    load.args(["directory", "load"]).arg(&dir_file);
    assert_eq!(output(load).await.0, 0);

    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut serve = sidecar(dir.path(), &env);
    serve
        .env("RUST_LOG", "info")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = serve.spawn().unwrap();
    let started = Instant::now();
    let at_kill = loop {
        let p = progress(&db);
        if p.0 >= 300 && p.1 >= 1 {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress: {p:?}"
        );
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        at_kill.2, 0,
        "the backfill must still be running: {at_kill:?}"
    );
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            panic!("serve did not exit within 15 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = sent.elapsed();
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    assert!(log.contains("shutting down"), "{log}");
    let problems = inconsistencies(&db, &data);
    assert!(problems.is_empty(), "after SIGTERM: {problems:#?}");
    let after = progress(&db);
    assert!(
        after.2 < 3,
        "stopped before the backfill finished: {after:?}"
    );
    eprintln!("SIGTERM at {at_kill:?}; exit 0 after {took:?}; left {after:?}");

    let mut sync = sidecar(dir.path(), &env);
    sync.arg("sync");
    let (code, out) = output(sync).await;
    assert_eq!(code, 0, "{out}");
    assert_matches_truth(&world, &db, &data, "after SIGTERM and a restart", false);
    assert!(inconsistencies(&db, &data).is_empty());
}
