//! The daemon's process life as systemd sees it: JSON logs when stderr is
//! the journal, sd_notify READY/WATCHDOG/STOPPING on `$NOTIFY_SOCKET`, and
//! SIGHUP reloading what is safe (log level, sweep interval, digest)
//! while naming what needs a restart and keeping the running config when
//! the new one is broken. Plus `Reload::plan` on its own, and an LLM
//! endpoint a reload adds being used by the running daemon's note worker.

use std::io::BufRead;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use email_sidecar::config::{keys, Config, Reload};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use serde_json::Value;

use crate::support::app::env_for;
use crate::{sidecar, write_secret};

/// stderr lines of a child, collected by a thread.
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn follow(child: &mut Child) -> Lines {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                sink.lock().unwrap().push(line.unwrap_or_default());
            }
        });
        Lines(lines)
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) for a line after the first `from` lines that
    /// satisfies `pred`; returns it.
    async fn wait(&self, from: usize, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = self.all().iter().skip(from).find(|l| pred(l)) {
                return l.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no such line in:\n{}",
                self.all().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn message(line: &str) -> String {
    json(line)["fields"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn sigterm_and_wait(child: &mut Child) -> (i32, Duration) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let sent = Instant::now();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), sent.elapsed())
}

fn hup(child: &Child) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
}

fn write_config(path: &Path, interval: u32, listen: &str, level: &str, hour: u32) {
    let text = format!(
        "log_level = \"{level}\"\nlisten = \"{listen}\"\nsync_interval_min = {interval}\n\
         [digest]\nsend_hour = {hour}\n"
    );
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_journal_logs_are_json_and_systemd_hears_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let env = vec![
        ("CRM_GMAIL_DATA_DIR".to_string(), "data".to_string()),
        ("CRM_GMAIL_LISTEN".into(), "127.0.0.1:0".into()),
        ("JOURNAL_STREAM".into(), "8:12345".into()),
        ("NOTIFY_SOCKET".into(), socket_path.display().to_string()),
        ("WATCHDOG_USEC".into(), "200000".into()),
    ];
    let mut cmd = sidecar(dir.path(), &env);
    cmd.env("RUST_LOG", "info").arg("serve");
    let mut child = cmd.spawn().unwrap();
    let lines = Lines::follow(&mut child);
    let mut received = Vec::new();
    let mut buf = [0u8; 512];
    while received.iter().filter(|m| *m == "WATCHDOG=1").count() < 3 {
        let n = socket.recv(&mut buf).expect("sd_notify message");
        received.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    assert!(
        received[0].starts_with("READY=1\nSTATUS=listening on 127.0.0.1:"),
        "{received:?}"
    );
    let (code, took) = sigterm_and_wait(&mut child);
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(10));
    let rest: Vec<String> = std::iter::from_fn(|| {
        socket.set_nonblocking(true).unwrap();
        let n = socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).to_string())
    })
    .collect();
    assert!(rest.iter().any(|m| m == "STOPPING=1"), "{rest:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let all = lines.all();
    assert!(all.len() >= 3, "{all:?}");
    for line in &all {
        let v = json(line);
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    let msgs: Vec<String> = all.iter().map(|l| message(l)).collect();
    for expected in [
        "listening",
        "shutting down: draining in-flight work",
        "stopped",
    ] {
        assert!(msgs.iter().any(|m| m == expected), "{msgs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_safe_settings_names_restart_only_ones_and_keeps_running_on_a_broken_file() {
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    fake.add_user("alice@fund.test");
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "api-token", "tok", 0o600);
    let mut env: Vec<(String, String)> = env_for(&fake, dir.path()).into_iter().collect();
    env.push(("CRM_GMAIL_INTEGRATION_ENABLED".into(), "true".into()));
    env.push((
        "CRM_GMAIL_API_TOKEN_PATH".into(),
        token.display().to_string(),
    ));
    let config = dir.path().join("sidecar.toml");
    write_config(&config, 180, "127.0.0.1:0", "info", 18);
    let mut enroll = sidecar(dir.path(), &env);
    enroll.args(["enroll", "alice@fund.test"]);
    assert!(enroll.status().unwrap().success());
    let mut cmd = sidecar(dir.path(), &env);
    cmd.env_remove("RUST_LOG")
        .arg("--config")
        .arg(&config)
        .args(["--log-format", "json", "serve"])
        .stdout(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let lines = Lines::follow(&mut child);
    let listening = lines.wait(0, |l| message(l) == "listening").await;
    let addr = json(&listening)["fields"]["addr"]
        .as_str()
        .unwrap()
        .to_string();

    // Safe changes apply; the listen address needs a restart.
    write_config(&config, 5, "127.0.0.1:1", "info", 7);
    let mark = lines.all().len();
    hup(&child);
    let reloaded = lines
        .wait(mark, |l| message(l) == "SIGHUP: configuration reloaded")
        .await;
    let applied = json(&reloaded)["fields"]["applied"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        applied.contains("CRM_GMAIL_SYNC_INTERVAL_MIN") && applied.contains("CRM_DIGEST_SEND_HOUR"),
        "{applied}"
    );
    assert!(!applied.contains("CRM_GMAIL_LISTEN"), "{applied}");
    let restart = lines
        .wait(mark, |l| message(l).contains("needs a restart"))
        .await;
    assert_eq!(json(&restart)["fields"]["key"], "CRM_GMAIL_LISTEN");
    let sweep = lines
        .wait(mark, |l| message(l) == "sweep interval changed")
        .await;
    assert_eq!(json(&sweep)["fields"]["minutes"], 5);

    // A broken file: said why, and the daemon runs on with the old config.
    std::fs::write(&config, "sync_interval_min = 0\n").unwrap();
    let mark = lines.all().len();
    hup(&child);
    let broken = lines
        .wait(mark, |l| message(l).contains("keeping the running one"))
        .await;
    assert!(broken.contains("CRM_GMAIL_SYNC_INTERVAL_MIN"), "{broken}");
    let health = reqwest::get(format!("http://{addr}/api/email/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // The level goes to warn: later info lines vanish, warnings stay.
    write_config(&config, 5, "127.0.0.1:1", "warn", 7);
    hup(&child);
    tokio::time::sleep(Duration::from_millis(500)).await;
    write_config(&config, 5, "127.0.0.1:1", "warn", 9);
    let mark = lines.all().len();
    hup(&child);
    lines
        .wait(mark, |l| message(l).contains("needs a restart"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Vec<String> = lines.all()[mark..].to_vec();
    assert!(
        after.iter().all(|l| json(l)["level"] != "INFO"),
        "info lines after the level went to warn: {after:?}"
    );
    let (code, _) = sigterm_and_wait(&mut child);
    assert_eq!(code, 0);
    fake.shutdown().await;
}

fn load(pairs: &[(&str, &str)]) -> Config {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load(None, &move |k| map.get(k).cloned()).unwrap()
}

#[test]
fn reload_plan_takes_live_settings_and_keeps_restart_only_ones() {
    let old = load(&[("CRM_GMAIL_DATA_DIR", "/a"), ("CRM_DIGEST_SEND_HOUR", "18")]);
    let new = load(&[
        ("CRM_GMAIL_DATA_DIR", "/b"),
        ("CRM_DIGEST_SEND_HOUR", "6"),
        ("CRM_GMAIL_SYNC_INTERVAL_MIN", "15"),
        ("SMTP_HOST", "smtp.fund.test"),
        ("SMTP_FROM", "digest@fund.test"),
        ("CRM_GMAIL_RATE_UNITS_SEC", "250"),
    ]);
    let plan = Reload::plan(&old, new);
    let names = |ks: &[email_sidecar::config::Key]| ks.iter().map(|k| k.env).collect::<Vec<_>>();
    assert_eq!(
        names(&plan.applied),
        [
            keys::SYNC_INTERVAL_MIN.env,
            keys::DIGEST_SEND_HOUR.env,
            keys::SMTP_HOST.env,
            keys::SMTP_PORT.env,
            keys::SMTP_FROM.env,
            keys::SMTP_STARTTLS.env,
        ]
    );
    assert_eq!(
        names(&plan.needs_restart),
        [keys::DATA_DIR.env, keys::RATE_UNITS_SEC.env]
    );
    let c = &plan.config;
    assert_eq!(c.data_dir, Path::new("/a"));
    assert_eq!(c.rate_units_sec, 90);
    assert_eq!((c.sync_interval_min, c.digest.send_hour), (15, 6));
    assert_eq!(c.smtp.as_ref().unwrap().host, "smtp.fund.test");
}

#[test]
fn reload_plan_sees_a_secret_rewritten_in_place_as_needing_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_secret(dir.path(), "tok", "one", 0o600);
    let env = [("CRM_GMAIL_API_TOKEN_PATH", token.to_str().unwrap())];
    let old = load(&env);
    write_secret(dir.path(), "tok", "two", 0o600);
    let plan = Reload::plan(&old, load(&env));
    assert_eq!(plan.needs_restart, [keys::API_TOKEN_PATH]);
    assert!(plan.applied.is_empty());
    assert_eq!(plan.config.api_token.unwrap().expose(), "one");
}

/// The LLM keys are live (`Reload`): the daemon's note worker runs even
/// when no endpoint was configured at start, so one a SIGHUP adds drafts
/// the notes of proposals made after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_endpoint_added_by_a_reload_writes_the_next_proposals_note() {
    use crate::support::llm::{FakeLlm, LlmMode};
    use email_sidecar::store::proposals::ProposalQuery;
    let llm = FakeLlm::start(LlmMode::Reply("Jo wrote about Beta.".into())).await;
    let app = crate::support::app::spawn_app(crate::support::app::AppOptions {
        enabled: true,
        ..Default::default()
    })
    .await;
    app.store
        .replace_directory(&crate::support::api::directory_with_users())
        .unwrap();
    let mut daemon = email_sidecar::daemon::Daemon::build(
        app.config.clone(),
        app.store.clone(),
        app.clock.clone(),
    )
    .unwrap();
    assert!(daemon.state.live.current().llm.is_none());
    let stop = tokio_util::sync::CancellationToken::new();
    daemon.spawn_worker(stop.clone());
    // What the SIGHUP handler does with a config that now names an LLM.
    let mut env = app.env.clone();
    env.insert("CRM_LLM_BASE_URL".into(), llm.base_url.clone());
    env.insert("CRM_LLM_MODEL".into(), "m".into());
    let new = Config::load(None, &|k| env.get(k).cloned()).unwrap();
    let plan = Reload::plan(&daemon.state.live.current(), new);
    assert!(
        plan.applied.contains(&keys::LLM_BASE_URL),
        "{:?}",
        plan.applied
    );
    daemon.state.live.replace(plan.config);

    let mail = "From: Jo <jo@acme.vc>\r\nTo: alice@fund.test\r\nSubject: Beta\r\n\
                Message-ID: <beta-1@acme.vc>\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n\r\n\
                Shall we talk about Beta?\r\n";
    app.fake
        .deliver("alice@fund.test", mail.as_bytes(), &["INBOX"]);
    app.capture
        .sync_all(email_sidecar::capture::SyncMode::Auto)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let q = ProposalQuery {
            status: None,
            before: None,
            limit: 10,
        };
        let got = app.store.list_proposals(&q).unwrap();
        assert_eq!(got.len(), 1, "one proposal for Beta: {got:?}");
        if got[0].note_source == "llm" {
            assert_eq!(got[0].note, "Jo wrote about Beta.");
            break;
        }
        assert!(Instant::now() < deadline, "no LLM note: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(llm.requests().len(), 1);
    stop.cancel();
}
