//! Who exists in the world: our workspace (enrolled mailboxes plus the
//! unenrolled dave@), ~20 investors with domains and contacts (two domains,
//! a listed public domain, an IDN domain, a plus-tag contact, a public-domain
//! contact), the exclusions, and public-mail strangers. Every address is
//! kept as written in a header and in canonical form (lowercase, punycode),
//! so the expected links come from construction, not from parsing.

use email_sidecar::store::{
    Directory, DirectoryContact, DirectoryInvestor, DirectoryUser, UserRole,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::cast::{
    EXCLUDED_ADDRESS, EXCLUDED_DOMAIN, FIRST, IDN_ASCII, IDN_UNICODE, INVESTORS, LAST,
    NONCONTACT_LOCALS, PUBLIC_DOMAINS, STRANGER_NAMES, UMBRELLA,
};

/// One address as written in a header and in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub written: String,
    pub canonical: String,
    pub name: Option<String>,
}

impl Addr {
    pub fn domain(&self) -> &str {
        self.canonical.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

#[derive(Debug, Clone)]
pub struct Domain {
    /// As the directory lists it and senders usually write it.
    pub written: String,
    /// Lowercase ASCII (punycode).
    pub ascii: String,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: String,
    pub investor: usize,
    /// As the directory lists it.
    pub listed: String,
    pub canonical: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Investor {
    pub id: String,
    pub name: String,
    pub domains: Vec<Domain>,
    pub contacts: Vec<usize>,
}

/// The cast of the world.
#[derive(Debug, Clone)]
pub struct People {
    pub our_domain: String,
    /// Enrolled mailboxes, canonical.
    pub mailboxes: Vec<String>,
    pub dave: String,
    pub investors: Vec<Investor>,
    pub contacts: Vec<Contact>,
}

impl People {
    pub fn new(mailboxes: &[String], our_domain: &str) -> People {
        let mut investors = Vec::new();
        let mut contacts = Vec::new();
        for (n, (name, domains, cs)) in INVESTORS.iter().enumerate() {
            let domains = domains
                .iter()
                .map(|d| Domain {
                    written: d.to_string(),
                    ascii: ascii_domain(d),
                })
                .collect();
            let mut ids = Vec::new();
            for (k, (listed, cname)) in cs.iter().enumerate() {
                ids.push(contacts.len());
                contacts.push(Contact {
                    id: format!("ct-{:02}{}", n + 1, (b'a' + k as u8) as char),
                    investor: n,
                    listed: listed.to_string(),
                    canonical: canonical(listed),
                    name: cname.to_string(),
                });
            }
            investors.push(Investor {
                id: format!("inv-{:02}", n + 1),
                name: name.to_string(),
                domains,
                contacts: ids,
            });
        }
        People {
            our_domain: our_domain.to_ascii_lowercase(),
            mailboxes: mailboxes.iter().map(|m| m.to_ascii_lowercase()).collect(),
            dave: format!("dave@{}", our_domain.to_ascii_lowercase()),
            investors,
            contacts,
        }
    }

    /// SPEC §11 directory: users (mailboxes + dave), investors, contacts,
    /// exclusions (an address at Hooli's domain, Umbrella's whole domain).
    pub fn directory(&self) -> Directory {
        let mut users: Vec<DirectoryUser> = self
            .mailboxes
            .iter()
            .enumerate()
            .map(|(n, m)| DirectoryUser {
                id: format!("u-{}", m.split('@').next().unwrap_or("x")),
                email: m.clone(),
                name: title(m.split('@').next().unwrap_or("x")),
                role: if n == 0 {
                    UserRole::Admin
                } else {
                    UserRole::Member
                },
                active: true,
            })
            .collect();
        users.push(DirectoryUser {
            id: "u-dave".into(),
            email: self.dave.clone(),
            name: "Dave".into(),
            role: UserRole::Member,
            active: true,
        });
        Directory {
            users,
            investors: self
                .investors
                .iter()
                .map(|i| DirectoryInvestor {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    domains: i.domains.iter().map(|d| d.written.clone()).collect(),
                    graveyard: false,
                })
                .collect(),
            contacts: self
                .contacts
                .iter()
                .map(|c| DirectoryContact {
                    id: c.id.clone(),
                    investor_id: self.investors[c.investor].id.clone(),
                    email: c.listed.clone(),
                    name: c.name.clone(),
                })
                .collect(),
            exclusions: vec![EXCLUDED_ADDRESS.into(), EXCLUDED_DOMAIN.into()],
        }
    }

    /// Investors ordinary mail may involve (not the excluded-domain one).
    pub fn normal_investors(&self) -> Vec<usize> {
        (0..self.investors.len())
            .filter(|&i| i != UMBRELLA)
            .collect()
    }

    pub fn mailbox(&self, n: usize, rng: &mut StdRng) -> Addr {
        let m = &self.mailboxes[n];
        let local = m.split('@').next().unwrap_or("x");
        ours(m, Some(title(local)), rng)
    }

    pub fn dave(&self, rng: &mut StdRng) -> Addr {
        ours(&self.dave, Some("Dave Okafor".into()), rng)
    }

    /// A contact as a sender would write it (case varied, IDN either way).
    pub fn contact_addr(&self, c: usize, rng: &mut StdRng) -> Addr {
        let ct = &self.contacts[c];
        let (local, domain) = ct.canonical.rsplit_once('@').unwrap_or(("x", "x"));
        let written = if domain == IDN_ASCII {
            let d = if rng.gen_bool(0.5) {
                IDN_UNICODE
            } else {
                IDN_ASCII
            };
            format!("{local}@{d}")
        } else {
            vary_case(&ct.canonical, rng)
        };
        Addr {
            written,
            canonical: ct.canonical.clone(),
            name: rng.gen_bool(0.8).then(|| ct.name.clone()),
        }
    }

    /// A random contact of investor `inv`.
    pub fn contact_of(&self, inv: usize, rng: &mut StdRng) -> usize {
        *self.investors[inv].contacts.choose(rng).unwrap()
    }

    /// Someone at one of `inv`'s domains who is not a contact (nor excluded).
    pub fn noncontact(&self, inv: usize, rng: &mut StdRng) -> Addr {
        let domains: Vec<&Domain> = self.investors[inv]
            .domains
            .iter()
            .filter(|d| !PUBLIC_DOMAINS.contains(&d.ascii.as_str()))
            .collect();
        let d = domains.choose(rng).unwrap();
        let local = format!(
            "{}{}",
            NONCONTACT_LOCALS.choose(rng).unwrap(),
            rng.gen_range(1..50)
        );
        let written_domain = if d.ascii == IDN_ASCII && rng.gen_bool(0.5) {
            IDN_UNICODE
        } else {
            &d.ascii
        };
        let canonical = format!("{local}@{}", d.ascii);
        Addr {
            written: vary_case(&format!("{local}@{written_domain}"), rng),
            canonical,
            name: None,
        }
    }

    /// A stranger at a public mail domain (never a contact).
    pub fn stranger(&self, rng: &mut StdRng) -> Addr {
        let local = format!(
            "{}.{}{}",
            FIRST.choose(rng).unwrap(),
            LAST.choose(rng).unwrap(),
            rng.gen_range(1..500)
        );
        let canonical = format!("{local}@{}", PUBLIC_DOMAINS.choose(rng).unwrap());
        Addr {
            written: vary_case(&canonical, rng),
            canonical,
            name: rng
                .gen_bool(0.6)
                .then(|| STRANGER_NAMES.choose(rng).unwrap().to_string()),
        }
    }

    pub fn is_ours(&self, a: &Addr) -> bool {
        a.domain() == self.our_domain
    }

    /// Index of the enrolled mailbox with this canonical address.
    pub fn enrolled(&self, canonical: &str) -> Option<usize> {
        self.mailboxes.iter().position(|m| m == canonical)
    }

    pub fn plain(written: &str) -> Addr {
        Addr {
            written: written.to_string(),
            canonical: canonical(written),
            name: None,
        }
    }
}

fn ours(canonical: &str, name: Option<String>, rng: &mut StdRng) -> Addr {
    Addr {
        written: vary_case(canonical, rng),
        canonical: canonical.to_string(),
        name: name.filter(|_| rng.gen_bool(0.7)),
    }
}

/// Lowercase, IDN domain to punycode (only the one IDN domain exists here).
pub fn canonical(a: &str) -> String {
    let a = a.to_lowercase();
    match a.rsplit_once('@') {
        Some((l, d)) => format!("{l}@{}", ascii_domain(d)),
        None => a,
    }
}

fn ascii_domain(d: &str) -> String {
    let d = d.to_lowercase();
    if d == IDN_UNICODE {
        IDN_ASCII.to_string()
    } else {
        d
    }
}

/// One address in ten gets capitals (matching is case-insensitive).
fn vary_case(a: &str, rng: &mut StdRng) -> String {
    if !rng.gen_bool(0.1) || !a.is_ascii() {
        return a.to_string();
    }
    let (l, d) = a.rsplit_once('@').unwrap_or((a, ""));
    format!("{}@{}", title(l), d.to_ascii_uppercase())
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
