//! fake_google driven by Google's own clients: google-api-python-client
//! (static gmail.v1 discovery document) with google-auth service-account
//! credentials, through tests/python/gmail_probe.py. The fake must answer
//! in the shapes Google's client expects, not only in the shapes our Rust
//! client happens to send. Needs `pip install -r tests/python/requirements.txt`
//! (`.ci/run` installs it); without the packages this test fails, loudly.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use email_sidecar::fake_google::{FakeGoogle, FakeOptions};
use serde_json::{json, Value};
use std::path::Path;

const USER: &str = "probe@fund.test";
const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nprobe attachment bytes \x00\x01\x02\xff\n%%EOF\n";

fn text_mail(n: u32, subject: &str) -> Vec<u8> {
    format!(
        "From: \"Investor {n}\" <investor{n}@acme.test>\r\nTo: {USER}\r\n\
         Subject: {subject}\r\nDate: Mon, 4 Mar 2024 1{n}:00:00 +0000\r\n\
         Message-ID: <probe-{n}@acme.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Body of message {n}.\r\n"
    )
    .into_bytes()
}

fn mail_with_attachment() -> Vec<u8> {
    let mut raw = format!(
        "From: cfo@acme.test\r\nTo: {USER}\r\nSubject: Numbers attached\r\n\
         Date: Mon, 4 Mar 2024 15:00:00 +0000\r\nMessage-ID: <probe-att@acme.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n\
         --P\r\nContent-Type: text/plain\r\n\r\nSee the attached numbers.\r\n\
         --P\r\nContent-Type: application/pdf; name=\"numbers.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"numbers.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(STANDARD.encode(PDF).as_bytes());
    raw.extend_from_slice(b"\r\n--P--\r\n");
    raw
}

/// Fails (not skips) when the packages are missing: CI installs them.
fn require_python_packages() {
    let ok = std::process::Command::new("python3")
        .args([
            "-c",
            "import googleapiclient.discovery, google.oauth2.service_account",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "google-api-python-client / google-auth not importable by python3: \
         pip install -r tests/python/requirements.txt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googles_own_python_client_gets_gmail_shaped_answers_from_the_fake() {
    require_python_packages();
    let fake = FakeGoogle::start(FakeOptions::default()).await.unwrap();
    fake.add_user(USER);
    let start_history = fake.history_id(USER);

    let mails = [
        ("Series A update", text_mail(1, "Series A update")),
        ("Board deck v2", text_mail(2, "Board deck v2")),
        ("Numbers attached", mail_with_attachment()),
    ];
    let mids = [
        "probe-1@acme.test",
        "probe-2@acme.test",
        "probe-att@acme.test",
    ];
    let mut expected = Vec::new();
    for ((subject, raw), mid) in mails.iter().zip(mids) {
        let id = fake.deliver(USER, raw, &["INBOX", "UNREAD"]);
        expected.push(json!({"id": id, "subject": subject, "message_id": mid,
                             "raw_b64": STANDARD.encode(raw)}));
    }
    let attachment_msg = expected[2]["id"].clone();
    let expect = json!({
        "start_history_id": start_history.to_string(),
        "messages": expected,
        "attachment": {"message": attachment_msg, "filename": "numbers.pdf",
                       "data_b64": STANDARD.encode(PDF)},
    });

    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sa.json");
    std::fs::write(&key_path, fake.service_account_json()).unwrap();
    fake.reset_counters();

    let probe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/gmail_probe.py");
    let out = tokio::process::Command::new("python3")
        .arg(&probe)
        .env("FAKE_URL", fake.url())
        .env("SA_KEY_PATH", &key_path)
        .env("USER_EMAIL", USER)
        .env("PROBE_EXPECT", expect.to_string())
        .output()
        .await
        .expect("run python3 tests/python/gmail_probe.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("pip install -r tests/python/requirements.txt"),
        "{stderr}"
    );
    assert!(
        out.status.success(),
        "probe failed ({}):\n{stderr}\n{stdout}",
        out.status
    );

    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("probe summary is not JSON ({e}): {stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["listed"], 3, "{summary}");
    assert_eq!(summary["history_added"], 3, "{summary}");
    assert_eq!(
        (summary["batch_ok"].clone(), summary["batch_404"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(summary["attachment_bytes"], PDF.len());
    let probe_history: u64 = summary["history_id"].as_str().unwrap().parse().unwrap();
    assert!(start_history.0 < probe_history && probe_history <= fake.history_id(USER).0);
    assert_eq!(
        summary["client_batch_uri"],
        "https://gmail.googleapis.com/batch"
    );

    // The fake saw exactly the calls the probe says it made.
    let counters = fake.counters();
    let probe_calls = summary["calls"].as_object().unwrap();
    for (method, n) in probe_calls.iter().filter(|(m, _)| m.as_str() != "token") {
        assert_eq!(
            counters.calls.get(method).copied().unwrap_or(0),
            n.as_u64().unwrap(),
            "calls of {method}: fake {:?} vs probe {probe_calls:?}",
            counters.calls
        );
    }
    assert_eq!(
        counters.token_exchanges,
        probe_calls["token"].as_u64().unwrap()
    );
    assert!(counters.units_charged > 0);

    // What the probe sent and drafted is what the fake recorded.
    let sent = fake.sent(USER);
    assert_eq!(sent.len(), 1);
    // Like Gmail, the fake gives a message sent without a Message-ID one of
    // its own, in front of the bytes the client sent, which stay intact.
    let probe_raw = STANDARD
        .decode(summary["sent_raw_b64"].as_str().unwrap())
        .unwrap();
    assert!(
        sent[0].ends_with(&probe_raw),
        "sent bytes changed: {:?}",
        String::from_utf8_lossy(&sent[0])
    );
    let added = &sent[0][..sent[0].len() - probe_raw.len()];
    let added = String::from_utf8_lossy(added);
    assert!(
        added.starts_with("Message-ID: <") && added.ends_with("@mail.gmail.com>\r\n"),
        "{added:?}"
    );
    let drafts = fake.drafts(USER);
    assert_eq!(drafts.len(), 1);
    assert_eq!(
        drafts[0].thread_id,
        summary["draft_thread_id"].as_str().unwrap()
    );
    fake.shutdown().await;
}
