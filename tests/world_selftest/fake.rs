//! The world against a real fake Google: messages.list (over HTTP, with a
//! minted DWD token) returns exactly the truth's live copies per mailbox,
//! before and after mutations.

use std::collections::BTreeSet;

use email_sidecar::clock::{Clock, SystemClock};
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::world::{World, WorldSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_lists_exactly_the_truths_live_copies_before_and_after_mutations() {
    let spec = WorldSpec::standard(100);
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    for m in &spec.mailboxes {
        fake.add_user(m);
    }
    let mut w = World::generate(&spec);
    w.deliver(&fake);
    for round in 0..2 {
        let truth = w.truth();
        for m in &spec.mailboxes {
            let tok = token(&fake, m).await;
            let listed = list_ids(&fake, &tok, m, false).await;
            assert_eq!(listed, truth.live(m), "round {round}: {m}");
            assert_eq!(listed, w.live_ids(m));
            let all = list_ids(&fake, &tok, m, true).await;
            let existing: BTreeSet<String> = w
                .msgs
                .iter()
                .flat_map(|x| &x.deliveries)
                .filter(|d| &d.mailbox == m && !d.deleted)
                .filter_map(|d| d.gmail_id.clone())
                .collect();
            assert_eq!(all, existing, "round {round}: {m} with spam and trash");
        }
        w.mutate(&fake, 150);
    }
    println!("{:?}", w.mutations);
    for op in [
        "new message",
        "hard delete",
        "trash",
        "untrash",
        "spam to inbox",
        "inbox to spam",
        "late copy",
        "archive",
        "mark read",
        "star",
        "unstar",
        "conversation reply",
    ] {
        assert!(
            w.mutations.get(op).copied().unwrap_or(0) > 0,
            "{op} never happened: {:?}",
            w.mutations
        );
    }
}

pub async fn token(fake: &FakeGoogle, user: &str) -> String {
    let sa: Value = serde_json::from_str(&fake.service_account_json()).unwrap();
    let now = SystemClock.now().timestamp();
    let claims = json!({"iss": fake.client_email(), "sub": user,
        "scope": "https://www.googleapis.com/auth/gmail.readonly",
        "aud": fake.token_uri(), "iat": now, "exp": now + 3600});
    let key = EncodingKey::from_rsa_pem(sa["private_key"].as_str().unwrap().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(sa["private_key_id"].as_str().unwrap().to_string());
    let jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let resp: Value = reqwest::Client::new()
        .post(fake.token_uri())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["access_token"].as_str().unwrap().to_string()
}

/// Every id messages.list returns for `user`, all pages.
async fn list_ids(fake: &FakeGoogle, tok: &str, user: &str, spam_trash: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut page: Option<String> = None;
    loop {
        let mut q = vec![("maxResults", "500".to_string())];
        if spam_trash {
            q.push(("includeSpamTrash", "true".into()));
        }
        if let Some(p) = &page {
            q.push(("pageToken", p.clone()));
        }
        let v: Value = reqwest::Client::new()
            .get(format!(
                "{}/gmail/v1/users/{user}/messages",
                fake.api_base()
            ))
            .bearer_auth(tok)
            .query(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for m in v["messages"].as_array().into_iter().flatten() {
            assert!(
                out.insert(m["id"].as_str().unwrap().to_string()),
                "listed twice"
            );
        }
        match v["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => return out,
        }
    }
}
