//! Gmail's per-user quota, in units: a token bucket per user holding one
//! second of the rate and refilling continuously (`tokio::time::Instant`, so
//! paused-time tests work), and a sliding one-second window per user that
//! records the peak units charged in any one second.

use std::collections::{HashMap, VecDeque};
use tokio::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);
/// Charges closer together than this share one window entry (bounds memory).
const MERGE: Duration = Duration::from_millis(1);

pub(crate) struct Quota {
    rate: Option<u32>,
    buckets: HashMap<String, Bucket>,
    windows: HashMap<String, Window>,
    peak: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
struct Window {
    entries: VecDeque<(Instant, u64)>,
    sum: u64,
}

impl Quota {
    pub(crate) fn new(rate: Option<u32>) -> Quota {
        Quota {
            rate,
            buckets: HashMap::new(),
            windows: HashMap::new(),
            peak: 0,
        }
    }

    /// Change the rate; buckets start full again.
    pub(crate) fn set_rate(&mut self, rate: Option<u32>) {
        self.rate = rate;
        self.buckets.clear();
    }

    /// Charge `units` to `user` now. `false` = the bucket is empty (429).
    pub(crate) fn try_charge(&mut self, user: &str, units: u64, now: Instant) -> bool {
        if let Some(rate) = self.rate {
            let cap = f64::from(rate);
            let b = self.buckets.entry(user.to_string()).or_insert(Bucket {
                tokens: cap,
                last: now,
            });
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * cap).min(cap);
            b.last = now;
            if b.tokens + 1e-9 < units as f64 {
                return false;
            }
            b.tokens -= units as f64;
        }
        self.record(user, units, now);
        true
    }

    fn record(&mut self, user: &str, units: u64, now: Instant) {
        let w = self.windows.entry(user.to_string()).or_default();
        match w.entries.back_mut() {
            Some((at, n)) if now.saturating_duration_since(*at) < MERGE => *n += units,
            _ => w.entries.push_back((now, units)),
        }
        w.sum += units;
        while let Some((at, n)) = w.entries.front().copied() {
            if now.saturating_duration_since(at) < WINDOW {
                break;
            }
            w.sum -= n;
            w.entries.pop_front();
        }
        self.peak = self.peak.max(w.sum);
    }

    /// Most units charged to one user in any one-second window.
    pub(crate) fn peak(&self) -> u64 {
        self.peak
    }

    pub(crate) fn reset_peak(&mut self) {
        self.peak = 0;
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_one_second_and_refills_continuously() {
        let mut q = Quota::new(Some(100));
        let t0 = Instant::now();
        assert!(q.try_charge("a", 100, t0));
        assert!(!q.try_charge("a", 5, t0), "the bucket is empty");
        assert!(q.try_charge("b", 5, t0), "buckets are per user");
        let later = t0 + Duration::from_millis(50);
        assert!(q.try_charge("a", 5, later), "50 ms refills 5 units");
        assert!(!q.try_charge("a", 5, later));
    }

    #[test]
    fn the_peak_is_the_most_units_in_any_one_second() {
        let mut q = Quota::new(None);
        let t0 = Instant::now();
        for i in 0..20u64 {
            q.try_charge("a", 5, t0 + Duration::from_millis(100 * i));
        }
        // Any one-second window holds at most 10 charges of 5.
        assert_eq!(q.peak(), 50);
    }
}
