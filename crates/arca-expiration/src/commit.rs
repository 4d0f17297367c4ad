//! Group commit: concurrent lease writes share one storage transaction.
//!
//! On a durable backend every transaction costs an fsync, so an expiry storm of 10 000
//! revocations would otherwise be 10 000 fsyncs queued in front of the API's own writes.
//! Each caller still returns only once its own operations are durable; a batch is applied
//! all or nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arca_storage::{Storage, StorageError, TxnOp, validate_key};
use tokio::sync::oneshot;

/// Callers per transaction at most.
const MAX_BATCH: usize = 256;

struct Pending {
    ops: Vec<TxnOp>,
    done: oneshot::Sender<Result<(), StorageError>>,
}

pub(crate) struct GroupCommit {
    storage: Arc<dyn Storage>,
    queue: Mutex<Vec<Pending>>,
    /// Whether a flusher task is running.
    flushing: AtomicBool,
}

fn copy_err(e: &StorageError) -> StorageError {
    match e {
        StorageError::Sealed => StorageError::Sealed,
        StorageError::InvalidKey => StorageError::InvalidKey,
        StorageError::Corrupt { key } => StorageError::Corrupt { key: key.clone() },
        other => StorageError::Backend(other.to_string()),
    }
}

impl GroupCommit {
    pub(crate) fn new(storage: Arc<dyn Storage>) -> Arc<Self> {
        Arc::new(Self {
            storage,
            queue: Mutex::new(Vec::new()),
            flushing: AtomicBool::new(false),
        })
    }

    /// Applies `ops` atomically, possibly in one transaction with other callers' ops, and
    /// returns once they are durable.
    pub(crate) async fn commit(self: &Arc<Self>, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        // A bad key would fail everybody's batch: refuse it here.
        for op in &ops {
            match op {
                TxnOp::Put { key, .. } | TxnOp::Delete { key } => validate_key(key)?,
            }
        }
        let (done, rx) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Pending { ops, done });
        self.ensure_flusher();
        rx.await
            .unwrap_or_else(|_| Err(StorageError::Backend("write abandoned".to_owned())))
    }

    /// Starts a flusher unless one runs. It is a task of its own, so a caller whose future
    /// is dropped cannot strand the queue.
    fn ensure_flusher(self: &Arc<Self>) {
        if self
            .flushing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.flush().await });
        }
    }

    async fn flush(self: Arc<Self>) {
        loop {
            let batch: Vec<Pending> = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                self.flushing.store(false, Ordering::Release);
                // Something queued between the drain and the store would otherwise wait
                // for a flusher that never comes.
                let queued = !self
                    .queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .is_empty();
                if queued
                    && self
                        .flushing
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    continue;
                }
                return;
            }
            let mut ops = Vec::with_capacity(batch.iter().map(|p| p.ops.len()).sum());
            let mut waiters = Vec::with_capacity(batch.len());
            for p in batch {
                ops.extend(p.ops);
                waiters.push(p.done);
            }
            let result = self.storage.transaction(ops).await;
            for w in waiters {
                let _ = w.send(result.as_ref().map(|_| ()).map_err(copy_err));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arca_storage::InMemStorage;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_all_land() {
        let storage = Arc::new(InMemStorage::new());
        let gc = GroupCommit::new(storage.clone());
        let mut set = tokio::task::JoinSet::new();
        for i in 0..500 {
            let gc = Arc::clone(&gc);
            set.spawn(async move {
                gc.commit(vec![
                    TxnOp::Put {
                        key: format!("a/{i}"),
                        value: vec![1],
                    },
                    TxnOp::Put {
                        key: format!("b/{i}"),
                        value: vec![2],
                    },
                ])
                .await
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().unwrap();
        }
        assert_eq!(storage.list("a/").await.unwrap().len(), 500);
        assert_eq!(storage.list("b/").await.unwrap().len(), 500);
        // A bad key is refused alone.
        assert!(matches!(
            gc.commit(vec![TxnOp::Delete { key: String::new() }]).await,
            Err(StorageError::InvalidKey)
        ));
        gc.commit(vec![TxnOp::Delete { key: "a/1".into() }])
            .await
            .unwrap();
        assert_eq!(storage.get("a/1").await.unwrap(), None);
    }
}
