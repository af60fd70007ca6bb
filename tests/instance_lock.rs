//! The data directory's single-instance lock, through the real binary: while
//! a real `serve` runs, `digest send`, `rotate-key`, `sync`, `migrate` and a
//! second `serve` are refused naming the lock file and the daemon's pid, and
//! change nothing; `check`, `digest preview` and `enroll` still work. Once
//! the daemon is SIGKILLed the kernel has dropped its lock, and `digest
//! send` and `rotate-key` go through. The demo holds the lock of the data
//! directory its daemon uses.

mod digest_support;
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use email_sidecar::crypto::TokenCipher;
use email_sidecar::instance::LOCK_FILE_NAME;
use email_sidecar::secret::Secret;
use email_sidecar::store::digest::DigestRunStatus;

use digest_support::*;
use support::app::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");

/// SIGKILLs a child the test did not reap (a failed assertion), so no
/// daemon outlives its test.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The binary with the app's environment only, run in its temp dir (away
/// from the repository's config file).
fn sidecar(app: &TestApp, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .envs(&app.env)
        .env("RUST_LOG", "warn")
        .current_dir(app.dir.path())
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// (exit code, stdout, stderr), run off the async runtime (fake Google
/// answers in this process).
async fn run(mut cmd: Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A real `serve` on a free port; returns it once its "listening" line
/// shows (the lock is taken before that), with its address.
async fn start_serve(app: &TestApp) -> (Reaper, String) {
    let mut cmd = sidecar(app, &["--log-format", "json", "serve"]);
    cmd.env("RUST_LOG", "info")
        .env("CRM_GMAIL_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
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
    let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("serve said it is listening");
    (Reaper(child), addr)
}

fn key_file(dir: &Path, name: &str, key: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, key).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// The digest app of `digest_support` (alice sends as the first active
/// admin) with an AES key configured and alice's refresh token at rest
/// under it, for rotate-key to (not) touch; DWD ignores it.
struct Setup {
    app: TestApp,
    _keys: tempfile::TempDir,
    new_path: PathBuf,
    new_key: Secret<String>,
    alice: i64,
    blob: Vec<u8>,
}

async fn setup() -> Setup {
    let keys = tempfile::tempdir().unwrap();
    let (old, new_key) = (
        TokenCipher::generate_key_base64(),
        TokenCipher::generate_key_base64(),
    );
    let old_path = key_file(keys.path(), "old.key", old.expose());
    let new_path = key_file(keys.path(), "new.key", new_key.expose());
    let env = [("CRM_GMAIL_SECRET_KEY_PATH", old_path.to_str().unwrap())];
    let app = app_on(email_sidecar::clock::system(), "UTC", &env).await;
    let alice = app.account_id(ALICE);
    let blob = TokenCipher::from_base64(old.expose())
        .unwrap()
        .encrypt_token(ALICE, &Secret::new("refresh-alice".to_string()))
        .unwrap();
    app.store.set_refresh_token(alice, &blob).unwrap();
    Setup {
        app,
        _keys: keys,
        new_path,
        new_key,
        alice,
        blob,
    }
}

impl Setup {
    fn rotate_key(&self) -> Command {
        let new = self.new_path.to_str().unwrap();
        sidecar(&self.app, &["rotate-key", "--new", new])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_refuses_the_commands_that_would_race_it_until_it_is_killed() {
    let s = setup().await;
    let app = &s.app;
    let (mut daemon, addr) = start_serve(app).await;
    let pid = daemon.0.id();
    racing_commands_are_refused_naming_the_daemon(&s, pid).await;
    let health = reqwest::get(format!("http://{addr}/api/email/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the first daemon serves on");
    read_only_commands_still_work_beside_the_daemon(app).await;

    daemon.0.kill().unwrap(); // SIGKILL: no destructor releases anything
    daemon.0.wait().unwrap();
    let lock = app.data_dir().join(LOCK_FILE_NAME);
    assert!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .contains(&format!("pid={pid}\n")),
        "the killed daemon's description is left behind"
    );

    let (code, out, err) = run(sidecar(app, &["digest", "send"])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("sent via gmail"), "{out}");
    let rows = runs(app);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, DigestRunStatus::Sent);
    assert_eq!(app.fake.sent(ALICE).len(), 1);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "",
        "a command that finished leaves no holder described"
    );

    let (code, out, err) = run(s.rotate_key()).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("re-encrypted 1 refresh token(s)"), "{out}");
    let rotated = app.store.refresh_token(s.alice).unwrap().unwrap();
    let opened = TokenCipher::from_base64(s.new_key.expose())
        .unwrap()
        .decrypt_token(ALICE, &rotated)
        .unwrap();
    assert_eq!(opened.expose(), "refresh-alice");
}

/// Each exits 1 with nothing on stdout, names the lock file and the
/// daemon's pid, says what to do instead, and changed nothing.
async fn racing_commands_are_refused_naming_the_daemon(s: &Setup, pid: u32) {
    let app = &s.app;
    let lock = app.data_dir().join(LOCK_FILE_NAME);
    let refused = |(code, out, err): (i32, String, String), advice: &str| {
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(
            err.contains(&format!("the daemon (pid {pid}, since ")),
            "{err}"
        );
        assert!(
            err.contains(&format!("holds {}: ", lock.display())),
            "{err}"
        );
        assert!(err.trim_end().ends_with(advice), "{err}");
    };

    let digest_send = run(sidecar(app, &["digest", "send"])).await;
    refused(digest_send, "or use POST /api/email/digest/send-now");
    assert!(runs(app).is_empty(), "no digest run was started");
    assert_eq!(send_calls(app), 0);

    refused(
        run(s.rotate_key()).await,
        "it keeps the current key in memory",
    );
    let blob = app.store.refresh_token(s.alice).unwrap();
    assert_eq!(blob.as_ref(), Some(&s.blob), "the token is as it was");

    let sync = run(sidecar(app, &["sync"])).await;
    refused(sync, "or use POST /api/email/sync/run-now");

    let migrate = run(sidecar(app, &["migrate"])).await;
    refused(
        migrate,
        "the daemon migrates the database itself when it starts",
    );

    let mut second = sidecar(app, &["serve"]);
    second.env("CRM_GMAIL_LISTEN", "127.0.0.1:0");
    refused(
        run(second).await,
        "only one daemon may run on a data directory",
    );
}

/// `check`, `digest preview` and `enroll` do not take the lock.
async fn read_only_commands_still_work_beside_the_daemon(app: &TestApp) {
    let (code, out, err) = run(sidecar(app, &["check"])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("all checks passed"), "{out}");

    let (code, out, err) = run(sidecar(app, &["digest", "preview"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Subject: "), "{out}");
    assert!(runs(app).is_empty(), "a preview starts no run");

    let (code, out, err) = run(sidecar(app, &["enroll", "erin@fund.test"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("erin@fund.test") && out.contains(" enrolled"),
        "{out}"
    );
    let erin = app.store.account_by_email("erin@fund.test").unwrap();
    assert!(erin.is_some(), "enrolled beside the daemon");
}

/// Reads the demo's stdout up to its `demo ready:` line.
fn wait_demo_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "demo ended:\n{seen}");
        seen.push_str(&line);
        if line.starts_with("demo ready: ") {
            return out;
        }
    }
}

/// `demo` keeping its data in `demo_dir`, run in `cwd`.
fn demo(cwd: &Path, demo_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .current_dir(cwd)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(demo_dir)
        .stdin(Stdio::null());
    cmd
}

/// `migrate` on `data`: (exit code, stdout, stderr).
fn migrate_at(cwd: &Path, data: &Path) -> (i32, String, String) {
    let out = Command::new(BIN)
        .env_clear()
        .env("CRM_GMAIL_DATA_DIR", data)
        .current_dir(cwd)
        .arg("migrate")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_holds_the_lock_of_its_daemons_data_dir_until_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let mut first = demo(dir.path(), &demo_dir);
    first.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = Reaper(first.spawn().unwrap());
    let _stdout = wait_demo_ready(&mut child.0);
    let pid = child.0.id();
    // The daemon's data dir, where the demo's database is.
    let data = demo_dir.join("data");
    assert!(data.join("email-sidecar.db").is_file());

    let (code, out, err) = migrate_at(dir.path(), &data);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains(&format!("the demo (pid {pid}, since ")),
        "{err}"
    );
    let lock = data.join(LOCK_FILE_NAME);
    assert!(
        err.contains(&format!("holds {}: ", lock.display())),
        "{err}"
    );

    let out = demo(dir.path(), &demo_dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the demo (pid {pid}")) && err.contains("only one daemon"),
        "{err}"
    );

    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill(2) on our own child's pid, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    let (code, out, err) = migrate_at(dir.path(), &data);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("schema at version"), "{out}");
}
