//! Errors at the store boundary, with the predicates callers branch on.

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot prepare the data directory {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
    #[error("stored {what} is malformed: {message}")]
    Corrupt { what: String, message: String },
    #[error("database task failed: {0}")]
    Task(String),
    /// Opened beside a running daemon ([`super::Store::open_current`]),
    /// whose schema this binary may not change.
    #[error(
        "the database is at schema version {at} and this binary's is {needs}; it is not \
         migrated while {beside}"
    )]
    SchemaMismatch { at: u32, needs: u32, beside: String },
}

impl StoreError {
    /// SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock past
    /// the busy timeout; trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        let code = match self {
            Self::Sqlite(e) | Self::Open { source: e, .. } => e.sqlite_error_code(),
            _ => None,
        };
        matches!(
            code,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// A UNIQUE/CHECK/FOREIGN KEY violation: the input conflicts with data.
    pub fn is_constraint(&self) -> bool {
        match self {
            Self::Sqlite(e) => e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation),
            _ => false,
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Corrupt {
            what: what.into(),
            message: message.into(),
        }
    }
}
