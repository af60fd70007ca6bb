//! Retry policy for Google calls: turning an HTTP answer (or a transport
//! failure) into a typed [`GmailError`], and the exponential backoff with
//! full jitter, a cap and `Retry-After` between attempts. Pure functions;
//! the Gmail client and the token provider drive them.

use crate::google::error::GmailError;
use crate::google::types::ErrorEnvelope;
use rand::Rng;
use std::time::{Duration, SystemTime};

/// Exponential backoff with full jitter: attempt `n` waits a uniform random
/// time in `[0, min(cap, base·2ⁿ)]` (AWS's "full jitter"), so many clients
/// hit by the same outage spread out instead of retrying in lockstep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff { base, cap }
    }

    /// The upper bound of attempt `attempt`'s jittered delay.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `attempt + 1`. A server's `Retry-After`
    /// is a floor: we never come back sooner than it asked.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(attempt);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            rand::thread_rng().gen_range(Duration::ZERO..=ceiling)
        };
        match retry_after {
            Some(after) => after.max(jittered),
            None => jittered,
        }
    }
}

/// Parse a `Retry-After` value: delta-seconds or an HTTP-date (relative to
/// `now`, which comes from the injected clock). A date in the past is zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Gmail's 403 reasons that mean "slow down", not "forbidden".
const RATE_LIMIT_REASONS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];

/// Turn a non-2xx Gmail answer into a typed error. `what` names the
/// resource for a 404 (e.g. `"message 18c2…"`); callers that give 404 a
/// special meaning (history) map `NotFound` further.
pub fn error_from_response(
    mailbox: &str,
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> GmailError {
    let envelope: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
    let (reason, message) = match &envelope {
        Some(env) => (
            env.error
                .errors
                .first()
                .map(|e| e.reason.clone())
                .or_else(|| env.error.status.clone())
                .unwrap_or_default(),
            env.error.message.clone(),
        ),
        None => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    match status {
        429 => GmailError::RateLimited {
            retry_after,
            reason: or(reason, "rateLimitExceeded"),
        },
        403 if RATE_LIMIT_REASONS.contains(&reason.as_str()) => GmailError::RateLimited {
            retry_after,
            reason,
        },
        401 => GmailError::Unauthenticated {
            mailbox: mailbox.to_string(),
            message: or(message, "authError"),
        },
        404 => GmailError::NotFound {
            mailbox: mailbox.to_string(),
            what: what.to_string(),
        },
        500 | 502 | 503 | 504 => GmailError::Server { status, message },
        _ => GmailError::Permanent {
            status,
            reason,
            message,
        },
    }
}

fn or(s: String, default: &str) -> String {
    if s.is_empty() {
        default.to_string()
    } else {
        s
    }
}

/// A transport failure (no HTTP answer): connection refused, reset or
/// closed early, or our timeout. All of them are retryable.
pub fn error_from_transport(e: &reqwest::Error) -> GmailError {
    GmailError::Transport {
        message: describe_reqwest(e),
        timeout: e.is_timeout(),
    }
}

/// reqwest's message plus its causes (the useful part is usually hyper's
/// "connection closed before message completed" two levels down). URLs
/// carry no secrets: tokens travel in headers, never in query strings.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: u16, reason: &str) -> Vec<u8> {
        serde_json::json!({"error": {"code": code, "message": "m",
            "errors": [{"domain": "usageLimits", "reason": reason, "message": "m"}]}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn rate_limits_and_server_errors_are_retryable() {
        for (status, reason) in [
            (429, "rateLimitExceeded"),
            (403, "userRateLimitExceeded"),
            (403, "rateLimitExceeded"),
        ] {
            let e = error_from_response("a@b", "x", status, None, &body(status, reason));
            assert!(
                matches!(e, GmailError::RateLimited { .. }),
                "{status} {reason}: {e:?}"
            );
            assert!(e.is_retryable());
        }
        for status in [500, 502, 503, 504] {
            let e = error_from_response("a@b", "x", status, None, b"<html>oops</html>");
            assert_eq!(
                e,
                GmailError::Server {
                    status,
                    message: "<html>oops</html>".into()
                }
            );
        }
    }

    #[test]
    fn other_client_errors_are_permanent() {
        let e = error_from_response("a@b", "x", 403, None, &body(403, "insufficientPermissions"));
        assert_eq!(
            e,
            GmailError::Permanent {
                status: 403,
                reason: "insufficientPermissions".into(),
                message: "m".into()
            }
        );
        let e = error_from_response("a@b", "x", 400, None, &body(400, "invalidArgument"));
        assert!(e.is_permanent());
        let e = error_from_response("a@b", "message 7", 404, None, &body(404, "notFound"));
        assert_eq!(
            e,
            GmailError::NotFound {
                mailbox: "a@b".into(),
                what: "message 7".into()
            }
        );
        let e = error_from_response("a@b", "x", 401, None, &body(401, "authError"));
        assert!(matches!(e, GmailError::Unauthenticated { .. }));
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_full_jitter() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(32));
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(10), Duration::from_secs(32));
        assert_eq!(b.ceiling(400), Duration::from_secs(32));
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(4, None)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(8)));
        // Full jitter: delays spread over the range, some well below half.
        assert!(
            delays.iter().any(|d| *d < Duration::from_secs(2)),
            "{delays:?}"
        );
        assert!(
            delays.iter().any(|d| *d > Duration::from_secs(6)),
            "{delays:?}"
        );
    }

    #[test]
    fn retry_after_is_a_floor_for_the_delay() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(20));
        for _ in 0..50 {
            assert!(b.delay(0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        }
    }
}
