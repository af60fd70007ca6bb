//! Inline images: a `multipart/related` image part (named or not, with or
//! without `Content-Disposition: inline`) is an attachment that keeps its
//! Content-ID, in the fake Gmail's inline-data view and in its
//! `attachmentId` view alike, and the bodies are chosen as before.

use email_sidecar::fake_google::mime::externalize_attachments;
use email_sidecar::parse::{content_id, parse_message, ParsedEmail};

use super::message;

/// A 1×1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const HTML: &str = "<p>Logo below.</p><img src=\"cid:logo@x\">";

/// `multipart/related`: the HTML (inside `multipart/alternative`) and one
/// image part with `image_headers` (CRLF-separated, no trailing CRLF).
fn related(image_headers: &str) -> Vec<u8> {
    format!(
        "From: jo@acme.vc\r\nTo: alice@fund.test\r\nSubject: Logo\r\n\
         Message-ID: <logo-mail@acme.vc>\r\nDate: Wed, 02 Oct 2024 09:15:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLogo below.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{HTML}\r\n--alt--\r\n\
         --rel\r\n{image_headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n{PNG_B64}\r\n\
         --rel--\r\n"
    )
    .into_bytes()
}

/// The message as the fake Gmail serves it with data inline, and with every
/// non-text part moved behind an `attachmentId` (as Gmail does when large).
fn both_views(raw: &[u8]) -> [ParsedEmail; 2] {
    let inline = message(raw, "g-inline", true);
    let mut external = message(raw, "g-external", true);
    if let Some(payload) = external.payload.as_mut() {
        externalize_attachments(payload, 0, &mut |part| format!("att-{part}"));
    }
    [inline, external].map(|m| parse_message(&m).unwrap())
}

#[test]
fn an_inline_image_in_multipart_related_is_an_attachment_with_its_content_id() {
    let png = base64_decode(PNG_B64);
    // (image part headers, file name, content id)
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "Content-Type: image/png; name=\"logo.png\"\r\n\
             Content-Disposition: inline; filename=\"logo.png\"\r\nContent-ID: <logo@x>",
            "logo.png",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <logo@x>",
            "attachment-1",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png\r\nContent-ID: <logo@x>",
            "attachment-1",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png; name=\"logo.png\"\r\nContent-ID: <logo@x>",
            "logo.png",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-Id:   < logo@x >  ",
            "attachment-1",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: logo@x",
            "attachment-1",
            Some("logo@x"),
        ),
        (
            "Content-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <Logo@X>",
            "attachment-1",
            Some("Logo@X"),
        ),
        (
            "Content-Type: image/png\r\nContent-Disposition: inline",
            "attachment-1",
            None,
        ),
    ];
    for (headers, filename, cid) in cases {
        for (view, p) in ["inline", "attachmentId"]
            .iter()
            .zip(both_views(&related(headers)))
        {
            let what = format!("{view} view of {headers:?}");
            assert_eq!(p.attachments.len(), 1, "{what}: {:?}", p.attachments);
            let a = &p.attachments[0];
            assert_eq!(a.content_id.as_deref(), *cid, "{what}");
            assert_eq!(a.filename, *filename, "{what}");
            assert_eq!(
                (a.part_id.as_str(), a.mime_type.as_str()),
                ("1", "image/png")
            );
            assert_eq!(a.size, png.len() as u64, "{what}");
            match *view {
                "inline" => assert_eq!(a.data.as_deref(), Some(&png[..]), "{what}"),
                _ => assert_eq!(
                    (a.data.is_none(), a.attachment_id.as_deref()),
                    (true, Some("att-1")),
                    "{what}"
                ),
            }
            assert_eq!(p.html.as_deref().map(str::trim), Some(HTML), "{what}");
            assert_eq!(
                p.text.as_deref().map(str::trim),
                Some("Logo below."),
                "{what}"
            );
        }
    }
}

#[test]
fn content_ids_lose_their_angle_brackets_and_whitespace_but_keep_their_case() {
    let cases: &[(&str, Option<&str>)] = &[
        ("<logo@x>", Some("logo@x")),
        ("  <logo@x>\t", Some("logo@x")),
        ("< logo@x >", Some("logo@x")),
        ("logo@x", Some("logo@x")),
        ("<Logo.Q3@Acme.VC>", Some("Logo.Q3@Acme.VC")),
        ("<ii_18c2f@x>", Some("ii_18c2f@x")),
        ("<>", None),
        ("  ", None),
        ("", None),
    ];
    for (raw, want) in cases {
        assert_eq!(content_id(raw).as_deref(), *want, "{raw:?}");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
