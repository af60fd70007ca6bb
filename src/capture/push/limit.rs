//! Rate limit on push notices: a token bucket per mailbox plus one global
//! bucket. Gmail sends at most about one notice per second per user, so a
//! mailbox far above that is misbehaving (or forged) and must not starve
//! the others; the global bucket caps the total work whatever the mix. A
//! notice refused by its mailbox's bucket costs the global bucket nothing.
//! Memory is bounded: past `max_mailboxes` keys, idle buckets (those that
//! would be full again) go first, then the least recently seen.
//! Pure and synchronous: callers pass the `Instant`. Talks to nobody.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const DEFAULT_MAX_MAILBOXES: usize = 10_000;

/// Token buckets keyed by mailbox (trimmed, lowercased) plus a global one.
#[derive(Debug)]
pub struct PushLimiter {
    mailbox: Rate,
    global: Rate,
    max_mailboxes: usize,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    per_sec: f64,
    burst: f64,
}

#[derive(Debug, Default)]
struct State {
    global: Option<Bucket>,
    mailboxes: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Rate {
    /// Negative or non-finite rates refill nothing.
    fn new(per_sec: f64, burst: u32) -> Rate {
        let per_sec = if per_sec.is_finite() && per_sec > 0.0 {
            per_sec
        } else {
            0.0
        };
        Rate {
            per_sec,
            burst: f64::from(burst),
        }
    }

    fn full(&self, now: Instant) -> Bucket {
        Bucket {
            tokens: self.burst,
            last: now,
        }
    }

    /// Tokens the bucket holds at `now` (it is not updated).
    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(b.last).as_secs_f64();
        (b.tokens + dt * self.per_sec).min(self.burst)
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        b.tokens = self.level(b, now);
        b.last = b.last.max(now);
    }
}

impl PushLimiter {
    /// Rates in notices per second; a burst is how many may come at once
    /// after a quiet spell (0 refuses everything). Buckets start full.
    pub fn new(
        per_mailbox_per_sec: f64,
        per_mailbox_burst: u32,
        global_per_sec: f64,
        global_burst: u32,
    ) -> PushLimiter {
        PushLimiter {
            mailbox: Rate::new(per_mailbox_per_sec, per_mailbox_burst),
            global: Rate::new(global_per_sec, global_burst),
            max_mailboxes: DEFAULT_MAX_MAILBOXES,
            state: Mutex::new(State::default()),
        }
    }

    /// Track at most `n` (≥ 1) mailboxes' buckets at once.
    pub fn with_max_mailboxes(mut self, n: usize) -> PushLimiter {
        self.max_mailboxes = n.max(1);
        self
    }

    /// May a notice for `mailbox` go ahead at `now`? Takes a token from
    /// both buckets when it may, from neither when it may not.
    pub fn allow(&self, mailbox: &str, now: Instant) -> bool {
        let key = mailbox.trim().to_lowercase();
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *guard;
        let global = st.global.get_or_insert_with(|| self.global.full(now));
        self.global.refill(global, now);
        if !st.mailboxes.contains_key(&key) {
            self.make_room(&mut st.mailboxes, now);
        }
        let bucket = st
            .mailboxes
            .entry(key)
            .or_insert_with(|| self.mailbox.full(now));
        self.mailbox.refill(bucket, now);
        if bucket.tokens < 1.0 || global.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        global.tokens -= 1.0;
        true
    }

    /// How many mailboxes' buckets are held now.
    pub fn tracked_mailboxes(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mailboxes
            .len()
    }

    /// Make space for one more key: drop idle buckets (a full bucket is
    /// the same as a fresh one), then the least recently seen.
    fn make_room(&self, buckets: &mut HashMap<String, Bucket>, now: Instant) {
        if buckets.len() < self.max_mailboxes {
            return;
        }
        let rate = self.mailbox;
        buckets.retain(|_, b| rate.level(b, now) < rate.burst);
        while buckets.len() >= self.max_mailboxes {
            let oldest = buckets
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => buckets.remove(&k),
                None => break,
            };
        }
    }
}
