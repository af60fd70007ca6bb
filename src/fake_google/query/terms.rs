//! The leaves of a Gmail query (operators and words) and how each one tests
//! a [`SearchDoc`]. Matching is word-based like Gmail's index: text is split
//! into words on anything that is not a letter, digit or `_`, and a term's
//! words must appear consecutively (no prefixes, no stemming). Sources for
//! the address rules: Gmail Help "Search operators you can use with Gmail"
//! and the black-box study "How Gmail filter email-matching works"
//! (sensefulsolutions.com, 2010): `joh` does not match `john.smith@…`,
//! `smith` does, `@foo.com` means `foo.com`, a full address needs the full
//! address.

use super::SearchDoc;
use std::cell::OnceCell;

/// Operators the lexer recognises. The supported ones are handled in
/// [`make_term`]; the rest are Gmail operators this fake refuses clearly
/// rather than misreading as words.
pub(super) const KNOWN_OPS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "after",
    "before",
    "older",
    "newer",
    "older_than",
    "newer_than",
    "rfc822msgid",
    "label",
    "in",
    "is",
    "has",
    "filename",
    "larger",
    "smaller",
    "size",
    "category",
    "list",
    "deliveredto",
    "around",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    From,
    To,
    Cc,
    Bcc,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum AddrTerm {
    /// A full address (local part lower-cased, domain in ASCII/punycode form).
    Exact(String),
    /// A domain (ASCII form): the address's domain or any subdomain of it.
    /// With `words`, a dotted word like `john.smith` also matches as consecutive
    /// words of the local part or display name.
    Domain { domain: String, words: Vec<String> },
    /// Consecutive words of the address or display name.
    Words(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Bare word: subject, body or sender.
    Text(Vec<String>),
    /// Quoted phrase or `subject:` words.
    Phrase {
        words: Vec<String>,
        subject_only: bool,
    },
    Addr(Field, AddrTerm),
    /// internalDate >= ms
    After(i64),
    /// internalDate < ms
    Before(i64),
    MsgId(String),
    /// Gmail label id (INBOX, SENT, …) or user label name, upper-cased.
    Label(String),
    /// `in:anywhere`
    Anywhere,
}

/// Words of `s` as Gmail indexes them: lower case, split on non-word chars.
pub(super) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn contains_seq(hay: &[String], needle: &[String]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// A domain in the form used for comparison: lower-case ASCII, IDN labels
/// as punycode (`bücher.example` and `xn--bcher-kva.example` are equal).
pub(super) fn ascii_domain(d: &str) -> String {
    let d = d.trim().trim_end_matches('.');
    if d.is_ascii() {
        return d.to_ascii_lowercase();
    }
    let a = url::quirks::domain_to_ascii(d);
    if a.is_empty() {
        d.to_lowercase()
    } else {
        a
    }
}

/// An address in comparison form (see [`ascii_domain`]); plus-tags and dots
/// in the local part are kept as written.
pub(super) fn normalize_address(a: &str) -> String {
    match a.trim().rsplit_once('@') {
        Some((local, domain)) => format!("{}@{}", local.to_lowercase(), ascii_domain(domain)),
        None => a.trim().to_lowercase(),
    }
}

pub(super) fn make_term(
    op: Option<&str>,
    value: &str,
    quoted: bool,
    now_ms: Option<i64>,
) -> Result<Expr, String> {
    let phrase = |subject_only| Expr::Phrase {
        words: words(value),
        subject_only,
    };
    let Some(op) = op else {
        return Ok(if quoted {
            phrase(false)
        } else {
            Expr::Text(words(value))
        });
    };
    match op {
        "from" => Ok(Expr::Addr(Field::From, addr_term(value, quoted))),
        "to" => Ok(Expr::Addr(Field::To, addr_term(value, quoted))),
        "cc" => Ok(Expr::Addr(Field::Cc, addr_term(value, quoted))),
        "bcc" => Ok(Expr::Addr(Field::Bcc, addr_term(value, quoted))),
        "subject" => Ok(phrase(true)),
        "after" | "newer" => Ok(Expr::After(parse_date(op, value)? * 1000)),
        "before" | "older" => Ok(Expr::Before(parse_date(op, value)? * 1000)),
        "older_than" | "newer_than" => relative(op, value, now_ms),
        "rfc822msgid" => {
            let id = value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim();
            if id.is_empty() {
                return Err("rfc822msgid: needs a Message-ID".into());
            }
            Ok(Expr::MsgId(id.to_string()))
        }
        "label" | "in" | "is" => label_term(op, value),
        _ => Err(format!("the {op}: operator is not supported by this fake")),
    }
}

fn addr_term(value: &str, quoted: bool) -> AddrTerm {
    let v = value.trim().to_lowercase();
    if quoted {
        return AddrTerm::Words(words(&v));
    }
    let leading_at = v.starts_with('@');
    let core = v.trim_matches('@');
    if core.contains('@') {
        return AddrTerm::Exact(normalize_address(core));
    }
    if leading_at {
        return AddrTerm::Domain {
            domain: ascii_domain(core),
            words: Vec::new(),
        };
    }
    if core.contains('.') {
        return AddrTerm::Domain {
            domain: ascii_domain(core),
            words: words(core),
        };
    }
    AddrTerm::Words(words(core))
}

/// `YYYY/MM/DD`, `YYYY-MM-DD`, `MM/DD/YYYY` (midnight UTC: Gmail uses the
/// account's time zone, the fake's accounts all live in UTC) or epoch seconds.
fn parse_date(op: &str, value: &str) -> Result<i64, String> {
    let v = value.trim();
    let bad = || format!("{op}: expects a date like 2024/01/31 or epoch seconds, got {v:?}");
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().map_err(|_| bad());
    }
    let parts: Vec<&str> = v.split(['/', '-']).collect();
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (y, m, d) = match (parts.as_slice(), nums.as_slice()) {
        ([y, _, _], [yy, mm, dd]) if y.len() == 4 => (*yy, *mm, *dd),
        ([_, _, y], [mm, dd, yy]) if y.len() == 4 => (*yy, *mm, *dd),
        _ => return Err(bad()),
    };
    chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp())
        .ok_or_else(bad)
}

/// `older_than:`/`newer_than:` with `d`, `m` (30 days) or `y` (365 days),
/// resolved against the time given to `parse_at`.
fn relative(op: &str, value: &str, now_ms: Option<i64>) -> Result<Expr, String> {
    let v = value.trim().to_ascii_lowercase();
    let bad = || format!("{op}: expects a number followed by d, m or y, got {value:?}");
    let unit_days = match v.chars().last() {
        Some('d') => 1,
        Some('m') => 30,
        Some('y') => 365,
        _ => return Err(bad()),
    };
    let n: i64 = v[..v.len() - 1].parse().map_err(|_| bad())?;
    let Some(now) = now_ms else {
        return Err(format!(
            "{op}: needs the current time (use query::parse_at)"
        ));
    };
    let cutoff = now.saturating_sub(n.saturating_mul(unit_days * 86_400_000));
    Ok(if op == "older_than" {
        Expr::Before(cutoff)
    } else {
        Expr::After(cutoff)
    })
}

fn label_term(op: &str, value: &str) -> Result<Expr, String> {
    let v = value.trim().to_lowercase();
    let label = |id: &str| Ok(Expr::Label(id.to_string()));
    match (op, v.as_str()) {
        ("in" | "label", "anywhere") => Ok(Expr::Anywhere),
        ("in" | "label" | "is", "inbox") => label("INBOX"),
        ("in" | "label" | "is", "sent") => label("SENT"),
        ("in" | "label", "trash") => label("TRASH"),
        ("in" | "label", "spam") => label("SPAM"),
        ("in" | "label" | "is", "draft" | "drafts") => label("DRAFT"),
        ("in" | "label" | "is", "starred") => label("STARRED"),
        ("in" | "label" | "is", "important") => label("IMPORTANT"),
        ("label" | "is", "unread") => label("UNREAD"),
        ("is", "read") => Ok(Expr::Not(Box::new(Expr::Label("UNREAD".into())))),
        ("label", name) if !name.is_empty() => label(&name.to_uppercase()),
        _ => Err(format!("{op}:{value} is not a value this fake understands")),
    }
}

/// Word lists of a document, built on first use within one `matches` call.
pub(super) struct Index<'a> {
    doc: &'a SearchDoc,
    subject: OnceCell<Vec<String>>,
    body: OnceCell<Vec<String>>,
}

impl<'a> Index<'a> {
    pub(super) fn new(doc: &'a SearchDoc) -> Self {
        Index {
            doc,
            subject: OnceCell::new(),
            body: OnceCell::new(),
        }
    }

    fn subject(&self) -> &[String] {
        self.subject.get_or_init(|| words(&self.doc.subject))
    }

    fn body(&self) -> &[String] {
        self.body.get_or_init(|| words(&self.doc.text))
    }

    pub(super) fn eval(&self, e: &Expr) -> bool {
        let doc = self.doc;
        match e {
            Expr::And(items) => items.iter().all(|i| self.eval(i)),
            Expr::Or(items) => items.iter().any(|i| self.eval(i)),
            Expr::Not(inner) => !self.eval(inner),
            Expr::Text(w) => {
                contains_seq(self.subject(), w)
                    || contains_seq(self.body(), w)
                    || addr_matches(doc, Field::From, &AddrTerm::Words(w.clone()))
            }
            Expr::Phrase {
                words,
                subject_only,
            } => {
                contains_seq(self.subject(), words)
                    || (!subject_only && contains_seq(self.body(), words))
            }
            Expr::Addr(field, term) => addr_matches(doc, *field, term),
            Expr::After(ms) => doc.internal_date_ms >= *ms,
            Expr::Before(ms) => doc.internal_date_ms < *ms,
            Expr::MsgId(id) => doc.message_id == *id,
            Expr::Label(l) => doc.labels.iter().any(|have| label_eq(have, l)),
            Expr::Anywhere => true,
        }
    }
}

/// User label names compare case-insensitively, with Gmail's `-` standing
/// for a space or `/` in the name.
fn label_eq(have: &str, want: &str) -> bool {
    let norm = |s: &str| s.to_uppercase().replace([' ', '/'], "-");
    have.eq_ignore_ascii_case(want) || norm(have) == norm(want)
}

fn field_lists(doc: &SearchDoc, f: Field) -> (&[String], &[String]) {
    match f {
        Field::From => (&doc.from, &doc.names.from),
        Field::To => (&doc.to, &doc.names.to),
        Field::Cc => (&doc.cc, &doc.names.cc),
        Field::Bcc => (&doc.bcc, &doc.names.bcc),
    }
}

fn addr_matches(doc: &SearchDoc, f: Field, term: &AddrTerm) -> bool {
    let (addrs, names) = field_lists(doc, f);
    match term {
        AddrTerm::Exact(want) => addrs.iter().any(|a| normalize_address(a) == *want),
        AddrTerm::Domain { domain, words: w } => {
            addrs.iter().any(|a| {
                let (local, dom) = a.rsplit_once('@').unwrap_or((a.as_str(), ""));
                let dom = ascii_domain(dom);
                dom == *domain
                    || dom
                        .strip_suffix(domain.as_str())
                        .is_some_and(|p| p.ends_with('.'))
                    || (!w.is_empty() && contains_seq(&words(local), w))
            }) || (!w.is_empty() && names.iter().any(|n| contains_seq(&words(n), w)))
        }
        AddrTerm::Words(w) => {
            !w.is_empty()
                && (addrs.iter().any(|a| contains_seq(&words(a), w))
                    || names.iter().any(|n| contains_seq(&words(n), w)))
        }
    }
}
