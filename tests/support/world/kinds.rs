//! One builder per message kind: who writes to whom, which headers mark it
//! (bulk, Bcc, no Message-ID), and for conversations the reply chain with
//! In-Reply-To/References across mailboxes. Builders only choose people and
//! headers; [`Gen::finish`] renders and judges.

use rand::seq::SliceRandom;
use rand::Rng;

use super::cast::{ACME, BUCHER, EXCLUDED_ADDRESS, HOOLI, INITECH, UMBRELLA};
use super::compose::{Draft, Gen, Placement};
use super::people::{Addr, People};
use super::Kind;

/// Relative frequency of each kind in a generated world.
pub const WEIGHTS: &[(Kind, u32)] = &[
    (Kind::InboundContact, 140),
    (Kind::InboundDomain, 90),
    (Kind::OutboundContactCcDomain, 80),
    (Kind::OutboundBcc, 25),
    (Kind::OutboundBccTeammate, 10),
    (Kind::PublicNonContact, 100),
    (Kind::PublicContact, 25),
    (Kind::PlusTagExact, 20),
    (Kind::PlusTagStripped, 20),
    (Kind::InternalOnly, 70),
    (Kind::FromDave, 30),
    (Kind::Bulk, 60),
    (Kind::Excluded, 40),
    (Kind::SpamOnly, 30),
    (Kind::TrashOnly, 20),
    (Kind::IdnContact, 20),
    (Kind::IdnDomain, 10),
    (Kind::SecondDomain, 15),
    (Kind::NoIdShared, 5),
    (Kind::Conversation, 25),
];

/// State of one conversation, so mutations can continue it.
#[derive(Debug, Clone)]
pub struct Conv {
    pub id: usize,
    pub contact: usize,
    pub team: Vec<usize>,
    pub ids: Vec<String>,
    pub subject: String,
    pub subject_raw: String,
    pub last: chrono::DateTime<chrono::FixedOffset>,
    pub last_from_contact: bool,
}

pub fn pick_kind(g: &mut Gen) -> Kind {
    let total: u32 = WEIGHTS.iter().map(|w| w.1).sum();
    let mut r = g.rng.gen_range(0..total);
    for (k, w) in WEIGHTS {
        if r < *w {
            return *k;
        }
        r -= w;
    }
    Kind::InboundContact
}

fn normal_inv(g: &mut Gen, p: &People) -> usize {
    *p.normal_investors().choose(&mut g.rng).unwrap()
}

fn other_mailbox(g: &mut Gen, p: &People, home: usize) -> Option<usize> {
    let others: Vec<usize> = (0..p.mailboxes.len()).filter(|&m| m != home).collect();
    others.choose(&mut g.rng).copied()
}

/// Sometimes copy a teammate (the same raw message lands in 2–3 mailboxes).
fn maybe_share(g: &mut Gen, p: &People, home: usize, d: &mut Draft, chance: f64) {
    if !g.rng.gen_bool(chance) {
        return;
    }
    if let Some(m) = other_mailbox(g, p, home) {
        d.cc.push(p.mailbox(m, &mut g.rng));
    }
    if g.rng.gen_bool(0.3) {
        let third = (0..p.mailboxes.len())
            .find(|&m| m != home && !d.cc.iter().any(|a| a.canonical == p.mailboxes[m]));
        if let Some(m) = third {
            d.to.push(p.mailbox(m, &mut g.rng));
        }
    }
}

fn contact_of(p: &People, inv: usize, pred: impl Fn(&str) -> bool) -> usize {
    *p.investors[inv]
        .contacts
        .iter()
        .find(|&&c| pred(&p.contacts[c].canonical))
        .unwrap()
}

/// Drafts for one pick of `kind` with `home` as the main mailbox.
pub fn build(g: &mut Gen, p: &People, kind: Kind, home: usize) -> Vec<Draft> {
    let me = p.mailbox(home, &mut g.rng);
    let d = match kind {
        Kind::Conversation => return conversation(g, p, home).0,
        Kind::InboundContact => {
            let inv = normal_inv(g, p);
            let c = p.contact_of(inv, &mut g.rng);
            let from = p.contact_addr(c, &mut g.rng);
            let mut d = g.draft(kind, from, vec![me]);
            maybe_share(g, p, home, &mut d, 0.15);
            if g.rng.gen_bool(0.1) {
                d.cc.push(p.stranger(&mut g.rng));
            }
            d
        }
        Kind::InboundDomain | Kind::IdnDomain => {
            let inv = if kind == Kind::IdnDomain {
                BUCHER
            } else {
                normal_inv(g, p)
            };
            let from = p.noncontact(inv, &mut g.rng);
            let mut d = g.draft(kind, from, vec![me]);
            maybe_share(g, p, home, &mut d, 0.15);
            d
        }
        Kind::SecondDomain => {
            let a = People::plain(&format!(
                "partner{}@globex-capital.example",
                g.rng.gen_range(1..20)
            ));
            let mut d = g.draft(kind, a, vec![me]);
            maybe_share(g, p, home, &mut d, 0.15);
            d
        }
        Kind::OutboundContactCcDomain => {
            let a = normal_inv(g, p);
            let mut b = normal_inv(g, p);
            while b == a {
                b = normal_inv(g, p);
            }
            let c = p.contact_of(a, &mut g.rng);
            let to = p.contact_addr(c, &mut g.rng);
            let mut d = g.draft(kind, me, vec![to]);
            d.cc.push(p.noncontact(b, &mut g.rng));
            maybe_share(g, p, home, &mut d, 0.15);
            d
        }
        Kind::OutboundBcc | Kind::OutboundBccTeammate => {
            let to = match (kind, other_mailbox(g, p, home)) {
                (Kind::OutboundBccTeammate, Some(m)) => p.mailbox(m, &mut g.rng),
                _ if g.rng.gen_bool(0.5) => p.dave(&mut g.rng),
                _ => p.stranger(&mut g.rng),
            };
            let inv = normal_inv(g, p);
            let c = p.contact_of(inv, &mut g.rng);
            let mut d = g.draft(kind, me, vec![to]);
            d.bcc.push(p.contact_addr(c, &mut g.rng));
            d
        }
        Kind::PublicNonContact => {
            let from = p.stranger(&mut g.rng);
            let mut d = g.draft(kind, from, vec![me]);
            maybe_share(g, p, home, &mut d, 0.15);
            d
        }
        Kind::PublicContact => {
            let c = contact_of(p, INITECH, |a| a.ends_with("@gmail.com"));
            let jane = p.contact_addr(c, &mut g.rng);
            if g.rng.gen_bool(0.5) {
                g.draft(kind, jane, vec![me])
            } else {
                g.draft(kind, me, vec![jane])
            }
        }
        Kind::PlusTagExact | Kind::PlusTagStripped => {
            let c = contact_of(p, ACME, |a| a.contains('+'));
            let mut x = p.contact_addr(c, &mut g.rng);
            if kind == Kind::PlusTagStripped {
                x = People::plain("x@acme.example");
            }
            if g.rng.gen_bool(0.6) {
                g.draft(kind, me, vec![x])
            } else {
                g.draft(kind, x, vec![me])
            }
        }
        Kind::InternalOnly => internal(g, p, home, me),
        Kind::FromDave => {
            let inv = normal_inv(g, p);
            let c = p.contact_of(inv, &mut g.rng);
            let dave = p.dave(&mut g.rng);
            let to = p.contact_addr(c, &mut g.rng);
            let mut d = g.draft(kind, dave, vec![to]);
            d.cc.push(me);
            d
        }
        Kind::Bulk => bulk(g, p, me),
        Kind::Excluded => excluded(g, p, me),
        Kind::SpamOnly | Kind::TrashOnly => {
            let from = if g.rng.gen_bool(0.5) {
                let inv = normal_inv(g, p);
                let c = p.contact_of(inv, &mut g.rng);
                p.contact_addr(c, &mut g.rng)
            } else {
                p.stranger(&mut g.rng)
            };
            let mut d = g.draft(kind, from, vec![me]);
            maybe_share(g, p, home, &mut d, 0.1);
            d.placement = if kind == Kind::SpamOnly {
                Placement::SpamOnly
            } else {
                Placement::TrashOnly
            };
            d
        }
        Kind::IdnContact => {
            let c = p.contact_of(BUCHER, &mut g.rng);
            let x = p.contact_addr(c, &mut g.rng);
            if g.rng.gen_bool(0.6) {
                g.draft(kind, x, vec![me])
            } else {
                g.draft(kind, me, vec![x])
            }
        }
        Kind::NoIdShared => {
            let from = if g.rng.gen_bool(0.5) {
                let c = p.contact_of(normal_inv(g, p), &mut g.rng);
                p.contact_addr(c, &mut g.rng)
            } else {
                p.stranger(&mut g.rng)
            };
            let mut d = g.draft(kind, from, vec![me]);
            let m = other_mailbox(g, p, home).unwrap_or(home);
            d.cc.push(p.mailbox(m, &mut g.rng));
            d.message_id = None;
            d
        }
    };
    let mut d = d;
    if d.kind != Kind::NoIdShared && d.kind != Kind::OutboundBccTeammate && g.rng.gen_bool(0.03) {
        d.message_id = None;
    }
    vec![d]
}

fn internal(g: &mut Gen, p: &People, home: usize, me: Addr) -> Draft {
    let other = other_mailbox(g, p, home).map(|m| p.mailbox(m, &mut g.rng));
    let dave = p.dave(&mut g.rng);
    let mut d = if g.rng.gen_bool(0.25) {
        g.draft(Kind::InternalOnly, dave.clone(), vec![me])
    } else {
        let to = other.clone().unwrap_or_else(|| dave.clone());
        g.draft(Kind::InternalOnly, me, vec![to])
    };
    if g.rng.gen_bool(0.4) && !d.from.canonical.starts_with("dave@") {
        d.cc.push(dave);
    }
    d
}

fn bulk(g: &mut Gen, p: &People, me: Addr) -> Draft {
    let inv = normal_inv(g, p);
    let from = if g.rng.gen_bool(0.3) {
        let c = p.contact_of(inv, &mut g.rng);
        p.contact_addr(c, &mut g.rng)
    } else {
        p.noncontact(inv, &mut g.rng)
    };
    let domain = from.domain().to_string();
    let mut d = g.draft(Kind::Bulk, from, vec![me]);
    let h = match g.rng.gen_range(0..4) {
        0 => (
            "List-Unsubscribe",
            format!(
                "<mailto:unsubscribe@{domain}?subject=unsub>, <https://{domain}/u/{}>",
                d.idx
            ),
        ),
        1 => ("List-Id", format!("Investor news <news.{domain}>")),
        2 => ("Precedence", "bulk".to_string()),
        _ => ("Auto-Submitted", "auto-generated".to_string()),
    };
    d.extra_headers.push((h.0.to_string(), h.1));
    d.bulk = true;
    d
}

fn excluded(g: &mut Gen, p: &People, me: Addr) -> Draft {
    let secret = People::plain(EXCLUDED_ADDRESS);
    let umbrella = if g.rng.gen_bool(0.5) {
        p.contact_addr(p.contact_of(UMBRELLA, &mut g.rng), &mut g.rng)
    } else {
        p.noncontact(UMBRELLA, &mut g.rng)
    };
    let inv = loop {
        let i = normal_inv(g, p);
        if i != HOOLI {
            break i;
        }
    };
    let c = p.contact_addr(p.contact_of(inv, &mut g.rng), &mut g.rng);
    match g.rng.gen_range(0..4) {
        0 => g.draft(Kind::Excluded, secret, vec![me]),
        1 => g.draft(Kind::Excluded, umbrella, vec![me]),
        2 => {
            let mut d = g.draft(Kind::Excluded, me, vec![c]);
            d.cc.push(secret);
            d
        }
        _ => {
            let mut d = g.draft(Kind::Excluded, c, vec![me]);
            d.cc.push(umbrella);
            d
        }
    }
}

/// A new conversation of 2–5 messages; also returns its state.
pub fn conversation(g: &mut Gen, p: &People, home: usize) -> (Vec<Draft>, Conv) {
    let inv = normal_inv(g, p);
    let id = g.next_conv;
    g.next_conv += 1;
    let (subject, subject_raw) = g.subject(&format!("c{id:04}"));
    let mut conv = Conv {
        id,
        contact: p.contact_of(inv, &mut g.rng),
        team: vec![home],
        ids: vec![],
        subject,
        subject_raw,
        last: g.date(),
        last_from_contact: g.rng.gen_bool(0.5),
    };
    let n = g.rng.gen_range(2..6);
    let drafts = (0..n).map(|_| reply(g, p, &mut conv)).collect();
    (drafts, conv)
}

/// The next message of `conv`: the other side answers, team grows.
pub fn reply(g: &mut Gen, p: &People, conv: &mut Conv) -> Draft {
    let from_contact = !conv.last_from_contact;
    if g.rng.gen_bool(0.35) {
        if let Some(m) = (0..p.mailboxes.len()).find(|m| !conv.team.contains(m)) {
            conv.team.push(m);
        }
    }
    let contact = p.contact_addr(conv.contact, &mut g.rng);
    let team: Vec<Addr> = conv
        .team
        .clone()
        .iter()
        .map(|&m| p.mailbox(m, &mut g.rng))
        .collect();
    let sender = g.rng.gen_range(0..team.len());
    let mut d = if from_contact {
        let mut d = g.draft(Kind::Conversation, contact, vec![team[0].clone()]);
        d.cc = team[1..].to_vec();
        d
    } else {
        let mut d = g.draft(Kind::Conversation, team[sender].clone(), vec![contact]);
        d.cc = team
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != sender)
            .map(|(_, a)| a.clone())
            .collect();
        d
    };
    if g.rng.gen_bool(0.2) {
        let inv = p.contacts[conv.contact].investor;
        d.cc.push(p.noncontact(inv, &mut g.rng));
    }
    if let Some(last) = conv.ids.last() {
        d.in_reply_to = Some(last.clone());
        d.references = conv.ids.clone();
        d.subject = format!("Re: {}", conv.subject);
        d.subject_raw = format!("Re: {}", conv.subject_raw);
    } else {
        d.subject = conv.subject.clone();
        d.subject_raw = conv.subject_raw.clone();
    }
    conv.last += chrono::Duration::minutes(g.rng.gen_range(30..3000));
    d.date = conv.last;
    d.conversation = Some(conv.id);
    conv.ids.push(d.message_id.clone().unwrap_or_default());
    conv.last_from_contact = from_contact;
    d
}
