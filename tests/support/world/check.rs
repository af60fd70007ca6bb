//! [`Truth::check`]: every discrepancy between a database snapshot and the
//! truth as a readable line. DB emails are tied to world messages through
//! their sightings' Gmail ids (the world knows which message each id is),
//! then fields, links, bodies, attachments, threads, files and the fetch
//! queue are compared.

use std::collections::{BTreeMap, BTreeSet};

use super::super::snapshot::{SnapAttachment, SnapEmail, Snapshot};
use super::{Expected, Truth};

const MAX_LINES: usize = 40;

/// Discrepancies by category; the first few in full.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    counts: BTreeMap<&'static str, usize>,
}

impl Report {
    fn add(&mut self, cat: &'static str, detail: String) {
        *self.counts.entry(cat).or_insert(0) += 1;
        if self.lines.len() < MAX_LINES {
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

impl Truth {
    /// Every discrepancy as a readable line; empty = the DB equals the truth.
    pub fn check(&self, snap: &Snapshot) -> Vec<String> {
        let mut r = Report::default();
        let map = self.map_emails(snap, &mut r);
        self.check_sightings(snap, &mut r);
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        for (n, e) in snap.emails.iter().enumerate() {
            if let Some(i) = map[n] {
                seen.insert(i);
                self.check_email(e, i, &mut r);
            }
        }
        for i in self.must_exist().difference(&seen) {
            let x = &self.emails[*i];
            r.add(
                "missing email",
                format!(
                    "world #{i} {:?} {:?} ({:?})",
                    x.message_id, x.subject, x.kind
                ),
            );
        }
        self.check_threads(snap, &map, &mut r);
        check_files(snap, &mut r);
        for q in &snap.queue {
            r.add(
                "queue row left",
                format!(
                    "{} {} kind={} attempts={} error={:?}",
                    q.mailbox, q.gmail_message_id, q.kind, q.attempts, q.last_error
                ),
            );
        }
        r.finish()
    }

    /// DB email → world message (None when it cannot be tied to one).
    fn map_emails(&self, snap: &Snapshot, r: &mut Report) -> Vec<Option<usize>> {
        let mut out = Vec::new();
        let mut by_msg: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
        for e in &snap.emails {
            let mut msgs = BTreeSet::new();
            for s in &e.sightings {
                match self
                    .sightings
                    .get(&(s.mailbox.clone(), s.gmail_message_id.clone()))
                {
                    Some(x) => {
                        msgs.insert(x.msg);
                    }
                    None => r.add(
                        "unknown sighting",
                        format!(
                            "email {} {:?}: {} {}",
                            e.id, e.message_id, s.mailbox, s.gmail_message_id
                        ),
                    ),
                }
            }
            if e.sightings.is_empty() {
                r.add(
                    "email without sighting",
                    format!("email {} {:?} {:?}", e.id, e.message_id, e.subject),
                );
            }
            let mapped = match msgs.len() {
                1 => msgs.first().copied(),
                0 => None,
                _ => {
                    let ids: Vec<String> = msgs
                        .iter()
                        .map(|&i| format!("#{i} {:?}", self.emails[i].message_id))
                        .collect();
                    r.add(
                        "merged two emails",
                        format!(
                            "email {} {:?} holds world {}",
                            e.id,
                            e.message_id,
                            ids.join(", ")
                        ),
                    );
                    None
                }
            };
            if let Some(i) = mapped {
                by_msg.entry(i).or_default().push(e.id);
            }
            out.push(mapped);
        }
        for (i, ids) in by_msg.iter().filter(|(_, v)| v.len() > 1) {
            r.add(
                "duplicated",
                format!(
                    "world #{i} {:?} is DB emails {ids:?}",
                    self.emails[*i].message_id
                ),
            );
        }
        out
    }

    fn check_sightings(&self, snap: &Snapshot, r: &mut Report) {
        let mut db = BTreeMap::new();
        for e in &snap.emails {
            for s in &e.sightings {
                db.insert((s.mailbox.clone(), s.gmail_message_id.clone()), s);
            }
        }
        for (key, t) in &self.sightings {
            let Some(s) = db.get(key) else {
                if t.live {
                    r.add(
                        "missing live sighting",
                        format!("{} {} (world #{}, {:?})", key.0, key.1, t.msg, t.labels),
                    );
                }
                continue;
            };
            if t.live && !s.live {
                let why = format!(
                    "deleted={} trash={} spam={}",
                    s.deleted, s.is_trash, s.is_spam
                );
                r.add(
                    "missing live sighting",
                    format!(
                        "{} {} (world #{}) is in the DB but not live: {why}; labels now {:?}",
                        key.0, key.1, t.msg, t.labels
                    ),
                );
            }
            if !t.live && s.live {
                r.add(
                    "stale live sighting",
                    format!(
                        "{} {} (world #{}) is live in the DB; labels now {:?}",
                        key.0, key.1, t.msg, t.labels
                    ),
                );
            }
            if !t.ever_visible {
                r.add(
                    "sighting of never-visible copy",
                    format!("{} {} (world #{}, {:?})", key.0, key.1, t.msg, t.labels),
                );
            }
            if t.live && s.live && t.is_sent != s.is_sent {
                r.add(
                    "wrong is_sent",
                    format!("{} {}: db {} truth {}", key.0, key.1, s.is_sent, t.is_sent),
                );
            }
        }
    }

    fn has_live(&self, i: usize) -> bool {
        self.sightings.values().any(|s| s.msg == i && s.live)
    }

    fn check_email(&self, e: &SnapEmail, i: usize, r: &mut Report) {
        let x = &self.emails[i];
        let who = format!("email {} (world #{i} {:?})", e.id, x.kind);
        match &x.message_id {
            Some(id) if *id != e.message_id || e.message_id_synthesized => r.add(
                "wrong message_id",
                format!(
                    "{who}: db {:?} synthesized={} truth {id:?}",
                    e.message_id, e.message_id_synthesized
                ),
            ),
            None if !e.message_id_synthesized => r.add(
                "wrong message_id",
                format!(
                    "{who}: db {:?} not marked synthesized, truth has none",
                    e.message_id
                ),
            ),
            _ => {}
        }
        let direction = if x.outbound { "outbound" } else { "inbound" };
        let fields: [(&'static str, String, String); 8] = [
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
        ];
        for (cat, db, truth) in fields {
            if db != truth {
                r.add(cat, format!("{who}: db {db:?} truth {truth:?}"));
            }
        }
        check_links(e, x, &who, r);
        self.check_body(e, x, i, &who, r);
    }

    fn check_body(&self, e: &SnapEmail, x: &Expected, i: usize, who: &str, r: &mut Report) {
        if !x.is_matched() {
            if e.has_body || e.body_text.is_some() || e.body_html.is_some() {
                r.add(
                    "body on unmatched",
                    format!(
                        "{who}: has_body={} text={} html={}",
                        e.has_body,
                        e.body_text.is_some(),
                        e.body_html.is_some()
                    ),
                );
            }
            if !e.attachments.is_empty() {
                r.add(
                    "attachment rows on unmatched",
                    format!("{who}: {} rows", e.attachments.len()),
                );
            }
            return;
        }
        let live = self.has_live(i);
        if live && !e.has_body {
            r.add("missing body", who.to_string());
        }
        if e.has_body || e.body_text.is_some() {
            let got = e.body_text.as_deref().map(norm);
            if got.as_deref() != Some(norm(&x.text).as_str()) {
                r.add(
                    "wrong body_text",
                    format!("{who}: db {got:?} truth {:?}", norm(&x.text)),
                );
            }
            match (&x.html_marker, &e.body_html) {
                (Some(m), Some(h)) if !h.contains(m.as_str()) => {
                    r.add("wrong body_html", format!("{who}: lacks {m:?}"))
                }
                (Some(_), None) => r.add("wrong body_html", format!("{who}: missing")),
                (None, Some(_)) => {
                    r.add("wrong body_html", format!("{who}: present, none generated"))
                }
                _ => {}
            }
        }
        if live || !e.attachments.is_empty() {
            check_attachments(e, x, who, r);
        }
    }

    fn check_threads(&self, snap: &Snapshot, map: &[Option<usize>], r: &mut Report) {
        let key = |i: usize| match self.emails[i].conversation {
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
            if let Some(c) = self.emails[i].conversation {
                by_conv.entry(c).or_default().insert(e.thread_id);
            }
        }
        for (t, keys) in by_thread.iter().filter(|(_, k)| k.len() > 1) {
            let shown: Vec<&String> = keys.iter().take(4).collect();
            r.add(
                "thread mixes conversations",
                format!("thread {t} holds {} groups: {shown:?}", keys.len()),
            );
        }
        for (c, threads) in &by_conv {
            if threads.len() > 1 || threads.contains(&None) {
                r.add(
                    "conversation split across threads",
                    format!("conversation {c} is in threads {threads:?}"),
                );
            }
        }
    }
}

fn check_links(e: &SnapEmail, x: &Expected, who: &str, r: &mut Report) {
    let mut db: BTreeMap<&str, (&Option<String>, &str)> = BTreeMap::new();
    for l in &e.links {
        if db
            .insert(&l.investor_id, (&l.contact_id, &l.strategy))
            .is_some()
        {
            r.add(
                "duplicate link",
                format!("{who}: investor {}", l.investor_id),
            );
        }
    }
    for (inv, (contact, strategy)) in &x.links {
        match db.get(inv.as_str()) {
            None => r.add(
                "missing link",
                format!("{who}: {inv} {contact:?} {}", strategy.as_str()),
            ),
            Some((_, s)) if *s != strategy.as_str() => r.add(
                "wrong link strategy",
                format!("{who}: {inv} db {s} truth {}", strategy.as_str()),
            ),
            Some((c, _)) if *c != contact => r.add(
                "wrong link contact",
                format!("{who}: {inv} db {c:?} truth {contact:?}"),
            ),
            _ => {}
        }
    }
    for (inv, (c, s)) in &db {
        if !x.links.contains_key(*inv) {
            r.add("extra link", format!("{who}: {inv} {c:?} {s}"));
        }
    }
}

type Row = (String, String, i64, Option<String>, String);

fn check_attachments(e: &SnapEmail, x: &Expected, who: &str, r: &mut Report) {
    let mut want: Vec<Row> = x
        .attachments
        .iter()
        .map(|a| {
            let (sha, status) = if a.too_large {
                (None, "too_large")
            } else {
                (Some(a.sha256.clone()), "stored")
            };
            (
                a.filename.clone(),
                a.mime_type.clone(),
                a.size as i64,
                sha,
                status.to_string(),
            )
        })
        .collect();
    let mut got: Vec<Row> = e.attachments.iter().map(row).collect();
    want.sort();
    got.sort();
    if want != got {
        let missing: Vec<&Row> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<&Row> = got.iter().filter(|g| !want.contains(g)).collect();
        r.add(
            "wrong attachments",
            format!(
                "{who}: missing {missing:?} extra {extra:?} (counts db {} truth {})",
                got.len(),
                want.len()
            ),
        );
    }
}

fn row(a: &SnapAttachment) -> Row {
    (
        a.filename.clone(),
        a.mime_type.clone(),
        a.size,
        a.sha256.clone(),
        a.status.clone(),
    )
}

fn check_files(snap: &Snapshot, r: &mut Report) {
    let stored: BTreeSet<&str> = snap
        .emails
        .iter()
        .flat_map(|e| &e.attachments)
        .filter(|a| a.status == "stored")
        .filter_map(|a| a.sha256.as_deref())
        .collect();
    let mut on_disk: BTreeSet<&str> = BTreeSet::new();
    for f in &snap.files {
        if !stored.contains(f.name.as_str()) {
            r.add("extra file", f.rel.clone());
        }
        if !f.name.starts_with(&f.dir) {
            r.add("misplaced file", f.rel.clone());
        } else {
            on_disk.insert(&f.name);
        }
        if f.content_sha256 != f.name {
            r.add(
                "corrupt file",
                format!("{} holds content with sha256 {}", f.rel, f.content_sha256),
            );
        }
    }
    for sha in stored.difference(&on_disk) {
        r.add(
            "missing file",
            format!("{}/{sha}", &sha[..2.min(sha.len())]),
        );
    }
    for t in &snap.tmp_files {
        r.add("tmp file left", t.clone());
    }
    for s in &snap.stray {
        r.add("stray file", s.clone());
    }
}

/// Line ends to `\n`, trailing blanks of lines and of the whole trimmed.
fn norm(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}
