//! Configuration (SPEC §3): a TOML file (`--config PATH`, default
//! `config/email-sidecar.toml`) overridden by the `CRM_GMAIL_*`, `CRM_DIGEST_*`,
//! `SMTP_*` and `CRM_LLM_*` environment variables. Everything is validated
//! once at start-up; secret files are mode-checked and read here, into
//! [`Secret`]s, so the rest of the daemon never touches a secret path.
//! Read by `main` and handed to every component.

mod error;
pub mod keys;
mod live;
mod reader;
mod reload;
mod sections;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;
pub use keys::Key;
pub use live::LiveConfig;
pub use reader::{check_secret_file, EnvFn};
pub use reload::{describe, Reload, Shown};
pub use sections::{
    is_valid_domain, normalize_mailbox, AuthMethod, DigestConfig, LlmConfig, OAuthConfig,
    PubsubConfig, SmtpConfig,
};

use crate::secret::Secret;
use reader::Reader;

/// The example/default config file, used when present and no `--config`.
pub const DEFAULT_PATH: &str = "config/email-sidecar.toml";
/// The SQLite database's file name inside `data_dir`.
pub const DB_FILE_NAME: &str = "email-sidecar.db";
/// refinery narrates every migration check at info; ours is enough.
pub const DEFAULT_LOG_LEVEL: &str = "info,refinery_core=warn";
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
pub const DEFAULT_API_BASE: &str = "https://gmail.googleapis.com";
pub const DEFAULT_JWKS_URI: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// The validated configuration. `Debug` shows no secret (they are [`Secret`]s).
#[derive(Debug, Clone)]
pub struct Config {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// The log filter (`info`, `warn,email_sidecar=debug`, …).
    pub log_level: String,
    pub data_dir: PathBuf,
    pub api_token_path: Option<PathBuf>,
    /// The bearer token the CRM sends (file content, trimmed).
    pub api_token: Option<Secret<String>>,
    pub auth_method: AuthMethod,
    pub sa_key_path: Option<PathBuf>,
    /// The service-account JSON key, as read from `sa_key_path`.
    pub sa_key_json: Option<Secret<String>>,
    /// Our Workspace domain(s), lowercase.
    pub workspace_domains: Vec<String>,
    pub oauth: Option<OAuthConfig>,
    pub secret_key_path: Option<PathBuf>,
    /// The AES-256-GCM key for refresh tokens at rest.
    pub secret_key: Option<Secret<[u8; 32]>>,
    pub sync_interval_min: u32,
    pub backfill_page_size: u32,
    /// 0 = everything.
    pub backfill_days: u32,
    /// Search for the directory's mail first and fetch it in full before
    /// the ordinary backfill (issue 7).
    pub investor_first: bool,
    pub max_attachment_mb: u64,
    pub attach_concurrency: usize,
    pub rate_units_sec: u32,
    pub max_in_flight: usize,
    pub retry_max: u32,
    pub history_stale_days: u32,
    /// No trailing slash.
    pub token_uri: String,
    /// No trailing slash; Gmail paths are `/gmail/v1/...` under it.
    pub api_base: String,
    pub pubsub: PubsubConfig,
    pub digest: DigestConfig,
    pub smtp: Option<SmtpConfig>,
    pub llm: Option<LlmConfig>,
}

impl Config {
    /// Loads `path` (if any) and applies the environment `env` on top.
    /// Every problem found is reported, each naming its key.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut r = Reader::new(path, env)?;
        let config = build(&mut r);
        match ConfigError::from_list(std::mem::take(&mut r.errors)) {
            Some(err) => Err(err),
            None => Ok(config),
        }
    }

    /// Loads from the process environment (what `main` uses).
    pub fn from_process_env(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load(path, &|name| std::env::var(name).ok())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(DB_FILE_NAME)
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("email_attachments")
    }

    pub fn sync_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.sync_interval_min) * 60)
    }

    /// The largest attachment stored, in bytes.
    pub fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_mb.saturating_mul(1024 * 1024)
    }

    /// Every configured secret file, with the key that names it.
    pub fn secret_files(&self) -> Vec<(Key, &Path)> {
        let candidates = [
            (keys::API_TOKEN_PATH, self.api_token_path.as_deref()),
            (keys::SA_KEY_PATH, self.sa_key_path.as_deref()),
            (keys::SECRET_KEY_PATH, self.secret_key_path.as_deref()),
            (
                keys::OAUTH_CLIENT_SECRET_PATH,
                self.oauth
                    .as_ref()
                    .and_then(|o| o.client_secret_path.as_deref()),
            ),
            (
                keys::SMTP_PASSWORD_PATH,
                self.smtp.as_ref().and_then(|s| s.password_path.as_deref()),
            ),
            (
                keys::LLM_API_KEY_PATH,
                self.llm.as_ref().and_then(|l| l.api_key_path.as_deref()),
            ),
        ];
        candidates
            .into_iter()
            .filter_map(|(key, path)| path.map(|p| (key, p)))
            .collect()
    }

    /// Whether `address`'s domain is one of our Workspace domains.
    pub fn is_workspace_address(&self, address: &str) -> bool {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase());
        domain.is_some_and(|d| self.workspace_domains.contains(&d))
    }
}

fn build(r: &mut Reader<'_>) -> Config {
    use keys::*;
    let enabled = r.bool(ENABLED, false);
    let listen = r
        .parsed(LISTEN, "an IP:PORT address such as 127.0.0.1:8765", |s| {
            s.parse::<SocketAddr>().ok()
        })
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8765)));
    let log_level = r
        .parsed(
            LOG_LEVEL,
            "a log filter such as info, warn or info,email_sidecar=debug",
            |s| {
                tracing_subscriber::EnvFilter::try_new(s)
                    .ok()
                    .map(|_| s.to_string())
            },
        )
        .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_string());
    let data_dir = r.path(DATA_DIR).unwrap_or_else(|| PathBuf::from("./data"));
    let auth_method = r
        .parsed(AUTH_METHOD, "`dwd` or `oauth`", |s| s.parse().ok())
        .unwrap_or(AuthMethod::Dwd);
    let when_enabled = format!("when {}=true", ENABLED.env);

    let api_token_path = r.path(API_TOKEN_PATH);
    let api_token_path = if enabled {
        r.require(API_TOKEN_PATH, api_token_path, &when_enabled)
    } else {
        api_token_path
    };
    let api_token = api_token_path
        .as_deref()
        .and_then(|p| r.secret_file(API_TOKEN_PATH, p))
        .map(|s| Secret::new(s.expose().trim().to_string()));

    let auth = google_auth(r, enabled, auth_method);

    Config {
        enabled,
        listen,
        log_level,
        data_dir,
        api_token_path,
        api_token,
        auth_method,
        sa_key_path: auth.sa_key_path,
        sa_key_json: auth.sa_key_json,
        workspace_domains: auth.workspace_domains,
        oauth: auth.oauth,
        secret_key_path: auth.secret_key_path,
        secret_key: auth.secret_key,
        sync_interval_min: r.number(SYNC_INTERVAL_MIN, 180, 1..=10_080),
        backfill_page_size: r.number(BACKFILL_PAGE_SIZE, 500, 1..=500),
        backfill_days: r.number(BACKFILL_DAYS, 0, 0..=36_500),
        investor_first: r.bool(INVESTOR_FIRST, true),
        max_attachment_mb: r.number(MAX_ATTACHMENT_MB, 50, 0..=4_096),
        attach_concurrency: r.number(ATTACH_CONCURRENCY, 4, 1..=64),
        rate_units_sec: r.number(RATE_UNITS_SEC, 90, 1..=10_000),
        max_in_flight: r.number(MAX_IN_FLIGHT, 8, 1..=100),
        retry_max: r.number(RETRY_MAX, 5, 0..=50),
        history_stale_days: r.number(HISTORY_STALE_DAYS, 5, 1..=365),
        token_uri: r.url(TOKEN_URI).unwrap_or_else(|| DEFAULT_TOKEN_URI.into()),
        api_base: r.url(API_BASE).unwrap_or_else(|| DEFAULT_API_BASE.into()),
        pubsub: sections::pubsub(r),
        digest: sections::digest(r),
        smtp: sections::smtp(r),
        llm: sections::llm(r),
    }
}

/// The keys that decide how we authenticate to Google.
struct GoogleAuth {
    workspace_domains: Vec<String>,
    sa_key_path: Option<PathBuf>,
    sa_key_json: Option<Secret<String>>,
    oauth: Option<OAuthConfig>,
    secret_key_path: Option<PathBuf>,
    secret_key: Option<Secret<[u8; 32]>>,
}

/// DWD needs the service-account key and our domain; OAuth needs its
/// client and the AES key (both only once the integration is enabled).
fn google_auth(r: &mut Reader<'_>, enabled: bool, method: AuthMethod) -> GoogleAuth {
    use keys::*;
    let workspace_domains = sections::domains(r);
    let sa_key_path = r.path(SA_KEY_PATH);
    let secret_key_path = r.path(SECRET_KEY_PATH);
    let oauth = sections::oauth(r, enabled && method == AuthMethod::OAuth);
    let why = format!(
        "when {}={method} and the integration is enabled",
        AUTH_METHOD.env
    );
    if enabled && method == AuthMethod::Dwd {
        r.require(SA_KEY_PATH, sa_key_path.as_ref(), &why);
        if workspace_domains.is_empty() {
            r.require::<()>(WORKSPACE_DOMAIN, None, &why);
        }
    }
    if enabled && method == AuthMethod::OAuth {
        r.require(SECRET_KEY_PATH, secret_key_path.as_ref(), &why);
    }
    let sa_key_json = sa_key_path
        .as_deref()
        .and_then(|p| r.secret_file(SA_KEY_PATH, p));
    let secret_key = secret_key_path
        .as_deref()
        .and_then(|p| sections::aes_key(r, p));
    GoogleAuth {
        workspace_domains,
        sa_key_path,
        sa_key_json,
        oauth,
        secret_key_path,
        secret_key,
    }
}
