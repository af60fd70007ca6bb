//! One user's mailbox: messages (raw bytes plus Gmail's parsed view), Gmail
//! threading, the newest-first index used by messages.list, drafts, sent
//! mail, and the history log every mutation advances exactly like Gmail.

use super::history::{Change, HistoryLog};
use super::mime::gmail_view;
use super::query::{Query, SearchDoc};
use crate::google::types::{labels, Message, MessagePart, MessageRef};
use std::collections::{BTreeSet, HashMap};

pub(crate) struct StoredMessage {
    pub(crate) id: String,
    pub(crate) thread_id: String,
    pub(crate) internal_date: i64,
    pub(crate) history_id: u64,
    pub(crate) raw: Vec<u8>,
    pub(crate) payload: MessagePart,
    pub(crate) snippet: String,
    /// Search fields; `doc.labels` is the message's label list.
    pub(crate) doc: SearchDoc,
    subject: String,
}

impl StoredMessage {
    pub(crate) fn labels(&self) -> &[String] {
        &self.doc.labels
    }

    /// `{id, threadId, labelIds}` as history records carry it.
    pub(crate) fn stub(&self) -> Message {
        Message {
            id: self.id.clone(),
            thread_id: self.thread_id.clone(),
            label_ids: self.doc.labels.clone(),
            ..Default::default()
        }
    }
}

/// How a new message finds its thread.
pub(crate) enum Threading {
    /// Incoming mail: a message named by In-Reply-To/References whose
    /// subject matches.
    Auto,
    /// drafts.create / messages.send: only the given thread, and only when
    /// the headers name one of its messages and the subject matches.
    Requested(Option<String>),
}

pub(crate) struct Mailbox {
    pub(crate) messages: HashMap<String, StoredMessage>,
    /// (internalDate, id) — iterated in reverse for newest first.
    order: BTreeSet<(i64, String)>,
    by_rfc_id: HashMap<String, Vec<String>>,
    threads: HashMap<String, Vec<String>>,
    pub(crate) history: HistoryLog,
    /// (draft id, message id), in creation order.
    pub(crate) drafts: Vec<(String, String)>,
    pub(crate) sent: Vec<Vec<u8>>,
}

/// One page of messages.list.
pub(crate) struct ListPage {
    pub(crate) refs: Vec<MessageRef>,
    pub(crate) next: Option<(i64, String)>,
    pub(crate) estimate: u64,
}

impl Mailbox {
    pub(crate) fn new(_email: &str) -> Mailbox {
        Mailbox {
            messages: HashMap::new(),
            order: BTreeSet::new(),
            by_rfc_id: HashMap::new(),
            threads: HashMap::new(),
            history: HistoryLog::new(),
            drafts: Vec::new(),
            sent: Vec::new(),
        }
    }

    pub(crate) fn thread_count(&self) -> usize {
        self.threads.len()
    }

    pub(crate) fn thread(&self, id: &str) -> Option<&Vec<String>> {
        self.threads.get(id)
    }

    /// Store a message under `id`; threads it and logs `messageAdded`.
    /// `internal_date` = None takes the Date header, else `now_ms`.
    pub(crate) fn insert(
        &mut self,
        id: String,
        raw: Vec<u8>,
        labels: &[String],
        dates: (Option<i64>, i64),
        threading: Threading,
    ) -> &StoredMessage {
        let view = gmail_view(&raw);
        let internal_date = dates.0.or(view.date_ms).unwrap_or(dates.1);
        let thread_id = self
            .pick_thread(&view.references, &view.subject, threading)
            .unwrap_or_else(|| id.clone());
        let mut doc = view.doc;
        doc.internal_date_ms = internal_date;
        doc.labels = dedup(labels);
        let mut msg = StoredMessage {
            id: id.clone(),
            thread_id: thread_id.clone(),
            internal_date,
            history_id: 0,
            raw,
            payload: view.payload,
            snippet: view.snippet,
            doc,
            subject: view.subject,
        };
        msg.history_id = self.history.push(Change::Added, msg.stub());
        if let Some(rfc) = view.message_id {
            self.by_rfc_id
                .entry(rfc.to_ascii_lowercase())
                .or_default()
                .push(id.clone());
        }
        self.threads.entry(thread_id).or_default().push(id.clone());
        self.order.insert((internal_date, id.clone()));
        self.messages.entry(id).or_insert(msg)
    }

    fn pick_thread(&self, refs: &[String], subject: &str, how: Threading) -> Option<String> {
        let wanted_thread = match how {
            Threading::Auto => None,
            Threading::Requested(None) => return None,
            Threading::Requested(Some(t)) => Some(t),
        };
        let subject = normalize_subject(subject);
        // Latest reference first: the direct parent wins.
        for r in refs.iter().rev() {
            let Some(ids) = self.by_rfc_id.get(&r.to_ascii_lowercase()) else {
                continue;
            };
            for m in ids.iter().filter_map(|id| self.messages.get(id)) {
                let thread_ok = wanted_thread.as_ref().is_none_or(|t| *t == m.thread_id);
                if thread_ok && normalize_subject(&m.subject) == subject {
                    return Some(m.thread_id.clone());
                }
            }
        }
        None
    }

    /// Hard delete (`messageDeleted`). False if there was no such message.
    pub(crate) fn delete(&mut self, id: &str) -> bool {
        let Some(m) = self.messages.remove(id) else {
            return false;
        };
        self.order.remove(&(m.internal_date, m.id.clone()));
        if let Some(ids) = self.threads.get_mut(&m.thread_id) {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                self.threads.remove(&m.thread_id);
            }
        }
        for ids in self.by_rfc_id.values_mut() {
            ids.retain(|x| x != id);
        }
        self.drafts.retain(|(_, mid)| mid != id);
        self.history.push(Change::Deleted, m.stub());
        true
    }

    /// Add and remove labels; logs `labelAdded`/`labelRemoved` for the
    /// labels that actually changed. False if there was no such message.
    pub(crate) fn modify_labels(&mut self, id: &str, add: &[&str], remove: &[&str]) -> bool {
        let Some(m) = self.messages.get_mut(id) else {
            return false;
        };
        let added: Vec<String> = dedup_str(add)
            .into_iter()
            .filter(|l| !m.doc.labels.contains(l) && !remove.contains(&l.as_str()))
            .collect();
        m.doc.labels.extend(added.iter().cloned());
        let removed: Vec<String> = dedup_str(remove)
            .into_iter()
            .filter(|l| m.doc.labels.contains(l))
            .collect();
        m.doc.labels.retain(|l| !removed.contains(l));
        let stub = m.stub();
        let mut last = None;
        if !added.is_empty() {
            last = Some(self.history.push(Change::LabelsAdded(added), stub.clone()));
        }
        if !removed.is_empty() {
            last = Some(self.history.push(Change::LabelsRemoved(removed), stub));
        }
        if let (Some(h), Some(m)) = (last, self.messages.get_mut(id)) {
            m.history_id = h;
        }
        true
    }

    /// Newest first (internalDate desc, id desc), strictly after `cursor`.
    pub(crate) fn list(
        &self,
        filter: &ListFilter,
        cursor: Option<&(i64, String)>,
        max: usize,
    ) -> ListPage {
        let mut refs = Vec::new();
        let (mut last, mut more, mut estimate) = (None, false, 0u64);
        for key in self.order.iter().rev() {
            let Some(m) = self.messages.get(&key.1).filter(|m| filter.matches(m)) else {
                continue;
            };
            estimate += 1;
            if cursor.is_some_and(|c| key >= c) {
                continue;
            }
            if refs.len() < max {
                refs.push(MessageRef {
                    id: m.id.clone(),
                    thread_id: m.thread_id.clone(),
                });
                last = Some(key);
            } else {
                more = true;
            }
        }
        let next = if more { last.cloned() } else { None };
        ListPage {
            refs,
            next,
            estimate,
        }
    }
}

/// messages.list filters.
pub(crate) struct ListFilter {
    pub(crate) query: Option<Query>,
    pub(crate) label_ids: Vec<String>,
    pub(crate) include_spam_trash: bool,
}

impl ListFilter {
    fn matches(&self, m: &StoredMessage) -> bool {
        let labels = m.labels();
        let hidden = labels
            .iter()
            .any(|l| l == labels::SPAM || l == labels::TRASH);
        if hidden && !self.include_spam_trash && !self.asks_for_spam_or_trash() {
            return false;
        }
        if !self.label_ids.iter().all(|l| labels.contains(l)) {
            return false;
        }
        self.query.as_ref().is_none_or(|q| q.matches(&m.doc))
    }

    /// Asking for SPAM or TRASH by label shows them (as Gmail does).
    fn asks_for_spam_or_trash(&self) -> bool {
        self.label_ids
            .iter()
            .any(|l| l == labels::SPAM || l == labels::TRASH)
    }
}

/// Subject for thread matching: reply/forward prefixes stripped, spaces
/// collapsed, case folded.
pub(crate) fn normalize_subject(s: &str) -> String {
    let mut rest = s.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let cut = ["re:", "fw:", "fwd:", "aw:", "sv:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => rest = rest[n..].trim_start(),
            None => break,
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn dedup(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

fn dedup_str(labels: &[&str]) -> Vec<String> {
    dedup(&labels.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::normalize_subject;

    #[test]
    fn reply_and_forward_prefixes_do_not_change_the_thread_subject() {
        assert_eq!(normalize_subject("Re: FW:  Term   sheet"), "term sheet");
        assert_eq!(normalize_subject("term sheet"), "term sheet");
        assert_ne!(normalize_subject("Re: other"), "term sheet");
    }
}
