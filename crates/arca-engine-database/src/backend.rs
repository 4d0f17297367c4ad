//! The backend: path table, connections, dynamic roles and leases. Static roles are in
//! `statics.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_logical::{
    Backend, BackendConfig, ErrorKind, LogicalError, LogicalResult, Operation, PathTable, Request,
    Response, SecretInfo, SystemView,
};
use arca_storage::{Storage, TxnOp};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::DatabaseError;
use crate::model::{self, ConnectionConfig, Role, RootWal, Secret};
use crate::password_policy::PasswordPolicy;
use crate::plugin::{self, Database, DbError, PluginKind};
use arca_username_template::{UsernameMetadata, UsernameTemplate};

/// Vault's `framework.GenericNameRegex`.
const NAME: &str = r"\w(?:(?:[\w\-.]+)?\w)?";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ConfigList,
    Config,
    Reset,
    RotateRoot,
    RoleList,
    Role,
    StaticList,
    StaticRole,
    Creds,
    StaticCreds,
    RotateRole,
}

/// Fields of `config/<name>` that are not connection details.
const CONFIG_FIELDS: &[&str] = &[
    "name",
    "plugin_name",
    "plugin_version",
    "verify_connection",
    "allowed_roles",
    "root_rotation_statements",
    "password_policy",
];

/// A mounted database engine.
pub struct DatabaseBackend {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    /// Open plugins by connection name; rebuilt from storage when absent.
    conns: tokio::sync::Mutex<HashMap<String, Arc<dyn Database>>>,
    /// Serialises rotations and writes of one static role.
    pub(crate) role_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// When each static role next needs attention (unix seconds), and failure backoff.
    pub(crate) due: std::sync::Mutex<BTreeMap<String, (i64, u32)>>,
    task: std::sync::Mutex<
        Option<(
            tokio::task::JoinHandle<()>,
            tokio::sync::watch::Sender<bool>,
        )>,
    >,
    pub(crate) me: Weak<DatabaseBackend>,
    /// How often the rotation task looks at the clock.
    pub(crate) tick: Duration,
}

pub(crate) fn db_err(e: DbError) -> LogicalError {
    if e.config {
        LogicalError::invalid(e.message)
    } else {
        tracing::warn!(error = %e, "database operation failed");
        LogicalError::new(ErrorKind::Internal, e.message)
    }
}

pub(crate) fn name_of(captures: &BTreeMap<String, String>) -> LogicalResult<String> {
    captures
        .get("name")
        .cloned()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LogicalError::invalid("empty name attribute given"))
}

pub(crate) fn list_response(keys: Vec<String>) -> Option<Response> {
    if keys.is_empty() {
        return None;
    }
    let mut m = Map::new();
    m.insert("keys".into(), json!(keys));
    Some(Response::with_data(m))
}

/// `*`, or a glob match against `allowed_roles`.
pub(crate) fn role_allowed(allowed: &[String], role: &str) -> bool {
    allowed.iter().any(|pat| glob(pat, role))
}

fn glob(pat: &str, s: &str) -> bool {
    if pat == "*" {
        return true;
    }
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(idx) => rest = &rest[idx + p.len()..],
                None => return false,
            }
        }
    }
    true
}

pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn to_offset(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl DatabaseBackend {
    /// A backend for one mount.
    pub fn new(config: BackendConfig) -> LogicalResult<Arc<Self>> {
        Self::with_tick(config, Duration::from_secs(1))
    }

    /// As [`DatabaseBackend::new`], with the rotation task's polling interval.
    pub fn with_tick(config: BackendConfig, tick: Duration) -> LogicalResult<Arc<Self>> {
        let n = NAME;
        let table = || -> Result<PathTable<Route>, regex::Error> {
            PathTable::new()
                .add("config/?", Route::ConfigList)?
                .add(&format!("config/(?P<name>{n})"), Route::Config)?
                .add(&format!("reset/(?P<name>{n})"), Route::Reset)?
                .add(&format!("rotate-root/(?P<name>{n})"), Route::RotateRoot)?
                .add("roles/?", Route::RoleList)?
                .add(&format!("roles/(?P<name>{n})"), Route::Role)?
                .add("static-roles/?", Route::StaticList)?
                .add(&format!("static-roles/(?P<name>{n})"), Route::StaticRole)?
                .add(&format!("creds/(?P<name>{n})"), Route::Creds)?
                .add(&format!("static-creds/(?P<name>{n})"), Route::StaticCreds)?
                .add(&format!("rotate-role/(?P<name>{n})"), Route::RotateRole)
        };
        let paths = table().map_err(|_| {
            tracing::error!(error = %DatabaseError::PathTable, "database engine");
            LogicalError::internal()
        })?;
        Ok(Arc::new_cyclic(|me| DatabaseBackend {
            storage: config.storage,
            system: config.system,
            paths,
            conns: tokio::sync::Mutex::new(HashMap::new()),
            role_locks: std::sync::Mutex::new(HashMap::new()),
            due: std::sync::Mutex::new(BTreeMap::new()),
            task: std::sync::Mutex::new(None),
            me: me.clone(),
            tick,
        }))
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.system.now()
    }

    // ---- connections ------------------------------------------------------------------

    pub(crate) async fn config(&self, name: &str) -> LogicalResult<Option<ConnectionConfig>> {
        model::get_json(self.storage.as_ref(), &format!("{}{name}", model::CONFIG)).await
    }

    /// The connection's configuration and open plugin.
    pub(crate) async fn connection(
        &self,
        name: &str,
    ) -> LogicalResult<(ConnectionConfig, Arc<dyn Database>)> {
        let config = self.config(name).await?.ok_or_else(|| {
            LogicalError::invalid("unable to find the database connection configuration")
        })?;
        let mut conns = self.conns.lock().await;
        if let Some(db) = conns.get(name) {
            return Ok((config, Arc::clone(db)));
        }
        let kind = PluginKind::from_name(&config.plugin_name)
            .ok_or_else(|| LogicalError::invalid("unsupported database plugin"))?;
        let db = plugin::build(kind, &config.connection_details).map_err(db_err)?;
        conns.insert(name.to_owned(), Arc::clone(&db));
        Ok((config, db))
    }

    async fn drop_connection(&self, name: &str) {
        let old = self.conns.lock().await.remove(name);
        if let Some(db) = old {
            db.close().await;
        }
    }

    /// A password from the connection's policy: empty = Vault's default generator, HCL text
    /// = an inline policy, otherwise the name of a policy the core serves.
    pub(crate) async fn generate_password(&self, policy: &str) -> LogicalResult<Zeroizing<String>> {
        let p = self.resolve_policy(policy).await?;
        p.generate()
            .map_err(|e| LogicalError::invalid(format!("failed to generate password: {e}")))
    }

    async fn resolve_policy(&self, policy: &str) -> LogicalResult<PasswordPolicy> {
        let policy = policy.trim();
        if policy.is_empty() {
            return Ok(PasswordPolicy::default_policy());
        }
        if policy.contains('=') || policy.contains('{') || policy.contains('\n') {
            return PasswordPolicy::parse(policy)
                .map_err(|e| LogicalError::invalid(format!("invalid password_policy: {e}")));
        }
        let text = self
            .system
            .password_policy(policy)
            .await?
            .ok_or_else(|| LogicalError::invalid("password policy not found"))?;
        PasswordPolicy::parse(&text)
            .map_err(|e| LogicalError::invalid(format!("invalid password policy: {e}")))
    }

    // ---- config/ ----------------------------------------------------------------------

    async fn config_write(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let existing = self.config(name).await?;
        let create = existing.is_none();
        let mut config = existing.unwrap_or_default();
        if let Some(p) = f.string("plugin_name")? {
            config.plugin_name = p;
        }
        if config.plugin_name.is_empty() {
            return Err(LogicalError::invalid("empty plugin name"));
        }
        let kind = PluginKind::from_name(&config.plugin_name).ok_or_else(|| {
            LogicalError::invalid("error creating database object: unsupported database plugin")
        })?;
        if let Some(v) = f.string("plugin_version")? {
            if !v.is_empty() && !v.starts_with("v0.0.0") && v != "builtin" {
                return Err(LogicalError::invalid(
                    "only the built-in version of a database plugin is available",
                ));
            }
            config.plugin_version = String::new();
        }
        let verify = f.bool("verify_connection")?.unwrap_or(true);
        if let Some(r) = f.comma_list("allowed_roles")? {
            config.allowed_roles = r;
        } else if create {
            config.allowed_roles = Vec::new();
        }
        if let Some(s) = f.string_list("root_rotation_statements")? {
            config.root_credentials_rotate_statements = s;
        }
        if let Some(p) = f.string("password_policy")? {
            config.password_policy = p;
        }
        // Everything else is a connection detail, merged over the stored ones.
        let details: Map<String, Value> = req
            .data
            .iter()
            .filter(|(k, _)| !CONFIG_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if create {
            config.connection_details = details;
        } else {
            config.connection_details.extend(details);
        }
        config.connection_details.retain(|_, v| !v.is_null());

        // Validate what a later request would trip over.
        if let Some(t) = config.connection_details.get("username_template") {
            let t = arca_types::field::as_string(t)
                .map_err(|_| LogicalError::invalid("username_template must be a string"))?;
            if !t.is_empty() {
                UsernameTemplate::parse(&t).map_err(|e| {
                    LogicalError::invalid(format!("error creating database object: {e}"))
                })?;
            }
        }
        self.resolve_policy(&config.password_policy).await?;
        let db = plugin::build(kind, &config.connection_details).map_err(|e| {
            LogicalError::invalid(format!("error creating database object: {}", e.message))
        })?;
        if verify && let Err(e) = db.verify().await {
            db.close().await;
            return Err(LogicalError::invalid(format!(
                "error creating database object: {}",
                e.message
            )));
        }
        model::put_json(
            self.storage.as_ref(),
            &format!("{}{name}", model::CONFIG),
            &config,
        )
        .await?;
        let old = self.conns.lock().await.insert(name.to_owned(), db);
        if let Some(old) = old {
            old.close().await;
        }
        let url = config
            .connection_details
            .get("connection_url")
            .and_then(Value::as_str)
            .unwrap_or("");
        if plugin::url_has_literal_password(url) {
            let mut r = Response::default();
            r.warnings.push("Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information.".to_owned());
            return Ok(Some(r));
        }
        Ok(None)
    }

    async fn config_read(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(mut c) = self.config(name).await? else {
            return Ok(None);
        };
        c.connection_details.remove("password");
        c.connection_details.remove("private_key");
        if let Some(Value::String(u)) = c.connection_details.get_mut("connection_url") {
            *u = plugin::redact_url(u);
        }
        let mut m = Map::new();
        m.insert("plugin_name".into(), json!(c.plugin_name));
        m.insert("plugin_version".into(), json!(c.plugin_version));
        m.insert(
            "connection_details".into(),
            Value::Object(c.connection_details),
        );
        m.insert("allowed_roles".into(), json!(c.allowed_roles));
        m.insert(
            "root_credentials_rotate_statements".into(),
            json!(c.root_credentials_rotate_statements),
        );
        m.insert("password_policy".into(), json!(c.password_policy));
        Ok(Some(Response::with_data(m)))
    }

    async fn rotate_root(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(mut config) = self.config(name).await? else {
            return Err(LogicalError::invalid(
                "unable to find the database connection configuration",
            ));
        };
        let username = config
            .connection_details
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if username.is_empty() {
            return Err(LogicalError::invalid(
                "unable to rotate root credentials: no username in configuration",
            ));
        }
        let has_password = config
            .connection_details
            .get("password")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty());
        if !has_password {
            return Err(LogicalError::invalid(
                "unable to rotate root credentials: no password in configuration",
            ));
        }
        let (_, db) = self.connection(name).await?;
        let password = self.generate_password(&config.password_policy).await?;
        let wal_key = format!("{}{name}", model::ROOT_WAL);
        model::put_json(
            self.storage.as_ref(),
            &wal_key,
            &RootWal {
                password: Secret::new(password.clone()),
            },
        )
        .await?;
        if let Err(e) = db
            .set_password(
                &config.root_credentials_rotate_statements,
                &username,
                &password,
            )
            .await
        {
            // The old password still works: forget the attempt.
            self.storage.delete(&wal_key).await?;
            return Err(db_err(DbError {
                message: format!("failed to update user: {}", e.message),
                config: e.config,
            }));
        }
        config
            .connection_details
            .insert("password".into(), Value::String(password.to_string()));
        let bytes = Zeroizing::new(model::to_json(&config)?);
        self.storage
            .transaction(vec![
                TxnOp::Put {
                    key: format!("{}{name}", model::CONFIG),
                    value: bytes.to_vec(),
                },
                TxnOp::Delete { key: wal_key },
            ])
            .await?;
        self.drop_connection(name).await;
        Ok(None)
    }

    /// Finishes root rotations interrupted by a crash: if the journalled password works,
    /// it is the root password now.
    async fn recover_root_wals(&self) -> LogicalResult<()> {
        for name in self.storage.list(model::ROOT_WAL).await? {
            let key = format!("{}{name}", model::ROOT_WAL);
            let Some(wal) = model::get_json::<RootWal>(self.storage.as_ref(), &key).await? else {
                continue;
            };
            let Some(mut config) = self.config(&name).await? else {
                self.storage.delete(&key).await?;
                continue;
            };
            let mut trial = config.clone();
            trial.connection_details.insert(
                "password".into(),
                Value::String(wal.password.expose().to_owned()),
            );
            let works = match PluginKind::from_name(&trial.plugin_name)
                .and_then(|k| plugin::build(k, &trial.connection_details).ok())
            {
                Some(db) => {
                    let ok = db.verify().await.is_ok();
                    db.close().await;
                    ok
                }
                None => false,
            };
            if works {
                config.connection_details = trial.connection_details;
                let bytes = Zeroizing::new(model::to_json(&config)?);
                self.storage
                    .transaction(vec![
                        TxnOp::Put {
                            key: format!("{}{name}", model::CONFIG),
                            value: bytes.to_vec(),
                        },
                        TxnOp::Delete { key },
                    ])
                    .await?;
            } else {
                self.storage.delete(&key).await?;
            }
        }
        Ok(())
    }

    // ---- roles/ -----------------------------------------------------------------------

    pub(crate) async fn role(&self, name: &str) -> LogicalResult<Option<Role>> {
        model::get_json(self.storage.as_ref(), &format!("{}{name}", model::ROLE)).await
    }

    async fn role_write(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        if self.static_role(name).await?.is_some() {
            return Err(LogicalError::invalid(
                "Role and Static Role names must be unique",
            ));
        }
        let f = req.fields();
        let mut role = self.role(name).await?.unwrap_or_else(|| Role {
            credential_type: model::password_type(),
            ..Role::default()
        });
        if let Some(d) = f.string("db_name")? {
            role.db_name = d;
        }
        if role.db_name.is_empty() {
            return Err(LogicalError::invalid("database name is required"));
        }
        if let Some(t) = f.string("credential_type")? {
            if t != "password" {
                return Err(LogicalError::invalid(
                    "unsupported credential_type: only \"password\" is available",
                ));
            }
            role.credential_type = t;
        }
        if let Some(c) = f.raw("credential_config") {
            match c {
                Value::Object(m) => role.credential_config = m.clone(),
                _ => {
                    return Err(LogicalError::invalid(
                        "credential_config validation failed: expected a map",
                    ));
                }
            }
        }
        if let Some(policy) = role
            .credential_config
            .get("password_policy")
            .and_then(Value::as_str)
        {
            self.resolve_policy(policy).await?;
        }
        if let Some(s) = f.string_list("creation_statements")? {
            role.creation_statements = s;
        }
        if let Some(s) = f.string_list("revocation_statements")? {
            role.revocation_statements = s.into_iter().filter(|x| !x.trim().is_empty()).collect();
        }
        if let Some(s) = f.string_list("rollback_statements")? {
            role.rollback_statements = s;
        }
        if let Some(s) = f.string_list("renew_statements")? {
            role.renew_statements = s;
        }
        if let Some(d) = f.duration("default_ttl")? {
            role.default_ttl = d.as_secs();
        }
        if let Some(d) = f.duration("max_ttl")? {
            role.max_ttl = d.as_secs();
        }
        if role.max_ttl > 0 && role.default_ttl > role.max_ttl {
            return Err(LogicalError::invalid(
                "default_ttl cannot be greater than max_ttl",
            ));
        }
        f.mark_used(&["name"]);
        let warnings = f.warnings();
        model::put_json(
            self.storage.as_ref(),
            &format!("{}{name}", model::ROLE),
            &role,
        )
        .await?;
        Ok((!warnings.is_empty()).then(|| Response {
            warnings,
            ..Response::default()
        }))
    }

    fn role_data(role: &Role) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("db_name".into(), json!(role.db_name));
        m.insert(
            "creation_statements".into(),
            json!(role.creation_statements),
        );
        m.insert(
            "revocation_statements".into(),
            json!(role.revocation_statements),
        );
        m.insert(
            "rollback_statements".into(),
            json!(role.rollback_statements),
        );
        m.insert("renew_statements".into(), json!(role.renew_statements));
        m.insert("default_ttl".into(), json!(role.default_ttl));
        m.insert("max_ttl".into(), json!(role.max_ttl));
        m.insert("credential_type".into(), json!(role.credential_type));
        if !role.credential_config.is_empty() {
            m.insert(
                "credential_config".into(),
                Value::Object(role.credential_config.clone()),
            );
        }
        m
    }

    // ---- creds/ and leases -------------------------------------------------------------

    fn ttls(&self, role: &Role) -> (Duration, Duration) {
        let default = if role.default_ttl > 0 {
            Duration::from_secs(role.default_ttl)
        } else {
            self.system.default_lease_ttl()
        };
        let max = if role.max_ttl > 0 {
            Duration::from_secs(role.max_ttl)
        } else {
            self.system.max_lease_ttl()
        };
        (default, max)
    }

    async fn creds(&self, req: &Request, name: &str) -> LogicalResult<Option<Response>> {
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| LogicalError::invalid("unknown role"))?;
        let (config, db) = self.connection(&role.db_name).await?;
        if !role_allowed(&config.allowed_roles, name) {
            return Err(LogicalError::invalid(
                "the role is not an allowed role of its database connection",
            ));
        }
        let (default, max) = self.ttls(&role);
        let ttl = if max.is_zero() {
            default
        } else {
            default.min(max)
        };
        let now = self.now();
        // A few seconds of slack so the database never expires the user before the lease.
        let expiration = to_offset(now + ttl + Duration::from_secs(5));

        let kind = PluginKind::from_name(&config.plugin_name)
            .ok_or_else(|| LogicalError::invalid("unsupported database plugin"))?;
        let template_src = config
            .connection_details
            .get("username_template")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or(kind.default_username_template());
        let template = UsernameTemplate::parse(template_src)
            .map_err(|e| LogicalError::invalid(e.to_string()))?;
        let meta = UsernameMetadata {
            display_name: req
                .caller
                .as_ref()
                .map(|c| c.display_name.clone())
                .unwrap_or_default(),
            role_name: name.to_owned(),
            unix_millis: now
                .duration_since(UNIX_EPOCH)
                .map(|d| i128::try_from(d.as_millis()).unwrap_or(0))
                .unwrap_or(0),
        };
        let username = template
            .render(&meta)
            .map_err(|e| LogicalError::invalid(e.to_string()))?;
        let policy = role
            .credential_config
            .get("password_policy")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .unwrap_or(&config.password_policy)
            .to_owned();
        let password = self.generate_password(&policy).await?;
        db.create_user(
            &role.creation_statements,
            &role.rollback_statements,
            &username,
            &password,
            expiration,
        )
        .await
        .map_err(db_err)?;

        let mut data = Map::new();
        data.insert("username".into(), json!(username));
        data.insert("password".into(), Value::String(password.to_string()));
        let mut internal = Map::new();
        internal.insert("username".into(), json!(username));
        internal.insert("role".into(), json!(name));
        internal.insert("db_name".into(), json!(role.db_name));
        internal.insert(
            "revocation_statements".into(),
            json!(role.revocation_statements),
        );
        internal.insert("issue_time".into(), json!(unix_secs(now)));
        Ok(Some(Response {
            data: Some(data),
            secret: Some(SecretInfo {
                ttl: Duration::from_secs(role.default_ttl),
                max_ttl: Duration::from_secs(role.max_ttl),
                renewable: true,
                leased: true,
                internal_data: internal,
                ..SecretInfo::default()
            }),
            ..Response::default()
        }))
    }

    async fn renew_creds(
        &self,
        req: &Request,
        secret: &SecretInfo,
    ) -> LogicalResult<Option<Response>> {
        let internal = &secret.internal_data;
        let username = internal
            .get("username")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                LogicalError::invalid("secret is missing \"username\" field in internal data")
            })?;
        let role_name = internal
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                LogicalError::invalid("secret is missing \"role\" field in internal data")
            })?;
        let role = self
            .role(role_name)
            .await?
            .ok_or_else(|| LogicalError::invalid("error during renew: could not find the role"))?;
        let (_, db) = self.connection(&role.db_name).await?;
        let (default, max) = self.ttls(&role);
        // The increment, when the core passes it (`increment` in the request data or the
        // secret's TTL). Without one the lease's new length is unknown here, so the
        // database-side expiry goes to the lease's hard limit (issue time + max TTL): it is
        // a safety net and must never end before the lease does.
        let explicit = match req.fields().duration("increment")? {
            Some(d) if !d.is_zero() => Some(d),
            _ if !secret.ttl.is_zero() => Some(secret.ttl),
            _ => None,
        };
        let now = self.now();
        let issued = internal.get("issue_time").and_then(Value::as_i64);
        let left_to_max = match issued {
            Some(issued) if !max.is_zero() => {
                let end = issued.saturating_add(i64::try_from(max.as_secs()).unwrap_or(i64::MAX));
                Some(Duration::from_secs(
                    u64::try_from(end.saturating_sub(unix_secs(now)).max(0)).unwrap_or(0),
                ))
            }
            _ => None,
        };
        let ttl = match (explicit, left_to_max) {
            (Some(inc), Some(left)) => inc.min(left),
            (Some(inc), None) => inc,
            (None, Some(left)) => left,
            (None, None) => default,
        };
        if !ttl.is_zero() {
            let exp = to_offset(now + ttl + Duration::from_secs(5));
            db.renew_user(&role.renew_statements, username, exp)
                .await
                .map_err(db_err)?;
        }
        Ok(Some(Response {
            secret: Some(SecretInfo {
                lease_id: secret.lease_id.clone(),
                ttl: Duration::from_secs(role.default_ttl),
                max_ttl: Duration::from_secs(role.max_ttl),
                renewable: true,
                leased: true,
                internal_data: secret.internal_data.clone(),
            }),
            ..Response::default()
        }))
    }

    async fn revoke_creds(&self, secret: &SecretInfo) -> LogicalResult<()> {
        let internal = &secret.internal_data;
        let username = internal
            .get("username")
            .and_then(Value::as_str)
            .ok_or_else(|| LogicalError::invalid("secret is missing username internal data"))?;
        let role_name = internal
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| LogicalError::invalid("no role name was provided"))?;
        let (db_name, statements) = match self.role(role_name).await? {
            Some(role) => (role.db_name, role.revocation_statements),
            None => {
                // The role is gone: use what was recorded with the lease.
                let db_name = internal
                    .get("db_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| LogicalError::invalid("error during revoke: could not find the role or embedded revocation db name data"))?;
                let stmts = internal
                    .get("revocation_statements")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                (db_name.to_owned(), stmts)
            }
        };
        let (_, db) = self.connection(&db_name).await?;
        db.delete_user(&statements, username).await.map_err(|e| {
            tracing::warn!(error = %e, "revoking a database user failed; the lease manager retries");
            LogicalError::new(ErrorKind::Internal, format!("failed to revoke database user: {}", e.message))
        })
    }

    // ---- background task --------------------------------------------------------------

    fn start_task(&self) {
        let Some(me) = self.me.upgrade() else { return };
        let mut guard = match self.task.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.is_some() {
            return;
        }
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let weak = Arc::downgrade(&me);
        let tick = self.tick;
        drop(me);
        let handle = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(tick) => {}
                    _ = rx.changed() => break,
                }
                let Some(b) = weak.upgrade() else { break };
                b.run_due().await;
            }
        });
        *guard = Some((handle, tx));
    }

    async fn stop_task(&self) {
        let task = match self.task.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some((handle, tx)) = task {
            let _ = tx.send(true);
            let _ = handle.await;
        }
    }
}

#[async_trait]
impl Backend for DatabaseBackend {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let op = req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        match (*m.handler, op) {
            (Route::ConfigList, Operation::List) => {
                Ok(list_response(self.storage.list(model::CONFIG).await?))
            }
            (Route::Config, _) if write => self.config_write(req, &name_of(&m.captures)?).await,
            (Route::Config, Operation::Read) => self.config_read(&name_of(&m.captures)?).await,
            (Route::Config, Operation::Delete) => {
                let name = name_of(&m.captures)?;
                self.storage
                    .delete(&format!("{}{name}", model::CONFIG))
                    .await?;
                self.drop_connection(&name).await;
                Ok(None)
            }
            (Route::Reset, _) if write => {
                let name = name_of(&m.captures)?;
                self.drop_connection(&name).await;
                self.connection(&name).await?;
                Ok(None)
            }
            (Route::RotateRoot, _) if write => self.rotate_root(&name_of(&m.captures)?).await,
            (Route::RoleList, Operation::List) => {
                Ok(list_response(self.storage.list(model::ROLE).await?))
            }
            (Route::Role, _) if write => self.role_write(req, &name_of(&m.captures)?).await,
            (Route::Role, Operation::Read) => Ok(self
                .role(&name_of(&m.captures)?)
                .await?
                .map(|r| Response::with_data(Self::role_data(&r)))),
            (Route::Role, Operation::Delete) => {
                let name = name_of(&m.captures)?;
                self.storage
                    .delete(&format!("{}{name}", model::ROLE))
                    .await?;
                Ok(None)
            }
            (Route::Creds, Operation::Read | Operation::Update) => {
                self.creds(req, &name_of(&m.captures)?).await
            }
            (Route::StaticList, Operation::List) => {
                Ok(list_response(self.storage.list(model::STATIC_ROLE).await?))
            }
            (Route::StaticRole, _) if write => {
                self.static_role_write(req, &name_of(&m.captures)?).await
            }
            (Route::StaticRole, Operation::Read) => {
                self.static_role_read(&name_of(&m.captures)?).await
            }
            (Route::StaticRole, Operation::Delete) => {
                self.static_role_delete(&name_of(&m.captures)?).await
            }
            (Route::StaticCreds, Operation::Read) => {
                self.static_creds(&name_of(&m.captures)?).await
            }
            (Route::RotateRole, _) if write => self.rotate_role_now(&name_of(&m.captures)?).await,
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        let Some(name) = m.captures.get("name") else {
            return Ok(None);
        };
        let prefix = match m.handler {
            Route::Config => model::CONFIG,
            Route::Role => model::ROLE,
            Route::StaticRole => model::STATIC_ROLE,
            _ => return Ok(None),
        };
        Ok(Some(
            self.storage
                .get(&format!("{prefix}{name}"))
                .await?
                .is_some(),
        ))
    }

    async fn renew(&self, req: &Request, secret: &SecretInfo) -> LogicalResult<Option<Response>> {
        self.renew_creds(req, secret).await
    }

    async fn revoke(&self, _req: &Request, secret: &SecretInfo) -> LogicalResult<()> {
        self.revoke_creds(secret).await
    }

    async fn initialize(&self) -> LogicalResult<()> {
        if let Err(e) = self.recover_root_wals().await {
            tracing::warn!(error = %e, "database engine: recovering root rotations failed");
        }
        self.load_due().await?;
        self.start_task();
        Ok(())
    }

    async fn cleanup(&self) {
        self.stop_task().await;
        let conns: Vec<Arc<dyn Database>> =
            self.conns.lock().await.drain().map(|(_, d)| d).collect();
        for c in conns {
            c.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "x"));
        assert!(glob("app-*", "app-ro"));
        assert!(!glob("app-*", "web-ro"));
        assert!(glob("*-ro", "app-ro"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }
}
