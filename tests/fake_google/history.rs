//! users.history.list: records for deliver / delete / relabel, filters,
//! paging, and 404 once history has expired.

use crate::support::*;
use serde_json::Value;

fn date() -> &'static str {
    "Mon, 2 Mar 2026 09:00:00 +0000"
}

fn record_kinds(h: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in h["history"].as_array().cloned().unwrap_or_default() {
        for kind in [
            "messagesAdded",
            "messagesDeleted",
            "labelsAdded",
            "labelsRemoved",
        ] {
            for m in r[kind].as_array().cloned().unwrap_or_default() {
                out.push((
                    kind.to_string(),
                    m["message"]["id"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn history_records_deliver_delete_and_relabel_in_order_with_growing_ids() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    let start_id = fake.history_id(ALICE).0.to_string();
    let a = fake.deliver(
        ALICE,
        &mail("a@x", "A", date(), "", "b"),
        &["INBOX", "UNREAD"],
    );
    let b = fake.deliver(ALICE, &mail("b@x", "B", date(), "", "b"), &["INBOX"]);
    fake.modify_labels(ALICE, &a, &["TRASH"], &["INBOX", "UNREAD"]);
    fake.delete_message(ALICE, &b);
    let (status, h) = get(&fake, &tok, "me/history", &[("startHistoryId", &start_id)]).await;
    assert_eq!(status, 200, "{h}");
    let kinds = record_kinds(&h);
    let expect = [
        ("messagesAdded", &a),
        ("messagesAdded", &b),
        ("labelsAdded", &a),
        ("labelsRemoved", &a),
        ("messagesDeleted", &b),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(k, id)| (k.to_string(), id.to_string()))
        .collect();
    assert_eq!(kinds, expect);
    let rec_ids: Vec<u64> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(rec_ids.windows(2).all(|w| w[1] > w[0]), "{rec_ids:?}");
    assert_eq!(h["historyId"], fake.history_id(ALICE).to_string());
    let removed = &h["history"][3]["labelsRemoved"][0];
    assert_eq!(removed["labelIds"], serde_json::json!(["INBOX", "UNREAD"]));
    assert_eq!(removed["message"]["labelIds"], serde_json::json!(["TRASH"]));
    assert_eq!(h["history"][0]["messages"][0]["id"], a.as_str());
}

#[tokio::test]
async fn history_filters_by_type_and_label_and_pages_with_a_token() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    let start_id = fake.history_id(ALICE).0.to_string();
    let ids: Vec<String> = (0..5)
        .map(|i| {
            fake.deliver(
                ALICE,
                &mail(&format!("{i}@x"), "S", date(), "", "b"),
                &[if i % 2 == 0 { "INBOX" } else { "SENT" }],
            )
        })
        .collect();
    fake.delete_message(ALICE, &ids[0]);
    let q = [
        ("startHistoryId", start_id.as_str()),
        ("historyTypes", "messageAdded"),
        ("labelId", "SENT"),
    ];
    let (_, h) = get(&fake, &tok, "me/history", &q).await;
    let got: Vec<String> = record_kinds(&h).into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, vec![ids[1].clone(), ids[3].clone()]);
    let q = [("startHistoryId", start_id.as_str()), ("maxResults", "4")];
    let (_, p1) = get(&fake, &tok, "me/history", &q).await;
    assert_eq!(record_kinds(&p1).len(), 4);
    let next = p1["nextPageToken"].as_str().unwrap();
    let q = [
        ("startHistoryId", start_id.as_str()),
        ("maxResults", "4"),
        ("pageToken", next),
    ];
    let (_, p2) = get(&fake, &tok, "me/history", &q).await;
    let expect = vec![
        ("messagesAdded".to_string(), ids[4].clone()),
        ("messagesDeleted".to_string(), ids[0].clone()),
    ];
    assert_eq!(record_kinds(&p2), expect);
    assert!(p2.get("nextPageToken").is_none());
}

#[tokio::test]
async fn history_with_no_changes_answers_only_the_current_history_id() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    let now = fake.history_id(ALICE).0.to_string();
    let (status, h) = get(&fake, &tok, "me/history", &[("startHistoryId", &now)]).await;
    assert_eq!(status, 200);
    assert_eq!(h, serde_json::json!({"historyId": now}));
}

#[tokio::test]
async fn an_expired_history_cursor_is_404_and_a_missing_one_is_400() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    let old = fake.history_id(ALICE).0.to_string();
    fake.deliver(ALICE, &mail("a@x", "A", date(), "", "b"), &["INBOX"]);
    fake.expire_history(ALICE);
    let (status, body) = get(&fake, &tok, "me/history", &[("startHistoryId", &old)]).await;
    assert_eq!((status, reason(&body)), (404, "notFound"));
    let fresh = fake.history_id(ALICE).0.to_string();
    assert_eq!(
        get(&fake, &tok, "me/history", &[("startHistoryId", &fresh)])
            .await
            .0,
        200
    );
    let (status, _) = get(&fake, &tok, "me/history", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = get(&fake, &tok, "me/history", &[("startHistoryId", "12abc")]).await;
    assert_eq!(status, 400);
}
