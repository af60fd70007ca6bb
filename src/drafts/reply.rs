//! The reply itself, pure: who it goes to (reply or reply-all, never a
//! Bcc, our own addresses out of the added participants), its subject
//! (exactly one `Re:`), the threading headers Gmail needs (`In-Reply-To`,
//! `References`), and the RFC 5322 bytes built with lettre's builder.

use std::collections::HashSet;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::Message;

use crate::store::drafts::{Person, ReplySource};

/// At most this many ids in `References` (the first and the newest kept,
/// as RFC 5322 §3.6.4 suggests when trimming).
const MAX_REFERENCES: usize = 50;

/// Why a reply cannot be built for this email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the email has no Message-ID, so Gmail cannot thread a reply to it")]
    NoMessageId,
    #[error("nobody to reply to: the email has no recipient other than this mailbox")]
    NoRecipients,
    #[error("{0:?} is not an address a reply can be sent to")]
    BadAddress(String),
    #[error("the reply could not be built: {0}")]
    Build(String),
}

/// Everything a reply carries besides its body and sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPlan {
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub subject: String,
    /// `<id>` of the email replied to.
    pub in_reply_to: String,
    /// Space-separated `<id>`s, the email's own last.
    pub references: String,
}

/// The plan for replying to `src` from `mailbox`; `own` holds our own
/// addresses (lowercase), left out of what reply-all adds.
pub fn plan(
    src: &ReplySource,
    mailbox: &str,
    own: &HashSet<String>,
    reply_all: bool,
) -> Result<ReplyPlan, ReplyError> {
    let (in_reply_to, references) = threading(src)?;
    let (to, cc) = recipients(src, mailbox, own, reply_all);
    if to.is_empty() {
        return Err(ReplyError::NoRecipients);
    }
    Ok(ReplyPlan {
        to,
        cc,
        subject: reply_subject(&src.subject),
        in_reply_to,
        references,
    })
}

/// To and Cc. Inbound for this mailbox: To = the sender (its Reply-To when
/// given), reply-all adding the other To recipients, and Cc the original
/// Cc. Outbound (sent by this mailbox): To = the original To recipients,
/// reply-all adding the original Cc. The mailbox never addresses itself;
/// what reply-all adds excludes `own`; each address appears once (case-
/// insensitively); Bcc recipients are never in `src` at all.
pub fn recipients(
    src: &ReplySource,
    mailbox: &str,
    own: &HashSet<String>,
    reply_all: bool,
) -> (Vec<Person>, Vec<Person>) {
    let me = mailbox.trim().to_ascii_lowercase();
    let mut seen: HashSet<String> = HashSet::from([me.clone()]);
    let (mut to, mut cc) = (Vec::new(), Vec::new());
    let is_own = |p: &Person| own.contains(&p.email.to_ascii_lowercase());
    let mut add = |list: &mut Vec<Person>, p: &Person| {
        if !p.email.is_empty() && seen.insert(p.email.to_ascii_lowercase()) {
            list.push(clean_person(p));
        }
    };
    if src.from.email.eq_ignore_ascii_case(&me) {
        src.to.iter().for_each(|p| add(&mut to, p));
    } else {
        let reply_to: Vec<&Person> = src
            .reply_to
            .iter()
            .filter(|p| !p.email.eq_ignore_ascii_case(&me))
            .collect();
        if reply_to.is_empty() {
            add(&mut to, &src.from);
        } else {
            reply_to.into_iter().for_each(|p| add(&mut to, p));
        }
        if reply_all {
            src.to
                .iter()
                .filter(|p| !is_own(p))
                .for_each(|p| add(&mut to, p));
        }
    }
    if reply_all {
        src.cc
            .iter()
            .filter(|p| !is_own(p))
            .for_each(|p| add(&mut cc, p));
    }
    if to.is_empty() {
        std::mem::swap(&mut to, &mut cc);
    }
    (to, cc)
}

/// `Re: ` once, whatever reply prefixes (`Re:`, `RE:`, `re :`, `Re[2]:`)
/// the subject already carries.
pub fn reply_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(r) = strip_reply_prefix(rest) {
        rest = r.trim_start();
    }
    format!("Re: {}", clean_text(rest)).trim_end().to_string()
}

fn strip_reply_prefix(s: &str) -> Option<&str> {
    let head = s.get(..2)?;
    if !head.eq_ignore_ascii_case("re") {
        return None;
    }
    let mut rest = &s[2..];
    if let Some(inner) = rest.strip_prefix('[') {
        let end = inner.find(']')?;
        let n = &inner[..end];
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        rest = &inner[end + 1..];
    }
    rest.trim_start().strip_prefix(':')
}

/// `In-Reply-To` and `References` from the email's own headers.
fn threading(src: &ReplySource) -> Result<(String, String), ReplyError> {
    if src.message_id_synthesized || src.message_id.is_empty() {
        return Err(ReplyError::NoMessageId);
    }
    let header = |name: &str| {
        src.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    // The id exactly as the sender wrote it when it is one clean token.
    let own_id = header("Message-ID")
        .map(msg_ids)
        .filter(|ids| ids.len() == 1)
        .and_then(|mut ids| ids.pop())
        .unwrap_or_else(|| format!("<{}>", src.message_id));
    let mut refs = match header("References") {
        Some(v) => msg_ids(v),
        None => header("In-Reply-To").map(msg_ids).unwrap_or_default(),
    };
    refs.retain(|r| !r.eq_ignore_ascii_case(&own_id));
    refs.push(own_id.clone());
    if refs.len() > MAX_REFERENCES {
        let tail = refs.split_off(refs.len() - (MAX_REFERENCES - 1));
        refs.truncate(1);
        refs.extend(tail);
    }
    Ok((own_id, refs.join(" ")))
}

/// The `<…>` message ids in a header value, in order, once each; tokens
/// with whitespace or control characters inside are dropped.
fn msg_ids(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let token = &rest[start..start + len + 1];
        rest = &rest[start + len + 1..];
        let clean = token.len() > 2
            && !token[1..token.len() - 1]
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<');
        if clean && !out.iter().any(|o| o.eq_ignore_ascii_case(token)) {
            out.push(token.to_string());
        }
    }
    out
}

/// The reply's RFC 5322 bytes: plain text, dated `date`, from `from`.
pub fn build_raw(
    plan: &ReplyPlan,
    from: &Person,
    body: &str,
    date: DateTime<Utc>,
) -> Result<Vec<u8>, ReplyError> {
    let mut b = Message::builder()
        .from(mailbox(from)?)
        .subject(plan.subject.clone())
        .in_reply_to(plan.in_reply_to.clone())
        .references(plan.references.clone())
        .date(SystemTime::from(date))
        .header(ContentType::TEXT_PLAIN);
    for p in &plan.to {
        b = b.to(mailbox(p)?);
    }
    for p in &plan.cc {
        b = b.cc(mailbox(p)?);
    }
    let msg = b
        .body(body.to_string())
        .map_err(|e| ReplyError::Build(e.to_string()))?;
    Ok(msg.formatted())
}

fn mailbox(p: &Person) -> Result<Mailbox, ReplyError> {
    let address = p
        .email
        .parse()
        .map_err(|_| ReplyError::BadAddress(p.email.clone()))?;
    let name = clean_text(&p.name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

fn clean_person(p: &Person) -> Person {
    Person {
        email: p.email.trim().to_string(),
        name: clean_text(&p.name),
    }
}

/// Captured text bound for a header: control characters (CR, LF, …)
/// become spaces, so nothing taken from an email can start a new header.
fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_gets_exactly_one_re_prefix_whatever_it_carried() {
        let cases = [
            ("Term sheet", "Re: Term sheet"),
            ("Re: Term sheet", "Re: Term sheet"),
            ("RE: re: Re:Term sheet", "Re: Term sheet"),
            ("Re[2]: Term sheet", "Re: Term sheet"),
            ("re : Term sheet", "Re: Term sheet"),
            ("Fwd: Term sheet", "Re: Fwd: Term sheet"),
            ("Regarding the deck", "Re: Regarding the deck"),
            ("Re[x]: odd", "Re: Re[x]: odd"),
            ("", "Re:"),
            ("Über\r\nBcc: x@y.z", "Re: Über  Bcc: x@y.z"),
        ];
        for (given, want) in cases {
            assert_eq!(reply_subject(given), want, "{given:?}");
        }
    }

    fn person(email: &str) -> Person {
        Person {
            email: email.into(),
            name: String::new(),
        }
    }

    fn source(from: &str, reply_to: &[&str], to: &[&str], cc: &[&str]) -> ReplySource {
        ReplySource {
            email_id: 1,
            message_id: "m@x.test".into(),
            message_id_synthesized: false,
            subject: "s".into(),
            from: person(from),
            reply_to: reply_to.iter().map(|a| person(a)).collect(),
            to: to.iter().map(|a| person(a)).collect(),
            cc: cc.iter().map(|a| person(a)).collect(),
            headers: vec![("Message-ID".into(), "<M@X.test>".into())],
            sightings: Vec::new(),
        }
    }

    fn emails(list: &[Person]) -> Vec<&str> {
        list.iter().map(|p| p.email.as_str()).collect()
    }

    #[test]
    fn reply_to_wins_over_from_and_an_empty_to_takes_the_cc() {
        let own: HashSet<String> = HashSet::from(["bob@fund.test".to_string()]);
        let src = source("jo@acme.vc", &["deals@acme.vc"], &["me@fund.test"], &[]);
        let (to, cc) = recipients(&src, "me@fund.test", &own, true);
        assert_eq!((emails(&to), emails(&cc)), (vec!["deals@acme.vc"], vec![]));
        // Sent by this mailbox to itself only, with an investor in Cc.
        let src = source(
            "me@fund.test",
            &[],
            &["ME@fund.test"],
            &["jo@acme.vc", "bob@fund.test"],
        );
        let (to, cc) = recipients(&src, "me@fund.test", &own, true);
        assert_eq!((emails(&to), emails(&cc)), (vec!["jo@acme.vc"], vec![]));
        assert_eq!(
            plan(&src, "me@fund.test", &own, false),
            Err(ReplyError::NoRecipients)
        );
    }

    #[test]
    fn threading_keeps_the_written_message_id_and_refuses_a_synthesized_one() {
        let mut src = source("jo@acme.vc", &[], &["me@fund.test"], &[]);
        let p = plan(&src, "me@fund.test", &HashSet::new(), false).unwrap();
        assert_eq!(
            (p.in_reply_to.as_str(), p.references.as_str()),
            ("<M@X.test>", "<M@X.test>")
        );
        src.headers
            .push(("In-Reply-To".into(), "<a@x> <b@x>".into()));
        let p = plan(&src, "me@fund.test", &HashSet::new(), false).unwrap();
        assert_eq!(p.references, "<a@x> <b@x> <M@X.test>");
        src.message_id_synthesized = true;
        let err = plan(&src, "me@fund.test", &HashSet::new(), false).unwrap_err();
        assert_eq!(err, ReplyError::NoMessageId);
    }

    #[test]
    fn message_ids_are_taken_in_order_once_and_only_when_clean() {
        assert_eq!(
            msg_ids("<a@x> <b@y>\t<A@X> <bad id@z> junk <c@z>"),
            vec!["<a@x>", "<b@y>", "<c@z>"]
        );
        assert!(msg_ids("no ids here").is_empty());
    }
}
