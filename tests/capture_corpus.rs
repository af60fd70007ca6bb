//! Two public corpora of real-world and hostile mail through the whole
//! capture engine: every message of mail-parser 0.11.9's `resources/eml`
//! and of CPython's `test/test_email/data` (`msg_*.txt`) is delivered into
//! a fake Gmail mailbox and captured by `Capture::sync_account` over HTTP.
//! The directory is built from the corpus itself (a contact per sender, an
//! investor per recipient domain), so the full path (bodies, attachments)
//! runs for every message that has a usable address. Checks: the sync
//! finishes, nothing is silently lost (a sighting, or a failure recorded
//! with its reason), matching and match-only bodies hold per email, and a
//! table of chosen messages is stored exactly as their raw headers say.
//!
//! A corpus that cannot be found fails the tests loudly, unless
//! `SKIP_CORPUS=1` is set.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use email_sidecar::capture::{SyncMode, SyncReport};
use email_sidecar::clock::ManualClock;
use email_sidecar::fake_google::mime::{externalize_attachments, gmail_view};
use email_sidecar::google::types::{Message, MessagePart};
use email_sidecar::matching::{is_public_domain, normalize_address};
use email_sidecar::parse::{classify, parse_message, ParsedEmail};
use email_sidecar::store::{Directory, DirectoryContact, DirectoryInvestor, RunStatus};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::Digest;
use support::app::{spawn_app, AppOptions, TestApp};

const ALICE: &str = "alice@fund.test";
/// Enrolled too (python.org is one of our domains): the corpus's mail from
/// Barry is outbound, and Barry-to-Barry is internal.
const BARRY: &str = "barry@python.org";
const OUR_DOMAINS: [&str; 2] = ["fund.test", "python.org"];
/// The fake's clock: every internalDate, so the Date fallback is known.
const NOW_MS: i64 = 1_781_515_800_000; // 2026-06-15T09:30:00Z
/// The fake's `INLINE_LIMIT` (crate-private): larger non-text parts are
/// served through attachments.get.
const FAKE_INLINE_LIMIT: u64 = 8 * 1024;
/// `CRM_GMAIL_MAX_ATTACHMENT_MB=1` in `support::app::env_for`.
const CAP_BYTES: usize = 1024 * 1024;

/// One corpus file: `mail-parser/legacy/001.eml` or `cpython/msg_01.txt`.
struct Item {
    name: String,
    raw: Vec<u8>,
    /// The parse of everything in the message, in process (no HTTP).
    parsed: ParsedEmail,
    /// The parse of what Gmail's `format=full` shows (attachments external)
    /// and the external parts' bytes: what the engine must store.
    gmail: ParsedEmail,
    files: BTreeMap<String, Vec<u8>>,
}

fn files(dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            files(&path, keep, out);
        } else if keep(&name) {
            out.push(path);
        }
    }
}

fn mail_parser_dir() -> Result<PathBuf, String> {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let src = home.map_err(|_| "neither CARGO_HOME nor HOME is set".to_string())?;
    let src = src.join("registry/src");
    std::fs::read_dir(&src)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("mail-parser-0.11.9/resources/eml"))
        .find(|p| p.is_dir())
        .ok_or_else(|| {
            format!(
                "mail-parser-0.11.9/resources/eml not under {}/*",
                src.display()
            )
        })
}

fn cpython_dir() -> Result<PathBuf, String> {
    let from_python = ["python3", "python"].iter().find_map(|py| {
        let out = std::process::Command::new(py)
            .args(["-c", "import test,os;print(os.path.dirname(test.__file__))"])
            .output()
            .ok()?;
        Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
    });
    let mut candidates: Vec<PathBuf> = from_python.into_iter().collect();
    for base in ["/usr/lib", "/usr/local/lib"] {
        candidates.extend(children(Path::new(base), "python3").map(|p| p.join("test")));
    }
    let pyenv = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".pyenv/versions");
    for version in children(&pyenv, "") {
        candidates.extend(children(&version.join("lib"), "python3").map(|p| p.join("test")));
    }
    candidates
        .into_iter()
        .map(|t| t.join("test_email/data"))
        .find(|d| d.join("msg_01.txt").is_file())
        .ok_or_else(|| "CPython's test/test_email/data (python3 -c 'import test'; /usr/lib/python3*/test; pyenv) not found".into())
}

/// Entries of `dir` whose names start with `prefix` (none if unreadable).
fn children<'a>(dir: &Path, prefix: &'a str) -> impl Iterator<Item = PathBuf> + 'a {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries.map(|e| e.path()).filter(move |p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    })
}

/// Both corpora, or `None` (after saying so) when one is missing and
/// `SKIP_CORPUS=1`; a missing corpus otherwise fails the test.
fn corpora() -> Option<Vec<Item>> {
    let eml = |n: &str| n.ends_with(".eml");
    let msg = |n: &str| n.starts_with("msg_") && n.ends_with(".txt");
    let mut items = Vec::new();
    let mut missing = Vec::new();
    for (label, found, keep, at_least) in [
        (
            "mail-parser",
            mail_parser_dir(),
            &eml as &dyn Fn(&str) -> bool,
            100,
        ),
        ("cpython", cpython_dir(), &msg, 40),
    ] {
        let dir = match found {
            Ok(dir) => dir,
            Err(why) => {
                missing.push(format!("{label}: {why}"));
                continue;
            }
        };
        let mut paths = Vec::new();
        files(&dir, keep, &mut paths);
        paths.sort();
        assert!(
            paths.len() >= at_least,
            "{label} corpus at {} has only {} files",
            dir.display(),
            paths.len()
        );
        items.extend(paths.iter().map(|p| item(label, &dir, p)));
    }
    if missing.is_empty() {
        return Some(items);
    }
    let msg = format!(
        "CORPUS NOT FOUND on this machine:\n  {}",
        missing.join("\n  ")
    );
    if std::env::var("SKIP_CORPUS").is_ok_and(|v| v == "1") {
        // Past the test harness's capture: a skip must be seen.
        let mut err = std::io::stderr();
        let _ = writeln!(err, "\n!!!!! SKIPPED (SKIP_CORPUS=1): {msg}\n");
        return None;
    }
    panic!("{msg}\n(set SKIP_CORPUS=1 to skip these tests deliberately)");
}

fn item(label: &str, dir: &Path, path: &Path) -> Item {
    let raw = std::fs::read(path).unwrap();
    let view = gmail_view(&raw);
    let (mut payload, snippet) = (view.payload, view.snippet);
    let parsed = parse(payload.clone(), &snippet);
    let files = externalize_attachments(&mut payload, FAKE_INLINE_LIMIT, &mut |p| format!("a{p}"));
    let rel = path.strip_prefix(dir).unwrap().display();
    Item {
        name: format!("{label}/{rel}"),
        parsed,
        gmail: parse(payload, &snippet),
        files: files.into_iter().collect(),
        raw,
    }
}

fn parse(payload: MessagePart, snippet: &str) -> ParsedEmail {
    let msg = Message {
        id: "pre".into(),
        snippet: Some(snippet.to_string()),
        internal_date: Some(NOW_MS),
        payload: Some(payload),
        ..Message::default()
    };
    parse_message(&msg).unwrap()
}

fn ours(addr_or_domain: &str) -> bool {
    let d = addr_or_domain.rsplit('@').next().unwrap_or_default();
    OUR_DOMAINS
        .iter()
        .any(|o| d == *o || d.ends_with(&format!(".{o}")))
}

/// Participants that count for matching (classify's view of one copy).
fn participants(p: &ParsedEmail) -> Vec<String> {
    let enrolled = [ALICE.to_string(), BARRY.to_string()];
    let domains = OUR_DOMAINS.map(String::from);
    let class = classify(p, &enrolled, &domains);
    class
        .participants
        .into_iter()
        .map(|(_, a)| a.email)
        .collect()
}

/// `inv-senders`: a contact per sender outside our domains (exact links);
/// `inv-domains`: every non-public recipient/sender domain (domain links).
fn directory(items: &[Item]) -> Directory {
    let senders: BTreeSet<String> = items
        .iter()
        .filter_map(|i| i.parsed.from.as_ref())
        .filter_map(|a| normalize_address(&a.email))
        .filter(|a| !ours(a))
        .collect();
    let domains: BTreeSet<String> = items
        .iter()
        .flat_map(|i| participants(&i.parsed))
        .filter_map(|a| normalize_address(&a))
        .map(|a| a.rsplit_once('@').unwrap().1.to_string())
        .filter(|d| !ours(d) && !is_public_domain(d))
        .collect();
    let investor = |id: &str, domains: Vec<String>| DirectoryInvestor {
        id: id.into(),
        name: id.into(),
        domains,
        graveyard: false,
    };
    Directory {
        investors: vec![
            investor("inv-senders", Vec::new()),
            investor("inv-domains", domains.into_iter().collect()),
        ],
        contacts: senders
            .into_iter()
            .enumerate()
            .map(|(n, email)| DirectoryContact {
                id: format!("c-{n}"),
                investor_id: "inv-senders".into(),
                email,
                name: String::new(),
            })
            .collect(),
        ..Directory::default()
    }
}

/// One copy's verdict under [`directory`]: some participant outside our
/// domains that is a sender or at a non-public domain.
fn predicted_match(p: &ParsedEmail, senders: &BTreeSet<String>) -> bool {
    participants(p)
        .iter()
        .filter_map(|a| normalize_address(a))
        .any(|a| {
            let domain = a.rsplit_once('@').unwrap().1;
            !ours(&a) && (senders.contains(&a) || !is_public_domain(domain))
        })
}

struct Captured {
    app: TestApp,
    items: Vec<Item>,
    /// Gmail id of each item, same order.
    gmail_ids: Vec<String>,
    report: SyncReport,
}

async fn capture_corpora() -> Option<Captured> {
    let items = corpora()?;
    let clock = ManualClock::new(Utc.timestamp_millis_opt(NOW_MS).unwrap());
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into(), BARRY.into()],
        env: vec![("CRM_GMAIL_WORKSPACE_DOMAIN".into(), OUR_DOMAINS.join(","))],
        clock: Some(clock),
        ..AppOptions::default()
    })
    .await;
    app.store.replace_directory(&directory(&items)).unwrap();
    let gmail_ids = items
        .iter()
        .map(|i| app.fake.deliver(ALICE, &i.raw, &["INBOX"]))
        .collect();
    let id = app.account_id(ALICE);
    let report = app.capture.sync_account(id, SyncMode::Auto).await.unwrap();
    Some(Captured {
        app,
        items,
        gmail_ids,
        report,
    })
}

fn db(app: &TestApp) -> Connection {
    Connection::open(app.db_path()).unwrap()
}

/// The email row a delivered message became, if any.
#[derive(Debug)]
struct Stored {
    email_id: i64,
    message_id: String,
    matched: bool,
    has_body: bool,
}

fn stored(c: &Connection, account: i64, gmail_id: &str) -> Option<Stored> {
    c.query_row(
        "SELECT e.id, e.message_id, e.is_matched, e.has_body FROM email_account_messages s \
         JOIN emails e ON e.id = s.email_id WHERE s.account_id = ?1 AND s.gmail_message_id = ?2",
        params![account, gmail_id],
        |r| {
            Ok(Stored {
                email_id: r.get(0)?,
                message_id: r.get(1)?,
                matched: r.get(2)?,
                has_body: r.get(3)?,
            })
        },
    )
    .optional()
    .unwrap()
}

/// The reason of a permanent failure recorded for the message, if any.
fn failure(c: &Connection, account: i64, gmail_id: &str) -> Option<String> {
    c.query_row(
        "SELECT kind || ': ' || coalesce(last_error, '') FROM email_fetch_queue \
         WHERE account_id = ?1 AND gmail_message_id = ?2 AND failed_at IS NOT NULL",
        params![account, gmail_id],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

fn strings(c: &Connection, sql: &str, id: i64) -> Vec<String> {
    let mut s = c.prepare(sql).unwrap();
    let rows = s.query_map([id], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Where every delivered message ended up.
struct Outcome<'a> {
    /// email id → the delivered copies stored as it.
    by_email: BTreeMap<i64, Vec<(&'a Item, Stored)>>,
    /// `name: kind: reason` of permanent failures.
    failures: Vec<String>,
    /// Neither stored nor failed with a reason.
    lost: Vec<String>,
}

fn outcome<'a>(c: &Connection, cap: &'a Captured) -> Outcome<'a> {
    let account = cap.app.account_id(ALICE);
    let mut out = Outcome {
        by_email: BTreeMap::new(),
        failures: Vec::new(),
        lost: Vec::new(),
    };
    for (item, gid) in cap.items.iter().zip(&cap.gmail_ids) {
        match (stored(c, account, gid), failure(c, account, gid)) {
            (Some(s), _) => out.by_email.entry(s.email_id).or_default().push((item, s)),
            (None, Some(why)) if !why.ends_with(": ") => {
                out.failures.push(format!("{}: {why}", item.name))
            }
            (None, _) => out.lost.push(item.name.clone()),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_message_is_captured_or_its_failure_recorded_and_matched_ones_get_bodies() {
    let Some(cap) = capture_corpora().await else {
        return;
    };
    let r = &cap.report;
    assert!(
        matches!(r.status, RunStatus::Ok | RunStatus::Partial) && r.error.is_none(),
        "sync did not finish: {r:?}"
    );
    let account = cap.app.store.account(r.account_id).unwrap();
    assert!(account.backfill_done, "backfill not finished: {r:?}");
    let c = db(&cap.app);
    let out = outcome(&c, &cap);
    println!("{}", summary(&c, &cap, &out));
    let failed = "SELECT count(*) FROM email_fetch_queue WHERE failed_at IS NOT NULL";
    let pending = "SELECT count(*) FROM email_fetch_queue WHERE failed_at IS NULL";
    assert!(
        out.lost.is_empty(),
        "silently lost (no sighting, no recorded failure): {:#?}",
        out.lost
    );
    assert_eq!(
        count(&c, pending),
        0,
        "queue items left neither done nor failed"
    );
    assert_eq!(
        count(&c, failed) as usize,
        out.failures.len(),
        "a failed queue item that is not a delivered message"
    );
    assert_eq!(
        r.status == RunStatus::Partial,
        !out.failures.is_empty(),
        "partial exactly when something failed: {r:?}"
    );
    let senders: BTreeSet<String> = directory(&cap.items)
        .contacts
        .into_iter()
        .map(|c| c.email)
        .collect();
    let wrong: Vec<String> = out
        .by_email
        .values()
        .flat_map(|copies| check_email(&c, &cap.app, copies, &senders))
        .collect();
    assert!(
        wrong.is_empty(),
        "stored emails disagree with the corpus: {wrong:#?}"
    );
    let matched = out.by_email.values().filter(|v| v[0].1.matched).count();
    assert!(
        matched * 2 >= out.by_email.len(),
        "only {matched} matched: the full path barely ran"
    );
}

/// Counts for the log: what was stored, matched, merged and why it failed.
fn summary(c: &Connection, cap: &Captured, out: &Outcome) -> String {
    let emails = out.by_email.values();
    let from = |label: &str| {
        cap.items
            .iter()
            .filter(|i| i.name.starts_with(label))
            .count()
    };
    let merged: Vec<Vec<&str>> = emails
        .clone()
        .filter(|v| v.iter().any(|(i, _)| i.raw != v[0].0.raw))
        .map(|v| v.iter().map(|(i, _)| i.name.as_str()).collect())
        .collect();
    format!(
        "corpus capture: {} delivered ({} mail-parser, {} cpython); sync {:?} {:?}\n  \
         {} emails from {} sightings, {} synthesized ids; {} matched, {} with bodies\n  \
         attachments: {}\n  parts of matched mail not in Gmail's view, not stored: {:#?}\n  \
         distinct messages merged under one Message-ID: {merged:?}\n  failures ({}): {:#?}",
        cap.items.len(),
        from("mail-parser/"),
        from("cpython/"),
        cap.report.kind,
        cap.report.status,
        out.by_email.len(),
        emails.clone().map(Vec::len).sum::<usize>(),
        count(
            c,
            "SELECT count(*) FROM emails WHERE message_id_synthesized = 1"
        ),
        emails.clone().filter(|v| v[0].1.matched).count(),
        emails.clone().filter(|v| v[0].1.has_body).count(),
        attachment_summary(c),
        not_stored(out),
        out.failures.len(),
        out.failures,
    )
}

/// Problems with one stored email and its sightings (empty = fine).
fn check_email(
    c: &Connection,
    app: &TestApp,
    copies: &[(&Item, Stored)],
    senders: &BTreeSet<String>,
) -> Vec<String> {
    let mut wrong = check_identity(copies, senders);
    wrong.extend(check_content(c, copies));
    wrong.extend(check_disk(c, app, copies[0].1.email_id));
    wrong
}

/// Every copy has the stored Message-ID; matched as predicted, and a body
/// exactly when matched.
fn check_identity(copies: &[(&Item, Stored)], senders: &BTreeSet<String>) -> Vec<String> {
    let s = &copies[0].1;
    let mut wrong: Vec<String> = copies
        .iter()
        .filter(|(i, _)| i.parsed.message_id != s.message_id)
        .map(|(i, _)| {
            format!(
                "{}: message_id {} (in process: {})",
                i.name, s.message_id, i.parsed.message_id
            )
        })
        .collect();
    let predicted = copies
        .iter()
        .any(|(i, _)| predicted_match(&i.parsed, senders));
    if s.matched != predicted || s.has_body != s.matched {
        let names: Vec<&str> = copies.iter().map(|(i, _)| i.name.as_str()).collect();
        wrong.push(format!(
            "{names:?}: matched {} has_body {} (predicted matched {predicted})",
            s.matched, s.has_body
        ));
    }
    wrong
}

/// Bodies and attachment rows: none unless matched; for a matched email
/// stored from one distinct message, exactly what Gmail's view holds.
fn check_content(c: &Connection, copies: &[(&Item, Stored)]) -> Vec<String> {
    let (first, s) = (&copies[0].0, &copies[0].1);
    let mut wrong = Vec::new();
    let (text, html): (Option<String>, Option<String>) = c
        .query_row(
            "SELECT body_text, body_html FROM emails WHERE id = ?1",
            [s.email_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let rows = strings(
        c,
        "SELECT part_id || ' ' || mime_type || ' ' || filename || ' ' || status || ' ' || \
         coalesce(sha256, '-') FROM email_attachments WHERE email_id = ?1 ORDER BY part_id",
        s.email_id,
    );
    let single = copies.iter().all(|(i, _)| i.raw == first.raw);
    if !s.matched && (text.is_some() || html.is_some() || !rows.is_empty()) {
        wrong.push(format!(
            "{}: unmatched email has a body or attachments",
            first.name
        ));
    } else if s.matched && single {
        let p = &first.gmail;
        if (&text, &html) != (&p.text, &p.html) {
            wrong.push(format!(
                "{}: stored bodies differ from Gmail's view",
                first.name
            ));
        }
        let expected = expected_files(first);
        if rows != expected {
            wrong.push(format!(
                "{}: attachments {rows:?}, expected {expected:?}",
                first.name
            ));
        }
    }
    wrong
}

/// `part mime name status sha256` of each attachment Gmail's view shows.
fn expected_files(item: &Item) -> Vec<String> {
    let mut rows: Vec<String> = item
        .gmail
        .attachments
        .iter()
        .map(|a| {
            let bytes = item.files.get(&a.part_id).or(a.data.as_ref());
            let bytes = bytes.map_or(&[][..], Vec::as_slice);
            let (status, sha) = match bytes.len() > CAP_BYTES {
                true => ("too_large", "-".to_string()),
                false => ("stored", hex::encode(sha2::Sha256::digest(bytes))),
            };
            format!(
                "{} {} {} {status} {sha}",
                a.part_id, a.mime_type, a.filename
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Parts of the whole message (embedded-message containers, typically)
/// that Gmail's view and so the store do not hold as attachments.
fn not_stored(out: &Outcome) -> Vec<String> {
    let single = out
        .by_email
        .values()
        .filter(|v| v[0].1.matched && v.len() == 1);
    single
        .flat_map(|v| {
            let item = v[0].0;
            let kept: BTreeSet<&str> = item
                .gmail
                .attachments
                .iter()
                .map(|a| a.part_id.as_str())
                .collect();
            let missing = item
                .parsed
                .attachments
                .iter()
                .filter(move |a| !kept.contains(a.part_id.as_str()));
            missing.map(move |a| format!("{} part {:?} {}", item.name, a.part_id, a.mime_type))
        })
        .collect()
}

/// Stored attachments exist on disk with their hash.
fn check_disk(c: &Connection, app: &TestApp, email_id: i64) -> Vec<String> {
    let mut s = c
        .prepare("SELECT part_id, status, sha256, coalesce(error, '') FROM email_attachments WHERE email_id = ?1")
        .unwrap();
    let rows = s
        .query_map([email_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .unwrap();
    let mut wrong = Vec::new();
    for (part, status, sha, error) in rows.map(Result::unwrap) {
        let on_disk = sha.as_ref().map(|h| {
            let bytes =
                std::fs::read(app.capture.attachments().path_for(h).unwrap()).unwrap_or_default();
            hex::encode(sha2::Sha256::digest(bytes)) == *h
        });
        match (status.as_str(), on_disk) {
            ("stored", Some(true)) | ("too_large", None) => {}
            _ => wrong.push(format!(
                "email {email_id} part {part}: {status} {sha:?} on disk ok {on_disk:?} {error}"
            )),
        }
    }
    wrong
}

fn attachment_summary(c: &Connection) -> String {
    let mut s = c
        .prepare("SELECT status || ' ' || count(*) FROM email_attachments GROUP BY status ORDER BY status")
        .unwrap();
    let rows = s.query_map([], |r| r.get::<_, String>(0)).unwrap();
    let v: Vec<String> = rows.map(Result::unwrap).collect();
    format!(
        "{} ({} files on disk)",
        v.join(", "),
        count(c, "SELECT count(DISTINCT sha256) FROM email_attachments")
    )
}

/// A Message-ID as stored: literal, or synthesized from the canonical
/// header lines `parse::synthesize_message_id` documents.
enum Mid {
    Id(&'static str),
    Synth(&'static str),
}

/// What the DB must hold for one chosen message, read off its raw headers.
struct Golden {
    file: &'static str,
    message_id: Mid,
    subject: &'static str,
    /// Address and display name.
    from: (&'static str, &'static str),
    /// `None`: no usable Date header, so Gmail's internalDate (`NOW_MS`).
    date_ms: Option<i64>,
    direction: &'static str,
    /// `role address name` of every copy, merged, ordered by role, address.
    participants: &'static [&'static str],
    /// Sightings, matched, bulk.
    counts: (i64, bool, bool),
}

#[rustfmt::skip]
const GOLDEN: &[Golden] = &[
    // Comment-style display name; msg_03/14/20/29 carry the same id, and
    // msg_20's three Cc fields (Cc, CC, cc) join the one email.
    Golden { file: "cpython/msg_01.txt", message_id: Mid::Id("15090.61304.110929.45684@aaa.zzz.org"),
        subject: "This is a test message", from: ("bbb@ddd.com", "John X. Doe"),
        date_ms: Some(988_999_544_000), /* Fri, 4 May 2001 14:05:44 -0400 */ direction: "inbound",
        participants: &["cc ccc@zzz.org", "cc ddd@zzz.org", "cc eee@zzz.org", "from bbb@ddd.com John X. Doe", "to bbb@zzz.org"],
        counts: (5, true, false) },
    // From an enrolled mailbox to itself: outbound, internal, never matched;
    // msg_44 is a copy.
    Golden { file: "cpython/msg_04.txt", message_id: Mid::Id("15261.36209.358846.118674@anthem.python.org"),
        subject: "a simple multipart", from: ("barry@python.org", "Barry A. Warsaw"),
        date_ms: Some(1_000_181_105_000), /* Tue, 11 Sep 2001 00:05:05 -0400 */ direction: "outbound",
        participants: &["from barry@python.org Barry A. Warsaw", "to barry@python.org"],
        counts: (2, false, false) },
    // No Message-ID; msg_09/10/12/12a share every header it is made from,
    // and 09/12/12a also the (empty) snippet: indistinguishable from
    // metadata, one email. msg_10 has text, so its own.
    Golden { file: "cpython/msg_08.txt",
        message_id: Mid::Synth("from:barry@python.org\nto:cravindogs@cravindogs.com\ncc:\ndate:2001-04-20T23:35:02Z\nsubject:Lyrics\nin-reply-to:"),
        subject: "Lyrics", from: ("barry@python.org", "Barry Warsaw"),
        date_ms: Some(987_809_702_000), /* Fri, 20 Apr 2001 19:35:02 -0400 */ direction: "outbound",
        participants: &["from barry@python.org Barry Warsaw", "to cravindogs@cravindogs.com Dingus Lovers"],
        counts: (4, true, false) },
    // A digest without Message-ID; a zone comment after the offset.
    Golden { file: "cpython/msg_02.txt",
        message_id: Mid::Synth("from:ppp-request@zzz.org\nto:ppp@zzz.org\ncc:\ndate:2001-04-21T00:18:00Z\nsubject:Ppp digest, Vol 1 #2 - 5 msgs\nin-reply-to:"),
        subject: "Ppp digest, Vol 1 #2 - 5 msgs", from: ("ppp-request@zzz.org", ""),
        date_ms: Some(987_812_280_000), /* Fri, 20 Apr 2001 20:18:00 -0400 (EDT) */ direction: "inbound",
        participants: &["from ppp-request@zzz.org", "to ppp@zzz.org"],
        counts: (1, true, false) },
    // UTF-7 in a Q-encoded subject and in a B-encoded display name.
    Golden { file: "mail-parser/legacy/001.eml", message_id: Mid::Id("NDBBIAKOPKHFGPLCODIGMEKCCHAA.doug@example.com"),
        subject: "Die Hasen und die Frösche (Microsoft Outlook 00)", from: ("doug@example.com", "Doug Sauder"),
        date_ms: Some(958_605_519_000), /* Wed, 17 May 2000 19:18:39 -0400 */ direction: "inbound",
        participants: &["from doug@example.com Doug Sauder", "to jblow@example.com Joe Blow", "to schmuergen@example.com Jürgen Schmürgen"],
        counts: (1, true, false) },
    // ISO-8859-1 Q-encoded subject and display name; CRLF line ends.
    Golden { file: "mail-parser/legacy/002.eml", message_id: Mid::Id("4.2.0.58.20000519003052.00a89c40@pop.example.com"),
        subject: "Die Hasen und die Frösche", from: ("dwsauder@example.com", "Doug Sauder"),
        date_ms: Some(958_710_660_000), /* Fri, 19 May 2000 00:31:00 -0400 */ direction: "inbound",
        participants: &["from dwsauder@example.com Doug Sauder", "to mueller@example.com Heinz Müller"],
        counts: (1, true, false) },
    // Only a UTF-8 B-encoded subject: no From, To, Date or Message-ID.
    Golden { file: "mail-parser/thirdparty/010.eml",
        message_id: Mid::Synth("from:\nto:\ncc:\ndate:\nsubject:こんにちは\nin-reply-to:"),
        subject: "こんにちは", from: ("", ""), date_ms: None, direction: "inbound",
        participants: &[], counts: (1, false, false) },
    // A mailing-list post (Precedence: list, List-Id) from a public domain.
    Golden { file: "mail-parser/thirdparty/014.eml", message_id: Mid::Id("325993.29502.qm@web28416.mail.ukl.yahoo.com"),
        subject: "[Shapelib] need some help", from: ("calpas2007@yahoo.fr", "calpas calpas"),
        date_ms: Some(1_299_669_585_000), /* Wed, 9 Mar 2011 11:19:45 +0000 (GMT) */ direction: "inbound",
        participants: &["from calpas2007@yahoo.fr calpas calpas", "reply_to shapelib@lists.maptools.org Shapelib Development", "to shapelib@lists.maptools.org"],
        counts: (1, true, true) },
    // "From: Whomever", "To: Someone", "Date: Whenever": nothing usable.
    Golden { file: "mail-parser/rfc/001.eml", message_id: Mid::Id("id1@host.com"),
        subject: "whatever", from: ("", ""), date_ms: None, direction: "inbound",
        participants: &[], counts: (1, false, false) },
    // A wrong weekday (23 May 2007 was a Wednesday), a dotless id domain.
    Golden { file: "mail-parser/malformed/015.eml", message_id: Mid::Id("1.2.3.4@example"),
        subject: "Hello world", from: ("test@example.org", "Test User"),
        date_ms: Some(1_179_885_488_000), /* Sun, 23 May 2007 04:58:08 +0300 */ direction: "inbound",
        participants: &["from test@example.org Test User", "to test2@example.org Another User"],
        counts: (1, true, false) },
];

/// The golden fields as stored, one line each so a mismatch names it.
fn actual(c: &Connection, email_id: i64) -> Vec<String> {
    let mut lines = strings(
        c,
        "SELECT value FROM emails e, json_each(json_array( \
           'message_id ' || message_id || ' ' || message_id_synthesized, 'subject ' || subject, \
           'from ' || from_email || ' ' || from_name, 'date_ms ' || date_ms, \
           'direction ' || direction, 'counts ' || (SELECT count(*) FROM email_account_messages \
           WHERE email_id = e.id) || ' ' || is_matched || ' ' || is_bulk)) WHERE e.id = ?1",
        email_id,
    );
    let ps = strings(
        c,
        "SELECT trim(role || ' ' || address || ' ' || name) FROM email_participants \
         WHERE email_id = ?1 ORDER BY role, address",
        email_id,
    );
    lines.push(format!("participants {ps:?}"));
    lines
}

/// `snippet` is Gmail's (the fake's) for the file: the one input of a
/// synthesized id that is not a header.
fn expected(g: &Golden, snippet: &str) -> Vec<String> {
    let (id, synthesized) = match g.message_id {
        Mid::Id(id) => (id.to_string(), 0),
        Mid::Synth(lines) => {
            let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
            let lines = format!("{lines}\nsnippet:{snippet}");
            let hash = hex::encode(sha2::Sha256::digest(lines.as_bytes()));
            (format!("{}@synthesized.email-sidecar", &hash[..32]), 1)
        }
    };
    let (sightings, matched, bulk) = g.counts;
    vec![
        format!("message_id {id} {synthesized}"),
        format!("subject {}", g.subject),
        format!("from {} {}", g.from.0, g.from.1),
        format!("date_ms {}", g.date_ms.unwrap_or(NOW_MS)),
        format!("direction {}", g.direction),
        format!(
            "counts {sightings} {} {}",
            u8::from(matched),
            u8::from(bulk)
        ),
        format!("participants {:?}", g.participants),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_corpus_messages_are_stored_as_their_raw_headers_say() {
    let Some(cap) = capture_corpora().await else {
        return;
    };
    let c = db(&cap.app);
    let account = cap.app.account_id(ALICE);
    for g in GOLDEN {
        let at = cap.items.iter().position(|i| i.name == g.file);
        let at = at.unwrap_or_else(|| panic!("{} is not in the corpus", g.file));
        let s = stored(&c, account, &cap.gmail_ids[at]);
        let s = s.unwrap_or_else(|| panic!("{} not stored", g.file));
        let snippet = gmail_view(&cap.items[at].raw).snippet;
        assert_eq!(actual(&c, s.email_id), expected(g, &snippet), "{}", g.file);
    }
}

/// Gmail shows an unnamed `message/rfc822` part (a message forwarded as an
/// attachment, a bounce's returned mail, a digest entry) as a container
/// with only a size and the embedded message's parts as children; the
/// forwarded message's own attachment must still be stored.
#[tokio::test]
async fn an_attachment_inside_an_unnamed_forwarded_message_is_stored() {
    let app = spawn_app(AppOptions {
        mailboxes: vec![ALICE.into()],
        ..AppOptions::default()
    })
    .await;
    let dir = Directory {
        investors: vec![DirectoryInvestor {
            id: "inv-acme".into(),
            name: "Acme".into(),
            domains: vec!["acme.vc".into()],
            graveyard: false,
        }],
        ..Directory::default()
    };
    app.store.replace_directory(&dir).unwrap();
    let raw = "Message-ID: <fwd@acme.vc>\r\nFrom: jo@acme.vc\r\nTo: alice@fund.test\r\n\
        Subject: Fwd: deck\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n\
        See below.\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: sam@acme.vc\r\n\
        Subject: deck\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n\
        --i\r\nContent-Type: text/plain\r\n\r\nThe deck.\r\n--i\r\n\
        Content-Type: application/pdf; name=\"deck.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"deck.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQgZGVjaw==\r\n--i--\r\n\r\n--o--\r\n";
    app.fake.deliver(ALICE, raw.as_bytes(), &["INBOX"]);
    let r = app
        .capture
        .sync_account(app.account_id(ALICE), SyncMode::Auto)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:?}");
    let c = db(&app);
    let files = strings(
        &c,
        "SELECT filename || ' ' || status FROM email_attachments WHERE email_id = ?1",
        c.query_row("SELECT id FROM emails WHERE has_body = 1", [], |r| r.get(0))
            .unwrap(),
    );
    assert!(
        files.iter().any(|f| f == "deck.pdf stored"),
        "the forwarded message's deck.pdf is lost: {files:?}"
    );
}
