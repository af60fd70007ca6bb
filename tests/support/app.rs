//! `spawn_app()`: the daemon's capture side against a fresh fake Google —
//! temp data dir, a service-account key file written 0600, configuration
//! through the real loader (env names of SPEC §3), the store migrated,
//! mailboxes enrolled. Logs only when `TEST_LOG` is set.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Once;

use email_sidecar::capture::Capture;
use email_sidecar::clock::{self, SharedClock};
use email_sidecar::config::{AuthMethod, Config};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use email_sidecar::store::Store;
use tempfile::TempDir;

pub struct AppOptions {
    pub mailboxes: Vec<String>,
    /// Fake Google's per-user quota; `None` = off.
    pub fake_quota: Option<u32>,
    /// Extra or overriding env settings (SPEC §3 names).
    pub env: Vec<(String, String)>,
    pub clock: Option<SharedClock>,
    /// Integration enabled, with an API token file (`TEST_API_TOKEN`).
    pub enabled: bool,
}

pub const TEST_API_TOKEN: &str = "test-api-token-0123456789";

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            mailboxes: ["alice@fund.test", "bob@fund.test", "carol@fund.test"]
                .map(String::from)
                .to_vec(),
            fake_quota: None,
            env: Vec::new(),
            clock: None,
            enabled: false,
        }
    }
}

pub struct TestApp {
    pub fake: FakeGoogle,
    pub dir: TempDir,
    pub config: Config,
    pub env: HashMap<String, String>,
    pub store: Store,
    pub capture: Capture,
    pub clock: SharedClock,
}

impl TestApp {
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    pub fn db_path(&self) -> PathBuf {
        self.config.db_path()
    }

    pub fn account_id(&self, email: &str) -> i64 {
        self.store.account_by_email(email).unwrap().unwrap().id
    }
}

pub fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

/// The env a daemon needs to run against `fake` with data in `dir`.
pub fn env_for(fake: &FakeGoogle, dir: &std::path::Path) -> HashMap<String, String> {
    let key = dir.join("sa-key.json");
    std::fs::write(&key, fake.service_account_json()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let data = dir.join("data");
    [
        ("CRM_GMAIL_DATA_DIR", data.display().to_string()),
        ("CRM_GMAIL_SA_KEY_PATH", key.display().to_string()),
        ("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test".into()),
        ("CRM_GMAIL_TOKEN_URI", fake.token_uri()),
        ("CRM_GMAIL_API_BASE", fake.api_base()),
        ("CRM_GMAIL_PUBSUB_JWKS_URI", fake.jwks_uri()),
        ("CRM_GMAIL_RATE_UNITS_SEC", "10000".into()),
        ("CRM_GMAIL_RETRY_MAX", "8".into()),
        ("CRM_GMAIL_MAX_ATTACHMENT_MB", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub async fn spawn_app(opts: AppOptions) -> TestApp {
    init_logs();
    let clock = opts.clock.clone().unwrap_or_else(clock::system);
    let fake = FakeGoogle::start(FakeOptions {
        clock: Some(clock.clone()),
        quota_units_per_sec: opts.fake_quota,
        token_lifetime_secs: None,
    })
    .await
    .unwrap();
    for m in &opts.mailboxes {
        fake.add_user(m);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(&fake, dir.path());
    if opts.enabled {
        let token = dir.path().join("api-token");
        std::fs::write(&token, TEST_API_TOKEN).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        env.insert("CRM_GMAIL_INTEGRATION_ENABLED".into(), "true".into());
        env.insert(
            "CRM_GMAIL_API_TOKEN_PATH".into(),
            token.display().to_string(),
        );
    }
    env.extend(opts.env.iter().cloned());
    let lookup = env.clone();
    let config = Config::load(None, &move |k| lookup.get(k).cloned()).unwrap();
    let store = Store::open_with_clock(config.db_path(), clock.clone()).unwrap();
    for m in &opts.mailboxes {
        store.enroll_account(m, AuthMethod::Dwd, None).unwrap();
    }
    let capture = Capture::from_config(&config, store.clone(), clock.clone()).unwrap();
    TestApp {
        fake,
        dir,
        config,
        env,
        store,
        capture,
        clock,
    }
}

impl TestApp {
    /// The whole daemon on this app: capture worker plus the HTTP server on
    /// 127.0.0.1:0. Returns the base URL and the token that stops both.
    pub async fn serve_daemon(&self) -> (String, tokio_util::sync::CancellationToken) {
        let mut daemon = email_sidecar::daemon::Daemon::build(
            self.config.clone(),
            self.store.clone(),
            self.clock.clone(),
        )
        .unwrap();
        let (base, stop) = serve_state(daemon.state.clone()).await;
        daemon.spawn_worker(stop.clone());
        (base, stop)
    }

    /// The HTTP API over this app's store with no capture worker and no
    /// digest scheduler: only the test syncs or moves the schedule, so
    /// nothing changes under a read.
    pub async fn serve_routes(&self) -> (String, tokio_util::sync::CancellationToken) {
        serve_state(email_sidecar::http::AppState::new(
            self.store.clone(),
            std::sync::Arc::new(self.config.clone()),
            self.clock.clone(),
        ))
        .await
    }
}

/// `state` served by the real router on 127.0.0.1:0: the base URL, and
/// the token that stops it.
pub async fn serve_state(
    state: email_sidecar::http::AppState,
) -> (String, tokio_util::sync::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(email_sidecar::http::serve(listener, state, async move {
        stopped.cancelled().await
    }));
    (base, stop)
}

/// One investor (`inv`, domain acme.vc) with one contact (`c`, jo@acme.vc).
pub fn acme_directory() -> email_sidecar::store::Directory {
    use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor};
    Directory {
        investors: vec![DirectoryInvestor {
            id: "inv".into(),
            name: "Acme".into(),
            domains: vec!["acme.vc".into()],
            graveyard: false,
        }],
        contacts: vec![DirectoryContact {
            id: "c".into(),
            investor_id: "inv".into(),
            email: "jo@acme.vc".into(),
            name: "Jo".into(),
        }],
        ..Directory::default()
    }
}
