//! `email-sidecar digest preview|send`: the digest from the command line.
//! `preview` prints what the next scheduled digest would hold now;
//! `send` sends today's scheduled digest now, whatever the hour or the
//! policy (an operator's explicit command), through the same exactly-once
//! path as the scheduler: a run a crash left behind is looked up in the
//! sender's mailbox before anything is sent again, and a day already sent
//! is not sent twice. `send` holds the data directory's lock, so it is
//! refused while the daemon (whose scheduler may be sending that very run)
//! is running; `preview` only reads.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use email_sidecar::clock;
use email_sidecar::config::{Config, LiveConfig};
use email_sidecar::digest::{Digests, Outcome};
use email_sidecar::instance::Role;

pub fn run(config: Config, action: &str) -> anyhow::Result<ExitCode> {
    let _lock = (action == "send")
        .then(|| crate::lock_data_dir(&config, Role::DigestSend))
        .transpose()?;
    let store = match action {
        "send" => crate::open_store(&config)?,
        _ => crate::open_store_beside_daemon(&config, "digest preview")?,
    };
    store
        .seed_digest_policy(&config.digest)
        .context("cannot seed the digest policy")?;
    let live = LiveConfig::new(Arc::new(config));
    let digests = Digests::new(store, live, clock::system());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        match action {
            "preview" => preview(&digests).await,
            _ => send(&digests).await,
        }
    })
}

async fn preview(digests: &Digests) -> anyhow::Result<ExitCode> {
    let d = digests.preview().await.context("cannot build the digest")?;
    println!("Subject: {}", d.subject);
    println!(
        "Window: {} to {}\n",
        d.window_start.to_rfc3339(),
        d.window_end.to_rfc3339()
    );
    print!("{}", d.text);
    Ok(ExitCode::SUCCESS)
}

async fn send(digests: &Digests) -> anyhow::Result<ExitCode> {
    let outcome = digests
        .send_scheduled(digests.now())
        .await
        .context("cannot send the digest")?;
    let code = match &outcome {
        Outcome::Sent { run_id, transport } => {
            println!("digest run {run_id} sent via {transport}");
            ExitCode::SUCCESS
        }
        Outcome::AlreadySent { run_id } => {
            println!("today's digest was already sent (run {run_id}); nothing sent");
            ExitCode::SUCCESS
        }
        Outcome::Failed { run_id, error } => {
            eprintln!("digest run {run_id} failed: {error}");
            ExitCode::FAILURE
        }
        other => {
            eprintln!("digest not sent: {other:?}");
            ExitCode::FAILURE
        }
    };
    Ok(code)
}
