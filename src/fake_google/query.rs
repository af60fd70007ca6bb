//! Gmail's `q` search language, the subset this project uses, evaluated by
//! the fake Gmail server against a [`SearchDoc`] built by
//! [`crate::fake_google::mime::gmail_view`]. Talks to nobody.
//!
//! Supported: implicit AND, `OR` (upper case; binds tighter than AND, so
//! `a b OR c` is `a AND (b OR c)`), `( )`, `{a b}` (any of), `-term`,
//! `"exact phrase"` (subject or body), bare words (subject, body or sender),
//! `from:` `to:` `cc:` `bcc:`, `subject:`, `after:` `before:` (epoch seconds
//! or `YYYY/MM/DD`, `YYYY-MM-DD`, `MM/DD/YYYY`; a date means midnight UTC —
//! Gmail uses the account's time zone and the fake's accounts are all UTC;
//! `after:` is inclusive, `before:` exclusive), `older_than:`/`newer_than:`
//! (`Nd`, `Nm`, `Ny`; only with [`parse_at`]), `rfc822msgid:` (with or
//! without `<>`, exact), `label:`, `in:` (`inbox`, `sent`, `trash`, `spam`,
//! `drafts`, `starred`, `important`, `anywhere`) and `is:` (`unread`,
//! `read`, `starred`, `important`). An operator applies to a group:
//! `from:(a OR b)`, `from:{a b}`, `subject:(x y)`.
//!
//! Address terms (`from:` and friends):
//! - with an `@` inside (`alice+deals@acme.com`): that exact address,
//!   case-insensitive, plus-tags and dots significant;
//! - `@acme.com`: any address at acme.com or a subdomain of it;
//! - `acme.com` (a dot, no `@`): the same, or consecutive words of the local
//!   part / display name (Gmail is word-based, so `from:john.smith` finds
//!   `john.smith@x.com`);
//! - a plain word (`alice`): a whole word of the address or display name
//!   (Gmail matches words, not substrings: `ali` does not find `alice`);
//! - IDN domains compare in punycode form, so `bücher.example` and
//!   `xn--bcher-kva.example` are the same domain on either side.
//!
//! Invalid input (unbalanced quotes, parentheses or braces, a dangling `OR`,
//! an operator without a value, a bad date, an unknown `in:` value, or a
//! Gmail operator the fake does not implement) is an `Err` with a message,
//! which the fake answers as Gmail's 400 "Invalid query". Parsing is linear
//! in the query's length and nesting is capped, so long queries are fine.

mod parse;
mod terms;

use terms::{Expr, Index};

/// Display names (lower case) of each address header, for word matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DisplayNames {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

/// What a query is evaluated against: one message as Gmail indexes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchDoc {
    /// Lower-case addresses (groups flattened).
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// Display names per header (an addition to the contract's fields).
    pub names: DisplayNames,
    pub subject: String,
    pub text: String,
    /// Message-ID without `<>`.
    pub message_id: String,
    pub internal_date_ms: i64,
    /// Gmail label ids (`INBOX`, `SENT`, …) and user label names.
    pub labels: Vec<String>,
}

/// A parsed `q`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    expr: Option<Expr>,
}

/// Parse `q`. `older_than:`/`newer_than:` need a clock: use [`parse_at`].
pub fn parse(q: &str) -> Result<Query, String> {
    Ok(Query {
        expr: parse::parse_expr(q, None)?,
    })
}

/// Parse `q` with `now_ms` (epoch ms) as the reference for relative dates.
pub fn parse_at(q: &str, now_ms: i64) -> Result<Query, String> {
    Ok(Query {
        expr: parse::parse_expr(q, Some(now_ms))?,
    })
}

impl Query {
    /// Does `doc` satisfy the query? The empty query matches everything.
    pub fn matches(&self, doc: &SearchDoc) -> bool {
        match &self.expr {
            None => true,
            Some(e) => Index::new(doc).eval(e),
        }
    }

    /// True when the query names spam or trash (`in:spam`, `label:trash`,
    /// `in:anywhere`, …): Gmail then searches those too, as with
    /// `includeSpamTrash=true`.
    pub fn searches_spam_trash(&self) -> bool {
        fn walk(e: &Expr) -> bool {
            match e {
                Expr::And(items) | Expr::Or(items) => items.iter().any(walk),
                Expr::Not(inner) => walk(inner),
                Expr::Label(l) => l == "SPAM" || l == "TRASH",
                Expr::Anywhere => true,
                _ => false,
            }
        }
        self.expr.as_ref().is_some_and(walk)
    }

    /// True for the empty query.
    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }
}
