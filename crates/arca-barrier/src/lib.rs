//! The encryption barrier of Arca.
//!
//! Every value that reaches a physical [`Storage`](arca_storage::Storage) backend passes
//! through a [`Barrier`], which encrypts it with AES-256-GCM under the active key of a
//! keyring of numbered *terms*. The keyring itself is stored at [`KEYRING_PATH`],
//! encrypted by the [`RootKey`]; the root key is encrypted by the seal, which lives in the
//! core, not here.
//!
//! # Stored value format (version 2)
//!
//! ```text
//! [term: u32 big-endian][version: u8 = 2][nonce: 12][ciphertext][tag: 16]
//! ```
//!
//! The GCM associated data is the storage path's bytes, so a value copied to another key
//! fails to authenticate. A fresh random nonce is drawn for every write. `decrypt` rejects
//! values shorter than 33 bytes, any version other than 2 (there is no unauthenticated
//! version 1 to downgrade to), terms absent from the keyring, and failed tags.
//!
//! # Keyring record (`core/keyring`)
//!
//! ```text
//! [envelope version: u8 = 1][nonce: 12][ciphertext][tag: 16]      AAD = b"core/keyring"
//! ```
//!
//! sealed with the root key. Its plaintext is a compact big-endian binary record:
//!
//! ```text
//! magic "ARKR" | format u8 = 1 | active term u32
//! | rotation enabled u8 | max_operations u64 | interval seconds u64 | interval nanos u32
//! | term count u32 | per term: term u32, install time (unix ns) i128,
//! |                            reserved encryptions u64, key [32]
//! ```
//!
//! # Usage counting
//!
//! AES-GCM with random 96-bit nonces must not encrypt more than 2^32 values under one key.
//! Each term counts its encryptions in memory and persists a *reservation* in the keyring:
//! the count may never pass the persisted reservation, and the reservation is raised (the
//! keyring rewritten) in blocks of [`RESERVATION_BLOCK`] before it is reached. After a
//! restart the count resumes from the reservation, so it can over-count but never
//! under-count. The reservation is capped at the term's rotation limit, so a term can
//! never encrypt more than `max_operations` values (at most [`ABSOLUTE_OPERATION_MAXIMUM`]
//! even with rotation disabled): writes through the `Storage` interface rotate first.
//!
//! Architecture invariant: this crate depends only on `arca-crypto` and `arca-storage`
//! among Arca crates; it knows nothing of seals, Shamir, HTTP or the core.

mod barrier;
mod config;
mod error;
mod format;
mod keyring;
mod root_key;

pub use barrier::{Barrier, KeyStatus};
pub use config::{
    ABSOLUTE_OPERATION_MAXIMUM, ABSOLUTE_OPERATION_MINIMUM, BarrierOptions,
    MINIMUM_ROTATION_INTERVAL, RESERVATION_BLOCK, RotationConfig,
};
pub use error::BarrierError;
pub use format::{VALUE_HEADER_LEN, VALUE_MIN_LEN, VALUE_VERSION};
pub use root_key::RootKey;

/// The physical storage key of the sealed keyring. The barrier's own `Storage` interface
/// refuses every access to it.
pub const KEYRING_PATH: &str = "core/keyring";

/// Plaintext that leaves the barrier is zeroized on drop.
pub use zeroize::Zeroizing;
