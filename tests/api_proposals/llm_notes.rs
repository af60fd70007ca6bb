//! LLM notes against the fake chat endpoint (`support::llm`): a draft
//! replaces the deterministic note; any failure keeps it and is recorded
//! once, never retried in a loop; the prompt carries the email's facts.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use email_sidecar::config::LiveConfig;
use email_sidecar::proposals::worker::{NoteWorker, Outcome};
use email_sidecar::store::proposals::Decision;
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::*;
use crate::support::api::{As, ADMIN};
use crate::support::app::TestApp;
use crate::support::llm::{FakeLlm, LlmMode};

/// The world synced with the LLM configured (1 s timeout, an API key).
async fn llm_world(mode: LlmMode) -> (TestApp, crate::support::api::Api, FakeLlm) {
    let fake = FakeLlm::start(mode).await;
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("llm-key");
    std::fs::write(&key, "sk-test\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let env = [
        ("CRM_LLM_BASE_URL", fake.base_url.clone()),
        ("CRM_LLM_MODEL", "test-model".into()),
        ("CRM_LLM_API_KEY_PATH", key.display().to_string()),
        ("CRM_LLM_TIMEOUT_SECS", "1".into()),
    ];
    let (app, api, _stop) = world_with(
        env.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
    .await;
    std::mem::forget(key_dir);
    sync(&app).await;
    (app, api, fake)
}

fn worker(app: &TestApp) -> NoteWorker {
    NoteWorker::new(
        app.store.clone(),
        LiveConfig::new(Arc::new(app.config.clone())),
    )
}

async fn notes(api: &crate::support::api::Api) -> Vec<(String, String, String)> {
    let (s, page) = api.get("/api/email/proposals", As::User(ADMIN)).await;
    assert_eq!(s, StatusCode::OK);
    let mut v: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("id"), s("note"), s("note_source"))
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn an_llm_draft_replaces_the_deterministic_note_and_sees_the_emails_facts() {
    let (app, api, fake) =
        llm_world(LlmMode::Reply("  Jo introduced Pat from Beta.  ".into())).await;
    let before = notes(&api).await;
    assert!(before.iter().all(|(_, _, src)| src == "deterministic"));
    let out = worker(&app).run_once().await.unwrap();
    assert_eq!(
        out,
        Outcome {
            attempted: 3,
            replaced: 3,
            failed: 0
        }
    );
    for (_, note, src) in notes(&api).await {
        assert_eq!(
            (note.as_str(), src.as_str()),
            ("Jo introduced Pat from Beta.", "llm")
        );
    }
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    let mut subjects = Vec::new();
    for r in &reqs {
        assert_eq!(r.authorization.as_deref(), Some("Bearer sk-test"));
        assert_eq!(r.body["model"], "test-model");
        let user = r.body["messages"][1]["content"].as_str().unwrap();
        assert_eq!(r.body["messages"][1]["role"], "user");
        assert!(user.contains("Email excerpt"), "{user}");
        subjects.extend(
            ["Intro to Beta", "Follow-up"]
                .into_iter()
                .filter(|s| user.contains(&format!("Subject: {s}"))),
        );
    }
    subjects.sort();
    assert_eq!(subjects, ["Follow-up", "Intro to Beta", "Intro to Beta"]);
    assert_eq!(
        worker(&app).run_once().await.unwrap(),
        Outcome::default(),
        "nothing left"
    );
}

#[tokio::test]
async fn any_llm_failure_keeps_the_deterministic_note_and_is_tried_only_once() {
    let cases = [
        ("500", LlmMode::Status(500)),
        ("slow", LlmMode::Slow(Duration::from_secs(3), "late".into())),
        ("malformed", LlmMode::Malformed),
        ("empty", LlmMode::Reply("   ".into())),
        ("too long", LlmMode::Reply("x".repeat(5000))),
    ];
    for (name, mode) in cases {
        let (app, api, fake) = llm_world(mode).await;
        let before = notes(&api).await;
        let started = std::time::Instant::now();
        let out = worker(&app).run_once().await.unwrap();
        assert_eq!(
            out,
            Outcome {
                attempted: 3,
                replaced: 0,
                failed: 3
            },
            "{name}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{name}: the timeout bounds each call"
        );
        assert_eq!(
            notes(&api).await,
            before,
            "{name}: deterministic notes kept"
        );
        for (id, _, _) in &before {
            let (src, attempted, error) = app.store.note_state(id.parse().unwrap()).unwrap();
            assert_eq!((src.as_str(), attempted), ("deterministic", true), "{name}");
            assert!(
                error.is_some_and(|e| !e.is_empty() && !e.contains("sk-test")),
                "{name}"
            );
        }
        assert_eq!(
            worker(&app).run_once().await.unwrap(),
            Outcome::default(),
            "{name}: not retried"
        );
        assert_eq!(fake.requests().len(), 3, "{name}");
    }
}

#[tokio::test]
async fn a_draft_never_overwrites_a_proposal_decided_meanwhile() {
    let (app, api, _fake) = llm_world(LlmMode::Reply("draft".into())).await;
    let pid: i64 = proposal_id(&app, "Follow-up", "inv").parse().unwrap();
    // Decided while the LLM was thinking: the late draft is dropped.
    app.store
        .decide_proposal(pid, Decision::Approve, Some("Mine."), ADMIN)
        .unwrap();
    assert!(!app.store.record_note_attempt(pid, Ok("draft")).unwrap());
    let p = app.store.proposal(pid).unwrap().unwrap();
    assert_eq!(
        (p.note.as_str(), p.note_source.as_str()),
        ("Mine.", "deterministic")
    );
    // The worker offers only the two still pending.
    let out = worker(&app).run_once().await.unwrap();
    assert_eq!(out.attempted, 2);
    let feed = all_feed(&api).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["note"], Value::from("Mine."));
}

#[tokio::test]
async fn the_daemon_runs_the_note_worker_when_an_llm_is_configured() {
    let fake = FakeLlm::start(LlmMode::Reply("Jo wrote about Beta.".into())).await;
    let app = crate::support::app::spawn_app(crate::support::app::AppOptions {
        enabled: true,
        env: vec![
            ("CRM_LLM_BASE_URL".into(), fake.base_url.clone()),
            ("CRM_LLM_MODEL".into(), "m".into()),
        ],
        ..Default::default()
    })
    .await;
    app.store
        .replace_directory(&crate::support::api::directory_with_users())
        .unwrap();
    let mail = raw("d@x.test", "jo@acme.vc", ALICE, "Beta", "");
    app.fake.deliver(ALICE, &mail, &["INBOX"]);
    // The daemon's own worker captures; the note worker, woken by the new
    // proposal, drafts its note.
    let (api, stop) = app.serve_api().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = notes(&api).await;
        if got
            .iter()
            .any(|(_, note, src)| src == "llm" && note == "Jo wrote about Beta.")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no LLM note: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fake.requests()[0].authorization, None, "no key configured");
    stop.cancel();
}
