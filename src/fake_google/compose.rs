//! Write handlers: users.drafts.create and users.messages.send. Both take a
//! base64url RFC 822 `raw`, thread only on Gmail's rule (a given threadId,
//! headers naming one of its messages, matching subject), and log
//! `messageAdded` like any other new message.

use super::gmail::ApiRequest;
use super::mailbox::Threading;
use super::reply::{errors, Reply};
use super::state::{random_token, Shared, State};
use crate::google::types::{decode_base64url, labels, Draft, Message};
use serde_json::Value;

pub(crate) fn create_draft(shared: &Shared, st: &mut State, user: &str, req: &ApiRequest) -> Reply {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return errors::invalid_argument("Invalid JSON payload received."),
    };
    let Some(message) = body.get("message") else {
        return errors::invalid_argument("Missing draft message");
    };
    let (raw, thread) = match raw_and_thread(message) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let stub = store(shared, st, user, raw, labels::DRAFT, thread);
    let draft_id = st.ids.draft_id();
    st.mailbox(user)
        .drafts
        .push((draft_id.clone(), stub.id.clone()));
    Reply::json(
        200,
        &Draft {
            id: Some(draft_id),
            message: stub,
        },
    )
}

pub(crate) fn send(shared: &Shared, st: &mut State, user: &str, req: &ApiRequest) -> Reply {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return errors::invalid_argument("Invalid JSON payload received."),
    };
    let (raw, thread) = match raw_and_thread(&body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let stub = store(shared, st, user, raw, labels::SENT, thread);
    let mb = st.mailbox(user);
    if let Some(m) = mb.messages.get(&stub.id) {
        mb.sent.push(m.raw.clone());
    }
    Reply::json(200, &stub)
}

fn raw_and_thread(message: &Value) -> Result<(Vec<u8>, Option<String>), Reply> {
    let raw = message
        .get("raw")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| errors::invalid_argument("'raw' RFC822 payload message string required"))?;
    let bytes = decode_base64url(raw)
        .map_err(|_| errors::invalid_argument("Invalid value for ByteString: raw"))?;
    let thread = message
        .get("threadId")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(String::from);
    Ok((bytes, thread))
}

/// Store a composed message with one system label; returns its stub.
fn store(
    shared: &Shared,
    st: &mut State,
    user: &str,
    raw: Vec<u8>,
    label: &str,
    thread: Option<String>,
) -> Message {
    let raw = with_message_id(raw);
    let id = st.ids.message_id();
    let now = shared.now_ms();
    let m = st.mailbox(user).insert(
        id,
        raw,
        &[label.to_string()],
        (Some(now), now),
        Threading::Requested(thread),
    );
    m.stub()
}

/// Gmail gives a message without a Message-ID one of its own.
fn with_message_id(raw: Vec<u8>) -> Vec<u8> {
    let head_end = find(&raw, b"\r\n\r\n").or_else(|| find(&raw, b"\n\n"));
    let head = &raw[..head_end.unwrap_or(raw.len())];
    let has_id = head
        .split(|b| *b == b'\n')
        .any(|line| line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"message-id:"));
    if has_id {
        return raw;
    }
    let id = random_token("", 24).to_ascii_lowercase();
    let mut out = format!("Message-ID: <{id}@mail.gmail.com>\r\n").into_bytes();
    out.extend_from_slice(&raw);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::with_message_id;

    #[test]
    fn a_message_without_a_message_id_gets_one_and_one_with_it_keeps_it() {
        let given = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody".to_vec();
        assert_eq!(with_message_id(given.clone()), given);
        let bare = with_message_id(b"Subject: x\r\n\r\nbody".to_vec());
        let text = String::from_utf8(bare).unwrap();
        assert!(text.starts_with("Message-ID: <") && text.ends_with("Subject: x\r\n\r\nbody"));
    }
}
