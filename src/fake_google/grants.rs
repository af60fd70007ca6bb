//! Who may get which token: domain-wide-delegation grants per user, OAuth
//! clients, one-time authorization codes, refresh tokens, and the access
//! tokens handed out (opaque strings mapped to user, scopes and expiry).
//! Pure data; the token endpoint (`token`) and the Gmail gate read it.

use std::collections::{BTreeSet, HashMap};

pub(crate) const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub(crate) const GMAIL_COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";

#[derive(Debug, Clone, Default)]
pub(crate) struct UserGrant {
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessGrant {
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) revoked: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Grants {
    pub(crate) users: HashMap<String, UserGrant>,
    pub(crate) tokens: HashMap<String, AccessGrant>,
    pub(crate) clients: HashMap<String, String>,
    pub(crate) codes: HashMap<String, CodeGrant>,
    pub(crate) refresh: HashMap<String, RefreshGrant>,
}

/// Above this many live tokens, expired ones are swept on issue.
const TOKEN_SWEEP_AT: usize = 10_000;

impl Grants {
    pub(crate) fn add_user(&mut self, email: &str) {
        let g = self.users.entry(email.to_ascii_lowercase()).or_default();
        g.scopes = [GMAIL_READONLY, GMAIL_COMPOSE].map(String::from).into();
        g.revoked = false;
    }

    pub(crate) fn set_scopes(&mut self, email: &str, scopes: &[&str]) {
        let g = self.users.entry(email.to_ascii_lowercase()).or_default();
        g.scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    pub(crate) fn revoke_user(&mut self, email: &str) {
        self.users
            .entry(email.to_ascii_lowercase())
            .or_default()
            .revoked = true;
    }

    pub(crate) fn revoke_refresh_tokens(&mut self, user: &str) {
        let user = user.to_ascii_lowercase();
        for r in self.refresh.values_mut().filter(|r| r.user == user) {
            r.revoked = true;
        }
    }

    pub(crate) fn issue(&mut self, token: String, grant: AccessGrant, now_ms: i64) {
        if self.tokens.len() >= TOKEN_SWEEP_AT {
            self.tokens.retain(|_, g| g.expires_ms > now_ms);
        }
        self.tokens.insert(token, grant);
    }

    /// The grant behind a bearer token, if it is known and not expired.
    pub(crate) fn access(&self, token: &str, now_ms: i64) -> Option<&AccessGrant> {
        self.tokens.get(token).filter(|g| g.expires_ms > now_ms)
    }
}

/// Scope strings Google would recognise at all (others → invalid_scope).
pub(crate) fn is_known_scope(scope: &str) -> bool {
    scope.starts_with("https://www.googleapis.com/auth/")
        || scope == "https://mail.google.com/"
        || matches!(scope, "openid" | "email" | "profile")
}
