//! Bodies and attachments of a `format=full` payload: walks Gmail's
//! `MessagePart` tree, decodes the first text/plain and text/html bodies
//! from their charset to UTF-8, and lists attachment parts with safe file
//! names. Embedded messages (`message/rfc822`) are attachments, not bodies.
//! Inline images (`multipart/related` parts with a `Content-ID`, named or
//! not, `inline` or not) are attachments like any other non-text leaf, and
//! keep their Content-ID so that the HTML body's `cid:` references can be
//! pointed at them when it is served.

use crate::google::types::{decode_base64url, MessagePart};
use serde::Serialize;

/// File names are cut to this many UTF-8 bytes (extension kept if short).
pub const MAX_FILENAME_BYTES: usize = 200;
/// Guards against hostile nesting; Gmail's own trees are far shallower.
const MAX_DEPTH: usize = 64;

/// One attachment part: either fetched later by `attachment_id` or carried
/// inline in the payload (`data`, decoded bytes, not serialised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentRef {
    pub part_id: String,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub attachment_id: Option<String>,
    /// The part's `Content-ID` without angle brackets or whitespace, case
    /// as sent: what a `cid:` URL in the HTML body names.
    pub content_id: Option<String>,
    #[serde(skip)]
    pub data: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub(super) struct Bodies {
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentRef>,
}

pub(super) fn walk(root: &MessagePart) -> Bodies {
    let mut out = Bodies::default();
    visit(root, 0, &mut out);
    out
}

fn visit(part: &MessagePart, depth: usize, out: &mut Bodies) {
    let mime = part.mime_type.trim().to_ascii_lowercase();
    if mime.starts_with("multipart/") || (part.parts.len() > 1 && mime.is_empty()) {
        if depth < MAX_DEPTH {
            part.parts.iter().for_each(|p| visit(p, depth + 1, out));
        }
        return;
    }
    let has_content = part.body.data.is_some() || part.body.attachment_id.is_some();
    if !has_content {
        // A message/rfc822 part (a forward, a bounce) comes as a container
        // with only a size; its content is in its child parts.
        if depth < MAX_DEPTH {
            part.parts.iter().for_each(|p| visit(p, depth + 1, out));
        }
        return;
    }
    let is_body = !is_attachment(part) && (mime == "text/plain" || mime == "text/html");
    if is_body {
        let slot = if mime == "text/html" {
            &mut out.html
        } else {
            &mut out.text
        };
        if slot.is_none() {
            if let Some(bytes) = part
                .body
                .data
                .as_deref()
                .and_then(|d| decode_base64url(d).ok())
            {
                *slot = Some(decode_text(&bytes, charset(part).as_deref()));
            }
        }
        return;
    }
    // Extra unnamed text/plain or text/html parts returned above (they are
    // alternative bodies, not files); anything else here is a file.
    out.attachments.push(attachment(part, mime));
}

/// Named, or marked `Content-Disposition: attachment`.
fn is_attachment(part: &MessagePart) -> bool {
    !part.filename.trim().is_empty()
        || part
            .header("Content-Disposition")
            .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"))
}

fn attachment(part: &MessagePart, mime: String) -> AttachmentRef {
    let data = part
        .body
        .attachment_id
        .is_none()
        .then(|| {
            part.body
                .data
                .as_deref()
                .and_then(|d| decode_base64url(d).ok())
        })
        .flatten();
    let size = data.as_ref().map_or(part.body.size, |d| d.len() as u64);
    AttachmentRef {
        part_id: part.part_id.clone(),
        filename: sanitize_filename(&part.filename, &part.part_id),
        mime_type: if mime.is_empty() {
            "application/octet-stream".into()
        } else {
            mime
        },
        size,
        attachment_id: part.body.attachment_id.clone(),
        content_id: part.header("Content-ID").and_then(content_id),
        data,
    }
}

/// A `Content-ID` header value as a `cid:` URL names it (RFC 2392): the
/// msg-id without its angle brackets. Whitespace goes too, inside the
/// brackets included, since folding can put some there; case is kept
/// (matching is case-insensitive where it is resolved).
pub fn content_id(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t);
    let id: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    (!id.is_empty()).then_some(id)
}

/// The `charset` parameter of the part's Content-Type, if any.
fn charset(part: &MessagePart) -> Option<String> {
    let ct = part.header("Content-Type")?;
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| {
                v.trim()
                    .trim_matches('"')
                    .trim_matches('\'')
                    .trim()
                    .to_string()
            })
            .filter(|v| !v.is_empty())
    })
}

/// Bytes in `charset` to UTF-8. Unknown or missing charsets: UTF-8 if the
/// bytes are valid UTF-8, else Windows-1252 (what unlabelled 8-bit mail
/// almost always is).
pub(super) fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    let is_utf8_label = charset.is_some_and(|c| {
        let c = c.to_ascii_lowercase().replace('_', "-");
        c == "utf-8" || c == "utf8" || c == "us-ascii" || c == "ascii"
    });
    if !is_utf8_label {
        if let Some(decode) = charset
            .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()))
        {
            return decode(bytes);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) if is_utf8_label => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => match mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252") {
            Some(decode) => decode(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

/// A file name safe to show and to use on any file system: the last path
/// component only, no control or reserved characters, no leading dots or
/// spaces, at most [`MAX_FILENAME_BYTES`] bytes; `attachment-<part_id>`
/// when nothing usable is left.
pub fn sanitize_filename(raw: &str, part_id: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        let id: String = part_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        return format!("attachment-{id}");
    }
    truncate_keeping_extension(trimmed, MAX_FILENAME_BYTES)
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= 16)
        .unwrap_or_default();
    let mut cut = max - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", name[..cut].trim_end_matches(['.', ' ']))
}
