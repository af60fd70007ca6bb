//! fake_google::mime against fixtures: golden JSON for every file under
//! tests/fixtures/mime (regenerate with `UPDATE_GOLDEN=1 cargo test --test
//! mime_golden`), hand-checked facts per fixture, and the mail-parser and
//! CPython email corpora fed through `gmail_view` for invariants.

use email_sidecar::fake_google::mime::{externalize_attachments, gmail_view, GmailView};
use email_sidecar::google::types::{decode_base64url, MessagePart};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mime")
}

fn view_of(name: &str) -> GmailView {
    let raw = std::fs::read(fixtures().join(name)).unwrap();
    let v = gmail_view(&raw);
    assert_invariants(&v.payload, name);
    v
}

fn view_json(v: &GmailView) -> Value {
    json!({
        "payload": v.payload,
        "snippet": v.snippet,
        "subject": v.subject,
        "message_id": v.message_id,
        "references": v.references,
        "date_ms": v.date_ms,
        "doc": {
            "from": v.doc.from, "to": v.doc.to, "cc": v.doc.cc, "bcc": v.doc.bcc,
            "names": { "from": v.doc.names.from, "to": v.doc.names.to,
                       "cc": v.doc.names.cc, "bcc": v.doc.names.bcc },
            "subject": v.doc.subject, "text": v.doc.text, "message_id": v.doc.message_id,
        },
    })
}

fn part<'a>(root: &'a MessagePart, id: &str) -> &'a MessagePart {
    fn find<'a>(p: &'a MessagePart, id: &str) -> Option<&'a MessagePart> {
        if p.part_id == id {
            return Some(p);
        }
        p.parts.iter().find_map(|c| find(c, id))
    }
    find(root, id).unwrap_or_else(|| panic!("no part {id:?} in {root:#?}"))
}

fn data(p: &MessagePart) -> Vec<u8> {
    decode_base64url(p.body.data.as_deref().expect("leaf data")).unwrap()
}

/// The tree is Gmail-shaped: ids unique and derived from the parent's,
/// leaves carry decodable data of the stated size, multiparts are empty.
fn assert_invariants(root: &MessagePart, what: &str) {
    assert_eq!(root.part_id, "", "{what}: root partId");
    let mut seen = HashSet::new();
    check_node(root, &mut seen, what);
}

fn check_node(p: &MessagePart, seen: &mut HashSet<String>, what: &str) {
    assert!(
        seen.insert(p.part_id.clone()),
        "{what}: duplicate partId {:?}",
        p.part_id
    );
    assert!(
        p.mime_type.contains('/'),
        "{what}: mimeType {:?}",
        p.mime_type
    );
    assert_eq!(p.mime_type, p.mime_type.to_lowercase(), "{what}");
    assert!(
        p.body.attachment_id.is_none(),
        "{what}: attachmentId before externalize"
    );
    if p.mime_type.starts_with("multipart/") && !p.parts.is_empty() {
        assert_eq!(
            (p.body.size, p.body.data.as_deref()),
            (0, None),
            "{what}: multipart body"
        );
    } else {
        let bytes = decode_base64url(
            p.body
                .data
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: part {:?} has no data", p.part_id)),
        )
        .unwrap_or_else(|e| panic!("{what}: part {:?} data not base64url: {e}", p.part_id));
        assert_eq!(
            bytes.len() as u64,
            p.body.size,
            "{what}: size of {:?}",
            p.part_id
        );
    }
    for (i, c) in p.parts.iter().enumerate() {
        let want = if p.part_id.is_empty() {
            i.to_string()
        } else {
            format!("{}.{i}", p.part_id)
        };
        assert_eq!(c.part_id, want, "{what}: child id");
        check_node(c, seen, what);
    }
}

#[test]
fn every_fixture_matches_its_golden_json() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut names: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "fixtures missing: {names:?}");
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let got = serde_json::to_string_pretty(&view_json(&view_of(&name))).unwrap() + "\n";
        let golden = fixtures()
            .join("golden")
            .join(name.replace(".eml", ".json"));
        if update {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!(
                "{} missing: run UPDATE_GOLDEN=1 cargo test --test mime_golden",
                golden.display()
            )
        });
        assert_eq!(
            got, want,
            "{name} differs from its golden (UPDATE_GOLDEN=1 to accept)"
        );
    }
}

#[test]
fn a_plain_crlf_message_keeps_raw_headers_and_escapes_its_snippet() {
    let v = view_of("simple_crlf.eml");
    let p = &v.payload;
    assert_eq!((p.mime_type.as_str(), p.parts.len()), ("text/plain", 0));
    assert_eq!(p.header("subject"), Some("Quarterly update"), "unfolded");
    assert_eq!(p.headers[0].name, "Return-Path", "original order");
    assert_eq!(p.header("From"), Some("\"Alice Smith\" <Alice@Acme.com>"));
    assert_eq!(
        v.snippet,
        "Hi Bob, It&#39;s the &quot;Q1&quot; numbers: revenue &gt; plan &amp; costs &lt; budget."
    );
    assert!(data(p).starts_with(b"Hi Bob,\r\n\r\n"));
    assert_eq!(v.doc.from, ["alice@acme.com"]);
    assert_eq!(v.doc.to, ["bob@fund.test", "carol@fund.test"]);
    assert_eq!(v.doc.names.from, ["alice smith"]);
    assert_eq!(v.message_id.as_deref(), Some("q1-2024@acme.com"));
    assert_eq!(v.date_ms, Some(1_709_630_100_000), "10:15 +0100 = 09:15Z");
}

#[test]
fn multipart_alternative_decodes_quoted_printable_without_converting_charset() {
    let v = view_of("alternative_qp.eml");
    assert_eq!(v.payload.mime_type, "multipart/alternative");
    assert_eq!(v.subject, "Café meeting");
    assert_eq!(
        v.payload.header("Subject"),
        Some("=?UTF-8?Q?Caf=C3=A9?= meeting")
    );
    let text = part(&v.payload, "0");
    assert_eq!(text.mime_type, "text/plain");
    assert_eq!(
        data(text),
        "Let's meet at the café on Friday. This line is a soft break.".as_bytes()
    );
    assert_eq!(part(&v.payload, "1").mime_type, "text/html");
    assert_eq!(
        v.snippet,
        "Let&#39;s meet at the café on Friday. This line is a soft break."
    );
}

#[test]
fn attachments_get_filenames_from_disposition_rfc2231_and_encoded_names() {
    let v = view_of("mixed_attachments.eml");
    let ids: Vec<_> = v.payload.parts.iter().map(|p| p.part_id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2", "3"]);
    let pdf = part(&v.payload, "1");
    assert_eq!(
        (pdf.mime_type.as_str(), pdf.filename.as_str()),
        ("application/pdf", "deck.pdf")
    );
    assert!(data(pdf).starts_with(b"%PDF-1.4"));
    let txt = part(&v.payload, "2");
    assert_eq!(txt.filename, "naïve résumé.txt");
    assert_eq!(data(txt), "naïve résumé\n".as_bytes());
    let bin = part(&v.payload, "3");
    assert_eq!(bin.filename, "отчёт.bin");
    assert_eq!(data(bin), (0u8..10).collect::<Vec<_>>());
    assert_eq!(part(&v.payload, "0").filename, "");
    assert_eq!(v.doc.text.trim(), "See attached.");
}

#[test]
fn nested_multiparts_number_like_gmail() {
    let v = view_of("nested.eml");
    assert_eq!(part(&v.payload, "0").mime_type, "multipart/related");
    assert_eq!(part(&v.payload, "0.0").mime_type, "multipart/alternative");
    assert_eq!(
        data(part(&v.payload, "0.0.0")),
        b"Plain body with an image."
    );
    assert_eq!(part(&v.payload, "0.0.1").mime_type, "text/html");
    let png = part(&v.payload, "0.1");
    assert_eq!(
        (png.mime_type.as_str(), png.filename.as_str()),
        ("image/png", "")
    );
    assert!(data(png).starts_with(b"\x89PNG"));
    assert_eq!(png.header("Content-ID"), Some("<logo@x>"));
    let csv = part(&v.payload, "1");
    assert_eq!(
        (csv.filename.as_str(), data(csv)),
        ("figures.csv", b"a,b\n1,2".to_vec())
    );
    assert_eq!(v.doc.cc, ["ivan@fund.test"]);
    assert_eq!(v.snippet, "Plain body with an image.");
}

#[test]
fn encoded_words_in_several_charsets_decode_for_search_but_bodies_stay_latin1() {
    let v = view_of("encoded_words_latin1.eml");
    assert_eq!(v.subject, "Résumé✓ and more");
    assert_eq!(v.doc.names.from, ["andré müller"]);
    assert_eq!(v.doc.names.to, ["привет", "ελλάδα"]);
    assert_eq!(v.doc.to, ["privet@example.ru", "hellas@example.gr"]);
    assert_eq!(
        data(&v.payload),
        b"Gr\xfc\xdfe aus K\xf6ln \x96 bis bald.\n"
    );
    assert!(v.doc.text.contains("Grüße aus Köln"), "{:?}", v.doc.text);
    assert!(v.snippet.starts_with("Grüße aus Köln"), "{:?}", v.snippet);
}

#[test]
fn group_syntax_flattens_and_a_missing_message_id_is_none() {
    let v = view_of("groups_no_message_id.eml");
    assert_eq!(v.message_id, None);
    assert_eq!(v.doc.message_id, "");
    assert_eq!(v.doc.to, ["joe@acme.com", "kim@sub.acme.com"]);
    assert!(
        v.doc.names.to.contains(&"team".to_string()),
        "{:?}",
        v.doc.names.to
    );
    assert_eq!(v.doc.bcc, ["secret@fund.test"]);
    assert_eq!(v.references, ["orig-1@acme.com", "root-0@acme.com"]);
    assert_eq!(
        v.payload.header("References"),
        Some("<root-0@acme.com> <orig-1@acme.com>")
    );
}

#[test]
fn a_message_rfc822_part_nests_the_embedded_message_as_gmail_does() {
    let v = view_of("rfc822_attachment.eml");
    let fwd = part(&v.payload, "1");
    assert_eq!(
        (fwd.mime_type.as_str(), fwd.filename.as_str()),
        ("message/rfc822", "Intro.eml")
    );
    assert!(data(fwd).starts_with(b"From: Nora <nora@startup.example>"));
    let inner = part(&v.payload, "1.0");
    assert_eq!(inner.mime_type, "multipart/alternative");
    assert_eq!(inner.header("Subject"), Some("Intro"));
    assert_eq!(data(part(&v.payload, "1.0.0")), b"Hello from Nora.");
    assert_eq!(v.doc.text.trim(), "Forwarding the intro below.");

    let mut payload = v.payload.clone();
    let mut n = 0;
    let out = externalize_attachments(&mut payload, 1 << 20, &mut |pid| {
        n += 1;
        format!("att-{pid}-{n}")
    });
    assert_eq!(out.len(), 1, "only the named part");
    assert_eq!(out[0].0, "1");
    assert_eq!(out[0].1, data(fwd));
    let fwd = part(&payload, "1");
    assert_eq!(fwd.body.attachment_id.as_deref(), Some("att-1-1"));
    assert_eq!(fwd.body.data, None);
    assert!(part(&payload, "1.0.0").body.data.is_some());
}

#[test]
fn externalize_takes_named_parts_and_large_non_text_leaves() {
    let v = view_of("nested.eml");
    let mut payload = v.payload.clone();
    let out = externalize_attachments(&mut payload, 10, &mut |pid| format!("A{pid}"));
    let ids: Vec<_> = out.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        ids,
        ["0.1", "1"],
        "large inline png + named csv; text stays inline"
    );
    assert_eq!(out[1].1, b"a,b\n1,2");
    assert_eq!(
        part(&payload, "0.1").body.attachment_id.as_deref(),
        Some("A0.1")
    );
    assert_eq!(
        part(&payload, "0.1").body.size,
        data(part(&v.payload, "0.1")).len() as u64
    );
    assert!(
        part(&payload, "0.0.1").body.data.is_some(),
        "html stays inline"
    );
    let mut payload = v.payload.clone();
    let out = externalize_attachments(&mut payload, 1 << 20, &mut |pid| pid.to_string());
    assert_eq!(out.len(), 1, "small png stays inline: {out:?}");
}

#[test]
fn html_only_mail_snippets_the_text_without_tags() {
    let v = view_of("html_only.eml");
    assert!(!v.snippet.contains('<'), "{}", v.snippet);
    assert!(
        v.snippet
            .contains("Tom &amp; Jerry&#39;s &quot;special&quot; offer"),
        "{}",
        v.snippet
    );
    assert!(
        !v.snippet.contains("color: red"),
        "style is not text: {}",
        v.snippet
    );
}

#[test]
fn a_truncated_multipart_still_yields_both_parts() {
    let v = view_of("truncated_multipart.eml");
    assert_eq!(v.payload.mime_type, "multipart/mixed");
    assert_eq!(data(part(&v.payload, "0")), b"first part");
    assert!(data(part(&v.payload, "1")).starts_with(&[0, 1, 2, 3, 4, 5]));
}

#[test]
fn malformed_inputs_never_panic() {
    let long_header = format!("Subject: {}\n\nbody", "x".repeat(100_000));
    let deep: String = (0..200)
        .map(|i| format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"))
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("one newline", b"\n".to_vec()),
        ("no colon", b"garbage without headers".to_vec()),
        ("8-bit garbage", (0..=255u8).cycle().take(5000).collect()),
        ("header only", b"Subject: hi".to_vec()),
        (
            "bad boundary",
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n".to_vec(),
        ),
        (
            "no boundary param",
            b"Content-Type: multipart/mixed\n\nbody".to_vec(),
        ),
        (
            "bad base64",
            b"Content-Transfer-Encoding: base64\n\n!!!@@@".to_vec(),
        ),
        (
            "bad qp",
            b"Content-Transfer-Encoding: quoted-printable\n\n=Z=\n=".to_vec(),
        ),
        (
            "bad date",
            b"Date: yesterday-ish\nFrom: <>\nTo: ,,,;\n\nx".to_vec(),
        ),
        ("long header", long_header.into_bytes()),
        ("deep nesting", deep.into_bytes()),
        ("rfc822 empty", b"Content-Type: message/rfc822\n\n".to_vec()),
        ("nul bytes", b"From: a\0b@c\nSubject: \0\n\n\0\0".to_vec()),
    ];
    for (what, raw) in cases {
        let v = gmail_view(&raw);
        assert_invariants(&v.payload, what);
        assert!(v.snippet.chars().count() <= 200 * 6, "{what}");
    }
    assert_eq!(gmail_view(b"").payload.body.size, 0);
}

fn mail_parser_corpus() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let src = home.join("registry/src");
    std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cargo registry not found at {}: {e}", src.display()))
        .map(|e| e.unwrap().path().join("mail-parser-0.11.9/resources/eml"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "mail-parser-0.11.9/resources/eml not found under {}",
                src.display()
            )
        })
}

fn cpython_email_data() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import test, os; print(os.path.dirname(test.__file__))",
        ])
        .output()
        .expect("python3 is needed to locate CPython's test_email corpus");
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let data = dir.join("test_email/data");
    assert!(
        data.is_dir(),
        "CPython's test_email/data not found at {} (install python3's test package)",
        data.display()
    );
    data
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn check_corpus(files: &[PathBuf]) {
    for f in files {
        let raw = std::fs::read(f).unwrap();
        let what = f.display().to_string();
        let v = gmail_view(&raw);
        assert_invariants(&v.payload, &what);
        let mut payload = v.payload.clone();
        let out = externalize_attachments(&mut payload, 0, &mut |p| format!("a{p}"));
        for (pid, bytes) in out {
            let p = part(&payload, &pid);
            assert_eq!(p.body.size, bytes.len() as u64, "{what}: {pid}");
            assert!(
                p.body.data.is_none() && p.body.attachment_id.is_some(),
                "{what}"
            );
        }
    }
}

#[test]
fn the_whole_mail_parser_corpus_goes_through_without_panics() {
    let mut files = Vec::new();
    files_under(&mail_parser_corpus(), "eml", &mut files);
    assert!(
        files.len() > 50,
        "mail-parser corpus looks incomplete: {}",
        files.len()
    );
    check_corpus(&files);
}

#[test]
fn cpython_email_test_data_goes_through_without_panics() {
    let mut files = Vec::new();
    files_under(&cpython_email_data(), "txt", &mut files);
    assert!(
        files.len() > 30,
        "CPython corpus looks incomplete: {}",
        files.len()
    );
    check_corpus(&files);
}
