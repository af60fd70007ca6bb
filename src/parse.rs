//! Turns a Gmail `Message` (`format=metadata` or `format=full`) into a
//! [`ParsedEmail`]: decoded subject and participants, date, Message-ID and
//! thread ids, the bulk flag, and (full only) the first text and HTML bodies
//! and the attachment parts. Pure and synchronous: no I/O, no store. The
//! capture pipeline calls it on what [`crate::google`] fetched, and
//! [`classify`] on the result with the directory's view of "us".
//!
//! Header decoding (RFC 2047 words, address lists, groups, comments, dates)
//! is delegated to `mail-parser`, fed a header block rebuilt from the
//! payload's headers, so metadata and full views of one email parse to the
//! same headers and participants. Bodies are walked here (see `body`).
//!
//! Message-ID normalisation: trimmed, angle brackets and inner whitespace
//! removed, the domain part (after the last `@`) lowercased, the local part
//! kept as written (RFC 5322 §3.6.4 ids compare literally, but domains are
//! case-insensitive). A missing or empty Message-ID is replaced by
//! `<hex>@synthesized.email-sidecar`, `<hex>` being the first 32 hex digits
//! of a SHA-256 over headers only (see [`synthesize_message_id`]), so the
//! same email seen in two mailboxes, metadata or full, gets the same id.

mod address;
mod body;

pub use address::{classify, normalize_email, Address, Classification, Direction, Role};
pub use body::{content_id, sanitize_filename, AttachmentRef, MAX_FILENAME_BYTES};

use crate::google::types::{Message, MessagePart};
use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Domain of synthesized Message-IDs.
pub const SYNTHESIZED_DOMAIN: &str = "synthesized.email-sidecar";

/// One email as the store needs it. Bodies and attachments are empty for
/// `format=metadata` input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedEmail {
    pub message_id: String,
    pub message_id_synthesized: bool,
    pub subject: String,
    pub from: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    /// The Date header in UTC; Gmail's internalDate when absent or unparsable.
    pub date: Option<DateTime<Utc>>,
    pub internal_date: Option<DateTime<Utc>>,
    /// Gmail's snippet, HTML entities decoded ([`snippet_text`]).
    pub snippet: String,
    pub size_estimate: Option<u64>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub bulk: bool,
    /// Root headers as Gmail gave them (raw values, encoded words kept).
    pub headers: Vec<(String, String)>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentRef>,
    pub gmail_id: String,
    pub gmail_thread_id: String,
    pub label_ids: Vec<String>,
}

/// Input that cannot be an email at all; everything else degrades.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("gmail message {gmail_id:?} has no payload (fetched with format=minimal or raw?)")]
    NoPayload { gmail_id: String },
}

impl ParseError {
    /// Refetching the same message will give the same answer.
    pub fn is_permanent(&self) -> bool {
        true
    }
}

/// Parse one Gmail message resource. Never panics.
pub fn parse_message(msg: &Message) -> Result<ParsedEmail, ParseError> {
    let payload = msg.payload.as_ref().ok_or_else(|| ParseError::NoPayload {
        gmail_id: msg.id.clone(),
    })?;
    let block = header_block(payload);
    let parsed = MessageParser::default().parse_headers(&block);
    let h = parsed.as_ref();
    let addrs = |name: HeaderName<'static>| h.map(|m| address::list(m, name)).unwrap_or_default();
    let internal_date = msg
        .internal_date
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    let header_date = h.and_then(|m| header_date(m, payload));
    let subject = h
        .and_then(|m| m.subject())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let (from, to, cc) = (
        addrs(HeaderName::From).into_iter().next(),
        addrs(HeaderName::To),
        addrs(HeaderName::Cc),
    );
    let in_reply_to = h.map(|m| ids(m.in_reply_to())).unwrap_or_default();
    let found_id = h
        .and_then(|m| m.message_id())
        .map(normalize_message_id)
        .filter(|s| !s.is_empty());
    let synthesized = found_id.is_none();
    let message_id = found_id.unwrap_or_else(|| {
        synthesize_message_id(&SynthesisInput {
            from: from.as_ref().map(|a| a.email.as_str()).unwrap_or_default(),
            to: &to,
            cc: &cc,
            date: header_date,
            raw_date: payload.header("Date").unwrap_or_default(),
            subject: &subject,
            in_reply_to: &in_reply_to,
            snippet: msg.snippet.as_deref().unwrap_or_default(),
        })
    });
    let bodies = body::walk(payload);
    Ok(ParsedEmail {
        message_id,
        message_id_synthesized: synthesized,
        subject,
        from,
        to,
        cc,
        bcc: addrs(HeaderName::Bcc),
        reply_to: addrs(HeaderName::ReplyTo),
        date: header_date.or(internal_date),
        internal_date,
        snippet: snippet_text(msg.snippet.as_deref().unwrap_or_default()),
        size_estimate: msg.size_estimate,
        in_reply_to,
        references: h.map(|m| ids(m.references())).unwrap_or_default(),
        bulk: is_bulk(payload),
        headers: payload
            .headers
            .iter()
            .map(|x| (x.name.clone(), x.value.clone()))
            .collect(),
        text: bodies.text,
        html: bodies.html,
        attachments: bodies.attachments,
        gmail_id: msg.id.clone(),
        gmail_thread_id: msg.thread_id.clone(),
        label_ids: msg.label_ids.clone(),
    })
}

/// The payload's headers as an RFC 5322 header block for `mail-parser`.
/// Names that are not valid field names are left out (they stay in
/// `ParsedEmail::headers`); line breaks inside values are flattened.
fn header_block(payload: &MessagePart) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * payload.headers.len() + 2);
    for h in &payload.headers {
        let name = h.name.trim();
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        for c in h.value.chars() {
            let c = if c == '\r' || c == '\n' { ' ' } else { c };
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The Date header in UTC: mail-parser's reading, else chrono's RFC 2822.
fn header_date(m: &mail_parser::Message<'_>, payload: &MessagePart) -> Option<DateTime<Utc>> {
    let from_parser = m
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());
    from_parser.or_else(|| {
        let raw = payload.header("Date")?;
        DateTime::parse_from_rfc2822(raw.trim())
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

/// Normalised ids of an In-Reply-To or References header, in order, unique.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for id in raw.into_iter().map(normalize_message_id) {
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// See the module doc: brackets and whitespace removed, domain lowercased.
pub fn normalize_message_id(raw: &str) -> String {
    let bare: String = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match bare.rfind('@') {
        Some(at) => format!("{}@{}", &bare[..at], bare[at + 1..].to_lowercase()),
        None => bare,
    }
}

/// What a synthesized Message-ID is derived from: headers that every copy
/// of an email carries identically, plus Gmail's snippet (computed from the
/// body, present in metadata too), so two different header-less messages
/// with the same From/To/Date/Subject stay two emails. No Gmail ids, no
/// internalDate.
#[derive(Debug, Clone, Copy)]
pub struct SynthesisInput<'a> {
    pub from: &'a str,
    pub to: &'a [Address],
    pub cc: &'a [Address],
    pub date: Option<DateTime<Utc>>,
    pub raw_date: &'a str,
    pub subject: &'a str,
    pub in_reply_to: &'a [String],
    pub snippet: &'a str,
}

/// `<first 32 hex of SHA-256>@synthesized.email-sidecar` over the lines
/// `from`, `to` (normalised emails, sorted, comma-joined), `cc` (same),
/// `date` (RFC 3339 UTC seconds, else the raw header trimmed), `subject`
/// (whitespace collapsed), `in_reply_to` (space-joined) and `snippet`
/// (whitespace collapsed), each prefixed by its name and separated by `\n`.
pub fn synthesize_message_id(input: &SynthesisInput<'_>) -> String {
    let list = |a: &[Address]| {
        let mut v: Vec<&str> = a.iter().map(|a| a.email.as_str()).collect();
        v.sort_unstable();
        v.join(",")
    };
    let date = match input.date {
        Some(d) => d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => input.raw_date.trim().to_string(),
    };
    let subject = input
        .subject
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let snippet = input
        .snippet
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let canonical = format!(
        "from:{}\nto:{}\ncc:{}\ndate:{}\nsubject:{}\nin-reply-to:{}\nsnippet:{}",
        input.from,
        list(input.to),
        list(input.cc),
        date,
        subject,
        input.in_reply_to.join(" "),
        snippet
    );
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    format!("{}@{SYNTHESIZED_DOMAIN}", &digest[..32])
}

/// Gmail's snippet as plain text: Gmail sends it HTML-escaped (`I&#39;m`),
/// and everything downstream (activity, notes, the digest, search) wants
/// the text. The synthesized Message-ID keeps hashing the escaped form, so
/// ids made before this decoding existed stay the same.
pub fn snippet_text(escaped: &str) -> String {
    html_escape::decode_html_entities(escaped).into_owned()
}

/// Mailing-list or machine mail (SPEC §6): never proposed.
fn is_bulk(payload: &MessagePart) -> bool {
    payload.headers.iter().any(|h| {
        let value = h.value.trim().to_ascii_lowercase();
        let first = value.split(';').next().unwrap_or_default().trim();
        match h.name.trim().to_ascii_lowercase().as_str() {
            "list-unsubscribe" | "list-id" => true,
            "precedence" => matches!(first, "bulk" | "list" | "junk"),
            "auto-submitted" => !first.is_empty() && first != "no",
            _ => false,
        }
    })
}
