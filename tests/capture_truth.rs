//! Ground truth: a generated world of mail (tests/support/world.rs) is
//! delivered to fake Google, captured by the engine, and the database must
//! equal the truth exactly — emails, sightings, links, bodies only for
//! matched mail, attachments once, threads — after backfill, after
//! incremental changes, after an expired cursor, and under injected faults.

mod support;

use std::time::Duration;

use chrono::TimeZone;
use email_sidecar::capture::{SyncMode, SyncReport};
use email_sidecar::clock::{ManualClock, SharedClock};
use email_sidecar::fake_google::Faults;
use email_sidecar::store::RunStatus;
use support::app::{spawn_app, AppOptions, TestApp};
use support::snapshot::assert_matches_truth;
use support::world::{World, WorldSpec};

/// The env sets CRM_GMAIL_MAX_ATTACHMENT_MB=1; the world's cap must agree.
const CAP: u64 = 1 << 20;

fn spec(per_mailbox: usize, seed: u64) -> WorldSpec {
    WorldSpec {
        attachment_cap_bytes: CAP,
        seed,
        ..WorldSpec::standard(per_mailbox)
    }
}

async fn world_app(spec: &WorldSpec, opts: AppOptions) -> (World, TestApp) {
    let mut world = World::generate(spec);
    let app = spawn_app(AppOptions {
        mailboxes: spec.mailboxes.clone(),
        ..opts
    })
    .await;
    app.store.replace_directory(&world.directory()).unwrap();
    world.deliver(&app.fake);
    (world, app)
}

fn assert_truth(world: &World, app: &TestApp, when: &str) {
    check_truth(world, app, when, false)
}

fn check_truth(world: &World, app: &TestApp, when: &str, history_gap: bool) {
    assert_matches_truth(world, &app.db_path(), &app.data_dir(), when, history_gap);
}

async fn sync_until_settled(
    app: &TestApp,
    clock: Option<&std::sync::Arc<ManualClock>>,
) -> Vec<SyncReport> {
    // Every round's reports, oldest first.
    let mut all = Vec::new();
    for round in 0..12 {
        let last = app.capture.sync_all(SyncMode::Auto).await.unwrap();
        let settled = last.iter().all(|r| r.status == RunStatus::Ok);
        for r in last.iter().filter(|r| r.status != RunStatus::Ok) {
            // Shown with the test's output if it fails later.
            println!("round {round}: {} {:?}: {:?}", r.email, r.status, r.error);
        }
        all.extend(last);
        if settled {
            return all;
        }
        // Deferred items wait out their back-off on the store's clock.
        if let Some(c) = clock {
            c.advance(chrono::Duration::hours(2));
        }
    }
    panic!("sync did not settle: {all:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mailboxes_of_3000_messages_are_captured_exactly_then_kept_exact_incrementally() {
    let spec = spec(3000, 0x5eed_2025);
    let (mut world, app) = world_app(&spec, AppOptions::default()).await;
    println!("world: {:?}", world.stats());
    let reports = sync_until_settled(&app, None).await;
    for m in &spec.mailboxes {
        let fetched: u64 = reports
            .iter()
            .filter(|r| &r.email == m)
            .map(|r| r.counts.fetched)
            .sum();
        assert!(fetched > 2000, "{m} fetched only {fetched}: {reports:#?}");
    }
    assert_truth(&world, &app, "after backfill");

    world.mutate(&app.fake, 400);
    sync_until_settled(&app, None).await;
    assert_truth(&world, &app, "after incremental sync");

    // History lost for one mailbox: the full re-list reconciles.
    world.mutate(&app.fake, 100);
    app.fake.expire_history("bob@fund.test");
    sync_until_settled(&app, None).await;
    check_truth(&world, &app, "after an expired cursor", true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_5xx_429_resets_and_latency_capture_still_converges_to_the_truth() {
    let start = chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let manual = ManualClock::new(start);
    let clock: SharedClock = manual.clone();
    let spec = spec(300, 0xfa_0175);
    let (mut world, app) = world_app(
        &spec,
        AppOptions {
            clock: Some(clock),
            env: vec![("CRM_GMAIL_RETRY_MAX".into(), "3".into())],
            ..AppOptions::default()
        },
    )
    .await;
    app.fake.set_faults(Faults {
        server_error_rate: 0.10,
        rate_limit_rate: 0.05,
        reset_rate: 0.02,
        latency: Duration::from_millis(2),
        seed: 42,
    });
    sync_until_settled(&app, Some(&manual)).await;
    let faults = app.fake.counters().injected_faults;
    assert!(faults > 50, "faults were injected: {faults}");
    assert_truth(&world, &app, "after backfill under faults");
    world.mutate(&app.fake, 120);
    sync_until_settled(&app, Some(&manual)).await;
    assert_truth(&world, &app, "after incremental sync under faults");
}
