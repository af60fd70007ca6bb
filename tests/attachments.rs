//! The content-addressed attachment store (SPEC §5): one file per SHA-256
//! under `ab/<sha>`, written via a locked temp file, nothing left behind
//! by failures, cancellations or crashes.

use bytes::Bytes;
use email_sidecar::attachments::{AttachmentError, AttachmentStore};
use futures::{stream, StreamExt};
use sha2::Digest;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::AsyncReadExt;

const ABC_SHA: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn fresh() -> (tempfile::TempDir, AttachmentStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = AttachmentStore::open(dir.path().join("email_attachments")).unwrap();
    (dir, store)
}

fn tmp_entries(store: &AttachmentStore) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Deterministic, non-repeating-looking content of any length.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn storing_the_same_bytes_twice_keeps_one_file_and_the_second_put_is_not_new() {
    let (_dir, store) = fresh();
    let first = store.put(b"abc").await.unwrap();
    let second = store.put(b"abc").await.unwrap();

    assert_eq!(first.sha256, ABC_SHA);
    assert_eq!(first.size, 3);
    assert!(first.newly_written);
    assert_eq!(second.sha256, ABC_SHA);
    assert!(!second.newly_written);
    assert_eq!(store.list_hashes().unwrap(), vec![ABC_SHA.to_string()]);
    let path = store.root().join("ba").join(ABC_SHA);
    assert_eq!(std::fs::read(path).unwrap(), b"abc");
    assert!(tmp_entries(&store).is_empty());
}

#[tokio::test]
async fn empty_content_is_stored_under_the_empty_hash() {
    let (_dir, store) = fresh();
    let stored = store.put(b"").await.unwrap();
    assert_eq!((stored.sha256.as_str(), stored.size), (EMPTY_SHA, 0));
    assert!(store.exists(EMPTY_SHA));
    assert!(store.verify(EMPTY_SHA).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_puts_of_the_same_bytes_leave_one_file_and_no_temp_files() {
    let (_dir, store) = fresh();
    let bytes = Bytes::from(content(300_000));
    let puts = (0..50).map(|_| {
        let (store, bytes) = (store.clone(), bytes.clone());
        tokio::spawn(async move { store.put(&bytes).await.unwrap() })
    });
    let results = futures::future::join_all(puts).await;

    let stored: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    let sha = &stored[0].sha256;
    assert!(stored.iter().all(|s| &s.sha256 == sha && s.size == 300_000));
    assert_eq!(stored.iter().filter(|s| s.newly_written).count(), 1);
    assert_eq!(store.list_hashes().unwrap(), vec![sha.clone()]);
    assert!(store.verify(sha).unwrap());
    assert!(tmp_entries(&store).is_empty());
}

#[tokio::test]
async fn a_too_large_put_is_refused_and_leaves_nothing_behind() {
    let (_dir, store) = fresh();
    let err = store.put_limited(&content(1001), 1000).await.unwrap_err();
    assert!(
        matches!(err, AttachmentError::TooLarge { limit: 1000 }),
        "{err}"
    );
    assert!(!err.is_retryable());

    // A stream only shows its size as it flows: the cap trips mid-way.
    let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(content(300))));
    let err = store
        .put_stream_limited(stream::iter(chunks), 1000)
        .await
        .unwrap_err();
    assert!(err.is_too_large(), "{err}");

    assert!(store.list_hashes().unwrap().is_empty());
    assert!(tmp_entries(&store).is_empty());
}

#[tokio::test]
async fn content_exactly_at_the_limit_is_stored() {
    let (_dir, store) = fresh();
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(content(250))));
    let stored = store
        .put_stream_limited(stream::iter(chunks), 1000)
        .await
        .unwrap();
    assert_eq!(stored.size, 1000);
    assert_eq!(store.put_limited(b"abc", 3).await.unwrap().sha256, ABC_SHA);
}

#[tokio::test]
async fn a_stream_that_fails_midway_is_retryable_and_leaves_nothing_behind() {
    let (_dir, store) = fresh();
    let items = vec![
        Ok(Bytes::from_static(b"first part")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "peer reset",
        )),
        Ok(Bytes::from_static(b"never read")),
    ];
    let err = store.put_stream(stream::iter(items)).await.unwrap_err();
    assert!(matches!(err, AttachmentError::Source(_)), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("peer reset"));
    assert!(store.list_hashes().unwrap().is_empty());
    assert!(tmp_entries(&store).is_empty());
}

#[tokio::test]
async fn a_cancelled_put_removes_its_temp_file() {
    let (_dir, store) = fresh();
    let endless =
        stream::iter([Ok::<_, std::io::Error>(Bytes::from(content(10)))]).chain(stream::pending());
    let put = store.put_stream(endless);
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(100), put).await;
    assert!(timed_out.is_err());

    // The unlink runs on the blocking pool after the drop.
    for _ in 0..100 {
        if tmp_entries(&store).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(tmp_entries(&store).is_empty());
    assert!(store.list_hashes().unwrap().is_empty());
}

#[test]
fn path_for_refuses_traversal_uppercase_and_wrong_lengths() {
    let (_dir, store) = fresh();
    let refused = [
        String::new(),
        "abc".to_string(),
        ABC_SHA[..63].to_string(),
        format!("{ABC_SHA}0"),
        ABC_SHA.to_uppercase(),
        format!("../{}", &ABC_SHA[3..]),
        format!("{}/..", &ABC_SHA[..62]),
        format!("{}\0", &ABC_SHA[..63]),
        "g".repeat(64),
        format!("{}é", &ABC_SHA[..62]),
    ];
    for bad in &refused {
        let err = store.path_for(bad).unwrap_err();
        assert!(
            matches!(err, AttachmentError::InvalidHash { .. }),
            "{bad:?}"
        );
        assert!(err.is_permanent());
        assert!(!store.exists(bad));
    }
    let path = store.path_for(ABC_SHA).unwrap();
    assert_eq!(path, store.root().join("ba").join(ABC_SHA));
}

#[tokio::test]
async fn every_stored_file_hashes_to_its_name_and_tampering_is_detected() {
    let (_dir, store) = fresh();
    let mut shas = Vec::new();
    for len in [1, 4096, 262_145, 700_000] {
        let bytes = content(len);
        let stored = store.put(&bytes).await.unwrap();
        let independent = sha2::Sha256::digest(&bytes);
        assert_eq!(stored.sha256, hex::encode(independent));
        shas.push(stored.sha256);
    }
    shas.sort();
    assert_eq!(store.list_hashes().unwrap(), shas);
    for sha in &shas {
        assert!(store.verify(sha).unwrap(), "{sha}");
    }

    std::fs::write(store.path_for(&shas[0]).unwrap(), b"bit rot").unwrap();
    assert!(!store.verify(&shas[0]).unwrap());
    assert!(store.verify(&shas[1]).unwrap());
    assert!(store.verify(ABC_SHA).unwrap_err().is_not_found());
}

#[tokio::test]
async fn open_file_streams_the_stored_bytes_back() {
    let (_dir, store) = fresh();
    let whole = content(1_000_003);
    let chunks: Vec<Result<Bytes, std::io::Error>> = whole
        .chunks(16 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stored = store.put_stream(stream::iter(chunks)).await.unwrap();
    assert_eq!(stored.size, 1_000_003);

    let mut file = store.open_file(&stored.sha256).await.unwrap();
    let mut back = Vec::new();
    file.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, whole);

    let missing = store.open_file(ABC_SHA).await.unwrap_err();
    assert!(
        missing.is_not_found() && missing.is_permanent(),
        "{missing}"
    );
    let bad = store.open_file("../../etc/passwd").await.unwrap_err();
    assert!(matches!(bad, AttachmentError::InvalidHash { .. }));
}

#[tokio::test]
async fn a_temp_file_left_by_a_crash_is_removed_when_the_store_opens() {
    let (dir, store) = fresh();
    store.put(b"abc").await.unwrap();
    let tmp = store.root().join("tmp");
    std::fs::write(tmp.join("0123abcd.part"), b"half an attachm").unwrap();
    std::fs::write(tmp.join("other-leftover"), b"x").unwrap();

    let reopened = AttachmentStore::open(dir.path().join("email_attachments")).unwrap();
    assert!(tmp_entries(&reopened).is_empty());
    assert_eq!(reopened.list_hashes().unwrap(), vec![ABC_SHA.to_string()]);
}

#[tokio::test]
async fn a_temp_file_a_live_writer_still_holds_survives_another_open() {
    let (dir, store) = fresh();
    let in_flight = store.root().join("tmp").join("live.part");
    let held = File::create(&in_flight).unwrap();
    held.lock().unwrap();

    AttachmentStore::open(dir.path().join("email_attachments")).unwrap();
    assert_eq!(tmp_entries(&store), vec!["live.part".to_string()]);

    drop(held);
    AttachmentStore::open(dir.path().join("email_attachments")).unwrap();
    assert!(tmp_entries(&store).is_empty());
}

#[tokio::test]
async fn stored_files_are_0600_and_directories_0700() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("email_attachments");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();

    let store = AttachmentStore::open(&root).unwrap();
    let stored = store.put(b"abc").await.unwrap();

    assert_eq!(mode(&root), 0o700, "an existing root is tightened");
    assert_eq!(mode(&root.join("tmp")), 0o700);
    assert_eq!(mode(&root.join("ba")), 0o700);
    assert_eq!(mode(&store.path_for(&stored.sha256).unwrap()), 0o600);
}

#[tokio::test]
async fn list_hashes_ignores_tmp_and_stray_names() {
    let (_dir, store) = fresh();
    store.put(b"abc").await.unwrap();
    store.put(b"").await.unwrap();
    let root = store.root();
    std::fs::write(root.join("tmp").join(ABC_SHA), b"abc").unwrap();
    std::fs::write(root.join("ba").join("notes.txt"), b"x").unwrap();
    std::fs::write(root.join("ba").join(EMPTY_SHA), b"").unwrap(); // wrong shard
    std::fs::create_dir(root.join("ZZ")).unwrap();
    std::fs::write(root.join("README"), b"x").unwrap();

    let hashes = store.list_hashes().unwrap();
    assert_eq!(hashes, vec![ABC_SHA.to_string(), EMPTY_SHA.to_string()]);
}

#[tokio::test]
async fn a_put_the_filesystem_refuses_fails_retryably_and_leaves_no_temp() {
    let (_dir, store) = fresh();
    // A plain file where the `ba/` shard directory should be.
    std::fs::write(store.root().join("ba"), b"in the way").unwrap();

    let err = store.put(b"abc").await.unwrap_err();
    assert!(matches!(err, AttachmentError::Io { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(tmp_entries(&store).is_empty());

    std::fs::remove_file(store.root().join("ba")).unwrap();
    assert!(store.put(b"abc").await.unwrap().newly_written);
}

/// The stream bound fits reqwest's `bytes_stream()` (checked at compile time).
#[allow(dead_code)]
async fn put_accepts_a_reqwest_body_stream(store: AttachmentStore, response: reqwest::Response) {
    let _ = store.put_stream_limited(response.bytes_stream(), 1).await;
}

#[tokio::test]
async fn a_deferred_put_is_stored_once_and_made_durable_by_one_sync() {
    let (_dir, store) = fresh();
    let bytes = content(10_000);
    let a = store.put_deferred(&bytes, 1 << 20).await.unwrap();
    let b = store.put_deferred(&bytes, 1 << 20).await.unwrap();
    assert!(a.newly_written && !b.newly_written);
    store.sync_deferred().await.unwrap();
    assert_eq!(store.list_hashes().unwrap(), vec![a.sha256.clone()]);
    assert!(store.verify(&a.sha256).unwrap());
    assert!(tmp_entries(&store).is_empty());
    let too_big = store.put_deferred(&bytes, 100).await.unwrap_err();
    assert!(too_big.is_too_large());
}

/// A deferred put can name a file before its data reaches the disk; after
/// a crash the name may hold garbage of the right size. The next put of
/// that content must repair it rather than trust the name.
#[tokio::test]
async fn a_damaged_file_under_a_hash_name_is_replaced_by_the_next_put() {
    let (_dir, store) = fresh();
    let bytes = content(4_096);
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let path = store.path_for(&sha).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![0u8; bytes.len()]).unwrap();
    assert!(!store.verify(&sha).unwrap());
    let put = store.put(&bytes).await.unwrap();
    assert_eq!(put.sha256, sha);
    assert!(put.newly_written, "the damaged file was rewritten");
    assert!(store.verify(&sha).unwrap());
}
