//! When the scheduled digest is due (SPEC §10): once per local day of
//! `CRM_DIGEST_TIMEZONE`, at or after `send_hour` local time, computed from
//! the zone's rules for that very day (so a DST change moves the UTC
//! instant, never the local hour), and the loop that asks every tick.
//! tokio-cron-scheduler is not used: it fixes the UTC offset when a job is
//! created, which is wrong on the day the clocks change.

use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use super::{Digests, Outcome};

/// How often the loop asks whether the digest is due.
pub const TICK: Duration = Duration::from_secs(30);

/// The local day `now` falls in.
pub fn local_day(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The instant `day` reaches `hour`:00 local time. A local time the clocks
/// skip (spring forward) is due at the first instant after the gap; one
/// they repeat (fall back) at its first occurrence.
pub fn due_at(day: NaiveDate, hour: u32, tz: Tz) -> DateTime<Utc> {
    let start = day.and_hms_opt(hour.min(23), 0, 0).unwrap_or_default();
    // Gaps are at most a few hours; step through them minute by minute.
    for minutes in 0..=(6 * 60) {
        let local = start + chrono::Duration::minutes(minutes);
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => {}
        }
    }
    // No zone has a six-hour gap; fall back to reading the hour as UTC.
    Utc.from_utc_datetime(&start)
}

/// The loop: one [`Digests::run_once`] per tick until `shutdown`. Every
/// tick reads the policy and the live config afresh.
pub async fn run_loop(digests: Digests, shutdown: CancellationToken) {
    digests.recover_manual_runs().await;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = digests.now();
        match digests.run_once(now).await {
            Ok(Outcome::Sent { run_id, transport }) => {
                tracing::info!(run_id, %transport, "daily digest sent")
            }
            Ok(outcome) => tracing::debug!(?outcome, "digest tick"),
            Err(e) => tracing::warn!(error = %e, "digest tick failed; next tick retries"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn eighteen_hundred_berlin_moves_in_utc_across_both_dst_changes() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(due_at(day(3, 28), 18, tz), utc(2026, 3, 28, 17, 0));
        assert_eq!(due_at(day(3, 29), 18, tz), utc(2026, 3, 29, 16, 0));
        assert_eq!(due_at(day(10, 24), 18, tz), utc(2026, 10, 24, 16, 0));
        assert_eq!(due_at(day(10, 25), 18, tz), utc(2026, 10, 25, 17, 0));
    }

    #[test]
    fn a_skipped_hour_is_due_after_the_gap_and_a_repeated_one_at_its_first_occurrence() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(due_at(spring, 2, tz), utc(2026, 3, 29, 1, 0));
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(due_at(autumn, 2, tz), utc(2026, 10, 25, 0, 0));
    }

    #[test]
    fn the_local_day_follows_the_zone_not_utc() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let late = utc(2026, 3, 9, 3, 30);
        assert_eq!(
            local_day(late, tz),
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()
        );
    }
}
