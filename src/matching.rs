//! matching: an email's participants × the CRM directory → investor links
//! (SPEC §6–§7). Pure and synchronous: the capture engine builds a
//! [`Matcher`] once per directory version (from `store::Directory`) and asks
//! it about each email; [`search_terms`] turns the same directory into Gmail
//! search queries for the investor-first backfill (issue 7).
//!
//! Decisions (the SPEC leaves them open):
//! - **Subdomains match.** `eu.acme.com` matches an investor listing
//!   `acme.com`; when investors list both, the most specific domain wins
//!   (`eu.acme.com` links only the investor that listed it).
//! - **Exclusions exclude the whole email.** The list is "never log": if any
//!   participant is an excluded address or is at an excluded domain (or a
//!   subdomain of one), the email gets no links at all and is never
//!   proposed; only its sighting is kept.
//! - **Public mail domains** (one list, in `domains.rs`) never match by
//!   domain even if an investor lists them; an exact contact at one does.
//! - **Our workspace domains** (and their subdomains) never match, by
//!   address or by domain.
//! - Exact and domain rules apply independently across investors (a contact
//!   of investor A at investor B's domain links both); within one investor
//!   exact wins. Among several matches for one investor the link carries the
//!   best participant by role (From, To, Cc, Bcc), then address, then
//!   contact id, so the outcome never depends on header order.

mod domains;
mod search;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::store::Directory;

pub use domains::{is_public_domain, normalize_address, normalize_domain};
pub use search::{build_queries, search_items, search_terms, DEFAULT_QUERY_MAX};

/// Where an address appeared. Bcc is only known (and only passed) for
/// outbound mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    From,
    To,
    Cc,
    Bcc,
}

/// One address on an email: lowercase, domain in punycode (normalised again
/// here, so a Unicode domain is fine too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Participant {
    pub role: Role,
    pub email: String,
}

impl Participant {
    pub fn new(role: Role, email: impl Into<String>) -> Self {
        Self {
            role,
            email: email.into(),
        }
    }
}

/// How a link was made (`email_investor_links.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    Exact,
    Domain,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Domain => "domain",
        }
    }
}

/// One email ↔ investor link; at most one per investor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub investor_id: String,
    /// The contact whose address matched; `None` for a domain match.
    pub contact_id: Option<String>,
    pub strategy: Strategy,
    /// The participant's address (canonical form) that made the link.
    pub address: String,
    /// The investor is in the graveyard: still linked, so its email stays
    /// listed; whether to propose is the caller's policy.
    pub graveyard: bool,
}

/// What matching decided for one email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchOutcome {
    /// Ordered by investor id.
    pub links: Vec<Link>,
    /// A participant is on the exclusion list: no links, no proposal, no
    /// storage beyond the sighting.
    pub excluded: bool,
}

impl MatchOutcome {
    /// Linked to at least one investor and not excluded: bodies and
    /// attachments are stored (SPEC §5).
    pub fn is_matched(&self) -> bool {
        !self.excluded && !self.links.is_empty()
    }
}

/// SPEC §6: internal-only mail is never matched or proposed, bulk mail is
/// captured but never proposed, excluded mail never.
pub fn should_propose(outcome: &MatchOutcome, internal_only: bool, bulk: bool) -> bool {
    outcome.is_matched() && !internal_only && !bulk
}

/// The directory indexed for O(participants) matching.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// contact address → (investor index, contact id), sorted.
    contacts: HashMap<String, Vec<(usize, String)>>,
    /// investor domain (public ones left out) → investor indexes, sorted.
    domains: HashMap<String, Vec<usize>>,
    excluded_addresses: HashSet<String>,
    excluded_domains: HashSet<String>,
    our_domains: HashSet<String>,
    /// (id, graveyard), sorted by id so indexes order like ids.
    investors: Vec<(String, bool)>,
}

/// The best candidate so far for one investor; compares smaller = better.
type Candidate = (Strategy, Role, String, Option<String>);

impl Matcher {
    /// Indexes `dir`. Entries that do not normalise (the store refuses them
    /// anyway) and contacts of unknown investors are left out.
    pub fn new(dir: &Directory, our_domains: &[String]) -> Matcher {
        let mut investors: Vec<(String, bool)> = dir
            .investors
            .iter()
            .map(|i| (i.id.clone(), i.graveyard))
            .collect();
        investors.sort();
        investors.dedup_by(|a, b| a.0 == b.0);
        let index_of: HashMap<&str, usize> = investors
            .iter()
            .enumerate()
            .map(|(n, (id, _))| (id.as_str(), n))
            .collect();

        let mut m = Matcher {
            our_domains: our_domains
                .iter()
                .filter_map(|d| normalize_domain(d))
                .collect(),
            ..Matcher::default()
        };
        for inv in &dir.investors {
            let n = index_of[inv.id.as_str()];
            for d in inv.domains.iter().filter_map(|d| normalize_domain(d)) {
                if !is_public_domain(&d) && !m.is_ours_domain(&d) {
                    m.domains.entry(d).or_default().push(n);
                }
            }
        }
        for c in &dir.contacts {
            let (Some(&n), Some(addr)) = (
                index_of.get(c.investor_id.as_str()),
                normalize_address(&c.email),
            ) else {
                continue;
            };
            m.contacts.entry(addr).or_default().push((n, c.id.clone()));
        }
        for v in m.domains.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        for v in m.contacts.values_mut() {
            v.sort();
        }
        for e in &dir.exclusions {
            if e.contains('@') {
                m.excluded_addresses.extend(normalize_address(e));
            } else {
                m.excluded_domains.extend(normalize_domain(e));
            }
        }
        m.investors = investors;
        m
    }

    /// Links for one email (see the module docs for the rules).
    pub fn match_participants(&self, participants: &[Participant]) -> MatchOutcome {
        let mut best: BTreeMap<usize, Candidate> = BTreeMap::new();
        for p in participants {
            let Some(addr) = canonical(&p.email) else {
                continue;
            };
            let domain = domain_of(&addr);
            if self.is_excluded(&addr, domain) {
                return MatchOutcome {
                    links: Vec::new(),
                    excluded: true,
                };
            }
            if self.is_ours_domain(domain) {
                continue;
            }
            for (n, contact) in self.contacts.get(&addr).into_iter().flatten() {
                let cand = (Strategy::Exact, p.role, addr.clone(), Some(contact.clone()));
                offer(&mut best, *n, cand);
            }
            let hit = domains::suffixes(domain).find_map(|d| self.domains.get(d));
            for n in hit.into_iter().flatten() {
                offer(
                    &mut best,
                    *n,
                    (Strategy::Domain, p.role, addr.clone(), None),
                );
            }
        }
        let links = best
            .into_iter()
            .map(|(n, (strategy, _, address, contact_id))| Link {
                investor_id: self.investors[n].0.clone(),
                contact_id,
                strategy,
                address,
                graveyard: self.investors[n].1,
            })
            .collect();
        MatchOutcome {
            links,
            excluded: false,
        }
    }

    /// Whether `email` is in one of our workspace domains (or a subdomain).
    pub fn is_ours(&self, email: &str) -> bool {
        canonical(email).is_some_and(|a| self.is_ours_domain(domain_of(&a)))
    }

    /// Every participant is ours (and there is at least one): SPEC §6's
    /// internal-only mail.
    pub fn internal_only(&self, participants: &[Participant]) -> bool {
        !participants.is_empty() && participants.iter().all(|p| self.is_ours(&p.email))
    }

    fn is_ours_domain(&self, domain: &str) -> bool {
        domains::suffixes(domain).any(|d| self.our_domains.contains(d))
    }

    fn is_excluded(&self, addr: &str, domain: &str) -> bool {
        self.excluded_addresses.contains(addr)
            || domains::suffixes(domain).any(|d| self.excluded_domains.contains(d))
    }
}

fn offer(best: &mut BTreeMap<usize, Candidate>, investor: usize, cand: Candidate) {
    match best.get_mut(&investor) {
        Some(cur) if *cur <= cand => {}
        Some(cur) => *cur = cand,
        None => {
            best.insert(investor, cand);
        }
    }
}

/// The canonical address, or `None` for something that is not one.
fn canonical(email: &str) -> Option<String> {
    normalize_address(email)
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit_once('@').map_or("", |(_, d)| d)
}
