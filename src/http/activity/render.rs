//! The SPEC §11 wire shapes of the read routes: ids as strings, times as
//! RFC 3339 UTC, lists as `{"items","next"}`.

use chrono::SecondsFormat;
use serde_json::{json, Value};

use super::params::encode_cursor;
use crate::store::activity::{
    ActivityItem, AttachmentInfo, Cursor, EmailDetail, Person, ThreadDetail, ThreadSummary,
};
use crate::store::ms_to_time;

pub fn time(ms: i64) -> Value {
    Value::String(ms_to_time(ms).to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn person(p: &Person) -> Value {
    json!({"email": p.email, "name": p.name})
}

/// One activity item.
pub fn item(i: &ActivityItem) -> Value {
    json!({
        "email_id": i.email_id.to_string(),
        "message_id": i.message_id,
        "subject": i.subject,
        "from": person(&i.from),
        "to": i.to.iter().map(person).collect::<Vec<_>>(),
        "cc": i.cc.iter().map(person).collect::<Vec<_>>(),
        "date": time(i.date_ms),
        "direction": i.direction,
        "snippet": i.snippet,
        "has_attachments": i.has_attachments,
        "investors": i.investors.iter().map(|l| json!({
            "investor_id": l.investor_id,
            "contact_id": l.contact_id,
            "strategy": l.strategy,
        })).collect::<Vec<_>>(),
        "accounts": i.accounts,
        "thread_id": i.thread_id.map(|t| t.to_string()),
    })
}

/// A list page.
pub fn page(items: Vec<Value>, next: Option<Cursor>) -> Value {
    crate::http::extract::list(items, next.map(encode_cursor))
}

fn attachment(a: &AttachmentInfo) -> Value {
    json!({
        "id": a.id.to_string(),
        "filename": a.filename,
        "mime_type": a.mime_type,
        "size": a.size,
        "sha256": a.sha256,
        "status": a.status,
        "content_id": a.content_id,
    })
}

/// `emails/{id}`: the item plus content; `html_sanitized` already clean.
pub fn detail(d: &EmailDetail, html_sanitized: Option<String>) -> Value {
    let mut v = item(&d.item);
    let headers: Value = serde_json::from_str(&d.headers_json).unwrap_or_else(|_| json!([]));
    if let Value::Object(m) = &mut v {
        m.insert("live".into(), d.live.into());
        m.insert("headers".into(), headers);
        m.insert("text".into(), d.text.clone().into());
        m.insert("html_sanitized".into(), html_sanitized.into());
        let atts: Vec<Value> = d.attachments.iter().map(attachment).collect();
        m.insert("attachments".into(), atts.into());
    }
    v
}

/// One thread in the list.
pub fn thread_summary(t: &ThreadSummary) -> Value {
    json!({
        "thread_id": t.thread_id.to_string(),
        "subject": t.subject,
        "email_count": t.emails,
        "first_date": time(t.first_date_ms),
        "last_date": time(t.latest.date_ms),
        "investors": t.investors,
        "latest": item(&t.latest),
    })
}

/// `threads/{id}`.
pub fn thread_detail(t: &ThreadDetail) -> Value {
    json!({
        "thread_id": t.thread_id.to_string(),
        "subject": t.subject,
        "emails": t.emails.iter().map(item).collect::<Vec<_>>(),
        "truncated": t.truncated,
    })
}
