//! How the Gmail client is tuned: API base, per-mailbox budget and
//! in-flight cap, retries and timeouts. Filled from config (SPEC §3 env
//! names noted per field); `Default` holds the production values.

use crate::google::quota::QuotaSettings;
use crate::google::retry::Backoff;
use std::time::Duration;

/// Google's Gmail API base URL.
pub const GOOGLE_API_BASE: &str = "https://gmail.googleapis.com";

/// How the client talks to Gmail. `Default` = production values.
#[derive(Clone, Debug, PartialEq)]
pub struct GmailSettings {
    /// `CRM_GMAIL_API_BASE`; paths `/gmail/v1/users/{mailbox}/…` go under it.
    pub api_base: String,
    /// Per-mailbox budget (`CRM_GMAIL_RATE_UNITS_SEC`); 0 = no pacing.
    pub units_per_sec: u32,
    /// Requests in flight per mailbox (`CRM_GMAIL_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Retries of a transient failure (`CRM_GMAIL_RETRY_MAX`).
    pub retry_max: u32,
    pub backoff_base: Duration,
    /// Longest backoff; a `Retry-After` longer than this is not waited
    /// for: the call fails `RateLimited` and the caller reschedules.
    pub backoff_cap: Duration,
    pub request_timeout: Duration,
    /// Share of the unit budget kept unused for jitter (see `quota`).
    pub quota_headroom: f64,
    /// Units a mailbox's bucket saves up while idle (see `quota`).
    pub burst_units: u32,
}

impl Default for GmailSettings {
    fn default() -> Self {
        GmailSettings {
            api_base: GOOGLE_API_BASE.to_string(),
            units_per_sec: 90,
            max_in_flight: 8,
            retry_max: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(32),
            request_timeout: Duration::from_secs(60),
            quota_headroom: 0.04,
            burst_units: 5,
        }
    }
}

impl GmailSettings {
    pub(crate) fn quota(&self) -> QuotaSettings {
        QuotaSettings {
            units_per_sec: self.units_per_sec,
            headroom: self.quota_headroom,
            burst_units: self.burst_units,
            max_in_flight: self.max_in_flight,
        }
    }

    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.backoff_base, self.backoff_cap)
    }
}
