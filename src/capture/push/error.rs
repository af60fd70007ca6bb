//! Why a push request was refused, and what to answer Pub/Sub.
//!
//! Statuses: a body we cannot read is 400. A request we cannot
//! authenticate (no token, not a JWT, not RS256, unknown key, bad
//! signature, wrong issuer, expired or not yet valid) is 401. A token that
//! Google did sign but for someone else (another audience, an unverified
//! or unexpected `email`) is 403: the caller is known and not allowed, so
//! presenting the same credentials again cannot help, and the logs can tell
//! "someone's other subscription points at us" from "forged or stale".
//! When Google's keys cannot be fetched it is 503: our fault, and Pub/Sub
//! retries non-2xx answers with backoff. Messages never contain the token.

/// A refused push request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("push body is not a Pub/Sub push envelope: {0}")]
    Envelope(String),
    #[error("push envelope has no message.data")]
    MissingData,
    #[error("message.data is not base64: {0}")]
    Base64(String),
    #[error("message.data is not a JSON Gmail notification: {0}")]
    DataJson(String),
    #[error("Gmail notification has no emailAddress")]
    MissingEmail,
    #[error("Gmail notification has no historyId")]
    MissingHistoryId,
    #[error("Gmail notification historyId is not an unsigned integer: {0}")]
    HistoryId(String),

    #[error("push request has no Authorization header")]
    MissingAuthorization,
    #[error("push Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("push token refused: {0}")]
    BadToken(String),
    #[error("push token signed by unknown key id {0:?}")]
    UnknownKey(String),
    #[error("push token expired")]
    Expired,
    #[error("push token not valid yet (issued in the future)")]
    NotYetValid,
    #[error("push token issuer {0:?} is not Google")]
    Issuer(String),
    #[error("push token audience {0:?} is not ours")]
    Audience(String),
    #[error("push token email is not verified")]
    EmailUnverified,
    #[error("push token email {0:?} is not the configured push identity")]
    WrongEmail(String),

    #[error("Google's signing keys are unavailable: {0}")]
    JwksUnavailable(String),
}

impl PushError {
    /// The HTTP status to answer with (see the module doc for why).
    pub fn status(&self) -> u16 {
        use PushError::*;
        match self {
            Envelope(_) | MissingData | Base64(_) | DataJson(_) | MissingEmail
            | MissingHistoryId | HistoryId(_) => 400,
            MissingAuthorization | NotBearer | BadToken(_) | UnknownKey(_) | Expired
            | NotYetValid | Issuer(_) => 401,
            Audience(_) | EmailUnverified | WrongEmail(_) => 403,
            JwksUnavailable(_) => 503,
        }
    }

    /// Would the same request succeed later? Only when Google's keys were
    /// out of reach; everything else is in the request itself.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PushError::JwksUnavailable(_))
    }

    /// The request body was unreadable (as opposed to unauthenticated).
    pub fn is_malformed(&self) -> bool {
        self.status() == 400
    }

    /// A stable snake_case name for `{"error":{"code"}}` and metrics.
    pub fn code(&self) -> &'static str {
        match self.status() {
            400 => "bad_push_body",
            401 => "unauthenticated",
            403 => "forbidden",
            _ => "unavailable",
        }
    }
}
