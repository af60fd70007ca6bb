//! Digest build time: `BENCH_USERS` team members (default 50) and
//! `BENCH_EMAILS` matched emails in the window (default 20,000; a third of
//! them also in a colleague's mailbox), seeded through the store, built
//! `BENCH_RUNS` times (default 5) with the deterministic narrative; prints
//! the median and the peak RSS growth while building (VmHWM reset through
//! /proc/self/clear_refs after seeding). Goal: ≤ 1 s.
//!
//! Run: `cargo bench --bench digest`. Without `--bench` a small smoke pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use email_sidecar::clock::{self, ManualClock, SharedClock};
use email_sidecar::config::{AuthMethod, Config, LiveConfig};
use email_sidecar::digest::Digests;
use email_sidecar::store::{
    Directory, DirectoryInvestor, DirectoryUser, EmailRecord, FetchSource, LinkDecision, LinkRow,
    ParticipantRow, SightingRecord, Store, UserRole,
};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of /proc/self/status in MB (`VmRSS`, `VmHWM`).
fn status_mb(field: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn user(i: usize) -> String {
    format!("user{i:02}@fund.test")
}

fn directory(users: usize, investors: usize) -> Directory {
    Directory {
        users: (0..users)
            .map(|i| DirectoryUser {
                id: format!("u{i}"),
                email: user(i),
                name: format!("User {i:02}"),
                role: if i < 3 {
                    UserRole::Admin
                } else {
                    UserRole::Member
                },
                active: true,
            })
            .collect(),
        investors: (0..investors)
            .map(|i| DirectoryInvestor {
                id: format!("inv{i:03}"),
                name: format!("Investor {i:03}"),
                domains: vec![format!("inv{i:03}.example")],
                graveyard: false,
            })
            .collect(),
        ..Directory::default()
    }
}

/// Links a participant of an `invNNN.example` domain; outbound if from us.
fn linker(participants: &[(String, String)]) -> LinkDecision {
    let mut d = LinkDecision::default();
    for (role, address) in participants {
        let Some((_, domain)) = address.split_once('@') else {
            continue;
        };
        if let Some(id) = domain.strip_suffix(".example") {
            if !d.links.iter().any(|l| l.investor_id == id) {
                d.links.push(LinkRow {
                    investor_id: id.to_string(),
                    contact_id: None,
                    strategy: "domain",
                    matched_address: address.clone(),
                });
            }
        }
        if role == "from" && domain == "fund.test" {
            d.outbound = true;
        }
    }
    d
}

fn seed(store: &Store, users: usize, emails: usize, start_ms: i64, span_ms: i64) {
    store.replace_directory(&directory(users, 500)).unwrap();
    let ids: Vec<i64> = (0..users)
        .map(|i| {
            store
                .enroll_account(&user(i), AuthMethod::Dwd, None)
                .unwrap()
                .account
                .id
        })
        .collect();
    let mut per_account: Vec<Vec<(EmailRecord, SightingRecord)>> = vec![Vec::new(); users];
    for n in 0..emails {
        let owner = n % users;
        let investor = format!("c{}@inv{:03}.example", n % 7, (n * 31) % 500);
        let outbound = n % 3 == 0;
        let (from, to) = if outbound {
            (user(owner), investor)
        } else {
            (investor, user(owner))
        };
        let date_ms = start_ms + 1 + (n as i64 * span_ms) / emails as i64;
        let email = EmailRecord {
            message_id: format!("m{n}@bench.example"),
            synthesized: false,
            in_reply_to: None,
            ancestors: vec![],
            subject: format!("Note {n} about the round"),
            from_email: from.clone(),
            from_name: String::new(),
            date_ms,
            snippet: String::new(),
            size_bytes: 1000,
            is_bulk: false,
            headers_json: "[]".into(),
            participants: vec![
                ParticipantRow {
                    role: "from",
                    address: from,
                    name: String::new(),
                },
                ParticipantRow {
                    role: "to",
                    address: to,
                    name: String::new(),
                },
            ],
        };
        let sighting = |label: &str| SightingRecord {
            gmail_message_id: format!("g{n}"),
            gmail_thread_id: format!("t{n}"),
            labels: vec![label.to_string()],
            internal_date_ms: Some(date_ms),
        };
        let label = if outbound { "SENT" } else { "INBOX" };
        per_account[owner].push((email.clone(), sighting(label)));
        if n % 3 == 1 {
            per_account[(owner + 1) % users].push((email, sighting("INBOX")));
        }
    }
    for (i, items) in per_account.iter().enumerate() {
        for chunk in items.chunks(500) {
            store
                .save_metadata(ids[i], chunk, FetchSource::Backfill, &linker)
                .unwrap();
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let users = env_usize("BENCH_USERS", if full { 50 } else { 5 });
    let emails = env_usize("BENCH_EMAILS", if full { 20_000 } else { 500 });
    let runs = env_usize("BENCH_RUNS", if full { 5 } else { 1 }).max(1);
    let dir = tempfile::tempdir().unwrap();
    let end = Utc.with_ymd_and_hms(2026, 6, 2, 16, 0, 0).unwrap();
    let start = end - chrono::Duration::hours(24);
    let clock: SharedClock = ManualClock::new(end);
    let store = Store::open_with_clock(dir.path().join("bench.db"), clock.clone()).unwrap();
    let seeding = Instant::now();
    seed(
        &store,
        users,
        emails,
        start.timestamp_millis(),
        24 * 3_600_000 - 1,
    );
    println!(
        "seeded {users} users, {emails} emails in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let env = |k: &str| (k == "CRM_DIGEST_TIMEZONE").then(|| "Europe/Berlin".to_string());
    let config = Config::load(None, &env).unwrap();
    let digests = Digests::new(store, LiveConfig::new(Arc::new(config)), clock::system());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rss_before = status_mb("VmRSS");
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM
    let mut times: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let d = rt.block_on(digests.build(start, end)).unwrap();
        times.push(t.elapsed());
        last = Some(d);
    }
    times.sort();
    let d = last.unwrap();
    assert_eq!(d.emails, emails, "every seeded email is in the window once");
    let median = times[times.len() / 2];
    println!(
        "digest build: median {:.0} ms over {runs} runs (min {:.0} ms, max {:.0} ms); \
         {} emails, {} investors, text {} KB, html {} KB",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        d.emails,
        d.investors,
        d.text.len() / 1024,
        d.html.len() / 1024
    );
    println!(
        "memory: RSS before build {rss_before:.1} MB, peak while building (VmHWM) {:.1} MB",
        status_mb("VmHWM")
    );
    println!(
        "goal ≤ 1000 ms: {}",
        if median <= Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
}
