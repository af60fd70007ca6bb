//! A mailbox's history log, as `users.history.list` exposes it: records with
//! increasing but non-contiguous ids (each change advances the mailbox's
//! historyId by a random step), a retention floor (start ids below it → 404),
//! type and label filters, and keyset paging.

use crate::google::types::{History, HistoryId, HistoryLabel, HistoryMessage, Message};
use rand::Rng;
use std::collections::VecDeque;

/// Oldest records are dropped beyond this many (and the floor rises).
const MAX_RECORDS: usize = 200_000;

#[derive(Debug, Clone)]
pub(crate) enum Change {
    Added,
    Deleted,
    LabelsAdded(Vec<String>),
    LabelsRemoved(Vec<String>),
}

impl Change {
    fn type_name(&self) -> &'static str {
        match self {
            Change::Added => "messageAdded",
            Change::Deleted => "messageDeleted",
            Change::LabelsAdded(_) => "labelAdded",
            Change::LabelsRemoved(_) => "labelRemoved",
        }
    }
}

pub(crate) const HISTORY_TYPES: [&str; 4] = [
    "messageAdded",
    "messageDeleted",
    "labelAdded",
    "labelRemoved",
];

#[derive(Debug, Clone)]
struct Record {
    id: u64,
    change: Change,
    /// The message as it was at the change: id, threadId, labelIds.
    stub: Message,
}

pub(crate) struct HistoryLog {
    current: u64,
    /// The smallest start id still answerable.
    floor: u64,
    records: VecDeque<Record>,
}

/// Which records a history.list call wants.
pub(crate) struct HistoryQuery<'a> {
    pub(crate) start: u64,
    pub(crate) after: Option<u64>,
    pub(crate) types: &'a [String],
    pub(crate) label: Option<&'a str>,
    pub(crate) max: usize,
}

impl HistoryLog {
    pub(crate) fn new() -> HistoryLog {
        let start = 100_000 + rand::thread_rng().gen_range(0..900_000);
        // Nothing has been forgotten yet: every start id is answerable
        // until the log is expired or overflows.
        HistoryLog {
            current: start,
            floor: 0,
            records: VecDeque::new(),
        }
    }

    pub(crate) fn current(&self) -> u64 {
        self.current
    }

    fn bump(&mut self) -> u64 {
        self.current += rand::thread_rng().gen_range(1..=7);
        self.current
    }

    /// Log a change; returns its history id (the mailbox's new historyId).
    pub(crate) fn push(&mut self, change: Change, stub: Message) -> u64 {
        let id = self.bump();
        self.records.push_back(Record { id, change, stub });
        while self.records.len() > MAX_RECORDS {
            if let Some(r) = self.records.pop_front() {
                self.floor = r.id;
            }
        }
        id
    }

    /// Forget everything so far: every start id ≤ the current one is too
    /// old from now on. The mailbox moves on, so a fresh getProfile
    /// historyId is answerable again.
    pub(crate) fn expire(&mut self) {
        self.floor = self.current + 1;
        self.records.clear();
        self.bump();
    }

    /// Records after `start` (and after the page cursor), filtered.
    /// `None` = the start id is older than what is retained (404).
    pub(crate) fn list(&self, q: &HistoryQuery) -> Option<(Vec<History>, Option<u64>)> {
        if q.start < self.floor {
            return None;
        }
        let from = q.after.unwrap_or(q.start).max(q.start);
        let mut out = Vec::new();
        let mut next = None;
        for r in self.records.iter().filter(|r| r.id > from) {
            if !wanted(r, q) {
                continue;
            }
            if out.len() == q.max {
                next = out.last().map(|h: &History| h.id.0);
                break;
            }
            out.push(render(r));
        }
        Some((out, next))
    }
}

fn wanted(r: &Record, q: &HistoryQuery) -> bool {
    if !q.types.is_empty() && !q.types.iter().any(|t| t == r.change.type_name()) {
        return false;
    }
    match q.label {
        None => true,
        Some(l) => {
            let changed = match &r.change {
                Change::LabelsAdded(ls) | Change::LabelsRemoved(ls) => ls.as_slice(),
                _ => &[],
            };
            r.stub.label_ids.iter().chain(changed).any(|x| x == l)
        }
    }
}

fn render(r: &Record) -> History {
    let reference = Message {
        id: r.stub.id.clone(),
        thread_id: r.stub.thread_id.clone(),
        ..Default::default()
    };
    let mut h = History {
        id: HistoryId(r.id),
        messages: vec![reference],
        ..Default::default()
    };
    let msg = || HistoryMessage {
        message: r.stub.clone(),
    };
    let lab = |ls: &Vec<String>| HistoryLabel {
        message: r.stub.clone(),
        label_ids: ls.clone(),
    };
    match &r.change {
        Change::Added => h.messages_added.push(msg()),
        Change::Deleted => h.messages_deleted.push(msg()),
        Change::LabelsAdded(ls) => h.labels_added.push(lab(ls)),
        Change::LabelsRemoved(ls) => h.labels_removed.push(lab(ls)),
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stub(id: &str, labels: &[&str]) -> Message {
        Message {
            id: id.into(),
            thread_id: id.into(),
            label_ids: labels.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn q(start: u64, max: usize) -> HistoryQuery<'static> {
        HistoryQuery {
            start,
            after: None,
            types: &[],
            label: None,
            max,
        }
    }

    #[test]
    fn ids_increase_and_pages_follow_the_cursor() {
        let mut log = HistoryLog::new();
        let start = log.current();
        let ids: Vec<u64> = (0..5)
            .map(|i| log.push(Change::Added, stub(&i.to_string(), &[])))
            .collect();
        assert!(ids.windows(2).all(|w| w[1] > w[0]));
        let (page, next) = log.list(&q(start, 2)).unwrap();
        assert_eq!(page.iter().map(|h| h.id.0).collect::<Vec<_>>(), ids[..2]);
        let after = HistoryQuery {
            after: next,
            ..q(start, 10)
        };
        let (rest, none) = log.list(&after).unwrap();
        assert_eq!(rest.iter().map(|h| h.id.0).collect::<Vec<_>>(), ids[2..]);
        assert_eq!(none, None);
    }

    #[test]
    fn after_expiry_old_start_ids_are_refused_and_the_new_current_is_not() {
        let mut log = HistoryLog::new();
        let before = log.current();
        log.push(Change::Added, stub("a", &["INBOX"]));
        log.expire();
        assert!(log.list(&q(before, 10)).is_none());
        assert!(log.list(&q(log.current(), 10)).is_some());
    }
}
