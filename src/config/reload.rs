//! What `check` shows of the configuration and what a SIGHUP may change.
//! [`describe`] gives every key's value as an operator may see it (paths
//! and settings; secret values only as "set"/"unset"). [`Reload::plan`]
//! compares the running config with a freshly loaded one: the live-safe
//! settings (log level, sync interval, digest, SMTP, LLM) are taken over,
//! everything else that differs is reported as needing a restart and kept
//! as it was. Used by `main` (SIGHUP) and `check`.

use super::keys::{self, Key};
use super::Config;
use crate::secret::Secret;

/// A key's value for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Value(String),
    /// A secret value is configured (never shown).
    Set,
    Unset,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Value(v) => f.write_str(v),
            Shown::Set => f.write_str("(set)"),
            Shown::Unset => f.write_str("(unset)"),
        }
    }
}

/// Keys a SIGHUP applies; readers take `LiveConfig::current()` when they act.
const LIVE: &[Key] = &[
    keys::LOG_LEVEL,
    keys::SYNC_INTERVAL_MIN,
    keys::DIGEST_ENABLED,
    keys::DIGEST_SEND_HOUR,
    keys::DIGEST_TIMEZONE,
    keys::DIGEST_SENDER,
    keys::SMTP_HOST,
    keys::SMTP_PORT,
    keys::SMTP_USERNAME,
    keys::SMTP_PASSWORD,
    keys::SMTP_PASSWORD_PATH,
    keys::SMTP_FROM,
    keys::SMTP_STARTTLS,
    keys::LLM_BASE_URL,
    keys::LLM_MODEL,
    keys::LLM_API_KEY_PATH,
    keys::LLM_TIMEOUT_SECS,
];

/// Every key in `keys::ALL` order with its value as `check` prints it.
pub fn describe(c: &Config) -> Vec<(Key, Shown)> {
    keys::ALL.iter().map(|&k| (k, shown(c, k))).collect()
}

fn opt<T: ToString>(v: Option<T>) -> Shown {
    v.map_or(Shown::Unset, |v| Shown::Value(v.to_string()))
}

fn path(p: Option<&std::path::Path>) -> Shown {
    opt(p.map(|p| p.display()))
}

fn secret<T>(s: Option<&Secret<T>>) -> Shown {
    if s.is_some() {
        Shown::Set
    } else {
        Shown::Unset
    }
}

fn shown(c: &Config, key: Key) -> Shown {
    let v = |s: String| Shown::Value(s);
    let (o, p, s, l) = (&c.oauth, &c.pubsub, &c.smtp, &c.llm);
    match key.toml {
        "enabled" => v(c.enabled.to_string()),
        "listen" => v(c.listen.to_string()),
        "log_level" => v(c.log_level.clone()),
        "data_dir" => v(c.data_dir.display().to_string()),
        "api_token_path" => path(c.api_token_path.as_deref()),
        "auth_method" => v(c.auth_method.to_string()),
        "sa_key_path" => path(c.sa_key_path.as_deref()),
        "workspace_domain" => {
            opt((!c.workspace_domains.is_empty()).then(|| c.workspace_domains.join(",")))
        }
        "secret_key_path" => path(c.secret_key_path.as_deref()),
        "sync_interval_min" => v(c.sync_interval_min.to_string()),
        "backfill_page_size" => v(c.backfill_page_size.to_string()),
        "backfill_days" => v(c.backfill_days.to_string()),
        "investor_first" => v(c.investor_first.to_string()),
        "max_attachment_mb" => v(c.max_attachment_mb.to_string()),
        "attach_concurrency" => v(c.attach_concurrency.to_string()),
        "rate_units_sec" => v(c.rate_units_sec.to_string()),
        "max_in_flight" => v(c.max_in_flight.to_string()),
        "retry_max" => v(c.retry_max.to_string()),
        "history_stale_days" => v(c.history_stale_days.to_string()),
        "token_uri" => v(c.token_uri.clone()),
        "api_base" => v(c.api_base.clone()),
        "oauth.client_id" => opt(o.as_ref().map(|o| &o.client_id)),
        "oauth.client_secret" => secret(o.as_ref().map(|o| &o.client_secret)),
        "oauth.client_secret_path" => {
            path(o.as_ref().and_then(|o| o.client_secret_path.as_deref()))
        }
        "oauth.redirect_uri" => opt(o.as_ref().map(|o| &o.redirect_uri)),
        "pubsub.topic" => opt(p.topic.as_ref()),
        "pubsub.audience" => opt(p.audience.as_ref()),
        "pubsub.jwks_uri" => v(p.jwks_uri.clone()),
        "digest.enabled" => v(c.digest.enabled.to_string()),
        "digest.send_hour" => v(c.digest.send_hour.to_string()),
        "digest.timezone" => v(c.digest.timezone.to_string()),
        "digest.sender" => opt(c.digest.sender.as_ref()),
        "smtp.host" => opt(s.as_ref().map(|s| &s.host)),
        "smtp.port" => opt(s.as_ref().map(|s| s.port)),
        "smtp.username" => opt(s.as_ref().and_then(|s| s.username.as_ref())),
        "smtp.password" => secret(s.as_ref().and_then(|s| s.password.as_ref())),
        "smtp.password_path" => path(s.as_ref().and_then(|s| s.password_path.as_deref())),
        "smtp.from" => opt(s.as_ref().map(|s| &s.from)),
        "smtp.starttls" => opt(s.as_ref().map(|s| s.starttls)),
        "llm.base_url" => opt(l.as_ref().map(|l| &l.base_url)),
        "llm.model" => opt(l.as_ref().map(|l| &l.model)),
        "llm.api_key_path" => path(l.as_ref().and_then(|l| l.api_key_path.as_deref())),
        "llm.timeout_secs" => opt(l.as_ref().map(|l| l.timeout_secs)),
        // A key added to keys::ALL without a line here shows as unset
        // rather than failing `check`.
        _ => Shown::Unset,
    }
}

/// The outcome of re-reading the configuration.
#[derive(Debug)]
pub struct Reload {
    /// The running config with the live-safe settings of the new one.
    pub config: Config,
    /// Live-safe keys whose value changed (now in effect).
    pub applied: Vec<Key>,
    /// Keys that changed but only take effect after a restart (ignored).
    pub needs_restart: Vec<Key>,
}

impl Reload {
    pub fn plan(old: &Config, new: Config) -> Reload {
        let before = describe(old);
        let after = describe(&new);
        let mut changed: Vec<Key> = before
            .iter()
            .zip(&after)
            .filter(|((_, a), (_, b))| a != b)
            .map(|((k, _), _)| *k)
            .collect();
        // A secret rewritten in place (same path, new content): a rotation.
        for (key, same) in secret_contents_equal(old, &new) {
            if !same && !changed.contains(&key) {
                changed.push(key);
            }
        }
        let (applied, needs_restart) = changed.into_iter().partition(|k| LIVE.contains(k));
        let mut config = old.clone();
        config.log_level = new.log_level;
        config.sync_interval_min = new.sync_interval_min;
        config.digest = new.digest;
        config.smtp = new.smtp;
        config.llm = new.llm;
        Reload {
            config,
            applied,
            needs_restart,
        }
    }
}

fn same<T: PartialEq>(a: Option<&Secret<T>>, b: Option<&Secret<T>>) -> bool {
    a.map(Secret::expose) == b.map(Secret::expose)
}

fn secret_contents_equal(a: &Config, b: &Config) -> Vec<(Key, bool)> {
    let smtp = |c: &Config| c.smtp.as_ref().and_then(|s| s.password.clone());
    let llm = |c: &Config| c.llm.as_ref().and_then(|l| l.api_key.clone());
    let oauth = |c: &Config| c.oauth.as_ref().map(|o| o.client_secret.clone());
    vec![
        (
            keys::API_TOKEN_PATH,
            same(a.api_token.as_ref(), b.api_token.as_ref()),
        ),
        (
            keys::SA_KEY_PATH,
            same(a.sa_key_json.as_ref(), b.sa_key_json.as_ref()),
        ),
        (
            keys::SECRET_KEY_PATH,
            same(a.secret_key.as_ref(), b.secret_key.as_ref()),
        ),
        (
            keys::OAUTH_CLIENT_SECRET,
            same(oauth(a).as_ref(), oauth(b).as_ref()),
        ),
        (
            keys::SMTP_PASSWORD,
            same(smtp(a).as_ref(), smtp(b).as_ref()),
        ),
        (
            keys::LLM_API_KEY_PATH,
            same(llm(a).as_ref(), llm(b).as_ref()),
        ),
    ]
}
