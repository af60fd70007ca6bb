//! The CRM's directory (SPEC §11 shape): users, investors with their
//! domains, contacts, and the "never log" exclusions. Pushed by the CRM and
//! replaced atomically as a whole; read by auth (roles) and matching.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::config::normalize_mailbox;

/// The whole directory as the CRM pushes it (`PUT /api/email/directory`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    #[serde(default)]
    pub investors: Vec<DirectoryInvestor>,
    #[serde(default)]
    pub contacts: Vec<DirectoryContact>,
    /// Addresses (with `@`) or whole domains never to log.
    #[serde(default)]
    pub exclusions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Admin,
    Member,
    Bot,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Bot => "bot",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub name: String,
    pub role: UserRole,
    #[serde(default = "default_true")]
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryInvestor {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub graveyard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryContact {
    pub id: String,
    pub investor_id: String,
    pub email: String,
    #[serde(default)]
    pub name: String,
}

/// What a replace stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryCounts {
    pub users: usize,
    pub investors: usize,
    pub contacts: usize,
    pub domains: usize,
    pub exclusions: usize,
}

fn default_true() -> bool {
    true
}

impl Store {
    /// Replaces the whole directory in one transaction: readers see the old
    /// one or the new one, never a mix. Addresses and domains are stored
    /// lowercase, domains in their ASCII (punycode) form.
    pub fn replace_directory(&self, dir: &Directory) -> Result<DirectoryCounts, StoreError> {
        let clean = normalize(dir)?;
        let now = self.now_ms();
        self.write(|c| {
            let tx = c.transaction()?;
            tx.execute_batch(
                "DELETE FROM directory_contacts; DELETE FROM directory_investor_domains; \
                 DELETE FROM directory_investors; DELETE FROM directory_users; \
                 DELETE FROM directory_exclusions;",
            )?;
            let counts = insert_all(&tx, &clean)?;
            tx.execute(
                "INSERT INTO app_settings (key, value_json, updated_at) \
                 VALUES ('directory_generation', '1', ?1) ON CONFLICT (key) DO UPDATE SET \
                 value_json = CAST(CAST(value_json AS INTEGER) + 1 AS TEXT), updated_at = ?1",
                [now],
            )?;
            tx.commit()?;
            Ok(counts)
        })
    }

    /// Bumped by every [`Store::replace_directory`]: a sync that linked
    /// with an older directory compares it at its end and relinks, so mail
    /// saved while a push was being applied is never left linked to the
    /// directory it replaced.
    pub fn directory_generation(&self) -> Result<u64, StoreError> {
        Ok(self.setting::<u64>("directory_generation")?.unwrap_or(0))
    }

    /// The directory as stored (normalized), each list ordered by id.
    pub fn directory(&self) -> Result<Directory, StoreError> {
        let users = self.list_directory_users()?;
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, graveyard, (SELECT group_concat(domain, ',') FROM \
                 (SELECT domain FROM directory_investor_domains d WHERE d.investor_id = i.id \
                 ORDER BY domain)) FROM directory_investors i ORDER BY id",
            )?;
            let investors = stmt
                .query_map([], |r| {
                    let domains: Option<String> = r.get(3)?;
                    Ok(DirectoryInvestor {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        graveyard: r.get(2)?,
                        domains: domains
                            .map(|d| d.split(',').map(str::to_string).collect())
                            .unwrap_or_default(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare(
                "SELECT id, investor_id, email, name FROM directory_contacts ORDER BY id",
            )?;
            let contacts = stmt
                .query_map([], |r| {
                    Ok(DirectoryContact {
                        id: r.get(0)?,
                        investor_id: r.get(1)?,
                        email: r.get(2)?,
                        name: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare("SELECT value FROM directory_exclusions ORDER BY value")?;
            let exclusions = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(Directory {
                users,
                investors,
                contacts,
                exclusions,
            })
        })
    }

    /// The CRM's users (any status), by id.
    pub fn list_directory_users(&self) -> Result<Vec<DirectoryUser>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, email, name, role, active FROM directory_users ORDER BY id")?;
            let rows = stmt.query_map([], row_to_user)?;
            rows.map(|r| r?).collect()
        })
    }

    /// The user with this address (case-insensitive), if any.
    pub fn directory_user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<DirectoryUser>, StoreError> {
        let email = email.trim().to_ascii_lowercase();
        self.read(|c| {
            c.query_row(
                "SELECT id, email, name, role, active FROM directory_users WHERE email = ?1",
                [email],
                row_to_user,
            )
            .optional()?
            .transpose()
        })
    }
}

fn row_to_user(r: &Row<'_>) -> rusqlite::Result<Result<DirectoryUser, StoreError>> {
    let role: String = r.get(3)?;
    let user = DirectoryUser {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: UserRole::Member,
        active: r.get(4)?,
    };
    let role = match role.as_str() {
        "admin" => UserRole::Admin,
        "member" => UserRole::Member,
        "bot" => UserRole::Bot,
        other => return Ok(Err(StoreError::corrupt("directory user role", other))),
    };
    Ok(Ok(DirectoryUser { role, ..user }))
}

fn insert_all(tx: &Transaction<'_>, d: &Directory) -> Result<DirectoryCounts, StoreError> {
    let mut counts = DirectoryCounts::default();
    for u in &d.users {
        tx.execute(
            "INSERT INTO directory_users (id, email, name, role, active) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![u.id, u.email, u.name, u.role.as_str(), u.active],
        )?;
        counts.users += 1;
    }
    for i in &d.investors {
        tx.execute(
            "INSERT INTO directory_investors (id, name, graveyard) VALUES (?1, ?2, ?3)",
            params![i.id, i.name, i.graveyard],
        )?;
        counts.investors += 1;
        for domain in &i.domains {
            counts.domains += tx.execute(
                "INSERT OR IGNORE INTO directory_investor_domains (investor_id, domain) VALUES (?1, ?2)",
                params![i.id, domain],
            )?;
        }
    }
    for ct in &d.contacts {
        tx.execute(
            "INSERT INTO directory_contacts (id, investor_id, email, name) VALUES (?1, ?2, ?3, ?4)",
            params![ct.id, ct.investor_id, ct.email, ct.name],
        )?;
        counts.contacts += 1;
    }
    for value in &d.exclusions {
        let kind = if value.contains('@') {
            "address"
        } else {
            "domain"
        };
        counts.exclusions += tx.execute(
            "INSERT OR IGNORE INTO directory_exclusions (value, kind) VALUES (?1, ?2)",
            params![value, kind],
        )?;
    }
    Ok(counts)
}

/// Validates and canonicalises a pushed directory, naming the first bad item.
fn normalize(d: &Directory) -> Result<Directory, StoreError> {
    let bad = |what: &str, msg: String| StoreError::invalid(format!("directory {what}"), msg);
    let mut out = d.clone();
    let mut seen = HashSet::new();
    for u in &mut out.users {
        u.email = normalize_mailbox(&u.email)
            .ok_or_else(|| bad("user", format!("{}: bad email {:?}", u.id, u.email)))?;
        if !seen.insert(u.email.clone()) {
            return Err(bad(
                "user",
                format!("{}: duplicate email {}", u.id, u.email),
            ));
        }
    }
    let mut investor_ids = HashSet::new();
    for i in &mut out.investors {
        investor_ids.insert(i.id.clone());
        for domain in &mut i.domains {
            *domain = normalize_domain(domain)
                .ok_or_else(|| bad("investor", format!("{}: bad domain {domain:?}", i.id)))?;
        }
    }
    for ct in &mut out.contacts {
        if !investor_ids.contains(&ct.investor_id) {
            let msg = format!("{}: unknown investor_id {:?}", ct.id, ct.investor_id);
            return Err(bad("contact", msg));
        }
        ct.email = normalize_address(&ct.email)
            .ok_or_else(|| bad("contact", format!("{}: bad email {:?}", ct.id, ct.email)))?;
    }
    for value in &mut out.exclusions {
        let clean = if value.contains('@') {
            normalize_address(value)
        } else {
            normalize_domain(value)
        };
        *value = clean.ok_or_else(|| bad("exclusion", format!("{value:?}")))?;
    }
    Ok(out)
}

/// Lowercase ASCII form of a domain (IDN → punycode), without a leading `@`.
pub(crate) fn normalize_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_start_matches('@').trim_end_matches('.');
    match url::Host::parse(d).ok()? {
        url::Host::Domain(ascii) if ascii.contains('.') => Some(ascii.to_ascii_lowercase()),
        _ => None,
    }
}

/// `local@domain` with the local part kept as written (lowercased; plus-tags
/// and dots stay) and the domain canonicalised.
pub(crate) fn normalize_address(a: &str) -> Option<String> {
    let (local, domain) = a.trim().rsplit_once('@')?;
    if local.is_empty() || local.chars().any(char::is_whitespace) {
        return None;
    }
    Some(format!(
        "{}@{}",
        local.to_lowercase(),
        normalize_domain(domain)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_addresses_are_canonicalised() {
        assert_eq!(
            normalize_domain("@Bücher.DE").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(normalize_domain("localhost"), None);
        assert_eq!(
            normalize_address(" First.Last+tag@Acme.COM ").as_deref(),
            Some("first.last+tag@acme.com")
        );
        assert_eq!(normalize_address("no-at-sign"), None);
    }
}
