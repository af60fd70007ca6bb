//! Inline images through HTTP: a matched email's `cid:` images point at its
//! own stored attachments' downloads, and only those; everything else in
//! `img src` stays as it was (`cid:` kept, remote removed).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::hand::ALICE;
use super::support::api::{directory_with_users, Api};
use super::support::app::{spawn_app, AppOptions};
use super::{all_pages, serve, sync_until_settled, ADMIN};

/// Two different 1×1 images, so a wrong attachment shows in the bytes.
const LOGO_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const OTHER_GIF: &str = "R0lGODlhAQABAAAAACwAAAAAAQABAAA=";

const HTML: &str = "<p>Q3 attached.</p><img src=\"cid:logo@x\" alt=logo>\
<img src=\"cid:missing@x\" alt=missing><img src=\"https://evil.example/p.gif\" alt=pixel>\
<img src=\"cid:chart@x\" alt=chart><img src=\"cid:big@x\" alt=big>";

fn image(headers: &str, b64: &str) -> String {
    format!("--rel\r\n{headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n")
}

/// `multipart/related`: the HTML, the logo (inline, no file name), a named
/// chart whose Content-ID differs in case from the HTML's reference, and an
/// image over the test cap (1 MB), recorded but not stored.
fn q3_mail() -> Vec<u8> {
    let big = STANDARD.encode(vec![0u8; (1 << 20) + 10]);
    let parts = [
        image(
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <logo@x>",
            LOGO_PNG,
        ),
        image(
            "Content-Type: image/gif; name=\"chart.gif\"\r\n\
             Content-Disposition: inline; filename=\"chart.gif\"\r\nContent-ID: <Chart@X>",
            OTHER_GIF,
        ),
        image(
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <big@x>",
            &big,
        ),
    ]
    .concat();
    format!(
        "Message-ID: <q3-inline@acme.vc>\r\nFrom: Jo <jo@acme.vc>\r\nTo: {ALICE}\r\n\
         Subject: Q3 with logo\r\nDate: Tue, 20 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{HTML}\r\n{parts}--rel--\r\n"
    )
    .into_bytes()
}

/// Another matched email whose own image has the same Content-ID.
fn other_mail() -> Vec<u8> {
    format!(
        "Message-ID: <other-inline@acme.vc>\r\nFrom: Jo <jo@acme.vc>\r\nTo: {ALICE}\r\n\
         Subject: Other logo\r\nDate: Wed, 21 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<img src=\"cid:logo@x\">\r\n{}--rel--\r\n",
        image("Content-Type: image/gif\r\nContent-ID: <logo@x>", OTHER_GIF)
    )
    .into_bytes()
}

/// Each `<img …>` of sanitized HTML as (alt, src) — src `None` when removed.
fn images(html: &str) -> Vec<(String, Option<String>)> {
    let attr = |tag: &str, name: &str| {
        tag.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|v| v.split('"').next())
            .map(str::to_string)
    };
    html.split("<img")
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or_default())
        .map(|t| (attr(t, "alt").unwrap_or_default(), attr(t, "src")))
        .collect()
}

async fn email(api: &Api, id: &str) -> Value {
    let (status, e) = api.get(&format!("/api/email/emails/{id}"), ADMIN).await;
    assert_eq!(status, 200, "{e}");
    e
}

async fn download(api: &Api, path: &str) -> (String, Vec<u8>) {
    let resp = api
        .request(reqwest::Method::GET, path, ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    (ct, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cid_images_point_at_the_emails_own_stored_attachments() {
    let app = spawn_app(AppOptions {
        enabled: true,
        ..AppOptions::default()
    })
    .await;
    app.store
        .replace_directory(&directory_with_users())
        .unwrap();
    app.fake.deliver(ALICE, &q3_mail(), &["INBOX"]);
    app.fake.deliver(ALICE, &other_mail(), &["INBOX"]);
    sync_until_settled(&app).await;
    let (api, stop) = serve(&app).await;
    let ids: std::collections::BTreeMap<String, String> =
        all_pages(&api, "/api/email/activity", 50)
            .await
            .iter()
            .map(|i| {
                (
                    i["subject"].as_str().unwrap().into(),
                    i["email_id"].as_str().unwrap().into(),
                )
            })
            .collect();
    let e = email(&api, &ids["Q3 with logo"]).await;
    // (filename, content_id, status) per attachment, and filename → id.
    let atts = e["attachments"].as_array().unwrap();
    let listed: Vec<(&str, &str, &str)> = atts
        .iter()
        .map(|a| {
            (
                a["filename"].as_str().unwrap(),
                a["content_id"].as_str().unwrap(),
                a["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("attachment-1", "logo@x", "stored"),
            ("chart.gif", "Chart@X", "stored"),
            ("attachment-3", "big@x", "too_large"),
        ]
    );
    let path_of = |n: usize| format!("/api/email/attachments/{}", atts[n]["id"].as_str().unwrap());
    let html = e["html_sanitized"].as_str().unwrap();
    let src = |s: &str| Some(s.to_string());
    assert_eq!(
        images(html),
        [
            ("logo".into(), src(&path_of(0))),
            ("missing".into(), src("cid:missing@x")),
            ("pixel".into(), None),
            ("chart".into(), src(&path_of(1))),
            ("big".into(), src("cid:big@x")),
        ],
        "{html}"
    );
    assert!(!html.contains("evil.example"), "{html}");
    let (ct, bytes) = download(&api, &path_of(0)).await;
    assert_eq!(
        (ct.as_str(), bytes),
        ("image/png", STANDARD.decode(LOGO_PNG).unwrap())
    );
    let (ct, bytes) = download(&api, &path_of(1)).await;
    assert_eq!(
        (ct.as_str(), bytes),
        ("image/gif", STANDARD.decode(OTHER_GIF).unwrap())
    );

    // The other email's logo@x is its own attachment, never the first's.
    let other = email(&api, &ids["Other logo"]).await;
    let own = format!(
        "/api/email/attachments/{}",
        other["attachments"][0]["id"].as_str().unwrap()
    );
    assert_ne!(own, path_of(0));
    let other_html = other["html_sanitized"].as_str().unwrap();
    assert_eq!(
        images(other_html),
        [(String::new(), Some(own))],
        "{other_html}"
    );
    stop.cancel();
}
