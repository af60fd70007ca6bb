//! Configuration: defaults, file + env precedence, every bad value naming
//! its key, required-when-enabled keys, secret-file modes, and `Debug`
//! never showing a secret.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use email_sidecar::config::{keys, AuthMethod, Config, ConfigError, Key};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load(None, &env(pairs))
}

fn example_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/email-sidecar.toml")
}

fn secret_file(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn flat_keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (name, value) in table {
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flat_keys(&full, inner, out),
            _ => out.push(full),
        }
    }
}

#[test]
fn the_example_file_lists_every_key_and_loads_to_the_defaults() {
    let text = std::fs::read_to_string(example_file()).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let mut in_file = Vec::new();
    flat_keys("", &table, &mut in_file);
    for key in keys::ALL {
        if key.in_file {
            assert!(
                in_file.contains(&key.toml.to_string()),
                "{} missing from the example",
                key.toml
            );
        } else {
            assert!(
                !in_file.contains(&key.toml.to_string()),
                "{} must stay env-only",
                key.toml
            );
        }
        assert!(
            text.contains(key.env),
            "{} not mentioned in the example",
            key.env
        );
    }
    for name in &in_file {
        assert!(
            keys::ALL.iter().any(|k| k.toml == name),
            "unknown key {name} in the example"
        );
    }
    let from_file = Config::load(Some(&example_file()), &env(&[])).unwrap();
    let defaults = load_env(&[]).unwrap();
    assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = load_env(&[]).unwrap();
    assert!(!c.enabled);
    assert_eq!(c.listen.to_string(), "127.0.0.1:8765");
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(c.db_path(), PathBuf::from("./data/email-sidecar.db"));
    assert_eq!(c.auth_method, AuthMethod::Dwd);
    assert!(c.workspace_domains.is_empty());
    assert_eq!(
        (c.sync_interval_min, c.backfill_page_size, c.backfill_days),
        (180, 500, 0)
    );
    assert_eq!((c.max_attachment_mb, c.attach_concurrency), (50, 4));
    assert_eq!((c.rate_units_sec, c.max_in_flight, c.retry_max), (90, 8, 5));
    assert_eq!(c.history_stale_days, 5);
    assert_eq!(c.token_uri, "https://oauth2.googleapis.com/token");
    assert_eq!(c.api_base, "https://gmail.googleapis.com");
    assert_eq!(
        c.pubsub.jwks_uri,
        "https://www.googleapis.com/oauth2/v3/certs"
    );
    assert_eq!(
        (c.pubsub.topic.clone(), c.pubsub.audience.clone()),
        (None, None)
    );
    assert_eq!((c.digest.enabled, c.digest.send_hour), (false, 18));
    assert!(c.digest.sender.is_none());
    assert!(c.smtp.is_none() && c.llm.is_none() && c.oauth.is_none());
    assert!(c.api_token.is_none() && c.secret_key.is_none() && c.sa_key_json.is_none());
}

#[test]
fn the_environment_overrides_the_file_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "backfill_page_size = 100\nlisten = \"0.0.0.0:9000\"\nworkspace_domain = [\"Fund.Test\", \"other.test\"]\n\
         [digest]\nsend_hour = 7\ntimezone = \"Europe/Berlin\"\n",
    )
    .unwrap();
    let c = Config::load(
        Some(&path),
        &env(&[
            ("CRM_GMAIL_BACKFILL_PAGE_SIZE", "200"),
            ("CRM_DIGEST_SEND_HOUR", "9"),
            ("CRM_GMAIL_API_BASE", "http://127.0.0.1:4000/"),
        ]),
    )
    .unwrap();
    assert_eq!(c.backfill_page_size, 200);
    assert_eq!(c.digest.send_hour, 9);
    assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(c.workspace_domains, vec!["fund.test", "other.test"]);
    assert_eq!(c.digest.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(c.api_base, "http://127.0.0.1:4000");
    assert!(c.is_workspace_address("Alice@FUND.test"));
    assert!(!c.is_workspace_address("alice@fund.test.evil"));
}

/// (env name, bad value): each must fail naming exactly that key.
const BAD_VALUES: &[(&str, &str)] = &[
    ("CRM_GMAIL_INTEGRATION_ENABLED", "maybe"),
    ("CRM_GMAIL_LISTEN", "localhost"),
    ("CRM_GMAIL_AUTH_METHOD", "password"),
    ("CRM_GMAIL_WORKSPACE_DOMAIN", "fund"),
    ("CRM_GMAIL_SYNC_INTERVAL_MIN", "-5"),
    ("CRM_GMAIL_BACKFILL_PAGE_SIZE", "0"),
    ("CRM_GMAIL_BACKFILL_PAGE_SIZE", "501"),
    ("CRM_GMAIL_BACKFILL_DAYS", "-1"),
    ("CRM_GMAIL_MAX_ATTACHMENT_MB", "lots"),
    ("CRM_GMAIL_ATTACH_CONCURRENCY", "0"),
    ("CRM_GMAIL_RATE_UNITS_SEC", "fast"),
    ("CRM_GMAIL_MAX_IN_FLIGHT", "0"),
    ("CRM_GMAIL_RETRY_MAX", "1e3"),
    ("CRM_GMAIL_HISTORY_STALE_DAYS", "0"),
    ("CRM_GMAIL_TOKEN_URI", "ftp://example.com/token"),
    ("CRM_GMAIL_API_BASE", "not a url"),
    ("CRM_GMAIL_OAUTH_REDIRECT_URI", "callback"),
    ("CRM_GMAIL_PUBSUB_TOPIC", "my-topic"),
    ("CRM_GMAIL_PUBSUB_JWKS_URI", "certs"),
    ("CRM_DIGEST_ENABLED", "2"),
    ("CRM_DIGEST_SEND_HOUR", "24"),
    ("CRM_DIGEST_TIMEZONE", "Mars/Olympus_Mons"),
    ("CRM_DIGEST_SENDER", "nobody"),
    ("SMTP_PORT", "70000"),
    ("SMTP_STARTTLS", "sometimes"),
    ("CRM_LLM_BASE_URL", "localhost:8080"),
    ("CRM_LLM_TIMEOUT_SECS", "0"),
];

fn key_for_env(name: &str) -> Key {
    *keys::ALL.iter().find(|k| k.env == name).unwrap()
}

#[test]
fn each_bad_value_fails_naming_its_env_and_toml_key_and_the_value() {
    for (name, value) in BAD_VALUES {
        let key = key_for_env(name);
        let err = load_env(&[(name, value)]).expect_err(name);
        assert_eq!(err.keys(), vec![key], "{name}={value}: {err}");
        let msg = err.to_string();
        let wanted = format!("{} ({}): expected ", key.env, key.toml);
        assert!(msg.starts_with(&wanted), "{msg}");
        assert!(msg.contains(&format!("got {value:?}")), "{msg}");
    }
}

#[test]
fn a_bad_page_size_reads_exactly_as_documented() {
    let err = load_env(&[("CRM_GMAIL_BACKFILL_PAGE_SIZE", "900")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CRM_GMAIL_BACKFILL_PAGE_SIZE (backfill_page_size): expected an integer 1..=500, got \"900\""
    );
}

#[test]
fn a_bad_value_in_the_file_is_reported_like_one_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "backfill_page_size = 900\n[digest]\nsend_hour = 25\n",
    )
    .unwrap();
    let err = Config::load(Some(&path), &env(&[])).unwrap_err();
    assert_eq!(
        err.keys(),
        vec![keys::BACKFILL_PAGE_SIZE, keys::DIGEST_SEND_HOUR]
    );
    let msg = err.to_string();
    assert!(msg.starts_with("2 configuration problems"), "{msg}");
    assert!(msg.contains(
        "CRM_DIGEST_SEND_HOUR (digest.send_hour): expected an integer 0..=23, got \"25\""
    ));
}

#[test]
fn unknown_keys_and_secrets_written_into_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "backfil_page_size = 10\n[smtp]\npassword = \"hunter2\"\n",
    )
    .unwrap();
    let msg = Config::load(Some(&path), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("unknown key `backfil_page_size`"), "{msg}");
    assert!(msg.contains("unknown key `smtp.password`"), "{msg}");
    assert!(
        msg.contains("set SMTP_PASSWORD in the environment"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn enabling_without_required_values_names_each_missing_key() {
    let err = load_env(&[("CRM_GMAIL_INTEGRATION_ENABLED", "true")]).unwrap_err();
    assert_eq!(
        err.keys(),
        vec![
            keys::API_TOKEN_PATH,
            keys::SA_KEY_PATH,
            keys::WORKSPACE_DOMAIN
        ]
    );
    assert!(err.to_string().contains(
        "CRM_GMAIL_API_TOKEN_PATH (api_token_path): required when CRM_GMAIL_INTEGRATION_ENABLED=true"
    ));

    let err = load_env(&[
        ("CRM_GMAIL_INTEGRATION_ENABLED", "true"),
        ("CRM_GMAIL_AUTH_METHOD", "oauth"),
    ])
    .unwrap_err();
    let mut got = err.keys();
    got.sort_by_key(|k| k.env);
    let mut want = vec![
        keys::API_TOKEN_PATH,
        keys::SECRET_KEY_PATH,
        keys::OAUTH_CLIENT_ID,
        keys::OAUTH_CLIENT_SECRET,
        keys::OAUTH_REDIRECT_URI,
    ];
    want.sort_by_key(|k| k.env);
    assert_eq!(got, want, "{err}");
}

#[test]
fn optional_blocks_name_what_they_still_need() {
    let err = load_env(&[("SMTP_HOST", "smtp.fund.test")]).unwrap_err();
    assert_eq!(err.keys(), vec![keys::SMTP_FROM]);
    let err = load_env(&[("CRM_LLM_BASE_URL", "http://127.0.0.1:8081/v1")]).unwrap_err();
    assert_eq!(err.keys(), vec![keys::LLM_MODEL]);
    let c = load_env(&[
        ("SMTP_HOST", "smtp.fund.test"),
        ("SMTP_FROM", "Digest@Fund.test"),
        ("SMTP_PORT", "2525"),
        ("SMTP_STARTTLS", "false"),
    ])
    .unwrap();
    let smtp = c.smtp.unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.starttls),
        ("smtp.fund.test", 2525, false)
    );
    assert_eq!(smtp.from, "digest@fund.test");
}

#[test]
fn a_group_or_world_readable_secret_file_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604] {
        let path = secret_file(dir.path(), "api-token", "tok\n", mode);
        let err = load_env(&[("CRM_GMAIL_API_TOKEN_PATH", path.to_str().unwrap())]).unwrap_err();
        assert!(matches!(err, ConfigError::InsecureSecret { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        assert!(
            msg.contains(&format!("chmod 600 {}", path.display())),
            "{msg}"
        );
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
    }
    let path = secret_file(dir.path(), "api-token", " tok-123 \n", 0o600);
    let c = load_env(&[("CRM_GMAIL_API_TOKEN_PATH", path.to_str().unwrap())]).unwrap();
    assert_eq!(c.api_token.unwrap().expose(), "tok-123");
}

#[test]
fn a_missing_secret_file_and_a_malformed_aes_key_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_env(&[("CRM_GMAIL_SA_KEY_PATH", "/nonexistent/sa.json")]).unwrap_err();
    assert_eq!(err.keys(), vec![keys::SA_KEY_PATH]);
    assert!(err.to_string().contains("/nonexistent/sa.json"));
    let short = secret_file(dir.path(), "key.b64", "c2hvcnQta2V5\n", 0o600);
    let err = load_env(&[("CRM_GMAIL_SECRET_KEY_PATH", short.to_str().unwrap())]).unwrap_err();
    assert_eq!(err.keys(), vec![keys::SECRET_KEY_PATH]);
    let msg = err.to_string();
    assert!(
        msg.contains("32 bytes") && !msg.contains("c2hvcnQta2V5"),
        "{msg}"
    );
}

#[test]
fn debug_of_a_full_config_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let key_b64 = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="; // 32 × 'A'
    let files = [
        ("api-token", "SECRET-api-token-1111"),
        ("sa.json", "{\"private_key\": \"SECRET-pem-2222\"}"),
        ("key.b64", key_b64),
        ("smtp-pass", "SECRET-smtp-3333"),
        ("llm-key", "SECRET-llm-4444"),
        ("oauth-secret", "unused"),
    ];
    let p: Vec<String> = files
        .iter()
        .map(|(name, body)| {
            secret_file(dir.path(), name, body, 0o600)
                .display()
                .to_string()
        })
        .collect();
    let c = load_env(&[
        ("CRM_GMAIL_INTEGRATION_ENABLED", "true"),
        ("CRM_GMAIL_AUTH_METHOD", "oauth"),
        ("CRM_GMAIL_API_TOKEN_PATH", &p[0]),
        ("CRM_GMAIL_SA_KEY_PATH", &p[1]),
        ("CRM_GMAIL_SECRET_KEY_PATH", &p[2]),
        ("SMTP_PASSWORD_PATH", &p[3]),
        ("CRM_LLM_API_KEY_PATH", &p[4]),
        ("CRM_GMAIL_OAUTH_CLIENT_ID", "client-1"),
        ("CRM_GMAIL_OAUTH_CLIENT_SECRET", "SECRET-oauth-5555"),
        (
            "CRM_GMAIL_OAUTH_REDIRECT_URI",
            "https://crm.fund.test/api/email/oauth/callback",
        ),
        ("SMTP_HOST", "smtp.fund.test"),
        ("SMTP_FROM", "digest@fund.test"),
        ("CRM_LLM_BASE_URL", "http://127.0.0.1:8081/v1"),
        ("CRM_LLM_MODEL", "tiny"),
    ])
    .unwrap();
    // The secrets are really loaded, so their absence below means something.
    assert_eq!(
        c.api_token.as_ref().unwrap().expose(),
        "SECRET-api-token-1111"
    );
    assert_eq!(c.secret_key.as_ref().unwrap().expose(), &[b'A'; 32]);
    assert_eq!(
        c.oauth.as_ref().unwrap().client_secret.expose(),
        "SECRET-oauth-5555"
    );
    assert_eq!(
        c.smtp.as_ref().unwrap().password.as_ref().unwrap().expose(),
        "SECRET-smtp-3333"
    );
    assert_eq!(
        c.llm.as_ref().unwrap().api_key.as_ref().unwrap().expose(),
        "SECRET-llm-4444"
    );
    assert_eq!(c.secret_files().len(), 5);
    let debug = format!("{c:?} {c:#?}");
    for marker in ["SECRET-", "QUFBQUFB", "65, 65, 65"] {
        assert!(!debug.contains(marker), "Debug leaked {marker}: {debug}");
    }
}

#[test]
fn the_example_secrets_are_placeholders_that_cannot_be_used() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example");
    let sa: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("service-account.json")).unwrap())
            .unwrap();
    let pem = sa["private_key"].as_str().unwrap();
    assert_eq!(
        pem,
        "-----BEGIN PRIVATE KEY-----\nPLACEHOLDER\n-----END PRIVATE KEY-----\n"
    );
    let work = tempfile::tempdir().unwrap();
    let key_text = std::fs::read_to_string(dir.join("secret-key.b64")).unwrap();
    let key = secret_file(work.path(), "key.b64", &key_text, 0o600);
    let err = load_env(&[("CRM_GMAIL_SECRET_KEY_PATH", key.to_str().unwrap())]).unwrap_err();
    assert_eq!(
        err.keys(),
        vec![keys::SECRET_KEY_PATH],
        "the placeholder must not work as a key"
    );
    for name in [
        "api-token",
        "smtp-password",
        "llm-api-key",
        "oauth-client-secret",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.starts_with("PLACEHOLDER"), "{name}");
    }
}
