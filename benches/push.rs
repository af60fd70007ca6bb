//! Push latency (issue 3, benchmark d): a message lands in a mailbox, its
//! Pub/Sub notice is POSTed to the daemon's real HTTP server (OIDC JWT
//! verified against fake Google's JWKS), and the clock stops when the
//! email is in the database, matched, with its body. Prints p50/p90/p99
//! over `BENCH_PUSHES` notices (default 200; goals p50 ≤ 1 s, p99 ≤ 3 s),
//! sent one at a time with a gap of `BENCH_GAP_MS` (default 300), as Gmail
//! sends at most about one notice a second per mailbox.
//!
//! Run: `cargo bench --bench push`. Without `--bench` (as `cargo test
//! --all-targets` runs it) a 5-notice smoke pass checks the path works.

#[path = "../tests/support/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::{Duration, Instant};

use app::{spawn_app, AppOptions};
use email_sidecar::fake_google::FakeGoogle;

const ALICE: &str = "alice@fund.test";
const AUDIENCE: &str = "https://sidecar.fund.test/api/email/push";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mail(n: u64) -> Vec<u8> {
    format!(
        "Message-ID: <push-{n}@acme.vc>\r\nFrom: Jo <jo@acme.vc>\r\nTo: {ALICE}\r\n\
         Subject: Update {n}\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\nNumbers for {n}.\r\n"
    )
    .into_bytes()
}

fn stored_with_body(db: &rusqlite::Connection, n: u64) -> bool {
    db.query_row(
        "SELECT has_body AND is_matched FROM emails WHERE message_id = ?1",
        [format!("push-{n}@acme.vc")],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(false)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let pushes = if full {
        env_u64("BENCH_PUSHES", 200)
    } else {
        5
    };
    let gap = Duration::from_millis(env_u64("BENCH_GAP_MS", 300));
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        enabled: true,
        env: vec![
            ("CRM_GMAIL_PUBSUB_AUDIENCE".into(), AUDIENCE.into()),
            ("CRM_GMAIL_RATE_UNITS_SEC".into(), "250".into()),
        ],
        fake_quota: Some(250),
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&app::acme_directory()).unwrap();
    let (base, stop) = app.serve_daemon().await;
    let url = format!("{base}/api/email/push");
    let id = app.account_id(ALICE);
    while !app.store.account(id).unwrap().backfill_done {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let http = reqwest::Client::new();
    let db = rusqlite::Connection::open(app.db_path()).unwrap();
    let mut took = Vec::with_capacity(pushes as usize);
    for n in 0..pushes {
        app.fake.deliver(ALICE, &mail(n), &["INBOX"]);
        let body = FakeGoogle::push_body(ALICE, app.fake.history_id(ALICE).0, true);
        let start = Instant::now();
        let resp = http
            .post(&url)
            .bearer_auth(app.fake.mint_push_token(AUDIENCE))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        while !stored_with_body(&db, n) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "push {n} never stored"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        took.push(start.elapsed());
        tokio::time::sleep(gap).await;
    }
    stop.cancel();
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "push → stored+matched+body over {pushes} notices (debounce 300 ms, quota 250 u/s, same-process fake): \
         p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.9)),
        ms(percentile(&took, 0.99)),
        ms(*took.last().unwrap())
    );
}
