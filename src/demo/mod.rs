//! `email-sidecar demo` (SPEC §9): in one process, fake Google
//! ([`FakeGoogle`], JWT-verifying token endpoint, Gmail API with quota and
//! history) with three mailboxes seeded from the bundled `samples/`, an
//! in-process SMTP sink, and the real daemon ([`Daemon`]) configured
//! through the ordinary loader to use them. It backfills and matches, then
//! through its own API ([`plugins`]) approves a proposal onto the feed,
//! creates a reply draft and sends the digest; it checks those against fake
//! Google and the sink, prints a summary with a token and `curl` lines, and
//! serves the API on localhost until Ctrl-C/SIGTERM.
//! No network, no Google account. Like `serve`, it holds the daemon's data
//! directory's single-instance lock ([`crate::instance`]) while it runs.

pub mod plugins;
pub mod seed;
pub mod smtp_sink;
mod summary;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::capture::{CaptureError, SyncMode};
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::daemon::Daemon;
use crate::fake_google::{FakeGoogle, FakeOptions};
use crate::instance::{InstanceLock, LockError, Role};
use crate::store::{Store, StoreError};
use smtp_sink::SmtpSink;

/// Gmail quota on the fake and the daemon alike (an older project's 250/s).
const DEMO_UNITS_SEC: u32 = 250;
/// The daemon's data directory (database, attachments, lock) inside the
/// demo's directory, beside `secrets/`.
const DAEMON_DATA: &str = "data";

pub struct DemoOptions {
    /// Where the API listens; a free port is used if this one is taken.
    pub listen: SocketAddr,
    /// Keep the data here; `None` = a temp dir removed at exit.
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: {0}")]
    Setup(String),
    #[error("demo: {0}")]
    Io(#[from] std::io::Error),
    #[error("demo configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("demo database: {0}")]
    Store(#[from] StoreError),
    #[error("demo capture: {0}")]
    Capture(#[from] CaptureError),
    #[error("demo: {0}")]
    Lock(#[from] LockError),
}

/// The demo's data directory; removed on drop when it is a temp dir.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    fn new(given: Option<PathBuf>) -> std::io::Result<DataDir> {
        let (path, temporary) = match given {
            Some(p) => (p, false),
            None => {
                let name = format!("email-sidecar-demo-{:016x}", rand::random::<u64>());
                (std::env::temp_dir().join(name), true)
            }
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)?;
        Ok(DataDir { path, temporary })
    }

    /// The single-instance lock of the daemon's data directory, as `serve`
    /// takes it, so no command acts on it while the demo runs.
    fn lock(&self) -> Result<InstanceLock, LockError> {
        let daemon_data = self.path.join(DAEMON_DATA);
        InstanceLock::acquire(&daemon_data, Role::Demo, clock::system().now())
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(opts: DemoOptions) -> Result<(), DemoError> {
    let data = DataDir::new(opts.data_dir)?;
    let _lock = data.lock()?;
    let fake = FakeGoogle::start(FakeOptions {
        quota_units_per_sec: Some(DEMO_UNITS_SEC),
        ..FakeOptions::default()
    })
    .await?;
    for m in seed::MAILBOXES {
        fake.add_user(m);
    }
    seed::deliver_samples(&fake);
    let sink = SmtpSink::start().await?;
    let token = format!("demo-{:032x}", rand::random::<u128>());
    let config = demo_config(&fake, &sink, &data.path, &token)?;
    let store = Store::open(config.db_path())?;
    store.replace_directory(&seed::directory())?;
    for m in seed::MAILBOXES {
        store.enroll_account(m, config.auth_method, None)?;
    }
    let mut daemon = Daemon::build(config, store.clone(), clock::system())?;
    let capture = daemon
        .state
        .capture
        .clone()
        .ok_or_else(|| DemoError::Setup("capture is off in the demo config".into()))?;
    let reports = capture.capture.sync_all(SyncMode::Auto).await?;
    let stop = CancellationToken::new();
    daemon.spawn_worker(stop.clone());
    let listener = bind(opts.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let stopped = stop.clone();
    let server = tokio::spawn(crate::http::serve(
        listener,
        daemon.state.clone(),
        async move { stopped.cancelled().await },
    ));
    let api = plugins::DemoApi::new(base.clone(), token.clone());
    let proposals = plugins::review_proposals(&api).await;
    let draft = plugins::create_draft(&api).await;
    let digest = plugins::send_digest(&api).await;
    let report = summary::Report {
        reports,
        totals: store.run(|s| s.totals()).await?,
        seen: observe(&fake, &sink, draft.done(), digest.done()),
        proposals,
        draft,
        digest,
        data_dir: data.path.clone(),
        temporary: data.temporary,
    };
    summary::print(&report, &base, &token);
    wait_for_stop().await?;
    stop.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    fake.shutdown().await;
    Ok(())
}

/// What fake Google and the SMTP sink really hold, to check what the steps'
/// answers claim: the draft in Alice's mailbox and thread, the calls
/// served, and where a message carrying the digest's Message-ID went.
fn observe(
    fake: &FakeGoogle,
    sink: &SmtpSink,
    draft: Option<&plugins::DraftMade>,
    digest: Option<&plugins::DigestSent>,
) -> summary::Seen {
    let drafts = fake.drafts(seed::ALICE);
    let calls = fake.counters().calls;
    let count = |m: &str| calls.get(m).copied().unwrap_or(0);
    let carries = |raw: &[u8]| {
        digest.is_some_and(|d| {
            !d.message_id.is_empty() && String::from_utf8_lossy(raw).contains(d.message_id.as_str())
        })
    };
    let sink_messages = sink.messages();
    summary::Seen {
        alice_drafts: drafts.len(),
        draft_in_thread: draft.is_some_and(|d| drafts.iter().any(|m| m.thread_id == d.thread_id)),
        drafts_create: count("users.drafts.create"),
        messages_send: count("users.messages.send"),
        digest_in_gmail: seed::MAILBOXES
            .iter()
            .flat_map(|m| fake.sent(m))
            .filter(|raw| carries(raw))
            .count(),
        smtp_messages: sink_messages.len(),
        digest_in_sink: sink_messages.iter().filter(|m| carries(&m.data)).count(),
    }
}

/// `listen`, or any free port on the same address when it is taken.
async fn bind(listen: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("note: {listen} is taken; using a free port instead");
            tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), 0)).await
        }
        Err(e) => Err(e),
    }
}

async fn wait_for_stop() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The daemon's configuration, through the real loader with SPEC §3 names
/// (the process environment is not consulted: the demo is self-contained).
fn demo_config(
    fake: &FakeGoogle,
    sink: &SmtpSink,
    data: &Path,
    token: &str,
) -> Result<Config, DemoError> {
    let secrets = data.join("secrets");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&secrets)?;
    let (key, token_file) = (secrets.join("sa-key.json"), secrets.join("api-token"));
    write_secret(&key, &fake.service_account_json())?;
    write_secret(&token_file, token)?;
    let path = |p: &Path| p.display().to_string();
    let env: HashMap<&str, String> = [
        ("CRM_GMAIL_INTEGRATION_ENABLED", "true".into()),
        ("CRM_GMAIL_DATA_DIR", path(&data.join(DAEMON_DATA))),
        ("CRM_GMAIL_API_TOKEN_PATH", path(&token_file)),
        ("CRM_GMAIL_SA_KEY_PATH", path(&key)),
        ("CRM_GMAIL_WORKSPACE_DOMAIN", seed::DOMAIN.into()),
        ("CRM_GMAIL_TOKEN_URI", fake.token_uri()),
        ("CRM_GMAIL_API_BASE", fake.api_base()),
        ("CRM_GMAIL_PUBSUB_JWKS_URI", fake.jwks_uri()),
        ("CRM_GMAIL_RATE_UNITS_SEC", DEMO_UNITS_SEC.to_string()),
        ("CRM_GMAIL_SYNC_INTERVAL_MIN", "1".into()),
        ("CRM_DIGEST_SENDER", seed::ALICE.into()),
        ("CRM_DIGEST_TIMEZONE", "UTC".into()),
        ("SMTP_HOST", sink.addr().ip().to_string()),
        ("SMTP_PORT", sink.addr().port().to_string()),
        ("SMTP_FROM", format!("digest@{}", seed::DOMAIN)),
        ("SMTP_STARTTLS", "false".into()),
    ]
    .into_iter()
    .collect();
    Ok(Config::load(None, &|k| env.get(k).cloned())?)
}
