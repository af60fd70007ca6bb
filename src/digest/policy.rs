//! The digest policy `{enabled, send_hour}` (SPEC §10) in `app_settings`
//! under `digest_policy`. The database wins: the `CRM_DIGEST_ENABLED` /
//! `CRM_DIGEST_SEND_HOUR` settings only seed it on first boot, and the
//! scheduler reads it on every tick so a PATCH applies without a restart.

use serde::{Deserialize, Serialize};

use crate::config::DigestConfig;
use crate::store::{Store, StoreError};

/// The `app_settings` key.
pub const POLICY_KEY: &str = "digest_policy";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestPolicy {
    pub enabled: bool,
    /// Local hour (0..=23) at or after which the day's digest goes out.
    pub send_hour: u32,
}

impl Default for DigestPolicy {
    fn default() -> Self {
        DigestPolicy {
            enabled: false,
            send_hour: 18,
        }
    }
}

impl DigestPolicy {
    /// The first-boot seed from configuration (its defaults are `{false, 18}`).
    pub fn from_config(c: &DigestConfig) -> DigestPolicy {
        DigestPolicy {
            enabled: c.enabled,
            send_hour: c.send_hour.min(23),
        }
    }
}

/// A PATCH: either field may be absent. Unknown fields and wrong types are
/// refused by the HTTP layer's JSON extractor (422).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    pub enabled: Option<bool>,
    pub send_hour: Option<u32>,
}

impl PolicyPatch {
    /// The patched policy, or why the patch is invalid.
    pub fn apply(self, to: DigestPolicy) -> Result<DigestPolicy, String> {
        if let Some(h) = self.send_hour {
            if h > 23 {
                return Err(format!("send_hour must be between 0 and 23, not {h}"));
            }
        }
        Ok(DigestPolicy {
            enabled: self.enabled.unwrap_or(to.enabled),
            send_hour: self.send_hour.unwrap_or(to.send_hour),
        })
    }
}

impl Store {
    /// Writes the configuration's seed if no policy is stored yet.
    pub fn seed_digest_policy(&self, seed: &DigestConfig) -> Result<bool, StoreError> {
        self.seed_setting(POLICY_KEY, &DigestPolicy::from_config(seed))
    }

    /// The stored policy; `{false, 18}` when none is stored (or it is unreadable,
    /// which is logged: a broken row must not start sending).
    pub fn digest_policy(&self) -> Result<DigestPolicy, StoreError> {
        match self.setting::<DigestPolicy>(POLICY_KEY) {
            Ok(p) => Ok(p.unwrap_or_default()),
            Err(StoreError::Corrupt { message, .. }) => {
                tracing::error!(%message, "stored digest policy unreadable; digest off");
                Ok(DigestPolicy::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces the policy and records who did it in the audit log.
    pub fn set_digest_policy(
        &self,
        policy: &DigestPolicy,
        actor: &str,
        before: &DigestPolicy,
    ) -> Result<(), StoreError> {
        self.set_setting(POLICY_KEY, policy, Some(actor))?;
        let details = serde_json::json!({"before": before, "after": policy});
        self.append_audit(actor, "digest.policy", Some(POLICY_KEY), &details)?;
        Ok(())
    }
}
