//! The configuration keys: each TOML key with the environment variable that
//! overrides it. The env names are SPEC §3's and the CRM's ops already use
//! them, so they never change; the TOML keys mirror them.

/// One configuration key: where it lives in the TOML file and its env name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Dotted TOML path, e.g. `backfill_page_size` or `smtp.port`.
    pub toml: &'static str,
    /// Environment variable that overrides the file.
    pub env: &'static str,
    /// False for secret *values* accepted from the environment only, so a
    /// password is never written into the (world-readable) config file.
    pub in_file: bool,
}

const fn k(toml: &'static str, env: &'static str) -> Key {
    Key {
        toml,
        env,
        in_file: true,
    }
}

const fn env_only(toml: &'static str, env: &'static str) -> Key {
    Key {
        toml,
        env,
        in_file: false,
    }
}

pub const ENABLED: Key = k("enabled", "CRM_GMAIL_INTEGRATION_ENABLED");
pub const LISTEN: Key = k("listen", "CRM_GMAIL_LISTEN");
/// Log filter (tracing `EnvFilter` syntax); reloaded on SIGHUP. `RUST_LOG` wins.
pub const LOG_LEVEL: Key = k("log_level", "CRM_GMAIL_LOG_LEVEL");
pub const DATA_DIR: Key = k("data_dir", "CRM_GMAIL_DATA_DIR");
pub const API_TOKEN_PATH: Key = k("api_token_path", "CRM_GMAIL_API_TOKEN_PATH");
pub const AUTH_METHOD: Key = k("auth_method", "CRM_GMAIL_AUTH_METHOD");
pub const SA_KEY_PATH: Key = k("sa_key_path", "CRM_GMAIL_SA_KEY_PATH");
pub const WORKSPACE_DOMAIN: Key = k("workspace_domain", "CRM_GMAIL_WORKSPACE_DOMAIN");
pub const SECRET_KEY_PATH: Key = k("secret_key_path", "CRM_GMAIL_SECRET_KEY_PATH");
pub const SYNC_INTERVAL_MIN: Key = k("sync_interval_min", "CRM_GMAIL_SYNC_INTERVAL_MIN");
pub const BACKFILL_PAGE_SIZE: Key = k("backfill_page_size", "CRM_GMAIL_BACKFILL_PAGE_SIZE");
pub const BACKFILL_DAYS: Key = k("backfill_days", "CRM_GMAIL_BACKFILL_DAYS");
pub const INVESTOR_FIRST: Key = k("investor_first", "CRM_GMAIL_INVESTOR_FIRST");
pub const MAX_ATTACHMENT_MB: Key = k("max_attachment_mb", "CRM_GMAIL_MAX_ATTACHMENT_MB");
pub const ATTACH_CONCURRENCY: Key = k("attach_concurrency", "CRM_GMAIL_ATTACH_CONCURRENCY");
pub const RATE_UNITS_SEC: Key = k("rate_units_sec", "CRM_GMAIL_RATE_UNITS_SEC");
pub const MAX_IN_FLIGHT: Key = k("max_in_flight", "CRM_GMAIL_MAX_IN_FLIGHT");
pub const RETRY_MAX: Key = k("retry_max", "CRM_GMAIL_RETRY_MAX");
pub const HISTORY_STALE_DAYS: Key = k("history_stale_days", "CRM_GMAIL_HISTORY_STALE_DAYS");
pub const TOKEN_URI: Key = k("token_uri", "CRM_GMAIL_TOKEN_URI");
pub const API_BASE: Key = k("api_base", "CRM_GMAIL_API_BASE");

pub const OAUTH_CLIENT_ID: Key = k("oauth.client_id", "CRM_GMAIL_OAUTH_CLIENT_ID");
pub const OAUTH_CLIENT_SECRET: Key =
    env_only("oauth.client_secret", "CRM_GMAIL_OAUTH_CLIENT_SECRET");
pub const OAUTH_CLIENT_SECRET_PATH: Key = k(
    "oauth.client_secret_path",
    "CRM_GMAIL_OAUTH_CLIENT_SECRET_PATH",
);
pub const OAUTH_REDIRECT_URI: Key = k("oauth.redirect_uri", "CRM_GMAIL_OAUTH_REDIRECT_URI");
pub const OAUTH_AUTH_URI: Key = k("oauth.auth_uri", "CRM_GMAIL_OAUTH_AUTH_URI");

pub const PUBSUB_TOPIC: Key = k("pubsub.topic", "CRM_GMAIL_PUBSUB_TOPIC");
pub const PUBSUB_AUDIENCE: Key = k("pubsub.audience", "CRM_GMAIL_PUBSUB_AUDIENCE");
pub const PUBSUB_JWKS_URI: Key = k("pubsub.jwks_uri", "CRM_GMAIL_PUBSUB_JWKS_URI");

pub const DIGEST_ENABLED: Key = k("digest.enabled", "CRM_DIGEST_ENABLED");
pub const DIGEST_SEND_HOUR: Key = k("digest.send_hour", "CRM_DIGEST_SEND_HOUR");
pub const DIGEST_TIMEZONE: Key = k("digest.timezone", "CRM_DIGEST_TIMEZONE");
pub const DIGEST_SENDER: Key = k("digest.sender", "CRM_DIGEST_SENDER");

pub const SMTP_HOST: Key = k("smtp.host", "SMTP_HOST");
pub const SMTP_PORT: Key = k("smtp.port", "SMTP_PORT");
pub const SMTP_USERNAME: Key = k("smtp.username", "SMTP_USERNAME");
pub const SMTP_PASSWORD: Key = env_only("smtp.password", "SMTP_PASSWORD");
pub const SMTP_PASSWORD_PATH: Key = k("smtp.password_path", "SMTP_PASSWORD_PATH");
pub const SMTP_FROM: Key = k("smtp.from", "SMTP_FROM");
pub const SMTP_STARTTLS: Key = k("smtp.starttls", "SMTP_STARTTLS");

pub const LLM_BASE_URL: Key = k("llm.base_url", "CRM_LLM_BASE_URL");
pub const LLM_MODEL: Key = k("llm.model", "CRM_LLM_MODEL");
pub const LLM_API_KEY_PATH: Key = k("llm.api_key_path", "CRM_LLM_API_KEY_PATH");
pub const LLM_TIMEOUT_SECS: Key = k("llm.timeout_secs", "CRM_LLM_TIMEOUT_SECS");

/// Every key the loader knows, in the order of the example config file.
pub const ALL: &[Key] = &[
    ENABLED,
    LISTEN,
    LOG_LEVEL,
    DATA_DIR,
    API_TOKEN_PATH,
    AUTH_METHOD,
    SA_KEY_PATH,
    WORKSPACE_DOMAIN,
    SECRET_KEY_PATH,
    SYNC_INTERVAL_MIN,
    BACKFILL_PAGE_SIZE,
    BACKFILL_DAYS,
    INVESTOR_FIRST,
    MAX_ATTACHMENT_MB,
    ATTACH_CONCURRENCY,
    RATE_UNITS_SEC,
    MAX_IN_FLIGHT,
    RETRY_MAX,
    HISTORY_STALE_DAYS,
    TOKEN_URI,
    API_BASE,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_CLIENT_SECRET_PATH,
    OAUTH_REDIRECT_URI,
    OAUTH_AUTH_URI,
    PUBSUB_TOPIC,
    PUBSUB_AUDIENCE,
    PUBSUB_JWKS_URI,
    DIGEST_ENABLED,
    DIGEST_SEND_HOUR,
    DIGEST_TIMEZONE,
    DIGEST_SENDER,
    SMTP_HOST,
    SMTP_PORT,
    SMTP_USERNAME,
    SMTP_PASSWORD,
    SMTP_PASSWORD_PATH,
    SMTP_FROM,
    SMTP_STARTTLS,
    LLM_BASE_URL,
    LLM_MODEL,
    LLM_API_KEY_PATH,
    LLM_TIMEOUT_SECS,
];
