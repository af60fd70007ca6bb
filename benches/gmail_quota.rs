//! Gmail client throughput against the project's fake Google.
//!
//! 1. Quota use: the fake enforces `BENCH_UNITS` units/s (default 250) and
//!    the client is configured with the same budget; `messages.get` runs
//!    flat out for `BENCH_SECS` (default 60). Prints the fraction of the
//!    budget achieved (goal ≥ 95%) and the quota 429s served (goal 0).
//! 2. Raw speed with quota off: `messages.get`/s as single calls vs batches
//!    of 50, for `BENCH_SECS / 6` seconds each (at least 5).
//!
//! Run: `cargo bench --bench gmail_quota` (BENCH_SECS=10 for a quick look).

use email_sidecar::clock;
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use email_sidecar::google::auth::{ServiceAccountKey, TokenProvider};
use email_sidecar::google::{GmailClient, GmailSettings, MessageFormat};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USER: &str = "bench@fund.test";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn raw(n: usize) -> Vec<u8> {
    format!(
        "From: carol@acme.example\r\nTo: {USER}\r\nSubject: Bench {n}\r\n\
         Message-ID: <bench-{n}@acme.example>\r\n\r\nBody {n}\r\n"
    )
    .into_bytes()
}

fn client(fake: &FakeGoogle, units_per_sec: u32) -> GmailClient {
    let key = ServiceAccountKey::from_json(&fake.service_account_json()).unwrap();
    let http = reqwest::Client::new();
    let tokens =
        TokenProvider::service_account(key, fake.token_uri(), http.clone(), clock::system());
    let settings = GmailSettings {
        api_base: fake.api_base(),
        units_per_sec,
        max_in_flight: 8,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_secs(2),
        ..GmailSettings::default()
    };
    GmailClient::new(settings, tokens, http)
}

/// `workers` loops of `messages.get` until `secs` pass; gets that succeeded.
async fn run_gets(
    gmail: &GmailClient,
    ids: &Arc<Vec<String>>,
    workers: usize,
    secs: u64,
) -> (u64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (gmail, ids, done) = (gmail.clone(), ids.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let id = &ids[i % ids.len()];
                    if gmail
                        .get_message(USER, id, MessageFormat::Minimal, &[])
                        .await
                        .is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += workers;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

async fn run_batches(
    gmail: &GmailClient,
    ids: &Arc<Vec<String>>,
    workers: usize,
    secs: u64,
) -> (u64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (gmail, ids, done) = (gmail.clone(), ids.clone(), done.clone());
            tokio::spawn(async move {
                let chunk: Vec<String> = ids.iter().take(50).cloned().collect();
                while Instant::now() < deadline {
                    let out = gmail
                        .get_messages_batch(USER, &chunk, MessageFormat::Minimal, &[])
                        .await;
                    done.fetch_add(
                        out.iter().filter(|r| r.is_ok()).count() as u64,
                        Ordering::Relaxed,
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

async fn quota_use(secs: u64, units: u32) {
    let fake = FakeGoogle::start(FakeOptions {
        quota_units_per_sec: Some(units),
        ..Default::default()
    })
    .await
    .unwrap();
    fake.add_user(USER);
    let ids: Arc<Vec<String>> = Arc::new(
        (0..500)
            .map(|n| fake.deliver(USER, &raw(n), &["INBOX"]))
            .collect(),
    );
    let gmail = client(&fake, units);
    gmail.get_profile(USER).await.unwrap(); // token minted outside the clock
    fake.reset_counters();
    let (gets, elapsed) = run_gets(&gmail, &ids, 16, secs).await;
    let c = fake.counters();
    let budget = f64::from(units) * elapsed;
    println!("quota use: budget {units} units/s for {elapsed:.1}s");
    println!("  messages.get ok           {gets}");
    println!("  units charged by the fake {}", c.units_charged);
    println!(
        "  fraction of budget        {:.1}%",
        100.0 * c.units_charged as f64 / budget
    );
    println!("  quota 429s served         {}", c.quota_429s);
    println!("  peak units in any 1 s     {}", c.peak_units_per_sec);
    fake.shutdown().await;
}

async fn raw_speed(secs: u64) {
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    fake.add_user(USER);
    let ids: Arc<Vec<String>> = Arc::new(
        (0..500)
            .map(|n| fake.deliver(USER, &raw(n), &["INBOX"]))
            .collect(),
    );
    let gmail = client(&fake, 0);
    gmail.get_profile(USER).await.unwrap();
    let (single, t1) = run_gets(&gmail, &ids, 8, secs).await;
    let (batched, t2) = run_batches(&gmail, &ids, 8, secs).await;
    println!("quota off: messages.get/s");
    println!("  single calls (8 in flight)   {:.0}/s", single as f64 / t1);
    println!(
        "  batches of 50 (8 in flight)  {:.0}/s",
        batched as f64 / t2
    );
    fake.shutdown().await;
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // binary without it, and then a 2-second smoke pass keeps it honest
    // (it still asserts nothing impossible) without slowing the tests.
    let measuring = std::env::args().any(|a| a == "--bench");
    let default_secs = if measuring { 60 } else { 2 };
    let secs = env_u64("BENCH_SECS", default_secs);
    let units = env_u64("BENCH_UNITS", 250) as u32;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        quota_use(secs, units).await;
        raw_speed(if measuring { (secs / 6).max(5) } else { 1 }).await;
    });
}
