//! The Gmail client against the project's fake Google: every endpoint we
//! use, the per-mailbox quota (no 429s, never faster than the budget),
//! retries through injected faults, and the batch endpoint keeping errors
//! per call.

use email_sidecar::clock;
use email_sidecar::fake_google::{FakeGoogle, FakeOptions, FaultKind, Faults};
use email_sidecar::google::auth::{ServiceAccountKey, TokenProvider};
use email_sidecar::google::types::{decode_base64url, HistoryId};
use email_sidecar::google::{
    GmailClient, GmailError, GmailSettings, HistoryParams, ListMessagesParams, MessageFormat,
};
use futures::StreamExt;
use std::time::{Duration, Instant};

const ALICE: &str = "alice@fund.test";

fn raw(n: usize) -> Vec<u8> {
    format!(
        "From: Carol <carol@acme.example>\r\nTo: {ALICE}\r\nSubject: Note {n}\r\n\
         Date: Wed, 1 Apr 2026 09:{:02}:00 +0000\r\nMessage-ID: <note-{n}@acme.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello number {n}.\r\n",
        n % 60
    )
    .into_bytes()
}

fn fast_settings(fake: &FakeGoogle) -> GmailSettings {
    GmailSettings {
        api_base: fake.api_base(),
        units_per_sec: 0,
        max_in_flight: 8,
        retry_max: 5,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(100),
        request_timeout: Duration::from_secs(10),
        ..GmailSettings::default()
    }
}

async fn setup(quota: Option<u32>) -> FakeGoogle {
    let fake = FakeGoogle::start(FakeOptions {
        quota_units_per_sec: quota,
        ..Default::default()
    })
    .await
    .unwrap();
    fake.add_user(ALICE);
    fake
}

fn client(fake: &FakeGoogle, settings: GmailSettings) -> GmailClient {
    let key = ServiceAccountKey::from_json(&fake.service_account_json()).unwrap();
    let http = reqwest::Client::new();
    let tokens =
        TokenProvider::service_account(key, fake.token_uri(), http.clone(), clock::system());
    GmailClient::new(settings, tokens, http)
}

fn calls(fake: &FakeGoogle, method: &str) -> u64 {
    fake.counters().calls.get(method).copied().unwrap_or(0)
}

#[tokio::test]
async fn listing_pages_through_every_message_newest_first() {
    let fake = setup(None).await;
    let ids: Vec<String> = (0..7)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    let gmail = client(&fake, fast_settings(&fake));
    let params = ListMessagesParams {
        max_results: Some(3),
        ..Default::default()
    };
    let listed = gmail.list_all_messages(ALICE, &params).await.unwrap();
    let listed: Vec<String> = listed.into_iter().map(|m| m.id).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(calls(&fake, "users.messages.list"), 3);
    let sent_only = ListMessagesParams {
        label_ids: vec!["SENT".into()],
        ..Default::default()
    };
    assert!(gmail
        .list_all_messages(ALICE, &sent_only)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_message_comes_back_in_metadata_and_raw_formats() {
    let fake = setup(None).await;
    let id = fake.deliver(ALICE, &raw(1), &["INBOX", "UNREAD"]);
    let gmail = client(&fake, fast_settings(&fake));
    let meta = gmail
        .get_message(ALICE, &id, MessageFormat::Metadata, &["Subject", "From"])
        .await
        .unwrap();
    assert_eq!(meta.id, id);
    assert!(meta.label_ids.contains(&"UNREAD".to_string()));
    assert_eq!(
        meta.payload.as_ref().unwrap().header("subject"),
        Some("Note 1")
    );
    let full = gmail
        .get_message(ALICE, &id, MessageFormat::Raw, &[])
        .await
        .unwrap();
    assert_eq!(
        decode_base64url(full.raw.as_deref().unwrap()).unwrap(),
        raw(1)
    );
}

#[tokio::test]
async fn a_message_deleted_since_listing_is_not_found() {
    let fake = setup(None).await;
    let id = fake.deliver(ALICE, &raw(1), &["INBOX"]);
    fake.delete_message(ALICE, &id);
    let gmail = client(&fake, fast_settings(&fake));
    let err = gmail
        .get_message(ALICE, &id, MessageFormat::Minimal, &[])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GmailError::NotFound {
            mailbox: ALICE.into(),
            what: format!("message {id}")
        }
    );
    // A 404 is an answer, not a transient failure: asked once.
    assert_eq!(calls(&fake, "users.messages.get"), 1);
}

#[tokio::test]
async fn history_lists_changes_since_a_cursor_and_an_expired_cursor_is_typed() {
    let fake = setup(None).await;
    let gmail = client(&fake, fast_settings(&fake));
    let start = gmail.get_profile(ALICE).await.unwrap().history_id;
    let a = fake.deliver(ALICE, &raw(1), &["INBOX"]);
    let b = fake.deliver(ALICE, &raw(2), &["INBOX"]);
    fake.modify_labels(ALICE, &a, &["STARRED"], &["INBOX"]);
    let params = HistoryParams {
        start_history_id: start,
        max_results: Some(1),
        ..Default::default()
    };
    let listing = gmail.list_all_history(ALICE, &params).await.unwrap();
    let added: Vec<&str> = listing
        .history
        .iter()
        .flat_map(|h| h.messages_added.iter().map(|m| m.message.id.as_str()))
        .collect();
    assert_eq!(added, vec![a.as_str(), b.as_str()]);
    assert!(listing.history.iter().any(|h| !h.labels_removed.is_empty()));
    assert_eq!(listing.history_id, fake.history_id(ALICE));
    assert!(listing.history_id > start);

    fake.expire_history(ALICE);
    let err = gmail.list_history(ALICE, &params, None).await.unwrap_err();
    assert_eq!(
        err,
        GmailError::HistoryExpired {
            mailbox: ALICE.into(),
            start
        }
    );
    assert!(err.is_history_expired());
}

#[tokio::test]
async fn a_large_attachment_is_fetched_by_its_id() {
    let fake = setup(None).await;
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &content);
    let body = format!(
        "From: carol@acme.example\r\nTo: {ALICE}\r\nSubject: deck\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee deck\r\n\
         --XX\r\nContent-Type: application/pdf; name=deck.pdf\r\nContent-Disposition: attachment; filename=deck.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--XX--\r\n"
    );
    let id = fake.deliver(ALICE, body.as_bytes(), &["INBOX"]);
    let gmail = client(&fake, fast_settings(&fake));
    let msg = gmail
        .get_message(ALICE, &id, MessageFormat::Full, &[])
        .await
        .unwrap();
    let part = msg
        .payload
        .unwrap()
        .parts
        .into_iter()
        .find(|p| p.filename == "deck.pdf")
        .unwrap();
    let aid = part
        .body
        .attachment_id
        .expect("large part carries an attachmentId");
    let att = gmail.get_attachment(ALICE, &id, &aid).await.unwrap();
    assert_eq!(
        decode_base64url(att.data.as_deref().unwrap()).unwrap(),
        content
    );
}

#[tokio::test]
async fn drafts_and_sends_reach_the_mailbox() {
    let fake = setup(None).await;
    let original = fake.deliver(ALICE, &raw(1), &["INBOX"]);
    let gmail = client(&fake, fast_settings(&fake));
    let thread = gmail
        .get_message(ALICE, &original, MessageFormat::Minimal, &[])
        .await
        .unwrap()
        .thread_id;
    let reply = format!(
        "From: {ALICE}\r\nTo: carol@acme.example\r\nSubject: Re: Note 1\r\nIn-Reply-To: <note-1@acme.example>\r\n\
         References: <note-1@acme.example>\r\n\r\nThanks!\r\n"
    );
    let draft = gmail
        .create_draft(ALICE, reply.as_bytes(), Some(&thread))
        .await
        .unwrap();
    assert!(draft.id.is_some());
    assert_eq!(draft.message.thread_id, thread);
    assert_eq!(fake.drafts(ALICE).len(), 1);
    let digest = format!("From: {ALICE}\r\nTo: {ALICE}\r\nSubject: Digest\r\n\r\nNo activity.\r\n");
    gmail
        .send_message(ALICE, digest.as_bytes(), None)
        .await
        .unwrap();
    // Gmail (and the fake) add a Message-ID when the sender gave none.
    let sent = fake.sent(ALICE);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].ends_with(digest.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&sent[0])
    );
}

#[tokio::test]
async fn watch_and_stop_register_push() {
    let fake = setup(None).await;
    let gmail = client(&fake, fast_settings(&fake));
    let w = gmail
        .watch(ALICE, "projects/p/topics/gmail", &["INBOX"])
        .await
        .unwrap();
    assert_eq!(w.history_id, fake.history_id(ALICE));
    assert!(w.expiration.is_some());
    gmail.stop(ALICE).await.unwrap();
    assert_eq!(
        (calls(&fake, "users.watch"), calls(&fake, "users.stop")),
        (1, 1)
    );
}

/// 2,000 `messages.get` (10,000 units) over 200 messages.
async fn two_thousand_gets(gmail: &GmailClient, ids: &[String]) -> Vec<Result<(), GmailError>> {
    futures::stream::iter((0..2000).map(|i| ids[i % ids.len()].clone()))
        .map(|id| async move {
            gmail
                .get_message(ALICE, &id, MessageFormat::Minimal, &[])
                .await
                .map(|_| ())
        })
        .buffer_unordered(32)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_gets_at_the_quota_draw_no_429s_and_take_as_long_as_the_budget_says() {
    let fake = setup(Some(250)).await;
    let ids: Vec<String> = (0..200)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    let settings = GmailSettings {
        units_per_sec: 250,
        ..fast_settings(&fake)
    };
    let burst = f64::from(settings.burst_units);
    let gmail = client(&fake, settings);
    fake.reset_counters();
    let started = Instant::now();
    let results = two_thousand_gets(&gmail, &ids).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(results.iter().all(Result::is_ok));
    let c = fake.counters();
    assert_eq!(c.quota_429s, 0);
    assert_eq!(c.calls.get("users.messages.get").copied(), Some(2000));
    assert_eq!(c.units_charged, 10_000);
    assert!(c.peak_units_per_sec <= 250, "peak {}", c.peak_units_per_sec);
    let floor = (10_000.0 - burst) / 250.0;
    assert!(
        elapsed >= floor,
        "took {elapsed:.2}s, the budget allows no less than {floor:.2}s"
    );
    println!(
        "2000 gets in {elapsed:.2}s (floor {floor:.2}s), peak {} units/s",
        c.peak_units_per_sec
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fifteen_percent_injected_faults_all_two_thousand_gets_succeed() {
    let fake = setup(None).await;
    let ids: Vec<String> = (0..200)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    fake.set_faults(Faults {
        server_error_rate: 0.05,
        rate_limit_rate: 0.05,
        reset_rate: 0.05,
        seed: 7,
        ..Default::default()
    });
    // 0.15^11 per call: no call runs out of retries.
    let gmail = client(
        &fake,
        GmailSettings {
            retry_max: 10,
            ..fast_settings(&fake)
        },
    );
    let results = two_thousand_gets(&gmail, &ids).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    let c = fake.counters();
    assert!(
        c.injected_faults > 150,
        "only {} faults were injected",
        c.injected_faults
    );
    assert!(c.calls.get("users.messages.get").copied().unwrap_or(0) > 2000 + 150);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let fake = setup(None).await;
    fake.fail_next("users.getProfile", 1, FaultKind::RetryAfter(1));
    let gmail = client(
        &fake,
        GmailSettings {
            backoff_cap: Duration::from_secs(5),
            ..fast_settings(&fake)
        },
    );
    let started = Instant::now();
    gmail.get_profile(ALICE).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(calls(&fake, "users.getProfile"), 2);
}

#[tokio::test]
async fn resets_and_403_rate_limits_are_retried_but_a_permanent_error_is_not() {
    let fake = setup(None).await;
    let gmail = client(&fake, fast_settings(&fake));
    fake.fail_next("users.getProfile", 1, FaultKind::Reset);
    fake.fail_next("users.getProfile", 1, FaultKind::RateLimit403);
    gmail.get_profile(ALICE).await.unwrap();
    assert_eq!(calls(&fake, "users.getProfile"), 3);
    fake.fail_next("users.getProfile", 10, FaultKind::ServerError);
    let err = gmail.get_profile(ALICE).await.unwrap_err();
    assert!(matches!(err, GmailError::Server { .. }), "{err:?}");
    // One try plus retry_max (5) retries.
    assert_eq!(calls(&fake, "users.getProfile"), 3 + 6);
}

#[tokio::test]
async fn a_draft_is_not_resent_after_the_connection_dies_mid_request() {
    let fake = setup(None).await;
    let gmail = client(&fake, fast_settings(&fake));
    fake.fail_next("users.drafts.create", 1, FaultKind::Reset);
    let err = gmail.create_draft(ALICE, &raw(1), None).await.unwrap_err();
    assert!(matches!(err, GmailError::Transport { .. }), "{err:?}");
    assert_eq!(calls(&fake, "users.drafts.create"), 1);
}

#[tokio::test]
async fn a_batch_of_fifty_keeps_one_unknown_id_as_that_calls_not_found() {
    let fake = setup(None).await;
    let mut ids: Vec<String> = (0..49)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    ids.insert(17, "18f0000000000000".to_string());
    let gmail = client(&fake, fast_settings(&fake));
    fake.reset_counters();
    let out = gmail
        .get_messages_batch(ALICE, &ids, MessageFormat::Metadata, &["Subject"])
        .await;
    assert_eq!(out.len(), 50);
    for (i, (r, id)) in out.iter().zip(&ids).enumerate() {
        if i == 17 {
            assert!(r.as_ref().unwrap_err().is_not_found(), "{r:?}");
        } else {
            assert_eq!(&r.as_ref().unwrap().id, id);
        }
    }
    // ids[18] is the 18th delivery (index 17) now that the unknown id sits at 17.
    let subject = out[18]
        .as_ref()
        .unwrap()
        .payload
        .as_ref()
        .unwrap()
        .header("Subject");
    assert_eq!(subject, Some("Note 17"));
    assert_eq!(
        (calls(&fake, "batch"), calls(&fake, "users.messages.get")),
        (1, 50)
    );
    // Each inner call costs its own units (whether Google bills a 404 is moot here).
    assert!(matches!(fake.counters().units_charged, 245 | 250));
}

#[tokio::test]
async fn a_long_batch_is_split_and_inner_server_errors_are_retried() {
    let fake = setup(None).await;
    let ids: Vec<String> = (0..120)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    let gmail = client(&fake, fast_settings(&fake));
    fake.reset_counters();
    fake.fail_next("users.messages.get", 3, FaultKind::ServerError);
    let out = gmail
        .get_messages_batch(ALICE, &ids, MessageFormat::Minimal, &[])
        .await;
    let got: Vec<&str> = out
        .iter()
        .map(|r| r.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        calls(&fake, "batch") >= 4,
        "3 chunks plus at least one follow-up batch"
    );
    assert_eq!(calls(&fake, "users.messages.get"), 123);
}

#[tokio::test]
async fn history_ids_round_trip_as_numbers() {
    let fake = setup(None).await;
    let gmail = client(&fake, fast_settings(&fake));
    let p = gmail.get_profile(ALICE).await.unwrap();
    assert_eq!(p.history_id, fake.history_id(ALICE));
    assert!(p.history_id > HistoryId(0));
}

/// At the SPEC's default budget (90 units/s) a batch of 50 gets (250 units,
/// charged at once) would overrun Gmail's per-second window by itself, so
/// the client sizes batches to the budget: no quota 429s, every message back.
#[tokio::test]
async fn batches_at_the_default_budget_fit_the_per_second_quota_and_draw_no_429s() {
    let fake = setup(Some(90)).await;
    let ids: Vec<String> = (0..60)
        .map(|n| fake.deliver(ALICE, &raw(n), &["INBOX"]))
        .collect();
    let settings = GmailSettings {
        units_per_sec: 90,
        ..fast_settings(&fake)
    };
    let gmail = client(&fake, settings);
    fake.reset_counters();
    let out = gmail
        .get_messages_batch(ALICE, &ids, MessageFormat::Minimal, &[])
        .await;
    let got: Vec<&str> = out
        .iter()
        .map(|r| r.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let counters = fake.counters();
    assert_eq!(counters.quota_429s, 0, "{counters:?}");
    assert_eq!(
        calls(&fake, "users.messages.get"),
        60,
        "no inner call repeated"
    );
    assert!(
        calls(&fake, "batch") >= 4,
        "60 gets need batches of ≤17 at 90/s"
    );
}
