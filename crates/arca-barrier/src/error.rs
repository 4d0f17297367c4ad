//! The barrier's error type.

use arca_crypto::CryptoError;
use arca_storage::StorageError;

/// Errors from the barrier. None carries key material, plaintext or stored values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierError {
    /// The physical backend failed.
    #[error("barrier storage failure: {0}")]
    Storage(#[from] StorageError),
    /// The random number generator or another primitive failed.
    #[error("barrier cryptographic failure: {0}")]
    Crypto(CryptoError),
    /// `initialize` found an existing keyring.
    #[error("barrier is already initialized")]
    AlreadyInitialized,
    /// `unseal` found no keyring.
    #[error("barrier is not initialized")]
    NotInitialized,
    /// The root key did not authenticate the keyring: wrong key, or the keyring was
    /// tampered with.
    #[error("unseal failed: the root key does not authenticate the keyring")]
    Unseal,
    /// The keyring authenticated but its contents are malformed, or its envelope is.
    #[error("barrier keyring is corrupt")]
    KeyringCorrupt,
    /// A root key was not 32 bytes long.
    #[error("root key must be 32 bytes")]
    InvalidRootKey,
    /// A stored value is shorter than header, nonce and tag.
    #[error("stored value is truncated")]
    Truncated,
    /// A stored value has a format version this barrier does not write.
    #[error("stored value has unknown format version {version}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// A stored value names a key term the keyring does not hold.
    #[error("stored value was encrypted under unknown key term {term}")]
    UnknownTerm {
        /// The term found.
        term: u32,
    },
    /// A stored value failed authentication: tampered, or moved from another path.
    #[error("stored value failed authentication")]
    Authentication,
    /// The active term has used all the encryptions reserved for it; it must be rotated
    /// or its reservation raised (the `Storage` interface does both on its own).
    #[error("active key term has no reserved encryptions left")]
    TermExhausted,
    /// The keyring reached the largest term number.
    #[error("keyring term numbers are exhausted")]
    TermOverflow,
    /// A rotation configuration was out of range.
    #[error("invalid rotation config: {0}")]
    InvalidRotationConfig(&'static str),
    /// The operation would touch a path the barrier reserves for itself.
    #[error("path is reserved for the barrier")]
    ReservedPath,
    /// [`Barrier::seal`](crate::Barrier::seal) wiped the keyring from memory.
    #[error("barrier is sealed")]
    Sealed,
}

impl BarrierError {
    /// Converts to the storage error the `Storage` interface reports for `key`.
    pub(crate) fn into_storage(self, key: &str) -> StorageError {
        match self {
            BarrierError::Storage(e) => e,
            BarrierError::Truncated
            | BarrierError::UnknownVersion { .. }
            | BarrierError::UnknownTerm { .. }
            | BarrierError::Authentication => StorageError::Corrupt {
                key: key.to_owned(),
            },
            BarrierError::Sealed => StorageError::Sealed,
            BarrierError::ReservedPath => StorageError::InvalidKey,
            other => StorageError::Backend(other.to_string()),
        }
    }
}
