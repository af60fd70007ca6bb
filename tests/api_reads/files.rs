//! Hand-built email content: hostile HTML must come out inert, and
//! attachments must download byte-exact under safe headers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::hand::{hand_app, ALICE};
use super::support::api::{As, MEMBER};
use super::ADMIN;

/// Hostile HTML: script, handlers, script links, remote and cid images, CSS.
const NASTY_HTML: &str =
    "<html><head><style>body{background:url(https://tracker.example/css)}</style>\
<script>alert('x')</script></head><body onload=\"alert(1)\">\
<p>Dear team,</p><img src=\"https://tracker.example/pixel.gif\" width=1 height=1>\
<img src=\"cid:logo@acme.vc\" alt=\"Acme logo\">\
<img src=x onerror=\"alert(2)\"><a href=\"javascript:alert(3)\">click</a>\
<a href=\"https://acme.vc/deck\">deck</a>\
<div style=\"background-image:url('https://tracker.example/bg')\">numbers</div></body></html>";

pub fn html_mail() -> Vec<u8> {
    format!(
        "Message-ID: <html@acme.vc>\r\nFrom: Jo <jo@acme.vc>\r\nTo: {ALICE}\r\n\
         Subject: Quarterly numbers\r\nDate: Tue, 20 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDear team, numbers.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{NASTY_HTML}\r\n--alt--\r\n"
    )
    .into_bytes()
}

fn part(disposition: &str, mime: &str, content: &[u8]) -> String {
    format!(
        "--mix\r\nContent-Type: {mime}\r\nContent-Disposition: attachment; {disposition}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        STANDARD.encode(content)
    )
}

/// The attachments delivered: (disposition params, mime, content).
fn attachments() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let evil: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        (
            "filename*=UTF-8''..%2F..%2Fevil%0D%0A.exe",
            "application/x-msdownload",
            evil,
        ),
        (
            "filename=\"report.html\"",
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
        ),
        (
            "filename=\"huge.bin\"",
            "application/octet-stream",
            vec![7u8; (1 << 20) + 10],
        ),
    ]
}

pub fn attachment_mail() -> Vec<u8> {
    let parts: String = attachments()
        .iter()
        .map(|(d, m, c)| part(d, m, c))
        .collect();
    format!(
        "Message-ID: <files@acme.vc>\r\nFrom: jo@acme.vc\r\nTo: {ALICE}\r\nSubject: Files\r\n\
         Date: Tue, 21 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n\
         Content-Type: text/plain\r\n\r\nFiles attached.\r\n{parts}--mix--\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_html_comes_out_inert_with_cid_images_kept() {
    let (_app, api, stop, ids, _) = hand_app().await;
    let (status, e) = api
        .get(
            &format!("/api/email/emails/{}", ids["Quarterly numbers"]),
            ADMIN,
        )
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["from"]["email"], "jo@acme.vc");
    assert_eq!(e["investors"][0]["investor_id"], "inv");
    assert_eq!(e["accounts"], serde_json::json!([ALICE]));
    assert!(
        e["text"].as_str().unwrap().contains("Dear team, numbers."),
        "{e}"
    );
    let headers = e["headers"].as_array().unwrap();
    assert!(
        headers.iter().any(|h| h["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("subject"))
            && h["value"] == "Quarterly numbers"),
        "{headers:?}"
    );
    let html = e["html_sanitized"].as_str().unwrap();
    let lower = html.to_lowercase();
    for bad in [
        "<script",
        "alert",
        "onload",
        "onerror",
        "javascript:",
        "tracker.example",
        "url(",
        "<style",
        "background",
    ] {
        assert!(!lower.contains(bad), "{bad:?} survived: {html}");
    }
    for good in [
        "<p>Dear team,</p>",
        "src=\"cid:logo@acme.vc\"",
        "alt=\"Acme logo\"",
        "href=\"https://acme.vc/deck\"",
        "rel=\"noopener noreferrer\"",
        "target=\"_blank\"",
        "numbers",
    ] {
        assert!(html.contains(good), "{good:?} missing: {html}");
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_download_byte_exact_under_safe_headers() {
    let (_app, api, stop, ids, _) = hand_app().await;
    let (status, e) = api
        .get(&format!("/api/email/emails/{}", ids["Files"]), ADMIN)
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["has_attachments"], true);
    let listed = e["attachments"].as_array().unwrap();
    let delivered = attachments();
    assert_eq!(listed.len(), delivered.len(), "{listed:?}");
    // (listed index, content type served, disposition name, status)
    let expect = [
        ("application/x-msdownload", "evil.exe", "stored"),
        ("application/octet-stream", "report.html", "stored"),
        ("", "huge.bin", "too_large"),
    ];
    for ((a, (_, _, content)), (served, name, state)) in listed.iter().zip(&delivered).zip(expect) {
        assert_eq!(a["status"], state, "{a}");
        assert_eq!(a["filename"], name, "{a}");
        assert_eq!(a["size"], content.len(), "{a}");
        let path = format!("/api/email/attachments/{}", a["id"].as_str().unwrap());
        let resp = api
            .request(reqwest::Method::GET, &path, ADMIN)
            .send()
            .await
            .unwrap();
        if state == "too_large" {
            assert_eq!(resp.status(), StatusCode::CONFLICT);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"]["code"], "too_large", "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("larger"),
                "{body}"
            );
            assert!(a["sha256"].is_null());
            continue;
        }
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(a["sha256"], hex::encode(Sha256::digest(content)), "{a}");
        let h = resp.headers().clone();
        let header = |n: &str| h.get(n).unwrap().to_str().unwrap().to_string();
        assert_eq!(header("content-type"), served);
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("content-length"), content.len().to_string());
        let cd = header("content-disposition");
        assert_eq!(
            cd,
            format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
        );
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..], &content[..], "{path}: bytes differ");
    }
    let (status, _) = api.get("/api/email/attachments/1", As::User(MEMBER)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    stop.cancel();
}
