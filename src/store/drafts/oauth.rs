//! OAuth mode's rows: the single-use consent `state` nonces (`oauth_states`,
//! V7) and the mailbox a completed consent connects — enrolled, or switched
//! to OAuth, with its encrypted refresh token — audited in the same
//! transaction.

use rusqlite::{params, OptionalExtension};

use super::super::{Store, StoreError};
use super::audit;

/// Consent states expired this long ago are purged when a new one is made.
const PURGE_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Who started a consent flow, from its consumed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthStateRow {
    pub created_by: String,
    pub login_hint: Option<String>,
}

/// The mailbox a completed consent connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    pub account_id: i64,
    pub email: String,
    /// False when the mailbox was already enrolled (its token replaced).
    pub created: bool,
}

impl Store {
    /// Records a consent state's nonce (and purges long-expired ones).
    pub fn record_oauth_state(
        &self,
        nonce: &str,
        created_by: &str,
        login_hint: Option<&str>,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM oauth_states WHERE expires_at < ?1",
                [now - PURGE_AFTER_MS],
            )?;
            tx.execute(
                "INSERT INTO oauth_states (nonce, created_by, login_hint, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![nonce, created_by, login_hint, now, expires_at_ms],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Uses up a consent state: `Some` exactly once for a known, unexpired
    /// nonce; `None` for unknown, expired or already used ones.
    pub fn consume_oauth_state(&self, nonce: &str) -> Result<Option<OAuthStateRow>, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            Ok(c.query_row(
                "UPDATE oauth_states SET used_at = ?2 \
                 WHERE nonce = ?1 AND used_at IS NULL AND expires_at > ?2 \
                 RETURNING created_by, login_hint",
                params![nonce, now],
                |r| {
                    Ok(OAuthStateRow {
                        created_by: r.get(0)?,
                        login_hint: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Enrolls `email` (lowercase) for OAuth with this encrypted refresh
    /// token, or switches an enrolled mailbox to it (a mailbox in `error`
    /// or `revoked` becomes `active` again: the new grant is the fix).
    pub fn connect_oauth_account(
        &self,
        email: &str,
        refresh_token_enc: &[u8],
        actor: &str,
    ) -> Result<ConnectedAccount, StoreError> {
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM email_accounts WHERE email = ?1",
                    [email],
                    |r| r.get(0),
                )
                .optional()?;
            let user: Option<String> = tx
                .query_row(
                    "SELECT id FROM directory_users WHERE email = ?1",
                    [email],
                    |r| r.get(0),
                )
                .optional()?;
            let (account_id, created) = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE email_accounts SET auth_method = 'oauth', refresh_token_enc = ?2, \
                         crm_user_id = COALESCE(crm_user_id, ?3), \
                         last_error = CASE WHEN status IN ('error', 'revoked') THEN NULL \
                                      ELSE last_error END, \
                         status = CASE WHEN status IN ('error', 'revoked') THEN 'active' \
                                  ELSE status END, \
                         updated_at = ?4 WHERE id = ?1",
                        params![id, refresh_token_enc, user, now],
                    )?;
                    (id, false)
                }
                None => {
                    tx.execute(
                        "INSERT INTO email_accounts (email, crm_user_id, auth_method, \
                         refresh_token_enc, created_at, updated_at) \
                         VALUES (?1, ?2, 'oauth', ?3, ?4, ?4)",
                        params![email, user, refresh_token_enc, now],
                    )?;
                    (tx.last_insert_rowid(), true)
                }
            };
            let details = serde_json::json!({
                "account_id": account_id.to_string(),
                "created": created,
                "auth_method": "oauth",
            });
            audit(&tx, now, actor, "account.oauth_connect", email, &details)?;
            tx.commit()?;
            Ok(ConnectedAccount {
                account_id,
                email: email.to_string(),
                created,
            })
        })
    }
}
