//! Activity reads at scale (issue 4 "Must show"): a fresh store in a temp
//! dir is seeded with `BENCH_EMAILS` emails (default 1,000,000), a fifth of
//! them matched, spread like a fund's mail (20 mailboxes, 2,000 investors of
//! very uneven size, five years of dates, 1–3 copies per email with some
//! deleted, trashed or in spam, participants, threads, headers and bodies),
//! then the activity page is timed at the store and through the real HTTP
//! server for each filter: first page, investor, mailbox, direction, text
//! (common, rare, absent, two letters, a sender name, a word only in old
//! mail), a deep page via cursor, threads;
//! then requests/s with concurrent clients. Prints p50/p99/max per case and
//! each case's SQLite plan. Goal: p99 ≤ 10 ms.
//!
//! Run: `cargo bench --bench activity` (`BENCH_EMAILS`, `BENCH_ITERS`
//! default 200, `BENCH_SECS` default 10, `BENCH_CLIENTS` default "1,4,16").
//! Without `--bench` (as `cargo test --all-targets` runs it) a 20,000-email
//! smoke pass checks every case answers. The temp dir is removed at exit.

#[allow(dead_code)]
#[path = "../tests/support/app.rs"]
mod app;
#[path = "activity/seed.rs"]
mod seed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{spawn_app, AppOptions, TEST_API_TOKEN};
use email_sidecar::http::AppState;
use email_sidecar::store::activity::{ActivityFilter, Cursor, Direction};
use email_sidecar::store::Store;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One timed case: a store filter and the same request over HTTP.
struct Case {
    name: &'static str,
    /// Filters and cursors to rotate through (one per iteration).
    variants: Vec<(ActivityFilter, Option<Cursor>, String)>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// The API's opaque cursor (http::activity::params): base64url "date.id".
fn cursor_param(c: Cursor) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}.{}", c.date_ms, c.id))
}

fn query(f: &ActivityFilter, before: Option<Cursor>) -> String {
    let mut parts = Vec::new();
    if let Some(i) = &f.investor_id {
        parts.push(format!("investor_id={i}"));
    }
    if let Some(a) = f.account_id {
        parts.push(format!("account_id={a}"));
    }
    if let Some(d) = f.direction {
        parts.push(format!("direction={}", d.as_str()));
    }
    if let Some(q) = &f.q {
        parts.push(format!("q={}", q.replace(' ', "+")));
    }
    if let Some(c) = before {
        parts.push(format!("before={}", cursor_param(c)));
    }
    format!("/api/email/activity?{}", parts.join("&"))
}

fn cases(w: &seed::Seeded) -> Vec<Case> {
    let f = |investor: Option<&String>,
             account: Option<i64>,
             dir: Option<Direction>,
             q: Option<&str>| ActivityFilter {
        investor_id: investor.cloned(),
        account_id: account,
        direction: dir,
        q: q.map(String::from),
    };
    let one = |filter: ActivityFilter, before: Option<Cursor>| {
        let path = query(&filter, before);
        vec![(filter, before, path)]
    };
    let many = |fs: Vec<ActivityFilter>| {
        fs.into_iter()
            .map(|x| {
                let p = query(&x, None);
                (x, None, p)
            })
            .collect()
    };
    vec![
        Case {
            name: "first page",
            variants: one(f(None, None, None, None), None),
        },
        Case {
            name: "investor (random)",
            variants: many(
                w.sample_investors
                    .iter()
                    .map(|i| f(Some(i), None, None, None))
                    .collect(),
            ),
        },
        Case {
            name: "investor (largest)",
            variants: one(f(Some(&w.largest_investor), None, None, None), None),
        },
        Case {
            name: "mailbox",
            variants: many(
                w.accounts
                    .iter()
                    .map(|a| f(None, Some(*a), None, None))
                    .collect(),
            ),
        },
        Case {
            name: "direction outbound",
            variants: one(f(None, None, Some(Direction::Outbound), None), None),
        },
        Case {
            name: "q common word",
            variants: one(f(None, None, None, Some(seed::COMMON_WORD)), None),
        },
        Case {
            name: "q rare word",
            variants: one(f(None, None, None, Some(seed::RARE_WORD)), None),
        },
        Case {
            name: "q absent",
            variants: one(f(None, None, None, Some("zqxjvw")), None),
        },
        Case {
            name: "q two letters",
            variants: one(f(None, None, None, Some("q3")), None),
        },
        Case {
            name: "q old-only word",
            variants: one(f(None, None, None, Some(seed::OLD_WORD)), None),
        },
        Case {
            name: "q sender name",
            variants: one(f(None, None, None, Some("Okonkwo")), None),
        },
        Case {
            name: "investor + q",
            variants: many(
                w.sample_investors
                    .iter()
                    .map(|i| f(Some(i), None, None, Some(seed::COMMON_WORD)))
                    .collect(),
            ),
        },
        Case {
            name: "mailbox + outbound",
            variants: many(
                w.accounts
                    .iter()
                    .map(|a| f(None, Some(*a), Some(Direction::Outbound), None))
                    .collect(),
            ),
        },
        Case {
            name: "deep page (cursor)",
            variants: w
                .deep_cursors
                .iter()
                .map(|c| {
                    (
                        f(None, None, None, None),
                        Some(*c),
                        query(&f(None, None, None, None), Some(*c)),
                    )
                })
                .collect(),
        },
    ]
}

fn store_case(store: &Store, case: &Case, iters: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(iters);
    for n in 0..iters {
        let (f, before, _) = &case.variants[n % case.variants.len()];
        let t = Instant::now();
        let page = store.activity(f, *before, 50).unwrap();
        times.push(t.elapsed());
        assert!(page.items.len() <= 50);
    }
    times
}

async fn http_case(http: &reqwest::Client, base: &str, case: &Case, iters: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(iters);
    for n in 0..iters {
        let path = &case.variants[n % case.variants.len()].2;
        let t = Instant::now();
        let resp = get(http, base, path).await;
        times.push(t.elapsed());
        assert_eq!(resp, 200, "{path}");
    }
    times
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> u16 {
    let resp = http
        .get(format!("{base}{path}"))
        .bearer_auth(TEST_API_TOKEN)
        .header("X-CRM-User", seed::ADMIN)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let _ = resp.bytes().await.unwrap();
    status
}

fn row(name: &str, times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "{name:<22} {:>8} {:>8} {:>8}",
        ms(percentile(times, 0.5)),
        ms(percentile(times, 0.99)),
        ms(*times.last().unwrap())
    )
}

/// `clients` tasks requesting the cases' paths round-robin for `secs`.
async fn throughput(
    base: &str,
    paths: Arc<Vec<String>>,
    clients: usize,
    secs: u64,
) -> (f64, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (base, paths) = (base.to_string(), paths.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut times = Vec::new();
            let mut n = c;
            while Instant::now() < deadline {
                let t = Instant::now();
                assert_eq!(get(&http, &base, &paths[n % paths.len()]).await, 200);
                times.push(t.elapsed());
                n += 1;
            }
            times
        }));
    }
    let start = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all.len() as f64 / start.elapsed().as_secs_f64(), all)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let emails = if full {
        env_u64("BENCH_EMAILS", 1_000_000)
    } else {
        20_000
    };
    let iters = if full {
        env_u64("BENCH_ITERS", 200)
    } else {
        10
    } as usize;
    let secs = if full { env_u64("BENCH_SECS", 10) } else { 1 };
    let clients: Vec<usize> = std::env::var("BENCH_CLIENTS")
        .unwrap_or_else(|_| if full { "1,4,16".into() } else { "4".into() })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    let app = spawn_app(AppOptions {
        mailboxes: seed::mailboxes(),
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    let t = Instant::now();
    let w = seed::seed(&app.store, &app.db_path(), emails as usize);
    let size = std::fs::metadata(app.db_path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "seeded {} emails ({} matched, {} live matched), {} sightings, {} links in {:.0} s; db {} MB",
        w.emails, w.matched, w.live_matched, w.sightings, w.links, t.elapsed().as_secs_f64(), size >> 20
    );
    let cases = cases(&w);

    println!("\nstore level, page of 50, {iters} runs each (ms)");
    println!("{:<22} {:>8} {:>8} {:>8}", "case", "p50", "p99", "max");
    for case in &cases {
        store_case(&app.store, case, 3.min(iters)); // warm the page cache
        println!(
            "{}",
            row(case.name, &mut store_case(&app.store, case, iters))
        );
    }

    let state = AppState::new(
        app.store.clone(),
        Arc::new(app.config.clone()),
        app.clock.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(email_sidecar::http::serve(listener, state, async move {
        stopped.cancelled().await
    }));
    let http = reqwest::Client::new();

    println!("\nthrough HTTP (one client, keep-alive), {iters} runs each (ms)");
    println!("{:<22} {:>8} {:>8} {:>8}", "case", "p50", "p99", "max");
    for case in &cases {
        http_case(&http, &base, case, 3.min(iters)).await;
        println!(
            "{}",
            row(case.name, &mut http_case(&http, &base, case, iters).await)
        );
    }
    let threads = Case {
        name: "threads first page",
        variants: vec![(ActivityFilter::default(), None, "/api/email/threads".into())],
    };
    println!(
        "{}",
        row(
            threads.name,
            &mut http_case(&http, &base, &threads, iters).await
        )
    );

    let paths: Arc<Vec<String>> = Arc::new(
        cases
            .iter()
            .flat_map(|c| c.variants.iter().map(|v| v.2.clone()))
            .collect(),
    );
    println!("\nthroughput, all cases round-robin, {secs} s each");
    println!(
        "{:<10} {:>10} {:>8} {:>8}",
        "clients", "req/s", "p50", "p99"
    );
    for c in &clients {
        let (rps, mut times) = throughput(&base, paths.clone(), *c, secs).await;
        times.sort();
        println!(
            "{c:<10} {rps:>10.0} {:>8} {:>8}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }

    println!("\nplans");
    for case in &cases {
        let plan = app.store.explain_activity(&case.variants[0].0).unwrap();
        println!("{:<22} {}", case.name, plan.join(" | "));
    }
    stop.cancel();
}
