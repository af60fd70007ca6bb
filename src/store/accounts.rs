//! `email_accounts`: enrolled mailboxes, their status, sync cursor and the
//! encrypted OAuth refresh token (an opaque blob here; see `crypto`).
//!
//! historyIds are u64 and SQLite integers are i64, so the cursor is stored
//! as canonical decimal TEXT (a CHECK allows digits only) and compared in
//! Rust as u64 — never in SQL, where text order would be wrong.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{ms_to_time, opt_time, Store, StoreError};
use crate::config::{normalize_mailbox, AuthMethod};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Paused,
    Error,
    Revoked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Error => "error",
            Self::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for AccountStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "error" => Ok(Self::Error),
            "revoked" => Ok(Self::Revoked),
            other => Err(format!("unknown account status {other:?}")),
        }
    }
}

/// One enrolled mailbox (the refresh token is fetched separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub crm_user_id: Option<String>,
    pub status: AccountStatus,
    pub auth_method: AuthMethod,
    pub history_id: Option<u64>,
    pub history_id_at: Option<DateTime<Utc>>,
    pub backfill_done: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub watch_expiration: Option<DateTime<Utc>>,
    pub has_refresh_token: bool,
    pub created_at: DateTime<Utc>,
}

/// What [`Store::enroll_account`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollOutcome {
    pub account: Account,
    /// False when the mailbox was already enrolled (nothing changed).
    pub created: bool,
}

/// Key rotation's `(mailbox, old blob) -> new blob`; the error is shown.
pub type Recrypt<'a> = &'a dyn Fn(&str, &[u8]) -> Result<Vec<u8>, String>;

const COLUMNS: &str = "id, email, crm_user_id, status, auth_method, history_id, history_id_at, \
     backfill_state, last_sync_at, last_error, last_error_at, watch_expiration, \
     refresh_token_enc IS NOT NULL, created_at";

impl Store {
    /// Enrolls a mailbox, idempotently: the address is lowercased and an
    /// existing row is returned unchanged.
    pub fn enroll_account(
        &self,
        email: &str,
        auth_method: AuthMethod,
        crm_user_id: Option<&str>,
    ) -> Result<EnrollOutcome, StoreError> {
        let email = normalize_mailbox(email)
            .ok_or_else(|| StoreError::invalid("mailbox address", format!("{email:?}")))?;
        let now = self.now_ms();
        let created = self.write(|c| {
            let n = c.execute(
                "INSERT INTO email_accounts (email, crm_user_id, auth_method, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (email) DO NOTHING",
                params![email, crm_user_id, auth_method.as_str(), now],
            )?;
            Ok(n == 1)
        })?;
        let account = self
            .account_by_email(&email)?
            .ok_or_else(|| StoreError::not_found(format!("account {email}")))?;
        Ok(EnrollOutcome { account, created })
    }

    /// All enrolled mailboxes, by id.
    pub fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM email_accounts ORDER BY id"))?;
            let rows = stmt.query_map([], row_to_account)?;
            rows.map(|r| r?).collect()
        })
    }

    pub fn account(&self, id: i64) -> Result<Account, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {COLUMNS} FROM email_accounts WHERE id = ?1");
            c.query_row(&sql, [id], row_to_account)
                .optional()?
                .ok_or_else(|| StoreError::not_found(format!("account {id}")))?
        })
    }

    /// The account for an address (case-insensitive), if enrolled.
    pub fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let email = email.trim().to_ascii_lowercase();
        self.read(|c| {
            let sql = format!("SELECT {COLUMNS} FROM email_accounts WHERE email = ?1");
            c.query_row(&sql, [email], row_to_account)
                .optional()?
                .transpose()
        })
    }

    /// Sets the status; `last_error` replaces the recorded error (`None`
    /// clears it, e.g. on resume).
    pub fn set_account_status(
        &self,
        id: i64,
        status: AccountStatus,
        last_error: Option<&str>,
    ) -> Result<Account, StoreError> {
        let now = self.now_ms();
        let error_at = last_error.map(|_| now);
        self.update_one(
            id,
            "UPDATE email_accounts SET status = ?2, last_error = ?3, last_error_at = ?4, \
             updated_at = ?5 WHERE id = ?1",
            params![id, status.as_str(), last_error, error_at, now],
        )?;
        self.account(id)
    }

    /// Moves the incremental-sync cursor (and stamps when it moved).
    pub fn set_history_cursor(&self, id: i64, history_id: u64) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.update_one(
            id,
            "UPDATE email_accounts SET history_id = ?2, history_id_at = ?3, updated_at = ?3 \
             WHERE id = ?1",
            params![id, history_id_to_sql(history_id), now],
        )
    }

    /// Stores an encrypted refresh token blob (made by `crypto::TokenCipher`).
    pub fn set_refresh_token(&self, id: i64, encrypted: &[u8]) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.update_one(
            id,
            "UPDATE email_accounts SET refresh_token_enc = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, encrypted, now],
        )
    }

    /// Key rotation: every stored refresh token blob through
    /// `recrypt(mailbox, blob)` (decrypt with the old key, encrypt with the
    /// new), all in ONE transaction, so a blob the old key cannot open
    /// leaves every row as it was. Returns how many were re-encrypted.
    pub fn reencrypt_refresh_tokens(&self, recrypt: Recrypt<'_>) -> Result<usize, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let rows: Vec<(i64, String, Vec<u8>)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, email, refresh_token_enc FROM email_accounts \
                     WHERE refresh_token_enc IS NOT NULL ORDER BY id",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (id, email, blob) in &rows {
                let fresh = recrypt(email, blob).map_err(|message| StoreError::Invalid {
                    what: format!("the refresh token of {email}"),
                    message,
                })?;
                tx.execute(
                    "UPDATE email_accounts SET refresh_token_enc = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, fresh, now],
                )?;
            }
            tx.commit()?;
            Ok(rows.len())
        })
    }

    /// The encrypted refresh token blob, if one is stored.
    pub fn refresh_token(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT refresh_token_enc FROM email_accounts WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found(format!("account {id}")))
        })
    }

    fn update_one(
        &self,
        id: i64,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let n = self.write(|c| Ok(c.execute(sql, params)?))?;
        if n == 0 {
            return Err(StoreError::not_found(format!("account {id}")));
        }
        Ok(())
    }
}

/// The stored form of a historyId: its canonical decimal text.
pub(crate) fn history_id_to_sql(id: u64) -> String {
    id.to_string()
}

/// Inverse of [`history_id_to_sql`].
pub(crate) fn history_id_from_sql(text: &str) -> Result<u64, StoreError> {
    text.parse::<u64>()
        .map_err(|_| StoreError::corrupt("history_id", format!("{text:?} is not a u64")))
}

type RowResult = Result<Account, StoreError>;

fn row_to_account(r: &Row<'_>) -> rusqlite::Result<RowResult> {
    let status: String = r.get(3)?;
    let auth: String = r.get(4)?;
    let history: Option<String> = r.get(5)?;
    let backfill: String = r.get(7)?;
    let build = || -> RowResult {
        Ok(Account {
            id: r.get(0)?,
            email: r.get(1)?,
            crm_user_id: r.get(2)?,
            status: status
                .parse()
                .map_err(|e| StoreError::corrupt("status", e))?,
            auth_method: auth
                .parse()
                .map_err(|e| StoreError::corrupt("auth_method", e))?,
            history_id: history.as_deref().map(history_id_from_sql).transpose()?,
            history_id_at: opt_time(r.get(6)?),
            backfill_done: backfill == "done",
            last_sync_at: opt_time(r.get(8)?),
            last_error: r.get(9)?,
            last_error_at: opt_time(r.get(10)?),
            watch_expiration: opt_time(r.get(11)?),
            has_refresh_token: r.get(12)?,
            created_at: ms_to_time(r.get(13)?),
        })
    };
    Ok(build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ids_round_trip_across_the_whole_u64_range() {
        for id in [
            0,
            1,
            4_294_967_296,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ] {
            assert_eq!(history_id_from_sql(&history_id_to_sql(id)).unwrap(), id);
        }
        assert!(history_id_from_sql("-1").is_err());
        assert!(history_id_from_sql("18446744073709551616").is_err());
    }
}
