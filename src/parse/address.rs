//! Participants: address normalisation (lowercase, IDN domain to punycode,
//! plus-tags and dots kept as written, SPEC §7) and the per-email
//! classification the matcher needs: direction, internal-only, and which
//! participants count (Bcc only on outbound mail).

use super::ParsedEmail;
use mail_parser::{HeaderName, Message};
use serde::Serialize;

/// One participant. `email` is normalised (see [`normalize_email`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Address {
    pub email: String,
    pub name: Option<String>,
}

/// `local@domain` lowercased, the domain converted to ASCII (punycode) and
/// stripped of a trailing dot. `None` when there is no `@` with something on
/// both sides, i.e. not an address we could ever match.
pub fn normalize_email(raw: &str) -> Option<String> {
    let raw = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let at = raw.rfind('@')?;
    let local = raw[..at].trim();
    let domain = raw[at + 1..].trim().trim_end_matches('.');
    if local.is_empty() || domain.is_empty() || raw.chars().any(char::is_whitespace) {
        return None;
    }
    let domain = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        let ascii = url::quirks::domain_to_ascii(domain);
        if ascii.is_empty() {
            domain.to_lowercase()
        } else {
            ascii
        }
    };
    Some(format!("{}@{domain}", local.to_lowercase()))
}

/// Every address of one header (all occurrences, groups flattened);
/// unusable entries are skipped.
pub(super) fn list(msg: &Message<'_>, name: HeaderName<'static>) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    for value in msg.header_values(name) {
        let addrs: Vec<&mail_parser::Addr<'_>> = match value.as_address() {
            Some(mail_parser::Address::List(l)) => l.iter().collect(),
            Some(mail_parser::Address::Group(g)) => {
                g.iter().flat_map(|g| g.addresses.iter()).collect()
            }
            None => Vec::new(),
        };
        for a in addrs {
            let Some(email) = a.address.as_deref().and_then(normalize_email) else {
                continue;
            };
            let name = a
                .name
                .as_deref()
                .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|n| !n.is_empty());
            out.push(Address { email, name });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    From,
    To,
    Cc,
    Bcc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub direction: Direction,
    /// At least one participant, and every one of them (From, To, Cc, Bcc)
    /// in one of our domains or a subdomain of one.
    pub internal_only: bool,
    /// From, To, Cc, and Bcc only when outbound (SPEC §7); a (role, email)
    /// pair appears once.
    pub participants: Vec<(Role, Address)>,
}

/// Direction, internal-only and the participants that count for matching.
/// `our_addresses` are the enrolled mailboxes, `our_domains` the firm's
/// domains; both are normalised here, so any case or IDN form works.
pub fn classify(
    email: &ParsedEmail,
    our_addresses: &[String],
    our_domains: &[String],
) -> Classification {
    let ours: Vec<String> = our_addresses
        .iter()
        .filter_map(|a| normalize_email(a))
        .collect();
    let domains: Vec<String> = our_domains.iter().filter_map(|d| norm_domain(d)).collect();
    let outbound = email.from.as_ref().is_some_and(|f| ours.contains(&f.email));
    let direction = if outbound {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    let everyone = email
        .from
        .iter()
        .chain(&email.to)
        .chain(&email.cc)
        .chain(&email.bcc);
    let mut any = false;
    let internal = everyone
        .inspect(|_| any = true)
        .all(|a| in_domains(&a.email, &domains));
    let mut participants: Vec<(Role, Address)> = Vec::new();
    let mut push = |role: Role, list: &[Address]| {
        for a in list {
            if !participants
                .iter()
                .any(|(r, p)| *r == role && p.email == a.email)
            {
                participants.push((role, a.clone()));
            }
        }
    };
    push(Role::From, email.from.as_slice());
    push(Role::To, &email.to);
    push(Role::Cc, &email.cc);
    if outbound {
        push(Role::Bcc, &email.bcc);
    }
    Classification {
        direction,
        internal_only: any && internal,
        participants,
    }
}

fn norm_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_start_matches('@').trim_start_matches('.');
    normalize_email(&format!("x@{d}")).map(|e| e[2..].to_string())
}

/// `email`'s domain equals one of `domains` or is a subdomain of one.
fn in_domains(email: &str, domains: &[String]) -> bool {
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    domains.iter().any(|d| {
        domain == d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}
