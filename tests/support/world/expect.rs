//! The product's capture semantics (SPEC §6–§7) applied to what the
//! generator built: direction, internal-only, exclusion and the expected
//! investor links, computed from the structured participants (canonical by
//! construction), never from parsing the raw bytes.

use std::collections::{BTreeMap, BTreeSet};

use super::cast::{EXCLUDED_ADDRESS, EXCLUDED_DOMAIN, PUBLIC_DOMAINS};
use super::people::{Addr, People};

/// How a link was made (`email_investor_links.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    Exact,
    Domain,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Exact => "exact",
            Strategy::Domain => "domain",
        }
    }
}

/// One expected `email_investor_links` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLink {
    /// The contact whose address matched; None for a domain link.
    pub contact_id: Option<String>,
    pub strategy: Strategy,
    /// Canonical participant addresses that may be `matched_address`.
    pub addresses: BTreeSet<String>,
}

/// investor id → link.
pub type Links = BTreeMap<String, ExpectedLink>;

/// What the rules say about one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outbound: bool,
    pub internal: bool,
    pub excluded: bool,
    pub links: Links,
}

/// Direction from the enrolled mailboxes; Bcc counts only on outbound mail
/// (it is only ever written in the sender's copy).
pub fn judge(people: &People, from: &Addr, to: &[Addr], cc: &[Addr], bcc: &[Addr]) -> Verdict {
    let outbound = people.enrolled(&from.canonical).is_some();
    let all: Vec<&Addr> = std::iter::once(from)
        .chain(to)
        .chain(cc)
        .chain(bcc)
        .collect();
    let internal = all.iter().all(|a| people.is_ours(a));
    let mut counted: Vec<&Addr> = std::iter::once(from).chain(to).chain(cc).collect();
    if outbound {
        counted.extend(bcc);
    }
    let excluded = counted
        .iter()
        .any(|a| a.canonical == EXCLUDED_ADDRESS || a.domain() == EXCLUDED_DOMAIN);
    let mut links = Links::new();
    if !internal && !excluded {
        for a in &counted {
            offer_exact(people, a, &mut links);
        }
        for a in &counted {
            offer_domain(people, a, &mut links);
        }
    }
    Verdict {
        outbound,
        internal,
        excluded,
        links,
    }
}

fn offer_exact(people: &People, a: &Addr, links: &mut Links) {
    for c in people
        .contacts
        .iter()
        .filter(|c| c.canonical == a.canonical)
    {
        let inv = people.investors[c.investor].id.clone();
        if let Some(other) = links.get(&inv).and_then(|l| l.contact_id.as_ref()) {
            assert_eq!(
                *other, c.id,
                "world bug: two contacts of {inv} on one email"
            );
        }
        links.insert(
            inv,
            ExpectedLink {
                contact_id: Some(c.id.clone()),
                strategy: Strategy::Exact,
                addresses: BTreeSet::from([c.canonical.clone()]),
            },
        );
    }
}

/// Runs after every exact offer, so an exact link is never downgraded.
fn offer_domain(people: &People, a: &Addr, links: &mut Links) {
    let d = a.domain();
    if PUBLIC_DOMAINS.contains(&d) || d == people.our_domain {
        return;
    }
    for inv in &people.investors {
        if !inv.domains.iter().any(|x| x.ascii == d) {
            continue;
        }
        let link = links.entry(inv.id.clone()).or_insert(ExpectedLink {
            contact_id: None,
            strategy: Strategy::Domain,
            addresses: BTreeSet::new(),
        });
        if link.strategy == Strategy::Domain {
            link.addresses.insert(a.canonical.clone());
        }
    }
}
