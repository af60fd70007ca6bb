//! `email-sidecar demo`: the self-contained demo (SPEC §9).

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    eprintln!("`demo` is not yet implemented (it comes with issue 6)");
    Ok(ExitCode::from(2))
}
