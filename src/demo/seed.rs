//! What the demo's world holds: the bundled sample emails (`samples/*.eml`,
//! compiled in so the binary runs from anywhere) with the mailboxes and
//! labels each is delivered to, and the demo directory (three team members,
//! a bot, five investors matched by contact address or by domain).

use crate::fake_google::FakeGoogle;
use crate::store::{Directory, DirectoryContact, DirectoryInvestor, DirectoryUser, UserRole};

pub const DOMAIN: &str = "fund.example";
pub const ALICE: &str = "alice@fund.example";
pub const BOB: &str = "bob@fund.example";
pub const CAROL: &str = "carol@fund.example";
pub const BOT: &str = "review-bot@fund.example";
pub const MAILBOXES: [&str; 3] = [ALICE, BOB, CAROL];

const INBOX: &[&str] = &["INBOX", "UNREAD", "CATEGORY_PERSONAL"];
const READ: &[&str] = &["INBOX", "CATEGORY_PERSONAL"];
const SENT: &[&str] = &["SENT"];
const UPDATES: &[&str] = &["INBOX", "CATEGORY_UPDATES"];

/// One sample file and where it lands (mailbox, labels).
pub struct Sample {
    pub file: &'static str,
    pub raw: &'static [u8],
    pub deliveries: &'static [(&'static str, &'static [&'static str])],
}

macro_rules! sample {
    ($file:literal, $deliveries:expr) => {
        Sample {
            file: $file,
            raw: include_bytes!(concat!("../../samples/", $file)),
            deliveries: $deliveries,
        }
    };
}

pub const SAMPLES: &[Sample] = &[
    sample!("01-intro-plain.eml", &[(ALICE, INBOX)]),
    sample!("02-alternative.eml", &[(ALICE, SENT), (BOB, READ)]),
    sample!("03-attachment.eml", &[(ALICE, INBOX), (BOB, INBOX)]),
    sample!("04-forwarded.eml", &[(CAROL, INBOX)]),
    sample!("05-thread-1.eml", &[(ALICE, SENT)]),
    sample!("06-thread-2.eml", &[(ALICE, READ)]),
    sample!("07-thread-3.eml", &[(ALICE, SENT), (BOB, INBOX)]),
    sample!("08-angel-gmail.eml", &[(CAROL, INBOX)]),
    sample!("09-newsletter.eml", &[(ALICE, UPDATES)]),
    sample!(
        "10-internal.eml",
        &[(ALICE, SENT), (BOB, READ), (CAROL, READ)]
    ),
    sample!("11-vendor.eml", &[(CAROL, UPDATES)]),
];

/// Delivers every sample (CRLF line ends, as Gmail stores raw mail);
/// returns how many copies went in.
pub fn deliver_samples(fake: &FakeGoogle) -> usize {
    let mut copies = 0;
    for s in SAMPLES {
        let raw = crlf(s.raw);
        for (mailbox, labels) in s.deliveries {
            fake.deliver(mailbox, &raw, labels);
            copies += 1;
        }
    }
    copies
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

fn user(id: &str, email: &str, name: &str, role: UserRole) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        email: email.into(),
        name: name.into(),
        role,
        active: true,
    }
}

fn investor(id: &str, name: &str, domains: &[&str]) -> DirectoryInvestor {
    DirectoryInvestor {
        id: id.into(),
        name: name.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        graveyard: false,
    }
}

fn contact(id: &str, investor_id: &str, email: &str, name: &str) -> DirectoryContact {
    DirectoryContact {
        id: id.into(),
        investor_id: investor_id.into(),
        email: email.into(),
        name: name.into(),
    }
}

/// The CRM directory the demo pushes (SPEC §11 shape).
pub fn directory() -> Directory {
    Directory {
        users: vec![
            user("u-alice", ALICE, "Alice Martin", UserRole::Admin),
            user("u-bob", BOB, "Bob Chen", UserRole::Member),
            user("u-carol", CAROL, "Carol Diaz", UserRole::Member),
            user("u-bot", BOT, "Review bot", UserRole::Bot),
        ],
        investors: vec![
            investor("inv-acme", "Acme Ventures", &["acme-ventures.example"]),
            investor("inv-bluebird", "Bluebird Capital", &["bluebird.example"]),
            investor(
                "inv-sakura",
                "Sakura Partners",
                &["sakura-partners.example"],
            ),
            investor("inv-nordlys", "Nordlys Family Office", &["nordlys.example"]),
            // An angel on a public mail domain: matched by exact address only.
            investor("inv-dana", "Dana Whitfield (angel)", &[]),
        ],
        contacts: vec![
            contact("c-jo", "inv-acme", "jo@acme-ventures.example", "Jo Park"),
            contact(
                "c-maria",
                "inv-bluebird",
                "maria@bluebird.example",
                "María Núñez",
            ),
            contact(
                "c-kenji",
                "inv-sakura",
                "kenji.sato@sakura-partners.example",
                "佐藤 健二",
            ),
            contact(
                "c-dana",
                "inv-dana",
                "dana.whitfield@gmail.com",
                "Dana Whitfield",
            ),
        ],
        exclusions: vec![],
    }
}
