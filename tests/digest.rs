//! The daily digest's schedule against fake Google, on an injected clock
//! (no sleeps): once per local day at or after send_hour across DST
//! changes, a missed day rolling into the next digest, the policy changed
//! live, send-now leaving the schedule alone, and the send-time recipient
//! rule. Assertions are on fake Google's sent mail and the run rows.

mod digest_support;
mod support;

use chrono::Duration;
use email_sidecar::clock::{Clock, ManualClock};
use email_sidecar::digest::Outcome;
use email_sidecar::fake_google::FaultKind;
use email_sidecar::store::digest::{DigestRunKind, DigestRunStatus};
use serde_json::json;

use digest_support::*;
use support::api::As;

/// Ticks every 10 minutes over `[from, to)`; the UTC instants it sent at.
async fn tick_through(
    app: &support::app::TestApp,
    clock: &ManualClock,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Vec<chrono::DateTime<chrono::Utc>> {
    let d = digests(app);
    let mut sent = Vec::new();
    let mut t = from;
    while t < to {
        clock.set(t);
        match d.run_once(t).await.unwrap() {
            Outcome::Sent { .. } => sent.push(t),
            Outcome::Failed { error, .. } => panic!("send failed at {t}: {error}"),
            _ => {}
        }
        t += Duration::minutes(10);
    }
    sent
}

#[tokio::test]
async fn the_digest_goes_out_once_per_local_day_at_send_hour_across_dst_changes() {
    // (zone, first tick, last tick, the sends expected in UTC)
    let cases = [
        // Berlin springs forward on 29 March: 18:00 is 17:00Z, then 16:00Z.
        (
            "Europe/Berlin",
            utc(2026, 3, 28, 6, 0),
            utc(2026, 3, 30, 12, 0),
            vec![utc(2026, 3, 28, 17, 0), utc(2026, 3, 29, 16, 0)],
        ),
        // Berlin falls back on 25 October: 16:00Z, then 17:00Z.
        (
            "Europe/Berlin",
            utc(2026, 10, 24, 6, 0),
            utc(2026, 10, 26, 12, 0),
            vec![utc(2026, 10, 24, 16, 0), utc(2026, 10, 25, 17, 0)],
        ),
        // New York: 8 March (EST → EDT) and 1 November (EDT → EST).
        (
            "America/New_York",
            utc(2026, 3, 7, 6, 0),
            utc(2026, 3, 9, 12, 0),
            vec![utc(2026, 3, 7, 23, 0), utc(2026, 3, 8, 22, 0)],
        ),
        (
            "America/New_York",
            utc(2026, 10, 31, 6, 0),
            utc(2026, 11, 2, 12, 0),
            vec![utc(2026, 10, 31, 22, 0), utc(2026, 11, 1, 23, 0)],
        ),
    ];
    for (tz, from, to, expected) in cases {
        let clock = ManualClock::new(from);
        let app = app(&clock, tz, &[]).await;
        set_policy(&app, true, 18);
        let sent = tick_through(&app, &clock, from, to).await;
        assert_eq!(sent, expected, "{tz} {from}");
        // Exactly one digest per local day in the sender's mailbox, and
        // the scheduled windows are contiguous.
        assert_eq!(app.fake.sent(ALICE).len(), expected.len(), "{tz}");
        let rows = runs(&app);
        assert_eq!(rows.len(), expected.len());
        for pair in rows.windows(2) {
            assert_eq!(pair[1].window_start, pair[0].window_end, "{tz}");
            assert_ne!(pair[1].local_day, pair[0].local_day, "{tz}");
        }
        for (row, at) in rows.iter().zip(&expected) {
            assert_eq!(row.status, DigestRunStatus::Sent);
            assert_eq!(row.window_end, *at);
            assert_eq!(
                row.message_id,
                format!("digest-{}.scheduled@fund.test", row.local_day)
            );
        }
    }
}

#[tokio::test]
async fn a_missed_day_rolls_into_the_next_digest() {
    let clock = ManualClock::new(utc(2026, 11, 2, 17, 5));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    set_policy(&app, true, 18);
    let d = digests(&app);
    let first = d.run_once(clock.now()).await.unwrap();
    assert!(matches!(first, Outcome::Sent { .. }), "{first:?}");
    // The daemon is down all of 3 November; mail arrives meanwhile.
    let on_missed_day = mail(
        "m1@acme.vc",
        "jo@acme.vc",
        &[ALICE],
        "Missed-day term sheet",
        utc(2026, 11, 3, 10, 0),
    );
    let next_day = mail(
        "m2@fund.test",
        ALICE,
        &["jo@acme.vc"],
        "Next-day reply",
        utc(2026, 11, 4, 9, 0),
    );
    clock.set(utc(2026, 11, 4, 12, 0));
    deliver(&app, &on_missed_day, "jo@acme.vc", &[ALICE]);
    deliver(&app, &next_day, ALICE, &[ALICE]);
    capture(&app).await;
    let at = utc(2026, 11, 4, 17, 10);
    clock.set(at);
    let second = d.run_once(at).await.unwrap();
    assert!(matches!(second, Outcome::Sent { .. }), "{second:?}");
    let rows = runs(&app);
    let days: Vec<&str> = rows.iter().map(|r| r.local_day.as_str()).collect();
    assert_eq!(days, ["2026-11-02", "2026-11-04"]);
    assert_eq!(rows[1].window_start, utc(2026, 11, 2, 17, 5));
    assert_eq!(rows[1].window_end, at);
    let sent = sent_texts(&app, ALICE);
    assert_eq!(sent.len(), 2);
    assert!(sent[1].contains("Missed-day term sheet"), "{}", sent[1]);
    assert!(sent[1].contains("Next-day reply"));
    assert!(sent[1].contains("2 emails with 1 investor: 1 received, 1 sent."));
}

#[tokio::test]
async fn a_policy_change_over_the_api_applies_at_the_next_tick_without_a_restart() {
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 30)); // 18:30 in Berlin
    let app = app(&clock, "Europe/Berlin", &[]).await;
    let (api, stop) = serve_routes(&app).await;
    let d = digests(&app);
    assert_eq!(d.run_once(clock.now()).await.unwrap(), Outcome::Disabled);
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            "/api/email/digest/policy",
            As::User(ALICE),
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"enabled": true, "send_hour": 18}));
    clock.advance(Duration::minutes(1));
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::Sent { .. }
    ));
    // Switched off before the next day's hour: nothing goes out that day.
    let (status, _) = api
        .call(
            reqwest::Method::PATCH,
            "/api/email/digest/policy",
            As::User(DANA),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    clock.set(utc(2026, 6, 2, 16, 30));
    assert_eq!(d.run_once(clock.now()).await.unwrap(), Outcome::Disabled);
    // Back on with a later hour: not due at 18:30, due at 20:00.
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            "/api/email/digest/policy",
            As::User(ALICE),
            Some(&json!({"enabled": true, "send_hour": 20})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (200, json!({"enabled": true, "send_hour": 20}))
    );
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::NotDue { .. }
    ));
    clock.set(utc(2026, 6, 2, 18, 0));
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::Sent { .. }
    ));
    assert_eq!(app.fake.sent(ALICE).len(), 2);
    let days: Vec<String> = runs(&app).into_iter().map(|r| r.local_day).collect();
    assert_eq!(days, ["2026-06-01", "2026-06-02"]);
    stop.cancel();
}

#[tokio::test]
async fn send_now_sends_the_last_day_to_admins_and_leaves_the_schedule_alone() {
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 5));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    set_policy(&app, true, 18);
    let d = digests(&app);
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::Sent { .. }
    ));
    let cursor = app.store.digest_cursor().unwrap();
    assert_eq!(cursor, Some(utc(2026, 6, 1, 16, 5)));
    clock.set(utc(2026, 6, 2, 10, 0));
    let (api, stop) = serve_routes(&app).await;
    let (status, body) = api
        .post("/api/email/digest/send-now", As::User(DANA), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "send_now");
    assert_eq!(body["status"], "sent");
    assert_eq!(body["transport"], "gmail");
    assert_eq!(body["recipients"], json!([ALICE, DANA]));
    assert_eq!(body["window"]["start"], "2026-06-01T10:00:00.000Z");
    assert_eq!(body["window"]["end"], "2026-06-02T10:00:00.000Z");
    assert_eq!(app.store.digest_cursor().unwrap(), cursor);
    let sent = sent_texts(&app, ALICE);
    assert_eq!(sent.len(), 2);
    assert_eq!(header(&sent[1], "To").unwrap(), format!("{ALICE}, {DANA}"));
    // The day's scheduled digest still goes out, from the unchanged cursor.
    clock.set(utc(2026, 6, 2, 16, 0));
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::Sent { .. }
    ));
    let last = runs(&app).pop().unwrap();
    assert_eq!(last.kind, DigestRunKind::Scheduled);
    assert_eq!(last.window_start, utc(2026, 6, 1, 16, 5));
    assert_eq!(app.fake.sent(ALICE).len(), 3);
    let audit = app.store.recent_audit(10).unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "digest.send_now" && a.actor == DANA));
    stop.cancel();
}

#[tokio::test]
async fn a_failed_day_is_retried_after_a_pause_to_the_admins_of_that_moment() {
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 5));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    set_policy(&app, true, 18);
    // A permanent Gmail refusal and no SMTP: the day's run fails.
    app.fake
        .fail_next("users.messages.send", 1, FaultKind::NotFound);
    let d = digests(&app);
    let first = d.run_once(clock.now()).await.unwrap();
    assert!(matches!(first, Outcome::Failed { .. }), "{first:?}");
    let row = runs(&app).pop().unwrap();
    assert_eq!((row.status, row.attempts), (DigestRunStatus::Failed, 1));
    assert_eq!(row.recipients, [ALICE, DANA]);
    // Dana leaves; the next tick is too soon for a retry.
    let mut dir = directory();
    dir.users.retain(|u| u.email != DANA);
    app.store.replace_directory(&dir).unwrap();
    clock.advance(Duration::minutes(1));
    assert!(matches!(
        d.run_once(clock.now()).await.unwrap(),
        Outcome::Waiting { .. }
    ));
    clock.advance(Duration::minutes(5));
    let again = d.run_once(clock.now()).await.unwrap();
    assert!(matches!(again, Outcome::Sent { .. }), "{again:?}");
    let row = runs(&app).pop().unwrap();
    assert_eq!((row.status, row.attempts), (DigestRunStatus::Sent, 2));
    assert_eq!(row.recipients, [ALICE]);
    assert_eq!(runs(&app).len(), 1);
    let sent = sent_texts(&app, ALICE);
    assert_eq!(sent.len(), 1);
    assert_eq!(header(&sent[0], "To").unwrap(), ALICE);
    // The retry looked the Message-ID up before sending again.
    let calls = app.fake.counters().calls;
    assert_eq!(calls.get("users.messages.send"), Some(&2));
    assert!(calls.get("users.messages.list").copied().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn the_daemon_runs_the_scheduler_which_sends_once_when_due() {
    // 18:30 in Berlin: the loop's first tick is due.
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 30));
    let app = app(&clock, "Europe/Berlin", &[]).await;
    set_policy(&app, true, 18);
    let (_base, stop) = app.serve_daemon().await;
    let started = std::time::Instant::now();
    // Until the run is recorded (fake Google sees the mail a moment before).
    while !runs(&app).iter().any(|r| r.status == DigestRunStatus::Sent) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no digest"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.cancel();
    let rows = runs(&app);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].local_day, "2026-06-01");
    assert_eq!(app.fake.sent(ALICE).len(), 1);
    // Asked again at the same instant, the day is done.
    let again = digests(&app).run_once(clock.now()).await.unwrap();
    assert_eq!(again, Outcome::AlreadySent { run_id: rows[0].id });
    assert_eq!(app.fake.sent(ALICE).len(), 1);
}
