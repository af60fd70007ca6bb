//! Shared helpers for the fake_google tests: start a fake, mint JWTs the way
//! a service-account client does (jsonwebtoken, RS256), exchange them, call
//! Gmail over real HTTP, and build RFC 822 test mail.

use email_sidecar::clock::{Clock, SharedClock, SystemClock};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
pub const ALICE: &str = "alice@fund.test";
pub const BOB: &str = "bob@fund.test";

pub async fn start() -> FakeGoogle {
    start_with(FakeOptions::default()).await
}

pub async fn start_with(opts: FakeOptions) -> FakeGoogle {
    let fake = FakeGoogle::start(opts).await.unwrap();
    fake.add_user(ALICE);
    fake.add_user(BOB);
    fake
}

pub fn now_secs(clock: Option<&SharedClock>) -> i64 {
    match clock {
        Some(c) => c.now().timestamp(),
        None => SystemClock.now().timestamp(),
    }
}

fn sa(fake: &FakeGoogle) -> Value {
    serde_json::from_str(&fake.service_account_json()).unwrap()
}

/// The claims a DWD client sends, issued now for an hour.
pub fn claims(fake: &FakeGoogle, sub: &str, scope: &str) -> Value {
    let now = now_secs(None);
    json!({"iss": fake.client_email(), "sub": sub, "scope": scope,
           "aud": fake.token_uri(), "iat": now, "exp": now + 3600})
}

/// Sign claims RS256 with the SA key, `kid` = private_key_id.
pub fn sign(fake: &FakeGoogle, claims: &Value) -> String {
    let sa = sa(fake);
    let key = EncodingKey::from_rsa_pem(sa["private_key"].as_str().unwrap().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(sa["private_key_id"].as_str().unwrap().to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Sign with padded base64url segments (as some clients emit).
pub fn sign_padded(fake: &FakeGoogle, claims: &Value) -> String {
    use base64::Engine;
    let pad = |b: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(b);
    let sa = sa(fake);
    let key = EncodingKey::from_rsa_pem(sa["private_key"].as_str().unwrap().as_bytes()).unwrap();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": sa["private_key_id"]});
    let input = format!(
        "{}.{}",
        pad(header.to_string().as_bytes()),
        pad(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::RS256).unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    format!("{input}.{}", pad(&sig))
}

pub async fn exchange(fake: &FakeGoogle, jwt: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(fake.token_uri())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// An access token for `user` with `scopes` (space-separated).
pub async fn token(fake: &FakeGoogle, user: &str, scopes: &str) -> String {
    let (status, body) = exchange(fake, &sign(fake, &claims(fake, user, scopes))).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

pub async fn form_post(fake: &FakeGoogle, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(fake.token_uri())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// GET a Gmail path (after `/gmail/v1/users/`) with a query.
pub async fn get(fake: &FakeGoogle, tok: &str, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/gmail/v1/users/{path}", fake.api_base()))
        .bearer_auth(tok)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn post(fake: &FakeGoogle, tok: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/gmail/v1/users/{path}", fake.api_base()))
        .bearer_auth(tok)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A plain-text email.
pub fn mail(msg_id: &str, subject: &str, date: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@acme.test>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: <{msg_id}>\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Gmail's error `reason` from an error envelope.
pub fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

pub fn ids(list: &Value) -> Vec<String> {
    list["messages"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}
