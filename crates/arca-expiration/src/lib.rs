//! The expiration manager: every lease the server hands out (a backend's dynamic secret, a
//! service token) is recorded here, revoked through its owner when it expires, and can be
//! looked up, renewed and revoked through `sys/leases/*` and Vault's legacy aliases.
//!
//! - **Durable.** A lease is stored (record plus token index, one transaction) before
//!   [`ExpirationManager::register_secret`] or [`ExpirationManager::register_token`]
//!   returns, so it survives a restart.
//! - **Scales.** Expiry is one ordered in-memory index `(due time, lease id)` and one worker
//!   task that sleeps until the earliest due time; due leases are revoked at most
//!   [`ExpirationConfig::revoke_concurrency`] at a time, so an expiry storm does not starve
//!   the API. After unseal, leases load in the background; requests read lease records
//!   straight from storage meanwhile. Concurrent lease writes share one storage
//!   transaction (group commit), so a storm costs a few fsyncs, not one per lease.
//! - **Never drops a lease silently.** A failed revocation is retried with exponential
//!   backoff and jitter; after [`ExpirationConfig::max_revoke_attempts`] failures it is
//!   logged once, kept with its error (visible through lookup and
//!   `sys/leases?type=irrevocable`) and retried at the maximum interval until it succeeds
//!   or is force-revoked.
//! - **Deterministic.** Time comes from an injected [`Clock`]; tests move a
//!   [`ManualClock`] and call [`ExpirationManager::tick`].
//!
//! Storage layout under the view it is given (`sys/expire/`): `id/<lease id>` (JSON
//! [`LeaseEntry`]) and `token/<hash(token id)>/<hash(lease id)>` → lease id.
//!
//! Architecture invariant: this crate knows the plug-in SDK (`arca-logical`), the storage
//! trait and `arca-crypto`/`arca-types` helpers only. It must not depend on the core, the
//! token store, any backend or HTTP: the core implements [`LeaseRevoker`] to reach them.

mod clock;
mod commit;
mod entry;
mod error;
mod manager;
mod schedule;
mod sys;

pub use clock::{Clock, ManualClock, SystemClock};
pub use entry::{LeaseEntry, LeaseKind, NEVER_EXPIRES, Renewal, TtlBounds};
pub use error::ExpirationError;
pub use manager::{ExpirationConfig, ExpirationManager, LeaseRevoker};
