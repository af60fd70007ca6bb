//! Crash safety: the real binary (`email-sidecar sync`) as a child process
//! against fake Google (in this test process, quota on so a sync takes
//! seconds), SIGKILLed at random moments during backfill and again during
//! incremental sync, restarted each time. The database must equal the
//! ground truth exactly, and finished work must not be fetched again.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use email_sidecar::store::Store;
use rand::{Rng, SeedableRng};
use support::app::env_for;
use support::snapshot::assert_matches_truth;
use support::world::{World, WorldSpec};

const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");
const KILLS: usize = 12;

struct Env {
    vars: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .current_dir(self.dir.path())
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> i32 {
        self.command(args).status().unwrap().code().unwrap_or(-1)
    }

    fn spawn_sync(&self) -> Child {
        self.command(&["sync"]).spawn().unwrap()
    }
}

fn kill_now(child: &mut Child) {
    // SIGKILL: no chance to clean up, like a power cut of the process.
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Starts `sync`, SIGKILLs it after a random moment, `n` times; returns how
/// many runs finished on their own before the kill.
async fn kill_repeatedly(env: &Env, n: usize, rng: &mut rand::rngs::StdRng, max_ms: u64) -> usize {
    let mut finished = 0;
    for _ in 0..n {
        let mut child = env.spawn_sync();
        let wait = rng.gen_range(150..max_ms);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => kill_now(&mut child),
        }
    }
    finished
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_during_backfill_and_incremental_loses_and_duplicates_nothing() {
    support::app::init_logs();
    let spec = WorldSpec {
        attachment_cap_bytes: 1 << 20,
        seed: 0xc4a5,
        ..WorldSpec::standard(400)
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
    let mut vars: Vec<(String, String)> = env_for(&fake, dir.path()).into_iter().collect();
    vars.retain(|(k, _)| k != "CRM_GMAIL_RATE_UNITS_SEC");
    vars.push(("CRM_GMAIL_RATE_UNITS_SEC".into(), "250".into()));
    let env = Env { vars, dir };
    let data = env.dir.path().join("data");
    let db = data.join("email-sidecar.db");
    let mut enroll = vec!["enroll"];
    enroll.extend(spec.mailboxes.iter().map(String::as_str));
    assert_eq!(env.run(&enroll), 0);
    let dir_file = env.dir.path().join("directory.json");
    std::fs::write(
        &dir_file,
        serde_json::to_string(&world.directory()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        env.run(&["directory", "load", dir_file.to_str().unwrap()]),
        0
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xdead);
    let early = kill_repeatedly(&env, KILLS, &mut rng, 3500).await;
    assert!(
        early < KILLS / 2,
        "most runs must be killed mid-backfill ({early} finished early)"
    );
    let progressed = Store::open(&db).unwrap().mailbox_statuses().unwrap();
    assert!(
        progressed.iter().any(|s| s.messages > 0),
        "the killed runs made progress: {progressed:?}"
    );
    assert_eq!(env.run(&["sync"]), 0, "a clean run completes");
    assert_matches_truth(&world, &db, &data, "after backfill with SIGKILLs", false);
    let gets = fake
        .counters()
        .calls
        .get("users.messages.get")
        .copied()
        .unwrap_or(0);
    let visible: u64 = world
        .msgs
        .iter()
        .map(|m| m.deliveries.iter().filter(|d| d.visible()).count() as u64)
        .sum();
    let matched = world.matched_count() as u64;
    // One metadata get per visible copy and one full get per matched email,
    // plus at most what the killed runs had in flight (a round each).
    let bound = visible + matched * 2 + (KILLS as u64) * 250;
    assert!(
        gets <= bound,
        "finished work was refetched: {gets} gets > {bound}"
    );

    world.mutate(&fake, 300);
    kill_repeatedly(&env, 4, &mut rng, 800).await;
    assert_eq!(env.run(&["sync"]), 0);
    assert_matches_truth(
        &world,
        &db,
        &data,
        "after incremental sync with SIGKILLs",
        false,
    );
}
