//! What users and Gmail do between syncs: new mail of any kind (including
//! replies to existing conversations and late copies of old mail in another
//! mailbox), hard deletes, trash/untrash, spam↔inbox, star/unstar. Every
//! change goes to the fake and into the world's copy state at once.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{kinds, Kind, World};
use email_sidecar::fake_google::FakeGoogle;

impl World {
    /// Apply `n` random changes (after a sync) and keep the truth current.
    pub fn mutate(&mut self, fake: &FakeGoogle, n: usize) {
        for _ in 0..n {
            let op = self.gen.rng.gen_range(0..14);
            let name = match op {
                0..=2 => self.new_message(fake),
                3 => self.conversation_reply(fake),
                4 => self.late_copy(fake),
                5 => self.pick_and(fake, "hard delete", |d| !d.deleted, Change::Delete),
                6 => self.pick_and(fake, "trash", |d| d.live(), Change::Labels(&["TRASH"], &[])),
                7 => self.pick_and(
                    fake,
                    "untrash",
                    |d| !d.deleted && d.labels.contains("TRASH"),
                    Change::Labels(&[], &["TRASH"]),
                ),
                8 => self.pick_and(
                    fake,
                    "spam to inbox",
                    |d| !d.deleted && d.labels.contains("SPAM"),
                    Change::Labels(&["INBOX"], &["SPAM"]),
                ),
                9 => self.pick_and(
                    fake,
                    "inbox to spam",
                    |d| d.live() && d.labels.contains("INBOX"),
                    Change::Labels(&["SPAM"], &["INBOX"]),
                ),
                10 => self.pick_and(
                    fake,
                    "star",
                    |d| !d.deleted && !d.labels.contains("STARRED"),
                    Change::Labels(&["STARRED"], &[]),
                ),
                12 => self.pick_and(
                    fake,
                    "archive",
                    |d| d.live() && d.labels.contains("INBOX"),
                    Change::Labels(&[], &["INBOX"]),
                ),
                13 => self.pick_and(
                    fake,
                    "mark read",
                    |d| !d.deleted && d.labels.contains("UNREAD"),
                    Change::Labels(&[], &["UNREAD"]),
                ),
                _ => self.pick_and(
                    fake,
                    "unstar",
                    |d| !d.deleted && d.labels.contains("STARRED"),
                    Change::Labels(&[], &["STARRED"]),
                ),
            };
            *self.mutations.entry(name).or_insert(0) += 1;
        }
    }

    fn new_message(&mut self, fake: &FakeGoogle) -> &'static str {
        let kind = kinds::pick_kind(&mut self.gen);
        let home = self.gen.rng.gen_range(0..self.spec.mailboxes.len());
        let first = self.msgs.len();
        self.gen.fresh = true;
        self.add_kind(kind, home, None);
        self.gen.fresh = false;
        for i in first..self.msgs.len() {
            self.deliver_all_of(fake, i);
        }
        "new message"
    }

    fn conversation_reply(&mut self, fake: &FakeGoogle) -> &'static str {
        if self.convs.is_empty() {
            return self.new_message(fake);
        }
        let c = self.gen.rng.gen_range(0..self.convs.len());
        let mut conv = self.convs[c].clone();
        let mut d = kinds::reply(&mut self.gen, &self.people, &mut conv);
        d.date = self.gen.later_date();
        self.convs[c] = conv;
        let i = self.push(d);
        self.deliver_all_of(fake, i);
        "conversation reply"
    }

    /// An old message arrives in a mailbox that had no copy (same raw).
    fn late_copy(&mut self, fake: &FakeGoogle) -> &'static str {
        let mailboxes = self.people.mailboxes.clone();
        let candidates: Vec<(usize, String)> = self
            .msgs
            .iter()
            .enumerate()
            .filter(|(_, m)| m.expect.kind != Kind::OutboundBccTeammate && m.bcc.is_empty())
            .filter(|(_, m)| m.deliveries.iter().any(|d| d.gmail_id.is_some()))
            .flat_map(|(i, m)| {
                mailboxes
                    .iter()
                    .filter(|mb| !m.deliveries.iter().any(|d| &d.mailbox == *mb))
                    .map(move |mb| (i, mb.clone()))
            })
            .collect();
        let Some((i, mailbox)) = candidates.choose(&mut self.gen.rng).cloned() else {
            return self.new_message(fake);
        };
        let k = self.msgs[i].deliveries.len();
        self.msgs[i].deliveries.push(super::Delivery::planned(
            &mailbox,
            &["INBOX", "UNREAD"],
            false,
        ));
        self.deliver_one(fake, i, k);
        "late copy"
    }

    fn deliver_all_of(&mut self, fake: &FakeGoogle, i: usize) {
        for k in 0..self.msgs[i].deliveries.len() {
            self.deliver_one(fake, i, k);
        }
    }

    /// Pick a delivered copy matching `pred` (never the sender copy of a
    /// Bcc-to-teammate message: without it the truth would be ambiguous)
    /// and apply `change` in the fake and here.
    fn pick_and(
        &mut self,
        fake: &FakeGoogle,
        name: &'static str,
        pred: impl Fn(&super::Delivery) -> bool,
        change: Change,
    ) -> &'static str {
        let mut candidates = Vec::new();
        for (i, m) in self.msgs.iter().enumerate() {
            let protected = m.expect.kind == Kind::OutboundBccTeammate;
            for (k, d) in m.deliveries.iter().enumerate() {
                if d.gmail_id.is_some() && pred(d) && !(protected && d.sender_copy) {
                    candidates.push((i, k));
                }
            }
        }
        let Some(&(i, k)) = candidates.choose(&mut self.gen.rng) else {
            return "nothing to change";
        };
        let d = &mut self.msgs[i].deliveries[k];
        let id = d.gmail_id.clone().unwrap_or_default();
        match change {
            Change::Delete => {
                fake.delete_message(&d.mailbox, &id);
                d.deleted = true;
            }
            Change::Labels(add, remove) => {
                fake.modify_labels(&d.mailbox, &id, add, remove);
                for l in add {
                    d.labels.insert(l.to_string());
                }
                for l in remove {
                    d.labels.remove(*l);
                }
                d.ever_visible |= d.visible();
            }
        }
        name
    }
}

enum Change {
    Delete,
    Labels(&'static [&'static str], &'static [&'static str]),
}
