//! The database secrets engine (type `database`), following OpenBao's `database` backend:
//!
//! * `config/<name>`: connections to PostgreSQL (`postgresql-database-plugin`),
//!   MySQL/MariaDB (`mysql-database-plugin` and variants) and Redis/Valkey
//!   (`redis-database-plugin`, `valkey-database-plugin`), with `{{username}}`/`{{password}}`
//!   templated connection URLs, pools, TLS, `reset/<name>` and `rotate-root/<name>`.
//! * `roles/<name>` and `creds/<role>`: dynamic users created by statements and handed out
//!   under a renewable lease; renewal moves the database-side expiry, revocation drops the
//!   user and ends its sessions. A failed revocation is an error, so the core's lease
//!   manager retries it with backoff.
//! * `static-roles/<name>`, `static-creds/<name>`, `rotate-role/<name>`: existing accounts
//!   whose passwords Arca rotates on a period or a 5-field cron schedule, and **phased**
//!   roles that alternate two accounts with a grace period (docs/phased-rotation.md).
//!   Rotations are journalled (a WAL record before the database changes, removed in the
//!   same transaction that records the result), so they survive restarts and a schedule
//!   point is never rotated twice. One background task per mount, started in `initialize`
//!   and stopped in `cleanup`, reads time from [`arca_logical::SystemView::now`].
//! * Passwords come from `arca-password-policy` (re-exported as [`password_policy`]): Vault's
//!   default generator, an inline HCL policy, or a named policy that the mount's
//!   [`arca_logical::SystemView::password_policy`] reads from `sys/policies/password/<name>`.
//!
//! Secrets (root and user passwords) live in `Zeroizing` strings, are stored only through
//! the mount's barrier-encrypted storage, and are scrubbed from database error messages.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait, wire helpers (`arca-types`), `arca-crypto` and the password-policy
//! generator (`arca-password-policy`) among Arca crates; never on
//! the core, another engine or HTTP. The database drivers (tokio-postgres, mysql_async, a
//! small RESP client) are private to it.

use std::sync::Arc;

use arca_logical::{Backend, BackendConfig, BackendKind, Factory, LogicalResult};

mod backend;
pub mod cron;
mod model;
mod plugin;
mod statics;
pub mod template;

pub use arca_password_policy as password_policy;
pub use backend::DatabaseBackend;

/// The mount type name.
pub const TYPE_NAME: &str = "database";

/// Failures of this engine that are not the client's fault. Messages never contain
/// passwords or request values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// The built-in path table failed to compile.
    #[error("database engine path table is invalid")]
    PathTable,
}

/// Creates database backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct DatabaseFactory;

impl Factory for DatabaseFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(DatabaseBackend::new(config)?)
    }
}
