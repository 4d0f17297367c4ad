//! The embedded storage backend (`storage "embedded"`): one crash-safe redb database file.
//!
//! Every `put`, `delete` and `transaction` commits with `Durability::Immediate` (redb's
//! commit, ending in an fsync) before it returns, so a write the server has acknowledged
//! survives a crash or power loss. Transactions additionally use redb's two-phase commit,
//! since they carry keyring and seal writes. redb is synchronous: every call runs on tokio's
//! blocking pool.
//!
//! Only one process may open the file: redb locks it, and a second open fails with
//! [`StorageError::Backend`] saying the database is already open.
//!
//! Architecture invariant: this crate depends on `arca-storage` and redb only. It knows
//! nothing of the barrier, encryption, HTTP or the core; it stores opaque bytes.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use arca_storage::{Result, Storage, StorageError, TxnOp, immediate_children, validate_key};
use async_trait::async_trait;
use redb::{
    ConcurrencyMode, Database, DatabaseError, Durability, ReadableDatabase, TableDefinition,
};

/// The one table holding every key. Its name is part of the file format.
const DATA: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("arca_kv");

/// How often the unsafe test mode makes its acknowledged writes durable.
const UNSAFE_FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// Options for [`RedbStorage::open_with`]. The default is the only safe configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedbOptions {
    /// **DANGER — FOR TESTING THE DURABILITY HARNESS ONLY. NEVER ENABLE IN PRODUCTION.**
    ///
    /// When `true`, `put`, `delete` and `transaction` return *before* their change is
    /// durable: each is committed without fsync, and a background thread makes the batch
    /// durable every 250 ms. A crash (SIGKILL, power loss) therefore loses writes the
    /// server already acknowledged. It exists so that the crash test that proves
    /// acknowledged writes survive can also be shown to fail when they do not (its negative
    /// control). Reads still see every acknowledged write while the process lives, and a
    /// clean drop flushes everything.
    pub unsafe_ack_before_commit: bool,
}

/// The embedded backend: a redb database file holding every key in one table.
///
/// Dropping it closes the file (after a final flush in the unsafe test mode), releasing
/// the lock so the file can be opened again.
pub struct RedbStorage {
    db: Arc<Database>,
    durability: Durability,
    // Declared after `db` so the flusher thread (which holds its own `Arc`) is joined
    // last and the database is closed when the drop returns.
    flusher: Option<Flusher>,
}

impl RedbStorage {
    /// Opens the database file at `path`, creating it if it does not exist. The parent
    /// directory must exist. Fails if the file is not a redb database or another process
    /// (or another handle in this process) has it open.
    ///
    /// This blocks on file I/O (and, after a crash, on redb's repair of the file): call it
    /// at startup or inside `spawn_blocking`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, RedbOptions::default())
    }

    /// [`RedbStorage::open`] with options; see [`RedbOptions`] (whose one option is for
    /// tests only).
    pub fn open_with(path: &Path, options: RedbOptions) -> Result<Self> {
        // Operator-supplied paths go into these messages: the operator needs them to fix
        // the configuration, and they are not secret.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(StorageError::Backend(format!(
                "cannot open database file {}: directory {} does not exist",
                path.display(),
                parent.display()
            )));
        }
        let db = redb::Builder::new()
            // One writer process, no readers elsewhere: the default, stated because the
            // single-process guarantee depends on it.
            .set_concurrency_mode(ConcurrencyMode::ExclusiveWriter)
            .create(path)
            .map_err(|e| open_error(path, e))?;
        let db = Arc::new(db);
        // Create the table now so that read transactions never meet a missing table.
        commit_ops(&db, Vec::new(), true, Durability::Immediate, true)?;

        let (durability, flusher) = if options.unsafe_ack_before_commit {
            (Durability::None, Some(Flusher::spawn(Arc::clone(&db))?))
        } else {
            (Durability::Immediate, None)
        };
        Ok(Self {
            db,
            durability,
            flusher,
        })
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        // A write keeps running to completion even if the caller's future is dropped;
        // the caller just never hears that it succeeded, which is safe.
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|_| StorageError::Backend("redb storage task failed".to_owned()))?
    }

    async fn write(&self, ops: Vec<TxnOp>, two_phase: bool) -> Result<()> {
        let durability = self.durability;
        self.blocking(move |db| commit_ops(db, ops, two_phase, durability, false))
            .await?;
        if let Some(flusher) = &self.flusher {
            flusher.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }
}

#[async_trait]
impl Storage for RedbStorage {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        let key = key.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(DATA).map_err(backend)?;
            let value = table.get(key.as_str()).map_err(backend)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        validate_key(key)?;
        self.write(
            vec![TxnOp::Put {
                key: key.to_owned(),
                value: value.to_vec(),
            }],
            false,
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.write(
            vec![TxnOp::Delete {
                key: key.to_owned(),
            }],
            false,
        )
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = prefix.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(DATA).map_err(backend)?;
            let keys = scan_children(&table, &prefix)?;
            Ok(immediate_children(&prefix, keys.iter().map(String::as_str)))
        })
        .await
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        // Validate everything first: a transaction with a bad key applies nothing.
        for op in &ops {
            match op {
                TxnOp::Put { key, .. } | TxnOp::Delete { key } => validate_key(key)?,
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.write(ops, true).await
    }

    fn backend_name(&self) -> &'static str {
        "embedded"
    }
}

/// One key below `prefix` per immediate child, in order. A folder's descendants are
/// skipped with one seek rather than read, so listing a folder costs per child, not per
/// descendant.
fn scan_children(
    table: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
    prefix: &str,
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut start = prefix.to_owned();
    'seek: loop {
        let range = table
            .range::<&str>((Bound::Included(start.as_str()), Bound::Unbounded))
            .map_err(backend)?;
        for entry in range {
            let (key, _) = entry.map_err(backend)?;
            let key = key.value();
            let Some(rest) = key.strip_prefix(prefix) else {
                break 'seek;
            };
            found.push(key.to_owned());
            if let Some(slash) = rest.find('/') {
                // Every key inside the folder "<prefix><name>/" sorts below
                // "<prefix><name>0", because '0' is the byte right after '/'.
                start = format!("{}0", &key[..prefix.len() + slash]);
                continue 'seek;
            }
        }
        break;
    }
    Ok(found)
}

/// Applies `ops` in one redb write transaction. `ensure_table` creates the table even
/// when there are no ops (at open time).
fn commit_ops(
    db: &Database,
    ops: Vec<TxnOp>,
    two_phase: bool,
    durability: Durability,
    ensure_table: bool,
) -> Result<()> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(durability).map_err(backend)?;
    txn.set_two_phase_commit(two_phase);
    // An empty batch is a flush (it makes earlier non-durable commits durable): always commit it.
    let mut changed = ensure_table || ops.is_empty();
    if ensure_table || !ops.is_empty() {
        let mut table = txn.open_table(DATA).map_err(backend)?;
        for op in ops {
            match op {
                TxnOp::Put { key, value } => {
                    table
                        .insert(key.as_str(), value.as_slice())
                        .map_err(backend)?;
                    changed = true;
                }
                TxnOp::Delete { key } => {
                    changed |= table.remove(key.as_str()).map_err(backend)?.is_some();
                }
            }
        }
    }
    // Deleting keys that are not there changes nothing: skip the commit and its fsync
    // (revoking a token deletes several records that usually do not exist).
    if !changed {
        return txn.abort().map_err(backend);
    }
    // On any error above, dropping `txn` aborts it: nothing is applied.
    txn.commit().map_err(backend)
}

/// redb's error messages name no keys or values, so they are safe to pass on.
fn backend(err: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(format!("redb: {err}"))
}

fn open_error(path: &Path, err: DatabaseError) -> StorageError {
    let path = path.display();
    StorageError::Backend(match err {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => format!(
            "database file {path} is already open (locked by another process, or by another \
             handle in this process); only one Arca server may use it at a time"
        ),
        other => format!("cannot open database file {path}: {other}"),
    })
}

/// The background thread of the unsafe test mode: every interval, if anything was
/// written, an empty durable commit makes every earlier non-durable commit durable.
struct Flusher {
    dirty: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    fn spawn(db: Arc<Database>) -> Result<Self> {
        let dirty = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread_dirty = Arc::clone(&dirty);
        let thread = std::thread::Builder::new()
            .name("arca-redb-unsafe-flush".to_owned())
            .spawn(move || {
                loop {
                    let last = matches!(
                        stopped.recv_timeout(UNSAFE_FLUSH_INTERVAL),
                        Err(mpsc::RecvTimeoutError::Disconnected)
                    );
                    if thread_dirty.swap(false, Ordering::AcqRel) {
                        // Test-only mode: a failed flush shows up as lost writes, which is
                        // what the harness looks for anyway.
                        let _ = commit_ops(&db, Vec::new(), false, Durability::Immediate, false);
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| StorageError::Backend(format!("cannot start the flush thread: {e}")))?;
        Ok(Self {
            dirty,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Closing the channel wakes the thread for a final flush.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
