//! The real binary: `migrate`, `enroll`, `check`, `serve` (health, the
//! error shape, 503 when the database is gone, exit 0 on SIGTERM),
//! `rotate-key`, and commands beside a daemon on an older schema.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use email_sidecar::store::{AccountStatus, Store};

const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");

/// The binary with a clean environment, run inside `dir` (so no stray
/// `config/email-sidecar.toml` is picked up) and its data under `dir/data`.
fn sidecar(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .current_dir(dir)
        .env("CRM_GMAIL_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "info");
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn db(dir: &Path) -> PathBuf {
    dir.join("data").join("email-sidecar.db")
}

#[test]
fn migrate_creates_the_database_at_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(sidecar(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{out}{err}");
    let latest = email_sidecar::store::latest_version();
    assert!(latest >= 9, "{latest}");
    assert!(
        out.contains(&format!("schema at version {latest}")),
        "{out}"
    );
    assert!(db(dir.path()).is_file());
    let store = Store::open(db(dir.path())).unwrap();
    assert!(store.table_names().unwrap().contains(&"emails".to_string()));
}

/// Applied migration versions, read without migrating.
fn schema_versions(db: &Path) -> Vec<u32> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut s = c
        .prepare("SELECT version FROM refinery_schema_history ORDER BY version")
        .unwrap();
    let rows = s.query_map([], |r| r.get::<_, u32>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn beside_a_daemon_on_an_older_schema_commands_refuse_instead_of_migrating_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert_eq!(
        Store::migrate_to(db(dir.path()), 9).unwrap().last(),
        Some(&9)
    );
    // An older daemon holds the data directory (its lock, as `serve` takes it).
    let daemon = email_sidecar::instance::InstanceLock::acquire(
        &data,
        email_sidecar::instance::Role::Serve,
        email_sidecar::clock::system().now(),
    )
    .unwrap();
    let enroll = || {
        run(sidecar(dir.path())
            .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
            .args(["enroll", "erin@fund.test"]))
    };
    let (code, out, err) = enroll();
    assert_eq!(code, 1, "{out}{err}");
    let latest = email_sidecar::store::latest_version();
    assert!(
        err.contains(&format!("schema version 9 and this binary's is {latest}"))
            && err.contains("the daemon (pid ")
            && err.contains("restart it with the new binary"),
        "{err}"
    );
    let (code, out, _) = run(sidecar(dir.path()).arg("check"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("schema version 9"), "{out}");
    assert_eq!(
        schema_versions(&db(dir.path())),
        (1..=9).collect::<Vec<_>>()
    );

    // With the daemon gone (its new binary not yet started), the command
    // migrates as before.
    drop(daemon);
    let (code, out, err) = enroll();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        schema_versions(&db(dir.path())),
        (1..=latest).collect::<Vec<_>>()
    );
    let store = Store::open(db(dir.path())).unwrap();
    assert!(store.account_by_email("erin@fund.test").unwrap().is_some());
}

#[test]
fn enroll_twice_is_idempotent_and_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let enroll = |args: &[&str]| {
        run(sidecar(dir.path())
            .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
            .arg("enroll")
            .args(args))
    };
    let (code, out, err) = enroll(&["Alice@Fund.test", "bob@fund.test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches(" enrolled").count(), 2, "{out}");
    let (code, out, _) = enroll(&["alice@fund.test"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("alice@fund.test") && out.contains("already enrolled"),
        "{out}"
    );

    let store = Store::open(db(dir.path())).unwrap();
    let emails: Vec<String> = store
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.email)
        .collect();
    assert_eq!(emails, vec!["alice@fund.test", "bob@fund.test"]);
    let audit = store.recent_audit(10).unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit
        .iter()
        .all(|a| a.action == "account.enroll" && a.actor == "cli"));
}

#[test]
fn enrolling_a_mailbox_in_error_again_reactivates_it_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let enroll = || {
        run(sidecar(dir.path())
            .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
            .args(["enroll", "alice@fund.test"]))
    };
    assert_eq!(enroll().0, 0);
    {
        let store = Store::open(db(dir.path())).unwrap();
        let id = store
            .account_by_email("alice@fund.test")
            .unwrap()
            .unwrap()
            .id;
        store
            .set_account_status(id, AccountStatus::Error, Some("grant refused"))
            .unwrap();
    }
    let (code, out, err) = enroll();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("reactivated (was in error)"), "{out}");
    let store = Store::open(db(dir.path())).unwrap();
    let a = store.account_by_email("alice@fund.test").unwrap().unwrap();
    assert_eq!((a.status, a.last_error), (AccountStatus::Active, None));
    assert_eq!(
        store.recent_audit(1).unwrap()[0].action,
        "account.reactivate"
    );
}

#[test]
fn enroll_refuses_addresses_outside_our_domain_and_enrolls_none_of_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
        .args(["enroll", "alice@fund.test", "mallory@evil.test"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("mallory@evil.test is not in our Workspace domain"),
        "{err}"
    );
    let (code, _, err) = run(sidecar(dir.path()).args(["enroll", "alice@fund.test"]));
    assert_eq!(code, 1);
    assert!(err.contains("CRM_GMAIL_WORKSPACE_DOMAIN"), "{err}");
    let (code, _, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
        .args(["enroll", "not an address"]));
    assert_eq!(code, 1);
    assert!(err.contains("is not an email address"), "{err}");
    assert!(
        !db(dir.path()).exists(),
        "nothing may be created on refusal"
    );
}

fn write_secret(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn check_fails_naming_a_world_readable_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "api-token", "tok", 0o644);
    let (code, out, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_API_TOKEN_PATH", &token)
        .arg("check"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("✗ FAIL"), "{out}");
    assert!(
        out.contains(&format!("chmod 600 {}", token.display())),
        "{out}"
    );
    assert!(out.contains("CRM_GMAIL_API_TOKEN_PATH"), "{out}");
}

#[test]
fn check_passes_a_sound_setup_and_lists_each_check() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "api-token", "tok", 0o600);
    let (code, out, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_API_TOKEN_PATH", &token)
        .arg("check"));
    assert_eq!(code, 0, "{out}{err}");
    for row in [
        "config",
        "secret CRM_GMAIL_API_TOKEN_PATH",
        "database opens and migrates",
        "database integrity_check",
    ] {
        let line = out.lines().find(|l| l.starts_with(row)).unwrap_or_default();
        assert!(
            line.contains("✓ pass"),
            "row {row:?} not passing in:\n{out}"
        );
    }
    assert!(out.contains("all checks passed"), "{out}");
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

/// Starts `serve` on a free port; returns the child and its address, read
/// from the JSON "listening" log line.
fn start_serve(dir: &Path) -> (Child, SocketAddr) {
    let mut child = sidecar(dir)
        .env("CRM_GMAIL_LISTEN", "127.0.0.1:0")
        .args(["--log-format", "json", "serve"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["fields"]["message"] == "listening" {
                let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_string());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    (child, addr.parse().unwrap())
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn serve_answers_health_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_serve(dir.path());

    let (status, body) = http_get(addr, "/api/email/health");
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"status": "ok", "db": "ok"}));

    let (status, body) = http_get(addr, "/api/email/nope");
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no route for GET /api/email/nope");

    // The database vanishing under the daemon shows in health.
    std::fs::remove_file(db(dir.path())).unwrap();
    let (status, body) = http_get(addr, "/api/email/health");
    assert_eq!(status, 503);
    assert_eq!(body["db"], "error");
    assert_eq!(body["error"]["code"], "unavailable");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    if status.is_none() {
        let _ = child.kill();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

#[test]
fn serve_refuses_to_start_on_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_LISTEN", "localhost")
        .arg("serve"));
    assert_eq!(code, 1);
    assert!(err.contains("CRM_GMAIL_LISTEN (listen): expected"), "{err}");
}

/// `check` against fake_google: the enabled DWD set-up mints a token for
/// each enrolled mailbox at the fake (which verifies the JWT signature),
/// and a revoked grant fails that mailbox's row, by name, and only that one.
#[tokio::test(flavor = "multi_thread")]
async fn check_mints_a_token_per_mailbox_and_names_the_one_whose_grant_is_revoked() {
    use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    fake.add_user("alice@fund.test");
    fake.add_user("bob@fund.test");
    fake.revoke_user("bob@fund.test");
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "api-token", "tok", 0o600);
    let key = write_secret(dir.path(), "sa.json", &fake.service_account_json(), 0o600);
    let setup = |cmd: &mut Command| {
        cmd.env("CRM_GMAIL_INTEGRATION_ENABLED", "true")
            .env("CRM_GMAIL_API_TOKEN_PATH", &token)
            .env("CRM_GMAIL_SA_KEY_PATH", &key)
            .env("CRM_GMAIL_WORKSPACE_DOMAIN", "fund.test")
            .env("CRM_GMAIL_TOKEN_URI", fake.token_uri())
            .env("CRM_GMAIL_API_BASE", fake.api_base());
    };
    let mut enroll = sidecar(dir.path());
    setup(&mut enroll);
    enroll.args(["enroll", "alice@fund.test", "bob@fund.test"]);
    let mut check = sidecar(dir.path());
    setup(&mut check);
    check.arg("check");
    let ((enrolled, _, enroll_err), (code, out, err)) =
        tokio::task::spawn_blocking(move || (run(&mut enroll), run(&mut check)))
            .await
            .unwrap();
    assert_eq!(enrolled, 0, "{enroll_err}");
    assert_eq!(code, 1, "{out}{err}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name:?} in:\n{out}"))
            .to_string()
    };
    assert!(row("token alice@fund.test").contains("✓ pass"), "{out}");
    let bob = row("token bob@fund.test");
    assert!(
        bob.contains("✗ FAIL") && bob.contains("unauthorized_client"),
        "{out}"
    );
    assert!(bob.contains("bob@fund.test"), "{out}");
    assert!(out.contains("1 check(s) failed"), "{out}");
    // Both mailboxes were really exchanged at the fake, bob's refused there.
    assert_eq!(fake.counters().token_exchanges, 2);
    fake.shutdown().await;
}

fn key_file(dir: &Path, name: &str, key: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, key).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// Two OAuth mailboxes with refresh tokens sealed under `old`; `odd` (if
/// given) seals bob's under another key, which `old` cannot open.
fn oauth_store(dir: &Path, old: &str, odd: Option<&str>) -> Store {
    use email_sidecar::config::AuthMethod;
    use email_sidecar::crypto::TokenCipher;
    use email_sidecar::secret::Secret;
    let store = Store::open(db(dir)).unwrap();
    for (mailbox, key) in [
        ("alice@fund.test", old),
        ("bob@fund.test", odd.unwrap_or(old)),
    ] {
        let id = store
            .enroll_account(mailbox, AuthMethod::OAuth, None)
            .unwrap()
            .account
            .id;
        let token = Secret::new(format!("refresh-{mailbox}"));
        let blob = TokenCipher::from_base64(key)
            .unwrap()
            .encrypt_token(mailbox, &token)
            .unwrap();
        store.set_refresh_token(id, &blob).unwrap();
    }
    store
}

fn blobs(store: &Store) -> Vec<Vec<u8>> {
    store
        .list_accounts()
        .unwrap()
        .iter()
        .map(|a| store.refresh_token(a.id).unwrap().unwrap())
        .collect()
}

#[test]
fn rotate_key_reencrypts_every_refresh_token_under_the_new_key_or_changes_nothing() {
    use email_sidecar::crypto::TokenCipher;
    let old = TokenCipher::generate_key_base64();
    let new = TokenCipher::generate_key_base64();
    let odd = TokenCipher::generate_key_base64();

    // A blob the current key cannot open: refused, every row unchanged.
    let dir = tempfile::tempdir().unwrap();
    let store = oauth_store(dir.path(), old.expose(), Some(odd.expose()));
    let before = blobs(&store);
    let old_path = key_file(dir.path(), "old.key", old.expose());
    let new_path = key_file(dir.path(), "new.key", new.expose());
    let (code, _, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_SECRET_KEY_PATH", &old_path)
        .args(["rotate-key", "--new"])
        .arg(&new_path));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("bob@fund.test") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(blobs(&store), before, "a failed rotation changes nothing");

    // All readable: every token now opens with the new key only.
    let dir = tempfile::tempdir().unwrap();
    let store = oauth_store(dir.path(), old.expose(), None);
    let old_path = key_file(dir.path(), "old.key", old.expose());
    let new_path = key_file(dir.path(), "new.key", new.expose());
    let (code, out, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_SECRET_KEY_PATH", &old_path)
        .args(["rotate-key", "--new"])
        .arg(&new_path));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("re-encrypted 2 refresh token(s)"), "{out}");
    let (old_c, new_c) = (
        TokenCipher::from_base64(old.expose()).unwrap(),
        TokenCipher::from_base64(new.expose()).unwrap(),
    );
    for (a, blob) in store.list_accounts().unwrap().iter().zip(blobs(&store)) {
        let token = new_c.decrypt_token(&a.email, &blob).unwrap();
        assert_eq!(token.expose(), &format!("refresh-{}", a.email));
        assert!(old_c.decrypt_token(&a.email, &blob).is_err());
        assert!(!out.contains(token.expose().as_str()) && !err.contains(token.expose().as_str()));
    }

    // A new key file others can read is refused before anything is touched.
    let rotated = blobs(&store);
    let open_path = key_file(dir.path(), "open.key", odd.expose());
    std::fs::set_permissions(&open_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(sidecar(dir.path())
        .env("CRM_GMAIL_SECRET_KEY_PATH", &new_path)
        .args(["rotate-key", "--new"])
        .arg(&open_path));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("open.key"), "{err}");
    assert_eq!(blobs(&store), rotated);
}
