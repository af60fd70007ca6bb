//! Content-addressed attachment files under `<data_dir>/email_attachments/`
//! (SPEC §5): the bytes of each distinct attachment are stored once, at
//! `ab/abcdef…` named by their lowercase SHA-256. Capture streams downloads
//! in; the HTTP API streams them out. The database (`email_attachments`)
//! only refers to files by hash; this module owns the files themselves.
//!
//! A put writes a unique temp file in `tmp/` while hashing, fsyncs it, then
//! hard-links it to its final name (an atomic "create if absent": exactly
//! one of many concurrent puts of the same bytes reports `newly_written`),
//! fsyncs the directory and unlinks the temp. A file at a final name is
//! therefore always complete. Where hard links are unsupported, an
//! exists-check plus `rename` takes over (still atomic, still one file).
//!
//! Crash leftovers: every writer holds an exclusive `flock` on its temp
//! file, which the kernel drops when the process dies (even by SIGKILL).
//! [`AttachmentStore::open`] runs at start-up and removes every temp file it
//! can lock, i.e. every one no live writer owns, so a second process (a
//! foreground `sync` beside the daemon) never loses an in-flight write, and
//! no clock is needed to judge staleness.
//!
//! Files are 0600 and directories 0700: they hold mail. `put*` and
//! [`AttachmentStore::open_file`] never block the runtime. `open`,
//! `exists`, `list_hashes` and `verify` are plain blocking calls (start-up,
//! tests, integrity checks); from async code wrap them in `spawn_blocking`.

use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

const CHUNK: usize = 256 * 1024;
const TMP_DIR: &str = "tmp";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A borrowed slice as a stream of pieces, so hashing a large attachment
/// yields to the runtime between pieces.
fn slice_chunks(bytes: &[u8]) -> impl Stream<Item = Result<&[u8], Infallible>> {
    futures::stream::iter(bytes.chunks(CHUNK).map(Ok))
}

/// The store failed. Callers decide with [`AttachmentError::is_retryable`].
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// Not exactly 64 lowercase hex characters (shown truncated).
    #[error("not a lowercase SHA-256 hex digest: {given:?}")]
    InvalidHash { given: String },
    /// The content is larger than the cap; nothing was kept.
    #[error("attachment larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    /// No file is stored under this hash.
    #[error("no attachment stored under {sha256}")]
    NotFound { sha256: String },
    /// The filesystem failed (ENOSPC, EIO, EACCES…): try again later.
    #[error("attachment store: {op} {}: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The byte stream being stored failed (e.g. a download cut short).
    #[error("attachment source failed: {0}")]
    Source(#[source] BoxError),
}

impl AttachmentError {
    /// The same put may succeed later (disk full, a download cut short).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AttachmentError::Io { .. } | AttachmentError::Source(_)
        )
    }

    /// Retrying cannot help: a bad hash, a missing file, too large.
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    pub fn is_too_large(&self) -> bool {
        matches!(self, AttachmentError::TooLarge { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, AttachmentError::NotFound { .. })
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> AttachmentError + 'a {
    move |source| AttachmentError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// What a put stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Lowercase hex SHA-256 of the content; the file's name.
    pub sha256: String,
    pub size: u64,
    /// False when the same content was already stored (by this or an
    /// earlier put); exactly one of several concurrent puts sees true.
    pub newly_written: bool,
}

/// Handle on the attachment directory. Cloning is cheap (one `Arc`).
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    root: Arc<PathBuf>,
}

impl AttachmentStore {
    /// Creates `root` and `root/tmp` (0700, also tightening existing ones)
    /// and removes temp files left by crashed writers (see the module doc).
    /// Blocking: meant for start-up.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, AttachmentError> {
        let root: PathBuf = root.into();
        let tmp = root.join(TMP_DIR);
        for dir in [&root, &tmp] {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err("create directory", dir))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err("chmod", dir))?;
        }
        let removed = remove_abandoned_temps(&tmp)?;
        if removed > 0 {
            tracing::info!(removed, dir = %tmp.display(), "removed temp files left by a crash");
        }
        Ok(AttachmentStore {
            root: Arc::new(root),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/ab/abcdef…`. Refuses anything but 64 lowercase hex characters,
    /// so no caller-supplied string can reach outside the store.
    pub fn path_for(&self, sha256_hex: &str) -> Result<PathBuf, AttachmentError> {
        if !is_sha256_hex(sha256_hex) {
            return Err(AttachmentError::InvalidHash {
                given: sha256_hex.chars().take(80).collect(),
            });
        }
        Ok(self.root.join(&sha256_hex[..2]).join(sha256_hex))
    }

    /// Stores `bytes` (at most once per hash).
    pub async fn put(&self, bytes: &[u8]) -> Result<StoredFile, AttachmentError> {
        self.put_chunks(slice_chunks(bytes), None, true).await
    }

    /// Like [`put`](Self::put), but content over `max` bytes is refused
    /// with [`AttachmentError::TooLarge`] and leaves no file behind.
    pub async fn put_limited(&self, bytes: &[u8], max: u64) -> Result<StoredFile, AttachmentError> {
        if bytes.len() as u64 > max {
            return Err(AttachmentError::TooLarge { limit: max });
        }
        self.put_chunks(slice_chunks(bytes), Some(max), true).await
    }

    /// [`put_limited`](Self::put_limited) without its two fsyncs (file and
    /// directory): the content is durable only after the next
    /// [`sync_deferred`](Self::sync_deferred), which the caller runs before
    /// it records the file anywhere. Many files then cost one flush.
    pub async fn put_deferred(
        &self,
        bytes: &[u8],
        max: u64,
    ) -> Result<StoredFile, AttachmentError> {
        if bytes.len() as u64 > max {
            return Err(AttachmentError::TooLarge { limit: max });
        }
        self.put_chunks(slice_chunks(bytes), Some(max), false).await
    }

    /// Makes every deferred put so far durable: one `syncfs` of the
    /// filesystem holding the store (files, names and directories).
    pub async fn sync_deferred(&self) -> Result<(), AttachmentError> {
        let root = self.root.as_ref().clone();
        tokio::task::spawn_blocking(move || syncfs(&root))
            .await
            .map_err(|e| io_err("syncfs", &self.root)(io::Error::other(e)))?
    }

    /// Stores a stream of chunks (reqwest's `bytes_stream()`, decoded base64
    /// pieces, …). A stream error aborts the put as
    /// [`AttachmentError::Source`] and leaves no file behind.
    pub async fn put_stream<S, B, E>(&self, stream: S) -> Result<StoredFile, AttachmentError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: Into<BoxError>,
    {
        self.put_chunks(stream, None, true).await
    }

    /// [`put_stream`](Self::put_stream) with a size cap: stops reading and
    /// fails with [`AttachmentError::TooLarge`] once `max` is exceeded.
    pub async fn put_stream_limited<S, B, E>(
        &self,
        stream: S,
        max: u64,
    ) -> Result<StoredFile, AttachmentError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: Into<BoxError>,
    {
        self.put_chunks(stream, Some(max), true).await
    }

    /// Opens a stored file for a streamed download.
    pub async fn open_file(&self, sha256_hex: &str) -> Result<tokio::fs::File, AttachmentError> {
        let path = self.path_for(sha256_hex)?;
        tokio::fs::File::open(&path)
            .await
            .map_err(|e| not_found_or(e, sha256_hex, "open", &path))
    }

    /// Whether a file is stored under this hash (false for a malformed one).
    pub fn exists(&self, sha256_hex: &str) -> bool {
        self.path_for(sha256_hex)
            .is_ok_and(|p| p.metadata().is_ok_and(|m| m.is_file()))
    }

    /// Every stored hash, sorted; ignores `tmp/` and any stray name.
    pub fn list_hashes(&self) -> Result<Vec<String>, AttachmentError> {
        let mut hashes = Vec::new();
        for shard in read_dir_names(&self.root)? {
            let is_shard = shard.len() == 2 && shard.bytes().all(is_lower_hex);
            let dir = self.root.join(&shard);
            if !is_shard || !dir.is_dir() {
                continue;
            }
            for name in read_dir_names(&dir)? {
                if is_sha256_hex(&name) && name.starts_with(&shard) && dir.join(&name).is_file() {
                    hashes.push(name);
                }
            }
        }
        hashes.sort();
        Ok(hashes)
    }

    /// Re-hashes the stored file: true iff its content matches its name.
    /// A missing file is [`AttachmentError::NotFound`], not `false`.
    pub fn verify(&self, sha256_hex: &str) -> Result<bool, AttachmentError> {
        let path = self.path_for(sha256_hex)?;
        let mut file = File::open(&path).map_err(|e| not_found_or(e, sha256_hex, "open", &path))?;
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher).map_err(io_err("read", &path))?;
        Ok(hex::encode(hasher.finalize()) == sha256_hex)
    }

    async fn put_chunks<S, B, E>(
        &self,
        stream: S,
        limit: Option<u64>,
        durable: bool,
    ) -> Result<StoredFile, AttachmentError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: Into<BoxError>,
    {
        let mut stream = std::pin::pin!(stream);
        let mut temp = TempFile::create(self.root.join(TMP_DIR), limit).await?;
        let outcome = async {
            while let Some(item) = stream.next().await {
                let chunk = item.map_err(|e| AttachmentError::Source(e.into()))?;
                temp.write(chunk.as_ref()).await?;
            }
            let sha256 = temp.seal(durable).await?;
            let (from, to, size) = (temp.path.clone(), self.path_for(&sha256)?, temp.size);
            let newly_written =
                tokio::task::spawn_blocking(move || place(&from, &to, size, durable))
                    .await
                    .map_err(|e| io_err("place", &temp.path)(io::Error::other(e)))??;
            Ok(StoredFile {
                sha256,
                size,
                newly_written,
            })
        }
        .await;
        match outcome {
            Ok(_) => temp.armed = false,
            Err(_) => temp.discard().await,
        }
        outcome
    }
}

/// Puts the complete, synced temp file at `final_path` unless identical
/// content is already there, then removes the temp name. Blocking.
fn place(
    temp: &Path,
    final_path: &Path,
    size: u64,
    durable: bool,
) -> Result<bool, AttachmentError> {
    let shard = final_path.parent().unwrap_or(final_path);
    ensure_shard(shard)?;
    let newly_written = match std::fs::hard_link(temp, final_path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Same name means same hash, unless the file is damaged: a
            // deferred put may get its name before its data reaches the
            // disk, so after a crash the content is checked, not trusted.
            let intact = final_path
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() == size)
                && hashes_to_name(final_path);
            if !intact {
                std::fs::rename(temp, final_path).map_err(io_err("rename", final_path))?;
            }
            !intact
        }
        Err(_) if !final_path.exists() => {
            // No hard links on this filesystem: rename is atomic too.
            std::fs::rename(temp, final_path).map_err(io_err("rename", final_path))?;
            true
        }
        Err(_) => false,
    };
    // Already gone after a rename; otherwise the final name holds a link.
    match std::fs::remove_file(temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("unlink", temp)(e)),
        _ => {}
    }
    if newly_written && durable {
        sync_dir(shard)?;
    }
    Ok(newly_written)
}

/// Creates `root/ab` (0700); a new one is made durable in its parent.
fn ensure_shard(shard: &Path) -> Result<(), AttachmentError> {
    match DirBuilder::new().mode(0o700).create(shard) {
        Ok(()) => shard.parent().map_or(Ok(()), sync_dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err("create directory", shard)(e)),
    }
}

/// Whether the file's content hashes to its own name.
fn hashes_to_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let mut hasher = Sha256::new();
    File::open(path)
        .and_then(|mut f| io::copy(&mut f, &mut hasher))
        .is_ok_and(|_| hex::encode(hasher.finalize()) == name)
}

/// `syncfs(2)` of the filesystem holding `dir`.
fn syncfs(dir: &Path) -> Result<(), AttachmentError> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir).map_err(io_err("open", dir))?;
    // SAFETY: `d` is an open file descriptor for the whole call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io_err("syncfs", dir)(io::Error::last_os_error()))
    }
}

fn sync_dir(dir: &Path) -> Result<(), AttachmentError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Removes each temp file no live writer holds a lock on. Blocking.
fn remove_abandoned_temps(tmp: &Path) -> Result<usize, AttachmentError> {
    let mut removed = 0;
    for name in read_dir_names(tmp)? {
        let path = tmp.join(&name);
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            continue;
        }
        match file.try_lock() {
            Ok(()) => {
                std::fs::remove_file(&path).map_err(io_err("unlink", &path))?;
                removed += 1;
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &path)(e)),
        }
    }
    Ok(removed)
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, AttachmentError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

fn not_found_or(e: io::Error, sha256: &str, op: &'static str, path: &Path) -> AttachmentError {
    if e.kind() == io::ErrorKind::NotFound {
        AttachmentError::NotFound {
            sha256: sha256.to_string(),
        }
    } else {
        io_err(op, path)(e)
    }
}

fn is_lower_hex(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_lower_hex)
}

/// A locked temp file being filled and hashed. If dropped while still
/// armed (a put's future was cancelled), it unlinks itself off the runtime.
struct TempFile {
    path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    limit: Option<u64>,
    armed: bool,
}

impl TempFile {
    async fn create(tmp: PathBuf, limit: Option<u64>) -> Result<Self, AttachmentError> {
        let dir = tmp.clone();
        let (path, file) = tokio::task::spawn_blocking(move || create_locked(&dir))
            .await
            .map_err(|e| io_err("create", &tmp)(io::Error::other(e)))??;
        Ok(TempFile {
            path,
            file: tokio::fs::File::from_std(file),
            hasher: Sha256::new(),
            size: 0,
            limit,
            armed: true,
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), AttachmentError> {
        let size = self.size + chunk.len() as u64;
        if let Some(limit) = self.limit.filter(|&l| size > l) {
            return Err(AttachmentError::TooLarge { limit });
        }
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(io_err("write", &self.path))?;
        self.size = size;
        Ok(())
    }

    /// Flushes (and, when `durable`, fsyncs) the content; returns its hash.
    async fn seal(&mut self, durable: bool) -> Result<String, AttachmentError> {
        let path = &self.path;
        self.file.flush().await.map_err(io_err("write", path))?;
        if durable {
            self.file.sync_all().await.map_err(io_err("fsync", path))?;
        }
        Ok(hex::encode(self.hasher.clone().finalize()))
    }

    async fn discard(mut self) {
        self.armed = false;
        if let Err(e) = tokio::fs::remove_file(&self.path).await {
            // Left for the next start-up's sweep.
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove temp file");
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let path = std::mem::take(&mut self.path);
        let unlink = move || {
            let _ = std::fs::remove_file(path);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(unlink)),
            Err(_) => unlink(),
        }
    }
}

/// A new 0600 temp file with a random name, exclusively locked. Blocking.
fn create_locked(tmp: &Path) -> Result<(PathBuf, File), AttachmentError> {
    loop {
        let path = tmp.join(format!("{:032x}.part", rand::random::<u128>()));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        let file = match opened {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            other => other.map_err(io_err("create", &path))?,
        };
        // Only a start-up sweep can beat us to the lock, and it unlinks
        // what it locks: once we hold the lock and the name, both are ours.
        match file.try_lock() {
            Ok(()) if path.exists() => return Ok((path, file)),
            Ok(()) | Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &path)(e)),
        }
    }
}
