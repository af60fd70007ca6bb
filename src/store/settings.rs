//! `app_settings` (JSON values such as `digest_policy`) and the append-only
//! `audit_log` (who did what, when).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ms_to_time, Store, StoreError};

/// One audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The acting user's address, `service`, `cli` or `system`.
    pub actor: String,
    /// e.g. `account.enroll`, `proposal.decide`, `directory.replace`.
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
}

impl Store {
    /// A setting's JSON value, if set.
    pub fn setting_json(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = self.read(|c| {
            Ok(c.query_row(
                "SELECT value_json FROM app_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::corrupt(format!("setting {key}"), e.to_string()))
        })
        .transpose()
    }

    /// A setting decoded as `T`, if set.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.setting_json(key)?
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| StoreError::corrupt(format!("setting {key}"), e.to_string()))
            })
            .transpose()
    }

    /// Sets (inserts or replaces) a setting.
    pub fn set_setting<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        updated_by: Option<&str>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value)
            .map_err(|e| StoreError::invalid(format!("setting {key}"), e.to_string()))?;
        let now = self.now_ms();
        self.write(|c| {
            c.execute(
                "INSERT INTO app_settings (key, value_json, updated_at, updated_by) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET \
                 value_json = excluded.value_json, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
                params![key, json, now, updated_by],
            )?;
            Ok(())
        })
    }

    /// Sets a setting only if it has no value yet (first-boot seeding);
    /// returns whether it was written.
    pub fn seed_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<bool, StoreError> {
        let json = serde_json::to_string(value)
            .map_err(|e| StoreError::invalid(format!("setting {key}"), e.to_string()))?;
        let now = self.now_ms();
        self.write(|c| {
            let n = c.execute(
                "INSERT INTO app_settings (key, value_json, updated_at, updated_by) \
                 VALUES (?1, ?2, ?3, 'seed') ON CONFLICT (key) DO NOTHING",
                params![key, json, now],
            )?;
            Ok(n == 1)
        })
    }

    /// Appends an audit row; returns its id.
    pub fn append_audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        details: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let now = self.now_ms();
        let details = details.to_string();
        self.write(|c| {
            c.execute(
                "INSERT INTO audit_log (at, actor, action, target, details_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now, actor, action, target, details],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// The newest `limit` audit rows, newest first.
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, at, actor, action, target, details_json FROM audit_log \
                 ORDER BY at DESC, id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                let details: String = r.get(5)?;
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: ms_to_time(r.get(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
