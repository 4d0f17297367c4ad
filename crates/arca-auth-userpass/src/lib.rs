//! The userpass auth method (type `userpass`): users with a password and token settings,
//! and `login/<username>` that checks the password and asks the core for a token.
//!
//! Endpoints (relative to the mount, `auth/userpass/`):
//!
//! | path | operations |
//! |---|---|
//! | `users/` | LIST usernames |
//! | `users/<u>` | create/update (`password` or `password_hash`, `token_*` and legacy `policies`, `ttl`, `max_ttl`, `bound_cidrs`), read, delete |
//! | `users/<u>/password` | update the password |
//! | `users/<u>/policies` | update `token_policies` (or legacy `policies`) |
//! | `login/<u>` | unauthenticated; `password` → `auth` (metadata `username`, alias = username, display name = username) |
//! | `config/lockout` | read/update the mount's lockout settings (see [`arca_auth_common::lockout`]) |
//! | `locked-users` | read or list the locked usernames (`keys`, `key_info`) |
//! | `locked-users/<u>/unlock` | update: forget the user's failures |
//!
//! Usernames are normalised once where they enter ([`arca_auth_common::normalize_name`]:
//! trimmed, ASCII lower case), so `Alice`, ` alice` and `ALICE` are one user everywhere:
//! storage key, login, lockout record, alias and token metadata.
//!
//! Passwords are hashed with Argon2id in `spawn_blocking` (see `password.rs`); they and
//! their hashes never appear in logs, errors or Debug output, and a read never returns
//! them. A failed login is `400 "invalid username or password"` whether the user is
//! unknown, the password wrong or the user locked out: the same status, body and (one
//! Argon2id verification each) cost. A login from outside the user's `token_bound_cidrs`
//! after a correct password is `403 "permission denied"`, as in Vault.
//!
//! Renewal ([`Backend::renew_auth`]) refuses when the user no longer exists or its
//! policies changed, and otherwise renews with the user's current `token_ttl`,
//! `token_max_ttl` and `token_period`.
//!
//! Storage layout (inside the mount's barrier-encrypted view): `user/<username>` holds the
//! user (token settings and the PHC hash); `lockout/<username>` failed-login records;
//! `config/lockout` lockout overrides.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`),
//! the storage trait, `arca-crypto` and the shared auth helpers (`arca-auth-common`);
//! never on the core, HTTP or another auth method.

use std::collections::BTreeMap;
use std::sync::Arc;

use arca_auth_common::lockout::{self, ADMIN_PATHS, AdminRoute, Lockout, LockoutConfig};
use arca_auth_common::{
    KeyedLocks, Legacy, TokenParams, cidr, equivalent_policies, list_response, normalize_name,
    warnings_only,
};
use arca_logical::{
    Alias, Auth, Backend, BackendConfig, BackendKind, Factory, FieldData, LogicalError,
    LogicalResult, Operation, PathTable, Request, Response, SpecialPaths, SystemView,
};
use arca_storage::Storage;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

mod password;

use password::Hasher;

/// The mount type name.
pub const TYPE_NAME: &str = "userpass";

/// The answer to every failed login.
pub const INVALID_CREDENTIALS: &str = "invalid username or password";

const USER_PREFIX: &str = "user/";

/// Failures inside this method that are not the client's fault. Messages never contain
/// usernames, passwords or hashes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserpassError {
    /// A stored user could not be decoded.
    #[error("stored user entry is corrupt")]
    CorruptUser,
    /// A user could not be encoded.
    #[error("user entry could not be encoded")]
    Encode,
    /// The system random generator failed.
    #[error("random generator failure")]
    Random,
    /// Argon2id refused its inputs.
    #[error("password hashing failed")]
    Hash,
    /// The blocking hashing task was cancelled or panicked.
    #[error("password hashing task failed")]
    Task,
    /// The path table could not be built (a bug).
    #[error("path table is invalid")]
    Paths,
}

impl From<UserpassError> for LogicalError {
    fn from(e: UserpassError) -> Self {
        tracing::error!(error = %e, "userpass failure");
        LogicalError::internal()
    }
}

/// Creates userpass backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct UserpassFactory;

impl Factory for UserpassFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Credential
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(Userpass::new(config)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Users,
    User,
    Password,
    Policies,
    Login,
    Lockout(AdminRoute),
}

fn paths() -> Result<PathTable<Route>, UserpassError> {
    let t = PathTable::new();
    let add = |t: PathTable<Route>, p: &str, r| t.add(p, r).map_err(|_| UserpassError::Paths);
    let t = add(t, "users/?", Route::Users)?;
    let t = add(t, "users/(?P<name>[^/]+)/password", Route::Password)?;
    let t = add(t, "users/(?P<name>[^/]+)/policies", Route::Policies)?;
    let t = add(t, "users/(?P<name>[^/]+)", Route::User)?;
    let t = add(t, "login/(?P<name>[^/]+)", Route::Login)?;
    ADMIN_PATHS
        .into_iter()
        .try_fold(t, |t, (p, r)| add(t, p, Route::Lockout(r)))
}

/// A stored user. No `Debug`: it holds the password hash.
#[derive(Clone, Default, Serialize, Deserialize)]
struct UserEntry {
    #[serde(flatten)]
    token: TokenParams,
    /// PHC Argon2id string; empty for a user without a password (cannot log in).
    #[serde(default)]
    password_hash: String,
}

/// One mounted userpass method.
struct Userpass {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    hasher: Hasher,
    lockout: Lockout,
    /// Serialises writes to one user (read-modify-write of its entry).
    writes: KeyedLocks,
}

fn username(captures: &BTreeMap<String, String>) -> LogicalResult<String> {
    captures
        .get("name")
        .and_then(|n| normalize_name(n))
        .ok_or_else(|| LogicalError::invalid("invalid username"))
}

fn invalid_credentials() -> LogicalError {
    LogicalError::invalid(INVALID_CREDENTIALS)
}

impl Userpass {
    fn new(config: BackendConfig) -> Result<Self, UserpassError> {
        Ok(Self {
            lockout: Lockout::new(LockoutConfig::from_options(&config.options)),
            storage: config.storage,
            system: config.system,
            paths: paths()?,
            hasher: Hasher::new()?,
            writes: KeyedLocks::default(),
        })
    }

    async fn user(&self, name: &str) -> LogicalResult<Option<UserEntry>> {
        match self.storage.get(&format!("{USER_PREFIX}{name}")).await? {
            Some(raw) => Ok(Some(
                serde_json::from_slice(&raw).map_err(|_| UserpassError::CorruptUser)?,
            )),
            None => Ok(None),
        }
    }

    async fn save(&self, name: &str, user: &UserEntry) -> LogicalResult<()> {
        let raw = serde_json::to_vec(user).map_err(|_| UserpassError::Encode)?;
        self.storage
            .put(&format!("{USER_PREFIX}{name}"), &raw)
            .await?;
        Ok(())
    }

    /// Sets the password from `password` or `password_hash` (exactly one must be sent).
    async fn set_password(&self, f: &FieldData<'_>, user: &mut UserEntry) -> LogicalResult<()> {
        let password = f
            .string("password")?
            .filter(|p| !p.is_empty())
            .map(Zeroizing::new);
        let hash = f.string("password_hash")?.filter(|p| !p.is_empty());
        match (password, hash) {
            (Some(_), Some(_)) => Err(LogicalError::invalid(
                "only one of password or password_hash may be provided",
            )),
            (None, None) => Err(LogicalError::invalid(
                "must provide either password or password_hash",
            )),
            (Some(p), None) => {
                user.password_hash = self.hasher.hash(p).await?;
                Ok(())
            }
            (None, Some(h)) => {
                user.password_hash = password::import_hash(&h).ok_or_else(|| {
                    LogicalError::invalid("password_hash is not a valid argon2id hash")
                })?;
                Ok(())
            }
        }
    }

    async fn write_user(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.writes.lock(name).await;
        let existing = self.user(name).await?;
        let creating = existing.is_none();
        let mut user = existing.unwrap_or_default();
        let mut warnings = user.token.update(&f, Legacy::USERPASS)?;
        let sends_password = f.string("password")?.is_some_and(|p| !p.is_empty())
            || f.string("password_hash")?.is_some_and(|p| !p.is_empty());
        if creating || sends_password {
            self.set_password(&f, &mut user).await?;
        }
        self.save(name, &user).await?;
        warnings.extend(f.warnings());
        Ok(warnings_only(warnings))
    }

    async fn read_user(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(user) = self.user(name).await? else {
            return Ok(None);
        };
        let mut data = Map::new();
        user.token.populate_data(&mut data, Legacy::USERPASS);
        Ok(Some(Response::with_data(data)))
    }

    async fn delete_user(&self, name: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.writes.lock(name).await;
        self.storage.delete(&format!("{USER_PREFIX}{name}")).await?;
        // A user created again under this name starts without the old failures.
        lockout::unlock(self.storage.as_ref(), name).await?;
        Ok(None)
    }

    async fn list_users(&self) -> LogicalResult<Option<Response>> {
        let mut keys = self.storage.list(USER_PREFIX).await?;
        keys.retain(|k| !k.ends_with('/'));
        Ok(list_response(keys))
    }

    async fn update_password(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.writes.lock(name).await;
        let mut user = self
            .user(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("username does not exist"))?;
        self.set_password(&f, &mut user).await?;
        self.save(name, &user).await?;
        Ok(warnings_only(f.warnings()))
    }

    async fn update_policies(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.writes.lock(name).await;
        let mut user = self
            .user(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("username does not exist"))?;
        // Only the policy fields apply here, with the legacy-name rules of a user write.
        let only: Map<String, Value> = req
            .data
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "token_policies" | "policies"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let legacy = Legacy {
            policies: true,
            ..Legacy::NONE
        };
        let mut warnings = user.token.update(&FieldData::new(&only), legacy)?;
        self.save(name, &user).await?;
        let f = req.fields();
        f.mark_used(&["token_policies", "policies"]);
        warnings.extend(f.warnings());
        Ok(warnings_only(warnings))
    }

    async fn login(
        &self,
        req: &Request,
        captures: &BTreeMap<String, String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["username"]);
        // A name that cannot exist is a failed login like any other.
        let name = captures
            .get("name")
            .and_then(|n| normalize_name(n))
            .ok_or_else(invalid_credentials)?;
        let password = Zeroizing::new(f.string("password")?.unwrap_or_default());
        if password.is_empty() {
            return Err(LogicalError::invalid("missing password"));
        }
        let storage = self.storage.as_ref();
        let now = self.system.now();
        let attempt = self.lockout.begin(storage, &name, now).await?;
        let user = self.user(&name).await?;
        let stored = user
            .as_ref()
            .map(|u| u.password_hash.as_str())
            .filter(|h| !h.is_empty());
        // One verification on every path (unknown user, no password, locked, wrong or
        // right password), so they all cost the same.
        let matches = self.hasher.verify(password, stored).await?;
        let has_password = stored.is_some();
        let Some(user) = user else {
            // Unknown users leave no record (nothing for an attacker to fill storage with).
            return Err(invalid_credentials());
        };
        if attempt.locked() {
            return Err(invalid_credentials());
        }
        if !matches {
            if has_password {
                attempt.failed(storage, now).await?;
            }
            return Err(invalid_credentials());
        }
        let remote = req.remote_addr.map(|a| a.ip());
        if !cidr::remote_allowed(&user.token.token_bound_cidrs, remote) {
            return Err(LogicalError::permission_denied());
        }
        attempt.succeeded(storage).await?;

        let mut auth = Auth {
            metadata: BTreeMap::from([("username".to_owned(), name.clone())]),
            display_name: name.clone(),
            alias: Some(Alias {
                name: name.clone(),
                metadata: BTreeMap::new(),
            }),
            internal_data: Map::from_iter([("username".to_owned(), Value::String(name))]),
            ..Auth::default()
        };
        user.token.populate_auth(&mut auth, remote)?;
        Ok(Some(Response {
            auth: Some(auth),
            warnings: f.warnings(),
            ..Response::default()
        }))
    }
}

#[async_trait]
impl Backend for Userpass {
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            unauthenticated: vec!["login/*".to_owned()],
            root: Vec::new(),
        }
    }

    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let m = self
            .paths
            .route(&req.path)
            .ok_or_else(LogicalError::unsupported_path)?;
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (*m.handler, req.operation) {
            (Route::Users, Operation::List) => self.list_users().await,
            (Route::User, Operation::Read) => self.read_user(&username(&m.captures)?).await,
            (Route::User, Operation::Delete) => self.delete_user(&username(&m.captures)?).await,
            (Route::User, _) if write => self.write_user(req, &username(&m.captures)?).await,
            (Route::Password, _) if write => {
                self.update_password(req, &username(&m.captures)?).await
            }
            (Route::Policies, _) if write => {
                self.update_policies(req, &username(&m.captures)?).await
            }
            (Route::Login, _) if write => self.login(req, &m.captures).await,
            (Route::Lockout(r), _) => {
                let storage = self.storage.as_ref();
                let now = self.system.now();
                let name = || username(&m.captures);
                lockout::handle_admin(&self.lockout, storage, now, r, req, name).await
            }
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        if *m.handler != Route::User {
            return Ok(None);
        }
        let Some(name) = m.captures.get("name").and_then(|n| normalize_name(n)) else {
            return Ok(None);
        };
        Ok(Some(self.user(&name).await?.is_some()))
    }

    async fn renew_auth(&self, _req: &Request, auth: &Auth) -> LogicalResult<Option<Response>> {
        let raw = auth
            .metadata
            .get("username")
            .cloned()
            .or_else(|| {
                auth.internal_data
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let gone = || LogicalError::invalid("user no longer exists; not renewing");
        let name = normalize_name(&raw).ok_or_else(gone)?;
        let user = self.user(&name).await?.ok_or_else(gone)?;
        let current = if auth.token_policies.is_empty() {
            &auth.policies
        } else {
            &auth.token_policies
        };
        if !equivalent_policies(&user.token.token_policies, current) {
            return Err(LogicalError::invalid("policies have changed, not renewing"));
        }
        Ok(Some(user.token.renewed(auth)))
    }
}
