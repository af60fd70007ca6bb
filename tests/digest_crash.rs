//! Exactly once across a crash: the real binary (`email-sidecar digest
//! send`) is SIGKILLed after fake Google has accepted its messages.send but
//! before it could record that (fake Google holds the answer back), and
//! a restart finds the digest by its Message-ID instead of sending it again.
//! Also `digest preview` (prints, sends nothing).

mod digest_support;
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use email_sidecar::store::digest::DigestRunStatus;

use digest_support::*;

fn digest_send(app: &support::app::TestApp) -> Command {
    digest_cmd(app, "send")
}

fn digest_cmd(app: &support::app::TestApp, action: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_email-sidecar"));
    cmd.args(["digest", action])
        .envs(&app.env)
        // Away from the repository's config/email-sidecar.toml.
        .current_dir(app.dir.path())
        .stdin(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_killed_between_gmails_send_and_its_record_goes_out_exactly_once() {
    let app = app_on(email_sidecar::clock::system(), "Europe/Berlin", &[]).await;
    let hold = Duration::from_secs(60);
    app.fake.hold_replies("users.messages.send", hold);
    let mut child = digest_send(&app)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while app.fake.sent(ALICE).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no send reached fake Google"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "digest send exited early"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no record
    child.wait().unwrap();
    assert!(
        started.elapsed() < hold,
        "the answer was released before the kill"
    );
    let row = runs(&app).pop().unwrap();
    assert_eq!(row.status, DigestRunStatus::Sending, "{row:?}");
    assert_eq!(row.attempts, 1);
    assert_eq!(app.fake.sent(ALICE).len(), 1);

    app.fake.hold_replies("users.messages.send", Duration::ZERO);
    let out = digest_send(&app).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent via gmail"), "{stdout}");
    assert_eq!(
        app.fake.sent(ALICE).len(),
        1,
        "the restart sent the digest again"
    );
    assert_eq!(send_calls(&app), 1);
    let rows = runs(&app);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.status, DigestRunStatus::Sent);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.transport.as_deref(), Some("gmail"));
    assert!(row.gmail_message_id.is_some());
    let sent = sent_texts(&app, ALICE);
    assert_eq!(
        header(&sent[0], "Message-ID").unwrap(),
        format!("<{}>", row.message_id)
    );
    assert_eq!(
        row.message_id,
        format!("digest-{}.scheduled@fund.test", row.local_day)
    );

    // And once more: the day is done.
    let out = digest_send(&app).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already sent"));
    assert_eq!(app.fake.sent(ALICE).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_preview_prints_the_digest_and_sends_nothing() {
    let app = app_on(email_sidecar::clock::system(), "Europe/Berlin", &[]).await;
    let out = digest_cmd(&app, "preview").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Subject: Investor email digest"),
        "{stdout}"
    );
    assert!(
        stdout.contains("No investor email in this period."),
        "{stdout}"
    );
    assert_eq!(send_calls(&app), 0);
    assert!(runs(&app).is_empty());
}
