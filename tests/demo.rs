//! `email-sidecar demo`, the real binary: it seeds fake Google from
//! samples/, backfills, prints its summary and a token, serves the API
//! with that token (and only that token), and on SIGTERM exits 0 and
//! removes its temp data dir. (tests/demo_from_clone.sh runs the README's
//! first command in a fresh clone; .ci/run calls it.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");

/// Reads stdout until the `demo ready:` line; returns (summary, base, token).
fn wait_ready(out: impl std::io::Read) -> (String, String, String) {
    let mut summary = String::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        summary.push_str(&line);
        summary.push('\n');
        if let Some(rest) = line.strip_prefix("demo ready: ") {
            let (base, token) = rest.split_once("  token: ").unwrap();
            return (summary, base.to_string(), token.to_string());
        }
    }
    panic!("the demo ended before it was ready:\n{summary}");
}

fn line_of<'a>(summary: &'a str, label: &str) -> &'a str {
    summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_captures_the_samples_prints_a_token_and_serves_the_api_until_sigterm() {
    let cwd = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .current_dir(cwd.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let started = Instant::now();
    let (summary, base, token) = tokio::task::spawn_blocking(move || wait_ready(stdout))
        .await
        .unwrap();
    eprintln!("demo ready after {:?}:\n{summary}", started.elapsed());
    // The sample set: 11 emails, 16 copies; 9 linked to the 5 investors.
    assert!(
        line_of(&summary, "messages").contains("11 emails captured (16 copies"),
        "{summary}"
    );
    assert!(
        line_of(&summary, "matched").contains("9 emails linked to 5 investors"),
        "{summary}"
    );
    assert!(
        line_of(&summary, "not logged").contains("1 internal-only, 2 bulk"),
        "{summary}"
    );
    assert!(token.starts_with("demo-") && token.len() > 30, "{token}");
    let data_dir = line_of(&summary, "data")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&data_dir).is_dir());

    let http = reqwest::Client::new();
    let status: Value = http
        .get(format!("{base}/api/email/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accounts = status["accounts"].as_array().unwrap();
    let per_mailbox: Vec<(String, u64, bool)> = accounts
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_string(),
                a["messages"].as_u64().unwrap(),
                a["backfill_done"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(status["enabled"], true);
    assert_eq!(
        per_mailbox,
        [
            ("alice@fund.example".to_string(), 8, true),
            ("bob@fund.example".to_string(), 4, true),
            ("carol@fund.example".to_string(), 4, true),
        ]
    );
    let wrong = http
        .get(format!("{base}/api/email/status"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let sent = Instant::now();
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap().code())
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    assert!(sent.elapsed() < Duration::from_secs(10));
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "the temp data dir is removed at exit"
    );
}
