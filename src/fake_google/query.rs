//! PLACEHOLDER (helper FAKE): a minimal stand-in for helper MIME's Gmail `q`
//! parser so the fake compiles and its tests run; replaced at merge by
//! MIME's version, which has the same public signatures (contracts.md).
//! Supports `after:`/`before:` (epoch seconds or YYYY/MM/DD, UTC),
//! `rfc822msgid:`, `from:`, `to:`, `subject:` and bare words.

use chrono::{NaiveDate, TimeZone, Utc};

/// What a message offers to the search language.
#[derive(Debug, Clone, Default)]
pub struct SearchDoc {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    pub internal_date_ms: i64,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
enum Term {
    After(i64),
    Before(i64),
    MsgId(String),
    From(String),
    To(String),
    Subject(String),
    Word(String),
}

/// A parsed query: every term must match.
#[derive(Debug, Clone, Default)]
pub struct Query {
    terms: Vec<Term>,
}

/// Parse Gmail's `q`; `Err` is Gmail's 400 "Invalid query".
pub fn parse(q: &str) -> Result<Query, String> {
    let mut terms = Vec::new();
    for word in q.split_whitespace() {
        let (op, arg) = match word.split_once(':') {
            Some((op, arg)) => (op.to_ascii_lowercase(), arg.trim_matches('"')),
            None => {
                terms.push(Term::Word(word.to_lowercase()));
                continue;
            }
        };
        let term = match op.as_str() {
            "after" => Term::After(date_ms(arg)?),
            "before" => Term::Before(date_ms(arg)?),
            "rfc822msgid" => Term::MsgId(arg.trim_matches(['<', '>']).to_string()),
            "from" => Term::From(arg.to_lowercase()),
            "to" => Term::To(arg.to_lowercase()),
            "subject" => Term::Subject(arg.to_lowercase()),
            _ => Term::Word(word.to_lowercase()),
        };
        terms.push(term);
    }
    Ok(Query { terms })
}

fn date_ms(arg: &str) -> Result<i64, String> {
    if let Ok(secs) = arg.parse::<i64>() {
        return Ok(secs * 1000);
    }
    let norm = arg.replace('-', "/");
    let d = NaiveDate::parse_from_str(&norm, "%Y/%m/%d")
        .map_err(|_| format!("Invalid query: bad date {arg:?}"))?;
    let dt = d.and_hms_opt(0, 0, 0).ok_or("Invalid query")?;
    Ok(Utc.from_utc_datetime(&dt).timestamp_millis())
}

impl Query {
    pub fn matches(&self, doc: &SearchDoc) -> bool {
        self.terms.iter().all(|t| term_matches(t, doc))
    }
}

fn term_matches(t: &Term, doc: &SearchDoc) -> bool {
    let any = |v: &[String], s: &str| v.iter().any(|a| a.contains(s));
    match t {
        Term::After(ms) => doc.internal_date_ms >= *ms,
        Term::Before(ms) => doc.internal_date_ms < *ms,
        Term::MsgId(id) => doc.message_id.eq_ignore_ascii_case(id),
        Term::From(s) => any(&doc.from, s),
        Term::To(s) => any(&doc.to, s) || any(&doc.cc, s) || any(&doc.bcc, s),
        Term::Subject(s) => doc.subject.to_lowercase().contains(s),
        Term::Word(w) => {
            doc.subject.to_lowercase().contains(w) || doc.text.to_lowercase().contains(w)
        }
    }
}
