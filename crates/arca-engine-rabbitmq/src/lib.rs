//! The RabbitMQ secrets engine (type `rabbitmq`), following OpenBao's `rabbitmq` backend:
//!
//! * `config/connection`: the management API's URL and an administrator's credentials
//!   (checked by listing users unless `verify_connection=false`), `password_policy` and
//!   `username_template`. Write-only, as in OpenBao: the password is never read back.
//! * `config/lease`: `ttl` and `max_ttl` of the leases (0 = the mount's).
//! * `roles/<name>`: `tags`, `vhosts` (JSON: vhost → configure/write/read regexps) and
//!   `vhost_topics` (JSON: vhost → exchange → write/read regexps).
//! * `creds/<role>`: a new user (`PUT /api/users/<name>`) with the role's permissions
//!   (`PUT /api/permissions/...`, `PUT /api/topic-permissions/...`), handed out under a
//!   renewable lease. A failure after the user was created deletes it again. Revocation
//!   deletes the user and closes its open connections; a failed revocation is an error, so
//!   the core's lease manager retries it with backoff.
//!
//! Passwords live in `Zeroizing` strings, are stored only through the mount's
//! barrier-encrypted storage, and never appear in errors, logs or `Debug` output.
//!
//! Architecture invariant: this crate depends on the plug-in SDK (`arca-logical`), the
//! storage trait, wire helpers, `arca-crypto` and the password-policy generator; the one
//! exception is the database engine's username-template language, shared until it moves
//! into a crate of its own. It knows HTTP only as a client of RabbitMQ (reqwest).

use std::sync::Arc;

use arca_logical::{Backend, BackendConfig, BackendKind, Factory, LogicalResult};

mod backend;
mod client;

pub use backend::RabbitMqBackend;

/// The mount type name.
pub const TYPE_NAME: &str = "rabbitmq";

/// Failures of this engine that are not the client's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RabbitMqError {
    /// The built-in path table failed to compile.
    #[error("rabbitmq engine path table is invalid")]
    PathTable,
}

/// Creates RabbitMQ backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct RabbitMqFactory;

impl Factory for RabbitMqFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(RabbitMqBackend::new(config)?)
    }
}
