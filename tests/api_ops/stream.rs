//! sync/run-now and the SSE stream: sync progress, bus events, and a
//! subscriber that falls behind told how much it missed.

use super::*;

/// Reads SSE frames off `resp` until `done` says so (or 30 s pass).
async fn read_events(
    resp: &mut reqwest::Response,
    mut done: impl FnMut(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no more events; got {events:?}"))
            .unwrap()
            .expect("stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut kind, mut data) = (String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    kind = v.to_string();
                } else if let Some(v) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(v);
                }
            }
            if !kind.is_empty() {
                events.push((kind, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn run_now_syncs_a_mailbox_and_the_stream_carries_its_progress_and_bus_events() {
    let app = app(&[ALICE]).await;
    app.fake.deliver(
        ALICE,
        &mail("m1@acme.vc", "Jo <jo@acme.vc>", ALICE),
        &["INBOX"],
    );
    let (api, stop) = app.serve_api().await;
    wait_for(|| all_synced(&app), "the initial backfill").await;

    let mut resp = api
        .request(Method::GET, "/api/email/stream", As::User(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");

    app.fake.deliver(
        ALICE,
        &mail("m2@acme.vc", "Jo <jo@acme.vc>", ALICE),
        &["INBOX"],
    );
    let (s, body) = api
        .post(
            "/api/email/sync/run-now",
            As::User(ADMIN),
            &json!({"account": ALICE, "mode": "incremental"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body,
        json!({"status": "queued", "mode": "incremental", "accounts": [ALICE]})
    );
    let alice = app.account_id(ALICE).to_string();
    // The run-now run: from its start (phase = its kind) to its end; the
    // initial backfill's last events may come before it.
    let run_of = |ev: &[(String, Value)]| -> Option<Vec<Value>> {
        let progress: Vec<&Value> = ev
            .iter()
            .filter(|(k, _)| k == "sync_progress")
            .map(|(_, d)| d)
            .collect();
        let start = progress.iter().position(|d| d["phase"] == "incremental")?;
        let end = start
            + progress[start..]
                .iter()
                .position(|d| d["phase"] == "done")?;
        Some(progress[start..=end].iter().map(|d| (*d).clone()).collect())
    };
    let events = read_events(&mut resp, |ev| run_of(ev).is_some()).await;
    let run = run_of(&events).unwrap();
    let done = run.last().unwrap();
    assert_eq!(done["account_id"], alice);
    assert_eq!(done["email"], ALICE);
    assert_eq!(done["saved"], 1, "one new message stored: {run:?}");
    assert_eq!(done["pending"], 0);
    assert!(run.len() >= 3, "start, fetch rounds, end: {run:?}");
    assert!(
        run[1..run.len() - 1]
            .iter()
            .all(|d| d["phase"] == "fetching"),
        "{run:?}"
    );
    let live = app.store.live_gmail_ids(app.account_id(ALICE)).unwrap();
    assert_eq!(live.len(), 2, "the run-now sync captured the new mail");

    app.store.events().publish(Event::ProposalDecided {
        id: "41".into(),
        status: "approved".into(),
        decided_by: ADMIN.into(),
    });
    let events = read_events(&mut resp, |ev| {
        ev.iter().any(|(k, _)| k == "proposal_decided")
    })
    .await;
    let decided = events
        .iter()
        .find(|(k, _)| k == "proposal_decided")
        .unwrap();
    assert_eq!(
        decided.1,
        json!({"type": "proposal_decided", "id": "41", "status": "approved", "decided_by": ADMIN})
    );

    for (body, status) in [
        (
            json!({"account": "nobody@fund.test"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"mode": "sideways"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, b) = api
            .post("/api/email/sync/run-now", As::User(ADMIN), &body)
            .await;
        assert_eq!(s, status, "{body}: {b}");
        assert!(b["error"]["message"].is_string());
    }
    let (s, body) = api
        .post(
            "/api/email/sync/run-now",
            As::User(ADMIN),
            &json!({"mode": "full"}),
        )
        .await;
    assert_eq!(
        (s, body["accounts"].clone()),
        (StatusCode::ACCEPTED, json!([ALICE])),
        "{body}"
    );
    let runs: Vec<_> = audit_actions(&app)
        .into_iter()
        .filter(|a| a.0 == "sync.run_now")
        .collect();
    assert_eq!(
        runs,
        [
            (
                "sync.run_now".to_string(),
                ADMIN.to_string(),
                Some(ALICE.to_string())
            ),
            (
                "sync.run_now".to_string(),
                ADMIN.to_string(),
                Some("all".to_string())
            ),
        ]
    );
    stop.cancel();
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_subscriber_that_falls_behind_is_told_how_much_it_missed() {
    let app = app(&[ALICE]).await;
    let (api, stop) = app.serve_api().await;
    let mut resp = api
        .request(Method::GET, "/api/email/stream", As::User(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // On this one thread the stream cannot run while we publish: the bus
    // (1024 events) overflows.
    for i in 0..3000 {
        app.store.events().publish(Event::DraftCreated {
            id: i.to_string(),
            email_id: "1".into(),
        });
    }
    let events = read_events(&mut resp, |ev| ev.iter().any(|(k, _)| k == "lagged")).await;
    let lagged = events.iter().find(|(k, _)| k == "lagged").unwrap();
    assert!(lagged.1["missed"].as_u64().unwrap() >= 1000, "{lagged:?}");
    let events = read_events(&mut resp, |ev| {
        ev.iter()
            .any(|(k, d)| k == "draft_created" && d["id"] == "2999")
    })
    .await;
    assert!(!events.is_empty());
    stop.cancel();
}
