//! Configuration errors: every message names the key (env name and TOML
//! key) and what was expected, so an operator can fix start-up in one go.
//! Secret values never appear here; only paths and modes do.

use std::path::PathBuf;

use super::keys::Key;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", .path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", .path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("config file {}: unknown key `{key}`{hint}", .path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        hint: String,
    },
    #[error("{} ({}): expected {expected}, got {got:?}", .key.env, .key.toml)]
    Invalid {
        key: Key,
        expected: String,
        got: String,
    },
    #[error("{} ({}): required {when}", .key.env, .key.toml)]
    Missing { key: Key, when: String },
    #[error(
        "{} ({}): secret file {} is readable by group or others (mode {mode:04o}); \
         run `chmod 600 {}`",
        .key.env, .key.toml, .path.display(), .path.display()
    )]
    InsecureSecret { key: Key, path: PathBuf, mode: u32 },
    #[error("{} ({}): secret file {}: {reason}", .key.env, .key.toml, .path.display())]
    SecretFile {
        key: Key,
        path: PathBuf,
        reason: String,
    },
    #[error("{} configuration problems:\n{}", .0.len(), list(.0))]
    Many(Vec<ConfigError>),
}

fn list(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// The keys this error is about (all of them for [`ConfigError::Many`]).
    pub fn keys(&self) -> Vec<Key> {
        match self {
            Self::Invalid { key, .. }
            | Self::Missing { key, .. }
            | Self::InsecureSecret { key, .. }
            | Self::SecretFile { key, .. } => vec![*key],
            Self::Many(all) => all.iter().flat_map(|e| e.keys()).collect(),
            Self::ReadFile { .. } | Self::Syntax { .. } | Self::UnknownKey { .. } => vec![],
        }
    }

    /// One error, or all of them when several keys are wrong.
    pub(crate) fn from_list(mut errors: Vec<ConfigError>) -> Option<ConfigError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Self::Many(errors)),
        }
    }
}
