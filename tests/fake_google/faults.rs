//! Quota (429 + Retry-After), injected faults (targeted and random), resets
//! that really drop the connection, and the counters that record them.

use crate::support::*;
use email_sidecar::fake_google::{FakeOptions, FaultKind, Faults};

#[tokio::test]
async fn exceeding_the_quota_answers_429_with_retry_after_and_counts_it() {
    let fake = start_with(FakeOptions {
        quota_units_per_sec: Some(10),
        ..Default::default()
    })
    .await;
    let tok = token(&fake, ALICE, READONLY).await;
    let http = reqwest::Client::new();
    let url = format!("{}/gmail/v1/users/me/messages", fake.api_base());
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..3 {
        let resp = http.get(&url).bearer_auth(&tok).send().await.unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
            assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
            assert_eq!(reason(&body), "rateLimitExceeded");
        }
    }
    assert_eq!(statuses, vec![200, 200, 429]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    let c = fake.counters();
    assert_eq!(
        (c.quota_429s, c.units_charged, c.injected_faults),
        (1, 10, 0)
    );
    assert_eq!(c.calls["users.messages.list"], 3);
    assert_eq!(c.peak_units_per_sec, 10);
    // A second later the bucket is full again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&fake, &tok, "me/messages", &[]).await.0, 200);
}

#[tokio::test]
async fn targeted_faults_hit_the_next_calls_of_that_method_and_are_counted() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    fake.fail_next("users.getProfile", 1, FaultKind::RateLimit403);
    fake.fail_next("users.getProfile", 1, FaultKind::RetryAfter(7));
    fake.fail_next("users.getProfile", 1, FaultKind::NotFound);
    let (s1, b1) = get(&fake, &tok, "me/profile", &[]).await;
    assert_eq!((s1, reason(&b1)), (403, "userRateLimitExceeded"));
    let resp = reqwest::Client::new()
        .get(format!("{}/gmail/v1/users/me/profile", fake.url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(get(&fake, &tok, "me/profile", &[]).await.0, 404);
    assert_eq!(get(&fake, &tok, "me/profile", &[]).await.0, 200);
    let c = fake.counters();
    assert_eq!(
        (c.injected_faults, c.quota_429s, c.units_charged),
        (3, 0, 1)
    );
}

#[tokio::test]
async fn a_reset_fault_drops_the_connection_without_any_http_answer() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    fake.fail_next("users.getProfile", 1, FaultKind::Reset);
    let http = reqwest::Client::new();
    let url = format!("{}/gmail/v1/users/me/profile", fake.url());
    let err = http.get(&url).bearer_auth(&tok).send().await.unwrap_err();
    assert!(err.status().is_none(), "no HTTP status may arrive: {err:?}");
    let again = http.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(again.status(), 200);
    fake.fail_next("token", 1, FaultKind::Reset);
    let (p, n) = (
        claims(&fake, ALICE, READONLY),
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    );
    let jwt = sign(&fake, &p);
    let res = http
        .post(fake.token_uri())
        .form(&[("grant_type", n), ("assertion", &jwt)])
        .send()
        .await;
    assert!(res.is_err(), "the token endpoint resets too");
    fake.fail_next("batch", 1, FaultKind::Reset);
    let batch = http
        .post(format!("{}/batch", fake.url()))
        .bearer_auth(&tok)
        .header("content-type", "multipart/mixed; boundary=B")
        .body("--B\r\nContent-Type: application/http\r\n\r\nGET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n\r\n--B--\r\n")
        .send()
        .await;
    assert!(batch.is_err(), "a whole batch resets");
    assert_eq!(fake.counters().injected_faults, 3);
}

#[tokio::test]
async fn random_faults_follow_their_rates_and_every_one_is_counted() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    fake.set_faults(Faults {
        server_error_rate: 0.2,
        rate_limit_rate: 0.1,
        reset_rate: 0.1,
        latency: std::time::Duration::from_millis(1),
        seed: 7,
    });
    let http = reqwest::Client::new();
    let url = format!("{}/gmail/v1/users/me/profile", fake.url());
    let (mut ok, mut server, mut limited, mut reset) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..300 {
        match http.get(&url).bearer_auth(&tok).send().await {
            Err(_) => reset += 1,
            Ok(r) if r.status() == 200 => ok += 1,
            Ok(r) if r.status().is_server_error() => server += 1,
            Ok(r) if r.status() == 429 || r.status() == 403 => limited += 1,
            Ok(r) => panic!("unexpected {}", r.status()),
        }
    }
    assert_eq!(ok + server + limited + reset, 300);
    assert!((30..=90).contains(&server), "server errors {server}");
    assert!((10..=55).contains(&limited), "rate limits {limited}");
    assert!((10..=55).contains(&reset), "resets {reset}");
    assert_eq!(fake.counters().injected_faults, server + limited + reset);
    assert_eq!(fake.counters().quota_429s, 0);
}
