//! Tests of `parse` and `threads`: golden files for chosen fixtures, tables
//! for addresses, dates, subjects and file names, and every message of the
//! mail-parser and CPython corpora through both the metadata and full paths.
//! Gmail-shaped payloads come from the fake Gmail's own MIME view. Inline
//! images and their Content-IDs: see `parse/inline.rs`.

#[path = "parse/inline.rs"]
mod inline;

use email_sidecar::fake_google::mime::gmail_view;
use email_sidecar::google::types::{Header, Message, MessagePart};
use email_sidecar::parse::{
    classify, normalize_email, normalize_message_id, parse_message, sanitize_filename,
    snippet_text, Direction, ParseError, ParsedEmail, Role,
};
use email_sidecar::threads::{normalize_subject, same_thread, thread_key, ThreadInfo};
use std::path::{Path, PathBuf};

/// 2024-05-01T12:00:00Z, a plausible internalDate distinct from any Date.
const INTERNAL_MS: i64 = 1_714_564_800_000;

fn message(raw: &[u8], gmail_id: &str, full: bool) -> Message {
    let view = gmail_view(raw);
    let payload = if full {
        view.payload
    } else {
        metadata_of(view.payload)
    };
    Message {
        id: gmail_id.into(),
        thread_id: format!("t-{gmail_id}"),
        label_ids: vec!["INBOX".into()],
        snippet: Some(view.snippet),
        internal_date: Some(INTERNAL_MS),
        size_estimate: Some(raw.len() as u64),
        payload: Some(payload),
        ..Message::default()
    }
}

/// What `format=metadata` returns: the root's type and headers, no bodies.
fn metadata_of(full: MessagePart) -> MessagePart {
    MessagePart {
        part_id: full.part_id,
        mime_type: full.mime_type,
        headers: full.headers,
        ..MessagePart::default()
    }
}

fn parse_raw(raw: &[u8], full: bool) -> ParsedEmail {
    parse_message(&message(raw, "g1", full)).unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse")
}

fn headers_msg(headers: &[(&str, &str)]) -> Message {
    Message {
        id: "h1".into(),
        internal_date: Some(INTERNAL_MS),
        payload: Some(MessagePart {
            mime_type: "text/plain".into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            ..MessagePart::default()
        }),
        ..Message::default()
    }
}

#[test]
fn every_fixture_matches_its_golden_file() {
    let mut checked = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    for path in names {
        let raw = std::fs::read(&path).unwrap();
        let parsed = parse_raw(&raw, true);
        let class = classify(&parsed, &["alice@fund.test".into()], &["fund.test".into()]);
        let actual = serde_json::to_string_pretty(&serde_json::json!({
            "parsed": parsed,
            "classification": class,
        }))
        .unwrap()
            + "\n";
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let golden = fixtures().join("golden").join(format!("{stem}.json"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", golden.display()));
        assert_eq!(actual, expected, "golden mismatch for {stem}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} fixtures found");
}

#[test]
fn metadata_and_full_views_of_a_fixture_agree_on_everything_but_bodies() {
    for name in [
        "participants.eml",
        "bulk-no-msgid-hostile.eml",
        "utf8-qp-reply.eml",
    ] {
        let raw = std::fs::read(fixtures().join(name)).unwrap();
        let (meta, full) = (parse_raw(&raw, false), parse_raw(&raw, true));
        assert_same_headers(&meta, &full, name);
        assert!(meta.text.is_none() && meta.html.is_none() && meta.attachments.is_empty());
        assert!(full.text.is_some(), "{name}: full view has a text body");
    }
}

fn assert_same_headers(meta: &ParsedEmail, full: &ParsedEmail, what: &str) {
    assert_eq!(meta.message_id, full.message_id, "{what}");
    assert_eq!(meta.message_id_synthesized, full.message_id_synthesized);
    assert_eq!(meta.subject, full.subject, "{what}");
    assert_eq!(
        (&meta.from, &meta.to, &meta.cc, &meta.bcc),
        (&full.from, &full.to, &full.cc, &full.bcc),
        "{what}"
    );
    assert_eq!(meta.date, full.date, "{what}");
    assert_eq!(meta.headers, full.headers, "{what}");
    assert_eq!(meta.bulk, full.bulk, "{what}");
    assert_eq!(
        (&meta.in_reply_to, &meta.references),
        (&full.in_reply_to, &full.references)
    );
}

#[test]
fn participants_decode_groups_encoded_names_idn_plus_tags_and_case() {
    let raw = std::fs::read(fixtures().join("participants.eml")).unwrap();
    let p = parse_raw(&raw, false);
    let from = p.from.clone().unwrap();
    assert_eq!(from.email, "juergen.mueller+crm@example.de");
    assert_eq!(from.name.as_deref(), Some("Jürgen Müller"));
    let to: Vec<(&str, Option<&str>)> =
        p.to.iter()
            .map(|a| (a.email.as_str(), a.name.as_deref()))
            .collect();
    assert_eq!(
        to,
        vec![
            ("john.doe@acme.com", Some("Doe, John")),
            ("bob@example.org", Some("Bob Smith")),
            ("f.lefevre@xn--bcher-kva.example", Some("François Lefèvre")),
        ]
    );
    assert_eq!(p.cc[0].name.as_deref(), Some("Иванов"));
    assert_eq!(p.cc[1].email, "alice@fund.test");
    assert_eq!(p.bcc[0].email, "secret@fund.test");
    assert!(p.reply_to.is_empty(), "an empty group has no addresses");
    assert_eq!(p.subject, "Réunion trimestrielle – été");
    assert_eq!(p.message_id, "Part1.ABC.def@mail.example.de");
    assert_eq!(p.date.unwrap().to_rfc3339(), "2003-07-01T18:52:37+00:00");
}

#[test]
fn addresses_normalise_case_and_idn_but_keep_plus_tags_and_dots() {
    let cases = [
        ("John.Doe+CRM@Example.COM", Some("john.doe+crm@example.com")),
        ("<a@b.example>", Some("a@b.example")),
        ("user@Bücher.Example", Some("user@xn--bcher-kva.example")),
        ("user@例え.テスト", Some("user@xn--r8jz45g.xn--zckzah")),
        ("x@host.example.", Some("x@host.example")),
        ("no-at-sign", None),
        ("@domain.only", None),
        ("local@", None),
        ("two words@example.com", None),
    ];
    for (raw, want) in cases {
        assert_eq!(normalize_email(raw).as_deref(), want, "{raw}");
    }
}

#[test]
fn unparsable_addresses_are_skipped_but_kept_in_headers() {
    let msg = headers_msg(&[
        ("From", "not an address"),
        ("To", "ok@example.com, garbage, <>"),
        ("Message-ID", "<x@y>"),
    ]);
    let p = parse_message(&msg).unwrap();
    assert!(p.from.is_none());
    assert_eq!(p.to.len(), 1);
    assert_eq!(p.to[0].email, "ok@example.com");
    assert_eq!(p.headers[0], ("From".into(), "not an address".into()));
}

#[test]
fn dates_convert_zones_and_obsolete_forms_and_fall_back_to_internal_date() {
    let cases = [
        (
            "Tue, 1 Jul 2003 10:52:37 +0200",
            Some("2003-07-01T08:52:37+00:00"),
        ),
        (
            "Mon, 15 Jan 2024 23:30:00 +0530",
            Some("2024-01-15T18:00:00+00:00"),
        ),
        (
            "Thu, 13 Feb 1997 09:30:00 EST",
            Some("1997-02-13T14:30:00+00:00"),
        ),
        (
            "Thu, 13 Feb 97 09:30:00 EST",
            Some("1997-02-13T14:30:00+00:00"),
        ),
        (
            "13 Feb 2020 23:59:59 -1200",
            Some("2020-02-14T11:59:59+00:00"),
        ),
        (
            "Fri, 21 Nov 1997 09:55:06 GMT",
            Some("1997-11-21T09:55:06+00:00"),
        ),
        // No numeric zone: RFC 5322 §4.3 reads it as -0000 (UTC).
        (
            "Fri, 21 Nov 1997 09:55:06 (PST)",
            Some("1997-11-21T09:55:06+00:00"),
        ),
        ("yesterday at noon", None),
    ];
    let fallback = "2024-05-01T12:00:00+00:00";
    for (raw, want) in cases {
        let p = parse_message(&headers_msg(&[("Date", raw)])).unwrap();
        let got = p.date.map(|d| d.to_rfc3339());
        // `None`: not a date; the internalDate stands in.
        assert_eq!(got.as_deref(), Some(want.unwrap_or(fallback)), "{raw}");
        assert_eq!(p.internal_date.unwrap().to_rfc3339(), fallback);
    }
    let p = parse_message(&headers_msg(&[("Subject", "no date")])).unwrap();
    assert_eq!(p.date.unwrap().to_rfc3339(), fallback);
    let garbage = parse_message(&headers_msg(&[("Date", "yesterday at noon")])).unwrap();
    assert_eq!(garbage.date.unwrap().to_rfc3339(), fallback);
}

#[test]
fn body_charsets_are_decoded_to_utf8() {
    let read = |n: &str| parse_raw(&std::fs::read(fixtures().join(n)).unwrap(), true);
    let latin = read("charsets-latin1.eml");
    assert_eq!(
        latin.text.as_deref().map(str::trim),
        Some("Café crème ? naïve")
    );
    assert_eq!(
        latin.html.as_deref().map(str::trim),
        Some("<p>“Smart quotes” € 100</p>")
    );
    // mail-parser decodes ISO-2022-JP only with its `full_encoding`
    // feature (encoding_rs), which this build does not enable: the 7-bit
    // escape sequences are kept verbatim (lossless), not mangled or dropped.
    let jp = read("iso2022jp-no-date.eml");
    assert_eq!(jp.subject, "\u{1b}$B2q5D$N$*CN$i$;\u{1b}(B");
    assert_eq!(
        jp.text.as_deref().map(str::trim),
        Some("\u{1b}$BK\\J8$G$9!#\u{1b}(B")
    );
    assert_eq!(jp.date, jp.internal_date, "no Date header: internalDate");
    let qp = read("utf8-qp-reply.eml");
    assert_eq!(
        qp.text.as_deref().map(str::trim),
        Some("Grüße aus München — ✓ done")
    );
}

#[test]
fn bulk_is_flagged_by_list_precedence_and_auto_submitted_headers() {
    let cases: &[(&[(&str, &str)], bool)] = &[
        (&[("List-Unsubscribe", "<mailto:u@x>")], true),
        (&[("List-Id", "deals <deals.list.example>")], true),
        (&[("Precedence", "bulk")], true),
        (&[("Precedence", "List")], true),
        (&[("Precedence", "junk")], true),
        (&[("Precedence", "first-class")], false),
        (&[("Auto-Submitted", "auto-replied")], true),
        (
            &[("Auto-Submitted", "auto-generated; owner-email=x@y")],
            true,
        ),
        (&[("Auto-Submitted", "no")], false),
        (&[("Subject", "hello")], false),
    ];
    for (headers, want) in cases {
        let p = parse_message(&headers_msg(headers)).unwrap();
        assert_eq!(p.bulk, *want, "{headers:?}");
    }
}

#[test]
fn a_missing_message_id_is_synthesized_the_same_in_every_mailbox_and_view() {
    let raw = std::fs::read(fixtures().join("bulk-no-msgid-hostile.eml")).unwrap();
    let alice_meta = parse_message(&message(&raw, "alice-1", false)).unwrap();
    let mut bob = message(&raw, "bob-9", true);
    bob.internal_date = Some(INTERNAL_MS + 3_600_000);
    bob.label_ids = vec!["CATEGORY_UPDATES".into()];
    let bob_full = parse_message(&bob).unwrap();
    assert!(alice_meta.message_id_synthesized && bob_full.message_id_synthesized);
    assert_eq!(alice_meta.message_id, bob_full.message_id);
    let (hex, domain) = alice_meta.message_id.split_once('@').unwrap();
    assert_eq!(domain, "synthesized.email-sidecar");
    assert_eq!(hex.len(), 32);
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));

    let other = String::from_utf8(raw.clone())
        .unwrap()
        .replace("Weekly digest", "Monthly digest");
    let other = parse_raw(other.as_bytes(), false);
    assert_ne!(
        other.message_id, alice_meta.message_id,
        "subject is part of the hash"
    );

    for empty in ["", "   ", "<>"] {
        let p = parse_message(&headers_msg(&[("Message-ID", empty), ("Subject", "s")])).unwrap();
        assert!(p.message_id_synthesized, "{empty:?}");
    }
}

#[test]
fn gmails_escaped_snippet_is_stored_as_the_text_it_stands_for() {
    for (escaped, text) in [
        ("I&#39;m in", "I'm in"),
        ("&lt;b&gt; &amp; &quot;q&quot;", "<b> & \"q\""),
        // An entity written in the mail itself stays literal text.
        ("see &amp;lt;tag&amp;gt;", "see &lt;tag&gt;"),
        (
            "&#8217;curly&#x2019; &eacute;t&eacute;",
            "\u{2019}curly\u{2019} été",
        ),
        ("plain 100% & more", "plain 100% & more"),
        ("", ""),
    ] {
        assert_eq!(snippet_text(escaped), text, "{escaped}");
    }
    // Through the parser, from the fake Gmail's (escaped) view of a body.
    let raw = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: s\r\nMessage-ID: <q@x>\r\n\r\nI'm <sure> \"Q&A\"\r\n";
    let m = message(raw, "g-snip", true);
    assert_eq!(
        m.snippet.as_deref(),
        Some("I&#39;m &lt;sure&gt; &quot;Q&amp;A&quot;")
    );
    let parsed = parse_message(&m).unwrap();
    assert_eq!(parsed.snippet, "I'm <sure> \"Q&A\"");
}

#[test]
fn message_ids_lose_brackets_and_whitespace_and_lowercase_only_the_domain() {
    let cases = [
        ("<Abc.DEF@Example.COM>", "Abc.DEF@example.com"),
        ("  <x@y.z>  ", "x@y.z"),
        ("no-brackets@Host", "no-brackets@host"),
        ("<a\"@\"b@C.D>", "a\"@\"b@c.d"),
        ("<NoDomain>", "NoDomain"),
    ];
    for (raw, want) in cases {
        assert_eq!(normalize_message_id(raw), want, "{raw}");
    }
}

#[test]
fn attachments_with_hostile_filenames_get_safe_names() {
    let raw = std::fs::read(fixtures().join("bulk-no-msgid-hostile.eml")).unwrap();
    let p = parse_raw(&raw, true);
    let names: Vec<&str> = p.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names[0], "passwd");
    assert_eq!(names[1], "evil.exe");
    assert_eq!(names[2], "bellnewline.txt");
    assert!(names[3].len() <= 200 && names[3].ends_with(".pdf"));
    assert_eq!(names[4], "attachment-5", "unnamed inline image, partId 5");
    assert_eq!(p.attachments[0].data.as_deref(), Some(&b"root:x:0:0:"[..]));
    assert_eq!(p.attachments[0].size, 11);
    assert_eq!(p.attachments.last().unwrap().mime_type, "message/rfc822");
    assert_eq!(p.text.as_deref().map(str::trim), Some("Digest body."));
}

#[test]
fn sanitize_filename_strips_paths_controls_and_leading_dots() {
    let long = format!("{}.tar.gz", "é".repeat(150));
    let cases: Vec<(&str, String)> = vec![
        ("../../etc/passwd", "passwd".into()),
        ("C:\\x", "x".into()),
        ("C:\\Windows\\evil.exe", "evil.exe".into()),
        ("a\u{7}b\nc\r.txt", "abc.txt".into()),
        ("...hidden", "hidden".into()),
        ("..", "attachment-1.2".into()),
        ("", "attachment-1.2".into()),
        ("  spaced   name .pdf ", "spaced name .pdf".into()),
        ("what?<>|*\".doc", "what.doc".into()),
        ("report.pdf", "report.pdf".into()),
    ];
    for (raw, want) in cases {
        assert_eq!(sanitize_filename(raw, "1.2"), want, "{raw:?}");
    }
    let cut = sanitize_filename(&long, "1");
    assert!(cut.len() <= 200, "{} bytes", cut.len());
    assert!(cut.ends_with(".gz") && cut.starts_with('é'));
}

#[test]
fn classify_sets_direction_internal_only_and_bcc_only_when_outbound() {
    let raw = std::fs::read(fixtures().join("participants.eml")).unwrap();
    let p = parse_raw(&raw, false);
    let inbound = classify(&p, &["alice@fund.test".into()], &["fund.test".into()]);
    assert_eq!(inbound.direction, Direction::Inbound);
    assert!(!inbound.internal_only);
    assert!(inbound.participants.iter().all(|(r, _)| *r != Role::Bcc));
    let out = classify(
        &p,
        &["Juergen.Mueller+CRM@EXAMPLE.de".into()],
        &["fund.test".into()],
    );
    assert_eq!(out.direction, Direction::Outbound);
    let bcc: Vec<&str> = out
        .participants
        .iter()
        .filter(|(r, _)| *r == Role::Bcc)
        .map(|(_, a)| a.email.as_str())
        .collect();
    assert_eq!(bcc, vec!["secret@fund.test"]);

    let internal = parse_message(&headers_msg(&[
        ("From", "alice@fund.test"),
        ("To", "bob@London.Fund.Test"),
        ("Cc", "carol@fund.test"),
    ]))
    .unwrap();
    let c = classify(
        &internal,
        &["alice@fund.test".into()],
        &["FUND.test".into()],
    );
    assert!(c.internal_only && c.direction == Direction::Outbound);
    let lookalike = parse_message(&headers_msg(&[
        ("From", "alice@fund.test"),
        ("To", "eve@notfund.test"),
    ]))
    .unwrap();
    assert!(!classify(&lookalike, &[], &["fund.test".into()]).internal_only);
    let nobody = parse_message(&headers_msg(&[("Subject", "x")])).unwrap();
    assert!(!classify(&nobody, &[], &["fund.test".into()]).internal_only);
}

#[test]
fn a_message_without_payload_is_an_error_naming_it() {
    let msg = Message {
        id: "abc".into(),
        ..Message::default()
    };
    let err = parse_message(&msg).unwrap_err();
    assert_eq!(
        err,
        ParseError::NoPayload {
            gmail_id: "abc".into()
        }
    );
    assert!(err.is_permanent() && err.to_string().contains("abc"));
}

#[test]
fn subjects_lose_reply_and_forward_prefixes_in_many_languages() {
    let cases = [
        ("Re: Fwd: AW: SV: x", "x"),
        ("RE[2]: x", "x"),
        ("Re[12] : x", "x"),
        ("Re(3): x", "x"),
        ("[list] Re: x", "x"),
        ("Re: [list] Re: x", "x"),
        ("Fwd:x", "x"),
        ("FW: Fw: fw: x", "x"),
        ("WG: Antw: x", "x"),
        ("VS: Vs: x", "x"),
        ("Ref: Rif: R: x", "x"),
        ("RV: Enc: x", "x"),
        ("TR: Réf : x", "x"),
        ("Odp: PD: x", "x"),
        ("YNT: x", "x"),
        ("ΑΠ: x", "x"),
        ("回复：x", "x"),
        ("Re^2: x", "x"),
        ("Rebate offer", "rebate offer"),
        ("Area update", "area update"),
        ("Regarding: the deal", "regarding: the deal"),
        ("Re:   Quarterly    Numbers  ", "quarterly numbers"),
        ("RE: QUARTERLY numbers", "quarterly numbers"),
        ("Re:", ""),
        ("", ""),
        ("[PATCH]", "[patch]"),
        ("Re x", "re x"),
        ("Fwd: Re: Über den Vertrag", "über den vertrag"),
    ];
    for (raw, want) in cases {
        assert_eq!(normalize_subject(raw), want, "{raw:?}");
    }
}

#[test]
fn threads_join_by_references_and_only_by_subject_when_sharing_an_ancestor() {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (none, root) = (ids(&[]), ids(&["root@x"]));
    let a = ThreadInfo {
        message_id: "root@x",
        in_reply_to: &none,
        references: &none,
        subject: "Deal",
    };
    let b = ThreadInfo {
        message_id: "b@x",
        in_reply_to: &root,
        references: &root,
        subject: "Something else entirely",
    };
    let c = ThreadInfo {
        message_id: "c@x",
        in_reply_to: &root,
        references: &root,
        subject: "RE: deal",
    };
    let stranger = ThreadInfo {
        message_id: "s@x",
        in_reply_to: &none,
        references: &none,
        subject: "Re: Deal",
    };
    assert!(same_thread(&a, &b) && same_thread(&b, &a), "direct reply");
    assert!(same_thread(&a, &c));
    assert!(!same_thread(&b, &c), "shared ancestor, different subject");
    let b2 = ThreadInfo {
        subject: "Aw: deal",
        ..b
    };
    assert!(same_thread(&b2, &c), "shared ancestor, same subject");
    assert!(!same_thread(&a, &stranger), "subject alone never joins");
    assert_eq!(thread_key(&a), "root@x");
    assert_eq!(thread_key(&b), "root@x");
}

/// Every file under `dir` (recursively) accepted by `keep`.
fn corpus(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

fn mail_parser_corpus() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let src = home.join("registry/src");
    let found = std::fs::read_dir(&src)
        .ok()
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path().join("mail-parser-0.11.9/resources/eml"))
        .find(|p| p.is_dir());
    found.unwrap_or_else(|| {
        panic!(
            "mail-parser 0.11.9 corpus not found under {}",
            src.display()
        )
    })
}

fn cpython_corpus() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import test,os;print(os.path.dirname(test.__file__))"])
        .output()
        .expect("python3 is needed to locate CPython's test_email data");
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("test_email/data");
    assert!(
        dir.is_dir(),
        "CPython test_email data not found at {}",
        dir.display()
    );
    dir
}

#[test]
fn every_corpus_message_parses_in_both_views_without_panic_and_with_invariants() {
    let mut files = Vec::new();
    let eml = |p: &Path| p.extension().is_some_and(|e| e == "eml");
    corpus(&mail_parser_corpus(), &eml, &mut files);
    let from_mail_parser = files.len();
    corpus(&cpython_corpus(), &|_| true, &mut files);
    assert!(
        from_mail_parser >= 100,
        "mail-parser corpus: {from_mail_parser} files"
    );
    assert!(
        files.len() - from_mail_parser >= 50,
        "CPython corpus too small"
    );
    for path in &files {
        let raw = std::fs::read(path).unwrap();
        let what = path.display().to_string();
        let meta = parse_message(&message(&raw, "m", false)).unwrap();
        let full = parse_message(&message(&raw, "m", true)).unwrap();
        assert_same_headers(&meta, &full, &what);
        for p in [&meta, &full] {
            assert!(!p.message_id.is_empty(), "{what}");
            let everyone = p.from.iter().chain(&p.to).chain(&p.cc).chain(&p.bcc);
            for a in everyone.chain(&p.reply_to) {
                assert!(a.email.contains('@'), "{what}: {}", a.email);
                assert_eq!(a.email, a.email.to_lowercase(), "{what}");
            }
            for a in &p.attachments {
                assert!(!a.filename.is_empty() && a.filename.len() <= 200, "{what}");
                assert!(!a.filename.contains(['/', '\\']) && !a.filename.starts_with('.'));
            }
            assert!(p.date.is_some(), "{what}: internalDate fallback");
        }
    }
}
