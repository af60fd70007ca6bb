//! The multipart batch endpoint, decoded the way Google's clients do.

use crate::support::*;
use serde_json::Value;

/// Split a multipart/mixed batch answer into (Content-ID, status, JSON body).
fn decode(content_type: &str, body: &str) -> Vec<(String, u16, Value)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let mut out = Vec::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (head, http) = part.split_once("\r\n\r\n").unwrap();
        let cid = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-ID: "))
            .unwrap()
            .to_string();
        let (status_line, rest) = http.split_once("\r\n").unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let json = rest.split_once("\r\n\r\n").unwrap().1.trim();
        out.push((
            cid,
            status,
            serde_json::from_str(json).unwrap_or(Value::Null),
        ));
    }
    out
}

fn batch_body(paths: &[String]) -> String {
    let mut body = String::new();
    for (i, p) in paths.iter().enumerate() {
        body.push_str(&format!(
            "--XYZ\r\nContent-Type: application/http\r\nContent-ID: <item{i}>\r\n\r\n\
             GET /gmail/v1/users/me/messages/{p}?format=minimal HTTP/1.1\r\n\r\n\r\n"
        ));
    }
    body.push_str("--XYZ--\r\n");
    body
}

async fn send_batch(
    fake: &email_sidecar::fake_google::FakeGoogle,
    tok: &str,
    body: String,
) -> (u16, String, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/batch/gmail/v1", fake.url()))
        .bearer_auth(tok)
        .header("content-type", "multipart/mixed; boundary=XYZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_batch_of_fifty_with_one_unknown_id_answers_49_messages_and_one_404_in_order() {
    let fake = start().await;
    let date = "Mon, 2 Mar 2026 09:00:00 +0000";
    let mut paths: Vec<String> = (0..49)
        .map(|i| {
            fake.deliver(
                ALICE,
                &mail(&format!("{i}@x"), "S", date, "", "b"),
                &["INBOX"],
            )
        })
        .collect();
    paths.insert(17, "0000000000000bad".into());
    let tok = token(&fake, ALICE, READONLY).await;
    fake.reset_counters();
    let (status, ct, body) = send_batch(&fake, &tok, batch_body(&paths)).await;
    assert_eq!(status, 200, "{body}");
    let parts = decode(&ct, &body);
    assert_eq!(parts.len(), 50);
    for (i, (cid, code, json)) in parts.iter().enumerate() {
        assert_eq!(cid, &format!("<response-item{i}>"));
        if i == 17 {
            assert_eq!((*code, reason(json)), (404, "notFound"));
        } else {
            assert_eq!((*code, json["id"].as_str()), (200, Some(paths[i].as_str())));
        }
    }
    let c = fake.counters();
    assert_eq!(c.calls["users.messages.get"], 50);
    assert_eq!(c.calls["batch"], 1);
    assert_eq!(c.units_charged, 250);
}

#[tokio::test]
async fn a_batch_of_more_than_100_calls_is_refused() {
    let fake = start().await;
    let tok = token(&fake, ALICE, READONLY).await;
    let paths: Vec<String> = (0..101).map(|i| format!("{i:016x}")).collect();
    let (status, _, body) = send_batch(&fake, &tok, batch_body(&paths)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(fake.counters().calls.get("users.messages.get"), None);
}

#[tokio::test]
async fn inner_calls_are_charged_quota_one_by_one_and_can_fail_alone_on_it() {
    let fake = start_with(email_sidecar::fake_google::FakeOptions {
        quota_units_per_sec: Some(20),
        ..Default::default()
    })
    .await;
    let id = fake.deliver(
        ALICE,
        &mail("q@x", "S", "Mon, 2 Mar 2026 09:00:00 +0000", "", "b"),
        &["INBOX"],
    );
    let tok = token(&fake, ALICE, READONLY).await;
    let (_, ct, body) = send_batch(&fake, &tok, batch_body(&vec![id; 6])).await;
    let codes: Vec<u16> = decode(&ct, &body).iter().map(|p| p.1).collect();
    assert_eq!(codes, vec![200, 200, 200, 200, 429, 429]);
    assert_eq!(fake.counters().quota_429s, 2);
}
