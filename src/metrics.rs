//! Process metrics for `GET /api/email/metrics` (Prometheus text): what
//! was captured and matched, proposals by status, Gmail calls and 429s by
//! method, sync lag per mailbox, HTTP latency. Filled in by issue 4.

/// The metrics registry; cheap to clone (shared inside).
#[derive(Debug, Clone, Default)]
pub struct Metrics {}
