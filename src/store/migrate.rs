//! Schema migrations: the SQL files under `migrations/`, embedded at build
//! time and applied forward-only by refinery (`refinery_schema_history`).

use refinery::Target;
use rusqlite::Connection;

use super::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// One applied migration, as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: u32,
    pub name: String,
}

/// The newest migration this build knows.
pub fn latest_version() -> u32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version() as u32)
        .max()
        .unwrap_or(0)
}

/// Applies pending migrations up to `target` (`None` = all). Returns the
/// versions applied now (empty when the schema was already current).
pub(super) fn run(conn: &mut Connection, target: Option<u32>) -> Result<Vec<u32>, StoreError> {
    let runner = embedded::migrations::runner().set_target(match target {
        Some(v) => Target::Version(v as _),
        None => Target::Latest,
    });
    let report = runner.run(conn)?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.version() as u32)
        .collect())
}

pub(super) fn applied(conn: &mut Connection) -> Result<Vec<AppliedMigration>, StoreError> {
    let applied = embedded::migrations::runner().get_applied_migrations(conn)?;
    Ok(applied
        .iter()
        .map(|m| AppliedMigration {
            version: m.version() as u32,
            name: m.name().to_string(),
        })
        .collect())
}
