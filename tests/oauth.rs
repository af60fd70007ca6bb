//! OAuth mode end to end against fake Google's code grant: oauth/start's
//! consent URL, consent simulated with `authorize_code`, oauth/callback
//! storing the refresh token encrypted (and nowhere in clear), the running
//! daemon capturing the new mailbox without a restart, and every way a
//! state can be bad — replayed, expired, tampered — plus a mailbox outside
//! our domain, each refused with nothing stored.

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use email_sidecar::clock::ManualClock;
use email_sidecar::crypto::TokenCipher;
use reqwest::{Method, StatusCode};
use rusqlite::{Connection, OptionalExtension};
use support::api::{directory_with_users, Api, As, ADMIN};
use support::app::{spawn_app, AppOptions, TestApp};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

const CLIENT_ID: &str = "123-fund.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "fake-client-secret";
const REDIRECT: &str = "https://crm.fund.test/api/email/oauth/callback";
const AUTH_URI: &str = "https://consent.google.test/o/oauth2/v2/auth";
const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
const COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
const DANA: &str = "dana@fund.test";

struct World {
    app: TestApp,
    api: Api,
    stop: CancellationToken,
    clock: Arc<ManualClock>,
    key_b64: String,
    _secrets: TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn world() -> World {
    let secrets = tempfile::tempdir().unwrap();
    let key_b64 = TokenCipher::generate_key_base64().expose().clone();
    let key_path = secrets.path().join("aes.key");
    std::fs::write(&key_path, &key_b64).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let start = chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let clock = ManualClock::new(start);
    let env = [
        ("CRM_GMAIL_AUTH_METHOD", "oauth"),
        ("CRM_GMAIL_OAUTH_CLIENT_ID", CLIENT_ID),
        ("CRM_GMAIL_OAUTH_CLIENT_SECRET", CLIENT_SECRET),
        ("CRM_GMAIL_OAUTH_REDIRECT_URI", REDIRECT),
        ("CRM_GMAIL_OAUTH_AUTH_URI", AUTH_URI),
        ("CRM_GMAIL_SECRET_KEY_PATH", key_path.to_str().unwrap()),
    ];
    let app = spawn_app(AppOptions {
        mailboxes: vec![],
        enabled: true,
        clock: Some(clock.clone()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..AppOptions::default()
    })
    .await;
    app.fake.add_oauth_client(CLIENT_ID, CLIENT_SECRET);
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    let (served, stop) = app.serve_api().await;
    // Redirects are the answer under test, not something to follow.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = Api {
        base: served.base.clone(),
        client,
    };
    World {
        app,
        api,
        stop,
        clock,
        key_b64,
        _secrets: secrets,
    }
}

/// oauth/start as the admin: the Location's query parameters.
async fn start(w: &World, hint: Option<&str>) -> HashMap<String, String> {
    let path = match hint {
        Some(h) => format!("/api/email/oauth/start?login_hint={h}"),
        None => "/api/email/oauth/start".to_string(),
    };
    let resp = w
        .api
        .request(Method::GET, &path, As::User(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        AUTH_URI
    );
    url.query_pairs().into_owned().collect()
}

/// The browser arriving back from Google: (status, page).
async fn callback(w: &World, code: &str, state: &str) -> (StatusCode, String) {
    let resp = w
        .api
        .client
        .get(format!("{}/api/email/oauth/callback", w.api.base))
        .query(&[("code", code), ("state", state)])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

fn consent(w: &World, user: &str) -> String {
    w.app
        .fake
        .authorize_code(CLIENT_ID, user, &[READONLY, COMPOSE], REDIRECT)
}

fn db(app: &TestApp) -> Connection {
    Connection::open(app.db_path()).unwrap()
}

fn account_row(app: &TestApp, email: &str) -> Option<(String, Option<Vec<u8>>)> {
    db(app)
        .query_row(
            "SELECT auth_method, refresh_token_enc FROM email_accounts WHERE email = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .unwrap()
}

/// A refresh grant at fake Google with `token`, then getProfile: whose it is.
async fn owner_of_refresh_token(app: &TestApp, token: &str) -> String {
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(app.fake.token_uri())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = answer["access_token"]
        .as_str()
        .expect("refresh grant refused");
    let profile: serde_json::Value = http
        .get(format!("{}/gmail/v1/users/me/profile", app.fake.api_base()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    profile["emailAddress"].as_str().unwrap().to_string()
}

fn db_files_contain(app: &TestApp, needle: &str) -> bool {
    let base = app.db_path();
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let path = format!("{}{suffix}", base.display());
        std::fs::read(&path)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn a_consented_mailbox_is_stored_encrypted_and_captured_without_a_restart() {
    let w = world().await;
    let q = start(&w, Some(DANA)).await;
    let expect = [
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("login_hint", DANA),
    ];
    for (k, v) in expect {
        assert_eq!(q.get(k).map(String::as_str), Some(v), "{k}");
    }
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    assert!(
        scopes.contains(&READONLY) && scopes.contains(&COMPOSE),
        "{scopes:?}"
    );
    let raw = b"Message-ID: <hello-1@acme.vc>\r\nFrom: jo@acme.vc\r\nTo: dana@fund.test\r\n\
Subject: Hello Dana\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\nHi.\r\n";
    w.app.fake.deliver(DANA, raw, &["INBOX"]);

    let (status, page) = callback(&w, &consent(&w, DANA), &q["state"]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Connected dana@fund.test"), "{page}");
    assert!(!page.contains("1//") && !page.contains("ya29"), "{page}");

    let (method, blob) = account_row(&w.app, DANA).expect("no account row");
    assert_eq!(method, "oauth");
    let cipher = TokenCipher::from_base64(&w.key_b64).unwrap();
    let token = cipher.decrypt_token(DANA, &blob.unwrap()).unwrap();
    assert_eq!(owner_of_refresh_token(&w.app, token.expose()).await, DANA);
    assert!(
        !db_files_contain(&w.app, token.expose()),
        "refresh token in clear in the DB"
    );
    let actor: String = db(&w.app)
        .query_row(
            "SELECT actor FROM audit_log WHERE action = 'account.oauth_connect' AND target = ?1",
            [DANA],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, ADMIN);

    // The running daemon (built before dana existed) captures her mailbox.
    let mut captured = false;
    for _ in 0..100 {
        let n: i64 = db(&w.app)
            .query_row(
                "SELECT count(*) FROM emails WHERE message_id = 'hello-1@acme.vc'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if n == 1 {
            captured = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(captured, "the connected mailbox was not captured");
    let (status, error): (String, Option<String>) = db(&w.app)
        .query_row(
            "SELECT status, last_error FROM email_accounts WHERE email = ?1",
            [DANA],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), error), ("active", None));
}

#[tokio::test]
async fn a_replayed_expired_or_tampered_state_is_refused_and_nothing_is_stored() {
    let w = world().await;
    // Replayed: a state already used connects nothing a second time.
    let q = start(&w, None).await;
    let (ok, _) = callback(&w, &consent(&w, DANA), &q["state"]).await;
    assert_eq!(ok, StatusCode::OK);
    let blob_before = account_row(&w.app, DANA).unwrap().1;
    let code = consent(&w, DANA);
    let (status, page) = callback(&w, &code, &q["state"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("invalid, expired or already used"), "{page}");
    assert_eq!(account_row(&w.app, DANA).unwrap().1, blob_before);
    // Refused before the exchange: the code is still unused at Google.
    let answer = reqwest::Client::new()
        .post(w.app.fake.token_uri())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the code was exchanged");

    // Expired: eleven minutes on the injected clock.
    let q = start(&w, None).await;
    w.clock.advance(chrono::Duration::minutes(11));
    let (status, _) = callback(&w, &consent(&w, "erin@fund.test"), &q["state"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(account_row(&w.app, "erin@fund.test").is_none());

    // Tampered: a later expiry, a flipped MAC byte, junk, or no state.
    let q = start(&w, None).await;
    let state = q["state"].clone();
    let parts: Vec<&str> = state.split('.').collect();
    let later = format!(
        "{}.{}.{}",
        parts[0],
        parts[1].parse::<i64>().unwrap() + 3600,
        parts[2]
    );
    let mut mac = parts[2].to_string();
    let last = if mac.ends_with('A') { "B" } else { "A" };
    mac.replace_range(mac.len() - 1.., last);
    let flipped = format!("{}.{}.{mac}", parts[0], parts[1]);
    for bad in [later.as_str(), flipped.as_str(), "junk", ""] {
        let (status, page) = callback(&w, &consent(&w, "frank@fund.test"), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {page}");
    }
    assert!(account_row(&w.app, "frank@fund.test").is_none());
    // The untampered state still works once.
    let (status, _) = callback(&w, &consent(&w, "frank@fund.test"), &state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account_row(&w.app, "frank@fund.test").unwrap().0, "oauth");
}

#[tokio::test]
async fn a_mailbox_outside_our_domain_is_refused_and_nothing_is_stored() {
    let w = world().await;
    let q = start(&w, None).await;
    let (status, page) = callback(&w, &consent(&w, "mallory@evil.example"), &q["state"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("not in our Workspace domain"), "{page}");
    let accounts: i64 = db(&w.app)
        .query_row("SELECT count(*) FROM email_accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(accounts, 0);
    let audits: i64 = db(&w.app)
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'account.oauth_connect'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audits, 0);
}

#[tokio::test]
async fn oauth_start_is_for_admins_and_checks_its_login_hint() {
    let w = world().await;
    let path = "/api/email/oauth/start";
    let member = w
        .api
        .request(Method::GET, path, As::User(support::api::MEMBER));
    assert_eq!(member.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let anon = w.api.request(Method::GET, path, As::NoToken);
    assert_eq!(
        anon.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let bad = w.api.request(
        Method::GET,
        "/api/email/oauth/start?login_hint=not-an-address",
        As::User(ADMIN),
    );
    assert_eq!(bad.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    let states: i64 = db(&w.app)
        .query_row("SELECT count(*) FROM oauth_states", [], |r| r.get(0))
        .unwrap();
    assert_eq!(states, 0);
}

#[tokio::test]
async fn in_domain_wide_delegation_mode_the_oauth_routes_say_oauth_is_off() {
    let (app, api, stop) = support::api::served_with_users().await;
    let (status, body) = api.get("/api/email/oauth/start", As::User(ADMIN)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("OAuth mode is off"));
    let resp = reqwest::get(format!(
        "{}/api/email/oauth/callback?code=c&state=s",
        api.base
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let accounts: i64 = db(&app)
        .query_row(
            "SELECT count(*) FROM email_accounts WHERE auth_method = 'oauth'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(accounts, 0);
    stop.cancel();
}
