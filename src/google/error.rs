//! The two error boundaries of [`crate::google`]: [`AuthError`] (the token
//! endpoint and key files) and [`GmailError`] (Gmail API calls). Callers
//! decide with the predicates, never by matching on message text.
//!
//! No variant ever holds a token, a JWT, a refresh token or key material:
//! only mailbox addresses, status codes and Google's own error strings.

use crate::google::types::HistoryId;
use std::time::Duration;

/// Getting an access token failed, or a key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The service-account key file is unusable; `field` names the culprit.
    #[error("service-account key: {field}: {problem}")]
    InvalidKey { field: String, problem: String },
    /// Google refused this mailbox's grant (`unauthorized_client`,
    /// `invalid_grant`, `access_denied`, `invalid_scope`, `disabled_client`,
    /// …). Retrying will not help; the mailbox needs an admin's attention.
    #[error("mailbox {mailbox}: Google refused the token grant ({code}): {reason}")]
    Unauthorized {
        mailbox: String,
        code: String,
        reason: String,
    },
    /// OAuth mode: no refresh token was registered for this mailbox.
    #[error("mailbox {mailbox}: no OAuth refresh token is registered")]
    NoRefreshToken { mailbox: String },
    /// The token endpoint answered 5xx (after our retries).
    #[error("mailbox {mailbox}: token endpoint answered HTTP {status}")]
    Server { mailbox: String, status: u16 },
    /// The token endpoint could not be reached (after our retries).
    #[error("mailbox {mailbox}: token endpoint unreachable: {message}")]
    Transport { mailbox: String, message: String },
    /// The token endpoint answered something we could not understand.
    #[error("mailbox {mailbox}: token endpoint answer not understood: {message}")]
    Decode { mailbox: String, message: String },
    /// Signing the JWT assertion failed (a key that loaded but cannot sign).
    #[error("signing the service-account assertion failed: {0}")]
    Signing(String),
}

impl AuthError {
    /// Worth trying again later (the endpoint was down or unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, AuthError::Server { .. } | AuthError::Transport { .. })
    }

    /// Needs a human: a bad key, a refused grant, a missing refresh token.
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    /// The mailbox whose grant was refused, if that is what happened; the
    /// caller moves that mailbox to `error` and carries on with the others.
    pub fn unauthorized_mailbox(&self) -> Option<&str> {
        match self {
            AuthError::Unauthorized { mailbox, .. } | AuthError::NoRefreshToken { mailbox } => {
                Some(mailbox)
            }
            _ => None,
        }
    }
}

/// A Gmail API call failed. `is_retryable()` errors were already retried
/// `retry_max` times before they reach the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GmailError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// `history.list` answered 404: the start id is too old; re-sync.
    #[error("mailbox {mailbox}: history from {start} has expired; a full re-sync is needed")]
    HistoryExpired { mailbox: String, start: HistoryId },
    /// The resource is gone (e.g. a message deleted between list and get).
    #[error("mailbox {mailbox}: {what} not found")]
    NotFound { mailbox: String, what: String },
    /// 429, or 403 `rateLimitExceeded` / `userRateLimitExceeded`.
    #[error("rate limited by Gmail ({reason}){}", fmt_after(.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// 500/502/503/504.
    #[error("Gmail answered HTTP {status}: {message}")]
    Server { status: u16, message: String },
    /// Connection refused/reset/closed, or the request timed out.
    #[error("Gmail unreachable ({}): {message}", if *.timeout { "timeout" } else { "connection" })]
    Transport { message: String, timeout: bool },
    /// 401 even after minting a fresh token.
    #[error("mailbox {mailbox}: Gmail rejected the access token: {message}")]
    Unauthenticated { mailbox: String, message: String },
    /// Any other 4xx: retrying will not help.
    #[error("Gmail answered HTTP {status} ({reason}): {message}")]
    Permanent {
        status: u16,
        reason: String,
        message: String,
    },
    /// An answer we could not decode (bad JSON, a non-numeric historyId, a
    /// malformed or incomplete batch response).
    #[error("Gmail answer not understood: {0}")]
    Decode(String),
    /// The request could not be built (a bad `api_base`, an empty id).
    #[error("invalid Gmail request: {0}")]
    InvalidRequest(String),
}

fn fmt_after(after: &Option<Duration>) -> String {
    match after {
        Some(d) => format!("; retry after {} ms", d.as_millis()),
        None => String::new(),
    }
}

impl GmailError {
    /// Transient: the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            GmailError::Auth(e) => e.is_retryable(),
            GmailError::RateLimited { .. }
            | GmailError::Server { .. }
            | GmailError::Transport { .. } => true,
            _ => false,
        }
    }

    /// Retrying the same call will not change the answer (this includes the
    /// expected outcomes `NotFound` and `HistoryExpired`).
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, GmailError::NotFound { .. })
    }

    pub fn is_history_expired(&self) -> bool {
        matches!(self, GmailError::HistoryExpired { .. })
    }

    /// The mailbox whose grant Google refused, if that is the cause.
    pub fn unauthorized_mailbox(&self) -> Option<&str> {
        match self {
            GmailError::Auth(e) => e.unauthorized_mailbox(),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GmailError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_grant_is_permanent_and_names_the_mailbox() {
        let e = GmailError::from(AuthError::Unauthorized {
            mailbox: "bob@fund.test".into(),
            code: "unauthorized_client".into(),
            reason: "Client is unauthorized".into(),
        });
        assert!(e.is_permanent());
        assert_eq!(e.unauthorized_mailbox(), Some("bob@fund.test"));
        assert!(e.to_string().contains("bob@fund.test"), "{e}");
        assert!(e.to_string().contains("unauthorized_client"), "{e}");
    }

    #[test]
    fn transient_errors_are_retryable_and_others_are_not() {
        let rl = GmailError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            reason: "rateLimitExceeded".into(),
        };
        assert!(rl.is_retryable());
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(2)));
        assert!(rl.to_string().contains("2000 ms"), "{rl}");
        let server = GmailError::Server {
            status: 503,
            message: "x".into(),
        };
        assert!(server.is_retryable());
        let gone = GmailError::NotFound {
            mailbox: "a@b".into(),
            what: "message 1".into(),
        };
        assert!(gone.is_permanent() && gone.is_not_found());
        let auth_down = GmailError::Auth(AuthError::Server {
            mailbox: "a@b".into(),
            status: 502,
        });
        assert!(auth_down.is_retryable());
    }
}
