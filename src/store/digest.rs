//! Digest runs (SPEC §10): the row written before a digest is sent (status
//! `sending`, deterministic Message-ID, once per local day for scheduled
//! runs), its outcome, the scheduled cursor (the window end of the newest
//! sent scheduled run), and the matched activity a window's digest is
//! built from. The digest module decides; this file only reads and writes.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{ms_to_time, opt_time, Store, StoreError};

/// Which kind of run: only `Scheduled` moves the cursor and is unique per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestRunKind {
    Scheduled,
    SendNow,
    Test,
}

impl DigestRunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::SendNow => "send_now",
            Self::Test => "test",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "scheduled" => Ok(Self::Scheduled),
            "send_now" => Ok(Self::SendNow),
            "test" => Ok(Self::Test),
            other => Err(StoreError::corrupt("digest run kind", other)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestRunStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl DigestRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "sending" => Ok(Self::Sending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::corrupt("digest run status", other)),
        }
    }
}

/// One `digest_runs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRun {
    pub id: i64,
    pub kind: DigestRunKind,
    /// `YYYY-MM-DD` in the digest's time zone.
    pub local_day: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Without angle brackets.
    pub message_id: String,
    pub status: DigestRunStatus,
    /// `gmail` or `smtp` once sent.
    pub transport: Option<String>,
    pub recipients: Vec<String>,
    pub sender: Option<String>,
    pub attempts: u32,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub gmail_message_id: Option<String>,
    pub smtp_reply: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A run about to be sent.
#[derive(Debug, Clone)]
pub struct NewDigestRun {
    pub kind: DigestRunKind,
    pub local_day: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub sender: String,
}

/// How a run ended up delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Gmail `messages.send` answered (or a lookup found it) with this id.
    Gmail { gmail_message_id: String },
    /// The SMTP server accepted it with this reply (`250 ...`).
    Smtp { reply: String },
}

/// A team member for the digest: an active directory user with a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub email: String,
    pub name: String,
}

/// One live sighting of a matched email in a team member's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingRow {
    pub email_id: i64,
    pub date_ms: i64,
    pub outbound: bool,
    pub subject: String,
    pub from_email: String,
    /// The team member's address (the mailbox it was seen in).
    pub mailbox: String,
}

/// Everything the digest of one window is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestActivity {
    /// Ordered by email.
    pub members: Vec<TeamMember>,
    /// Ordered by (email_id, mailbox).
    pub sightings: Vec<SightingRow>,
    /// `(email_id, investor_id, investor name)`, ordered.
    pub links: Vec<(i64, String, String)>,
}

const COLUMNS: &str = "id, kind, local_day, window_start, window_end, message_id, status, \
     transport, recipients_json, sender, attempts, sent_at, error, gmail_message_id, smtp_reply, \
     updated_at";

impl Store {
    /// The end of the newest sent scheduled run's window: where the next
    /// scheduled digest's window starts.
    pub fn digest_cursor(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = self.read(|c| {
            Ok(c.query_row(
                "SELECT max(window_end) FROM digest_runs \
                 WHERE kind = 'scheduled' AND status = 'sent'",
                [],
                |r| r.get(0),
            )?)
        })?;
        Ok(ms.map(ms_to_time))
    }

    pub fn scheduled_digest_run(&self, local_day: &str) -> Result<Option<DigestRun>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM digest_runs WHERE kind = 'scheduled' AND local_day = ?1"
        );
        self.read(|c| {
            c.query_row(&sql, [local_day], row_to_run)
                .optional()?
                .transpose()
        })
    }

    pub fn digest_run(&self, id: i64) -> Result<DigestRun, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM digest_runs WHERE id = ?1");
        let row = self.read(|c| Ok(c.query_row(&sql, [id], row_to_run).optional()?))?;
        row.unwrap_or_else(|| Err(StoreError::not_found(format!("digest run {id}"))))
    }

    /// The newest `limit` runs, newest first.
    pub fn digest_runs(&self, limit: u32) -> Result<Vec<DigestRun>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM digest_runs ORDER BY id DESC LIMIT ?1");
        self.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([limit], row_to_run)?;
            rows.map(|r| r?).collect()
        })
    }

    /// Runs left `pending`/`sending` (a crash or a failure mid-send), oldest first.
    pub fn unfinished_digest_runs(&self) -> Result<Vec<DigestRun>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM digest_runs WHERE status IN ('pending', 'sending') ORDER BY id"
        );
        self.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], row_to_run)?;
            rows.map(|r| r?).collect()
        })
    }

    /// Writes the run as `sending` (attempt 1) BEFORE anything is sent.
    /// `None` when the Message-ID (or the scheduled day) already has a row.
    pub fn begin_digest_run(&self, new: &NewDigestRun) -> Result<Option<DigestRun>, StoreError> {
        let now = self.now_ms();
        let recipients = serde_json::to_string(&new.recipients)
            .map_err(|e| StoreError::invalid("digest recipients", e.to_string()))?;
        let id = self.write(|c| {
            let n = c.execute(
                "INSERT INTO digest_runs (kind, local_day, window_start, window_end, message_id, \
                   status, recipients_json, sender, attempts, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'sending', ?6, ?7, 1, ?8, ?8) \
                 ON CONFLICT DO NOTHING",
                params![
                    new.kind.as_str(),
                    new.local_day,
                    new.window_start.timestamp_millis(),
                    new.window_end.timestamp_millis(),
                    new.message_id,
                    recipients,
                    new.sender,
                    now
                ],
            )?;
            Ok((n == 1).then(|| c.last_insert_rowid()))
        })?;
        id.map(|id| self.digest_run(id)).transpose()
    }

    /// Another attempt of a run: `sending` again, attempts + 1, with the
    /// recipients and sender of this attempt.
    pub fn retry_digest_run(
        &self,
        id: i64,
        recipients: &[String],
        sender: &str,
    ) -> Result<DigestRun, StoreError> {
        let now = self.now_ms();
        let recipients = serde_json::to_string(recipients)
            .map_err(|e| StoreError::invalid("digest recipients", e.to_string()))?;
        self.write(|c| {
            c.execute(
                "UPDATE digest_runs SET status = 'sending', attempts = attempts + 1, \
                 recipients_json = ?2, sender = ?3, error = NULL, updated_at = ?4 WHERE id = ?1",
                params![id, recipients, sender, now],
            )?;
            Ok(())
        })?;
        self.digest_run(id)
    }

    /// Records delivery (Gmail's id or the SMTP 250 reply) and `sent`, in one write.
    pub fn mark_digest_sent(&self, id: i64, delivery: &Delivery) -> Result<(), StoreError> {
        let now = self.now_ms();
        let (transport, gmail_id, reply) = match delivery {
            Delivery::Gmail { gmail_message_id } => ("gmail", Some(gmail_message_id), None),
            Delivery::Smtp { reply } => ("smtp", None, Some(reply)),
        };
        self.write(|c| {
            c.execute(
                "UPDATE digest_runs SET status = 'sent', transport = ?2, gmail_message_id = ?3, \
                 smtp_reply = ?4, sent_at = ?5, error = NULL, updated_at = ?5 WHERE id = ?1",
                params![id, transport, gmail_id, reply, now],
            )?;
            Ok(())
        })
    }

    /// Written just before handing the digest to SMTP: SMTP has no lookup,
    /// so a run that a crash or an unclear SMTP failure leaves with this
    /// mark is never sent again (at most once, rather than maybe twice).
    pub fn note_digest_smtp_attempt(&self, id: i64) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "UPDATE digest_runs SET transport = 'smtp', updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
    }

    pub fn mark_digest_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "UPDATE digest_runs SET status = 'failed', error = ?2, updated_at = ?3 \
                 WHERE id = ?1",
                params![id, error, now],
            )?;
            Ok(())
        })
    }

    /// Active admins of the directory, by address.
    pub fn active_admin_emails(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT email FROM directory_users WHERE role = 'admin' AND active = 1 \
                 ORDER BY email",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
    }

    /// The first active admin (by address) with an enrolled, active mailbox.
    pub fn first_admin_with_mailbox(&self) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT u.email FROM directory_users u JOIN email_accounts a ON a.email = u.email \
                 WHERE u.role = 'admin' AND u.active = 1 AND a.status = 'active' \
                 ORDER BY u.email LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// The matched, live activity of the window `(start, end]` (by the
    /// email's date) as seen in active team members' mailboxes.
    pub fn digest_activity(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DigestActivity, StoreError> {
        let (s, e) = (start.timestamp_millis(), end.timestamp_millis());
        self.read(|c| {
            let members = c
                .prepare_cached(
                    "SELECT u.email, u.name FROM directory_users u \
                     JOIN email_accounts a ON a.email = u.email \
                     WHERE u.active = 1 ORDER BY u.email",
                )?
                .query_map([], |r| {
                    Ok(TeamMember {
                        email: r.get(0)?,
                        name: r.get(1)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let sightings = c
                .prepare_cached(
                    "SELECT e.id, e.date_ms, e.direction = 'outbound', e.subject, e.from_email, \
                       a.email \
                     FROM emails e \
                     JOIN email_account_messages s ON s.email_id = e.id \
                     JOIN email_accounts a ON a.id = s.account_id \
                     JOIN directory_users u ON u.email = a.email AND u.active = 1 \
                     WHERE e.is_matched = 1 AND e.is_excluded = 0 \
                       AND e.date_ms > ?1 AND e.date_ms <= ?2 \
                       AND s.deleted_at IS NULL AND s.is_trash = 0 AND s.is_spam = 0 \
                     ORDER BY e.id, a.email",
                )?
                .query_map(params![s, e], |r| {
                    Ok(SightingRow {
                        email_id: r.get(0)?,
                        date_ms: r.get(1)?,
                        outbound: r.get(2)?,
                        subject: r.get(3)?,
                        from_email: r.get(4)?,
                        mailbox: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let links = c
                .prepare_cached(
                    "SELECT l.email_id, l.investor_id, coalesce(nullif(i.name, ''), l.investor_id) \
                     FROM emails e JOIN email_investor_links l ON l.email_id = e.id \
                     LEFT JOIN directory_investors i ON i.id = l.investor_id \
                     WHERE e.is_matched = 1 AND e.date_ms > ?1 AND e.date_ms <= ?2 \
                     ORDER BY l.email_id, l.investor_id",
                )?
                .query_map(params![s, e], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(DigestActivity {
                members,
                sightings,
                links,
            })
        })
    }
}

fn row_to_run(r: &Row<'_>) -> rusqlite::Result<Result<DigestRun, StoreError>> {
    let kind: String = r.get(1)?;
    let status: String = r.get(6)?;
    let recipients: String = r.get(8)?;
    let attempts: i64 = r.get(10)?;
    let build = || -> Result<DigestRun, StoreError> {
        Ok(DigestRun {
            id: r.get(0)?,
            kind: DigestRunKind::parse(&kind)?,
            local_day: r.get(2)?,
            window_start: ms_to_time(r.get(3)?),
            window_end: ms_to_time(r.get(4)?),
            message_id: r.get(5)?,
            status: DigestRunStatus::parse(&status)?,
            transport: r.get(7)?,
            recipients: serde_json::from_str(&recipients)
                .map_err(|e| StoreError::corrupt("digest recipients", e.to_string()))?,
            sender: r.get(9)?,
            attempts: u32::try_from(attempts).unwrap_or(0),
            sent_at: opt_time(r.get(11)?),
            error: r.get(12)?,
            gmail_message_id: r.get(13)?,
            smtp_reply: r.get(14)?,
            updated_at: ms_to_time(r.get(15)?),
        })
    };
    Ok(build())
}
