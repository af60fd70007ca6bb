//! Email HTML made safe to show in the CRM (ammonia, an html5ever-based
//! allow-list sanitizer): no script or style, no event handlers, no
//! `javascript:`/`data:` links, and no remote loads of any kind — an email
//! that could fetch a URL when opened would tell its sender (a tracking
//! pixel) that, and when, an admin read it. Images survive only as `cid:`
//! references to the email's own parts. Links open in a new tab without
//! an opener or referrer. Used by `http::activity` for `emails/{id}`.

use std::borrow::Cow;
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};

/// Link schemes kept (everything else, `javascript:` and `data:` included,
/// loses its `href`). `cid` is for inline images.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto", "tel", "cid"];

/// Attributes that could make the browser fetch something and that the
/// allow-list already refuses; filtered again by name so that a future
/// change to the allow-list cannot quietly let one through.
const LOADING_ATTRIBUTES: &[&str] = &[
    "background",
    "srcset",
    "poster",
    "style",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "ping",
    "formaction",
    "action",
    "data",
    "codebase",
    "xlink:href",
];

fn builder() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = Builder::default();
        b.url_schemes(URL_SCHEMES.iter().copied().collect())
            // A relative URL would resolve against the CRM's own origin.
            .url_relative(UrlRelative::Deny)
            .link_rel(Some("noopener noreferrer"))
            .set_tag_attribute_value("a", "target", "_blank")
            .attribute_filter(filter_attribute);
        b
    })
}

/// Keeps `img src` only for `cid:` and drops anything that loads.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if LOADING_ATTRIBUTES.contains(&attribute) {
        return None;
    }
    if attribute == "src" {
        let is_cid = value
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("cid:"));
        return (element == "img" && is_cid).then_some(Cow::Borrowed(value));
    }
    Some(Cow::Borrowed(value))
}

/// `html` with everything active or remote removed.
pub fn sanitize_html(html: &str) -> String {
    builder().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::sanitize_html;

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
}
