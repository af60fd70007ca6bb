//! Reads raw values for [`Key`]s (environment first, then the TOML file) and
//! parses them into typed values, collecting every problem instead of
//! stopping at the first, so one start-up attempt reports all of them.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::ConfigError;
use super::keys::{self, Key};
use crate::secret::Secret;

/// The environment lookup the loader uses (`std::env::var` in production, a
/// map in tests).
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) struct Reader<'a> {
    file: BTreeMap<String, toml::Value>,
    env: EnvFn<'a>,
    pub(super) errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(path: Option<&Path>, env: EnvFn<'a>) -> Result<Self, ConfigError> {
        let mut reader = Reader {
            file: BTreeMap::new(),
            env,
            errors: Vec::new(),
        };
        if let Some(path) = path {
            reader.file = read_file(path)?;
            reader.check_unknown_keys(path);
        }
        Ok(reader)
    }

    fn check_unknown_keys(&mut self, path: &Path) {
        for name in self.file.keys() {
            let known = keys::ALL.iter().find(|k| k.toml == name);
            let hint = match known {
                Some(k) if k.in_file => continue,
                Some(k) => format!(
                    " (a secret value: set {} in the environment, or use a *_path key)",
                    k.env
                ),
                None => " (every key is listed in config/email-sidecar.toml)".to_string(),
            };
            self.errors.push(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: name.clone(),
                hint,
            });
        }
    }

    /// The raw text for a key: env wins over the file; blank means unset.
    pub(super) fn raw(&self, key: Key) -> Option<String> {
        let value = (self.env)(key.env).or_else(|| self.file.get(key.toml).map(file_text))?;
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }

    pub(super) fn invalid(&mut self, key: Key, expected: impl Into<String>, got: &str) {
        self.errors.push(ConfigError::Invalid {
            key,
            expected: expected.into(),
            got: got.to_string(),
        });
    }

    /// Parses with `parse`; on failure records "expected `expected`".
    pub(super) fn parsed<T>(
        &mut self,
        key: Key,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = self.raw(key)?;
        let value = parse(&raw);
        if value.is_none() {
            self.invalid(key, expected, &raw);
        }
        value
    }

    pub(super) fn string(&mut self, key: Key) -> Option<String> {
        self.raw(key)
    }

    pub(super) fn bool(&mut self, key: Key, default: bool) -> bool {
        self.parsed(key, "true or false", parse_bool)
            .unwrap_or(default)
    }

    pub(super) fn number<T>(&mut self, key: Key, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let expected = format!("an integer {}..={}", range.start(), range.end());
        self.parsed(key, &expected, |s| {
            s.parse::<T>().ok().filter(|v| range.contains(v))
        })
        .unwrap_or(default)
    }

    /// An absolute http(s) URL, returned without a trailing slash.
    pub(super) fn url(&mut self, key: Key) -> Option<String> {
        self.parsed(key, "an http:// or https:// URL", |s| {
            let url = url::Url::parse(s).ok()?;
            let ok = matches!(url.scheme(), "http" | "https") && url.host().is_some();
            ok.then(|| s.trim_end_matches('/').to_string())
        })
    }

    pub(super) fn path(&mut self, key: Key) -> Option<PathBuf> {
        self.raw(key).map(PathBuf::from)
    }

    /// Records "required `when`" if `value` is missing.
    pub(super) fn require<T>(&mut self, key: Key, value: Option<T>, when: &str) -> Option<T> {
        if value.is_none() {
            self.errors.push(ConfigError::Missing {
                key,
                when: when.to_string(),
            });
        }
        value
    }

    /// Reads a secret file after checking that only its owner can read it.
    pub(super) fn secret_file(&mut self, key: Key, path: &Path) -> Option<Secret<String>> {
        let result = check_secret_file(key, path).and_then(|()| {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
                key,
                path: path.to_path_buf(),
                reason: format!("cannot read it: {e}"),
            })?;
            if text.trim().is_empty() {
                return Err(ConfigError::SecretFile {
                    key,
                    path: path.to_path_buf(),
                    reason: "the file is empty".to_string(),
                });
            }
            Ok(Secret::new(text))
        });
        result.map_err(|e| self.errors.push(e)).ok()
    }
}

/// Refuses a secret file that is missing, not a regular file, or readable
/// by group or others (`mode & 0o077 != 0`).
pub fn check_secret_file(key: Key, path: &Path) -> Result<(), ConfigError> {
    let meta = std::fs::metadata(path).map_err(|e| ConfigError::SecretFile {
        key,
        path: path.to_path_buf(),
        reason: format!("cannot read it: {e}"),
    })?;
    if !meta.is_file() {
        return Err(ConfigError::SecretFile {
            key,
            path: path.to_path_buf(),
            reason: "not a regular file".to_string(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::InsecureSecret {
            key,
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<BTreeMap<String, toml::Value>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut flat = BTreeMap::new();
    flatten("", table, &mut flat);
    Ok(flat)
}

fn flatten(prefix: &str, table: toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (name, value) in table {
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full, inner, out),
            other => {
                out.insert(full, other);
            }
        }
    }
}

/// A file value as the text the typed parsers read, so file and env values
/// go through the same validation and the same error messages.
fn file_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}
