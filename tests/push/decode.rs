//! decode_push: the Pub/Sub envelope in every shape Google (or its docs)
//! produce, and each malformed body with its message.

use email_sidecar::capture::push::{decode_push, PushError};
use email_sidecar::fake_google::FakeGoogle;
use email_sidecar::google::types::HistoryId;
use serde_json::json;

#[test]
fn a_notice_decodes_with_history_id_as_number_or_string() {
    for as_number in [true, false] {
        let body = FakeGoogle::push_body(" Alice@Fund.TEST ", 9_007_199_254_740_993, as_number);
        let notice = decode_push(body.as_bytes()).unwrap();
        assert_eq!(notice.email, "alice@fund.test", "as_number={as_number}");
        assert_eq!(notice.history_id, HistoryId(9_007_199_254_740_993));
    }
}

fn envelope(data: &str) -> Vec<u8> {
    json!({"message": {"data": data, "messageId": "1", "publishTime": "2026-04-01T09:00:00Z"},
           "subscription": "projects/p/subscriptions/s"})
    .to_string()
    .into_bytes()
}

#[test]
fn data_decodes_in_every_base64_flavour() {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    // Pick filler so the standard encoding has '+', '/' and padding: the
    // four flavours then really differ.
    let json = (0..64)
        .map(|n| {
            format!(
                r#"{{"emailAddress":"bob@fund.test","historyId":77,"x":"{}"}}"#,
                "a".repeat(n % 3) + "\u{ffff}\u{ffff}\u{ffff}" + &"b".repeat(n / 3)
            )
        })
        .find(|j| {
            let s = STANDARD.encode(j);
            s.contains('+') && s.contains('/') && s.ends_with('=')
        })
        .unwrap();
    let flavours = [
        ("standard padded", STANDARD.encode(&json)),
        ("standard unpadded", STANDARD_NO_PAD.encode(&json)),
        ("url-safe padded", URL_SAFE.encode(&json)),
        ("url-safe unpadded", URL_SAFE_NO_PAD.encode(&json)),
    ];
    for (name, data) in flavours {
        let notice = decode_push(&envelope(&data)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (notice.email.as_str(), notice.history_id),
            ("bob@fund.test", HistoryId(77)),
            "{name}"
        );
    }
}

#[test]
fn each_malformed_body_is_a_400_naming_what_was_wrong() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let b64 = |s: &str| STANDARD.encode(s);
    let cases: Vec<(&str, Vec<u8>, PushError, &str)> = vec![
        (
            "not JSON",
            b"<html>".to_vec(),
            PushError::Envelope(String::new()),
            "Pub/Sub push envelope",
        ),
        (
            "no message",
            br#"{"subscription":"s"}"#.to_vec(),
            PushError::MissingData,
            "message.data",
        ),
        (
            "no data",
            br#"{"message":{"messageId":"1"}}"#.to_vec(),
            PushError::MissingData,
            "message.data",
        ),
        (
            "empty data",
            envelope(""),
            PushError::MissingData,
            "message.data",
        ),
        (
            "data not base64",
            envelope("%%%not*base64"),
            PushError::Base64(String::new()),
            "not base64",
        ),
        (
            "data not JSON",
            envelope(&b64("hello")),
            PushError::DataJson(String::new()),
            "not a JSON",
        ),
        (
            "data a JSON array",
            envelope(&b64("[1,2]")),
            PushError::DataJson(String::new()),
            "not a JSON",
        ),
        (
            "no emailAddress",
            envelope(&b64(r#"{"historyId":1}"#)),
            PushError::MissingEmail,
            "emailAddress",
        ),
        (
            "blank emailAddress",
            envelope(&b64(r#"{"emailAddress":"  ","historyId":1}"#)),
            PushError::MissingEmail,
            "emailAddress",
        ),
        (
            "no historyId",
            envelope(&b64(r#"{"emailAddress":"a@b.c"}"#)),
            PushError::MissingHistoryId,
            "historyId",
        ),
        (
            "historyId words",
            envelope(&b64(r#"{"emailAddress":"a@b.c","historyId":"abc"}"#)),
            PushError::HistoryId("\"abc\"".into()),
            "historyId",
        ),
        (
            "historyId negative",
            envelope(&b64(r#"{"emailAddress":"a@b.c","historyId":-5}"#)),
            PushError::HistoryId("-5".into()),
            "historyId",
        ),
        (
            "historyId fractional",
            envelope(&b64(r#"{"emailAddress":"a@b.c","historyId":1.5}"#)),
            PushError::HistoryId("1.5".into()),
            "historyId",
        ),
    ];
    for (name, body, want, message) in cases {
        let err = decode_push(&body).unwrap_err();
        let same_kind = std::mem::discriminant(&err) == std::mem::discriminant(&want);
        assert!(same_kind, "{name}: got {err:?}, want {want:?}");
        if matches!(want, PushError::HistoryId(_)) {
            assert_eq!(err, want, "{name}");
        }
        assert!(err.to_string().contains(message), "{name}: {err}");
        assert_eq!(
            (err.status(), err.is_malformed(), err.is_retryable()),
            (400, true, false),
            "{name}"
        );
    }
}
