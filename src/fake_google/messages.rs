//! Read handlers: messages.list (newest first, keyset page tokens, `q`,
//! labelIds, includeSpamTrash), messages.get in Gmail's four formats,
//! attachments.get and threads.get. Renders stored messages into Gmail's
//! Message resource.

use super::gmail::ApiRequest;
use super::mailbox::{ListFilter, StoredMessage};
use super::mime::externalize_attachments;
use super::query;
use super::reply::{errors, Reply};
use super::state::State;
use crate::google::types::{
    decode_base64url, encode_base64url, HistoryId, ListMessagesResponse, Message, MessagePart,
    MessagePartBody,
};
use rand::Rng;

/// Parts larger than this (non-text) are fetched by attachmentId.
pub(crate) const INLINE_LIMIT: u64 = 8 * 1024;
const ATTACHMENT_PREFIX: &str = "ANGjdJ";
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// `maxResults`: default, clamped to Gmail's maximum; junk → 400.
pub(crate) fn page_size(req: &ApiRequest) -> Result<usize, Reply> {
    match req.param("maxResults") {
        None => Ok(DEFAULT_PAGE),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map(|n| n.clamp(1, MAX_PAGE))
            .map_err(|_| errors::invalid_argument(&format!("Invalid value for maxResults: {v}"))),
    }
}

pub(crate) fn list(st: &mut State, user: &str, req: &ApiRequest) -> Reply {
    let max = match page_size(req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let query = match req
        .param("q")
        .filter(|q| !q.trim().is_empty())
        .map(query::parse)
    {
        None => None,
        Some(Ok(q)) => Some(q),
        Some(Err(_)) => return errors::bad_request("Invalid query"),
    };
    let cursor = match req.param("pageToken").map(decode_cursor) {
        None => None,
        Some(Some(c)) => Some(c),
        Some(None) => return errors::invalid_argument("Invalid pageToken"),
    };
    let filter = ListFilter {
        query,
        label_ids: req
            .params("labelIds")
            .into_iter()
            .map(String::from)
            .collect(),
        include_spam_trash: req.param("includeSpamTrash") == Some("true"),
    };
    let page = st.mailbox(user).list(&filter, cursor.as_ref(), max);
    Reply::json(
        200,
        &ListMessagesResponse {
            messages: page.refs,
            next_page_token: page
                .next
                .map(|(d, id)| encode_base64url(format!("m:{d}:{id}").as_bytes())),
            result_size_estimate: page.estimate,
        },
    )
}

fn decode_cursor(token: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(decode_base64url(token).ok()?).ok()?;
    let rest = raw.strip_prefix("m:")?;
    let (date, id) = rest.split_once(':')?;
    Some((date.parse().ok()?, id.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Minimal,
    Metadata,
    Full,
    Raw,
}

pub(crate) fn format_of(req: &ApiRequest) -> Result<Format, Reply> {
    match req
        .param("format")
        .unwrap_or("full")
        .to_ascii_lowercase()
        .as_str()
    {
        "minimal" => Ok(Format::Minimal),
        "metadata" => Ok(Format::Metadata),
        "full" => Ok(Format::Full),
        "raw" => Ok(Format::Raw),
        other => Err(errors::invalid_argument(&format!(
            "Invalid value for format: {other}"
        ))),
    }
}

pub(crate) fn get(st: &mut State, user: &str, id: &str, req: &ApiRequest) -> Reply {
    let format = match format_of(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let wanted = req.params("metadataHeaders");
    match st.mailbox(user).messages.get(id) {
        Some(m) => Reply::json(200, &render(m, format, &wanted)),
        None => errors::not_found(),
    }
}

/// A stored message as Gmail returns it in `format`.
pub(crate) fn render(m: &StoredMessage, format: Format, metadata_headers: &[&str]) -> Message {
    let mut out = Message {
        id: m.id.clone(),
        thread_id: m.thread_id.clone(),
        label_ids: m.labels().to_vec(),
        snippet: Some(m.snippet.clone()),
        history_id: Some(HistoryId(m.history_id)),
        internal_date: Some(m.internal_date),
        size_estimate: Some(m.raw.len() as u64),
        payload: None,
        raw: None,
    };
    match format {
        Format::Minimal => {}
        Format::Raw => out.raw = Some(encode_base64url(&m.raw)),
        Format::Metadata => out.payload = Some(metadata_payload(&m.payload, metadata_headers)),
        Format::Full => {
            let mut payload = m.payload.clone();
            let mid = m.id.clone();
            externalize_attachments(&mut payload, INLINE_LIMIT, &mut |part| {
                attachment_id(&mid, part)
            });
            out.payload = Some(payload);
        }
    }
    out
}

/// The root part's headers only (filtered when names are given), no bodies.
fn metadata_payload(p: &MessagePart, wanted: &[&str]) -> MessagePart {
    let headers = p
        .headers
        .iter()
        .filter(|h| wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(&h.name)))
        .cloned()
        .collect();
    MessagePart {
        part_id: p.part_id.clone(),
        mime_type: p.mime_type.clone(),
        filename: p.filename.clone(),
        headers,
        body: MessagePartBody::default(),
        parts: Vec::new(),
    }
}

/// Attachment ids are opaque and differ on every call, like Gmail's; ours
/// carry the message and part they stand for, so nothing is kept.
fn attachment_id(message_id: &str, part_id: &str) -> String {
    let nonce: u64 = rand::thread_rng().gen();
    let inner = format!("{message_id}/{part_id}/{nonce:016x}");
    format!("{ATTACHMENT_PREFIX}{}", encode_base64url(inner.as_bytes()))
}

fn parse_attachment_id(aid: &str) -> Option<(String, String)> {
    let bytes = decode_base64url(aid.strip_prefix(ATTACHMENT_PREFIX)?).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let mut it = s.splitn(3, '/');
    Some((it.next()?.to_string(), it.next()?.to_string()))
}

pub(crate) fn attachment(st: &mut State, user: &str, id: &str, aid: &str) -> Reply {
    let Some(m) = st.mailbox(user).messages.get(id) else {
        return errors::not_found();
    };
    let invalid = || errors::invalid_argument("Invalid attachment token");
    let Some((mid, part_id)) = parse_attachment_id(aid) else {
        return invalid();
    };
    if mid != m.id {
        return invalid();
    }
    let mut payload = m.payload.clone();
    let parts = externalize_attachments(&mut payload, INLINE_LIMIT, &mut |p| p.to_string());
    match parts.into_iter().find(|(p, _)| *p == part_id) {
        Some((_, bytes)) => Reply::json(
            200,
            &MessagePartBody {
                attachment_id: None,
                size: bytes.len() as u64,
                data: Some(encode_base64url(&bytes)),
            },
        ),
        None => invalid(),
    }
}

pub(crate) fn thread(st: &mut State, user: &str, id: &str, req: &ApiRequest) -> Reply {
    let format = match format_of(req) {
        Ok(Format::Raw) => return errors::invalid_argument("Invalid value for format: raw"),
        Ok(f) => f,
        Err(r) => return r,
    };
    let wanted = req.params("metadataHeaders");
    let mb = st.mailbox(user);
    let Some(ids) = mb.thread(id) else {
        return errors::not_found();
    };
    let mut msgs: Vec<&StoredMessage> = ids.iter().filter_map(|i| mb.messages.get(i)).collect();
    msgs.sort_by(|a, b| (a.internal_date, &a.id).cmp(&(b.internal_date, &b.id)));
    let history_id = msgs.iter().map(|m| m.history_id).max().unwrap_or(0);
    let rendered: Vec<Message> = msgs.iter().map(|m| render(m, format, &wanted)).collect();
    Reply::json(
        200,
        &serde_json::json!({"id": id, "historyId": history_id.to_string(), "messages": rendered}),
    )
}
