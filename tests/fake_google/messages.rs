//! messages.list / get / attachments.get, drafts.create and messages.send.

use crate::support::*;
use email_sidecar::google::types::{decode_base64url, encode_base64url};
use serde_json::json;

fn date(day: u32) -> String {
    format!("Mon, {day} Mar 2026 09:00:00 +0000")
}

#[tokio::test]
async fn list_pages_newest_first_and_its_cursor_is_stable_while_mail_arrives() {
    let fake = start().await;
    let got: Vec<String> = (1..=7)
        .map(|d| {
            fake.deliver(
                ALICE,
                &mail(&format!("m{d}@x"), "s", &date(d), "", "b"),
                &["INBOX"],
            )
        })
        .collect();
    let tok = token(&fake, ALICE, READONLY).await;
    let (status, page1) = get(&fake, &tok, "me/messages", &[("maxResults", "3")]).await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&page1),
        vec![got[6].clone(), got[5].clone(), got[4].clone()]
    );
    assert_eq!(page1["resultSizeEstimate"], 7);
    assert_eq!(page1["messages"][0]["threadId"], got[6]);
    // New mail (newer and older than the cursor) must not shift the pages.
    fake.deliver(ALICE, &mail("new@x", "s", &date(20), "", "b"), &["INBOX"]);
    let token2 = page1["nextPageToken"].as_str().unwrap();
    let (_, page2) = get(
        &fake,
        &tok,
        "me/messages",
        &[("maxResults", "3"), ("pageToken", token2)],
    )
    .await;
    assert_eq!(
        ids(&page2),
        vec![got[3].clone(), got[2].clone(), got[1].clone()]
    );
    let token3 = page2["nextPageToken"].as_str().unwrap();
    let (_, page3) = get(
        &fake,
        &tok,
        "me/messages",
        &[("maxResults", "3"), ("pageToken", token3)],
    )
    .await;
    assert_eq!(ids(&page3), vec![got[0].clone()]);
    assert!(page3.get("nextPageToken").is_none());
}

#[tokio::test]
async fn list_filters_by_labels_query_and_hides_spam_and_trash_unless_asked() {
    let fake = start().await;
    let inbox = fake.deliver(
        ALICE,
        &mail("a@x", "Deal", &date(2), "", "b"),
        &["INBOX", "UNREAD"],
    );
    let spam = fake.deliver(ALICE, &mail("b@x", "Spam", &date(3), "", "b"), &["SPAM"]);
    let sent = fake.deliver(ALICE, &mail("c@x", "Out", &date(4), "", "b"), &["SENT"]);
    let tok = token(&fake, ALICE, READONLY).await;
    let (_, all) = get(&fake, &tok, "me/messages", &[]).await;
    assert_eq!(ids(&all), vec![sent.clone(), inbox.clone()]);
    let (_, with_spam) = get(&fake, &tok, "me/messages", &[("includeSpamTrash", "true")]).await;
    assert_eq!(ids(&with_spam), vec![sent.clone(), spam, inbox.clone()]);
    let q = [("labelIds", "INBOX"), ("labelIds", "UNREAD")];
    assert_eq!(
        ids(&get(&fake, &tok, "me/messages", &q).await.1),
        vec![inbox.clone()]
    );
    let q = [("q", "rfc822msgid:<c@x>")];
    assert_eq!(
        ids(&get(&fake, &tok, "me/messages", &q).await.1),
        vec![sent]
    );
    let q = [("q", "after:2026/03/01 before:2026/03/03")];
    assert_eq!(
        ids(&get(&fake, &tok, "me/messages", &q).await.1),
        vec![inbox]
    );
    let (_, none) = get(&fake, &tok, "me/messages", &[("q", "rfc822msgid:nope@x")]).await;
    assert!(none.get("messages").is_none(), "{none}");
    assert_eq!(none["resultSizeEstimate"], 0);
}

#[tokio::test]
async fn get_answers_each_format_with_gmails_fields() {
    let fake = start().await;
    let raw = mail(
        "fmt@x",
        "Formats",
        &date(2),
        "X-Extra: 1\r\n",
        "Hello there, investor",
    );
    let id = fake.deliver(ALICE, &raw, &["INBOX"]);
    let tok = token(&fake, ALICE, READONLY).await;
    let path = format!("me/messages/{id}");
    let (_, min) = get(&fake, &tok, &path, &[("format", "minimal")]).await;
    assert_eq!(min["labelIds"], json!(["INBOX"]));
    assert_eq!(min["internalDate"], "1772442000000");
    assert_eq!(min["sizeEstimate"], raw.len());
    assert_eq!(
        min["historyId"].as_str().unwrap().parse::<u64>().unwrap(),
        fake.history_id(ALICE).0
    );
    assert!(min.get("payload").is_none() && min.get("raw").is_none());
    let q = [
        ("format", "metadata"),
        ("metadataHeaders", "subject"),
        ("metadataHeaders", "From"),
    ];
    let (_, meta) = get(&fake, &tok, &path, &q).await;
    let names: Vec<&str> = meta["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["From", "Subject"]);
    assert!(meta["payload"]["body"].get("data").is_none());
    let (_, full) = get(&fake, &tok, &path, &[]).await;
    assert!(full["snippet"]
        .as_str()
        .unwrap()
        .starts_with("Hello there, investor"));
    let data = full["payload"]["body"]["data"].as_str().unwrap();
    assert!(String::from_utf8(decode_base64url(data).unwrap())
        .unwrap()
        .contains("Hello there"));
    let (_, rawf) = get(&fake, &tok, &path, &[("format", "raw")]).await;
    assert_eq!(
        decode_base64url(rawf["raw"].as_str().unwrap()).unwrap(),
        raw
    );
    let (status, body) = get(&fake, &tok, "me/messages/ffffffffffffffff", &[]).await;
    assert_eq!((status, reason(&body)), (404, "notFound"));
    assert_eq!(body["error"]["code"], 404);
}

fn with_attachment(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!(
        "From: carol@acme.test\r\nTo: {ALICE}\r\nSubject: Deck\r\nMessage-ID: <deck@x>\r\n\
         Date: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"deck.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"deck.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1--\r\n",
        date(2)
    )
    .into_bytes()
}

#[tokio::test]
async fn a_named_part_carries_an_attachment_id_and_attachments_get_returns_its_bytes() {
    let fake = start().await;
    let pdf: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let id = fake.deliver(ALICE, &with_attachment(&pdf), &["INBOX"]);
    let tok = token(&fake, ALICE, READONLY).await;
    let (_, full) = get(&fake, &tok, &format!("me/messages/{id}"), &[]).await;
    let part = &full["payload"]["parts"][1];
    assert_eq!(
        (part["filename"].as_str(), part["partId"].as_str()),
        (Some("deck.pdf"), Some("1"))
    );
    assert!(part["body"].get("data").is_none());
    assert_eq!(part["body"]["size"], pdf.len());
    let aid = part["body"]["attachmentId"].as_str().unwrap();
    let (status, body) = get(
        &fake,
        &tok,
        &format!("me/messages/{id}/attachments/{aid}"),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["size"], pdf.len());
    assert_eq!(
        decode_base64url(body["data"].as_str().unwrap()).unwrap(),
        pdf
    );
    assert!(
        full["payload"]["parts"][0]["body"]["data"].is_string(),
        "text stays inline"
    );
}

#[tokio::test]
async fn a_draft_joins_the_thread_only_with_its_thread_id_a_reference_and_the_same_subject() {
    let fake = start().await;
    let orig = fake.deliver(
        ALICE,
        &mail("orig@x", "Term sheet", &date(2), "", "b"),
        &["INBOX"],
    );
    let tok = token(&fake, ALICE, COMPOSE).await;
    let reply = |subject: &str, refs: bool| {
        let extra = if refs {
            "In-Reply-To: <orig@x>\r\nReferences: <orig@x>\r\n"
        } else {
            ""
        };
        encode_base64url(&mail(
            &format!("{subject}{refs}@r"),
            subject,
            &date(3),
            extra,
            "reply",
        ))
    };
    let create = |raw: String, thread: Option<&str>| {
        let mut msg = json!({"raw": raw});
        if let Some(t) = thread {
            msg["threadId"] = json!(t);
        }
        json!({"message": msg})
    };
    let (status, d1) = post(
        &fake,
        &tok,
        "me/drafts",
        &create(reply("Re: Term sheet", true), Some(&orig)),
    )
    .await;
    assert_eq!(status, 200, "{d1}");
    assert_eq!(d1["message"]["threadId"], orig);
    assert_eq!(d1["message"]["labelIds"], json!(["DRAFT"]));
    assert!(d1["id"].as_str().unwrap().starts_with('r'));
    let (_, d2) = post(
        &fake,
        &tok,
        "me/drafts",
        &create(reply("Re: Other", true), Some(&orig)),
    )
    .await;
    assert_ne!(d2["message"]["threadId"], orig, "subject differs");
    let (_, d3) = post(
        &fake,
        &tok,
        "me/drafts",
        &create(reply("Re: Term sheet", false), Some(&orig)),
    )
    .await;
    assert_ne!(d3["message"]["threadId"], orig, "no reference");
    let (_, d4) = post(
        &fake,
        &tok,
        "me/drafts",
        &create(reply("Re: Term sheet", true), None),
    )
    .await;
    assert_ne!(d4["message"]["threadId"], orig, "no threadId");
    let drafts = fake.drafts(ALICE);
    assert_eq!(drafts.len(), 4);
    assert_eq!(drafts[0].id, d1["message"]["id"].as_str().unwrap());
    assert!(drafts[0].raw.is_some() && drafts[0].payload.is_some());
}

#[tokio::test]
async fn a_sent_message_is_recorded_labelled_sent_and_found_by_its_message_id() {
    let fake = start().await;
    let tok = token(&fake, ALICE, &format!("{READONLY} {COMPOSE}")).await;
    let raw = mail(
        "digest-2026-03-02@fund.test",
        "Digest",
        &date(2),
        "",
        "Today",
    );
    let (status, sent) = post(
        &fake,
        &tok,
        "me/messages/send",
        &json!({"raw": encode_base64url(&raw)}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["labelIds"], json!(["SENT"]));
    assert_eq!(fake.sent(ALICE), vec![raw]);
    let q = [("q", "rfc822msgid:digest-2026-03-02@fund.test")];
    let (_, found) = get(&fake, &tok, "me/messages", &q).await;
    assert_eq!(ids(&found), vec![sent["id"].as_str().unwrap().to_string()]);
    let (status, body) = post(&fake, &tok, "me/messages/send", &json!({})).await;
    assert_eq!((status, reason(&body)), (400, "invalidArgument"));
}

#[tokio::test]
async fn delivered_replies_thread_with_their_parent_like_gmail() {
    let fake = start().await;
    let parent = fake.deliver(ALICE, &mail("p@x", "Intro", &date(2), "", "b"), &["INBOX"]);
    let refs = "In-Reply-To: <p@x>\r\n";
    let child = fake.deliver(
        ALICE,
        &mail("c@x", "RE: Intro", &date(3), refs, "b"),
        &["INBOX"],
    );
    let stranger = fake.deliver(
        ALICE,
        &mail("s@x", "Re: Other", &date(4), refs, "b"),
        &["INBOX"],
    );
    let tok = token(&fake, ALICE, READONLY).await;
    let (_, c) = get(
        &fake,
        &tok,
        &format!("me/messages/{child}"),
        &[("format", "minimal")],
    )
    .await;
    assert_eq!(c["threadId"], parent);
    let (_, s) = get(
        &fake,
        &tok,
        &format!("me/messages/{stranger}"),
        &[("format", "minimal")],
    )
    .await;
    assert_eq!(s["threadId"], stranger);
    let (_, t) = get(
        &fake,
        &tok,
        &format!("me/threads/{parent}"),
        &[("format", "minimal")],
    )
    .await;
    let in_thread: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(in_thread, vec![parent.as_str(), child.as_str()]);
}
