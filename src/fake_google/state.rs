//! The fake's shared state: one mutex around grants, mailboxes, quota,
//! faults and counters. Every handler locks it briefly and never across an
//! `.await`, so the fake stays simple and deterministic.

use super::faults::FaultState;
use super::grants::Grants;
use super::keys::SaKey;
use super::mailbox::Mailbox;
use super::quota::Quota;
use super::Counters;
use crate::clock::SharedClock;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Read-only settings plus the locked state, shared by every handler.
pub(crate) struct Shared {
    pub(crate) clock: SharedClock,
    pub(crate) token_lifetime_secs: u64,
    pub(crate) base_url: String,
    pub(crate) key: &'static SaKey,
    state: Mutex<State>,
}

pub(crate) struct State {
    pub(crate) grants: Grants,
    pub(crate) mailboxes: HashMap<String, Mailbox>,
    pub(crate) quota: Quota,
    pub(crate) faults: FaultState,
    pub(crate) counters: Counters,
    pub(crate) ids: IdGen,
}

impl Shared {
    pub(crate) fn new(
        clock: SharedClock,
        token_lifetime_secs: u64,
        base_url: String,
        key: &'static SaKey,
        quota_units_per_sec: Option<u32>,
    ) -> Shared {
        Shared {
            clock,
            token_lifetime_secs,
            base_url,
            key,
            state: Mutex::new(State {
                grants: Grants::default(),
                mailboxes: HashMap::new(),
                quota: Quota::new(quota_units_per_sec),
                faults: FaultState::default(),
                counters: Counters::default(),
                ids: IdGen::new(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in one handler must not take the whole fake down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    pub(crate) fn token_uri(&self) -> String {
        format!("{}/token", self.base_url)
    }
}

impl State {
    /// The mailbox of `user` (lowercased), created empty on first use.
    pub(crate) fn mailbox(&mut self, user: &str) -> &mut Mailbox {
        let key = user.to_ascii_lowercase();
        self.mailboxes
            .entry(key.clone())
            .or_insert_with(|| Mailbox::new(&key))
    }

    pub(crate) fn count_call(&mut self, method: &str) {
        *self.counters.calls.entry(method.to_string()).or_insert(0) += 1;
    }
}

/// Gmail-looking ids: 16 hex digits that grow over time, like Gmail's.
pub(crate) struct IdGen {
    next: u64,
}

impl IdGen {
    fn new() -> IdGen {
        IdGen {
            next: 0x18c0_0000_0000_0000 + rand::thread_rng().gen_range(0..1u64 << 40),
        }
    }

    pub(crate) fn message_id(&mut self) -> String {
        self.next += rand::thread_rng().gen_range(1..0x1_0000);
        format!("{:016x}", self.next)
    }

    pub(crate) fn draft_id(&mut self) -> String {
        format!(
            "r{}",
            rand::thread_rng().gen_range(1u64 << 60..i64::MAX as u64)
        )
    }
}

/// A random opaque string for tokens and codes.
pub(crate) fn random_token(prefix: &str, len: usize) -> String {
    use rand::distributions::Alphanumeric;
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{body}")
}
