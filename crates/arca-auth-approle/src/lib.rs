//! The AppRole auth method (type `approle`): roles with a role ID and secret IDs, for
//! machines and services (Vault Agent's `approle` auto-auth).
//!
//! Endpoints (relative to the mount, `auth/approle/`):
//!
//! | path | operations |
//! |---|---|
//! | `role/` | LIST role names |
//! | `role/<r>` | create/update (`bind_secret_id`, `secret_id_bound_cidrs` (legacy `bound_cidr_list`), `secret_id_num_uses`, `secret_id_ttl`, `local_secret_ids`, `role_id`, `token_*`, legacy `policies`, `period`), read, delete |
//! | `role/<r>/role-id` | read; update with a custom `role_id` |
//! | `role/<r>/secret-id` | update: generate (`metadata`, `cidr_list`, `token_bound_cidrs`, `num_uses`, `ttl`); LIST: accessors |
//! | `role/<r>/custom-secret-id` | update: register a caller-chosen `secret_id` |
//! | `role/<r>/secret-id/lookup`, `.../destroy` | by `secret_id` |
//! | `role/<r>/secret-id-accessor/lookup`, `.../destroy` | by `secret_id_accessor` |
//! | `role/<r>/<field>` | read/update/delete one setting (`policies`, `secret-id-num-uses`, `secret-id-ttl`, `token-ttl`, `token-max-ttl`, `token-num-uses`, `bind-secret-id`, `bound-cidr-list`, `secret-id-bound-cidrs`, `token-bound-cidrs`, `period`; `local-secret-ids` read only) |
//! | `login` | unauthenticated; `role_id` (+ `secret_id`) → `auth` (metadata `role_name` and the secret ID's metadata; alias = role ID) |
//! | `tidy/secret-id` | update: removes expired secret IDs in the background |
//! | `config/lockout`, `locked-users`, `locked-users/<r>/unlock` | lockout of roles after failed logins (see [`arca_auth_common::lockout`]) |
//!
//! Secret IDs are never stored: only their HMAC under a per-role key, compared in
//! constant time; accessors and role IDs are indexed by an HMAC under a per-mount salt.
//! Neither appears in logs or errors. A secret ID's use count is decremented durably
//! (in the same storage transaction that deletes its last use) before the login answers;
//! every CIDR restriction is checked before a use is consumed. Expired secret IDs never
//! log in, and `tidy/secret-id` removes them (with any index left dangling).
//!
//! Failed logins (unknown role ID, wrong or expired secret ID) all answer
//! `400 "invalid role or secret ID"`. Wrong secret IDs for an existing role count toward
//! the role's lockout (keyed by role name); a locked role answers the same way.
//!
//! Renewal ([`Backend::renew_auth`]) refuses when the role no longer exists and otherwise
//! renews with the role's current `token_ttl`, `token_max_ttl` and `token_period`.
//!
//! Storage layout (inside the mount's barrier-encrypted view): `salt`; `role/<name>`;
//! `role_id/<salted role ID>` → role name; `secret_id/<role HMAC>/<secret ID HMAC>`;
//! `accessor/<salted accessor>` → the secret ID's HMACs; `lockout/<name>`;
//! `config/lockout`.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`),
//! the storage trait, `arca-crypto` and the shared auth helpers (`arca-auth-common`);
//! never on the core, HTTP or another auth method.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use arca_auth_common::lockout::{self, ADMIN_PATHS, AdminRoute, Lockout, LockoutConfig};
use arca_auth_common::{KeyedLocks, MAX_NAME_LEN, normalize_name};
use arca_logical::{
    Auth, Backend, BackendConfig, BackendKind, ErrorKind, Factory, LogicalError, LogicalResult,
    Operation, PathTable, Request, Response, SpecialPaths, SystemView,
};
use arca_storage::Storage;
use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::OnceCell;

mod login;
mod role;
mod secret;
mod store;
mod tidy;

pub use tidy::{TidyReport, tidy_secret_ids};

/// The mount type name.
pub const TYPE_NAME: &str = "approle";

/// The answer to every failed login.
pub const INVALID_CREDENTIALS: &str = "invalid role or secret ID";

/// Failures inside this method that are not the client's fault. Messages never contain
/// role IDs, secret IDs, accessors or names.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApproleError {
    /// A stored record could not be decoded.
    #[error("stored approle record is corrupt")]
    Corrupt,
    /// A record could not be encoded.
    #[error("approle record could not be encoded")]
    Encode,
    /// The system random generator failed.
    #[error("random generator failure")]
    Random,
    /// The path table could not be built (a bug).
    #[error("path table is invalid")]
    Paths,
}

impl From<ApproleError> for LogicalError {
    fn from(e: ApproleError) -> Self {
        tracing::error!(error = %e, "approle failure");
        LogicalError::internal()
    }
}

/// Creates AppRole backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApproleFactory;

impl Factory for ApproleFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Credential
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(Approle::new(config)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Roles,
    Role,
    RoleId,
    SecretId,
    CustomSecretId,
    SecretIdLookup,
    SecretIdDestroy,
    AccessorLookup,
    AccessorDestroy,
    Field,
    Login,
    Tidy,
    Lockout(AdminRoute),
}

fn paths() -> Result<PathTable<Route>, ApproleError> {
    const R: &str = "role/(?P<name>[^/]+)";
    let table: [(String, Route); 12] = [
        ("role/?".to_owned(), Route::Roles),
        (format!("{R}/role-id"), Route::RoleId),
        (format!("{R}/secret-id/?"), Route::SecretId),
        (format!("{R}/custom-secret-id"), Route::CustomSecretId),
        (format!("{R}/secret-id/lookup/?"), Route::SecretIdLookup),
        (format!("{R}/secret-id/destroy/?"), Route::SecretIdDestroy),
        (
            format!("{R}/secret-id-accessor/lookup/?"),
            Route::AccessorLookup,
        ),
        (
            format!("{R}/secret-id-accessor/destroy/?"),
            Route::AccessorDestroy,
        ),
        (format!("{R}/(?P<field>[a-z-]+)"), Route::Field),
        (R.to_owned(), Route::Role),
        ("login".to_owned(), Route::Login),
        ("tidy/secret-id".to_owned(), Route::Tidy),
    ];
    let admin = ADMIN_PATHS.map(|(p, r)| (p.to_owned(), Route::Lockout(r)));
    table
        .into_iter()
        .chain(admin)
        .try_fold(PathTable::new(), |t, (p, r)| t.add(&p, r))
        .map_err(|_| ApproleError::Paths)
}

/// One mounted AppRole method. It holds its storage, caches and locks; nothing about a
/// request.
struct Approle {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    /// The per-mount salt for indexes, loaded (or created) on first use.
    salt: OnceCell<String>,
    lockout: Lockout,
    /// Serialises changes to one role (its entry, its role ID index, its secret IDs).
    roles: KeyedLocks,
    /// Serialises uses of one secret ID (by its HMAC).
    secrets: KeyedLocks,
    tidy_running: Arc<AtomicBool>,
    tidy_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn role_name(captures: &BTreeMap<String, String>) -> LogicalResult<String> {
    let raw = captures.get("name").map(String::as_str).unwrap_or_default();
    if raw.len() > MAX_NAME_LEN {
        return Err(LogicalError::invalid(format!(
            "role_name is longer than maximum of {MAX_NAME_LEN} bytes"
        )));
    }
    normalize_name(raw).ok_or_else(|| LogicalError::invalid("invalid role_name"))
}

fn role_missing() -> LogicalError {
    LogicalError::new(ErrorKind::NotFound, "role does not exist")
}

impl Approle {
    fn new(config: BackendConfig) -> Result<Self, ApproleError> {
        Ok(Self {
            lockout: Lockout::new(LockoutConfig::from_options(&config.options)),
            storage: config.storage,
            system: config.system,
            paths: paths()?,
            salt: OnceCell::new(),
            roles: KeyedLocks::default(),
            secrets: KeyedLocks::default(),
            tidy_running: Arc::new(AtomicBool::new(false)),
            tidy_task: Mutex::new(None),
        })
    }
}

#[async_trait]
impl Backend for Approle {
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            unauthenticated: vec!["login".to_owned()],
            root: Vec::new(),
        }
    }

    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let m = self
            .paths
            .route(&req.path)
            .ok_or_else(LogicalError::unsupported_path)?;
        let op = req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        let c = &m.captures;
        match (*m.handler, op) {
            (Route::Roles, Operation::List) => self.list_roles().await,
            (Route::Role, Operation::Read) => self.read_role(&role_name(c)?).await,
            (Route::Role, Operation::Delete) => self.delete_role(&role_name(c)?).await,
            (Route::Role, _) if write => self.write_role(req, &role_name(c)?).await,
            (Route::RoleId, Operation::Read) => self.read_role_id(&role_name(c)?).await,
            (Route::RoleId, _) if write => self.write_role_id(req, &role_name(c)?).await,
            (Route::Field, Operation::Read) => self.read_field(&role_name(c)?, field(c)?).await,
            (Route::Field, Operation::Delete) => self.delete_field(&role_name(c)?, field(c)?).await,
            (Route::Field, _) if write => self.write_field(req, &role_name(c)?, field(c)?).await,
            (Route::SecretId, Operation::List) => self.list_secret_ids(&role_name(c)?).await,
            (Route::SecretId, _) if write => {
                self.generate_secret_id(req, &role_name(c)?, None).await
            }
            (Route::CustomSecretId, _) if write => {
                let f = req.fields();
                let custom = f.string("secret_id")?.unwrap_or_default();
                self.generate_secret_id(req, &role_name(c)?, Some(custom))
                    .await
            }
            (Route::SecretIdLookup, _) if write => self.lookup_secret_id(req, &role_name(c)?).await,
            (Route::SecretIdDestroy, _) if write || op == Operation::Delete => {
                self.destroy_secret_id(req, &role_name(c)?).await
            }
            (Route::AccessorLookup, _) if write => self.lookup_accessor(req, &role_name(c)?).await,
            (Route::AccessorDestroy, _) if write || op == Operation::Delete => {
                self.destroy_accessor(req, &role_name(c)?).await
            }
            (Route::Login, _) if write => self.login(req).await,
            (Route::Tidy, _) if write => Ok(Some(self.start_tidy())),
            (Route::Lockout(r), _) => {
                let storage = self.storage.as_ref();
                let now = self.system.now();
                lockout::handle_admin(&self.lockout, storage, now, r, req, || role_name(c)).await
            }
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        if *m.handler != Route::Role {
            return Ok(None);
        }
        let Ok(name) = role_name(&m.captures) else {
            return Ok(None);
        };
        Ok(Some(self.role(&name).await?.is_some()))
    }

    async fn renew_auth(&self, _req: &Request, auth: &Auth) -> LogicalResult<Option<Response>> {
        let raw = auth
            .internal_data
            .get("role_name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| auth.metadata.get("role_name").cloned())
            .unwrap_or_default();
        let gone = || LogicalError::invalid("role no longer exists; not renewing");
        let name = normalize_name(&raw).ok_or_else(gone)?;
        let role = self.role(&name).await?.ok_or_else(gone)?;
        Ok(Some(role.token.renewed(auth)))
    }

    async fn cleanup(&self) {
        let task = match self.tidy_task.lock() {
            Ok(mut slot) => slot.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(t) = task {
            t.abort();
        }
        self.tidy_running
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

fn field(captures: &BTreeMap<String, String>) -> LogicalResult<role::FieldPath> {
    captures
        .get("field")
        .and_then(|f| role::FieldPath::parse(f))
        .ok_or_else(LogicalError::unsupported_path)
}
