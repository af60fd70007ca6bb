//! Logging for the binary (SPEC §4): `tracing` to stderr, JSON when asked
//! (`--log-format json`) or when stderr goes to the journal
//! (`JOURNAL_STREAM` set by systemd), human-readable otherwise (colours
//! only on a TTY). The filter sits behind a reload layer so a SIGHUP can
//! change the level; `RUST_LOG`, when set, wins over the config's
//! `log_level` both at start and on reload.

use std::io::IsTerminal;

use email_sidecar::config::DEFAULT_LOG_LEVEL;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter, Registry};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Changes the live log filter.
#[derive(Clone)]
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
    /// `RUST_LOG` was set: it stays in charge.
    pinned: bool,
}

impl LogControl {
    /// The config's `log_level` at start-up, unless `RUST_LOG` pins it.
    pub fn start_with(&self, directives: &str) {
        if !self.pinned && directives != DEFAULT_LOG_LEVEL {
            self.set(directives);
        }
    }

    /// Applies the config's `log_level` unless `RUST_LOG` pins the filter.
    pub fn set(&self, directives: &str) {
        if self.pinned {
            tracing::info!("RUST_LOG is set; log_level from the config is not applied");
            return;
        }
        match EnvFilter::try_new(directives) {
            Ok(filter) => match self.handle.reload(filter) {
                Ok(()) => tracing::info!(log_level = directives, "log level set"),
                Err(e) => tracing::warn!(error = %e, "cannot change the log level"),
            },
            Err(e) => tracing::warn!(error = %e, log_level = directives, "invalid log level"),
        }
    }
}

/// `format`: as asked on the command line; `None` = JSON under systemd's
/// journal, human otherwise. `quiet`: warnings only by default (the demo,
/// whose own output is the point).
pub fn init(format: Option<LogFormat>, quiet: bool) -> LogControl {
    let from_env = EnvFilter::try_from_default_env().ok();
    let pinned = from_env.is_some();
    let default = if quiet { "warn" } else { DEFAULT_LOG_LEVEL };
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(default));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let json = format.map_or(journal, |f| f == LogFormat::Json);
    let stderr = std::io::stderr;
    if json {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_writer(stderr);
        registry.with(layer).init();
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(stderr);
        registry.with(layer).init();
    }
    LogControl { handle, pinned }
}
