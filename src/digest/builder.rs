//! Builds a digest from a window's activity (SPEC §10): a section per team
//! member (every active directory user with an enrolled mailbox, both
//! directions, one narrative paragraph) and a section per investor (each
//! email counted once however many mailboxes saw it, direction per email).
//! The store supplies only live sightings of matched email in active
//! members' mailboxes; everything here is pure and deterministically
//! ordered, so the same data always gives the same text.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::digest::DigestActivity;

/// One team member's part of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub email: String,
    /// The directory name, or the address when it has none.
    pub name: String,
    pub emails: usize,
    pub received: usize,
    pub sent: usize,
    /// Investor names, most emails first, then by name.
    pub investors: Vec<String>,
    /// Subjects of the member's emails, oldest first (LLM facts).
    pub subjects: Vec<String>,
    /// The paragraph shown (deterministic or the LLM's).
    pub narrative: String,
}

/// One email as listed under an investor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLine {
    pub email_id: i64,
    pub date_ms: i64,
    pub outbound: bool,
    pub subject: String,
    /// Names of the members whose mailboxes hold it, sorted.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorSummary {
    pub id: String,
    pub name: String,
    pub received: usize,
    pub sent: usize,
    /// Oldest first.
    pub emails: Vec<EmailLine>,
}

/// The whole window, before rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub members: Vec<MemberSummary>,
    pub investors: Vec<InvestorSummary>,
    /// Distinct emails in the window.
    pub emails: usize,
    pub received: usize,
    pub sent: usize,
}

struct EmailFacts<'a> {
    date_ms: i64,
    outbound: bool,
    subject: &'a str,
    from: &'a str,
    mailboxes: BTreeSet<&'a str>,
}

/// Groups the activity into the two sections (narratives still empty).
pub fn summarize(activity: &DigestActivity) -> Summary {
    let names: BTreeMap<&str, &str> = activity
        .members
        .iter()
        .map(|m| (m.email.as_str(), display_name(&m.name, &m.email)))
        .collect();
    let mut emails: BTreeMap<i64, EmailFacts<'_>> = BTreeMap::new();
    for s in &activity.sightings {
        emails
            .entry(s.email_id)
            .or_insert_with(|| EmailFacts {
                date_ms: s.date_ms,
                outbound: s.outbound,
                subject: &s.subject,
                from: &s.from_email,
                mailboxes: BTreeSet::new(),
            })
            .mailboxes
            .insert(&s.mailbox);
    }
    let mut investors_of: BTreeMap<i64, Vec<(&str, &str)>> = BTreeMap::new();
    for (email_id, id, name) in &activity.links {
        if emails.contains_key(email_id) {
            investors_of.entry(*email_id).or_default().push((id, name));
        }
    }
    // Matched email always has a link; one that lost it since is not investor email.
    emails.retain(|id, _| investors_of.contains_key(id));
    let mut ordered: Vec<(&i64, &EmailFacts<'_>)> = emails.iter().collect();
    ordered.sort_by_key(|(id, e)| (e.date_ms, **id));

    let members = activity
        .members
        .iter()
        .map(|m| {
            member(
                &m.email,
                display_name(&m.name, &m.email),
                &ordered,
                &investors_of,
            )
        })
        .collect();
    let investors = investor_sections(&ordered, &investors_of, &names);
    let sent = ordered.iter().filter(|(_, e)| e.outbound).count();
    Summary {
        members,
        investors,
        emails: ordered.len(),
        received: ordered.len() - sent,
        sent,
    }
}

fn member(
    email: &str,
    name: &str,
    ordered: &[(&i64, &EmailFacts<'_>)],
    investors_of: &BTreeMap<i64, Vec<(&str, &str)>>,
) -> MemberSummary {
    let mut out = MemberSummary {
        email: email.to_string(),
        name: name.to_string(),
        emails: 0,
        received: 0,
        sent: 0,
        investors: Vec::new(),
        subjects: Vec::new(),
        narrative: String::new(),
    };
    let mut per_investor: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, e) in ordered.iter().filter(|(_, e)| e.mailboxes.contains(email)) {
        out.emails += 1;
        // From this member's point of view: they wrote it, or they got it.
        if e.from.eq_ignore_ascii_case(email) {
            out.sent += 1;
        } else {
            out.received += 1;
        }
        out.subjects.push(clean(e.subject));
        for (_, inv_name) in investors_of.get(*id).into_iter().flatten() {
            *per_investor.entry(inv_name).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = per_investor.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    out.investors = ranked.into_iter().map(|(n, _)| n.to_string()).collect();
    out
}

fn investor_sections(
    ordered: &[(&i64, &EmailFacts<'_>)],
    investors_of: &BTreeMap<i64, Vec<(&str, &str)>>,
    names: &BTreeMap<&str, &str>,
) -> Vec<InvestorSummary> {
    let mut by_id: BTreeMap<&str, InvestorSummary> = BTreeMap::new();
    for (id, e) in ordered {
        let mut members: Vec<String> = e
            .mailboxes
            .iter()
            .map(|m| names.get(m).copied().unwrap_or(m).to_string())
            .collect();
        members.sort();
        for (inv_id, inv_name) in investors_of.get(*id).into_iter().flatten() {
            let s = by_id.entry(inv_id).or_insert_with(|| InvestorSummary {
                id: inv_id.to_string(),
                name: clean(inv_name),
                received: 0,
                sent: 0,
                emails: Vec::new(),
            });
            if e.outbound {
                s.sent += 1;
            } else {
                s.received += 1;
            }
            s.emails.push(EmailLine {
                email_id: **id,
                date_ms: e.date_ms,
                outbound: e.outbound,
                subject: clean(e.subject),
                members: members.clone(),
            });
        }
    }
    let mut out: Vec<InvestorSummary> = by_id.into_values().collect();
    out.sort_by(|a, b| {
        b.emails
            .len()
            .cmp(&a.emails.len())
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

fn display_name<'a>(name: &'a str, email: &'a str) -> &'a str {
    if name.trim().is_empty() {
        email
    } else {
        name.trim()
    }
}

/// One line of text: control characters (CR/LF, tabs) become spaces,
/// runs of spaces collapse, at most 140 characters.
pub fn clean(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut line = words.join(" ");
    if line.chars().count() > 140 {
        line = line.chars().take(139).collect::<String>() + "…";
    }
    if line.is_empty() {
        "(no subject)".to_string()
    } else {
        line
    }
}
