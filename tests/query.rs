//! fake_google::query: Gmail's `q` language, table-driven over a handful of
//! documents built from real RFC 822 bytes (through `gmail_view`, as the
//! fake does) plus labels and internal dates.

use email_sidecar::fake_google::mime::gmail_view;
use email_sidecar::fake_google::query::{parse, parse_at, SearchDoc};

const DAY_MS: i64 = 86_400_000;
/// 2024-03-10T00:00:00Z
const MAR_10: i64 = 1_710_028_800_000;

fn doc(raw: &str, labels: &[&str], internal_date_ms: i64) -> SearchDoc {
    let mut d = gmail_view(raw.as_bytes()).doc;
    d.labels = labels.iter().map(|l| l.to_string()).collect();
    d.internal_date_ms = internal_date_ms;
    d
}

/// Four messages: an investor's pitch, a sent reply, a spam, an IDN sender.
fn corpus() -> Vec<(&'static str, SearchDoc)> {
    vec![
        (
            "pitch",
            doc(
                "From: \"Alice Smith\" <Alice.Smith@Acme.com>\nTo: Bob <bob@fund.test>\n\
                 Cc: deals+q1@sub.acme.com\nSubject: Series A deck\n\
                 Message-ID: <pitch-1@acme.com>\n\nThe revenue grew fast. Term sheet attached.\n",
                &["INBOX", "UNREAD", "Investors/Hot"],
                MAR_10 - DAY_MS,
            ),
        ),
        (
            "reply",
            doc(
                "From: bob@fund.test\nTo: alice.smith@acme.com\nBcc: carol@fund.test\n\
                 Subject: Re: Series A deck\nMessage-ID: <reply-1@fund.test>\n\n\
                 Thanks, the growth is impressive.\n",
                &["SENT"],
                MAR_10 + DAY_MS / 2,
            ),
        ),
        (
            "spam",
            doc(
                "From: winner@lottery.example\nTo: bob@fund.test\nSubject: You won\n\
                 Message-ID: <spam-1@lottery.example>\n\nClaim the revenue now.\n",
                &["SPAM"],
                MAR_10 + 3 * DAY_MS,
            ),
        ),
        (
            "idn",
            doc(
                "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@xn--bcher-kva.example>\n\
                 To: alice+deals@acme.com\nSubject: Buchhandel\n\
                 Message-ID: <idn-1@xn--bcher-kva.example>\n\nUnsere B\u{fc}cher.\n",
                &["INBOX"],
                MAR_10 + 10 * DAY_MS,
            ),
        ),
    ]
}

fn hits(q: &str) -> Vec<&'static str> {
    let query = parse_at(q, MAR_10 + 12 * DAY_MS).unwrap_or_else(|e| panic!("{q:?}: {e}"));
    corpus()
        .into_iter()
        .filter(|(_, d)| query.matches(d))
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn each_operator_selects_the_right_messages() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["pitch", "reply", "spam", "idn"]),
        ("from:alice.smith@acme.com", &["pitch"]),
        ("from:ALICE.SMITH@ACME.COM", &["pitch"]),
        ("from:alice", &["pitch"]),
        ("from:smith", &["pitch"]),
        ("from:ali", &[]),
        ("from:\"alice smith\"", &["pitch"]),
        ("to:alice.smith@acme.com", &["reply"]),
        ("to:bob", &["pitch", "spam"]),
        ("cc:sub.acme.com", &["pitch"]),
        ("cc:acme.com", &["pitch"]),
        ("bcc:carol@fund.test", &["reply"]),
        ("subject:deck", &["pitch", "reply"]),
        ("subject:\"series a\"", &["pitch", "reply"]),
        ("subject:revenue", &[]),
        ("revenue", &["pitch", "spam"]),
        ("\"term sheet\"", &["pitch"]),
        ("\"sheet term\"", &[]),
        ("rfc822msgid:pitch-1@acme.com", &["pitch"]),
        ("rfc822msgid:<reply-1@fund.test>", &["reply"]),
        ("label:inbox", &["pitch", "idn"]),
        ("in:sent", &["reply"]),
        ("in:spam", &["spam"]),
        ("in:anywhere", &["pitch", "reply", "spam", "idn"]),
        ("is:unread", &["pitch"]),
        ("is:read in:inbox", &["idn"]),
        ("label:investors-hot", &["pitch"]),
        ("label:\"Investors/Hot\"", &["pitch"]),
        ("after:2024/03/10", &["reply", "spam", "idn"]),
        ("after:2024-03-10 before:2024/03/13", &["reply"]),
        ("before:03/10/2024", &["pitch"]),
        ("after:1710028800", &["reply", "spam", "idn"]),
        ("before:1710028800", &["pitch"]),
        ("newer_than:5d", &["idn"]),
        ("older_than:10d", &["pitch", "reply"]),
        ("FROM:bob SUBJECT:deck", &["reply"]),
    ];
    for (q, want) in cases {
        assert_eq!(hits(q), *want, "query {q:?}");
    }
}

#[test]
fn or_binds_tighter_than_implicit_and() {
    // Gmail: `a b OR c` is `a AND (b OR c)`.
    assert_eq!(hits("revenue from:winner OR from:alice"), ["pitch", "spam"]);
    assert_eq!(hits("subject:deck from:bob OR in:spam"), ["reply"]);
    assert_eq!(
        hits("(subject:deck from:bob) OR in:spam"),
        ["reply", "spam"]
    );
    assert_eq!(hits("subject:deck AND from:bob"), ["reply"]);
    assert_eq!(
        hits("in:sent OR in:spam OR from:jürgen"),
        ["reply", "spam", "idn"]
    );
}

#[test]
fn negation_braces_and_operator_groups() {
    let cases: &[(&str, &[&str])] = &[
        ("-in:spam", &["pitch", "reply", "idn"]),
        ("revenue -from:winner", &["pitch"]),
        ("-{in:spam in:sent}", &["pitch", "idn"]),
        ("{from:winner from:bob}", &["reply", "spam"]),
        ("from:{winner bob}", &["reply", "spam"]),
        ("from:(winner OR bob)", &["reply", "spam"]),
        ("subject:(series deck)", &["pitch", "reply"]),
        ("-(subject:deck OR in:spam)", &["idn"]),
        ("--in:spam", &["spam"]),
        ("pre-seed", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(hits(q), *want, "query {q:?}");
    }
}

#[test]
fn domains_match_subdomains_but_not_lookalikes_and_addresses_match_exactly() {
    let cases: &[(&str, &[&str])] = &[
        ("from:acme.com", &["pitch"]),
        ("from:@acme.com", &["pitch"]),
        ("cc:@sub.acme.com", &["pitch"]),
        ("cc:@acme.com", &["pitch"]),
        ("from:cme.com", &[]),
        ("from:@smith.acme.com", &[]),
        ("to:alice+deals@acme.com", &["idn"]),
        ("to:alice@acme.com", &[]),
        ("to:alice+other@acme.com", &[]),
        ("cc:deals+q1@sub.acme.com", &["pitch"]),
        ("cc:deals@sub.acme.com", &[]),
        ("from:alice.smith", &["pitch"]),
    ];
    for (q, want) in cases {
        assert_eq!(hits(q), *want, "query {q:?}");
    }
}

#[test]
fn idn_domains_match_in_unicode_and_punycode_form() {
    for q in [
        "from:@bücher.example",
        "from:bücher.example",
        "from:xn--bcher-kva.example",
        "from:juergen@BÜCHER.example",
        "from:juergen@xn--bcher-kva.example",
        "from:jürgen",
    ] {
        assert_eq!(hits(q), ["idn"], "query {q:?}");
    }
}

#[test]
fn invalid_queries_are_errors_with_a_message() {
    for q in [
        "\"unbalanced",
        "(a b",
        "a b)",
        "{a b",
        "a}",
        "a OR",
        "OR a",
        "a OR OR b",
        "from:",
        "after:yesterday",
        "before:2024/13/01",
        "in:nowhere",
        "is:bogus",
        "has:attachment",
        "rfc822msgid:<>",
        "older_than:5w",
    ] {
        let err = parse_at(q, 0).expect_err(q);
        assert!(!err.is_empty(), "{q:?}");
    }
    let err = parse("newer_than:2d").unwrap_err();
    assert!(err.contains("parse_at"), "{err}");
}

#[test]
fn unknown_prefixes_are_words_not_operators() {
    let q = parse("http://acme.com").unwrap();
    let d = doc("Subject: see http://acme.com now\n\nx", &[], 0);
    assert!(q.matches(&d));
}

#[test]
fn spam_and_trash_are_searched_only_when_named() {
    assert!(parse("in:anywhere").unwrap().searches_spam_trash());
    assert!(parse("a OR label:trash").unwrap().searches_spam_trash());
    assert!(!parse("in:inbox revenue").unwrap().searches_spam_trash());
    assert!(parse("").unwrap().is_empty());
}

#[test]
fn long_queries_parse_in_linear_time_and_deep_nesting_is_refused() {
    let long: String = (0..2000)
        .map(|i| format!("from:user{i}@x.com OR "))
        .collect::<String>()
        + "x";
    assert!(long.len() > 30_000);
    let t = std::time::Instant::now();
    let q = parse(&long).unwrap();
    assert!(!q.matches(&corpus()[0].1));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    let deep = "(".repeat(5000) + "a" + &")".repeat(5000);
    assert!(parse(&deep).unwrap_err().contains("nests"));
    let negs = "-".repeat(5000) + "a";
    assert!(parse(&negs).is_err());
}
