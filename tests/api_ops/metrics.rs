//! Prometheus metrics checked against fake Google's own counters.

use super::*;

/// `name{labels} value` lines of `family` as label-set → value.
pub(crate) fn samples(text: &str, family: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (name, labels) = key
                .split_once('{')
                .map_or((key, ""), |(n, rest)| (n, rest.trim_end_matches('}')));
            (name == family).then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_gmail_calls_and_429s_exactly_as_fake_google_saw_them() {
    let app = app(&[ALICE, BOB]).await;
    for i in 0..3 {
        app.fake.deliver(
            ALICE,
            &mail(&format!("a{i}@acme.vc"), "Jo <jo@acme.vc>", ALICE),
            &["INBOX"],
        );
    }
    app.fake.deliver(
        BOB,
        &mail("b1@else.example", "Zed <zed@else.example>", BOB),
        &["INBOX"],
    );
    app.fake.deliver(
        BOB,
        &mail("b2@else.example", "Zed <zed@else.example>", BOB),
        &["INBOX"],
    );
    app.fake
        .fail_next("users.messages.list", 2, FaultKind::RateLimit429);
    app.fake
        .fail_next("users.messages.get", 2, FaultKind::RateLimit429);
    let (api, stop) = app.serve_api().await;
    wait_for(|| all_synced(&app), "both backfills").await;
    let (s, _) = api.get("/api/email/status", As::Service).await;
    assert_eq!(s, StatusCode::OK);

    let resp = api
        .request(Method::GET, "/api/email/metrics", As::Service)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().await.unwrap();

    let fake = app.fake.counters();
    let theirs: BTreeMap<String, f64> = fake
        .calls
        .iter()
        .filter(|(m, _)| m.as_str() != "token")
        .map(|(m, n)| (format!("method=\"{m}\""), *n as f64))
        .collect();
    assert!(theirs.contains_key("method=\"batch\""), "{theirs:?}");
    assert_eq!(
        samples(&text, "email_sidecar_gmail_calls_total"),
        theirs,
        "{text}"
    );
    let want_429: BTreeMap<String, f64> = [
        ("method=\"users.messages.get\"".to_string(), 2.0),
        ("method=\"users.messages.list\"".to_string(), 2.0),
    ]
    .into();
    assert_eq!(
        samples(&text, "email_sidecar_gmail_429_total"),
        want_429,
        "{text}"
    );
    assert_eq!(fake.injected_faults, 4);

    assert_eq!(samples(&text, "email_sidecar_emails_captured")[""], 5.0);
    assert_eq!(samples(&text, "email_sidecar_emails_matched")[""], 3.0);
    let proposals = samples(&text, "email_sidecar_proposals");
    assert_eq!(
        proposals.keys().collect::<Vec<_>>(),
        [
            "status=\"approved\"",
            "status=\"pending\"",
            "status=\"rejected\""
        ]
    );
    let lag = samples(&text, "email_sidecar_sync_lag_seconds");
    assert_eq!(lag.len(), 2, "{text}");
    assert!(lag.values().all(|s| (0.0..120.0).contains(s)), "{lag:?}");
    let status = samples(&text, "email_sidecar_http_request_duration_seconds_count");
    assert_eq!(
        status.get("route=\"/api/email/status\",method=\"GET\",status=\"200\""),
        Some(&1.0),
        "{status:?}"
    );
    stop.cancel();
}
