//! What a fake endpoint answers, independent of axum: a status, a few
//! headers and a JSON body, or `Reset` (drop the connection, no answer).
//! Shared by the direct routes and the batch endpoint, which wraps inner
//! replies in `application/http` parts. Error bodies use Gmail's envelope.

use crate::google::types::{ErrorBody, ErrorEnvelope, ErrorItem};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Http {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without any HTTP answer.
    Reset,
}

impl Reply {
    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Reply {
        // Serializing our own plain data types cannot fail; an empty object
        // is a harmless answer if it ever did.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply::Http {
            status,
            headers: vec![("content-type", "application/json; charset=UTF-8".into())],
            body,
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply::Http {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name, value));
        }
        self
    }

    /// Gmail's error envelope `{"error":{code,message,errors:[…],status}}`.
    pub(crate) fn gmail_error(code: u16, domain: &str, reason: &str, message: &str) -> Reply {
        Reply::gmail_error_as(code, status_name(code), domain, reason, message)
    }

    pub(crate) fn gmail_error_as(
        code: u16,
        status: &str,
        domain: &str,
        reason: &str,
        message: &str,
    ) -> Reply {
        let env = ErrorEnvelope {
            error: ErrorBody {
                code,
                message: message.to_string(),
                errors: vec![ErrorItem {
                    domain: domain.to_string(),
                    reason: reason.to_string(),
                    message: message.to_string(),
                }],
                status: Some(status.to_string()),
            },
        };
        Reply::json(code, &env)
    }

    /// The token endpoint's `{"error","error_description"}`.
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({"error": error, "error_description": description}),
        )
    }
}

/// google.rpc.Code names Gmail puts in `error.status`.
fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// Canned Gmail errors, worded as Gmail words them.
pub(crate) mod errors {
    use super::Reply;

    pub(crate) fn not_found() -> Reply {
        Reply::gmail_error(404, "global", "notFound", "Requested entity was not found.")
    }

    pub(crate) fn invalid_argument(message: &str) -> Reply {
        Reply::gmail_error(400, "global", "invalidArgument", message)
    }

    pub(crate) fn bad_request(message: &str) -> Reply {
        Reply::gmail_error(400, "global", "badRequest", message)
    }

    pub(crate) fn failed_precondition() -> Reply {
        Reply::gmail_error_as(
            400,
            "FAILED_PRECONDITION",
            "global",
            "failedPrecondition",
            "Precondition check failed.",
        )
    }

    pub(crate) fn unauthenticated() -> Reply {
        Reply::gmail_error(
            401,
            "global",
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential.",
        )
        .with_header(
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\"".into(),
        )
    }

    pub(crate) fn insufficient_scope() -> Reply {
        Reply::gmail_error(
            403,
            "global",
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        )
    }

    pub(crate) fn delegation_denied(user: &str) -> Reply {
        Reply::gmail_error(
            403,
            "global",
            "forbidden",
            &format!("Delegation denied for {user}"),
        )
    }

    pub(crate) fn quota_exhausted() -> Reply {
        Reply::gmail_error(
            429,
            "usageLimits",
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
        )
        .with_header("retry-after", "1".into())
    }

    pub(crate) fn rate_limited_429() -> Reply {
        Reply::gmail_error(
            429,
            "usageLimits",
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        )
    }

    pub(crate) fn rate_limited_403() -> Reply {
        Reply::gmail_error(
            403,
            "usageLimits",
            "userRateLimitExceeded",
            "User-rate limit exceeded.",
        )
    }

    pub(crate) fn backend_error() -> Reply {
        Reply::gmail_error(500, "global", "backendError", "Backend Error")
    }

    pub(crate) fn unavailable() -> Reply {
        Reply::gmail_error(
            503,
            "global",
            "backendError",
            "The service is currently unavailable.",
        )
    }
}
