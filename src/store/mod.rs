//! The store: the only owner of SQL in the crate. SQLite (WAL) via rusqlite,
//! schema by refinery migrations under `migrations/`. Everything else
//! (CLI, HTTP, capture) calls the typed methods here.
//!
//! Concurrency: one writer connection behind a mutex (SQLite allows one
//! writer at a time anyway, and serialising in-process avoids BUSY storms),
//! plus a small pool of read-only connections, which under WAL read
//! concurrently with the writer. Methods are blocking; async code calls
//! them through [`Store::run`], which moves the call onto tokio's blocking
//! pool so a slow query never stalls the runtime.

mod accounts;
pub mod activity;
mod backfill;
mod bodies;
pub mod digest;
mod directory;
pub mod drafts;
mod emails;
mod error;
mod links;
mod migrate;
mod ops;
pub mod proposals;
mod queue;
mod runs;
mod settings;
mod sync;
mod threads;
mod totals;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

pub use accounts::{Account, AccountStatus, EnrollOutcome};
pub use backfill::BackfillCheckpoint;
pub use bodies::{AttachmentRow, AttachmentStatus, BodyRecord};
pub use directory::{
    Directory, DirectoryContact, DirectoryCounts, DirectoryInvestor, DirectoryUser, UserRole,
};
pub use emails::{EmailRecord, ParticipantRow, SavedEmail, SightingRecord};
pub use error::StoreError;
pub use links::{LinkDecision, LinkRow, Linker, RelinkReport};
pub use migrate::{latest_version, AppliedMigration};
pub use ops::OpsCounts;
pub use queue::{FetchKind, FetchSource, QueueCounts, QueueItem};
pub use runs::{MailboxStatus, RunCounts, RunStatus, SyncKind};
pub use settings::AuditEntry;
pub use sync::{NetChange, SightingChanges};
pub use totals::Totals;

use crate::clock::{self, SharedClock};

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections kept open between reads. A read finding none idle
/// opens one, and a connection's first statement parses the whole schema
/// (over a millisecond with V6/V9's triggers): with fewer kept than the
/// capture's gets in flight (8) plus the API's reads, a perf profile of the
/// full-path backfill spent 12% of its time re-parsing the schema.
const MAX_IDLE_READERS: usize = 16;
/// Room for every statement of the store: saving one message alone runs
/// more than rusqlite's default 16, which re-prepared them all each time.
/// (The query planner stability guarantee, QPSG, set on every connection,
/// is the other half: without it SQLite marks any statement with a
/// `col = ?` term as re-plan-on-rebind, and rusqlite's clear_bindings on
/// returning it to the cache then forces a full re-prepare on every use.)
const STATEMENT_CACHE: usize = 128;

/// A handle on the database; cheap to clone (shared inside).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    clock: SharedClock,
    /// Published to after a change commits (SSE stream, metrics).
    events: crate::events::Bus,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// The connection settings in force, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    pub journal_mode: String,
    pub foreign_keys: bool,
    /// 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    pub synchronous: i64,
    pub busy_timeout_ms: i64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to
    /// the latest schema. Wall-clock time comes from the system clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open_with_clock(path, clock::system())
    }

    /// [`Store::open`] with an injected clock (timestamps it writes).
    pub fn open_with_clock(
        path: impl AsRef<Path>,
        clock: SharedClock,
    ) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_writer(&path)?;
        let applied = migrate::run(&mut writer, None)?;
        if !applied.is_empty() {
            tracing::info!(db = %path.display(), ?applied, "database migrated");
        }
        Ok(Store::with_writer(path, writer, clock))
    }

    /// Opens without migrating, for a command running beside the daemon:
    /// the schema must be exactly this binary's, else
    /// [`StoreError::SchemaMismatch`]. A newer binary's command then never
    /// changes the schema under an older daemon, nor writes with an older
    /// binary's idea of it.
    /// `beside` says who holds the data directory and what to do, for the
    /// error.
    pub fn open_current(
        path: impl AsRef<Path>,
        clock: SharedClock,
        beside: &str,
    ) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_writer(&path)?;
        let at = migrate::applied(&mut writer)?
            .last()
            .map_or(0, |m| m.version);
        let needs = migrate::latest_version();
        if at != needs {
            return Err(StoreError::SchemaMismatch {
                at,
                needs,
                beside: beside.to_string(),
            });
        }
        Ok(Store::with_writer(path, writer, clock))
    }

    fn with_writer(path: PathBuf, writer: Connection, clock: SharedClock) -> Store {
        Store {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                clock,
                events: crate::events::Bus::new(),
            }),
        }
    }

    /// Creates or upgrades the database at `path` only up to migration
    /// `version` (for upgrade tests and staged rollouts); returns the
    /// versions applied now. [`Store::open`] later takes it the rest of the way.
    pub fn migrate_to(path: impl AsRef<Path>, version: u32) -> Result<Vec<u32>, StoreError> {
        let mut conn = open_writer(path.as_ref())?;
        migrate::run(&mut conn, Some(version))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Change notifications; publish only after the change committed.
    pub fn events(&self) -> &crate::events::Bus {
        &self.inner.events
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// A cheap round trip through a read connection (health checks). Also
    /// fails when the database file is gone from under us (an open
    /// connection would keep answering from the unlinked file).
    pub fn ping(&self) -> Result<(), StoreError> {
        if !self.inner.path.is_file() {
            let path = self.inner.path.display();
            return Err(StoreError::not_found(format!("database file {path}")));
        }
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .map(|_| ())
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the file is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The writer connection's settings.
    pub fn pragmas(&self) -> Result<Pragmas, StoreError> {
        self.write(|c| {
            let get = |sql: &str| c.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0));
            let int = |v: rusqlite::types::Value| match v {
                rusqlite::types::Value::Integer(i) => i,
                _ => -1,
            };
            let journal_mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            Ok(Pragmas {
                journal_mode,
                foreign_keys: int(get("PRAGMA foreign_keys")?) == 1,
                synchronous: int(get("PRAGMA synchronous")?),
                busy_timeout_ms: int(get("PRAGMA busy_timeout")?),
            })
        })
    }

    /// The migrations recorded as applied, oldest first.
    pub fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        self.write(migrate::applied)
    }

    /// Names of the tables (`sqlite_*` and refinery's own excluded).
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        self.schema_names("table")
    }

    pub fn index_names(&self) -> Result<Vec<String>, StoreError> {
        self.schema_names("index")
    }

    fn schema_names(&self, kind: &'static str) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT name FROM sqlite_schema WHERE type = ?1 AND name NOT LIKE 'sqlite_%' \
                 AND name <> 'refinery_schema_history' ORDER BY name",
            )?;
            let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Runs `f` on the writer connection (one at a time).
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.inner.writer);
        f(&mut conn)
    }

    /// Runs `f` on a pooled read-only connection.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.inner.readers).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(&self.inner.path)?,
        };
        let result = f(&conn);
        let mut idle = lock(&self.inner.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now().timestamp_millis()
    }
}

/// A poisoned lock still guards a usable connection: an interrupted
/// transaction was rolled back when its guard dropped.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    prepare_file(path)?;
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.display().to_string(),
        source,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with a row, so it is read rather than executed.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::invalid(
            "journal mode",
            format!("WAL refused ({mode})"),
        ));
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
        path: path.display().to_string(),
        source,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Creates the parent directory, and the file itself owner-only (0600):
/// it holds mail and encrypted tokens. SQLite gives its -wal/-shm files
/// the database file's mode.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
    }
    Ok(())
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(ms_to_time)
}
