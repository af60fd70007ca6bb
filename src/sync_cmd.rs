//! The foreground `sync` command (SPEC §4) with a progress bar, and
//! `directory load FILE.json`. Part of the binary, not the library: the
//! work is `email_sidecar::capture`; this is only its terminal face.
//! `sync` holds the data directory's lock, so it never syncs a mailbox the
//! daemon is syncing; `directory load` does not (the directory is replaced
//! in one transaction, then each email is relinked from it in batches,
//! which is idempotent beside the daemon's own relinks).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use email_sidecar::capture::{Capture, Progress, SyncMode, SyncReport};
use email_sidecar::clock;
use email_sidecar::config::Config;
use email_sidecar::instance::Role;
use email_sidecar::store::{Directory, RunStatus, Store};
use indicatif::{ProgressBar, ProgressStyle};

pub fn run(config: Config, account: Option<&str>, full: bool) -> anyhow::Result<ExitCode> {
    let _lock = super::lock_data_dir(&config, Role::Sync)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(sync(config, account, full))
}

async fn sync(config: Config, account: Option<&str>, full: bool) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&config)?;
    let capture = Capture::from_config(&config, store.clone(), clock::system())
        .context("cannot set up capture")?;
    let accounts = store.list_accounts()?;
    let selected: Vec<_> = match account {
        Some(want) => {
            let want = want.trim().to_lowercase();
            let found: Vec<_> = accounts.into_iter().filter(|a| a.email == want).collect();
            if found.is_empty() {
                bail!("{want} is not enrolled (see `email-sidecar enroll`)");
            }
            found
        }
        None => accounts,
    };
    let mode = if full { SyncMode::Full } else { SyncMode::Auto };
    let bar = progress_bar();
    let ticker = tokio::spawn(tick(bar.clone(), capture.clone(), store.clone()));
    let runs = selected.iter().map(|a| capture.sync_account(a.id, mode));
    let reports: Vec<SyncReport> = futures::future::join_all(runs)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    ticker.abort();
    bar.finish_and_clear();
    Ok(print_reports(&reports))
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} saved · {per_sec} · {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Position = messages saved; length = what is known to exist (listed, or
/// the mailboxes' sizes from getProfile when larger); the message says
/// what remains in the durable queue.
async fn tick(bar: ProgressBar, capture: Capture, store: Store) {
    loop {
        let p = capture.progress();
        let saved = Progress::get(&p.saved);
        let listed = Progress::get(&p.listed);
        let s = store.clone();
        let (pending, total) = tokio::task::spawn_blocking(move || remaining(&s))
            .await
            .unwrap_or((0, 0));
        bar.set_length(listed.max(total).max(saved + pending));
        bar.set_position(saved);
        bar.set_message(format!(
            "{pending} queued · {} bodies",
            Progress::get(&p.bodies)
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn remaining(store: &Store) -> (u64, u64) {
    let Ok(statuses) = store.mailbox_statuses() else {
        return (0, 0);
    };
    let pending = statuses.iter().map(|s| s.pending).sum();
    let total = statuses
        .iter()
        .filter_map(|s| store.backfill_checkpoint(s.id).ok())
        .filter_map(|c| c.messages_total)
        .sum();
    (pending, total)
}

fn print_reports(reports: &[SyncReport]) -> ExitCode {
    println!(
        "{:<36} {:<12} {:<8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "MAILBOX", "KIND", "STATUS", "LISTED", "FETCHED", "ADDED", "DELETED", "ERRORS"
    );
    let mut failed = false;
    for r in reports {
        let status = if r.skipped {
            "skipped"
        } else {
            r.status.as_str()
        };
        let c = &r.counts;
        println!(
            "{:<36} {:<12} {:<8} {:>8} {:>8} {:>8} {:>8} {:>7}",
            r.email,
            r.kind.as_str(),
            status,
            c.listed,
            c.fetched,
            c.added,
            c.deleted,
            c.errors
        );
        if let Some(e) = &r.error {
            println!("  error: {e}");
        }
        failed |= r.status == RunStatus::Failed;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `directory load FILE.json`: atomic replace, then relink past email.
pub fn load_directory(config: Config, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let dir: Directory = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a directory in the SPEC §11 shape",
            file.display()
        )
    })?;
    let store = super::open_store_beside_daemon(&config, "directory load")?;
    let counts = store.replace_directory(&dir)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let capture = Capture::from_config(&config, store.clone(), clock::system())?;
        capture.rematch().await
    })?;
    println!(
        "directory: {} users, {} investors, {} contacts, {} domains, {} exclusions",
        counts.users, counts.investors, counts.contacts, counts.domains, counts.exclusions
    );
    println!(
        "relinked {} emails ({} new links); {} bodies to fetch at the next sync",
        report.changed, report.new_links, report.full_queued
    );
    Ok(ExitCode::SUCCESS)
}
