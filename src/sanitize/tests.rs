//! Unit tests of `sanitize`: hostile HTML comes out inert, ordinary
//! formatting and links survive, and `cid:` images point at the email's own
//! attachments without any way for a Content-ID to inject a URL.

use super::{sanitize_email_html, sanitize_html, InlineImages};

/// Substrings that must not survive, case-insensitively.
const NEVER: &[&str] = &[
    "<script",
    "alert(",
    "<style",
    "onerror",
    "onload",
    "onclick",
    "onmouseover",
    "javascript:",
    "vbscript:",
    "data:",
    "tracker",
    "url(",
    "srcset",
    "background",
    "<iframe",
    "<object",
    "<embed",
    "<form",
    "<meta",
    "<link",
    "<base",
    "<svg",
    "expression(",
    "@import",
];

#[test]
fn nasty_html_comes_out_inert_and_cid_images_stay() {
    // (input, substrings the output must contain)
    let cases: &[(&str, &[&str])] = &[
        ("<p>hi<script>alert(1)</script></p>", &["<p>hi</p>"]),
        ("<SCRIPT SRC=//tracker.example/x.js></SCRIPT>ok", &["ok"]),
        ("<img src=x onerror=alert(1)>", &["<img>"]),
        ("<a href=\"javascript:alert(1)\">x</a>", &[">x</a>"]),
        ("<a href=\"JaVaScRiPt:alert(1)\">x</a>", &[">x</a>"]),
        ("<a href=\"java&#x09;script:alert(1)\">x</a>", &[">x</a>"]),
        (
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            &[">x</a>"],
        ),
        ("<a href=\"vbscript:msgbox\">x</a>", &[">x</a>"]),
        (
            "<img src=\"https://tracker.example/p.gif\" alt=pixel>",
            &["alt=\"pixel\""],
        ),
        ("<img src=\"//tracker.example/p.gif\">", &["<img>"]),
        ("<img src=\"data:image/png;base64,AAAA\">", &["<img>"]),
        (
            "<img srcset=\"https://tracker.example/a.png 2x\">",
            &["<img>"],
        ),
        (
            "<img src=\"cid:logo@fund\" alt=logo>",
            &["src=\"cid:logo@fund\""],
        ),
        ("<IMG SRC=\"CID:Logo\">", &["src=\"CID:Logo\""]),
        (
            "<p style=\"background:url(https://tracker.example/b)\">t</p>",
            &["<p>t</p>"],
        ),
        (
            "<div style=\"width: expression(alert(1))\">t</div>",
            &["<div>t</div>"],
        ),
        (
            "<style>@import 'https://tracker.example/c.css'; p{}</style>t",
            &["t"],
        ),
        (
            "<table background=\"https://tracker.example/t.png\"><tr><td>c</td></tr></table>",
            &["<td>c</td>"],
        ),
        (
            "<body onload=alert(1) background=https://tracker.example/b>b</body>",
            &["b"],
        ),
        ("<iframe src=https://tracker.example/f></iframe>f", &["f"]),
        ("<object data=https://tracker.example/o></object>o", &["o"]),
        ("<embed src=https://tracker.example/e>e", &["e"]),
        (
            "<form action=https://tracker.example/f><input name=x></form>",
            &[],
        ),
        (
            "<meta http-equiv=refresh content=\"0;url=https://tracker.example/\">m",
            &["m"],
        ),
        (
            "<link rel=stylesheet href=https://tracker.example/l.css>l",
            &["l"],
        ),
        ("<base href=https://tracker.example/>b", &["b"]),
        (
            "<svg><image href=https://tracker.example/s.png /></svg>s",
            &["s"],
        ),
        (
            "<video poster=https://tracker.example/v.png></video>v",
            &["v"],
        ),
        (
            "<a href=https://acme.vc/ ping=https://tracker.example/p>l</a>",
            &["href=\"https://acme.vc/\""],
        ),
        ("<a href=\"/api/email/rematch\">rel</a>", &[">rel</a>"]),
        (
            "<!--[if gte mso 9]><img src=https://tracker.example/m><![endif]-->c",
            &["c"],
        ),
        (
            "<p onmouseover=\"alert(1)\" title=ok>t</p>",
            &["title=\"ok\""],
        ),
    ];
    for (input, must) in cases {
        let out = sanitize_html(input);
        let lower = out.to_lowercase();
        for bad in NEVER {
            assert!(
                !lower.contains(bad),
                "{input:?} → {out:?} still has {bad:?}"
            );
        }
        for good in *must {
            assert!(out.contains(good), "{input:?} → {out:?} lacks {good:?}");
        }
    }
}

#[test]
fn links_keep_their_target_and_open_without_opener() {
    let out = sanitize_html("<a href=\"https://acme.vc/deck\">deck</a>");
    assert!(out.contains("href=\"https://acme.vc/deck\""), "{out}");
    assert!(out.contains("rel=\"noopener noreferrer\""), "{out}");
    assert!(out.contains("target=\"_blank\""), "{out}");
    let mail = sanitize_html("<a href=\"mailto:jo@acme.vc\">jo</a>");
    assert!(mail.contains("href=\"mailto:jo@acme.vc\""), "{mail}");
}

#[test]
fn ordinary_email_formatting_survives() {
    let html = "<table><tr><td><b>Q3</b> <i>update</i></td></tr></table><ul><li>one</li></ul>";
    let out = sanitize_html(html);
    for kept in [
        "<table>",
        "<td>",
        "<b>Q3</b>",
        "<i>update</i>",
        "<li>one</li>",
    ] {
        assert!(out.contains(kept), "{out} lacks {kept}");
    }
}

/// Every `src="…"` value in sanitized output, in order.
fn srcs(out: &str) -> Vec<String> {
    out.split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|v| v.replace("&amp;", "&"))
        .collect()
}

#[test]
fn cid_images_of_the_emails_own_attachments_point_at_their_download() {
    let images = InlineImages::new([("logo@x", 7), ("Chart@X", 12), ("logo@x", 99)]);
    // (input, the img srcs it must come out with)
    let cases: &[(&str, &[&str])] = &[
        ("<img src=\"cid:logo@x\" alt=logo>", &["/api/email/attachments/7"]),
        ("<IMG SRC=\"CID:LOGO@X\">", &["/api/email/attachments/7"]),
        ("<img src=\"cid:chart@x\">", &["/api/email/attachments/12"]),
        ("<img src=\"cid:logo%40x\">", &["/api/email/attachments/7"]),
        ("<img src=\"cid:%3Clogo@x%3E\">", &["/api/email/attachments/7"]),
        ("<img src=\"cid:missing@x\">", &["cid:missing@x"]),
        ("<img src=\"cid:\">", &["cid:"]),
        (
            "<img src=\"cid:logo@x\"><img src=\"https://evil.example/p.gif\"><img src=\"cid:nope\">",
            &["/api/email/attachments/7", "cid:nope"],
        ),
        // An email cannot name an attachment path itself, not even its own.
        ("<img src=\"/api/email/attachments/7\">", &[]),
        ("<img src=\"//evil.example/api/email/attachments/7\">", &[]),
        ("<img srcset=\"cid:logo@x 2x\">", &[]),
        ("<table background=\"cid:logo@x\"><tr><td>t</td></tr></table>", &[]),
    ];
    for (input, want) in cases {
        let out = sanitize_email_html(input, &images);
        assert_eq!(srcs(&out), *want, "{input:?} → {out:?}");
        for gone in ["evil.example", "background", "srcset"] {
            assert!(!out.contains(gone), "{input:?} → {out:?} has {gone:?}");
        }
    }
    // Only img src is rewritten; a link keeps its cid: and a relative link
    // the email wrote goes, as it did before there was anything to point at.
    let links = sanitize_email_html(
        "<a href=\"cid:logo@x\">c</a><a href=\"/api/email/attachments/7\">r</a>",
        &images,
    );
    assert!(links.contains("href=\"cid:logo@x\""), "{links}");
    assert!(!links.contains("/api/email/attachments/"), "{links}");
    // Without the email's attachments nothing is rewritten.
    let plain = sanitize_html("<img src=\"cid:logo@x\">");
    assert_eq!(srcs(&plain), ["cid:logo@x"], "{plain}");
}

#[test]
fn a_hostile_content_id_resolves_only_to_a_numeric_attachment_path() {
    let hostile = [
        "x\" onerror=\"alert(1)",
        "\"><script>alert(1)</script>",
        "javascript:alert(1)",
        "a>b<c",
        "https://evil.example/p.gif",
        "//evil.example/p.gif",
        "../../../../rematch?x=1",
    ];
    let images = InlineImages::new(hostile.iter().zip(1_i64..).map(|(c, i)| (*c, i)));
    for (n, cid) in hostile.iter().enumerate() {
        let escaped = cid
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let input = format!("<img src=\"cid:{escaped}\" alt=a>");
        let out = sanitize_email_html(&input, &images);
        let found = srcs(&out);
        assert_eq!(found.len(), 1, "{input:?} → {out:?}");
        let src = &found[0];
        // Resolved, and to the numeric path only: nothing of the id is in it.
        assert_eq!(*src, format!("/api/email/attachments/{}", n + 1), "{cid:?}");
        let parsed = url::Url::parse(src);
        assert_eq!(parsed, Err(url::ParseError::RelativeUrlWithoutBase));
        assert!(!src.starts_with("//"), "{src}");
        let lower = out.to_lowercase();
        for bad in ["<script", "onerror", "javascript:", "evil.example\""] {
            assert!(!lower.contains(bad), "{input:?} → {out:?} has {bad:?}");
        }
        assert_eq!(out.matches('<').count(), 1, "one element only: {out:?}");
    }
}
