//! The expected database state, frozen from a [`World`]: every message's
//! [`Expected`] fields and every copy's sighting state; plus [`Stats`], the
//! counts per kind and feature a test asserts to prove coverage.

use std::collections::{BTreeMap, BTreeSet};

use super::{Expected, Kind, World};

/// One delivered copy as the product must see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSighting {
    pub msg: usize,
    /// Exists, not in spam or trash: the DB must hold it, live.
    pub live: bool,
    pub is_sent: bool,
    /// Was ever outside spam/trash: a non-live DB sighting is allowed.
    pub ever_visible: bool,
    /// Hard-deleted in Gmail.
    pub deleted: bool,
    pub labels: BTreeSet<String>,
}

/// What the database must hold.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Indexed by world message index.
    pub emails: Vec<Expected>,
    /// (mailbox, gmail id) → state.
    pub sightings: BTreeMap<(String, String), ExpectedSighting>,
    pub mailboxes: Vec<String>,
}

impl Truth {
    pub(super) fn from_world(w: &World) -> Truth {
        let mut sightings = BTreeMap::new();
        for (i, m) in w.msgs.iter().enumerate() {
            for d in &m.deliveries {
                let Some(id) = &d.gmail_id else { continue };
                sightings.insert(
                    (d.mailbox.clone(), id.clone()),
                    ExpectedSighting {
                        msg: i,
                        live: d.live(),
                        is_sent: d.labels.contains("SENT"),
                        ever_visible: d.ever_visible,
                        deleted: d.deleted,
                        labels: d.labels.clone(),
                    },
                );
            }
        }
        Truth {
            emails: w.msgs.iter().map(|m| m.expect.clone()).collect(),
            sightings,
            mailboxes: w.spec.mailboxes.clone(),
        }
    }

    /// Gmail ids the DB must hold live in `mailbox`.
    pub fn live(&self, mailbox: &str) -> BTreeSet<String> {
        self.sightings
            .iter()
            .filter(|((mb, _), s)| mb == mailbox && s.live)
            .map(|((_, id), _)| id.clone())
            .collect()
    }

    /// Messages with at least one live copy: they must be in the DB.
    pub fn must_exist(&self) -> BTreeSet<usize> {
        self.sightings
            .values()
            .filter(|s| s.live)
            .map(|s| s.msg)
            .collect()
    }

    /// Messages that must be in the DB and are matched (bodies stored).
    pub fn matched_live(&self) -> BTreeSet<usize> {
        self.must_exist()
            .into_iter()
            .filter(|&i| self.emails[i].is_matched())
            .collect()
    }

    /// sha256 of every attachment that must be stored (each once).
    pub fn stored_shas(&self) -> BTreeSet<String> {
        self.matched_live()
            .into_iter()
            .flat_map(|i| &self.emails[i].attachments)
            .filter(|a| !a.too_large)
            .map(|a| a.sha256.clone())
            .collect()
    }
}

/// Coverage counts: per kind, and per feature, over generated messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub kinds: BTreeMap<Kind, usize>,
    pub features: BTreeMap<&'static str, usize>,
}

impl Stats {
    pub(super) fn of(w: &World) -> Stats {
        let mut s = Stats::default();
        let mut shas: BTreeMap<&str, usize> = BTreeMap::new();
        let mut convs: BTreeMap<usize, usize> = BTreeMap::new();
        for m in &w.msgs {
            let e = &m.expect;
            *s.kinds.entry(e.kind).or_insert(0) += 1;
            let mailboxes: BTreeSet<&str> =
                m.deliveries.iter().map(|d| d.mailbox.as_str()).collect();
            let visible = m.deliveries.iter().filter(|d| d.visible()).count();
            let flags = [
                ("messages", true),
                ("matched", e.is_matched()),
                ("unmatched", !e.is_matched()),
                (
                    "exact link",
                    e.links
                        .values()
                        .any(|l| l.strategy == super::Strategy::Exact),
                ),
                (
                    "domain link",
                    e.links
                        .values()
                        .any(|l| l.strategy == super::Strategy::Domain),
                ),
                ("two or more links", e.links.len() >= 2),
                ("outbound", e.outbound),
                ("internal", e.internal),
                ("bulk", e.bulk),
                ("excluded", e.excluded),
                ("no message-id", e.message_id.is_none()),
                (
                    "no message-id, 2+ mailboxes",
                    e.message_id.is_none() && mailboxes.len() >= 2,
                ),
                ("2+ mailboxes", mailboxes.len() >= 2),
                ("3 mailboxes", mailboxes.len() >= 3),
                ("never visible", visible == 0),
                (
                    "a copy in spam beside a visible copy",
                    visible > 0 && m.deliveries.iter().any(|d| d.labels.contains("SPAM")),
                ),
                (
                    "archived copy (no INBOX, not SENT)",
                    m.deliveries.iter().any(|d| {
                        d.visible() && !d.labels.contains("INBOX") && !d.labels.contains("SENT")
                    }),
                ),
                ("bcc", !m.bcc.is_empty()),
                ("rfc2047 subject", m.rfc2047_subject),
                (
                    "rfc2047 display name",
                    m.participants()
                        .any(|a| a.name.as_ref().is_some_and(|n| !n.is_ascii())),
                ),
                ("html", e.html_marker.is_some()),
                (
                    "attachments on matched",
                    e.is_matched() && !e.attachments.is_empty(),
                ),
                (
                    "attachments on unmatched",
                    !e.is_matched() && !e.attachments.is_empty(),
                ),
                ("reused attachment", m.reused_attachment),
                (
                    "too large attachment",
                    e.attachments.iter().any(|a| a.too_large),
                ),
                (
                    "reply (in conversation, not first)",
                    e.subject.starts_with("Re: "),
                ),
                (
                    "idn written in unicode",
                    m.participants().any(|a| a.written.contains('ü')),
                ),
                (
                    "idn written in punycode",
                    m.participants().any(|a| a.written.contains("xn--")),
                ),
                (
                    "address written with capitals",
                    m.participants()
                        .any(|a| a.written != a.written.to_lowercase()),
                ),
            ];
            for (name, on) in flags {
                if on {
                    *s.features.entry(name).or_insert(0) += 1;
                }
            }
            if e.is_matched() {
                for a in e.attachments.iter().filter(|a| !a.too_large) {
                    *shas.entry(&a.sha256).or_insert(0) += 1;
                }
            }
            if let Some(c) = e.conversation {
                *convs.entry(c).or_insert(0) += 1;
            }
        }
        s.features.insert(
            "attachment contents used 2+ times",
            shas.values().filter(|&&n| n >= 2).count(),
        );
        s.features.insert("conversations", convs.len());
        s.features
            .insert("conversations spanning 2+ mailboxes", w.convs_spanning());
        s.features.insert("deliveries", w.delivery_count());
        s
    }

    pub fn kind(&self, k: Kind) -> usize {
        self.kinds.get(&k).copied().unwrap_or(0)
    }

    pub fn feature(&self, f: &str) -> usize {
        self.features.get(f).copied().unwrap_or(0)
    }
}

impl super::Msg {
    /// From, To, Cc and Bcc, in that order.
    pub fn participants(&self) -> impl Iterator<Item = &super::Addr> {
        std::iter::once(&self.from)
            .chain(&self.to)
            .chain(&self.cc)
            .chain(&self.bcc)
    }
}

impl World {
    fn convs_spanning(&self) -> usize {
        let mut by: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for m in &self.msgs {
            if let Some(c) = m.expect.conversation {
                by.entry(c)
                    .or_default()
                    .extend(m.deliveries.iter().map(|d| d.mailbox.as_str()));
            }
        }
        by.values().filter(|s| s.len() >= 2).count()
    }
}
