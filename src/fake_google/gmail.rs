//! The Gmail API surface: routes a request (direct or from inside a batch)
//! to its method, then runs Gmail's gate in Gmail's order — bearer token
//! (401), scope and user (403), injected faults, per-user quota (429) — and
//! hands over to the method's handler in `messages`, `compose` or `users`.

use super::faults;
use super::grants::AccessGrant;
use super::reply::{errors, Reply};
use super::state::{Shared, State};
use super::{compose, messages, users};
use axum::http::Method;

/// One Gmail call, independent of how it arrived.
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) auth: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl ApiRequest {
    pub(crate) fn new(
        method: Method,
        path_and_query: &str,
        auth: Option<String>,
        body: Vec<u8>,
    ) -> Self {
        let (path, q) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        ApiRequest {
            method,
            path: path.to_string(),
            query: url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
            auth,
            body,
        }
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Profile,
    ListMessages,
    GetMessage(String),
    GetAttachment(String, String),
    Send,
    CreateDraft,
    ListHistory,
    Watch,
    Stop,
    GetThread(String),
}

const READ: &[&str] = &["gmail.readonly", "gmail.modify", "mail.google.com/"];
const COMPOSE: &[&str] = &["gmail.compose", "gmail.modify", "mail.google.com/"];
const SEND: &[&str] = &[
    "gmail.send",
    "gmail.compose",
    "gmail.modify",
    "mail.google.com/",
];
const PROFILE: &[&str] = &[
    "gmail.readonly",
    "gmail.compose",
    "gmail.modify",
    "gmail.metadata",
    "mail.google.com/",
];
const WATCH: &[&str] = &[
    "gmail.readonly",
    "gmail.modify",
    "gmail.metadata",
    "mail.google.com/",
];

impl Route {
    /// `(userId, route)` for a Gmail path, `None` if it is not one of ours.
    pub(crate) fn parse(method: &Method, path: &str) -> Option<(String, Route)> {
        let rest = path.strip_prefix("/gmail/v1/users/")?;
        let segs: Vec<String> = rest.split('/').map(percent_decode).collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        let route = match s[1..] {
            ["profile"] if get => Route::Profile,
            ["messages"] if get => Route::ListMessages,
            ["messages", "send"] if post => Route::Send,
            ["messages", id] if get => Route::GetMessage(id.into()),
            ["messages", id, "attachments", aid] if get => {
                Route::GetAttachment(id.into(), aid.into())
            }
            ["drafts"] if post => Route::CreateDraft,
            ["history"] if get => Route::ListHistory,
            ["watch"] if post => Route::Watch,
            ["stop"] if post => Route::Stop,
            ["threads", id] if get => Route::GetThread(id.into()),
            _ => return None,
        };
        Some((s[0].to_string(), route))
    }

    pub(crate) fn method_name(&self) -> &'static str {
        match self {
            Route::Profile => "users.getProfile",
            Route::ListMessages => "users.messages.list",
            Route::GetMessage(_) => "users.messages.get",
            Route::GetAttachment(..) => "users.messages.attachments.get",
            Route::Send => "users.messages.send",
            Route::CreateDraft => "users.drafts.create",
            Route::ListHistory => "users.history.list",
            Route::Watch => "users.watch",
            Route::Stop => "users.stop",
            Route::GetThread(_) => "users.threads.get",
        }
    }

    /// Gmail quota units.
    pub(crate) fn cost(&self) -> u64 {
        match self {
            Route::Profile => 1,
            Route::ListHistory => 2,
            Route::ListMessages | Route::GetMessage(_) | Route::GetAttachment(..) => 5,
            Route::CreateDraft | Route::GetThread(_) => 10,
            Route::Send | Route::Watch => 100,
            Route::Stop => 50,
        }
    }

    /// Any one of these scopes (suffixes of Google's scope URLs) suffices.
    fn scopes(&self) -> &'static [&'static str] {
        match self {
            Route::Profile => PROFILE,
            Route::CreateDraft => COMPOSE,
            Route::Send => SEND,
            Route::Watch | Route::Stop => WATCH,
            _ => READ,
        }
    }
}

fn percent_decode(seg: &str) -> String {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Gmail method name of a request (`users.messages.send`, …).
pub(crate) fn method_of(req: &ApiRequest) -> Option<&'static str> {
    Route::parse(&req.method, &req.path).map(|(_, route)| route.method_name())
}

/// Run one Gmail call through the gate and its handler. `in_batch`: the
/// call is one part of a batch (no connection resets of its own).
pub(crate) fn call(shared: &Shared, req: &ApiRequest, in_batch: bool) -> Reply {
    let Some((user_id, route)) = Route::parse(&req.method, &req.path) else {
        return errors::not_found();
    };
    let mut st = shared.lock();
    let method = route.method_name();
    st.count_call(method);
    let user = match authorize(shared, &st, req, &user_id, &route) {
        Ok(user) => user,
        Err(reply) => return reply,
    };
    if let Some(kind) = st.faults.pick(method, !in_batch) {
        st.counters.injected_faults += 1;
        return match kind {
            super::FaultKind::ServerError => st.faults.server_error_reply(),
            other => faults::gmail_reply(other),
        };
    }
    let cost = route.cost();
    if !st
        .quota
        .try_charge(&user, cost, tokio::time::Instant::now())
    {
        st.counters.quota_429s += 1;
        return errors::quota_exhausted();
    }
    st.counters.units_charged += cost;
    dispatch(shared, &mut st, &user, route, req)
}

/// The mailbox address the call acts on, or Gmail's 401/403/400.
fn authorize(
    shared: &Shared,
    st: &State,
    req: &ApiRequest,
    user_id: &str,
    route: &Route,
) -> Result<String, Reply> {
    let token = req
        .auth
        .as_deref()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let grant: &AccessGrant = token
        .and_then(|t| st.grants.access(t, shared.now_ms()))
        .ok_or_else(errors::unauthenticated)?;
    let allowed = grant.scopes.iter().any(|s| {
        route.scopes().iter().any(|suffix| {
            s.strip_prefix("https://www.googleapis.com/auth/") == Some(suffix)
                || s.strip_prefix("https://") == Some(suffix)
        })
    });
    if !allowed {
        return Err(errors::insufficient_scope());
    }
    if user_id != "me" && !user_id.eq_ignore_ascii_case(&grant.user) {
        return Err(errors::delegation_denied(user_id));
    }
    if !st.mailboxes.contains_key(&grant.user) {
        // A service account acting as itself has no mailbox.
        return Err(errors::failed_precondition());
    }
    Ok(grant.user.clone())
}

fn dispatch(shared: &Shared, st: &mut State, user: &str, route: Route, req: &ApiRequest) -> Reply {
    match route {
        Route::Profile => users::profile(st, user),
        Route::ListMessages => messages::list(st, user, req),
        Route::GetMessage(id) => messages::get(st, user, &id, req),
        Route::GetAttachment(id, aid) => messages::attachment(st, user, &id, &aid),
        Route::GetThread(id) => messages::thread(st, user, &id, req),
        Route::Send => compose::send(shared, st, user, req),
        Route::CreateDraft => compose::create_draft(shared, st, user, req),
        Route::ListHistory => users::history(st, user, req),
        Route::Watch => users::watch(shared, st, user, req),
        Route::Stop => Reply::empty(204),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_paths_route_to_their_methods_with_the_user_decoded() {
        let (u, r) = Route::parse(&Method::GET, "/gmail/v1/users/a%40b.test/messages/18c").unwrap();
        assert_eq!(
            (u.as_str(), r),
            ("a@b.test", Route::GetMessage("18c".into()))
        );
        let (_, r) = Route::parse(&Method::POST, "/gmail/v1/users/me/messages/send").unwrap();
        assert_eq!(r.method_name(), "users.messages.send");
        assert!(Route::parse(&Method::GET, "/gmail/v1/users/me/messages/send/x").is_none());
        assert!(Route::parse(&Method::DELETE, "/gmail/v1/users/me/messages/1").is_none());
    }
}
