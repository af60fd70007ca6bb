//! One process at a time acts on a data directory. `serve` and `demo` hold
//! [`InstanceLock`] for their lifetime; the commands that would race them
//! (`digest send`, `rotate-key`, `sync`, `migrate`) hold it for their
//! duration and are refused while a daemon runs. `check`, `digest
//! preview`, `enroll` and `directory load` run beside a daemon (they only
//! read, or write in transactions that SQLite serialises with the
//! daemon's): they hold the lock only while opening, and so migrating, the
//! database, and beside a daemon open it without migrating
//! ([`open_store_beside_daemon`]).
//!
//! The lock is an exclusive advisory `flock` on
//! `<data_dir>/email-sidecar.lock` (0600). The kernel releases it when the
//! process dies, even by SIGKILL, so there is never a stale lock to clean
//! up. The file's content (pid, command, start time) is only there so a
//! refusal can name the holder. Talks to the filesystem only; `main.rs`
//! and [`crate::demo`] take the lock.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

/// The lock file's name inside the data directory.
pub const LOCK_FILE_NAME: &str = "email-sidecar.lock";

/// Who takes the lock, and so what a refusal advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Serve,
    Demo,
    DigestSend,
    RotateKey,
    Sync,
    Migrate,
    /// A command that may run beside the daemon (`enroll`, `check`, …),
    /// holding the lock only while it opens, and so may migrate, the
    /// database; beside a daemon it opens without migrating.
    Open(&'static str),
}

impl Role {
    /// The command as typed after `email-sidecar`.
    pub fn command(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Demo => "demo",
            Role::DigestSend => "digest send",
            Role::RotateKey => "rotate-key",
            Role::Sync => "sync",
            Role::Migrate => "migrate",
            Role::Open(command) => command,
        }
    }

    /// What to do instead while a daemon holds the directory.
    fn advice_against_daemon(self) -> &'static str {
        match self {
            Role::Serve | Role::Demo => "only one daemon may run on a data directory",
            Role::DigestSend => "stop it first, or use POST /api/email/digest/send-now",
            Role::Sync => "stop it first, or use POST /api/email/sync/run-now",
            Role::RotateKey => "stop it first: it keeps the current key in memory",
            Role::Migrate => {
                "stop it first; the daemon migrates the database itself when it starts"
            }
            Role::Open(_) => "the database is opened without migrating it",
        }
    }
}

/// The holder of a lock, as its file describes it. Every field is `None`
/// when the file could not be read or the holder had not yet written it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    /// The command it runs (`serve`, `digest send`, …).
    pub command: Option<String>,
    /// When it took the lock (RFC 3339, UTC).
    pub since: Option<String>,
}

impl Holder {
    fn is_daemon(&self) -> bool {
        matches!(self.command.as_deref(), Some("serve" | "demo"))
    }

    fn parse(text: &str) -> Holder {
        let mut holder = Holder::default();
        for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
            let value = value.trim().to_string();
            match key.trim() {
                "pid" => holder.pid = value.parse().ok(),
                "command" => holder.command = Some(value),
                "since" => holder.since = Some(value),
                _ => {}
            }
        }
        holder
    }

    fn render(&self) -> String {
        let mut text = String::new();
        for (key, value) in [
            ("pid", self.pid.map(|p| p.to_string())),
            ("command", self.command.clone()),
            ("since", self.since.clone()),
        ] {
            if let Some(v) = value {
                text.push_str(&format!("{key}={v}\n"));
            }
        }
        text
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command.as_deref() {
            Some("serve") => f.write_str("the daemon")?,
            Some("demo") => f.write_str("the demo")?,
            Some(other) => write!(f, "`email-sidecar {other}`")?,
            None => f.write_str("another email-sidecar process")?,
        }
        match (self.pid, &self.since) {
            (Some(pid), Some(since)) => write!(f, " (pid {pid}, since {since})"),
            (Some(pid), None) => write!(f, " (pid {pid})"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error("{holder} holds {}: {advice}", .path.display())]
    Held {
        path: PathBuf,
        holder: Holder,
        advice: &'static str,
    },
    /// The data directory or the lock file could not be created or locked.
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The data directory's single-instance lock; released on drop (or when
/// the process dies).
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock of `data_dir` (created if missing, as the store
    /// would) for `role`, or says who holds it. Never waits.
    pub fn acquire(
        data_dir: &Path,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<InstanceLock, LockError> {
        let path = data_dir.join(LOCK_FILE_NAME);
        let file = match open_and_lock(data_dir, &path) {
            Ok(Some(file)) => file,
            Ok(None) => {
                let holder = read_holder(&path);
                let advice = if holder.is_daemon() {
                    role.advice_against_daemon()
                } else {
                    "wait for it to finish"
                };
                return Err(LockError::Held {
                    path,
                    holder,
                    advice,
                });
            }
            Err(source) => return Err(LockError::Io { path, source }),
        };
        let me = Holder {
            pid: Some(std::process::id()),
            command: Some(role.command().to_string()),
            since: Some(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
        };
        let mut lock = InstanceLock { file, path };
        if let Err(source) = lock.describe(&me) {
            let path = lock.path.clone();
            return Err(LockError::Io { path, source });
        }
        Ok(lock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn describe(&mut self, holder: &Holder) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.write_all(holder.render().as_bytes())
    }
}

impl Drop for InstanceLock {
    /// Empties the file while still holding the lock, so the next reader
    /// never takes a finished process for the holder. (A SIGKILLed holder
    /// leaves its text; the next one to lock overwrites it.)
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// The locked file, or `None` when another open file description holds
/// the lock (another process, or another open in this one).
fn open_and_lock(data_dir: &Path, path: &Path) -> io::Result<Option<File>> {
    std::fs::create_dir_all(data_dir)?;
    // No truncation at open: the file may describe a live holder.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    give_to_dir_owner(&file, data_dir);
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// A lock file first made by root (a command run by hand with the service
/// stopped) would lock the service's own user out of it for good: systemd
/// re-owns `StateDirectory` only when the directory itself is wrong. So
/// the file belongs to whoever owns the data directory. Best effort: a
/// process that may not chown keeps its own file, which is then its user's.
fn give_to_dir_owner(file: &File, data_dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Ok(dir), Ok(own)) = (std::fs::metadata(data_dir), file.metadata()) else {
        return;
    };
    if (own.uid(), own.gid()) != (dir.uid(), dir.gid()) {
        let _ = std::os::unix::fs::fchown(file, Some(dir.uid()), Some(dir.gid()));
    }
}

/// The holder's description. It writes it just after locking, so a file
/// still empty is read again briefly before giving up on naming it.
fn read_holder(path: &Path) -> Holder {
    for _ in 0..5 {
        let holder = Holder::parse(&std::fs::read_to_string(path).unwrap_or_default());
        if holder.pid.is_some() {
            return holder;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Holder::default()
}

/// Opens the database for a command that may run beside the daemon: with
/// no daemon on the data directory it opens and migrates as usual (holding
/// the lock only meanwhile); beside one it opens without migrating and
/// refuses a schema other than this binary's, so a newer binary's `check`
/// or `enroll` never changes the schema under an older running daemon.
pub fn open_store_beside_daemon(
    config: &crate::config::Config,
    command: &'static str,
    clock: crate::clock::SharedClock,
) -> Result<crate::store::Store, crate::store::StoreError> {
    use crate::store::{Store, StoreError};
    match InstanceLock::acquire(&config.data_dir, Role::Open(command), clock.now()) {
        Ok(_alone) => Store::open_with_clock(config.db_path(), clock),
        Err(LockError::Held { holder, .. }) => {
            let then = if holder.is_daemon() {
                "restart it with the new binary (it migrates at start), then run this again"
            } else {
                "wait for it to finish, then run this again"
            };
            let beside = format!("{holder} holds the data directory: {then}");
            Store::open_current(config.db_path(), clock, &beside)
        }
        Err(LockError::Io { path, source }) => Err(StoreError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::os::unix::fs::PermissionsExt;

    fn at_noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
    }

    /// The holder a refusal names, and its message.
    fn held(result: Result<InstanceLock, LockError>) -> (Holder, String) {
        let err = result.expect_err("the lock is held");
        let text = err.to_string();
        match err {
            LockError::Held { holder, .. } => (holder, text),
            other => panic!("expected the lock to be held, got {other:?}"),
        }
    }

    #[test]
    fn a_lock_file_made_by_root_belongs_to_the_data_directorys_owner() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        // The service's user owns the data directory (systemd's
        // StateDirectory); the command runs as root. CI runs as root.
        if std::os::unix::fs::chown(&data, Some(4242), Some(4243)).is_err() {
            eprintln!("skipped: only root can hand a directory to another user");
            return;
        }
        let lock = InstanceLock::acquire(&data, Role::Migrate, at_noon()).unwrap();
        let meta = std::fs::metadata(lock.path()).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4242, 4243));
        assert_eq!(meta.mode() & 0o777, 0o600);
    }

    #[test]
    fn a_second_lock_in_the_same_process_is_refused_naming_the_holder_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = InstanceLock::acquire(&data, Role::Serve, at_noon()).unwrap();
        assert_eq!(first.path(), data.join(LOCK_FILE_NAME));
        let mode = std::fs::metadata(first.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        // flock belongs to the open file description: a second open conflicts.
        let (holder, text) = held(InstanceLock::acquire(&data, Role::DigestSend, at_noon()));
        let pid = std::process::id();
        assert_eq!(
            holder,
            Holder {
                pid: Some(pid),
                command: Some("serve".into()),
                since: Some("2026-05-04T12:00:00Z".into()),
            }
        );
        assert_eq!(
            text,
            format!(
                "the daemon (pid {pid}, since 2026-05-04T12:00:00Z) holds {}: \
                 stop it first, or use POST /api/email/digest/send-now",
                data.join(LOCK_FILE_NAME).display()
            )
        );

        drop(first);
        assert_eq!(
            std::fs::read_to_string(data.join(LOCK_FILE_NAME)).unwrap(),
            "",
            "a released lock describes no holder"
        );
        let second = InstanceLock::acquire(&data, Role::DigestSend, at_noon()).unwrap();
        let written = std::fs::read_to_string(second.path()).unwrap();
        assert_eq!(
            written,
            format!("pid={pid}\ncommand=digest send\nsince=2026-05-04T12:00:00Z\n")
        );
    }

    #[test]
    fn a_daemon_refused_by_a_running_command_is_told_to_wait_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let _sync = InstanceLock::acquire(dir.path(), Role::Sync, at_noon()).unwrap();
        let (holder, text) = held(InstanceLock::acquire(dir.path(), Role::Serve, at_noon()));
        assert_eq!(holder.command.as_deref(), Some("sync"));
        assert!(
            text.starts_with(&format!("`email-sidecar sync` (pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.ends_with(": wait for it to finish"), "{text}");
    }

    #[test]
    fn each_command_refused_by_the_daemon_is_told_what_to_do_instead() {
        let dir = tempfile::tempdir().unwrap();
        let _demo = InstanceLock::acquire(dir.path(), Role::Demo, at_noon()).unwrap();
        let expected = [
            (Role::Serve, "only one daemon may run on a data directory"),
            (Role::Sync, "or use POST /api/email/sync/run-now"),
            (Role::RotateKey, "it keeps the current key in memory"),
            (Role::Migrate, "migrates the database itself when it starts"),
        ];
        for (role, advice) in expected {
            let (_, text) = held(InstanceLock::acquire(dir.path(), role, at_noon()));
            assert!(text.starts_with("the demo (pid "), "{text}");
            assert!(text.ends_with(advice), "{role:?}: {text}");
        }
    }

    #[test]
    fn an_empty_or_partial_lock_file_still_names_the_holder_as_well_as_it_can() {
        assert_eq!(Holder::parse(""), Holder::default());
        assert_eq!(
            Holder::default().to_string(),
            "another email-sidecar process"
        );
        let odd = Holder::parse("pid=12\nnoise\ncommand=migrate\n");
        assert_eq!(odd.to_string(), "`email-sidecar migrate` (pid 12)");
    }
}
