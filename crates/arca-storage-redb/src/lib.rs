//! The embedded storage backend (`storage "embedded"`): one crash-safe redb database file.
//!
//! Every `put`, `delete` and `transaction` commits with `Durability::Immediate` (redb's
//! commit, ending in an fsync) before it returns, so a write the server has acknowledged
//! survives a crash or power loss. Commits are redb's checksummed one-phase commits (one
//! fsync); see [`commit_ops`] for why not two-phase. Concurrent writes are group-committed:
//! queued and committed together in one transaction and one fsync, each acknowledged once
//! that commit is durable. Commits and lists run on tokio's blocking pool; point reads run
//! inline (see [`RedbStorage::get`]).
//! [`RedbStorage::close`] closes the file cleanly so the next open needs no repair.
//!
//! Only one process may open the file: redb locks it, and a second open fails with
//! [`StorageError::Backend`] saying the database is already open.
//!
//! Architecture invariant: this crate depends on `arca-storage` and redb only. It knows
//! nothing of the barrier, encryption, HTTP or the core; it stores opaque bytes.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use arca_storage::{Result, Storage, StorageError, TxnOp, immediate_children, validate_key};
use async_trait::async_trait;
use redb::{
    ConcurrencyMode, Database, DatabaseError, Durability, ReadableDatabase, TableDefinition,
};
use tokio::sync::oneshot;

/// The one table holding every key. Its name is part of the file format.
const DATA: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("arca_kv");

/// How often the unsafe test mode makes its acknowledged writes durable.
const UNSAFE_FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// redb's page cache. Its 1 GiB default lets the cache grow with the file (a 100 000-secret
/// store held ~100 MiB after open); the kernel's page cache already keeps the file's hot
/// pages, so a small user-space cache costs little read speed.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

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
/// [`RedbStorage::close`] (or dropping it) closes the file cleanly, after a final flush in
/// the unsafe test mode, releasing the lock so the file can be opened again.
pub struct RedbStorage {
    shared: Arc<Shared>,
    // The unsafe test mode's flush thread; stopped (with a final flush) before the close.
    flusher: Mutex<Option<Flusher>>,
}

/// What the storage handle, the group-commit leader and the flush thread share.
struct Shared {
    /// `None` once closed. Every operation holds the read lock while it uses the database,
    /// so the close (write lock) waits for operations in flight.
    db: RwLock<Option<Database>>,
    durability: Durability,
    /// Writes waiting for the next group commit.
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Whether a leader is committing (it takes everything queued before it returns).
    leader: bool,
}

/// One caller's write, waiting to be committed; `done` receives its own result.
struct Pending {
    ops: Vec<TxnOp>,
    done: oneshot::Sender<Result<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent across a panic (a Vec and a flag), so poisoning
    // is not an error here.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn closed() -> StorageError {
    StorageError::Backend("the embedded storage is closed".to_owned())
}

impl Shared {
    /// Runs `f` with the open database, holding the close off meanwhile.
    fn with_db<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        f(guard.as_ref().ok_or_else(closed)?)
    }

    /// Group commit: commits everything queued, again and again, until the queue is empty.
    /// Writers that arrive during a commit are queued and go together in the next one, so
    /// N concurrent writers share one fsync instead of queueing for N; a lone writer is
    /// committed at once, as before (nothing waits on a timer).
    fn lead(self: &Arc<Self>, mut guard: LeaderGuard) {
        loop {
            let group = {
                let mut q = lock(&self.queue);
                if q.pending.is_empty() {
                    q.leader = false;
                    guard.armed = false;
                    return;
                }
                std::mem::take(&mut q.pending)
            };
            let results = self.commit_group(&group);
            for (pending, result) in group.into_iter().zip(results) {
                // A caller that stopped waiting just never hears the result.
                let _ = pending.done.send(result);
            }
        }
    }

    /// Commits `group` in one write transaction and one fsync, and returns each write's
    /// result. If the shared transaction fails anywhere, every write is retried alone, so
    /// each gets its own result and one failing write cannot fail the others. Retrying is
    /// safe: puts and deletes are idempotent, and a failed redb transaction applied nothing.
    fn commit_group(&self, group: &[Pending]) -> Vec<Result<()>> {
        if let [one] = group {
            return vec![self.with_db(|db| commit_ops(db, [&one.ops[..]], self.durability, false))];
        }
        let together = self
            .with_db(|db| commit_ops(db, group.iter().map(|p| &p.ops[..]), self.durability, false));
        match together {
            Ok(()) => group.iter().map(|_| Ok(())).collect(),
            Err(_) => group
                .iter()
                .map(|p| self.with_db(|db| commit_ops(db, [&p.ops[..]], self.durability, false)))
                .collect(),
        }
    }
}

/// Held by the group-commit leader. If the leader's task never runs (the runtime is shutting
/// down) or panics, dropping it fails the queued writes and lets the next writer lead, rather
/// than leaving them waiting for ever.
struct LeaderGuard {
    shared: Arc<Shared>,
    armed: bool,
}

impl Drop for LeaderGuard {
    fn drop(&mut self) {
        if self.armed {
            let mut q = lock(&self.shared.queue);
            q.leader = false;
            // Dropping the senders tells each waiting writer its write failed.
            q.pending.clear();
        }
    }
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
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| open_error(path, e))?;
        // Create the table now so that read transactions never meet a missing table.
        commit_ops(&db, [], Durability::Immediate, true)?;

        let durability = if options.unsafe_ack_before_commit {
            Durability::None
        } else {
            Durability::Immediate
        };
        let shared = Arc::new(Shared {
            db: RwLock::new(Some(db)),
            durability,
            queue: Mutex::new(Queue::default()),
        });
        let flusher = if options.unsafe_ack_before_commit {
            Some(Flusher::spawn(Arc::clone(&shared))?)
        } else {
            None
        };
        Ok(Self {
            shared,
            flusher: Mutex::new(flusher),
        })
    }

    /// Closes the database cleanly: waits for operations in flight, makes everything durable
    /// and records redb's allocator state, so that the next open need not repair the file.
    /// Later operations fail with [`StorageError::Backend`]. Closing twice is a no-op.
    /// Blocks on file I/O.
    pub fn close(&self) -> Result<()> {
        // The unsafe mode's final flush comes first: it needs the database.
        drop(lock(&self.flusher).take());
        let db = self
            .shared
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match db {
            Some(db) => db.close().map_err(backend),
            None => Ok(()),
        }
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.with_db(f))
            .await
            .map_err(|_| StorageError::Backend("redb storage task failed".to_owned()))?
    }

    /// Queues the write for the next group commit and waits until it is committed (durably,
    /// except in the unsafe test mode). A write keeps going to completion even if the
    /// caller's future is dropped; the caller just never hears that it succeeded, which is
    /// safe.
    async fn write(&self, ops: Vec<TxnOp>) -> Result<()> {
        let (done, result) = oneshot::channel();
        let lead = {
            let mut q = lock(&self.shared.queue);
            q.pending.push(Pending { ops, done });
            !std::mem::replace(&mut q.leader, true)
        };
        if lead {
            let guard = LeaderGuard {
                shared: Arc::clone(&self.shared),
                armed: true,
            };
            let shared = Arc::clone(&self.shared);
            // If the task cannot run, the guard is dropped with it and fails the queue.
            drop(tokio::task::spawn_blocking(move || shared.lead(guard)));
        }
        result
            .await
            .map_err(|_| StorageError::Backend("redb storage task failed".to_owned()))??;
        if let Some(flusher) = lock(&self.flusher).as_ref() {
            flusher.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl Drop for RedbStorage {
    fn drop(&mut self) {
        // redb would close on drop too, but only once the last group-commit leader or
        // blocking read let go of the database; closing here releases the file's lock by
        // the time the drop returns. An error has no one to go to.
        let _ = self.close();
    }
}

#[async_trait]
impl Storage for RedbStorage {
    /// Runs inline on the caller's task, not on the blocking pool: a point read is a walk
    /// of a few cached pages (about 1 µs; a miss is a `pread` that the kernel's page cache
    /// usually serves), while the hop to the pool and back cost ~17 µs and two thread
    /// wake-ups per read. With several reads per request this was most of the CPU of a
    /// durable KV write at 16 clients (213 → 92 µs per request). Lists, which can walk a
    /// whole folder, and commits, which wait for fsync, stay on the pool.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        self.shared.with_db(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(DATA).map_err(backend)?;
            let value = table.get(key).map_err(backend)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        validate_key(key)?;
        self.write(vec![TxnOp::Put {
            key: key.to_owned(),
            value: value.to_vec(),
        }])
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.write(vec![TxnOp::Delete {
            key: key.to_owned(),
        }])
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
        self.write(ops).await
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

/// Applies every batch of `batches`, in order, in one redb write transaction. `ensure_table`
/// creates the table even when there are no ops (at open time).
///
/// Every commit is redb's one-phase commit: pages and the new commit slot are written with
/// xxh3 checksums and made durable by one fsync; after a crash, the newest slot whose
/// checksums verify wins. Two-phase commit adds a second fsync (a lone KV v2 writer made
/// 1 419 writes/s with it against 1 887 without, same build and load) against one attack
/// only: someone who chooses
/// the bytes written, orders the disk's page flushes and crashes the machine mid-fsync
/// could make a torn commit pass the non-cryptographic checksum. That attacker controls
/// the storage, which is outside Arca's threat model (`security-model.md`: the backend is
/// untrusted, rollback included); the barrier's AEAD still rejects any value such an
/// attack could forge, and value bytes are ciphertext under a random nonce, not
/// attacker-chosen. Ordinary crashes (SIGKILL, power loss) are what the checksums cover,
/// and the SIGKILL tests check.
///
/// redb's quick repair (allocator state recorded at every commit) is deliberately off: it
/// forces two-phase commit, while the repair it avoids (after a crash only; a clean close
/// records the state) took ~0.1 s for 100 000 keys.
fn commit_ops<'a>(
    db: &Database,
    batches: impl IntoIterator<Item = &'a [TxnOp]>,
    durability: Durability,
    ensure_table: bool,
) -> Result<()> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(durability).map_err(backend)?;
    txn.set_two_phase_commit(false);
    let mut batches = batches.into_iter().peekable();
    // An empty batch is a flush (it makes earlier non-durable commits durable): always commit it.
    let mut changed = ensure_table || batches.peek().is_none();
    if ensure_table || batches.peek().is_some() {
        let mut table = txn.open_table(DATA).map_err(backend)?;
        for op in batches.flatten() {
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
    fn spawn(shared: Arc<Shared>) -> Result<Self> {
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
                        let _ =
                            shared.with_db(|db| commit_ops(db, [], Durability::Immediate, false));
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
