//! Shared by the digest tests: a team directory (two admins, a member, an
//! inactive admin), investor mail delivered to fake Google and captured for
//! real, the digest service on an injected clock, and the API served
//! without the scheduler loop (so only the test drives `run_once`).
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use email_sidecar::capture::SyncMode;
use email_sidecar::clock::{ManualClock, SharedClock};
use email_sidecar::config::LiveConfig;
use email_sidecar::digest::{DigestPolicy, Digests};
use email_sidecar::store::digest::DigestRun;
use email_sidecar::store::{
    Directory, DirectoryContact, DirectoryInvestor, DirectoryUser, UserRole,
};

use crate::support::api::Api;
use crate::support::app::{spawn_app, AppOptions, TestApp};

pub const ALICE: &str = "alice@fund.test";
pub const BOB: &str = "bob@fund.test";
pub const DANA: &str = "dana@fund.test";
pub const OLD: &str = "old@fund.test";

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// alice + dana admins, bob member, old an inactive admin; Acme and Beta.
pub fn directory() -> Directory {
    let user = |id: &str, email: &str, name: &str, role, active| DirectoryUser {
        id: id.into(),
        email: email.into(),
        name: name.into(),
        role,
        active,
    };
    let investor = |id: &str, name: &str, domain: &str| DirectoryInvestor {
        id: id.into(),
        name: name.into(),
        domains: vec![domain.into()],
        graveyard: false,
    };
    Directory {
        users: vec![
            user("u-alice", ALICE, "Alice Admin", UserRole::Admin, true),
            user("u-bob", BOB, "Bob Member", UserRole::Member, true),
            user("u-dana", DANA, "Dana Partner", UserRole::Admin, true),
            user("u-old", OLD, "Old Timer", UserRole::Admin, false),
        ],
        investors: vec![
            investor("inv-acme", "Acme Ventures", "acme.vc"),
            investor("inv-beta", "Beta & <Sons> Capital", "beta.vc"),
        ],
        contacts: vec![DirectoryContact {
            id: "c-jo".into(),
            investor_id: "inv-acme".into(),
            email: "jo@acme.vc".into(),
            name: "Jo".into(),
        }],
        exclusions: vec![],
    }
}

/// An app on `clock` with the integration enabled, mailboxes alice, bob,
/// dana and old, the directory loaded, zone `tz`.
pub async fn app(clock: &Arc<ManualClock>, tz: &str, env: &[(&str, &str)]) -> TestApp {
    app_on(clock.clone() as SharedClock, tz, env).await
}

/// [`app`] on any clock (the system clock when a child process shares the fake).
pub async fn app_on(clock: SharedClock, tz: &str, env: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("CRM_DIGEST_TIMEZONE".to_string(), tz.to_string())];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let app = spawn_app(AppOptions {
        mailboxes: [ALICE, BOB, DANA, OLD].map(String::from).to_vec(),
        env: all,
        clock: Some(clock),
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory()).unwrap();
    app.store.seed_digest_policy(&app.config.digest).unwrap();
    app
}

pub fn digests(app: &TestApp) -> Digests {
    let live = LiveConfig::new(Arc::new(app.config.clone()));
    Digests::new(app.store.clone(), live, app.clock.clone())
}

pub fn set_policy(app: &TestApp, enabled: bool, send_hour: u32) {
    let before = app.store.digest_policy().unwrap();
    let p = DigestPolicy { enabled, send_hour };
    app.store.set_digest_policy(&p, "test", &before).unwrap();
}

/// Every run, oldest first.
pub fn runs(app: &TestApp) -> Vec<DigestRun> {
    let mut r = app.store.digest_runs(1000).unwrap();
    r.reverse();
    r
}

/// A plain-text email.
pub fn mail(id: &str, from: &str, to: &[&str], subject: &str, date: DateTime<Utc>) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAbout {subject}.\r\n",
        to.join(", "),
        date.to_rfc2822()
    )
    .into_bytes()
}

/// Delivers `raw` to each mailbox: SENT in the sender's, INBOX elsewhere.
pub fn deliver(app: &TestApp, raw: &[u8], from: &str, mailboxes: &[&str]) -> Vec<String> {
    mailboxes
        .iter()
        .map(|m| {
            let label = if *m == from { "SENT" } else { "INBOX" };
            app.fake.deliver(m, raw, &[label])
        })
        .collect()
}

pub async fn capture(app: &TestApp) {
    app.capture.sync_all(SyncMode::Auto).await.unwrap();
}

/// The HTTP API on loopback without the capture worker or the digest
/// scheduler: only the test moves the schedule.
pub async fn serve_routes(app: &TestApp) -> (Api, tokio_util::sync::CancellationToken) {
    app.serve_routes_api().await
}

/// Raw messages sent through Gmail by `user`, as text.
pub fn sent_texts(app: &TestApp, user: &str) -> Vec<String> {
    app.fake
        .sent(user)
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r).into_owned())
        .collect()
}

pub fn send_calls(app: &TestApp) -> u64 {
    app.fake
        .counters()
        .calls
        .get("users.messages.send")
        .copied()
        .unwrap_or(0)
}

/// A header's value in a raw message (first occurrence, unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}
