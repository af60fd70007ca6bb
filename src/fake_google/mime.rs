//! Gmail's view of raw RFC 822 bytes, for the fake Gmail server: the
//! `MessagePart` tree (`format=full`), the snippet, the search document that
//! `q` runs against, and the ids Gmail threads by. Pure functions over bytes:
//! parsing is delegated to `mail-parser`, which is used only for structure,
//! offsets and decoded header fields; bodies are cut from the raw bytes and
//! transfer-decoded here so that charsets are left exactly as sent (Gmail's
//! `body.data` is the transfer-decoded octets, not a UTF-8 conversion).
//!
//! How Gmail shapes things, and what this module does:
//! - partIds: root `""`, its children `"0"`, `"1"`, …, grandchildren `"1.0"`.
//! - header values are the raw field bodies, unfolded and trimmed; RFC 2047
//!   encoded words are left as sent (Gmail shows `=?UTF-8?…?=` verbatim).
//! - `message/rfc822` parts: a node whose single child (`"<id>.0"`) is the
//!   embedded message's root part, carrying the embedded message's headers.
//!   Before [`externalize_attachments`] the node's body holds the embedded
//!   bytes as `data`; afterwards it has an `attachmentId` (named or large) or
//!   only its `size`, as Gmail shows containers.
//! - Whatever the input (empty, 8-bit garbage, truncated multipart) the
//!   result is a well-formed tree; a panic inside the parser is caught and
//!   answered with a single `text/plain` leaf.

mod decode;

use crate::fake_google::query::{DisplayNames, SearchDoc};
use crate::google::types::{
    decode_base64url, encode_base64url, Header, MessagePart, MessagePartBody,
};
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};

pub use decode::{base64_lenient, quoted_printable};

/// Nesting deeper than this is flattened into a leaf (mail-parser itself
/// stops decoding nested messages after three levels).
const MAX_DEPTH: usize = 48;
/// Gmail's snippets are about this many characters before escaping.
pub const SNIPPET_CHARS: usize = 200;

/// Everything the fake needs to serve one message, derived from its bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GmailView {
    pub payload: MessagePart,
    pub snippet: String,
    pub doc: SearchDoc,
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub date_ms: Option<i64>,
}

/// Gmail's view of `raw`. Never panics.
pub fn gmail_view(raw: &[u8]) -> GmailView {
    std::panic::catch_unwind(|| build_view(raw)).unwrap_or_else(|_| fallback_view(raw))
}

/// Replace `data` with an `attachmentId` on the parts Gmail would: any part
/// with a filename, and any non-text leaf (or `message/rfc822` part) larger
/// than `inline_limit` bytes. Returns `(part_id, decoded bytes)` of each.
/// Container nodes that keep no attachment lose their `data`.
pub fn externalize_attachments(
    payload: &mut MessagePart,
    inline_limit: u64,
    next_id: &mut dyn FnMut(&str) -> String,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    externalize_node(payload, inline_limit, next_id, &mut out);
    out
}

fn externalize_node(
    part: &mut MessagePart,
    limit: u64,
    next_id: &mut dyn FnMut(&str) -> String,
    out: &mut Vec<(String, Vec<u8>)>,
) {
    let is_multipart = part.mime_type.starts_with("multipart/");
    let is_text = part.mime_type.starts_with("text/");
    let external = !is_multipart
        && part.body.data.is_some()
        && (!part.filename.is_empty() || (!is_text && part.body.size > limit));
    if external {
        let bytes = part
            .body
            .data
            .take()
            .and_then(|d| decode_base64url(&d).ok())
            .unwrap_or_default();
        part.body.attachment_id = Some(next_id(&part.part_id));
        out.push((part.part_id.clone(), bytes));
    } else if !part.parts.is_empty() {
        part.body.data = None;
    }
    for child in &mut part.parts {
        externalize_node(child, limit, next_id, out);
    }
}

fn build_view(raw: &[u8]) -> GmailView {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return fallback_view(raw);
    };
    if msg.parts.is_empty() {
        return fallback_view(raw);
    }
    let text = body_texts(&msg);
    let snippet = snippet_from(&snippet_source(&msg));
    let subject = msg.subject().unwrap_or_default().trim().to_string();
    let message_id = msg.message_id().map(bare_id).filter(|s| !s.is_empty());
    let doc = SearchDoc {
        from: addresses(&msg, HeaderName::From),
        to: addresses(&msg, HeaderName::To),
        cc: addresses(&msg, HeaderName::Cc),
        bcc: addresses(&msg, HeaderName::Bcc),
        names: DisplayNames {
            from: names(&msg, HeaderName::From),
            to: names(&msg, HeaderName::To),
            cc: names(&msg, HeaderName::Cc),
            bcc: names(&msg, HeaderName::Bcc),
        },
        subject: subject.clone(),
        text,
        message_id: message_id.clone().unwrap_or_default(),
        ..SearchDoc::default()
    };
    GmailView {
        payload: message_node(&msg, String::new(), 0, false),
        snippet,
        doc,
        message_id,
        references: references(&msg),
        subject,
        date_ms: msg
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp().saturating_mul(1000)),
    }
}

/// A view for bytes mail-parser could not make anything of: one leaf.
fn fallback_view(raw: &[u8]) -> GmailView {
    let text = String::from_utf8_lossy(raw).into_owned();
    GmailView {
        payload: MessagePart {
            mime_type: "text/plain".into(),
            body: leaf_body(raw),
            ..MessagePart::default()
        },
        snippet: snippet_from(&text),
        doc: SearchDoc {
            text,
            ..SearchDoc::default()
        },
        ..GmailView::default()
    }
}

fn child_id(parent: &str, index: usize) -> String {
    if parent.is_empty() {
        index.to_string()
    } else {
        format!("{parent}.{index}")
    }
}

fn leaf_body(bytes: &[u8]) -> MessagePartBody {
    MessagePartBody {
        attachment_id: None,
        size: bytes.len() as u64,
        data: Some(encode_base64url(bytes)),
    }
}

/// The root part of `msg` (a whole message or an embedded one).
fn message_node(msg: &Message<'_>, id: String, depth: usize, in_digest: bool) -> MessagePart {
    part_node(msg, 0, id, depth, in_digest)
}

fn part_node(
    msg: &Message<'_>,
    idx: usize,
    id: String,
    depth: usize,
    in_digest: bool,
) -> MessagePart {
    let buf: &[u8] = msg.raw_message.as_ref();
    let Some(p) = msg.parts.get(idx) else {
        return MessagePart {
            part_id: id,
            mime_type: "text/plain".into(),
            body: leaf_body(b""),
            ..MessagePart::default()
        };
    };
    let mime_type = mime_type_of(p.content_type(), in_digest);
    let mut node = MessagePart {
        headers: raw_headers(buf, &p.headers),
        filename: p.attachment_name().unwrap_or_default().trim().to_string(),
        part_id: id,
        mime_type,
        ..MessagePart::default()
    };
    let deep = depth >= MAX_DEPTH;
    match &p.body {
        PartType::Multipart(children) if !deep && children.iter().any(|&c| c as usize > idx) => {
            let digest = node.mime_type == "multipart/digest";
            node.parts = children
                .iter()
                .map(|&c| c as usize)
                .filter(|&c| c > idx)
                .enumerate()
                .map(|(i, c)| part_node(msg, c, child_id(&node.part_id, i), depth + 1, digest))
                .collect();
        }
        PartType::Message(inner) if !deep && !inner.parts.is_empty() => {
            node.body = leaf_body(&decode::part_bytes(buf, p));
            node.parts = vec![message_node(
                inner,
                child_id(&node.part_id, 0),
                depth + 1,
                false,
            )];
        }
        _ => node.body = leaf_body(&decode::part_bytes(buf, p)),
    }
    node
}

fn mime_type_of(ct: Option<&mail_parser::ContentType<'_>>, in_digest: bool) -> String {
    match ct {
        Some(ct) if !ct.c_type.trim().is_empty() => {
            let sub = ct.c_subtype.as_deref().unwrap_or_default().trim();
            let main = ct.c_type.trim();
            if sub.is_empty() {
                // RFC 2045 §5.2: an invalid type is treated as text/plain;
                // a bare non-text type is at least opaque octets.
                if main.eq_ignore_ascii_case("text") {
                    "text/plain".into()
                } else {
                    "application/octet-stream".into()
                }
            } else {
                format!("{main}/{sub}").to_ascii_lowercase()
            }
        }
        _ if in_digest => "message/rfc822".into(),
        _ => "text/plain".into(),
    }
}

/// Every header of a part, in order, with its name as written and its raw
/// value unfolded (CR/LF removed, so the folding whitespace stays) and trimmed.
fn raw_headers(buf: &[u8], headers: &[mail_parser::Header<'_>]) -> Vec<Header> {
    headers
        .iter()
        .map(|h| {
            let slice = |a: u32, b: u32| buf.get(a as usize..b as usize).unwrap_or_default();
            let name = String::from_utf8_lossy(slice(h.offset_field, h.offset_start));
            let name = name.trim_end().trim_end_matches(':').trim();
            let name = if name.is_empty() {
                h.name.as_str()
            } else {
                name
            };
            let value: String = String::from_utf8_lossy(slice(h.offset_start, h.offset_end))
                .chars()
                .filter(|&c| c != '\r' && c != '\n')
                .collect();
            Header {
                name: name.to_string(),
                value: value.trim().to_string(),
            }
        })
        .collect()
}

fn bare_id(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn references(msg: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in [HeaderName::InReplyTo, HeaderName::References] {
        for value in msg.header_values(name) {
            let ids: Vec<&str> = match value {
                HeaderValue::Text(t) => vec![t.as_ref()],
                HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
                _ => Vec::new(),
            };
            for id in ids.into_iter().map(bare_id).filter(|s| !s.is_empty()) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    out
}

fn for_each_addr<'a>(
    msg: &'a Message<'_>,
    name: HeaderName<'static>,
    mut f: impl FnMut(&'a mail_parser::Addr<'a>),
) {
    for value in msg.header_values(name) {
        match value.as_address() {
            Some(Address::List(list)) => list.iter().for_each(&mut f),
            Some(Address::Group(groups)) => groups
                .iter()
                .flat_map(|g| g.addresses.iter())
                .for_each(&mut f),
            None => {}
        }
    }
}

/// Lower-case addresses of one address header (groups flattened).
fn addresses(msg: &Message<'_>, name: HeaderName<'static>) -> Vec<String> {
    let mut out = Vec::new();
    for_each_addr(msg, name, |a| {
        if let Some(addr) = a
            .address
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            out.push(addr.to_lowercase());
        }
    });
    out
}

/// Lower-case display names (and group names) of one address header.
fn names(msg: &Message<'_>, name: HeaderName<'static>) -> Vec<String> {
    let mut out = Vec::new();
    for_each_addr(msg, name.clone(), |a| {
        if let Some(n) = a.name.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            out.push(n.to_lowercase());
        }
    });
    for value in msg.header_values(name) {
        if let Some(Address::Group(groups)) = value.as_address() {
            out.extend(
                groups
                    .iter()
                    .filter_map(|g| g.name.as_deref())
                    .map(|n| n.trim().to_lowercase()),
            );
        }
    }
    out
}

/// The message's body text (HTML converted when there is no plain text).
fn body_texts(msg: &Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&t);
        }
    }
    out
}

/// Gmail's snippet source: the first text/plain body, else HTML without tags.
fn snippet_source(msg: &Message<'_>) -> String {
    let part = |id: &u32| msg.parts.get(*id as usize).map(|p| &p.body);
    if let Some(PartType::Text(t)) = msg
        .text_body
        .iter()
        .filter_map(part)
        .find(|b| matches!(b, PartType::Text(_)))
    {
        return t.to_string();
    }
    match msg
        .html_body
        .iter()
        .chain(&msg.text_body)
        .filter_map(part)
        .find(|b| matches!(b, PartType::Html(_)))
    {
        Some(PartType::Html(h)) => mail_parser::decoders::html::html_to_text(h),
        _ => String::new(),
    }
}

/// Whitespace collapsed, cut to [`SNIPPET_CHARS`], then HTML-escaped as Gmail does.
pub fn snippet_from(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len().min(SNIPPET_CHARS * 2));
    for c in collapsed.chars().take(SNIPPET_CHARS) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
