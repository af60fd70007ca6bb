//! Gmail API v1 resource shapes (from the discovery document `gmail.v1.json`),
//! shared by the client in [`crate::google`] and by [`crate::fake_google`].
//! Field names are Gmail's (camelCase); 64-bit ids travel as JSON strings.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A Gmail historyId. Gmail sends it as a decimal string (a JSON number in
/// Pub/Sub pushes); it is compared as `u64`, never as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HistoryId(pub u64);

impl fmt::Display for HistoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for HistoryId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u64>()
            .map(HistoryId)
            .map_err(|_| format!("historyId must be an unsigned 64-bit integer, got {s:?}"))
    }
}

impl Serialize for HistoryId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for HistoryId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(HistoryId(n)),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `int64` fields that Gmail encodes as decimal strings (`internalDate`,
/// `expiration`): accept a string or a number, write a string.
pub mod i64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Str(String),
        }
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Num(n)) => Ok(Some(n)),
            Some(Raw::Str(s)) => s.trim().parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected a decimal int64 string, got {s:?}"))
            }),
        }
    }
}

/// `users.getProfile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub email_address: String,
    #[serde(default)]
    pub messages_total: u64,
    #[serde(default)]
    pub threads_total: u64,
    pub history_id: HistoryId,
}

/// An id pair as listed by `messages.list` and inside history records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thread_id: String,
}

/// `users.messages.list` page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMessagesResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub result_size_estimate: u64,
}

/// A Gmail message resource (any `format`; absent fields are `None`/empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<HistoryId>,
    #[serde(default, with = "i64_string", skip_serializing_if = "Option::is_none")]
    pub internal_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_estimate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<MessagePart>,
    /// base64url of the RFC 822 bytes (`format=raw` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// One node of a message's MIME tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePart {
    #[serde(default)]
    pub part_id: String,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub filename: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub body: MessagePartBody,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MessagePart>,
}

impl MessagePart {
    /// First header of that name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// A part's body: inline `data` (base64url) or an `attachmentId` to fetch.
/// Also the answer of `attachments.get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePartBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// `users.history.list` page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListHistoryResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    pub history_id: HistoryId,
}

/// One history record; only the fields for its change type are present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub id: HistoryId,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages_added: Vec<HistoryMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages_deleted: Vec<HistoryMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_added: Vec<HistoryLabel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_removed: Vec<HistoryLabel>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryMessage {
    pub message: Message,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLabel {
    pub message: Message,
    #[serde(default)]
    pub label_ids: Vec<String>,
}

/// `users.drafts.create` request and answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: Message,
}

/// `users.watch` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchRequest {
    pub topic_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_filter_behavior: Option<String>,
}

/// `users.watch` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchResponse {
    pub history_id: HistoryId,
    #[serde(default, with = "i64_string")]
    pub expiration: Option<i64>,
}

/// Gmail's error envelope: `{"error":{"code","message","errors":[…],"status"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: u16,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

/// Gmail label ids that decide whether a sighting is live.
pub mod labels {
    pub const INBOX: &str = "INBOX";
    pub const SENT: &str = "SENT";
    pub const TRASH: &str = "TRASH";
    pub const SPAM: &str = "SPAM";
    pub const DRAFT: &str = "DRAFT";
    pub const UNREAD: &str = "UNREAD";
}

/// Decode Gmail's base64url `data`/`raw`, padded or not (some producers pad,
/// some use the standard alphabet; accept them all).
pub fn decode_base64url(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed: String = data
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && *c != '=')
        .collect();
    URL_SAFE_NO_PAD
        .decode(&trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(&trimmed))
}

/// Encode bytes as Gmail does: base64url (we write it without padding).
pub fn encode_base64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ids_compare_as_numbers_not_strings() {
        let a: HistoryId = serde_json::from_str("\"9\"").unwrap();
        let b: HistoryId = serde_json::from_str("\"10\"").unwrap();
        assert!(a < b);
        let n: HistoryId = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(n.0, u64::MAX);
    }

    #[test]
    fn a_non_numeric_history_id_is_a_clear_error() {
        let err = serde_json::from_str::<HistoryId>("\"12abc\"").unwrap_err();
        assert!(err.to_string().contains("historyId"), "{err}");
        assert!(serde_json::from_str::<HistoryId>("-3").is_err());
    }

    #[test]
    fn base64url_decodes_padded_and_unpadded() {
        let bytes = b"\xfb\xff subject?";
        let unpadded = encode_base64url(bytes);
        let padded = format!("{unpadded}==");
        assert_eq!(decode_base64url(&unpadded).unwrap(), bytes);
        assert_eq!(
            decode_base64url(&padded[..unpadded.len() + 1]).unwrap(),
            bytes
        );
    }

    #[test]
    fn message_round_trips_with_gmail_field_names() {
        let json = r#"{"id":"18c","threadId":"18a","labelIds":["INBOX"],
            "historyId":"123","internalDate":"1700000000000","sizeEstimate":42,
            "payload":{"partId":"","mimeType":"text/plain","filename":"",
            "headers":[{"name":"Subject","value":"Hi"}],"body":{"size":2,"data":"aGk"}}}"#;
        let m: Message = serde_json::from_str(json).unwrap();
        assert_eq!(m.history_id, Some(HistoryId(123)));
        assert_eq!(m.internal_date, Some(1_700_000_000_000));
        assert_eq!(m.payload.as_ref().unwrap().header("subject"), Some("Hi"));
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(back["internalDate"], "1700000000000");
        assert_eq!(back["historyId"], "123");
    }
}
