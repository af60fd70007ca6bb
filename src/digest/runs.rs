//! The scheduled digest's lifecycle, exactly once per local day: the
//! `digest_runs` row is written (status `sending`) before anything is
//! sent; a run left `sending` or `failed` is looked up in the sender's
//! mailbox before it is ever sent again; a run of an earlier day that never
//! went out is closed and its window rolls into the next digest (each new
//! window starts where the last *sent* scheduled window ended).

use chrono::{DateTime, Duration, Utc};

use super::schedule::{due_at, local_day};
use super::{message_id, send, DigestError, Digests, DEFAULT_WINDOW, MAX_WINDOW};
use crate::store::digest::{Delivery, DigestRun, DigestRunKind, DigestRunStatus, NewDigestRun};

/// Why a run that reached the SMTP fallback is not retried.
const SMTP_UNKNOWN: &str = "the SMTP fallback was tried and its outcome is unknown (a crash or an \
     unclear failure after the server may have accepted it); not resent: check the admins' inboxes";

/// Send attempts of one day's digest before the scheduler gives up on it.
pub const MAX_ATTEMPTS: u32 = 5;
/// Time between the attempts of a failed day's digest.
pub const RETRY_SPACING: Duration = Duration::minutes(5);

/// What one scheduler tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The policy is off.
    Disabled,
    /// Not yet `send_hour` on this local day.
    NotDue {
        local_day: String,
        due_at: DateTime<Utc>,
    },
    AlreadySent {
        run_id: i64,
    },
    Sent {
        run_id: i64,
        transport: String,
    },
    /// This attempt failed; a later tick tries again (lookup first).
    Failed {
        run_id: i64,
        error: String,
    },
    /// Waiting for the next attempt of a failed run.
    Waiting {
        run_id: i64,
        until: DateTime<Utc>,
    },
    /// [`MAX_ATTEMPTS`] failed; the window rolls into the next day's digest.
    GaveUp {
        run_id: i64,
    },
}

/// Where a new scheduled window starts: the last sent scheduled window's
/// end (at most [`MAX_WINDOW`] back), or 24 h back for the first one.
pub fn window_start(cursor: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    match cursor {
        Some(c) => c.max(now - MAX_WINDOW).min(now),
        None => now - DEFAULT_WINDOW,
    }
}

impl Digests {
    /// One scheduler tick at `now`: reads the policy and the zone afresh.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Outcome, DigestError> {
        let policy = self.store.run(|s| s.digest_policy()).await?;
        if !policy.enabled {
            return Ok(Outcome::Disabled);
        }
        let tz = self.live.current().digest.timezone;
        let day = local_day(now, tz);
        let due = due_at(day, policy.send_hour, tz);
        let day = day.to_string();
        self.settle_earlier_days(&day).await?;
        if now < due {
            return Ok(Outcome::NotDue {
                local_day: day,
                due_at: due,
            });
        }
        self.scheduled_for(now, day).await
    }

    /// `digest send`: today's scheduled digest now, whatever the hour and
    /// the policy (an operator's explicit command); still once per day.
    pub async fn send_scheduled(&self, now: DateTime<Utc>) -> Result<Outcome, DigestError> {
        let tz = self.live.current().digest.timezone;
        let day = local_day(now, tz).to_string();
        self.settle_earlier_days(&day).await?;
        self.scheduled_for(now, day).await
    }

    async fn scheduled_for(&self, now: DateTime<Utc>, day: String) -> Result<Outcome, DigestError> {
        let lookup = day.clone();
        let existing = self
            .store
            .run(move |s| s.scheduled_digest_run(&lookup))
            .await?;
        let Some(run) = existing else {
            return self.start_scheduled(now, day).await;
        };
        match run.status {
            DigestRunStatus::Sent => Ok(Outcome::AlreadySent { run_id: run.id }),
            DigestRunStatus::Failed if run.attempts >= MAX_ATTEMPTS => {
                Ok(Outcome::GaveUp { run_id: run.id })
            }
            DigestRunStatus::Failed if now < run.updated_at + RETRY_SPACING => {
                Ok(Outcome::Waiting {
                    run_id: run.id,
                    until: run.updated_at + RETRY_SPACING,
                })
            }
            // `sending` here was left by a crash: this loop is its only sender.
            _ => self.resume(run).await,
        }
    }

    async fn start_scheduled(
        &self,
        now: DateTime<Utc>,
        day: String,
    ) -> Result<Outcome, DigestError> {
        let cursor = self.store.run(|s| s.digest_cursor()).await?;
        let start = window_start(cursor, now);
        let recipients = self.store.run(|s| s.active_admin_emails()).await?;
        if recipients.is_empty() {
            return Err(DigestError::NoRecipients);
        }
        let sender = self.sender().await?;
        let digest = self.build(start, now).await?;
        let new = NewDigestRun {
            kind: DigestRunKind::Scheduled,
            message_id: message_id(&day, "scheduled", &sender),
            local_day: day,
            window_start: start,
            window_end: now,
            recipients,
            sender,
        };
        let Some(run) = self.store.run(move |s| s.begin_digest_run(&new)).await? else {
            return Ok(Outcome::AlreadySent { run_id: 0 });
        };
        Ok(outcome(
            &run,
            send::deliver(self, &run, &digest, false).await,
        ))
    }

    /// Another attempt of today's run: lookup first, then send again —
    /// unless SMTP was already tried, which cannot be looked up: then the
    /// run is closed unsent rather than risk a second copy.
    async fn resume(&self, run: DigestRun) -> Result<Outcome, DigestError> {
        if run.transport.as_deref() == Some("smtp") {
            let id = run.id;
            self.store
                .run(move |s| s.mark_digest_failed(id, SMTP_UNKNOWN))
                .await?;
            tracing::warn!(run = id, "{SMTP_UNKNOWN}");
            return Ok(Outcome::GaveUp { run_id: id });
        }
        let recipients = self.store.run(|s| s.active_admin_emails()).await?;
        // The first attempt's sender is where its Message-ID would be.
        let sender = match &run.sender {
            Some(s) => s.clone(),
            None => self.sender().await?,
        };
        let id = run.id;
        let run = self
            .store
            .run(move |s| s.retry_digest_run(id, &recipients, &sender))
            .await?;
        let digest = self.build(run.window_start, run.window_end).await?;
        Ok(outcome(
            &run,
            send::deliver(self, &run, &digest, true).await,
        ))
    }

    /// Scheduled runs of earlier days still `sending`: recorded as sent if
    /// the lookup finds them, else closed (their window rolls forward).
    async fn settle_earlier_days(&self, today: &str) -> Result<(), DigestError> {
        let stale: Vec<DigestRun> = self
            .store
            .run(|s| s.unfinished_digest_runs())
            .await?
            .into_iter()
            .filter(|r| r.kind == DigestRunKind::Scheduled && r.local_day != today)
            .collect();
        for run in stale {
            self.settle(&run, "interrupted; its window rolls into the next digest")
                .await;
        }
        Ok(())
    }

    /// Manual runs (send-now, test) a crash left `sending`: recorded as
    /// sent if found, else failed — never resent behind the caller's back.
    /// Called once when the scheduler starts.
    pub async fn recover_manual_runs(&self) {
        let runs = match self.store.run(|s| s.unfinished_digest_runs()).await {
            Ok(runs) => runs,
            Err(e) => return tracing::warn!(error = %e, "digest: cannot list unfinished runs"),
        };
        let manual: Vec<DigestRun> = runs
            .into_iter()
            .filter(|r| r.kind != DigestRunKind::Scheduled)
            .collect();
        for run in &manual {
            self.settle(run, "interrupted by a restart; not resent")
                .await;
        }
    }

    async fn settle(&self, run: &DigestRun, why: &'static str) {
        let id = run.id;
        let result = match send::verify(self, run).await {
            Ok(Some(gmail_message_id)) => {
                let d = Delivery::Gmail { gmail_message_id };
                self.store.run(move |s| s.mark_digest_sent(id, &d)).await
            }
            Ok(None) => self.store.run(move |s| s.mark_digest_failed(id, why)).await,
            Err(e) => {
                tracing::warn!(run = id, error = %e, "digest: cannot look an interrupted run up yet");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(run = id, error = %e, "digest: cannot record an interrupted run");
        }
    }
}

fn outcome(run: &DigestRun, result: Result<Delivery, DigestError>) -> Outcome {
    match result {
        Ok(Delivery::Gmail { .. }) => Outcome::Sent {
            run_id: run.id,
            transport: "gmail".into(),
        },
        Ok(Delivery::Smtp { .. }) => Outcome::Sent {
            run_id: run.id,
            transport: "smtp".into(),
        },
        Err(e) => Outcome::Failed {
            run_id: run.id,
            error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_window_starts_at_the_cursor_but_never_more_than_a_month_back() {
        let now = Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap();
        let yesterday = now - Duration::days(1);
        assert_eq!(window_start(Some(yesterday), now), yesterday);
        assert_eq!(window_start(None, now), now - DEFAULT_WINDOW);
        let long_ago = now - Duration::days(200);
        assert_eq!(window_start(Some(long_ago), now), now - MAX_WINDOW);
        // A cursor in the future (clock stepped back) yields an empty window.
        assert_eq!(window_start(Some(now + Duration::hours(1)), now), now);
    }
}
