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
//! * [`password_policy`]: Vault's password-policy HCL and generator, public so the core can
//!   serve `sys/policies/password/*`; the engine reads named policies through
//!   [`PasswordPolicies`].
//!
//! Secrets (root and user passwords) live in `Zeroizing` strings, are stored only through
//! the mount's barrier-encrypted storage, and are scrubbed from database error messages.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait, wire helpers (`arca-types`) and `arca-crypto` among Arca crates; never on
//! the core, another engine or HTTP. The database drivers (tokio-postgres, mysql_async, a
//! small RESP client) are private to it.

use std::sync::Arc;

use arca_logical::{Backend, BackendConfig, BackendKind, Factory, LogicalResult};
use async_trait::async_trait;

mod backend;
pub mod cron;
mod model;
pub mod password_policy;
mod plugin;
mod statics;
pub mod template;

pub use backend::DatabaseBackend;

/// The mount type name.
pub const TYPE_NAME: &str = "database";

/// Named password policies (`sys/policies/password/<name>`), provided by the core.
#[async_trait]
pub trait PasswordPolicies: Send + Sync {
    /// The HCL text of the named policy, `None` when there is no such policy.
    async fn policy(&self, name: &str) -> LogicalResult<Option<String>>;
}

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
#[derive(Default, Clone)]
pub struct DatabaseFactory {
    policies: Option<Arc<dyn PasswordPolicies>>,
}

impl DatabaseFactory {
    /// A factory whose backends resolve `password_policy` names through `policies`.
    pub fn with_policies(policies: Arc<dyn PasswordPolicies>) -> Self {
        DatabaseFactory {
            policies: Some(policies),
        }
    }
}

impl Factory for DatabaseFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(DatabaseBackend::new(config, self.policies.clone())?)
    }
}
