//! The token store: creates, validates, renews and revokes client tokens, and serves every
//! `auth/token/*` endpoint.
//!
//! - **Service tokens** (`s.` + 24 base62 characters) are random and never stored: an entry
//!   lives under `id/<HMAC-SHA-256(salt, token)>`, so a storage dump reveals no usable token.
//!   Indexes: `accessor/<HMAC(salt, accessor)>` → entry id, and `parent/<parent id>/<child id>`
//!   so that a revocation walks the tree without scanning.
//! - **Batch tokens** (`b.` + base64url(AES-256-GCM(entry))) are self-contained and never
//!   stored; they expire by the expiry sealed inside them, cannot be renewed, revoked or used
//!   to create tokens, and die with their parent.
//! - Revoking a token revokes its whole subtree, children first; [`TokenHooks::token_revoked`]
//!   is called for each so the core revokes the token's leases and destroys its cubbyhole.
//! - Use-limited tokens are decremented durably by [`TokenStore::authenticate`]; the last use
//!   succeeds and the core then calls [`TokenStore::finish_use`], which revokes the token.
//! - An expired token is refused by [`TokenStore::authenticate`] the moment its expiry
//!   passes, whether or not the lease manager has revoked it yet.
//!
//! Time comes only from the [`arca_logical::SystemView`], so tests drive it with a manual
//! clock. Tokens never appear in logs, errors or `Debug` output.
//!
//! Architecture invariant: this crate knows the plug-in SDK (`arca-logical`), the storage
//! trait, the crypto seam, the wire helpers of `arca-types` and, from `arca-acl`, only the
//! policy-name rule. It must not depend on the core, the lease manager, identity or HTTP:
//! what it needs from them comes through [`TokenHooks`] and the fields of each
//! [`arca_logical::Request`] (the caller, and whether it holds sudo).

use std::time::Duration;

use arca_logical::{Auth, LogicalError};
use async_trait::async_trait;

mod backend;
mod entry;
mod role;
mod store;
mod util;

pub use entry::TokenEntry;
pub use role::{RoleTokenType, TokenRole};
pub use store::{TidyReport, TokenStore};
pub use util::sanitize_policies;

/// Errors of the token store. Messages never contain tokens or user-supplied values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Storage failed or is sealed.
    #[error(transparent)]
    Storage(#[from] arca_storage::StorageError),
    /// A cryptographic primitive failed (RNG, key setup).
    #[error("cryptographic failure")]
    Crypto,
    /// A stored value could not be decoded.
    #[error("stored token data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The request is invalid; the message is safe to show to the client (400).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (403).
    #[error("permission denied")]
    PermissionDenied,
    /// A [`TokenHooks`] call failed; its classified error is passed through.
    #[error("{0}")]
    Hook(LogicalError),
}

impl From<arca_crypto::CryptoError> for TokenError {
    fn from(_: arca_crypto::CryptoError) -> Self {
        TokenError::Crypto
    }
}

impl From<TokenError> for LogicalError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Storage(s) => LogicalError::from(s),
            TokenError::Invalid(m) => LogicalError::invalid(m),
            TokenError::PermissionDenied => LogicalError::permission_denied(),
            TokenError::Hook(e) => e,
            other @ (TokenError::Crypto | TokenError::Corrupt(_)) => {
                tracing::error!(error = %other, "token store failure");
                LogicalError::internal()
            }
        }
    }
}

/// What the token store needs from the core. Implemented by the core; every call happens
/// outside any lock of the store.
#[async_trait]
pub trait TokenHooks: Send + Sync {
    /// A service token with a TTL was created (never called for batch tokens or for tokens
    /// without a TTL, such as root tokens). The core registers the token's lease and returns
    /// its id. `entry.lease_id` is pre-filled with the Vault-style id `<path>/<entry id>`;
    /// returning that id costs nothing, any other value is written back to the entry (an
    /// extra write), `""` records "no lease". On error the token is deleted again and the
    /// creation fails with this error.
    async fn token_created(&self, entry: &TokenEntry) -> Result<String, LogicalError>;

    /// A token was renewed: its lease must now expire at `entry.expire_time`, `ttl` from
    /// now. The entry is already stored; an error is reported to the client, and the token
    /// then dies at its old expiry if the lease was not updated (the safe direction).
    async fn token_renewed(&self, _entry: &TokenEntry, _ttl: Duration) -> Result<(), LogicalError> {
        Ok(())
    }

    /// A token is being revoked: revoke every lease it created (and its own lease,
    /// `entry.lease_id`) and destroy its cubbyhole (`entry.id`). Called for every token of
    /// a revoked tree, children before parents, before the entry is deleted. On error the
    /// revocation stops; the token stays unusable (marked for revocation) and a later
    /// revocation or tidy retries.
    async fn token_revoked(&self, entry: &TokenEntry) -> Result<(), LogicalError>;

    /// Renewal of a token from an auth-method login (`entry.path` not under
    /// `auth/token/`): the core may ask the auth method (`Backend::renew_auth`) whether and
    /// how the token may be renewed. `Some(auth)` supplies the TTL, max TTL, period and
    /// explicit max TTL to renew with; `None` keeps the values stored with the token; an
    /// error refuses the renewal.
    async fn renew_login(&self, _entry: &TokenEntry) -> Result<Option<Auth>, LogicalError> {
        Ok(None)
    }

    /// Whether an ACL policy of this name exists: `auth/token/create*` warns
    /// `Policy "<name>" does not exist` for each of the new token's policies that does not,
    /// as Vault does (the token is created anyway). By default every policy exists.
    async fn policy_exists(&self, _name: &str) -> Result<bool, LogicalError> {
        Ok(true)
    }

    /// `entity_alias` on `auth/token/create/<role>`: the entity id for an alias of that
    /// name on the token mount (created if absent). Without an identity store this is
    /// unsupported.
    async fn entity_for_alias(&self, _alias_name: &str) -> Result<String, LogicalError> {
        Err(LogicalError::invalid("entity aliases are not supported"))
    }
}
