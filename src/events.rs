//! In-process change notifications: the store publishes an [`Event`] after
//! the transaction that caused it commits, and `GET /api/email/stream`
//! (SSE) and the metrics read them. A broadcast channel: a slow subscriber
//! misses events (it is told it lagged) rather than slowing the writer.

use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it is told it lagged.
const CAPACITY: usize = 1024;

/// What changed. Serialised as `{"type": "...", ...}` for the SSE stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A proposal was created (capture or relink).
    ProposalCreated {
        id: String,
        email_id: String,
        investor_id: String,
    },
    /// A proposal was approved or rejected.
    ProposalDecided {
        id: String,
        status: String,
        decided_by: String,
    },
    /// A mailbox's sync moved on (phase, messages saved so far, still queued).
    SyncProgress {
        account_id: String,
        email: String,
        phase: String,
        saved: u64,
        pending: u64,
    },
    /// A reply draft was created in a mailbox.
    DraftCreated { id: String, email_id: String },
    /// A digest went out.
    DigestSent { id: String, local_day: String },
}

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(CAPACITY);
        Bus { tx }
    }

    /// Publishes to whoever listens now; nobody listening is fine.
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_sees_events_published_after_it_subscribed() {
        let bus = Bus::new();
        bus.publish(Event::DraftCreated {
            id: "0".into(),
            email_id: "0".into(),
        });
        let mut rx = bus.subscribe();
        let e = Event::DigestSent {
            id: "1".into(),
            local_day: "2026-11-22".into(),
        };
        bus.publish(e.clone());
        assert_eq!(rx.recv().await.unwrap(), e);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "digest_sent");
    }
}
