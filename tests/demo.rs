//! `email-sidecar demo`, the real binary: it seeds fake Google from
//! samples/, backfills, approves a proposal onto the feed, drafts a reply
//! in Alice's Gmail and sends the digest, prints its summary and a token,
//! serves the API with that token (and only that token) so the printed
//! `curl` lines answer with the demo's data, and on SIGTERM exits 0 and
//! removes its temp data dir. (tests/demo_from_clone.sh runs the README's
//! first command in a fresh clone; .ci/run calls it.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_email-sidecar");

/// Reads stdout through the `demo ready:` line and the tour after it (to
/// its last line); returns (summary, base, token).
fn wait_ready(out: impl std::io::Read) -> (String, String, String) {
    let mut summary = String::new();
    let mut ready = None;
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        summary.push_str(&line);
        summary.push('\n');
        if let Some(rest) = line.strip_prefix("demo ready: ") {
            let (base, token) = rest.split_once("  token: ").unwrap();
            ready = Some((base.to_string(), token.to_string()));
        }
        if line == "Ctrl-C stops the demo." {
            let (base, token) = ready.unwrap_or_else(|| panic!("no ready line:\n{summary}"));
            return (summary, base, token);
        }
    }
    panic!("the demo ended before it was ready:\n{summary}");
}

/// SIGKILLs the demo if the test ends early (a failed assertion), so no
/// demo outlives its test.
struct KillOnDrop(Option<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
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
    let pid = i32::try_from(child.id()).unwrap();
    let mut guard = KillOnDrop(Some(pid));
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
    assert!(!summary.contains("FAILED"), "{summary}");
    let approved_id = assert_steps(&summary);
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

    check_tour(&summary, &token, &approved_id);

    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let sent = Instant::now();
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap().code())
        .await
        .unwrap();
    guard.0 = None;
    assert_eq!(code, Some(0));
    assert!(sent.elapsed() < Duration::from_secs(10));
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "the temp data dir is removed at exit"
    );
}

/// The proposal, feed, draft and digest lines, which the demo checked
/// against fake Google and the SMTP sink; returns the approved proposal id.
fn assert_steps(summary: &str) -> String {
    let proposals = line_of(summary, "proposals");
    assert!(
        proposals.contains("8 proposed: 1 approved by alice@fund.example (id ")
            && proposals.ends_with("7 pending review"),
        "{summary}"
    );
    assert!(
        line_of(summary, "feed").contains("1 item for the CRM (GET feed as the service)"),
        "{summary}"
    );
    let draft = line_of(summary, "draft");
    assert!(
        draft.contains("in alice@fund.example's Gmail thread ") && draft.contains("\"Re: "),
        "{summary}"
    );
    // Exactly one draft, in the thread; the one messages.send is the digest.
    assert!(
        line_of(summary, "gmail").contains(
            "1 draft in alice@fund.example's mailbox (in the reply's thread); \
             users.drafts.create 1, users.messages.send 1 (0 besides the digest"
        ),
        "{summary}"
    );
    let digest = line_of(summary, "digest");
    assert!(
        digest.contains("1 delivered via gmail to alice@fund.example: ")
            && digest.ends_with(
                "copies with its Message-ID: 1 in fake Gmail's sent mail, 0 in the SMTP sink (0 messages there)"
            ),
        "{summary}"
    );
    proposals
        .split("(id ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap()
        .to_string()
}

/// Runs every `curl` line the demo printed, as printed, with its TOKEN,
/// and checks each answer's data (the tour and this test move together:
/// an unknown line fails).
fn check_tour(summary: &str, token: &str, approved_id: &str) {
    let lines: Vec<&str> = summary
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("curl "))
        .collect();
    assert_eq!(lines.len(), 7, "{summary}");
    assert!(summary.contains(&format!("  TOKEN={token}\n")), "{summary}");
    let openapi = curl(lines[lines.len() - 1], token);
    let has_activity = openapi["paths"].get("/api/email/activity").is_some();
    for line in lines {
        let v = curl(line, token);
        let url = line.rsplit(' ').next().unwrap().trim_matches('"');
        let route = url.split("/api/email/").nth(1).unwrap();
        let items = v["items"].as_array();
        match route.split('?').next().unwrap() {
            "health" => assert_eq!(v["status"], "ok", "{v}"),
            "status" => assert_eq!(v["accounts"].as_array().unwrap().len(), 3, "{v}"),
            "activity" if has_activity => {
                let items = items.unwrap();
                assert!(!items.is_empty(), "{v}");
                assert!(items.iter().all(|i| i["accounts"].is_array()), "{v}");
            }
            // Until the reads are merged the router answers "no route".
            "activity" => assert_eq!(
                v["error"]["message"], "no route for GET /api/email/activity",
                "{v}"
            ),
            "proposals" => {
                let items = items.unwrap();
                assert_eq!(items.len(), 7, "{v}");
                assert!(items
                    .iter()
                    .all(|p| p["status"] == "pending" && p["id"] != approved_id));
            }
            "feed" => {
                let items = items.unwrap();
                assert_eq!(items.len(), 1, "{v}");
                assert_eq!(items[0]["proposal_id"], approved_id, "{v}");
                assert_eq!(items[0]["approved_by"], "alice@fund.example", "{v}");
            }
            "digest/preview" => assert!(v["subject"].as_str().unwrap().contains("digest"), "{v}"),
            "openapi.json" => {
                for p in [
                    "/api/email/proposals",
                    "/api/email/feed",
                    "/api/email/drafts",
                ] {
                    assert!(v["paths"].get(p).is_some(), "{p} missing");
                }
            }
            other => panic!("the demo printed a curl line this test does not check: {other}"),
        }
    }
}

/// One printed line through bash, as a newcomer would paste it.
fn curl(line: &str, token: &str) -> Value {
    let out = Command::new("bash")
        .args(["-c", line])
        .env("TOKEN", token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{line}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
