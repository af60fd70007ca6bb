//! `email-sidecar check` (SPEC §4): shows every configuration key (secret
//! values only as set/unset), validates the modes of the secret files, the
//! database (opens, migrates, `integrity_check`), mints one Gmail token per
//! enrolled mailbox at the configured token URI and calls `getProfile` with
//! it, connects to SMTP (EHLO, STARTTLS and AUTH as configured) and reaches
//! the LLM endpoint when those are configured ([`endpoints`]). Each check is
//! a named row; the command exits 1 if any row failed, so an operator (or a
//! deploy script) sees exactly which mailbox or endpoint is broken.

mod endpoints;

use crate::clock::SharedClock;
use crate::config::{self, Config, ConfigError};
use crate::google::auth::scopes;
use crate::google::gmail::GmailClient;
use crate::google::setup;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone)]
pub struct CheckRow {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl CheckRow {
    pub fn new(name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome,
            detail: detail.into(),
        }
    }

    pub fn from_result<E: std::fmt::Display>(
        name: impl Into<String>,
        r: Result<String, E>,
    ) -> Self {
        match r {
            Ok(detail) => Self::new(name, Outcome::Pass, detail),
            Err(e) => Self::new(name, Outcome::Fail, e.to_string()),
        }
    }
}

/// The pass/fail table, and whether every row passed or was skipped.
pub fn render(rows: &[CheckRow]) -> (String, bool) {
    let mut out = format!("{:<44} {:<7} DETAIL\n", "CHECK", "RESULT");
    for row in rows {
        let mark = match row.outcome {
            Outcome::Pass => "✓ pass",
            Outcome::Fail => "✗ FAIL",
            Outcome::Skip => "- skip",
        };
        let detail = row.detail.replace('\n', &format!("\n{:53}", ""));
        out.push_str(&format!("{:<44} {mark:<7} {detail}\n", row.name));
    }
    let failed = rows.iter().filter(|r| r.outcome == Outcome::Fail).count();
    if failed > 0 {
        out.push_str(&format!("{failed} check(s) failed\n"));
    } else {
        out.push_str("all checks passed\n");
    }
    (out, failed == 0)
}

/// Every check, in order; later checks are skipped when what they need failed.
/// `source` says where the configuration came from, for the first row.
pub async fn run(
    config: Result<Config, ConfigError>,
    source: &str,
    clock: SharedClock,
) -> Vec<CheckRow> {
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            let skipped = "skipped: the configuration is invalid";
            return vec![
                CheckRow::new("config", Outcome::Fail, e.to_string()),
                CheckRow::new("database", Outcome::Skip, skipped),
            ];
        }
    };
    let mut rows = vec![CheckRow::new("config", Outcome::Pass, source)];
    rows.extend(config::describe(&config).into_iter().map(|(key, shown)| {
        let name = format!("  {}", key.env);
        CheckRow::new(name, Outcome::Pass, format!("{} = {shown}", key.toml))
    }));
    for (key, file) in config.secret_files() {
        let r = config::check_secret_file(key, file)
            .map(|()| format!("{} (owner-only)", file.display()));
        rows.push(CheckRow::from_result(format!("secret {}", key.env), r));
    }
    let store = match crate::instance::open_store_beside_daemon(&config, "check", clock.clone()) {
        Ok(s) => s,
        Err(e) => {
            let detail = format!("cannot open {}: {e}", config.db_path().display());
            rows.push(CheckRow::new("database", Outcome::Fail, detail));
            return rows;
        }
    };
    rows.extend(database_rows(&store));
    rows.extend(token_rows(&config, &store, clock).await);
    rows.extend(endpoints::smtp_row(&config).await);
    rows.extend(endpoints::llm_row(&config).await);
    rows
}

fn database_rows(store: &Store) -> Vec<CheckRow> {
    let version = store
        .applied_migrations()
        .map(|m| m.last().map_or(0, |m| m.version));
    let integrity =
        store
            .integrity_check()
            .map_err(|e| e.to_string())
            .and_then(|lines| match lines.as_slice() {
                [ok] if ok == "ok" => Ok("ok".to_string()),
                _ => Err(lines.join("; ")),
            });
    vec![
        CheckRow::from_result(
            "database opens and migrates",
            version.map(|v| format!("{} at schema V{v}", store.path().display())),
        ),
        CheckRow::from_result("database integrity_check", integrity),
    ]
}

/// One row per enrolled mailbox: can we mint its `gmail.readonly` token?
async fn token_rows(config: &Config, store: &Store, clock: SharedClock) -> Vec<CheckRow> {
    let accounts = match store.list_accounts() {
        Ok(a) if a.is_empty() => {
            return vec![CheckRow::new(
                "enrolled mailboxes",
                Outcome::Skip,
                "none enrolled yet",
            )]
        }
        Ok(a) => a,
        Err(e) => {
            return vec![CheckRow::new(
                "enrolled mailboxes",
                Outcome::Fail,
                e.to_string(),
            )]
        }
    };
    let (provider, broken) = match setup::token_provider(config, store, &accounts, clock) {
        Ok(p) => p,
        Err(why) => {
            return accounts
                .iter()
                .map(|a| CheckRow::new(format!("token {}", a.email), Outcome::Fail, &why))
                .collect()
        }
    };
    let gmail = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map(|http| GmailClient::new(setup::gmail_settings(config), provider.clone(), http));
    let mut rows = Vec::with_capacity(accounts.len() * 2);
    for account in &accounts {
        let name = format!("token {}", account.email);
        if let Some(why) = broken.get(&account.email) {
            rows.push(CheckRow::new(name, Outcome::Fail, why));
            continue;
        }
        let minted = provider
            .token(&account.email, &[scopes::GMAIL_READONLY])
            .await
            .map(|t| {
                format!(
                    "gmail.readonly token, valid until {}",
                    t.expires_at.to_rfc3339()
                )
            });
        let ok = minted.is_ok();
        rows.push(CheckRow::from_result(
            format!("token {}", account.email),
            minted,
        ));
        let profile = format!("gmail profile {}", account.email);
        match (&gmail, ok) {
            (Ok(gmail), true) => rows.push(profile_row(gmail, &account.email, profile).await),
            (Err(e), true) => rows.push(CheckRow::new(profile, Outcome::Fail, e.to_string())),
            (_, false) => rows.push(CheckRow::new(profile, Outcome::Skip, "no token")),
        }
    }
    rows
}

/// `users.getProfile` with the token just minted (1 quota unit).
async fn profile_row(gmail: &GmailClient, mailbox: &str, name: String) -> CheckRow {
    let r = gmail.get_profile(mailbox).await.map(|p| {
        format!(
            "{} messages, historyId {}",
            p.messages_total, p.history_id.0
        )
    });
    CheckRow::from_result(name, r)
}
