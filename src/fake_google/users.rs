//! Mailbox-level handlers: users.getProfile, users.history.list and
//! users.watch (users.stop needs no state and answers 204 in `gmail`).

use super::gmail::ApiRequest;
use super::history::{HistoryQuery, HISTORY_TYPES};
use super::messages::page_size;
use super::reply::{errors, Reply};
use super::state::{Shared, State};
use crate::google::types::{
    decode_base64url, encode_base64url, HistoryId, ListHistoryResponse, Profile, WatchResponse,
};

/// A watch lasts seven days, as Gmail's does.
const WATCH_MS: i64 = 7 * 24 * 3600 * 1000;

pub(crate) fn profile(st: &mut State, user: &str) -> Reply {
    let mb = st.mailbox(user);
    Reply::json(
        200,
        &Profile {
            email_address: user.to_string(),
            messages_total: mb.messages.len() as u64,
            threads_total: mb.thread_count() as u64,
            history_id: HistoryId(mb.history.current()),
        },
    )
}

pub(crate) fn history(st: &mut State, user: &str, req: &ApiRequest) -> Reply {
    let start = match req.param("startHistoryId").map(|s| s.trim().parse::<u64>()) {
        None => return errors::invalid_argument("Missing required parameter: startHistoryId"),
        Some(Err(_)) => return errors::invalid_argument("Invalid value for startHistoryId"),
        Some(Ok(n)) => n,
    };
    let max = match page_size(req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let types: Vec<String> = req
        .params("historyTypes")
        .into_iter()
        .map(String::from)
        .collect();
    if let Some(bad) = types.iter().find(|t| !HISTORY_TYPES.contains(&t.as_str())) {
        return errors::invalid_argument(&format!("Invalid value for historyTypes: {bad}"));
    }
    let after = match req.param("pageToken") {
        None => None,
        Some(t) => match decode_page(t) {
            Some(n) => Some(n),
            None => return errors::invalid_argument("Invalid pageToken"),
        },
    };
    let q = HistoryQuery {
        start,
        after,
        types: &types,
        label: req.param("labelId"),
        max,
    };
    let log = &st.mailbox(user).history;
    let Some((records, next)) = log.list(&q) else {
        return errors::not_found();
    };
    Reply::json(
        200,
        &ListHistoryResponse {
            history: records,
            next_page_token: next.map(|n| encode_base64url(format!("h:{n}").as_bytes())),
            history_id: HistoryId(log.current()),
        },
    )
}

fn decode_page(token: &str) -> Option<u64> {
    let raw = String::from_utf8(decode_base64url(token).ok()?).ok()?;
    raw.strip_prefix("h:")?.parse().ok()
}

pub(crate) fn watch(shared: &Shared, st: &mut State, user: &str, req: &ApiRequest) -> Reply {
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let topic = body.get("topicName").and_then(|t| t.as_str()).unwrap_or("");
    let parts: Vec<&str> = topic.split('/').collect();
    let well_formed =
        matches!(parts.as_slice(), ["projects", p, "topics", t] if !p.is_empty() && !t.is_empty());
    if !well_formed {
        return errors::invalid_argument(&format!(
            "Invalid topicName does not match projects/*/topics/*: {topic:?}"
        ));
    }
    let current = st.mailbox(user).history.current();
    Reply::json(
        200,
        &WatchResponse {
            history_id: HistoryId(current),
            expiration: Some(shared.now_ms() + WATCH_MS),
        },
    )
}
