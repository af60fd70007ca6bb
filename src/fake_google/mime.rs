//! PLACEHOLDER (helper FAKE): a minimal stand-in for helper MIME's RFC 822 →
//! Gmail view so the fake compiles and its tests run; replaced at merge by
//! MIME's version, which has the same public signatures (contracts.md).
//! Built on mail-parser; good enough for plain, alternative and mixed mail.

use super::query::SearchDoc;
use crate::google::types::{encode_base64url, Header, MessagePart, MessagePartBody};
use mail_parser::{Message as Parsed, MessageParser, MimeHeaders, PartType};

/// Gmail's view of one RFC 822 message.
pub struct GmailView {
    pub payload: MessagePart,
    pub snippet: String,
    pub doc: SearchDoc,
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub date_ms: Option<i64>,
}

/// Parse raw bytes into Gmail's view; never panics.
pub fn gmail_view(raw: &[u8]) -> GmailView {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return empty_view(raw);
    };
    let payload = build_part(&msg, raw, 0, String::new());
    let text = msg.body_text(0).map(|t| t.to_string()).unwrap_or_default();
    let subject = msg.subject().unwrap_or_default().to_string();
    let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
    };
    let message_id = msg.message_id().map(str::to_string);
    let mut references: Vec<String> = Vec::new();
    for v in [msg.in_reply_to(), msg.references()] {
        if let Some(s) = v.as_text() {
            references.push(s.to_string());
        } else if let Some(list) = v.as_text_list() {
            references.extend(list.iter().map(|s| s.to_string()));
        }
    }
    let doc = SearchDoc {
        from: addrs(msg.from()),
        to: addrs(msg.to()),
        cc: addrs(msg.cc()),
        bcc: addrs(msg.bcc()),
        subject: subject.clone(),
        text: text.clone(),
        message_id: message_id.clone().unwrap_or_default(),
        ..Default::default()
    };
    GmailView {
        payload,
        snippet: snippet_of(&text),
        doc,
        message_id,
        references,
        subject,
        date_ms: msg.date().map(|d| d.to_timestamp() * 1000),
    }
}

fn empty_view(raw: &[u8]) -> GmailView {
    GmailView {
        payload: MessagePart {
            mime_type: "text/plain".into(),
            body: MessagePartBody {
                size: raw.len() as u64,
                data: Some(encode_base64url(raw)),
                attachment_id: None,
            },
            ..Default::default()
        },
        snippet: String::new(),
        doc: SearchDoc::default(),
        message_id: None,
        references: Vec::new(),
        subject: String::new(),
        date_ms: None,
    }
}

fn snippet_of(text: &str) -> String {
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = collapsed.chars().take(200).collect();
    short
        .replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn build_part(msg: &Parsed, raw: &[u8], idx: u32, part_id: String) -> MessagePart {
    let Some(part) = msg.part(idx) else {
        return MessagePart::default();
    };
    let mime_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".into())
        .to_ascii_lowercase();
    let headers = part
        .headers
        .iter()
        .map(|h| Header {
            name: h.name.as_str().to_string(),
            value: raw_value(raw, h.offset_start, h.offset_end),
        })
        .collect();
    let mut out = MessagePart {
        part_id: part_id.clone(),
        mime_type,
        filename: part.attachment_name().unwrap_or_default().to_string(),
        headers,
        ..Default::default()
    };
    if let PartType::Multipart(children) = &part.body {
        for (n, child) in children.iter().enumerate() {
            let id = if part_id.is_empty() {
                n.to_string()
            } else {
                format!("{part_id}.{n}")
            };
            out.parts.push(build_part(msg, raw, *child, id));
        }
    } else {
        let bytes = part.contents();
        out.body = MessagePartBody {
            size: bytes.len() as u64,
            data: Some(encode_base64url(bytes)),
            attachment_id: None,
        };
    }
    out
}

fn raw_value(raw: &[u8], start: u32, end: u32) -> String {
    let slice = raw.get(start as usize..end as usize).unwrap_or_default();
    let s = String::from_utf8_lossy(slice);
    s.replace("\r\n", "").replace('\n', "").trim().to_string()
}

/// Move `data` to an attachment id on parts Gmail would fetch separately.
pub fn externalize_attachments(
    payload: &mut MessagePart,
    inline_limit: u64,
    next_id: &mut dyn FnMut(&str) -> String,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(payload, inline_limit, next_id, &mut out);
    out
}

fn walk(
    p: &mut MessagePart,
    limit: u64,
    next_id: &mut dyn FnMut(&str) -> String,
    out: &mut Vec<(String, Vec<u8>)>,
) {
    for child in &mut p.parts {
        walk(child, limit, next_id, out);
    }
    if !p.parts.is_empty() || p.body.data.is_none() {
        return;
    }
    let big_binary = !p.mime_type.starts_with("text/") && p.body.size > limit;
    if p.filename.is_empty() && !big_binary {
        return;
    }
    let data = p.body.data.take().unwrap_or_default();
    let bytes = crate::google::types::decode_base64url(&data).unwrap_or_default();
    p.body.attachment_id = Some(next_id(&p.part_id));
    out.push((p.part_id.clone(), bytes));
}
