//! PushLimiter with explicit Instants: bursts, refills, fairness between
//! mailboxes under the global cap, and bounded memory.

use email_sidecar::capture::push::PushLimiter;
use std::time::{Duration, Instant};

#[test]
fn a_mailbox_gets_its_burst_then_is_refused_until_the_bucket_refills() {
    let limiter = PushLimiter::new(1.0, 3, 1000.0, 1000);
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let got: Vec<bool> = (0..4)
        .map(|_| limiter.allow("alice@fund.test", t0))
        .collect();
    assert_eq!(got, [true, true, true, false]);
    assert!(!limiter.allow("alice@fund.test", at(500)));
    assert!(limiter.allow("alice@fund.test", at(1000)));
    assert!(!limiter.allow("alice@fund.test", at(1000)));
    // A long pause refills only up to the burst.
    let later: Vec<bool> = (0..4)
        .map(|_| limiter.allow("alice@fund.test", at(60_000)))
        .collect();
    assert_eq!(later, [true, true, true, false]);
}

#[test]
fn a_noisy_mailbox_does_not_starve_another_until_the_global_bucket_runs_dry() {
    let limiter = PushLimiter::new(0.0, 2, 0.0, 5);
    let t0 = Instant::now();
    let noisy = (0..50)
        .filter(|_| limiter.allow("noisy@fund.test", t0))
        .count();
    assert_eq!(noisy, 2);
    // The noisy mailbox's 48 refusals cost the global bucket nothing.
    let rest: Vec<(&str, bool)> = ["alice@fund.test", "ALICE@fund.test ", "alice@fund.test"]
        .into_iter()
        .chain(["bob@fund.test", "bob@fund.test", "carol@fund.test"])
        .map(|m| (m, limiter.allow(m, t0)))
        .collect();
    let want = [
        ("alice@fund.test", true),
        ("ALICE@fund.test ", true), // same mailbox, any case
        ("alice@fund.test", false), // alice's own burst is spent
        ("bob@fund.test", true),    // 2 + 2 + 1 = the global burst of 5
        ("bob@fund.test", false),   // global bucket is empty
        ("carol@fund.test", false),
    ];
    assert_eq!(rest, want);
}

#[test]
fn the_limiter_forgets_idle_mailboxes_to_stay_bounded() {
    let limiter = PushLimiter::new(1.0, 2, 1e9, u32::MAX).with_max_mailboxes(3);
    let t0 = Instant::now();
    for i in 0..100 {
        assert!(limiter.allow(&format!("user{i}@fund.test"), t0));
    }
    assert_eq!(limiter.tracked_mailboxes(), 3);
    // Room for a newcomer is made from idle buckets first: a mailbox that
    // spent its burst keeps its (empty) bucket rather than a fresh one.
    let limiter = PushLimiter::new(1.0, 2, 1e9, u32::MAX).with_max_mailboxes(3);
    assert!(limiter.allow("idle@fund.test", t0));
    let t5 = t0 + Duration::from_secs(5);
    assert!(limiter.allow("busy@fund.test", t5));
    assert!(limiter.allow("busy@fund.test", t5));
    assert!(limiter.allow("new1@fund.test", t5));
    assert!(limiter.allow("new2@fund.test", t5));
    assert_eq!(limiter.tracked_mailboxes(), 3);
    assert!(
        !limiter.allow("busy@fund.test", t5),
        "busy kept its empty bucket"
    );
}
