//! `email-sidecar serve`: the daemon's process life (SPEC §4). Binds the
//! listener, assembles the [`Daemon`], tells systemd it is ready
//! (`sd_notify READY=1`) and pings its watchdog from the main loop; SIGHUP
//! re-reads the configuration and applies the live-safe settings (log
//! level, sweep interval, digest/SMTP/LLM through `LiveConfig`); SIGTERM or
//! SIGINT stops accepting, lets the capture worker drain, and returns
//! within [`STOP_BUDGET`] so `main` exits 0 inside systemd's 10 s.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use email_sidecar::capture::worker::{Command, WorkerHandle};
use email_sidecar::clock;
use email_sidecar::config::{keys, Config, LiveConfig, Reload};
use email_sidecar::daemon::Daemon;
use email_sidecar::http;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::logs::LogControl;

/// From SIGTERM to return: the worker drains for up to 6 s (its own
/// budget), HTTP in parallel; what is left after this is dropped (every
/// step is transactional, the fetch queue durable).
pub const STOP_BUDGET: Duration = Duration::from_millis(9_000);

/// What a SIGHUP needs to re-read and apply the configuration.
pub struct Reloader {
    pub path: Option<PathBuf>,
    pub logs: LogControl,
    pub live: LiveConfig,
    pub worker: Option<WorkerHandle>,
}

impl Reloader {
    /// Re-reads the same file with the same environment. A broken config
    /// keeps the running one; changes that need a restart are logged and
    /// ignored; the rest takes effect now.
    pub fn reload(&self) {
        let new = match Config::from_process_env(self.path.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the configuration is invalid; keeping the running one");
                return;
            }
        };
        let plan = Reload::plan(&self.live.current(), new);
        for k in &plan.needs_restart {
            tracing::warn!(
                key = k.env,
                toml = k.toml,
                "SIGHUP: changed, but needs a restart to take effect; ignored until then"
            );
        }
        if plan.applied.contains(&keys::LOG_LEVEL) {
            self.logs.set(&plan.config.log_level);
        }
        if plan.applied.contains(&keys::SYNC_INTERVAL_MIN) {
            if let Some(w) = &self.worker {
                w.send(Command::SetSweepInterval(plan.config.sync_interval()));
            }
        }
        let applied: Vec<&str> = plan.applied.iter().map(|k| k.env).collect();
        self.live.replace(plan.config);
        tracing::info!(applied = ?applied, "SIGHUP: configuration reloaded");
    }
}

/// Serves until SIGTERM/SIGINT, then drains and returns.
pub async fn serve(config: Config, path: Option<PathBuf>, logs: LogControl) -> anyhow::Result<()> {
    // Before anything can be waited on: an early SIGHUP must not take the
    // default action (terminate).
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let store = crate::open_store(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, enabled = config.enabled, db = %store.path().display(), "listening");
    let mut daemon =
        Daemon::build(config, store, clock::system()).context("cannot start capture")?;
    let worker_stop = CancellationToken::new();
    let worker = daemon.spawn_worker(worker_stop.clone());
    let state = daemon.state.clone();
    let reloader = Reloader {
        path,
        logs,
        live: state.live.clone(),
        worker: state.capture.as_ref().map(|c| c.worker.clone()),
    };
    let http_stop = CancellationToken::new();
    let stopped = http_stop.clone();
    let mut server = tokio::spawn(http::serve(listener, state, async move {
        stopped.cancelled().await
    }));
    notify(&format!("READY=1\nSTATUS=listening on {addr}"));
    let mut watchdog = tokio::time::interval(watchdog_interval().unwrap_or(Duration::MAX / 4));
    let why = loop {
        tokio::select! {
            finished = &mut server => {
                finished.context("HTTP server task failed")?.context("HTTP server failed")?;
                bail!("HTTP server stopped unexpectedly");
            }
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => reloader.reload(),
            _ = watchdog.tick() => notify("WATCHDOG=1"),
        }
    };
    tracing::info!(signal = why, "shutting down: draining in-flight work");
    notify("STOPPING=1");
    http_stop.cancel();
    worker_stop.cancel();
    drain(server, worker).await
}

/// Waits for the HTTP server (in-flight requests) and the worker (its own
/// 6 s drain) within [`STOP_BUDGET`].
async fn drain(
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: Option<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    let drained = async {
        let http = server.await;
        if let Some(w) = worker {
            let _ = w.await;
        }
        http
    };
    match tokio::time::timeout(STOP_BUDGET, drained).await {
        Ok(finished) => finished.context("HTTP server task failed")??,
        Err(_) => tracing::warn!("in-flight work did not finish in time; exiting anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Half of systemd's `WatchdogSec` (`WATCHDOG_USEC`), when it is for us.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// `sd_notify(3)`: one datagram to `$NOTIFY_SOCKET` (a path, or `@name` in
/// the abstract namespace). Not under systemd: nothing to do.
pub fn notify(message: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notify(&target, message) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

fn send_notify(target: &std::ffi::OsStr, message: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::SocketAddr;
    let bytes = target.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::path::Path::new(target))?,
    };
    let socket = UnixDatagram::unbound()?;
    socket.send_to_addr(message.as_bytes(), &addr)?;
    Ok(())
}
