//! Capture engine benchmarks (issue 3, "Must show" a–c), against the
//! project's in-process fake Google wired through the real config loader
//! (`tests/support/app.rs`):
//!
//! - `pipeline` (a): a whole backfill with quota off, msgs/s for the
//!   metadata path (`BENCH_META_N` unmatched messages, default 30,000) and
//!   the full path (`BENCH_FULL_N`, default 5,000, matched by a contact:
//!   text + HTML bodies and a 1 KB attachment each), median and best of
//!   `BENCH_RUNS` (3). Goals ≥ 5,000 and ≥ 1,000 msgs/s on 2 cores.
//! - `quota` (b): fake quota = client budget (`BENCH_UNITS`, default 100
//!   units/s), a mailbox sized for `BENCH_SECS` (default 60) of backfill;
//!   units charged / (budget × elapsed). Goal ≥ 95%, 0 quota 429s.
//! - `rss` (c): a `BENCH_BIG`-message mailbox (default 100,000) backfilled
//!   by a separate "daemon" process (this binary re-run), so its VmHWM is
//!   the capture's alone; the fake's memory is reported from this process.
//!   Goal ≤ 100 MB.
//!
//! Each part runs in a fresh child process (clean RSS and allocator);
//! `BENCH_PARTS=pipeline,quota,rss` picks some. Data lives under `TMPDIR`
//! (attachment fsyncs make the disk matter); `CRM_GMAIL_*` variables
//! override the engine's settings; `BENCH_PERF_CTL` limits `perf record`
//! to the syncs. Without `--bench` (what `cargo test --all-targets` does)
//! every part is a small smoke pass that still asserts all was stored.
//!
//! Run: `cargo bench --bench capture`.

#[allow(dead_code)]
#[path = "../tests/support/app.rs"]
mod app;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::{spawn_app, AppOptions, TestApp};
use base64::Engine;
use email_sidecar::capture::{Capture, CaptureSettings, Progress, SyncMode};
use email_sidecar::clock;
use email_sidecar::config::Config;
use email_sidecar::google::{setup, GmailClient, MessageFormat};
use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor, RunStatus, Store};

const ALICE: &str = "alice@fund.test";
/// Matched mail comes from one of these contacts of `inv-acme`.
const PARTNERS: usize = 20;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A field of /proc/self/status in MB (`VmRSS`, `VmHWM`).
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

/// Profiling hook: with `BENCH_PERF_CTL=FIFO` (perf record's `--control
/// fifo:FIFO -D -1`), only the syncs are sampled, not the setup.
fn perf_ctl(cmd: &str) {
    if let Ok(fifo) = std::env::var("BENCH_PERF_CTL") {
        let _ = std::fs::write(fifo, format!("{cmd}\n"));
    }
}

fn date(n: usize) -> String {
    let t = 1_790_000_000 - (n as i64) * 60;
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc2822()
}

/// A compact message nobody in the directory sent or received.
fn unmatched(n: usize) -> Vec<u8> {
    let d = n % 997;
    format!(
        "Message-ID: <u{n}@company{d}.example>\r\nFrom: Person {n} <person{n}@company{d}.example>\r\n\
         To: {ALICE}\r\nSubject: Hello {n}\r\nDate: {}\r\n\r\nHi, note {n}.\r\n",
        date(n)
    )
    .into_bytes()
}

/// Mail from a directory contact: text + HTML bodies, a 1 KB attachment
/// unique to the message (so every one is hashed and written).
fn matched(n: usize) -> Vec<u8> {
    let k = n % PARTNERS;
    let deck = base64::engine::general_purpose::STANDARD
        .encode(format!("%PDF-1.4 deck {n:>8} ").repeat(40))
        .as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n");
    format!(
        "Message-ID: <m{n}@acme.vc>\r\nFrom: Partner {k} <partner{k}@acme.vc>\r\nTo: {ALICE}\r\n\
         Subject: Deal {n}\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nNotes on deal {n}.\r\n--a\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<p>Notes on deal {n}.</p>\r\n--a--\r\n\
         --b\r\nContent-Type: application/pdf; name=\"deck-{n}.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"deck-{n}.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{deck}\r\n--b--\r\n",
        date(n)
    )
    .into_bytes()
}

/// `inv-acme` with its partners, plus 200 investors nobody here writes to.
fn directory() -> Directory {
    let investor = |id: &str, domain: String| DirectoryInvestor {
        id: id.into(),
        name: id.into(),
        domains: vec![domain],
        graveyard: false,
    };
    let contact = |id: String, investor_id: &str, email: String| DirectoryContact {
        id,
        investor_id: investor_id.into(),
        name: email.clone(),
        email,
    };
    let mut dir = Directory::default();
    for i in 0..200 {
        let id = format!("inv-{i}");
        dir.investors.push(investor(&id, format!("inv{i}.vc")));
        dir.contacts
            .push(contact(format!("c-{i}"), &id, format!("gp{i}@inv{i}.vc")));
    }
    dir.investors.push(investor("inv-acme", "acme.vc".into()));
    dir.contacts.extend(
        (0..PARTNERS)
            .map(|k| contact(format!("c-p{k}"), "inv-acme", format!("partner{k}@acme.vc"))),
    );
    dir
}

/// A fresh app; `CRM_GMAIL_*` variables of the bench's own environment
/// override the bench's settings (to try other tunings).
async fn app(fake_quota: Option<u32>, env: &[(&str, String)]) -> TestApp {
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    env.extend(std::env::vars().filter(|(k, _)| k.starts_with("CRM_GMAIL_")));
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        fake_quota,
        env,
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory()).unwrap();
    app
}

/// Delivers `n` messages, one in `every` matched (0 = none matched);
/// returns the Gmail ids and the seconds it took.
fn deliver(app: &TestApp, n: usize, every: usize) -> (Vec<String>, f64) {
    let t = Instant::now();
    let ids = (0..n)
        .map(|i| {
            let raw = if every > 0 && i % every == 0 {
                matched(i)
            } else {
                unmatched(i)
            };
            app.fake.deliver(ALICE, &raw, &["INBOX"])
        })
        .collect();
    (ids, t.elapsed().as_secs_f64())
}

/// The database holds exactly `n` emails and sightings, `full` of them
/// with bodies, links and a stored attachment, and nothing left to fetch.
fn assert_stored(db: &std::path::Path, n: usize, full: usize) {
    let c = rusqlite::Connection::open(db).unwrap();
    for (sql, want) in [
        ("SELECT count(*) FROM emails", n),
        (
            "SELECT count(*) FROM email_account_messages WHERE deleted_at IS NULL",
            n,
        ),
        ("SELECT count(*) FROM email_fetch_queue", 0),
        ("SELECT count(*) FROM emails WHERE has_body = 1", full),
        (
            "SELECT count(DISTINCT email_id) FROM email_investor_links",
            full,
        ),
        (
            "SELECT count(*) FROM email_attachments WHERE status = 'stored'",
            full,
        ),
    ] {
        let got: i64 = c.query_row(sql, [], |r| r.get(0)).unwrap();
        assert_eq!(got as usize, want, "{sql}");
    }
}

/// The engine as configured, but with the client's pacing off (the config
/// loader's ceiling, 10,000 units/s, would cap gets at 1,920/s).
fn unpaced(app: &TestApp) -> Capture {
    let mut settings = setup::gmail_settings(&app.config);
    settings.units_per_sec = 0;
    let accounts = app.store.list_accounts().unwrap();
    let (tokens, _) =
        setup::token_provider(&app.config, &app.store, &accounts, app.clock.clone()).unwrap();
    let gmail = GmailClient::new(settings, tokens, reqwest::Client::new());
    let cs = CaptureSettings::from_config(&app.config);
    Capture::new(app.store.clone(), gmail, cs, app.clock.clone()).unwrap()
}

/// The same gets the backfill makes (rounds of 250, batches of 50), with
/// nothing parsed or stored: what the fake and HTTP alone allow.
async fn fetch_only(gmail: &GmailClient, ids: &[String], format: MessageFormat) -> f64 {
    let t = Instant::now();
    for round in ids.chunks(250) {
        let out = gmail.get_messages_batch(ALICE, round, format, &[]).await;
        assert!(out.iter().all(|r| r.is_ok()));
    }
    ids.len() as f64 / t.elapsed().as_secs_f64()
}

/// Runs `sync`, splitting its time between metadata rounds and full rounds
/// by which progress counter moves next (`saved` or `bodies`; sampled
/// every 2 ms): the time before a counter moves is that round's.
async fn phases<F: std::future::Future>(capture: &Capture, sync: F) -> (F::Output, f64, f64) {
    let p = capture.progress();
    let counters = || (Progress::get(&p.saved), Progress::get(&p.bodies));
    let mut sync = std::pin::pin!(sync);
    let (mut meta, mut full, mut last, mut since) = (0.0, 0.0, counters(), Instant::now());
    loop {
        tokio::select! {
            out = &mut sync => {
                // The tail (history, bookkeeping) counts as metadata.
                meta += since.elapsed().as_secs_f64();
                return (out, meta, full);
            }
            _ = tokio::time::sleep(Duration::from_millis(2)) => {
                let now = counters();
                if now != last {
                    let dt = since.elapsed().as_secs_f64();
                    *if now.1 != last.1 { &mut full } else { &mut meta } += dt;
                    (last, since) = (now, Instant::now());
                }
            }
        }
    }
}

/// One backfill of a fresh mailbox; prints and returns msgs/s, and the data
/// dir (the caller keeps its files until every run is over: see `pipeline`).
async fn path_run(
    label: &str,
    n: usize,
    all_matched: bool,
    paced: bool,
) -> (f64, tempfile::TempDir) {
    let app = app(None, &[("CRM_GMAIL_MAX_IN_FLIGHT", "8".into())]).await;
    let (ids, secs) = deliver(&app, n, usize::from(all_matched));
    let capture = if paced {
        app.capture.clone()
    } else {
        unpaced(&app)
    };
    let format = if all_matched {
        MessageFormat::Full
    } else {
        MessageFormat::Metadata
    };
    let fetch = fetch_only(capture.gmail(), &ids, format).await;
    let id = app.account_id(ALICE);
    perf_ctl("enable");
    let t = Instant::now();
    let (report, meta, full) = phases(&capture, capture.sync_account(id, SyncMode::Auto)).await;
    let elapsed = t.elapsed().as_secs_f64();
    perf_ctl("disable");
    let report = report.unwrap();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
    assert_stored(&app.db_path(), n, if all_matched { n } else { 0 });
    let rate = n as f64 / elapsed;
    println!("  {label:<36} {n:>6} msgs in {elapsed:>5.2} s = {rate:>5.0} msgs/s");
    println!(
        "      metadata rounds {meta:.2} s, full rounds {full:.2} s; {format:?} gets alone \
         {fetch:.0}/s; delivery into the fake {:.0}/s",
        n as f64 / secs
    );
    let TestApp { fake, dir, .. } = app;
    fake.shutdown().await;
    (rate, dir)
}

async fn pipeline() {
    let m = measuring();
    let n_meta = env_u64("BENCH_META_N", if m { 30_000 } else { 300 }) as usize;
    let n_full = env_u64("BENCH_FULL_N", if m { 5_000 } else { 100 }) as usize;
    // The machine is shared: the median of a few runs, and the best.
    let runs = env_u64("BENCH_RUNS", if m { 3 } else { 1 }).max(1);
    println!(
        "(a) local pipeline, quota off, one mailbox, max in flight 8, data under {}",
        std::env::temp_dir().display()
    );
    let (mut meta, mut full, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    // Each run's data dir is removed only at the end: deleting tens of
    // thousands of files between runs made ext4 slow to allocate the next
    // run's inodes (`recently_deleted`, seen with perf), a cost no daemon
    // pays, which cut the later full-path runs by about a third.
    for _ in 0..runs {
        let (rate, app) = path_run("metadata path, pacing off", n_meta, false, false).await;
        meta.push(rate);
        kept.push(app);
        let (rate, app) = path_run("full path, pacing off", n_full, true, false).await;
        full.push(rate);
        kept.push(app);
    }
    kept.push(
        path_run("metadata path, 10,000 units/s config", n_meta, false, true)
            .await
            .1,
    );
    let summary = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!("median {:.0}, best {:.0}", v[v.len() / 2], v[v.len() - 1])
    };
    println!(
        "  metadata path msgs/s: {} (goal ≥ 5,000)",
        summary(&mut meta)
    );
    println!(
        "  full path msgs/s:     {} (goal ≥ 1,000)",
        summary(&mut full)
    );
    drop(kept);
}

/// (b): one in five messages matched (full get + attachment), so the mix
/// costs 7 units a message on average.
async fn quota() {
    let secs = env_u64("BENCH_SECS", if measuring() { 60 } else { 3 });
    let units = env_u64("BENCH_UNITS", 100) as u32;
    let n = ((secs * u64::from(units)) as f64 / 7.0).ceil() as usize;
    let app = app(
        Some(units),
        &[("CRM_GMAIL_RATE_UNITS_SEC", units.to_string())],
    )
    .await;
    deliver(&app, n, 5);
    app.fake.reset_counters();
    let t = Instant::now();
    let report = app
        .capture
        .sync_account(app.account_id(ALICE), SyncMode::Auto)
        .await
        .unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
    assert_stored(&app.db_path(), n, n.div_ceil(5));
    let c = app.fake.counters();
    let budget = f64::from(units) * elapsed;
    println!("(b) unit budget during backfill: fake quota = client budget = {units} units/s");
    println!("  (the client keeps 4% headroom by design, so 96% is its ceiling)");
    println!("  mailbox {n} msgs (1 in 5 matched + attachment), backfill {elapsed:.1} s");
    println!(
        "  units charged {} of {budget:.0} = {:.1}% (goal ≥ 95%)",
        c.units_charged,
        100.0 * c.units_charged as f64 / budget
    );
    println!(
        "  quota 429s {} (goal 0), peak units in any 1 s {}",
        c.quota_429s, c.peak_units_per_sec
    );
    println!("  calls {:?}", c.calls);
    app.fake.shutdown().await;
}

/// (c), this process's half: the fake holding the mailbox; the daemon runs
/// as a child process against it.
async fn rss() {
    let n = env_u64("BENCH_BIG", if measuring() { 100_000 } else { 500 }) as usize;
    let before = status_mb("VmRSS");
    let app = app(None, &[]).await;
    let (_, secs) = deliver(&app, n, 10);
    let fake = status_mb("VmRSS") - before;
    println!("(c) peak RSS backfilling {n} msgs (1 in 10 matched + attachment), quota off");
    println!(
        "  fake: delivered at {:.0} msgs/s, holds {fake:.0} MB (in the bench process)",
        n as f64 / secs
    );
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .env("BENCH_PART", "daemon")
        .envs(&app.env)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "daemon process: {status}");
    assert_stored(&app.db_path(), n, n.div_ceil(10));
    println!(
        "  bench process (fake) peak {:.0} MB; goal: daemon ≤ 100 MB",
        status_mb("VmHWM")
    );
    app.fake.shutdown().await;
}

/// (c), the daemon: configured from the environment like the real one,
/// backfills the mailbox and reports its own memory.
async fn daemon() {
    let start = status_mb("VmRSS");
    let config = Config::load(None, &|k| std::env::var(k).ok()).unwrap();
    let store = Store::open(config.db_path()).unwrap();
    let capture = Capture::from_config(&config, store.clone(), clock::system()).unwrap();
    let id = store.account_by_email(ALICE).unwrap().unwrap().id;
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (capture, samples) = (capture.clone(), samples.clone());
        tokio::spawn(async move {
            loop {
                let saved = Progress::get(&capture.progress().saved);
                samples.lock().unwrap().push((saved, status_mb("VmRSS")));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    perf_ctl("enable");
    let t = Instant::now();
    let report = capture.sync_account(id, SyncMode::Auto).await.unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    perf_ctl("disable");
    sampler.abort();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
    let n = report.counts.listed;
    println!(
        "  daemon process: backfill {n} msgs in {elapsed:.1} s ({:.0} msgs/s, 10,000 units/s config)",
        n as f64 / elapsed
    );
    println!(
        "  daemon process: RSS at start {start:.1} MB, at end {:.1} MB, peak (VmHWM) {:.1} MB",
        status_mb("VmRSS"),
        status_mb("VmHWM")
    );
    let samples = samples.lock().unwrap().clone();
    let trail: Vec<String> = (1..=5)
        .filter_map(|q| samples.get((samples.len() * q / 5).saturating_sub(1)))
        .map(|(saved, mb)| format!("{saved} saved: {mb:.0} MB"))
        .collect();
    println!("  daemon RSS along the way: {}", trail.join(", "));
}

fn header() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| Some(l.strip_prefix("model name")?.split_once(':')?.1.trim()))
        .unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mode = if measuring() {
        "measuring"
    } else {
        "smoke pass"
    };
    println!("capture benchmarks ({mode}), {cores} cores, {cpu}; the fake Google shares");
    println!("the cores (same process in (a) and (b), a sibling process in (c))");
}

fn main() {
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    match std::env::var("BENCH_PART").as_deref() {
        Ok("pipeline") => rt().block_on(pipeline()),
        Ok("quota") => rt().block_on(quota()),
        Ok("rss") => rt().block_on(rss()),
        Ok("daemon") => rt().block_on(daemon()),
        Ok(other) => panic!("unknown BENCH_PART {other}"),
        Err(_) => {
            header();
            let parts = std::env::var("BENCH_PARTS").unwrap_or("pipeline,quota,rss".into());
            for part in parts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let status = std::process::Command::new(std::env::current_exe().unwrap())
                    .args(std::env::args().skip(1))
                    .env("BENCH_PART", part)
                    .status()
                    .unwrap();
                assert!(status.success(), "part {part}: {status}");
            }
        }
    }
}
