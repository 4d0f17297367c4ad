//! The crate's error type and its classification for clients.

use arca_logical::LogicalError;
use arca_storage::StorageError;

/// What can go wrong in the expiration manager. Messages never contain lease data or
/// user input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExpirationError {
    /// Storage failed (or is sealed).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No lease with that id.
    #[error("lease not found")]
    NotFound,
    /// The lease cannot be renewed.
    #[error("lease is not renewable")]
    NotRenewable,
    /// The lease is past its expiry.
    #[error("lease expired")]
    Expired,
    /// The lease expired and its revocation keeps failing.
    #[error("lease is expired and has failed previous revocation attempts")]
    Irrevocable,
    /// The lease reached its hard cap.
    #[error("past the max TTL, cannot renew")]
    PastMaxTtl,
    /// A token lease on an endpoint for secrets.
    #[error("tokens cannot be renewed through this endpoint")]
    TokenLease,
    /// The owning backend (or the token store) refused or failed.
    #[error("{0}")]
    Backend(LogicalError),
    /// A stored lease could not be encoded or decoded.
    #[error("lease record encoding failed")]
    Codec,
    /// A registration without a token id or path (a bug in the caller).
    #[error("invalid lease registration")]
    InvalidRegistration,
    /// The system random number generator failed.
    #[error("random number generator failure")]
    Random,
    /// Loading the leases after unseal failed.
    #[error("loading leases failed")]
    LoadFailed,
    /// The manager was stopped (sealed).
    #[error("expiration manager is stopped")]
    Stopped,
}

impl From<ExpirationError> for LogicalError {
    fn from(e: ExpirationError) -> Self {
        match e {
            ExpirationError::Storage(s) => LogicalError::from(s),
            ExpirationError::Backend(l) => l,
            ExpirationError::NotFound
            | ExpirationError::NotRenewable
            | ExpirationError::Expired
            | ExpirationError::Irrevocable
            | ExpirationError::PastMaxTtl
            | ExpirationError::TokenLease => LogicalError::invalid(e.to_string()),
            ExpirationError::Stopped => LogicalError::sealed(),
            ExpirationError::Codec
            | ExpirationError::Random
            | ExpirationError::LoadFailed
            | ExpirationError::InvalidRegistration => {
                tracing::error!(error = %e, "expiration manager failure");
                LogicalError::internal()
            }
        }
    }
}
