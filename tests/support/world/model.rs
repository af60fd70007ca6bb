//! The world's data model: per message what the product must store
//! ([`Expected`], [`AttTruth`]), its rendering, and its copies in the
//! mailboxes ([`Delivery`]).

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};

use super::compose;
use super::expect::Links;
use super::mime;
use super::people::Addr;
use super::Kind;

/// One attachment the product must record (matched email only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AttTruth {
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: String,
    /// Past the cap: status `too_large`, no sha256, no file.
    pub too_large: bool,
}

/// What the product must store for one world message.
#[derive(Debug, Clone)]
pub struct Expected {
    pub idx: usize,
    pub kind: Kind,
    /// Normalised; None = absent (the product synthesizes one).
    pub message_id: Option<String>,
    pub subject: String,
    pub from_email: String,
    /// The Date header, in ms since the epoch.
    pub date_ms: i64,
    pub outbound: bool,
    pub internal: bool,
    pub bulk: bool,
    pub excluded: bool,
    pub links: Links,
    pub text: String,
    /// A token the stored HTML must contain; None = no HTML part.
    pub html_marker: Option<String>,
    pub attachments: Vec<AttTruth>,
    pub conversation: Option<usize>,
}

impl Expected {
    pub fn is_matched(&self) -> bool {
        !self.excluded && !self.links.is_empty()
    }
}

/// One copy of a message in one mailbox.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub mailbox: String,
    pub labels: BTreeSet<String>,
    /// Set once delivered to the fake.
    pub gmail_id: Option<String>,
    pub deleted: bool,
    /// Ever outside spam/trash while it existed.
    pub ever_visible: bool,
    /// The sender's own copy (carries the Bcc header).
    pub sender_copy: bool,
}

impl Delivery {
    pub(super) fn planned(mailbox: &str, labels: &[&str], sender_copy: bool) -> Delivery {
        Delivery {
            mailbox: mailbox.to_string(),
            labels: compose::set(labels),
            gmail_id: None,
            deleted: false,
            ever_visible: false,
            sender_copy,
        }
    }

    /// Not in spam or trash (ignores whether it was delivered).
    pub fn visible(&self) -> bool {
        !self.deleted && !self.labels.contains("TRASH") && !self.labels.contains("SPAM")
    }

    /// Delivered and visible: the product must hold a live sighting.
    pub fn live(&self) -> bool {
        self.gmail_id.is_some() && self.visible()
    }
}

/// One world message: its expectation, its rendering and its copies.
#[derive(Debug, Clone)]
pub struct Msg {
    pub expect: Expected,
    pub(super) mail: mime::Mail,
    pub deliveries: Vec<Delivery>,
    pub from: Addr,
    pub to: Vec<Addr>,
    pub cc: Vec<Addr>,
    pub bcc: Vec<Addr>,
    pub date: DateTime<FixedOffset>,
    pub rfc2047_subject: bool,
    pub reused_attachment: bool,
}

impl Msg {
    /// The raw bytes of one copy (the sender's copy carries Bcc).
    pub fn raw(&self, sender_copy: bool) -> Vec<u8> {
        mime::render(&self.mail, sender_copy)
    }
}
