//! Group commit and the clean close.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use arca_storage::{Storage, StorageError, TxnOp};
use arca_storage_redb::RedbStorage;

const WRITERS: u64 = 64;
const PER_WRITER: u64 = 20;

/// Whether opening `path` makes redb repair the file (a sign it was not closed cleanly).
fn open_needs_repair(path: &std::path::Path) -> bool {
    let repaired = Rc::new(Cell::new(false));
    let flag = Rc::clone(&repaired);
    let db = redb::Builder::new()
        .set_repair_callback(move |_| flag.set(true))
        .open(path)
        .unwrap();
    drop(db);
    repaired.get()
}

/// Many concurrent writers, mixing puts, deletes and two-key transactions, share commits:
/// every acknowledged write is there afterwards, and after a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let s = Arc::new(RedbStorage::open(&path).unwrap());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                s.put(&format!("w{w}/put{i}"), &i.to_le_bytes())
                    .await
                    .unwrap();
                s.put(&format!("w{w}/gone{i}"), b"x").await.unwrap();
                s.delete(&format!("w{w}/gone{i}")).await.unwrap();
                // Deleting what is not there commits nothing, alone or in a group.
                s.delete(&format!("w{w}/never{i}")).await.unwrap();
                s.transaction(vec![
                    TxnOp::Put {
                        key: format!("w{w}/txa{i}"),
                        value: vec![1],
                    },
                    TxnOp::Put {
                        key: format!("w{w}/txb{i}"),
                        value: vec![2],
                    },
                ])
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let check = |s: Arc<RedbStorage>| async move {
        for w in 0..WRITERS {
            let keys = s.list(&format!("w{w}/")).await.unwrap();
            assert_eq!(keys.len() as u64, 3 * PER_WRITER, "writer {w}: {keys:?}");
            for i in 0..PER_WRITER {
                let got = s.get(&format!("w{w}/put{i}")).await.unwrap();
                assert_eq!(got, Some(i.to_le_bytes().to_vec()));
                assert_eq!(s.get(&format!("w{w}/gone{i}")).await.unwrap(), None);
            }
        }
    };
    check(Arc::clone(&s)).await;
    drop(s);
    check(Arc::new(RedbStorage::open(&path).unwrap())).await;
}

#[tokio::test]
async fn close_is_clean_and_later_calls_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let s = RedbStorage::open(&path).unwrap();
    s.put("a", b"1").await.unwrap();
    s.close().unwrap();
    // Closing again is harmless.
    s.close().unwrap();
    for result in [
        s.put("b", b"2").await,
        s.get("a").await.map(|_| ()),
        s.list("").await.map(|_| ()),
    ] {
        match result {
            Err(StorageError::Backend(msg)) => assert!(msg.contains("closed"), "{msg}"),
            other => panic!("expected a closed error, got {other:?}"),
        }
    }
    // The file was released and closed cleanly: it opens without repair, data intact.
    assert!(!open_needs_repair(&path));
    drop(s);
    let s = RedbStorage::open(&path).unwrap();
    assert_eq!(s.get("a").await.unwrap(), Some(b"1".to_vec()));
    // Dropping closes cleanly too.
    drop(s);
    assert!(!open_needs_repair(&path));
}
