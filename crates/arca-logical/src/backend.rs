//! The contract between the core and a mounted secrets engine or auth method.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arca_storage::Storage;
use async_trait::async_trait;

use crate::{Auth, LogicalError, LogicalResult, Request, Response, SecretInfo};

/// Whether a backend serves secrets (mounted under `sys/mounts`) or logins (`sys/auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// A secrets engine.
    Secrets,
    /// An auth method, mounted under `auth/`.
    Credential,
}

/// Paths a backend treats specially, relative to its mount. A trailing `*` matches any
/// suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialPaths {
    /// Served without a token (login endpoints).
    pub unauthenticated: Vec<String>,
    /// Need `sudo` in addition to the operation's capability.
    pub root: Vec<String>,
}

impl SpecialPaths {
    fn matches(patterns: &[String], path: &str) -> bool {
        patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p,
        })
    }
    /// Whether `path` needs no token.
    pub fn is_unauthenticated(&self, path: &str) -> bool {
        Self::matches(&self.unauthenticated, path)
    }
    /// Whether `path` needs sudo.
    pub fn is_root(&self, path: &str) -> bool {
        Self::matches(&self.root, path)
    }
}

/// What a backend may ask of the system: settings of its mount, the clock and named
/// password policies. Time comes only from here, so tests can control it.
#[async_trait]
pub trait SystemView: Send + Sync {
    /// The mount's default lease TTL (its tuning, else the system's).
    fn default_lease_ttl(&self) -> Duration;
    /// The mount's maximum lease TTL.
    fn max_lease_ttl(&self) -> Duration;
    /// The current time.
    fn now(&self) -> SystemTime;
    /// The HCL text of the password policy stored at `sys/policies/password/<name>`, `None`
    /// when there is no such policy. Views without a core behind them (tests) have none.
    async fn password_policy(&self, _name: &str) -> LogicalResult<Option<String>> {
        Ok(None)
    }
}

/// Everything a backend gets when it is created for a mount.
#[derive(Clone)]
pub struct BackendConfig {
    /// Storage scoped to this mount, encrypted by the barrier.
    pub storage: Arc<dyn Storage>,
    /// The system view of this mount.
    pub system: Arc<dyn SystemView>,
    /// The mount path, with a trailing `/` (`secret/`, `auth/userpass/`).
    pub mount_path: String,
    /// The mount's accessor.
    pub mount_accessor: String,
    /// The mount's type name.
    pub mount_type: String,
    /// The mount's `options` (KV's `version`, ...).
    pub options: BTreeMap<String, String>,
}

/// One mounted instance of a secrets engine or auth method. It holds no per-request
/// state: everything about a request arrives in the [`Request`].
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Paths served without a token or needing sudo.
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths::default()
    }

    /// Handles a request; `req.path` is relative to the mount. `Ok(None)` is "nothing to
    /// say" (204 for writes, 404 for reads).
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>>;

    /// For writes: whether the target exists, so the ACL can tell `create` from `update`.
    /// `None` means the backend makes no distinction (always `update`).
    async fn exists(&self, _req: &Request) -> LogicalResult<Option<bool>> {
        Ok(None)
    }

    /// Renews a lease this backend issued; the answer's `secret` carries the new TTL.
    async fn renew(&self, _req: &Request, _secret: &SecretInfo) -> LogicalResult<Option<Response>> {
        Err(LogicalError::invalid("lease is not renewable"))
    }

    /// Revokes a lease this backend issued (drops the database user, ...).
    async fn revoke(&self, _req: &Request, _secret: &SecretInfo) -> LogicalResult<()> {
        Ok(())
    }

    /// For auth methods: checks that a token it issued may still be renewed (the role
    /// still exists, ...). `Ok(None)` lets the core renew with its own rules.
    async fn renew_auth(&self, _req: &Request, _auth: &Auth) -> LogicalResult<Option<Response>> {
        Ok(None)
    }

    /// Called once after creation and after every unseal.
    async fn initialize(&self) -> LogicalResult<()> {
        Ok(())
    }

    /// Called when the mount is disabled or the server seals.
    async fn cleanup(&self) {}
}

/// Creates backends of one type; the core keeps an explicit registry of factories.
pub trait Factory: Send + Sync + 'static {
    /// The type name used in `sys/mounts` and `sys/auth` (`kv`, `userpass`, ...).
    fn type_name(&self) -> &'static str;
    /// Secrets engine or auth method.
    fn kind(&self) -> BackendKind;
    /// A backend for one mount.
    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>>;
}
