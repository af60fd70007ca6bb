//! Email HTML made safe to show in the CRM (ammonia, an html5ever-based
//! allow-list sanitizer): no script or style, no event handlers, no
//! `javascript:`/`data:` links, and no remote loads of any kind — an email
//! that could fetch a URL when opened would tell its sender (a tracking
//! pixel) that, and when, an admin read it. Images survive only as
//! references to the email's own parts: a `cid:` URL whose Content-ID is
//! one of the email's stored attachments ([`InlineImages`]) becomes that
//! attachment's download path (`/api/email/attachments/{id}`, relative, as
//! the CRM proxies `/api/email/*`); any other `cid:` stays as written.
//! Links open in a new tab without an opener or referrer. Used by
//! `http::activity` for `emails/{id}`; reads Content-IDs the way
//! `crate::parse` records them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};

/// Link schemes kept (everything else, `javascript:` and `data:` included,
/// loses its `href`). `cid` is for inline images.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto", "tel", "cid"];

/// Where attachment `{id}` downloads; the rewritten `img src` is this plus
/// the numeric id and nothing else, whatever the Content-ID said.
const ATTACHMENT_PATH: &str = "/api/email/attachments/";

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

/// One email's stored attachments that have a Content-ID, by Content-ID
/// (compared case-insensitively) → attachment id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineImages {
    by_cid: HashMap<String, i64>,
}

impl InlineImages {
    /// From `(content_id, attachment_id)` pairs of ONE email's stored
    /// attachments. When two parts share a Content-ID the first pair wins,
    /// so callers pass them in attachment id order.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut by_cid = HashMap::new();
        for (cid, id) in pairs {
            if let Some(key) = crate::parse::content_id(cid) {
                by_cid.entry(key.to_lowercase()).or_insert(id);
            }
        }
        Self { by_cid }
    }

    /// The download path of the attachment a `cid:` URL names, if any.
    /// RFC 2392 percent-encodes the Content-ID in the URL; senders mostly
    /// do not, so the URL is tried as written first, then decoded.
    fn path_for(&self, cid_url: &str) -> Option<String> {
        let written = cid_url.get(4..)?;
        let decoded = percent_encoding::percent_decode_str(written).decode_utf8_lossy();
        let id = [written, decoded.as_ref()]
            .into_iter()
            .filter_map(crate::parse::content_id)
            .find_map(|cid| self.by_cid.get(&cid.to_lowercase()).copied())?;
        Some(format!("{ATTACHMENT_PATH}{id}"))
    }

    /// Whether `url` is exactly a path [`Self::path_for`] can produce.
    fn serves(&self, url: &str) -> bool {
        url.strip_prefix(ATTACHMENT_PATH)
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|id| {
                url == format!("{ATTACHMENT_PATH}{id}") && self.by_cid.values().any(|v| *v == id)
            })
    }
}

/// The only relative URLs let through: this email's own attachment paths.
/// [`filter_attribute`] already drops every relative URL the email wrote;
/// this is the second lock, should that filter ever change.
struct OwnAttachments(Arc<InlineImages>);

impl<'a> UrlRelativeEvaluate<'a> for OwnAttachments {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        self.0.serves(url).then_some(Cow::Borrowed(url))
    }
}

/// A builder per email: the rewrite needs that email's attachments, and
/// ammonia's hooks are fixed when the builder is made.
fn builder(images: Arc<InlineImages>) -> Builder<'static> {
    let mut b = Builder::default();
    let filter_images = images.clone();
    b.url_schemes(URL_SCHEMES.iter().copied().collect())
        // A relative URL would resolve against the CRM's own origin: the
        // email's own attachment downloads are the only ones it may name.
        .url_relative(UrlRelative::Custom(Box::new(OwnAttachments(images))))
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            filter_attribute(&filter_images, element, attribute, value)
        });
    b
}

/// Keeps `img src` only for `cid:` (pointed at the attachment when the
/// email has it), drops anything that loads, and drops relative links
/// (ammonia runs this before its own relative-URL policy, which lets
/// relative URLs reach this far only so the rewritten `src` can pass).
fn filter_attribute<'u>(
    images: &InlineImages,
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    if LOADING_ATTRIBUTES.contains(&attribute) {
        return None;
    }
    if attribute == "src" {
        let is_cid = value
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("cid:"));
        if element != "img" || !is_cid {
            return None;
        }
        return Some(
            images
                .path_for(value)
                .map_or(Cow::Borrowed(value), Cow::Owned),
        );
    }
    let relative = |v: &str| {
        matches!(
            url::Url::parse(v),
            Err(url::ParseError::RelativeUrlWithoutBase)
        )
    };
    if attribute == "href" && relative(value) {
        return None;
    }
    Some(Cow::Borrowed(value))
}

/// `html` with everything active or remote removed; `cid:` images stay
/// as written.
pub fn sanitize_html(html: &str) -> String {
    sanitize_email_html(html, &InlineImages::default())
}

/// `html` with everything active or remote removed, and `cid:` images that
/// name one of `images` pointed at its download path.
pub fn sanitize_email_html(html: &str, images: &InlineImages) -> String {
    builder(Arc::new(images.clone())).clean(html).to_string()
}

#[cfg(test)]
mod tests;
