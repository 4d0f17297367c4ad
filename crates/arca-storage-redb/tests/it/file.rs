use arca_storage::{Storage, StorageError, TxnOp};
use arca_storage_redb::{RedbOptions, RedbStorage};

fn backend_message(result: Result<RedbStorage, StorageError>) -> String {
    match result {
        Err(StorageError::Backend(msg)) => msg,
        Err(other) => panic!("expected a backend error, got {other:?}"),
        Ok(_) => panic!("open unexpectedly succeeded"),
    }
}

#[tokio::test]
async fn backend_name_is_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let s = RedbStorage::open(&dir.path().join("db.redb")).unwrap();
    assert_eq!(s.backend_name(), "embedded");
}

#[tokio::test]
async fn open_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.redb");
    assert!(!path.exists());
    let s = RedbStorage::open(&path).unwrap();
    assert!(path.is_file());
    assert!(s.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn values_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let s = RedbStorage::open(&path).unwrap();
        s.put("core/seal-config", b"seal").await.unwrap();
        s.put("gone", b"x").await.unwrap();
        s.delete("gone").await.unwrap();
        s.transaction(vec![
            TxnOp::Put {
                key: "core/keyring".into(),
                value: vec![1, 2, 3],
            },
            TxnOp::Put {
                key: "core/mounts".into(),
                value: Vec::new(),
            },
        ])
        .await
        .unwrap();
    }
    let s = RedbStorage::open(&path).unwrap();
    assert_eq!(
        s.get("core/seal-config").await.unwrap().as_deref(),
        Some(&b"seal"[..])
    );
    assert_eq!(s.get("core/keyring").await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(s.get("core/mounts").await.unwrap(), Some(Vec::new()));
    assert_eq!(s.get("gone").await.unwrap(), None);
    assert_eq!(s.list("").await.unwrap(), vec!["core/".to_owned()]);
}

#[tokio::test]
async fn unsafe_mode_flushes_on_clean_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let s = RedbStorage::open_with(
            &path,
            RedbOptions {
                unsafe_ack_before_commit: true,
            },
        )
        .unwrap();
        s.put("a", b"1").await.unwrap();
        s.transaction(vec![TxnOp::Put {
            key: "b".into(),
            value: b"2".to_vec(),
        }])
        .await
        .unwrap();
        // Visible at once, though not yet durable.
        assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    }
    let s = RedbStorage::open(&path).unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get("b").await.unwrap().as_deref(), Some(&b"2"[..]));
}

#[tokio::test]
async fn second_open_in_same_process_fails_until_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let first = RedbStorage::open(&path).unwrap();
    first.put("k", b"v").await.unwrap();
    let msg = backend_message(RedbStorage::open(&path));
    assert!(msg.contains("already open"), "unclear error: {msg}");
    assert!(msg.contains("db.redb"), "error should name the file: {msg}");
    drop(first);
    let again = RedbStorage::open(&path).unwrap();
    assert_eq!(again.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn missing_parent_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("db.redb");
    let msg = backend_message(RedbStorage::open(&path));
    assert!(
        msg.contains("does not exist") && msg.contains("no-such-dir"),
        "unclear error: {msg}"
    );
    assert!(
        !path.parent().unwrap().exists(),
        "open must not create directories"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let msg = backend_message(RedbStorage::open(&path));
    assert!(
        msg.contains("cannot open database file"),
        "unclear error: {msg}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        vec![b'x'; 8192],
        "the file must be left alone"
    );
}

#[test]
fn a_directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let msg = backend_message(RedbStorage::open(dir.path()));
    assert!(
        msg.contains("cannot open database file"),
        "unclear error: {msg}"
    );
}
