use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arca_storage::{Storage, StorageView};
use arca_storage_redb::{RedbOptions, RedbStorage};

/// Runs the suite on fresh database files in one temporary directory.
async fn run(options: RedbOptions, view: bool) {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    arca_storage::conformance::run_all(|| {
        let path = dir
            .path()
            .join(format!("db{}.redb", n.fetch_add(1, Ordering::Relaxed)));
        let storage: Arc<dyn Storage> = Arc::new(RedbStorage::open_with(&path, options).unwrap());
        if view {
            Arc::new(StorageView::new(storage, "sys/"))
        } else {
            storage
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_passes_conformance() {
    run(RedbOptions::default(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_over_redb_passes_conformance() {
    run(RedbOptions::default(), true).await;
}

// The unsafe test mode must differ from the safe one only in when writes become durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_unsafe_ack_mode_passes_conformance() {
    run(
        RedbOptions {
            unsafe_ack_before_commit: true,
        },
        false,
    )
    .await;
}

#[tokio::test]
async fn redb_passes_conformance_on_current_thread_runtime() {
    run(RedbOptions::default(), false).await;
}
