//! The SMTP fallback against a real SMTP server process (Python's
//! aiosmtpd writing a Maildir, see tests/python/requirements.txt): when
//! Gmail's messages.send keeps failing, the digest goes out over SMTP with
//! the same Message-ID, to the active admins only, and the server's 250
//! reply is recorded on the run.

mod digest_support;
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use email_sidecar::clock::ManualClock;
use email_sidecar::digest::Outcome;
use email_sidecar::fake_google::FaultKind;
use email_sidecar::store::digest::DigestRunStatus;

use digest_support::*;

struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_sink(maildir: &Path) -> Sink {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (pip install -r tests/python/requirements.txt)");
    let sink = Sink { child, port };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "aiosmtpd did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink
}

fn received(maildir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            for e in entries {
                out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
            }
        }
    }
    out
}

/// The maildir files use bare LF; headers as (name, value) pairs.
fn headers(raw: &str) -> Vec<(String, String)> {
    let head = raw.replace("\r\n", "\n");
    let head = head.split("\n\n").next().unwrap().replace("\n ", " ");
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn value<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[tokio::test]
async fn gmail_failing_beyond_its_retries_hands_the_digest_to_a_real_smtp_server() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("maildir");
    let sink = smtp_sink(&maildir).await;
    let port = sink.port.to_string();
    let env = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_FROM", "digest@fund.test"),
        ("SMTP_STARTTLS", "false"),
        ("CRM_GMAIL_RETRY_MAX", "1"),
    ];
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 30));
    let app = app(&clock, "Europe/Berlin", &env).await;
    set_policy(&app, true, 18);
    // The first try and the one retry both answer 500.
    app.fake
        .fail_next("users.messages.send", 2, FaultKind::ServerError);
    let outcome = digests(&app)
        .run_once(utc(2026, 6, 1, 16, 30))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::Sent { transport, .. } if transport == "smtp"),
        "{outcome:?}"
    );
    assert!(app.fake.sent(ALICE).is_empty());
    let calls = app.fake.counters().calls;
    assert_eq!(calls.get("users.messages.send"), Some(&2));
    // Each ambiguous 500 was followed by a Message-ID lookup.
    assert_eq!(calls.get("users.messages.list"), Some(&2));

    let mail = received(&maildir);
    assert_eq!(mail.len(), 1, "{mail:?}");
    let h = headers(&mail[0]);
    let row = runs(&app).pop().unwrap();
    assert_eq!(value(&h, "message-id"), format!("<{}>", row.message_id));
    assert_eq!(row.message_id, "digest-2026-06-01.scheduled@fund.test");
    assert!(value(&h, "from").contains("<digest@fund.test>"), "{h:?}");
    assert_eq!(value(&h, "to"), format!("{ALICE}, {DANA}"));
    assert_eq!(value(&h, "x-mailfrom"), "digest@fund.test");
    assert_eq!(value(&h, "x-rcptto"), format!("{ALICE}, {DANA}"));
    assert!(value(&h, "subject").starts_with("Investor email digest"));
    assert!(mail[0].contains("No investor email in this period."));

    assert_eq!(row.status, DigestRunStatus::Sent);
    assert_eq!(row.transport.as_deref(), Some("smtp"));
    assert!(
        row.smtp_reply.as_deref().unwrap().starts_with("250"),
        "{row:?}"
    );
    assert_eq!(row.gmail_message_id, None);
    drop(sink);
}

/// SMTP cannot be looked up afterwards: once the fallback was tried and its
/// outcome is unclear (here the server is gone; a crash after its 250 looks
/// the same to the next attempt), the run is closed unsent, never tried
/// again by Gmail or SMTP — at most once rather than maybe twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_reached_the_smtp_fallback_is_never_sent_again() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let env = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_FROM", "digest@fund.test"),
        ("SMTP_STARTTLS", "false"),
        ("CRM_GMAIL_RETRY_MAX", "1"),
    ];
    let clock = ManualClock::new(utc(2026, 6, 1, 16, 30));
    let app = app(&clock, "Europe/Berlin", &env).await;
    set_policy(&app, true, 18);
    app.fake
        .fail_next("users.messages.send", 2, FaultKind::ServerError);
    let first = digests(&app).run_once(utc(2026, 6, 1, 16, 30)).await;
    assert!(!matches!(first, Ok(Outcome::Sent { .. })), "{first:?}");
    let row = runs(&app).pop().unwrap();
    assert_eq!(row.transport.as_deref(), Some("smtp"), "{row:?}");
    assert_ne!(row.status, DigestRunStatus::Sent);

    app.fake.reset_counters();
    let later = digests(&app)
        .run_once(utc(2026, 6, 1, 17, 0))
        .await
        .unwrap();
    assert!(matches!(later, Outcome::GaveUp { .. }), "{later:?}");
    assert_eq!(send_calls(&app), 0, "no second try by Gmail");
    assert!(app.fake.sent(ALICE).is_empty());
    let row = runs(&app).pop().unwrap();
    assert_eq!(row.status, DigestRunStatus::Failed);
    assert!(
        row.error.as_deref().unwrap().contains("not resent"),
        "{row:?}"
    );
}
