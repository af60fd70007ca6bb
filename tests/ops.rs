//! Operations, through the real binary: `check` (every key, secret modes,
//! tokens and Gmail profiles at fake Google, SMTP at a real in-process
//! sink, an LLM endpoint the test serves), `serve` under SIGTERM in the
//! middle of a backfill (exit 0 within 10 s, a consistent database, and a
//! restart that reaches the exact truth), SIGHUP reloads, sd_notify and
//! JSON logs under the journal.

mod support;

#[path = "ops/lifecycle.rs"]
mod lifecycle;
#[path = "ops/sigterm.rs"]
mod sigterm;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use email_sidecar::demo::smtp_sink::SmtpSink;
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};

pub const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");

pub fn write_secret(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// The binary with a clean environment, run in `dir`.
pub fn sidecar(dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs off the async runtime (fake Google answers in this process).
async fn output(mut cmd: Command) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// An OpenAI-compatible stub that lists one model and counts the calls.
async fn llm_stub() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::HeaderMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/v1/models",
        axum::routing::get(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let authorized = headers
                    .get("authorization")
                    .is_some_and(|v| v == "Bearer llm-key-1");
                if !authorized {
                    return Err(axum::http::StatusCode::UNAUTHORIZED);
                }
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(axum::Json(
                    serde_json::json!({"data": [{"id": "demo-model"}]}),
                ))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls)
}

struct CheckSetup {
    fake: FakeGoogle,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    sink: SmtpSink,
}

/// An enabled DWD set-up with two mailboxes enrolled, SMTP pointing at a
/// real sink and an LLM endpoint with a key.
async fn check_setup() -> CheckSetup {
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in ["alice@fund.test", "bob@fund.test"] {
        fake.add_user(m);
        fake.deliver(
            m,
            b"Subject: hi\r\nFrom: x@y.test\r\n\r\nhello\r\n",
            &["INBOX"],
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let (llm, _) = llm_stub().await;
    let token = write_secret(dir.path(), "api-token", "tok-secret-value", 0o600);
    let key = write_secret(dir.path(), "sa.json", &fake.service_account_json(), 0o600);
    let smtp_pw = write_secret(dir.path(), "smtp-password", "smtp-secret-pw", 0o600);
    let llm_key = write_secret(dir.path(), "llm-api-key", "llm-key-1", 0o600);
    let p = |p: &PathBuf| p.display().to_string();
    let env: Vec<(String, String)> = [
        ("CRM_GMAIL_INTEGRATION_ENABLED", "true".to_string()),
        ("CRM_GMAIL_DATA_DIR", p(&dir.path().join("data"))),
        ("CRM_GMAIL_API_TOKEN_PATH", p(&token)),
        ("CRM_GMAIL_SA_KEY_PATH", p(&key)),
        ("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test".into()),
        ("CRM_GMAIL_TOKEN_URI", fake.token_uri()),
        ("CRM_GMAIL_API_BASE", fake.api_base()),
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", sink.addr().port().to_string()),
        ("SMTP_USERNAME", "digest".into()),
        ("SMTP_PASSWORD_PATH", p(&smtp_pw)),
        ("SMTP_FROM", "digest@fund.test".into()),
        ("SMTP_STARTTLS", "false".into()),
        ("CRM_LLM_BASE_URL", llm),
        ("CRM_LLM_MODEL", "demo-model".into()),
        ("CRM_LLM_API_KEY_PATH", p(&llm_key)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut enroll = sidecar(dir.path(), &env);
    enroll.args(["enroll", "alice@fund.test", "bob@fund.test"]);
    let (code, out) = output(enroll).await;
    assert_eq!(code, 0, "{out}");
    CheckSetup {
        fake,
        dir,
        env,
        sink,
    }
}

fn row<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_every_row_of_a_sound_setup_and_shows_every_key_but_no_secret() {
    let s = check_setup().await;
    let mut cmd = sidecar(s.dir.path(), &s.env);
    cmd.arg("check");
    let (code, out) = output(cmd).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all checks passed"), "{out}");
    for key in email_sidecar::config::keys::ALL {
        assert!(
            row(&out, &format!("  {} ", key.env)).contains(key.toml),
            "{out}"
        );
    }
    assert!(row(&out, "  SMTP_PASSWORD_PATH").contains("smtp-password"));
    assert!(row(&out, "  CRM_GMAIL_RATE_UNITS_SEC").contains("= 90"));
    // Secret values: only whether they are set (the SMTP one from its file).
    assert!(row(&out, "  SMTP_PASSWORD ").ends_with("smtp.password = (set)"));
    assert!(row(&out, "  CRM_GMAIL_OAUTH_CLIENT_SECRET ").ends_with("= (unset)"));
    for secret in [
        "tok-secret-value",
        "smtp-secret-pw",
        "llm-key-1",
        "PRIVATE KEY",
    ] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    assert!(row(&out, "database integrity_check").contains("✓ pass"));
    for m in ["alice@fund.test", "bob@fund.test"] {
        assert!(row(&out, &format!("token {m}")).contains("✓ pass"), "{out}");
        let profile = row(&out, &format!("gmail profile {m}"));
        assert!(
            profile.contains("✓ pass") && profile.contains("1 messages"),
            "{out}"
        );
    }
    let smtp = row(&out, "smtp 127.0.0.1:");
    assert!(smtp.contains("✓ pass") && smtp.contains("AUTH ok"), "{out}");
    assert_eq!(
        s.sink.logins(),
        ["digest"],
        "the SMTP row logged in for real"
    );
    assert!(
        row(&out, "llm http://127.0.0.1").contains("✓ pass"),
        "{out}"
    );
    let calls = s.fake.counters().calls;
    assert_eq!(calls.get("users.getProfile").copied(), Some(2), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_the_rows_of_a_revoked_mailbox_only_and_exits_1() {
    let s = check_setup().await;
    s.fake.revoke_user("bob@fund.test");
    let mut cmd = sidecar(s.dir.path(), &s.env);
    cmd.arg("check");
    let (code, out) = output(cmd).await;
    assert_eq!(code, 1, "{out}");
    assert!(row(&out, "token alice@fund.test").contains("✓ pass"));
    assert!(row(&out, "gmail profile alice@fund.test").contains("✓ pass"));
    let bob = row(&out, "token bob@fund.test");
    assert!(
        bob.contains("✗ FAIL") && bob.contains("unauthorized_client"),
        "{out}"
    );
    assert!(row(&out, "gmail profile bob@fund.test").contains("- skip"));
    assert!(out.contains("1 check(s) failed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_naming_a_world_readable_secret_and_an_unreachable_endpoint() {
    let mut s = check_setup().await;
    let pw = s.dir.path().join("smtp-password");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = sidecar(s.dir.path(), &s.env);
    cmd.arg("check");
    let (code, out) = output(cmd).await;
    assert_eq!(code, 1, "{out}");
    let config = row(&out, "config ");
    assert!(
        config.contains("✗ FAIL") && out.contains(&format!("chmod 600 {}", pw.display())),
        "{out}"
    );
    // Fixed mode, but the LLM endpoint is gone: its row fails, by name.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (k, v) in s.env.iter_mut() {
        if k == "CRM_LLM_BASE_URL" {
            *v = "http://127.0.0.1:9/v1".into();
        }
    }
    let mut cmd = sidecar(s.dir.path(), &s.env);
    cmd.arg("check");
    let (code, out) = output(cmd).await;
    assert_eq!(code, 1, "{out}");
    let llm = row(&out, "llm http://127.0.0.1:9/v1");
    assert!(
        llm.contains("✗ FAIL") && llm.contains("unreachable"),
        "{out}"
    );
    assert!(out.contains("1 check(s) failed"), "{out}");
}
