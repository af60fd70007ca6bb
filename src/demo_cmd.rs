//! `email-sidecar demo`: the self-contained demo (SPEC §9); the work is
//! `email_sidecar::demo`, this only runs it until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

pub fn run(listen: SocketAddr, data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(email_sidecar::demo::run(email_sidecar::demo::DemoOptions {
        listen,
        data_dir,
    }))?;
    Ok(ExitCode::SUCCESS)
}
