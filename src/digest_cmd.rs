//! `email-sidecar digest preview|send`: the digest from the command line.

use std::process::ExitCode;

use email_sidecar::config::Config;

pub fn run(_config: Config, _action: &str) -> anyhow::Result<ExitCode> {
    eprintln!("`digest` is not yet implemented (it comes with issue 5)");
    Ok(ExitCode::from(2))
}
