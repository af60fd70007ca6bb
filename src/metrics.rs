//! Process metrics for `GET /api/email/metrics` (Prometheus text format
//! 0.0.4). Two kinds of figures: counters kept in memory while the daemon
//! runs (Gmail HTTP attempts and 429s by method, counted by the Gmail
//! client; HTTP request latency by matched route, counted by the HTTP
//! layer), and figures read from the database at scrape time ([`DbFigures`]:
//! emails captured and matched, proposals by status, sync lag per mailbox),
//! so a restart never resets them and they cannot drift from the data.
//!
//! Hand-rolled rather than a registry crate: six families, fixed label
//! sets, and the text format is a few lines; nothing here allocates per
//! observation beyond the first sighting of a label set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

/// Upper bounds (seconds) of the HTTP latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The in-memory counters; cheap to clone (shared inside). A default one
/// counts into a registry nobody scrapes, the no-op for code paths (CLI,
/// tests) that have no daemon.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Counters>>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Gmail HTTP attempts by method name (`users.messages.get`, `batch`).
    gmail_calls: BTreeMap<&'static str, u64>,
    gmail_429s: BTreeMap<&'static str, u64>,
    /// By (matched route, HTTP method, status).
    http: BTreeMap<(String, String, u16), Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket of [`LATENCY_BUCKETS`] (not cumulative), then +Inf.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    count: u64,
    sum: f64,
}

/// What the database says at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbFigures {
    pub emails_captured: u64,
    pub emails_matched: u64,
    /// By status; `pending`, `approved` and `rejected` are always present.
    pub proposals: BTreeMap<String, u64>,
    /// Seconds since each mailbox last finished a complete sync (`None`:
    /// never did), by address.
    pub sync_lag_seconds: Vec<(String, Option<f64>)>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        // A panic while holding this lock leaves counts, never broken data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One Gmail HTTP attempt of `method` and the status it got (`None`:
    /// no answer, e.g. a connection reset).
    pub fn gmail_call(&self, method: &'static str, status: Option<u16>) {
        let mut c = self.lock();
        *c.gmail_calls.entry(method).or_insert(0) += 1;
        if status == Some(429) {
            *c.gmail_429s.entry(method).or_insert(0) += 1;
        }
    }

    /// Gmail attempts so far by method (tests, `check`).
    pub fn gmail_calls(&self) -> BTreeMap<&'static str, u64> {
        self.lock().gmail_calls.clone()
    }

    pub fn gmail_429s(&self) -> BTreeMap<&'static str, u64> {
        self.lock().gmail_429s.clone()
    }

    /// One answered HTTP request: `route` is the matched path template
    /// (`/api/email/accounts/{id}`), never the raw path, so label values
    /// stay few.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut c = self.lock();
        let h = c
            .http
            .entry((route.to_string(), method.to_string(), status))
            .or_default();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(LATENCY_BUCKETS.len());
        h.buckets[slot] += 1;
        h.count += 1;
        h.sum += seconds;
    }

    /// The whole exposition: `db` figures plus the counters.
    pub fn render(&self, db: &DbFigures) -> String {
        let mut out = String::with_capacity(4096);
        render_db(&mut out, db);
        let c = self.lock();
        family(
            &mut out,
            "email_sidecar_gmail_calls_total",
            "counter",
            "Gmail API HTTP attempts (retries included; batch parts under their own method)",
        );
        for (method, n) in &c.gmail_calls {
            sample(
                &mut out,
                "email_sidecar_gmail_calls_total",
                &[("method", method)],
                *n as f64,
            );
        }
        family(
            &mut out,
            "email_sidecar_gmail_429_total",
            "counter",
            "Gmail API answers with status 429, by method",
        );
        for (method, n) in &c.gmail_429s {
            sample(
                &mut out,
                "email_sidecar_gmail_429_total",
                &[("method", method)],
                *n as f64,
            );
        }
        render_http(&mut out, &c.http);
        out
    }
}

fn render_db(out: &mut String, db: &DbFigures) {
    family(
        out,
        "email_sidecar_emails_captured",
        "gauge",
        "Emails stored (one per RFC 5322 message)",
    );
    sample(
        out,
        "email_sidecar_emails_captured",
        &[],
        db.emails_captured as f64,
    );
    family(
        out,
        "email_sidecar_emails_matched",
        "gauge",
        "Emails linked to at least one investor",
    );
    sample(
        out,
        "email_sidecar_emails_matched",
        &[],
        db.emails_matched as f64,
    );
    family(
        out,
        "email_sidecar_proposals",
        "gauge",
        "Proposed activity notes by status",
    );
    for (status, n) in &db.proposals {
        sample(
            out,
            "email_sidecar_proposals",
            &[("status", status)],
            *n as f64,
        );
    }
    family(
        out,
        "email_sidecar_sync_lag_seconds",
        "gauge",
        "Seconds since the mailbox last completed a sync (absent: never)",
    );
    for (mailbox, lag) in &db.sync_lag_seconds {
        if let Some(lag) = lag {
            sample(
                out,
                "email_sidecar_sync_lag_seconds",
                &[("mailbox", mailbox)],
                *lag,
            );
        }
    }
}

fn render_http(out: &mut String, http: &BTreeMap<(String, String, u16), Histogram>) {
    let name = "email_sidecar_http_request_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "HTTP request latency by matched route, method and status",
    );
    for ((route, method, status), h) in http {
        let status = status.to_string();
        let labels = [
            ("route", route.as_str()),
            ("method", method.as_str()),
            ("status", &status),
        ];
        let mut cumulative = 0;
        for (i, n) in h.buckets.iter().enumerate() {
            cumulative += n;
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            sample(out, &format!("{name}_bucket"), &with_le, cumulative as f64);
        }
        sample(out, &format!("{name}_sum"), &labels, h.sum);
        sample(out, &format!("{name}_count"), &labels, h.count as f64);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline (text format).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_calls_and_429s_are_counted_by_method() {
        let m = Metrics::new();
        m.gmail_call("users.messages.get", Some(200));
        m.gmail_call("users.messages.get", Some(429));
        m.gmail_call("batch", None);
        assert_eq!(m.gmail_calls()["users.messages.get"], 2);
        assert_eq!(m.gmail_calls()["batch"], 1);
        assert_eq!(m.gmail_429s()["users.messages.get"], 1);
        assert!(!m.gmail_429s().contains_key("batch"));
        let text = m.render(&DbFigures::default());
        assert!(text.contains("email_sidecar_gmail_calls_total{method=\"users.messages.get\"} 2\n"));
        assert!(text.contains("email_sidecar_gmail_429_total{method=\"users.messages.get\"} 1\n"));
    }

    #[test]
    fn the_latency_histogram_is_cumulative_with_sum_and_count() {
        let m = Metrics::new();
        m.http_request("/api/email/health", "GET", 200, 0.00390625);
        m.http_request("/api/email/health", "GET", 200, 0.1875);
        m.http_request("/api/email/health", "GET", 200, 64.0);
        let text = m.render(&DbFigures::default());
        let l = "route=\"/api/email/health\",method=\"GET\",status=\"200\"";
        let line = |le: &str| {
            format!("email_sidecar_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}}")
        };
        assert!(text.contains(&format!("{} 1\n", line("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", line("0.1"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", line("0.25"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", line("10"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", line("+Inf"))), "{text}");
        assert!(text.contains(&format!(
            "email_sidecar_http_request_duration_seconds_count{{{l}}} 3\n"
        )));
        assert!(text.contains(&format!(
            "email_sidecar_http_request_duration_seconds_sum{{{l}}} 64.19140625\n"
        )));
    }

    #[test]
    fn database_figures_and_escaped_labels_render() {
        let db = DbFigures {
            emails_captured: 7,
            emails_matched: 3,
            proposals: [("pending".to_string(), 2), ("approved".to_string(), 1)].into(),
            sync_lag_seconds: vec![
                ("a\"b@fund.test".into(), Some(12.0)),
                ("never@fund.test".into(), None),
            ],
        };
        let text = Metrics::new().render(&db);
        assert!(text.contains("email_sidecar_emails_captured 7\n"));
        assert!(text.contains("email_sidecar_emails_matched 3\n"));
        assert!(text.contains("email_sidecar_proposals{status=\"pending\"} 2\n"));
        assert!(text.contains("email_sidecar_sync_lag_seconds{mailbox=\"a\\\"b@fund.test\"} 12\n"));
        assert!(!text.contains("never@fund.test"));
        assert!(text.contains("# TYPE email_sidecar_proposals gauge\n"));
    }
}
