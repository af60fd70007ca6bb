//! Investor-first backfill (issue 7): one mailbox of `BENCH_MESSAGES`
//! messages (default 20,000), a tenth of them investor mail, backfilled at
//! `BENCH_UNITS` Gmail units/s (default 100, enforced by fake Google and
//! configured in the client). Two runs side by side, each against its own
//! fake (their quotas are independent, and the work is quota-bound):
//! with investor-first and without. Prints, for each, the time until every
//! investor email is stored with its body, and the total backfill time.
//! Goals: investor mail ≥ 5× sooner; total ≤ 10% longer.
//!
//! Run: `cargo bench --bench investor_first` (about 20 minutes at the
//! defaults). Without `--bench` a 300-message smoke pass at 2,000 units/s.

#[path = "../tests/support/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::{Duration, Instant};

use app::{spawn_app, AppOptions, TestApp};
use email_sidecar::capture::SyncMode;
use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor, RunStatus};

const USER: &str = "alice@fund.test";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Message `n`: every tenth from an investor contact, the rest from
/// strangers; dates spread so newest-first order mixes them evenly.
fn raw(n: u64) -> Vec<u8> {
    let from = if n.is_multiple_of(10) {
        format!("Contact {} <c{}@inv{}.example>", n % 50, n % 50, n % 5)
    } else {
        format!("Stranger <s{n}@gmail.com>")
    };
    let day = 1 + n % 28;
    let (h, m) = ((n / 60) % 24, n % 60);
    format!(
        "Message-ID: <m{n}@bench.example>\r\nFrom: {from}\r\nTo: {USER}\r\n\
         Subject: Note {n}\r\nDate: {day:02} Mar 2026 {h:02}:{m:02}:00 +0000\r\n\r\n\
         Body of note {n}.\r\n"
    )
    .into_bytes()
}

fn directory() -> Directory {
    let investors = (0..5)
        .map(|i| DirectoryInvestor {
            id: format!("inv{i}"),
            name: format!("Investor {i}"),
            domains: vec![],
            graveyard: false,
        })
        .collect();
    let contacts = (0..50)
        .map(|c| DirectoryContact {
            id: format!("c{c}"),
            investor_id: format!("inv{}", c % 5),
            email: format!("c{c}@inv{}.example", c % 5),
            name: format!("Contact {c}"),
        })
        .collect();
    Directory {
        investors,
        contacts,
        ..Directory::default()
    }
}

struct Outcome {
    investor_done: Duration,
    total: Duration,
}

fn matched_with_body(app: &TestApp) -> u64 {
    let c = rusqlite::Connection::open(app.db_path()).unwrap();
    c.query_row(
        "SELECT count(*) FROM emails WHERE is_matched = 1 AND has_body = 1",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

async fn run(messages: u64, units: u64, investor_first: bool) -> Outcome {
    let app = spawn_app(AppOptions {
        mailboxes: vec![USER.into()],
        fake_quota: Some(units as u32),
        env: vec![
            ("CRM_GMAIL_RATE_UNITS_SEC".into(), units.to_string()),
            (
                "CRM_GMAIL_INVESTOR_FIRST".into(),
                investor_first.to_string(),
            ),
        ],
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory()).unwrap();
    for n in 0..messages {
        app.fake.deliver(USER, &raw(n), &["INBOX"]);
    }
    let investor_mail = messages.div_ceil(10);
    let start = Instant::now();
    let capture = app.capture.clone();
    let id = app.account_id(USER);
    let sync = tokio::spawn(async move { capture.sync_account(id, SyncMode::Auto).await });
    let mut investor_done = None;
    while !sync.is_finished() {
        if investor_done.is_none() && matched_with_body(&app) >= investor_mail {
            investor_done = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = sync.await.unwrap().unwrap();
    let total = start.elapsed();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
    assert_eq!(matched_with_body(&app), investor_mail);
    let c = rusqlite::Connection::open(app.db_path()).unwrap();
    let emails: i64 = c
        .query_row("SELECT count(*) FROM emails", [], |r| r.get(0))
        .unwrap();
    assert_eq!(emails as u64, messages, "every message stored");
    Outcome {
        investor_done: investor_done.unwrap_or(total),
        total,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let messages = if full {
        env_u64("BENCH_MESSAGES", 20_000)
    } else {
        300
    };
    let units = if full {
        env_u64("BENCH_UNITS", 100)
    } else {
        2_000
    };
    let (with, without) = tokio::join!(run(messages, units, true), run(messages, units, false));
    let s = |d: Duration| d.as_secs_f64();
    println!(
        "{messages} messages (10% investor), {units} units/s, two runs side by side (separate fakes):"
    );
    println!(
        "  investor-first: all investor mail in {:.1} s, backfill done in {:.1} s",
        s(with.investor_done),
        s(with.total)
    );
    println!(
        "  plain:          all investor mail in {:.1} s, backfill done in {:.1} s",
        s(without.investor_done),
        s(without.total)
    );
    println!(
        "  investor mail {:.1}× sooner; total {:+.1}%",
        s(without.investor_done) / s(with.investor_done),
        (s(with.total) / s(without.total) - 1.0) * 100.0
    );
}
