//! Helpers shared by Arca's auth methods (`userpass`, `approle`, `cert`, `jwt`), so
//! that plug-ins never depend on each other:
//!
//! - [`TokenParams`]: the common `token_*` role/user fields of Vault's `tokenutil`
//!   (`token_ttl`, `token_max_ttl`, `token_period`, `token_policies`, `token_bound_cidrs`,
//!   `token_num_uses`, `token_type`, `token_no_default_policy`, `token_explicit_max_ttl`,
//!   `token_strictly_bind_ip`) and their legacy aliases (`policies`, `ttl`, `max_ttl`,
//!   `period`, `bound_cidrs`): decoding from a request, rendering for a read, and filling a
//!   login's [`arca_logical::Auth`].
//! - [`cidr`]: CIDR blocks (parsing, membership, subsets).
//! - [`normalize_name`]: the one normalisation of user and role names (trim, ASCII lower
//!   case, a restricted alphabet), applied everywhere a name enters.
//! - [`KeyedLocks`]: striped async locks to serialise work on one key.
//! - [`lockout`]: failed-login lockout (threshold, counter reset window, lockout duration),
//!   kept in the mount's own storage, with list and unlock functions the core can call,
//!   and the `config/lockout` / `locked-users` endpoints ([`lockout::handle_admin`]).
//! - [`list_response`], [`warnings_only`], [`trimmed_list`], [`glob_match`]: answers and
//!   field rules every method shares.
//! - `testing` (feature `test-support`, dev-only): a mounted method for the methods'
//!   integration tests.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`) and
//! the storage trait (`arca-storage`); never on the core, HTTP, or an auth method.

pub mod cidr;
pub mod lockout;
mod locks;
mod names;
mod respond;
#[cfg(feature = "test-support")]
pub mod testing;
mod timefmt;
mod token;

pub use locks::KeyedLocks;
pub use names::{MAX_NAME_LEN, normalize_name};
pub use respond::{glob_match, list_response, trimmed_list, warnings_only};
pub use timefmt::{format_rfc3339_nanos, unix_nanos};
pub use token::{Legacy, TokenParams, TokenTypeSetting, equivalent_policies, parse_policies};

/// Failures inside the shared helpers that are not the client's fault. Messages never
/// contain names, values or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthCommonError {
    /// A stored lockout record or configuration could not be decoded.
    #[error("stored lockout record is corrupt")]
    CorruptLockout,
    /// A record could not be encoded.
    #[error("lockout record could not be encoded")]
    Encode,
}

impl From<AuthCommonError> for arca_logical::LogicalError {
    fn from(e: AuthCommonError) -> Self {
        tracing::error!(error = %e, "auth helper failure");
        arca_logical::LogicalError::internal()
    }
}
