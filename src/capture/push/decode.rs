//! The Pub/Sub push envelope → which mailbox changed and up to which
//! historyId. `message.data` is base64 (standard or url-safe, padded or
//! not: producers differ) of `{"emailAddress","historyId"}`, and real
//! deliveries send historyId as a JSON number where the docs show a
//! string, so both are accepted. Pure; talks to nobody.

use super::PushError;
use crate::google::types::HistoryId;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// One Gmail change notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushNotice {
    /// Trimmed and lowercased, as mailboxes are keyed.
    pub email: String,
    pub history_id: HistoryId,
}

#[derive(Deserialize)]
struct Envelope {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    data: Option<String>,
}

/// Read a push request body.
pub fn decode_push(body: &[u8]) -> Result<PushNotice, PushError> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| PushError::Envelope(e.to_string()))?;
    let data = env
        .message
        .and_then(|m| m.data)
        .filter(|d| !d.trim().is_empty())
        .ok_or(PushError::MissingData)?;
    let bytes = decode_base64_any(&data)?;
    let notice: Value =
        serde_json::from_slice(&bytes).map_err(|e| PushError::DataJson(e.to_string()))?;
    if !notice.is_object() {
        return Err(PushError::DataJson("not a JSON object".into()));
    }
    let email = notice
        .get("emailAddress")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or(PushError::MissingEmail)?;
    let history_id = match notice.get("historyId") {
        None | Some(Value::Null) => return Err(PushError::MissingHistoryId),
        Some(v) => HistoryId::deserialize(v).map_err(|_| PushError::HistoryId(excerpt(v)))?,
    };
    Ok(PushNotice { email, history_id })
}

/// Standard or url-safe alphabet, with or without `=` padding.
fn decode_base64_any(data: &str) -> Result<Vec<u8>, PushError> {
    let trimmed = data.trim().trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|e| PushError::Base64(e.to_string()))
}

/// The offending value, cut short: it came from the network.
fn excerpt(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
