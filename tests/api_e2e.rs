//! The CRM's whole day through HTTP only (issue 4's end-to-end test): the
//! daemon (capture worker included) serves a generated world on fake
//! Google; the CRM pushes its directory, the mailboxes are captured, the
//! activity list equals the truth, admins approve some proposals and reject
//! the others, the feed holds exactly the approved in approval order with
//! no gaps — also after a restart — and a contact added later brings
//! proposals for their past email. Nothing here reads the database.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use support::api::{directory_with_users, Api, As, ADMIN};
use support::app::{spawn_app, AppOptions, TestApp};
use support::world::{World, WorldSpec};

const NEWCOMER: &str = "newcomer@gmail.com";

fn spec() -> WorldSpec {
    WorldSpec {
        attachment_cap_bytes: 1 << 20,
        seed: 0xe2e_2026,
        ..WorldSpec::standard(60)
    }
}

/// Every item of a newest-first list, following `next` with `before`.
async fn all_items(api: &Api, path: &str, who: As<'_>) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut url = format!("{path}{sep}limit=7");
    loop {
        let (s, page) = api.get(&url, who).await;
        assert_eq!(s, StatusCode::OK, "{url}: {page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => url = format!("{path}{sep}limit=7&before={n}"),
            None => return out,
        }
    }
}

async fn all_feed(api: &Api) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let url = format!("/api/email/feed?after={after}&limit=5");
        let (s, page) = api.get(&url, As::Service).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => return out,
        }
    }
}

/// Two emails with an address nobody in the directory has yet.
fn newcomer_mail(app: &TestApp) {
    let inbound = format!(
        "Message-ID: <new-1@gmail.com>\r\nFrom: New Comer <{NEWCOMER}>\r\n\
         To: alice@fund.test\r\nSubject: Hello from a newcomer\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\nWe should talk.\r\n"
    );
    let outbound = format!(
        "Message-ID: <new-2@fund.test>\r\nFrom: alice@fund.test\r\n\
         To: {NEWCOMER}\r\nSubject: Re: Hello from a newcomer\r\n\
         Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n\r\nGladly.\r\n"
    );
    app.fake
        .deliver("alice@fund.test", inbound.as_bytes(), &["INBOX"]);
    app.fake
        .deliver("alice@fund.test", outbound.as_bytes(), &["SENT"]);
}

/// The directory the CRM pushes: the world's investors and contacts plus
/// one user per role.
fn pushed_directory(world: &World) -> Value {
    let mut dir = world.directory();
    let known: BTreeSet<String> = dir.users.iter().map(|u| u.email.clone()).collect();
    for u in directory_with_users().users {
        if !known.contains(&u.email) {
            dir.users.push(u);
        }
    }
    serde_json::to_value(&dir).unwrap()
}

/// Polls until every mailbox's backfill is done with nothing queued and
/// the activity list stops changing.
async fn wait_captured(api: &Api, want_activity: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (s, status) = api.get("/api/email/status", As::Service).await;
        assert_eq!(s, StatusCode::OK, "{status}");
        let settled = status["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["backfill_done"] == true && a["pending"] == 0);
        if settled {
            let items = all_items(api, "/api/email/activity", As::User(ADMIN)).await;
            if items.len() == want_activity {
                return items;
            }
        }
        assert!(
            Instant::now() < deadline,
            "capture did not settle: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crm_pushes_its_directory_approves_some_proposals_and_reads_a_feed_that_survives_a_restart(
) {
    let spec = spec();
    let mut world = World::generate(&spec);
    let app = spawn_app(AppOptions {
        mailboxes: spec.mailboxes.clone(),
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    world.deliver(&app.fake);
    newcomer_mail(&app);
    let truth = world.truth();
    let (api, stop) = app.serve_api().await;

    // The CRM pushes its directory while the worker's first sweep runs.
    let dir = pushed_directory(&world);
    let (s, pushed) = api
        .call(Method::PUT, "/api/email/directory", As::Service, Some(&dir))
        .await;
    assert_eq!(s, StatusCode::OK, "{pushed}");

    // Activity equals the truth's matched live email.
    let want: Vec<usize> = truth.matched_live().into_iter().collect();
    let activity = wait_captured(&api, want.len()).await;
    let got_ids: BTreeSet<String> = activity
        .iter()
        .map(|i| i["message_id"].as_str().unwrap().to_string())
        .collect();
    let want_ids: BTreeSet<String> = want
        .iter()
        .filter_map(|&i| truth.emails[i].message_id.clone())
        .collect();
    assert!(
        want_ids.is_subset(&got_ids),
        "missing from activity: {:?}",
        want_ids.difference(&got_ids).collect::<Vec<_>>()
    );
    let by_mid: BTreeMap<&str, &Value> = activity
        .iter()
        .map(|i| (i["message_id"].as_str().unwrap(), i))
        .collect();
    for &i in &want {
        let e = &truth.emails[i];
        let Some(mid) = &e.message_id else { continue };
        let item = by_mid[mid.as_str()];
        let investors: BTreeSet<String> = item["investors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["investor_id"].as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = e.links.keys().cloned().collect();
        assert_eq!(investors, expected, "{mid}: investors");
        let dir = if e.outbound { "outbound" } else { "inbound" };
        assert_eq!(item["direction"], dir, "{mid}");
    }

    // One pending proposal per (email, investor) of proposable mail.
    let graveyard: BTreeSet<String> = world
        .directory()
        .investors
        .iter()
        .filter(|i| i.graveyard)
        .map(|i| i.id.clone())
        .collect();
    let want_proposals: usize = want
        .iter()
        .map(|&i| &truth.emails[i])
        .filter(|e| !e.bulk)
        .map(|e| e.links.keys().filter(|k| !graveyard.contains(*k)).count())
        .sum();
    let mut pending = all_items(&api, "/api/email/proposals?status=pending", As::User(ADMIN)).await;
    assert_eq!(pending.len(), want_proposals, "proposals");
    assert!(want_proposals >= 10, "a world too small to say much");

    // Approve every other one (oldest id first), reject the rest.
    pending.sort_by_key(|p| p["id"].as_str().unwrap().parse::<i64>().unwrap());
    let mut approved = Vec::new();
    for (n, p) in pending.iter().enumerate() {
        let id = p["id"].as_str().unwrap();
        let body = if n % 2 == 0 {
            json!({"decision": "approve"})
        } else {
            json!({"decision": "reject"})
        };
        let path = format!("/api/email/proposals/{id}/decide");
        let (s, r) = api.post(&path, As::User(ADMIN), &body).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        if n % 2 == 0 {
            approved.push(id.to_string());
        }
    }
    let feed = all_feed(&api).await;
    let feed_ids: Vec<String> = feed
        .iter()
        .map(|f| f["proposal_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(feed_ids, approved, "the feed is the approved, in order");
    let seqs: Vec<i64> = feed.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "no gaps in the feed: {seqs:?}");
    }

    // A restart changes nothing the CRM reads.
    stop.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (api, stop) = app.serve_api().await;
    assert_eq!(all_feed(&api).await, feed, "the feed after a restart");

    // A contact added later brings proposals for their past email.
    let investor = world
        .directory()
        .investors
        .iter()
        .find(|i| !i.graveyard)
        .unwrap()
        .id
        .clone();
    let mut dir = dir;
    dir["contacts"].as_array_mut().unwrap().push(json!({
        "id": "c-newcomer", "investor_id": investor, "email": NEWCOMER, "name": "New Comer"
    }));
    let (s, pushed) = api
        .call(Method::PUT, "/api/email/directory", As::Service, Some(&dir))
        .await;
    assert_eq!(s, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["relinked"], 2, "{pushed}");
    let fresh: Vec<Value> = all_items(&api, "/api/email/proposals?status=pending", As::User(ADMIN))
        .await
        .into_iter()
        .filter(|p| p["contact_id"] == "c-newcomer")
        .collect();
    let mut seen: Vec<(String, String)> = fresh
        .iter()
        .map(|p| {
            (
                p["direction"].as_str().unwrap().to_string(),
                p["investor_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("inbound".to_string(), investor.clone()),
            ("outbound".to_string(), investor.clone())
        ]
    );
    assert_eq!(all_feed(&api).await, feed, "new proposals are not activity");
    stop.cancel();
}
