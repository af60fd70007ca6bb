//! The grouped parts of the configuration (OAuth, Pub/Sub, digest, SMTP,
//! LLM) and the small validators they share with the CLI (`enroll`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;

use super::keys::*;
use super::reader::Reader;
use super::DEFAULT_JWKS_URI;
use crate::secret::Secret;

/// How the daemon gets tokens for a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Domain-wide delegation through a service account.
    Dwd,
    /// Per-user OAuth consent; refresh tokens stored encrypted.
    OAuth,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dwd => "dwd",
            Self::OAuth => "oauth",
        }
    }
}

impl FromStr for AuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dwd" => Ok(Self::Dwd),
            "oauth" => Ok(Self::OAuth),
            other => Err(format!(
                "unknown auth method {other:?} (expected dwd or oauth)"
            )),
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub client_secret_path: Option<PathBuf>,
    pub redirect_uri: String,
    /// Google's consent page (`oauth/start` redirects there); configurable
    /// so tests can point it at a fake.
    pub auth_uri: String,
}

/// Google's OAuth 2.0 authorization endpoint.
pub const DEFAULT_OAUTH_AUTH_URI: &str = "https://accounts.google.com/o/oauth2/v2/auth";

#[derive(Debug, Clone)]
pub struct PubsubConfig {
    /// `projects/P/topics/T`; `None` = no watch, sweep only.
    pub topic: Option<String>,
    /// Expected `aud` of push JWTs; `None` = JWT check off.
    pub audience: Option<String>,
    pub jwks_uri: String,
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    /// First-boot seed of the digest policy (the DB wins afterwards).
    pub enabled: bool,
    pub send_hour: u32,
    pub timezone: chrono_tz::Tz,
    /// Mailbox the digest is sent as; `None` = first active admin.
    pub sender: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    pub password_path: Option<PathBuf>,
    pub from: String,
    pub starttls: bool,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret<String>>,
    pub api_key_path: Option<PathBuf>,
    pub timeout_secs: u64,
}

/// A lowercase `local@domain` if `s` looks like a mailbox address.
pub fn normalize_mailbox(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let (local, domain) = s.split_once('@')?;
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    (local_ok && is_valid_domain(domain)).then_some(s)
}

/// An ASCII (punycode) DNS name with at least two labels.
pub fn is_valid_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

pub(super) fn domains(r: &mut Reader<'_>) -> Vec<String> {
    let Some(raw) = r.raw(WORKSPACE_DOMAIN) else {
        return Vec::new();
    };
    let domains: Vec<String> = raw
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    if domains.is_empty() || !domains.iter().all(|d| is_valid_domain(d)) {
        let expected = "comma-separated domain names such as fund.example (punycode for IDN)";
        r.invalid(WORKSPACE_DOMAIN, expected, &raw);
    }
    domains
}

pub(super) fn oauth(r: &mut Reader<'_>, required: bool) -> Option<OAuthConfig> {
    let client_id = r.string(OAUTH_CLIENT_ID);
    let secret_value = r.raw(OAUTH_CLIENT_SECRET).map(Secret::new);
    let secret_path = r.path(OAUTH_CLIENT_SECRET_PATH);
    let redirect_uri = r.url(OAUTH_REDIRECT_URI);
    let auth_uri = r
        .url(OAUTH_AUTH_URI)
        .unwrap_or_else(|| DEFAULT_OAUTH_AUTH_URI.into());
    let from_file = secret_path
        .as_deref()
        .and_then(|p| r.secret_file(OAUTH_CLIENT_SECRET_PATH, p))
        .map(|s| Secret::new(s.expose().trim().to_string()));
    let client_secret = secret_value.or(from_file);
    let any = client_id.is_some() || client_secret.is_some() || redirect_uri.is_some();
    if !required && !any {
        return None;
    }
    let why = format!("when {}=oauth", AUTH_METHOD.env);
    let client_id = r.require(OAUTH_CLIENT_ID, client_id, &why);
    let client_secret = r.require(OAUTH_CLIENT_SECRET, client_secret, &why);
    let redirect_uri = r.require(OAUTH_REDIRECT_URI, redirect_uri, &why);
    Some(OAuthConfig {
        client_id: client_id?,
        client_secret: client_secret?,
        client_secret_path: secret_path,
        redirect_uri: redirect_uri?,
        auth_uri,
    })
}

/// Reads the base64 AES-256 key file: exactly 32 bytes once decoded.
pub(super) fn aes_key(r: &mut Reader<'_>, path: &Path) -> Option<Secret<[u8; 32]>> {
    let text = r.secret_file(SECRET_KEY_PATH, path)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.expose().trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok());
    if decoded.is_none() {
        r.errors.push(super::ConfigError::SecretFile {
            key: SECRET_KEY_PATH,
            path: path.to_path_buf(),
            reason: "expected 32 bytes encoded as standard base64 \
                     (make one with `head -c 32 /dev/urandom | base64`)"
                .to_string(),
        });
    }
    decoded.map(Secret::new)
}

pub(super) fn pubsub(r: &mut Reader<'_>) -> PubsubConfig {
    let topic = r.parsed(PUBSUB_TOPIC, "projects/PROJECT/topics/TOPIC", |s| {
        let rest = s.strip_prefix("projects/")?;
        let (project, topic) = rest.split_once("/topics/")?;
        let ok = !project.is_empty() && !topic.is_empty() && !project.contains('/');
        ok.then(|| s.to_string())
    });
    PubsubConfig {
        topic,
        audience: r.string(PUBSUB_AUDIENCE),
        jwks_uri: r
            .url(PUBSUB_JWKS_URI)
            .unwrap_or_else(|| DEFAULT_JWKS_URI.into()),
    }
}

pub(super) fn digest(r: &mut Reader<'_>) -> DigestConfig {
    let timezone = r
        .parsed(
            DIGEST_TIMEZONE,
            "an IANA time zone such as Europe/Berlin",
            |s| s.parse::<chrono_tz::Tz>().ok(),
        )
        .unwrap_or_else(system_zone);
    DigestConfig {
        enabled: r.bool(DIGEST_ENABLED, false),
        send_hour: r.number(DIGEST_SEND_HOUR, 18, 0..=23),
        timezone,
        sender: r.parsed(DIGEST_SENDER, "an email address", normalize_mailbox),
    }
}

pub(super) fn smtp(r: &mut Reader<'_>) -> Option<SmtpConfig> {
    let host = r.string(SMTP_HOST);
    let port = r.number(SMTP_PORT, 587u16, 1..=65_535);
    let username = r.string(SMTP_USERNAME);
    let password_value = r.raw(SMTP_PASSWORD).map(Secret::new);
    let password_path = r.path(SMTP_PASSWORD_PATH);
    let from = r.parsed(SMTP_FROM, "an email address", normalize_mailbox);
    let starttls = r.bool(SMTP_STARTTLS, true);
    let host = host?;
    let from = r.require(SMTP_FROM, from, &format!("when {} is set", SMTP_HOST.env));
    let from_file = password_path
        .as_deref()
        .and_then(|p| r.secret_file(SMTP_PASSWORD_PATH, p))
        .map(|s| Secret::new(s.expose().trim_end_matches(['\r', '\n']).to_string()));
    Some(SmtpConfig {
        host,
        port,
        username,
        password: password_value.or(from_file),
        password_path,
        from: from?,
        starttls,
    })
}

pub(super) fn llm(r: &mut Reader<'_>) -> Option<LlmConfig> {
    let base_url = r.url(LLM_BASE_URL);
    let model = r.string(LLM_MODEL);
    let api_key_path = r.path(LLM_API_KEY_PATH);
    let timeout_secs = r.number(LLM_TIMEOUT_SECS, 20u64, 1..=600);
    let base_url = base_url?;
    let why = format!("when {} is set", LLM_BASE_URL.env);
    let model = r.require(LLM_MODEL, model, &why);
    let api_key = api_key_path
        .as_deref()
        .and_then(|p| r.secret_file(LLM_API_KEY_PATH, p))
        .map(|s| Secret::new(s.expose().trim().to_string()));
    Some(LlmConfig {
        base_url,
        model: model?,
        api_key,
        api_key_path,
        timeout_secs,
    })
}

/// The machine's zone: `/etc/timezone`, else the `/etc/localtime` link, else UTC.
fn system_zone() -> chrono_tz::Tz {
    let from_file = std::fs::read_to_string("/etc/timezone")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let from_link = || {
        let target = std::fs::read_link("/etc/localtime").ok()?;
        let text = target.to_string_lossy().into_owned();
        let (_, name) = text.split_once("zoneinfo/")?;
        name.parse().ok()
    };
    from_file.or_else(from_link).unwrap_or(chrono_tz::UTC)
}
