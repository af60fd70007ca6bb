//! Ground-truth mail world for the capture engine's tests (issue 3).
//!
//! [`World::generate`] builds, from a seed, thousands of raw RFC 822 emails
//! across the enrolled mailboxes (every kind the product must handle: exact
//! and domain matches, public domains, plus-tags, IDN, internal-only, bulk,
//! exclusions, spam/trash, shared Message-IDs, missing Message-IDs,
//! conversations, attachments). [`World::deliver`] puts them into a
//! [`FakeGoogle`]; [`World::mutate`] changes the mailboxes the way users do.
//! [`World::truth`] is what the database must then hold, computed from what
//! was built (never through the crate's parser or matcher), and
//! [`Truth::check`] compares it with a [`super::snapshot::Snapshot`].
//!
//! ```ignore
//! let spec = WorldSpec::standard(3000);
//! let mut world = World::generate(&spec);
//! world.add_users(&fake);
//! world.deliver(&fake);
//! store.replace_directory(&world.directory())?;   // + enroll spec.mailboxes
//! /* sync */
//! let lines = world.truth().check(&Snapshot::take(&db_path, &data_dir));
//! assert!(lines.is_empty(), "{}", lines.join("\n"));
//! world.mutate(&fake, 300);
//! /* incremental sync, check again */
//! ```
//!
//! The engine under test must be configured to match the spec: no backfill
//! day limit shorter than the dates used (two years before [`anchor`];
//! mutations date mail after it), and an attachment cap equal to
//! `spec.attachment_cap_bytes` (set it to 1 MiB if the cap is only
//! configurable in MB).

mod attach;
mod cast;
mod check;
mod check_store;
mod compose;
mod expect;
mod kinds;
mod mime;
mod model;
mod mutate;
mod people;
mod truth;

use std::collections::{BTreeMap, BTreeSet};

use email_sidecar::fake_google::FakeGoogle;
use email_sidecar::store::Directory;
use rand::rngs::StdRng;
use rand::SeedableRng;

// Not every test uses every name; the test crates are not libraries.
#[allow(unused_imports)]
pub use compose::anchor;
#[allow(unused_imports)]
pub use expect::{ExpectedLink, Links, Strategy};
#[allow(unused_imports)]
pub use model::{AttTruth, Delivery, Expected, Msg};
#[allow(unused_imports)]
pub use people::{canonical, Addr};
#[allow(unused_imports)]
pub use truth::{ExpectedSighting, Stats, Truth};

use compose::{Draft, Gen};
use kinds::Conv;
use people::People;

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    pub mailboxes: Vec<String>,
    /// Messages whose main mailbox is each mailbox (shared copies come on top).
    pub per_mailbox: usize,
    pub seed: u64,
    pub attachment_cap_bytes: u64,
    pub our_domain: String,
}

impl WorldSpec {
    /// alice, bob and carol @fund.test, fixed seed, 64 KiB attachment cap.
    pub fn standard(per_mailbox: usize) -> WorldSpec {
        WorldSpec {
            mailboxes: ["alice@fund.test", "bob@fund.test", "carol@fund.test"]
                .map(String::from)
                .to_vec(),
            per_mailbox,
            seed: 0x5eed_2025,
            attachment_cap_bytes: 64 * 1024,
            our_domain: "fund.test".into(),
        }
    }
}

/// The kinds of message the world mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    InboundContact,
    InboundDomain,
    OutboundContactCcDomain,
    OutboundBcc,
    /// Bcc to a contact, To a teammate whose copy has no Bcc header.
    OutboundBccTeammate,
    PublicNonContact,
    PublicContact,
    PlusTagExact,
    PlusTagStripped,
    InternalOnly,
    FromDave,
    Bulk,
    Excluded,
    SpamOnly,
    TrashOnly,
    IdnContact,
    IdnDomain,
    SecondDomain,
    /// No Message-ID, delivered to two mailboxes.
    NoIdShared,
    Conversation,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::InboundContact,
        Kind::InboundDomain,
        Kind::OutboundContactCcDomain,
        Kind::OutboundBcc,
        Kind::OutboundBccTeammate,
        Kind::PublicNonContact,
        Kind::PublicContact,
        Kind::PlusTagExact,
        Kind::PlusTagStripped,
        Kind::InternalOnly,
        Kind::FromDave,
        Kind::Bulk,
        Kind::Excluded,
        Kind::SpamOnly,
        Kind::TrashOnly,
        Kind::IdnContact,
        Kind::IdnDomain,
        Kind::SecondDomain,
        Kind::NoIdShared,
        Kind::Conversation,
    ];
}

/// The generated world and the state of every copy in the fake.
pub struct World {
    pub spec: WorldSpec,
    people: People,
    gen: Gen,
    pub msgs: Vec<Msg>,
    convs: Vec<Conv>,
    /// (mailbox, gmail id) → (message index, delivery index).
    by_gmail: BTreeMap<(String, String), (usize, usize)>,
    /// Mutations applied, by name.
    pub mutations: BTreeMap<&'static str, usize>,
}

impl World {
    /// Deterministic for `spec.seed`.
    pub fn generate(spec: &WorldSpec) -> World {
        let mut w = World::empty(spec);
        for home in 0..spec.mailboxes.len() {
            let mut made = 0;
            while made < spec.per_mailbox {
                let kind = kinds::pick_kind(&mut w.gen);
                made += w.add_kind(kind, home, None);
            }
        }
        w
    }

    /// A world of exactly these picks, in order: (kind, main mailbox index,
    /// ordinary attachments forced). For hand-built tests.
    pub fn from_plan(spec: &WorldSpec, plan: &[(Kind, usize, Option<usize>)]) -> World {
        let mut w = World::empty(spec);
        for &(kind, home, atts) in plan {
            w.add_kind(kind, home, atts);
        }
        w
    }

    fn empty(spec: &WorldSpec) -> World {
        World {
            spec: spec.clone(),
            people: People::new(&spec.mailboxes, &spec.our_domain),
            gen: Gen::new(StdRng::seed_from_u64(spec.seed), spec.attachment_cap_bytes),
            msgs: Vec::new(),
            convs: Vec::new(),
            by_gmail: BTreeMap::new(),
            mutations: BTreeMap::new(),
        }
    }

    /// Build one pick of `kind`; returns how many messages it made.
    fn add_kind(&mut self, kind: Kind, home: usize, atts: Option<usize>) -> usize {
        let mut drafts = if kind == Kind::Conversation {
            let (d, conv) = kinds::conversation(&mut self.gen, &self.people, home);
            self.convs.push(conv);
            d
        } else {
            kinds::build(&mut self.gen, &self.people, kind, home)
        };
        if let (Some(n), Some(first)) = (atts, drafts.first_mut()) {
            first.attachments = Some(n);
        }
        let n = drafts.len();
        for d in drafts {
            self.push(d);
        }
        n
    }

    fn push(&mut self, d: Draft) -> usize {
        let m = self.gen.finish(&self.people, d);
        assert_eq!(
            m.expect.idx,
            self.msgs.len(),
            "world bug: message index out of step"
        );
        self.msgs.push(m);
        self.msgs.len() - 1
    }

    /// The SPEC §11 directory the world's links assume.
    pub fn directory(&self) -> Directory {
        self.people.directory()
    }

    /// Adds every enrolled mailbox to the fake (idempotent).
    pub fn add_users(&self, fake: &FakeGoogle) {
        for m in &self.spec.mailboxes {
            fake.add_user(m);
        }
    }

    /// Deliver every copy not yet delivered, in date order (so a reply
    /// finds its parent's Gmail thread); records the Gmail ids.
    pub fn deliver(&mut self, fake: &FakeGoogle) {
        let mut order: Vec<usize> = (0..self.msgs.len()).collect();
        order.sort_by_key(|&i| (self.msgs[i].date, i));
        for i in order {
            for k in 0..self.msgs[i].deliveries.len() {
                self.deliver_one(fake, i, k);
            }
        }
    }

    fn deliver_one(&mut self, fake: &FakeGoogle, i: usize, k: usize) {
        let msg = &self.msgs[i];
        let d = &msg.deliveries[k];
        if d.gmail_id.is_some() {
            return;
        }
        let labels: Vec<&str> = d.labels.iter().map(String::as_str).collect();
        let id = fake.deliver(&d.mailbox, &msg.raw(d.sender_copy), &labels);
        let mailbox = d.mailbox.clone();
        let d = &mut self.msgs[i].deliveries[k];
        d.ever_visible |= d.visible();
        d.gmail_id = Some(id.clone());
        self.by_gmail.insert((mailbox, id), (i, k));
    }

    /// What the database must hold now.
    pub fn truth(&self) -> Truth {
        Truth::from_world(self)
    }

    pub fn message_count(&self) -> usize {
        self.msgs.len()
    }

    /// Messages with at least one investor link (excluded mail has none).
    pub fn matched_count(&self) -> usize {
        self.msgs.iter().filter(|m| m.expect.is_matched()).count()
    }

    pub fn delivery_count(&self) -> usize {
        self.msgs.iter().map(|m| m.deliveries.len()).sum()
    }

    /// Gmail ids of live copies in `mailbox`.
    pub fn live_ids(&self, mailbox: &str) -> BTreeSet<String> {
        self.msgs
            .iter()
            .flat_map(|m| &m.deliveries)
            .filter(|d| d.mailbox == mailbox && d.live())
            .filter_map(|d| d.gmail_id.clone())
            .collect()
    }

    /// Counts per kind and per feature (see [`Stats`]).
    pub fn stats(&self) -> Stats {
        Stats::of(self)
    }

    /// sha256 → bytes of every generated attachment (for tests that build
    /// a database by hand).
    pub fn attachment_contents(&self) -> BTreeMap<String, std::sync::Arc<Vec<u8>>> {
        use sha2::{Digest, Sha256};
        let parts = self.msgs.iter().flat_map(|m| &m.mail.attachments);
        parts
            .map(|p| {
                (
                    hex::encode(Sha256::digest(p.content.as_slice())),
                    p.content.clone(),
                )
            })
            .collect()
    }

    /// Message index of a delivered copy.
    pub fn message_of(&self, mailbox: &str, gmail_id: &str) -> Option<usize> {
        self.by_gmail
            .get(&(mailbox.to_string(), gmail_id.to_string()))
            .map(|x| x.0)
    }
}
