//! The physical storage contract of Arca.
//!
//! A [`Storage`] maps string keys to opaque byte values. Backends (in-memory, the embedded
//! redb file, PostgreSQL later) implement it; the barrier implements it too, on top of a
//! physical backend, so everything above the barrier sees the same interface with values
//! encrypted transparently.
//!
//! Contract every implementation keeps (checked by [`conformance`]):
//! - `put`, `delete` and `transaction` return only after the change is durable for that
//!   backend (for a file backend: committed and fsynced).
//! - `transaction` applies all of its operations or none of them.
//! - `list(prefix)` returns the immediate children of `prefix`, sorted: keys without a
//!   further `/`, and "folders" once each with a trailing `/` (Vault's list semantics).
//!
//! Architecture invariant: this crate depends on no database and on no other Arca crate.

use async_trait::async_trait;

mod inmem;
mod view;

// Also compiled for this crate's own tests, which run it against the in-memory backend
// and views.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use inmem::InMemStorage;
pub use view::StorageView;

/// Errors a storage backend reports. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The backend failed (I/O, database, lost connection). The string describes the
    /// failure for the operator log; it never contains a value.
    #[error("storage backend failure: {0}")]
    Backend(String),
    /// A stored value could not be decoded or authenticated (used by layers above the
    /// physical backend, such as the barrier).
    #[error("stored value at {key:?} is corrupt or was tampered with")]
    Corrupt {
        /// The storage key whose value failed.
        key: String,
    },
    /// The barrier is sealed: no key material is available to read or write values.
    #[error("storage is sealed")]
    Sealed,
    /// The key is not acceptable for this backend (empty, or contains NUL).
    #[error("invalid storage key")]
    InvalidKey,
}

/// Result alias for storage operations.
pub type Result<T> = std::result::Result<T, StorageError>;

/// One operation inside an atomic [`Storage::transaction`].
#[derive(Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Create or overwrite `key` with `value`.
    Put {
        /// The storage key.
        key: String,
        /// The value to store.
        value: Vec<u8>,
    },
    /// Remove `key` (no error when absent).
    Delete {
        /// The storage key.
        key: String,
    },
}

impl std::fmt::Debug for TxnOp {
    // Values may be secrets before the barrier has encrypted them: print keys only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxnOp::Put { key, value } => write!(f, "Put({key:?}, {} bytes)", value.len()),
            TxnOp::Delete { key } => write!(f, "Delete({key:?})"),
        }
    }
}

/// Key-value storage with Vault's physical semantics.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Reads `key`; `None` when it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Creates or overwrites `key`. Durable when it returns.
    async fn put(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key`; removing an absent key is not an error. Durable when it returns.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Immediate children of `prefix` (which is empty or ends in `/`), sorted, folders
    /// with a trailing `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Applies every operation atomically, in order. Durable when it returns.
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()>;
    /// The backend's name as reported by `sys/seal-status` (`storage_type`).
    fn backend_name(&self) -> &'static str;
    /// The HA lock of this backend, for backends shared by several nodes (PostgreSQL).
    /// Single-node backends return `None`.
    fn ha_lock(&self) -> Option<&dyn HaLock> {
        None
    }
}

/// Leader election for backends that several Arca nodes share. A later PostgreSQL backend
/// implements it; single-node backends do not.
#[async_trait]
pub trait HaLock: Send + Sync {
    /// Tries to become the leader, advertising `value` (the node's api address). Returns
    /// `true` when this node now holds the lock.
    async fn try_acquire(&self, identity: &str, value: &str) -> Result<bool>;
    /// Releases the lock if this node holds it.
    async fn release(&self, identity: &str) -> Result<()>;
    /// The value the current leader advertised, if any node holds the lock.
    async fn leader(&self) -> Result<Option<String>>;
}

/// Checks a key for the rules every backend shares: non-empty, no NUL byte.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.contains('\0') {
        return Err(StorageError::InvalidKey);
    }
    Ok(())
}

/// Computes Vault's list result from sorted keys below `prefix`: each key's remainder up
/// to and including its first `/`, deduplicated. Shared by backends whose native listing
/// is a flat range scan.
pub fn immediate_children<'a>(
    prefix: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        let child = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) != Some(child) {
            out.push(child.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}
