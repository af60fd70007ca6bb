//! [`Truth::check`]: every discrepancy between a database snapshot and the
//! truth as a readable line. DB emails are tied to world messages through
//! their sightings' Gmail ids (the world knows which message each id is);
//! then sightings, fields, links and threads are compared here, bodies,
//! attachments, files and the fetch queue in `check_store`.

use std::collections::{BTreeMap, BTreeSet};

use super::super::snapshot::{SnapEmail, Snapshot};
use super::{Expected, Truth};

const MAX_LINES: usize = 40;
const MAX_PER_CATEGORY: usize = 6;

/// Discrepancies by category; a few examples of each in full.
#[derive(Default)]
pub(super) struct Report {
    lines: Vec<String>,
    counts: BTreeMap<&'static str, usize>,
}

impl Report {
    pub(super) fn add(&mut self, cat: &'static str, detail: String) {
        let n = self.counts.entry(cat).or_insert(0);
        *n += 1;
        if *n <= MAX_PER_CATEGORY && self.lines.len() < MAX_LINES {
            self.lines.push(format!("{cat}: {detail}"));
        }
    }

    fn finish(mut self) -> Vec<String> {
        let total: usize = self.counts.values().sum();
        if total == 0 {
            return Vec::new();
        }
        if total > self.lines.len() {
            self.lines
                .push(format!("… and {} more", total - self.lines.len()));
        }
        let summary: Vec<String> = self
            .counts
            .iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect();
        self.lines.push(format!("summary: {}", summary.join(", ")));
        self.lines
    }
}

/// One comparison run.
pub(super) struct Checker<'a> {
    pub(super) truth: &'a Truth,
    /// Messages with a live copy.
    pub(super) live: BTreeSet<usize>,
    pub(super) r: Report,
    /// Compare only the labels that make a sighting's state (SPEC §6:
    /// sent/inbox/trash/spam), see [`Truth::check_after_history_gap`].
    pub(super) state_labels_only: bool,
}

/// The labels a full re-list can know without a get per message.
const STATE_LABELS: [&str; 4] = ["INBOX", "SENT", "TRASH", "SPAM"];

impl Truth {
    /// Every discrepancy as a readable line (at most ~40 examples, then a
    /// `summary:` line of counts per category); empty = the DB equals the
    /// truth.
    pub fn check(&self, snap: &Snapshot) -> Vec<String> {
        self.check_with(snap, false)
    }

    /// [`Truth::check`] after Gmail's history was lost (an expired cursor):
    /// the full re-list restores each copy's state labels (sent, inbox,
    /// trash, spam) from label listings, but other labels (STARRED, UNREAD,
    /// user labels) changed during the gap would each need a get per
    /// message; those are compared only while history is continuous.
    pub fn check_after_history_gap(&self, snap: &Snapshot) -> Vec<String> {
        self.check_with(snap, true)
    }

    fn check_with(&self, snap: &Snapshot, state_labels_only: bool) -> Vec<String> {
        let mut c = Checker {
            truth: self,
            live: self.must_exist(),
            r: Report::default(),
            state_labels_only,
        };
        let map = c.map_emails(snap);
        c.sightings(snap);
        let mut seen = BTreeSet::new();
        for (n, e) in snap.emails.iter().enumerate() {
            if let Some(i) = map[n] {
                seen.insert(i);
                c.email(e, i);
            }
        }
        for &i in c.live.difference(&seen) {
            let x = &self.emails[i];
            let what = format!(
                "world #{i} {:?} {:?} ({:?})",
                x.message_id, x.subject, x.kind
            );
            c.r.add("missing email", what);
        }
        c.threads(snap, &map);
        c.files(snap);
        c.queue(snap);
        c.r.finish()
    }
}

impl Checker<'_> {
    /// DB email → world message (None when it cannot be tied to one).
    fn map_emails(&mut self, snap: &Snapshot) -> Vec<Option<usize>> {
        let mut out = Vec::new();
        let mut by_msg: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
        for e in &snap.emails {
            let mut msgs = BTreeSet::new();
            for s in &e.sightings {
                let key = (s.mailbox.clone(), s.gmail_message_id.clone());
                match self.truth.sightings.get(&key) {
                    Some(x) => {
                        msgs.insert(x.msg);
                    }
                    None => self.r.add(
                        "unknown sighting",
                        format!("email {} {:?}: {} {}", e.id, e.message_id, key.0, key.1),
                    ),
                }
            }
            if e.sightings.is_empty() {
                let what = format!("email {} {:?} {:?}", e.id, e.message_id, e.subject);
                self.r.add("email without sighting", what);
            }
            if msgs.len() > 1 {
                let ids: Vec<String> = msgs
                    .iter()
                    .map(|&i| format!("#{i} {:?}", self.truth.emails[i].message_id))
                    .collect();
                let what = format!(
                    "email {} {:?} holds world {}",
                    e.id,
                    e.message_id,
                    ids.join(", ")
                );
                self.r.add("merged two emails", what);
            }
            let mapped = (msgs.len() == 1).then(|| msgs.first().copied()).flatten();
            if let Some(i) = mapped {
                by_msg.entry(i).or_default().push(e.id);
            }
            out.push(mapped);
        }
        for (i, ids) in by_msg.iter().filter(|(_, v)| v.len() > 1) {
            let what = format!(
                "world #{i} {:?} is DB emails {ids:?}",
                self.truth.emails[*i].message_id
            );
            self.r.add("duplicated", what);
        }
        out
    }

    fn sightings(&mut self, snap: &Snapshot) {
        let mut db = BTreeMap::new();
        for e in &snap.emails {
            for s in &e.sightings {
                db.insert((s.mailbox.clone(), s.gmail_message_id.clone()), s);
            }
        }
        for (key, t) in &self.truth.sightings {
            let gone = if t.deleted { "deleted, " } else { "" };
            let at = format!(
                "{} {} (world #{}, {gone}labels now {:?})",
                key.0, key.1, t.msg, t.labels
            );
            let Some(s) = db.get(key) else {
                if t.live {
                    self.r.add("missing live sighting", at);
                }
                continue;
            };
            if t.live && !s.live {
                let why = format!(
                    "deleted={} trash={} spam={}",
                    s.deleted, s.is_trash, s.is_spam
                );
                self.r.add(
                    "missing live sighting",
                    format!("{at}: in the DB but {why}"),
                );
            }
            if !t.live && s.live {
                self.r.add("stale live sighting", at.clone());
            }
            if !t.ever_visible {
                self.r.add("sighting of never-visible copy", at.clone());
            }
            if t.live && s.live && t.is_sent != s.is_sent {
                let what = format!("{at}: db {} truth {}", s.is_sent, t.is_sent);
                self.r.add("wrong is_sent", what);
            }
            let keep = |l: &String| !self.state_labels_only || STATE_LABELS.contains(&l.as_str());
            let labels: BTreeSet<String> = s.labels.iter().filter(|l| keep(l)).cloned().collect();
            let want: BTreeSet<String> = t.labels.iter().filter(|l| keep(l)).cloned().collect();
            if t.live && s.live && labels != want {
                self.r.add("wrong labels", format!("{at}: db {labels:?}"));
            }
        }
    }

    fn email(&mut self, e: &SnapEmail, i: usize) {
        let x = &self.truth.emails[i];
        let who = format!("email {} (world #{i} {:?})", e.id, x.kind);
        match &x.message_id {
            Some(id) if *id != e.message_id => {
                let what = format!("{who}: db {:?} truth {id:?}", e.message_id);
                self.r.add("wrong message_id", what);
            }
            None if !e.message_id_synthesized => {
                let what = format!(
                    "{who}: db {:?} not marked synthesized, truth has none",
                    e.message_id
                );
                self.r.add("wrong message_id", what);
            }
            _ => {}
        }
        for (cat, db, truth) in fields(e, x) {
            if db != truth {
                self.r.add(cat, format!("{who}: db {db:?} truth {truth:?}"));
            }
        }
        self.links(e, x, &who);
        self.body(e, x, i, &who);
    }

    fn links(&mut self, e: &SnapEmail, x: &Expected, who: &str) {
        let mut db = BTreeMap::new();
        for l in &e.links {
            if db.insert(l.investor_id.as_str(), l).is_some() {
                self.r.add(
                    "duplicate link",
                    format!("{who}: investor {}", l.investor_id),
                );
            }
        }
        for (inv, want) in &x.links {
            let s = want.strategy.as_str();
            let Some(got) = db.get(inv.as_str()) else {
                let what = format!("{who}: {inv} {:?} {s}", want.contact_id);
                self.r.add("missing link", what);
                continue;
            };
            if got.strategy != s {
                let what = format!("{who}: {inv} db {} truth {s}", got.strategy);
                self.r.add("wrong link strategy", what);
            } else if got.contact_id != want.contact_id {
                let what = format!(
                    "{who}: {inv} db {:?} truth {:?}",
                    got.contact_id, want.contact_id
                );
                self.r.add("wrong link contact", what);
            } else if !want.addresses.contains(&got.matched_address) {
                let what = format!(
                    "{who}: {inv} db {:?} truth one of {:?}",
                    got.matched_address, want.addresses
                );
                self.r.add("wrong matched_address", what);
            }
        }
        for (inv, l) in &db {
            if !x.links.contains_key(*inv) {
                let what = format!("{who}: {inv} {:?} {}", l.contact_id, l.strategy);
                self.r.add("extra link", what);
            }
        }
    }

    /// Conversations are exactly the threads (among emails in the DB).
    fn threads(&mut self, snap: &Snapshot, map: &[Option<usize>]) {
        let key = |i: usize| match self.truth.emails[i].conversation {
            Some(c) => format!("conversation {c}"),
            None => format!("solo #{i}"),
        };
        let mut by_thread: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        let mut by_conv: BTreeMap<usize, BTreeSet<Option<i64>>> = BTreeMap::new();
        for (n, e) in snap.emails.iter().enumerate() {
            let Some(i) = map[n] else { continue };
            if let Some(t) = e.thread_id {
                by_thread.entry(t).or_default().insert(key(i));
            }
            if let Some(c) = self.truth.emails[i].conversation {
                by_conv.entry(c).or_default().insert(e.thread_id);
            }
        }
        for (t, keys) in by_thread.iter().filter(|(_, k)| k.len() > 1) {
            let shown: Vec<&String> = keys.iter().take(4).collect();
            let what = format!("thread {t} holds {} groups: {shown:?}", keys.len());
            self.r.add("thread mixes conversations", what);
        }
        for (c, threads) in &by_conv {
            if threads.len() > 1 || threads.contains(&None) {
                let what = format!("conversation {c} is in threads {threads:?}");
                self.r.add("conversation split across threads", what);
            }
        }
    }
}

/// (category, db value, truth value) for the plain fields.
fn fields(e: &SnapEmail, x: &Expected) -> [(&'static str, String, String); 9] {
    let direction = if x.outbound { "outbound" } else { "inbound" };
    [
        (
            "wrong subject",
            e.subject.trim().to_string(),
            x.subject.clone(),
        ),
        (
            "wrong from_email",
            e.from_email.clone(),
            x.from_email.clone(),
        ),
        ("wrong date", e.date_ms.to_string(), x.date_ms.to_string()),
        (
            "wrong direction",
            e.direction.clone(),
            direction.to_string(),
        ),
        (
            "wrong is_internal",
            e.is_internal.to_string(),
            x.internal.to_string(),
        ),
        ("wrong is_bulk", e.is_bulk.to_string(), x.bulk.to_string()),
        (
            "wrong is_excluded",
            e.is_excluded.to_string(),
            x.excluded.to_string(),
        ),
        (
            "wrong is_matched",
            e.is_matched.to_string(),
            x.is_matched().to_string(),
        ),
        (
            "wrong message_id_synthesized",
            e.message_id_synthesized.to_string(),
            x.message_id.is_none().to_string(),
        ),
    ]
}
