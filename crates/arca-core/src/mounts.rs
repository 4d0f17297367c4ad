//! The mount tables (secrets engines and auth methods) and the router over them.
//!
//! Tables live behind the barrier at `core/mounts` and `core/auth`. Each mount gets a
//! storage view of its own (`logical/<uuid>/` or `auth/<uuid>/`), so a backend can reach
//! nothing else. The router is an immutable snapshot swapped atomically on every change:
//! requests read it without locking.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use arca_logical::{Backend, BackendConfig, BackendKind, Factory, LogicalError, SystemView};
use arca_storage::{Storage, StorageView, TxnOp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::CoreError;

pub(crate) const SECRETS_TABLE: &str = "core/mounts";
pub(crate) const AUTH_TABLE: &str = "core/auth";

/// Mount paths that can never be enabled, disabled or moved by users.
const RESERVED: &[&str] = &["sys/", "identity/", "cubbyhole/", "auth/", "auth/token/"];

/// Tunable settings of a mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MountConfig {
    /// Seconds; 0 = the system default.
    #[serde(default)]
    pub(crate) default_lease_ttl: u64,
    /// Seconds; 0 = the system maximum.
    #[serde(default)]
    pub(crate) max_lease_ttl: u64,
    #[serde(default)]
    pub(crate) force_no_cache: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) listing_visibility: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) audit_non_hmac_request_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) audit_non_hmac_response_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) passthrough_request_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed_response_headers: Vec<String>,
    /// Auth mounts: `default-service`, `default-batch`, `service`, `batch`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) token_type: String,
}

/// One row of a mount table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MountEntry {
    /// Path relative to its table, with a trailing `/` (`secret/`, `userpass/`).
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) mount_type: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) uuid: String,
    pub(crate) accessor: String,
    #[serde(default)]
    pub(crate) config: MountConfig,
    /// `None` for the system mounts (shown as `null`).
    #[serde(default)]
    pub(crate) options: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) local: bool,
    #[serde(default)]
    pub(crate) seal_wrap: bool,
    #[serde(default)]
    pub(crate) external_entropy_access: bool,
}

impl MountEntry {
    pub(crate) fn new(path: &str, mount_type: &str, kind: BackendKind) -> Result<Self, CoreError> {
        let hex8 = &arca_crypto::random_uuid()?[..8];
        let accessor = match kind {
            BackendKind::Secrets => format!("{mount_type}_{hex8}"),
            BackendKind::Credential => format!("auth_{mount_type}_{hex8}"),
        };
        Ok(Self {
            path: path.to_owned(),
            mount_type: mount_type.to_owned(),
            description: String::new(),
            uuid: arca_crypto::random_uuid()?,
            accessor,
            config: MountConfig::default(),
            options: Some(BTreeMap::new()),
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
        })
    }

    /// An entry for a mount the core provides itself (`token/`, `identity/`).
    pub(crate) fn builtin(
        path: &str,
        mount_type: &str,
        description: &str,
        kind: BackendKind,
    ) -> Result<Self, CoreError> {
        let mut e = Self::new(path, mount_type, kind)?;
        e.description = description.to_owned();
        e.options = None;
        Ok(e)
    }

    /// The `mountInfo` object of `sys/mounts` and friends.
    pub(crate) fn info(&self, kind: BackendKind) -> Value {
        let mut config = serde_json::to_value(&self.config).unwrap_or_else(|_| json!({}));
        if let Value::Object(c) = &mut config
            && kind == BackendKind::Secrets
        {
            c.remove("token_type");
        }
        if let Value::Object(c) = &mut config
            && kind == BackendKind::Credential
            && !c.contains_key("token_type")
        {
            c.insert("token_type".into(), "default-service".into());
        }
        let system = matches!(
            self.path.as_str(),
            "sys/" | "identity/" | "cubbyhole/" | "token/"
        );
        let mut m = Map::new();
        m.insert("accessor".into(), self.accessor.clone().into());
        m.insert("config".into(), config);
        if !system {
            m.insert("deprecation_status".into(), "supported".into());
        }
        m.insert("description".into(), self.description.clone().into());
        m.insert(
            "external_entropy_access".into(),
            self.external_entropy_access.into(),
        );
        m.insert("local".into(), self.local.into());
        m.insert(
            "options".into(),
            self.options.as_ref().map_or(Value::Null, |o| json!(o)),
        );
        m.insert("plugin_version".into(), "".into());
        m.insert(
            "running_plugin_version".into(),
            format!("v{}+builtin.arca", crate::VERSION).into(),
        );
        m.insert("running_sha256".into(), "".into());
        m.insert("seal_wrap".into(), self.seal_wrap.into());
        m.insert("type".into(), self.mount_type.clone().into());
        m.insert("uuid".into(), self.uuid.clone().into());
        Value::Object(m)
    }
}

/// System-wide TTL limits, shared by every mount's system view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SystemTtls {
    pub(crate) default_ttl: Duration,
    pub(crate) max_ttl: Duration,
}

/// A mount's view of the system: its tuned TTLs, capped by the system's, and the named
/// password policies (read from the barrier, never the mount's own storage).
struct MountView {
    ttls: SystemTtls,
    config: MountConfig,
    barrier: Arc<dyn Storage>,
}

#[async_trait::async_trait]
impl SystemView for MountView {
    fn default_lease_ttl(&self) -> Duration {
        let d = match self.config.default_lease_ttl {
            0 => self.ttls.default_ttl,
            s => Duration::from_secs(s),
        };
        d.min(self.max_lease_ttl())
    }
    fn max_lease_ttl(&self) -> Duration {
        match self.config.max_lease_ttl {
            0 => self.ttls.max_ttl,
            s => Duration::from_secs(s).min(self.ttls.max_ttl),
        }
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn password_policy(&self, name: &str) -> Result<Option<String>, LogicalError> {
        crate::password_policies::policy_text(&self.barrier, name).await
    }
}

/// A routable mount: its entry, its backend and its storage.
pub(crate) struct Route {
    /// Full path from the API root (`secret/`, `auth/userpass/`).
    pub(crate) full_path: String,
    pub(crate) kind: BackendKind,
    pub(crate) entry: MountEntry,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) system: Arc<dyn SystemView>,
}

/// An immutable snapshot of both tables, longest path first.
#[derive(Default)]
pub(crate) struct Router {
    routes: Vec<Arc<Route>>,
}

impl Router {
    /// The mount serving `path` (longest prefix). `path` need not end in `/`: `secret`
    /// reaches `secret/`.
    pub(crate) fn route(&self, path: &str) -> Option<&Arc<Route>> {
        self.routes
            .iter()
            .find(|r| path.starts_with(&r.full_path) || format!("{path}/") == r.full_path)
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.routes.iter()
    }

    pub(crate) fn by_accessor(&self, accessor: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.entry.accessor == accessor)
    }
}

/// Factories by type name; explicit, built by the server wiring.
#[derive(Default, Clone)]
pub struct Registry {
    factories: BTreeMap<String, Arc<dyn Factory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a factory under its type name.
    pub fn register(&mut self, factory: Arc<dyn Factory>) {
        self.factories
            .insert(factory.type_name().to_owned(), factory);
    }
    pub(crate) fn get(&self, type_name: &str) -> Option<&Arc<dyn Factory>> {
        self.factories.get(type_name)
    }
}

/// Mount tables and the live router.
pub(crate) struct Mounts {
    barrier: Arc<dyn Storage>,
    registry: Registry,
    ttls: SystemTtls,
    router: ArcSwap<Router>,
    /// Serialises table changes (enable, disable, tune, remount).
    write: Mutex<()>,
    /// Backends the core implements itself (the token store), by full path.
    builtin: BTreeMap<String, (MountEntry, Arc<dyn Backend>)>,
}

fn normalize_mount_path(path: &str) -> Result<String, CoreError> {
    let p = path.trim_matches('/');
    if p.is_empty() {
        return Err(CoreError::invalid("mount path cannot be empty"));
    }
    Ok(format!("{p}/"))
}

impl Mounts {
    /// Loads both tables (creating the default mounts on first unseal) and builds every
    /// backend.
    pub(crate) async fn load(
        barrier: Arc<dyn Storage>,
        registry: Registry,
        ttls: SystemTtls,
        builtin: BTreeMap<String, (MountEntry, Arc<dyn Backend>)>,
    ) -> Result<Self, CoreError> {
        let m = Self {
            barrier,
            registry,
            ttls,
            router: ArcSwap::from_pointee(Router::default()),
            write: Mutex::new(()),
            builtin,
        };
        let guard = m.write.lock().await;
        let mut secrets = m.read_table(SECRETS_TABLE).await?;
        if secrets.is_empty() {
            let mut cubby = MountEntry::new("cubbyhole/", "cubbyhole", BackendKind::Secrets)?;
            cubby.description = "per-token private secret storage".to_owned();
            cubby.local = true;
            cubby.options = None;
            let mut identity = MountEntry::new("identity/", "identity", BackendKind::Secrets)?;
            identity.description = "identity store".to_owned();
            identity.options = None;
            secrets = vec![cubby, identity];
            m.write_table(SECRETS_TABLE, &secrets).await?;
        }
        let auth = m.read_table(AUTH_TABLE).await?;
        m.rebuild(&secrets, &auth).await?;
        drop(guard);
        Ok(m)
    }

    async fn read_table(&self, key: &str) -> Result<Vec<MountEntry>, CoreError> {
        match self.barrier.get(key).await? {
            None => Ok(Vec::new()),
            Some(b) => serde_json::from_slice(&b).map_err(|_| CoreError::Corrupt("mount table")),
        }
    }

    async fn write_table(&self, key: &str, entries: &[MountEntry]) -> Result<(), CoreError> {
        let bytes = serde_json::to_vec(entries).map_err(|_| CoreError::Corrupt("mount table"))?;
        self.barrier.put(key, &bytes).await?;
        Ok(())
    }

    pub(crate) fn router(&self) -> Arc<Router> {
        self.router.load_full()
    }

    fn storage_prefix(kind: BackendKind, entry: &MountEntry) -> String {
        match kind {
            BackendKind::Secrets => format!("logical/{}/", entry.uuid),
            BackendKind::Credential => format!("auth/{}/", entry.uuid),
        }
    }

    async fn build(&self, kind: BackendKind, entry: &MountEntry) -> Result<Arc<Route>, CoreError> {
        let full_path = match kind {
            BackendKind::Secrets => entry.path.clone(),
            BackendKind::Credential => format!("auth/{}", entry.path),
        };
        let storage: Arc<dyn Storage> = Arc::new(StorageView::new(
            Arc::clone(&self.barrier),
            Self::storage_prefix(kind, entry),
        ));
        let system: Arc<dyn SystemView> = Arc::new(MountView {
            ttls: self.ttls,
            config: entry.config.clone(),
            barrier: Arc::clone(&self.barrier),
        });
        let backend = match self.builtin.get(&full_path) {
            Some((_, b)) => Arc::clone(b),
            None => {
                let factory = self.registry.get(&entry.mount_type).ok_or_else(|| {
                    CoreError::invalid(format!(
                        "plugin not found in the catalog: {}",
                        entry.mount_type
                    ))
                })?;
                let backend = factory
                    .create(BackendConfig {
                        storage: Arc::clone(&storage),
                        system: Arc::clone(&system),
                        mount_path: full_path.clone(),
                        mount_accessor: entry.accessor.clone(),
                        mount_type: entry.mount_type.clone(),
                        options: entry.options.clone().unwrap_or_default(),
                    })
                    .map_err(CoreError::Client)?;
                backend.initialize().await.map_err(CoreError::Client)?;
                backend
            }
        };
        Ok(Arc::new(Route {
            full_path,
            kind,
            entry: entry.clone(),
            backend,
            storage,
            system,
        }))
    }

    /// Rebuilds the router from both tables, reusing backends whose entry is unchanged.
    async fn rebuild(&self, secrets: &[MountEntry], auth: &[MountEntry]) -> Result<(), CoreError> {
        let old = self.router.load_full();
        let mut routes = Vec::new();
        for (kind, table) in [
            (BackendKind::Secrets, secrets),
            (BackendKind::Credential, auth),
        ] {
            for entry in table {
                let reuse = old
                    .routes
                    .iter()
                    .find(|r| r.kind == kind && r.entry == *entry);
                let route = match reuse {
                    Some(r) => Arc::clone(r),
                    None => match self.build(kind, entry).await {
                        Ok(r) => r,
                        // One broken mount must not take the others down.
                        Err(e) => {
                            tracing::error!(path = %entry.path, error = %e, "mount could not be started");
                            continue;
                        }
                    },
                };
                routes.push(route);
            }
        }
        for (full_path, (entry, backend)) in &self.builtin {
            if !routes.iter().any(|r| &r.full_path == full_path) {
                let system: Arc<dyn SystemView> = Arc::new(MountView {
                    ttls: self.ttls,
                    config: entry.config.clone(),
                    barrier: Arc::clone(&self.barrier),
                });
                routes.push(Arc::new(Route {
                    full_path: full_path.clone(),
                    kind: BackendKind::Credential,
                    entry: entry.clone(),
                    backend: Arc::clone(backend),
                    storage: Arc::new(StorageView::new(
                        Arc::clone(&self.barrier),
                        "sys/token-mount/",
                    )),
                    system,
                }));
            }
        }
        routes.sort_by(|a, b| {
            b.full_path
                .len()
                .cmp(&a.full_path.len())
                .then(a.full_path.cmp(&b.full_path))
        });
        self.router.store(Arc::new(Router { routes }));
        Ok(())
    }

    fn table_key(kind: BackendKind) -> &'static str {
        match kind {
            BackendKind::Secrets => SECRETS_TABLE,
            BackendKind::Credential => AUTH_TABLE,
        }
    }

    async fn tables(&self) -> Result<(Vec<MountEntry>, Vec<MountEntry>), CoreError> {
        Ok((
            self.read_table(SECRETS_TABLE).await?,
            self.read_table(AUTH_TABLE).await?,
        ))
    }

    /// Enables a mount (`sys/mounts/<path>` or `sys/auth/<path>`).
    pub(crate) async fn enable(
        &self,
        kind: BackendKind,
        path: &str,
        mut entry: MountEntry,
    ) -> Result<(), CoreError> {
        let _guard = self.write.lock().await;
        let path = normalize_mount_path(path)?;
        let full = match kind {
            BackendKind::Secrets => path.clone(),
            BackendKind::Credential => format!("auth/{path}"),
        };
        if RESERVED.iter().any(|r| full == *r)
            || full.starts_with("sys/")
            || (kind == BackendKind::Secrets && full.starts_with("auth/"))
        {
            return Err(CoreError::invalid(format!(
                "cannot mount at reserved path \"{full}\""
            )));
        }
        let factory = self.registry.get(&entry.mount_type).ok_or_else(|| {
            CoreError::invalid(format!(
                "plugin not found in the catalog: {}",
                entry.mount_type
            ))
        })?;
        if factory.kind() != kind {
            return Err(CoreError::invalid(format!(
                "plugin not found in the catalog: {}",
                entry.mount_type
            )));
        }
        // A mount may not nest inside another or contain one.
        let router = self.router();
        if router
            .routes()
            .any(|r| full.starts_with(&r.full_path) || r.full_path.starts_with(&full))
        {
            return Err(CoreError::invalid(format!(
                "path is already in use at {full}"
            )));
        }
        entry.path = path;
        let (mut secrets, mut auth) = self.tables().await?;
        // Build first: a backend that cannot start is never recorded.
        let route = self.build(kind, &entry).await?;
        drop(route);
        match kind {
            BackendKind::Secrets => secrets.push(entry),
            BackendKind::Credential => auth.push(entry),
        }
        let table = if kind == BackendKind::Secrets {
            &secrets
        } else {
            &auth
        };
        self.write_table(Self::table_key(kind), table).await?;
        self.rebuild(&secrets, &auth).await
    }

    /// Disables a mount: its data is deleted. Returns the removed entry (so the caller
    /// can revoke its leases first), or `None` when there was nothing mounted.
    pub(crate) async fn disable(
        &self,
        kind: BackendKind,
        path: &str,
    ) -> Result<Option<MountEntry>, CoreError> {
        let _guard = self.write.lock().await;
        let path = normalize_mount_path(path)?;
        let (mut secrets, mut auth) = self.tables().await?;
        let table = if kind == BackendKind::Secrets {
            &mut secrets
        } else {
            &mut auth
        };
        let Some(pos) = table.iter().position(|e| e.path == path) else {
            return Ok(None);
        };
        if matches!(
            table[pos].mount_type.as_str(),
            "cubbyhole" | "identity" | "system" | "token"
        ) {
            return Err(CoreError::invalid(format!("cannot unmount \"{path}\"")));
        }
        let entry = table.remove(pos);
        let table = table.clone();
        self.write_table(Self::table_key(kind), &table).await?;
        self.rebuild(&secrets, &auth).await?;
        if let Some(old) = self.router().routes().find(|r| r.entry.uuid == entry.uuid) {
            old.backend.cleanup().await;
        }
        self.delete_prefix(&Self::storage_prefix(kind, &entry))
            .await?;
        Ok(Some(entry))
    }

    /// Deletes every key under `prefix`, in batches.
    async fn delete_prefix(&self, prefix: &str) -> Result<(), CoreError> {
        let mut stack = vec![prefix.to_owned()];
        let mut batch = Vec::new();
        while let Some(dir) = stack.pop() {
            for child in self.barrier.list(&dir).await? {
                let key = format!("{dir}{child}");
                if key.ends_with('/') {
                    stack.push(key);
                } else {
                    batch.push(TxnOp::Delete { key });
                    if batch.len() >= 256 {
                        self.barrier.transaction(std::mem::take(&mut batch)).await?;
                    }
                }
            }
        }
        if !batch.is_empty() {
            self.barrier.transaction(batch).await?;
        }
        Ok(())
    }

    /// Applies `change` to the entry at `path`; rebuilds its backend when the entry changed.
    pub(crate) async fn update(
        &self,
        kind: BackendKind,
        path: &str,
        change: impl FnOnce(&mut MountEntry) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        let _guard = self.write.lock().await;
        let path = normalize_mount_path(path)?;
        let (mut secrets, mut auth) = self.tables().await?;
        let table = if kind == BackendKind::Secrets {
            &mut secrets
        } else {
            &mut auth
        };
        let entry = table
            .iter_mut()
            .find(|e| e.path == path)
            .ok_or(CoreError::Client(LogicalError::invalid(format!(
                "tune of path \"{path}\" failed: no mount entry found"
            ))))?;
        change(entry)?;
        let table = table.clone();
        self.write_table(Self::table_key(kind), &table).await?;
        self.rebuild(&secrets, &auth).await
    }

    /// Moves a mount to a new path, keeping its data (the storage view is keyed by uuid).
    pub(crate) async fn remount(&self, from: &str, to: &str) -> Result<(), CoreError> {
        let _guard = self.write.lock().await;
        let (kind, from_rel, to_rel) = match (
            from.trim_matches('/').strip_prefix("auth/"),
            to.trim_matches('/').strip_prefix("auth/"),
        ) {
            (Some(f), Some(t)) => (
                BackendKind::Credential,
                normalize_mount_path(f)?,
                normalize_mount_path(t)?,
            ),
            (None, None) => (
                BackendKind::Secrets,
                normalize_mount_path(from)?,
                normalize_mount_path(to)?,
            ),
            _ => {
                return Err(CoreError::invalid(
                    "cannot remount between secrets engines and auth methods",
                ));
            }
        };
        let full_to = match kind {
            BackendKind::Secrets => to_rel.clone(),
            BackendKind::Credential => format!("auth/{to_rel}"),
        };
        if RESERVED.iter().any(|r| full_to == *r) || full_to.starts_with("sys/") {
            return Err(CoreError::invalid(format!(
                "cannot remount to reserved path \"{full_to}\""
            )));
        }
        let router = self.router();
        if router
            .routes()
            .any(|r| full_to.starts_with(&r.full_path) || r.full_path.starts_with(&full_to))
        {
            return Err(CoreError::invalid(format!(
                "path already in use at \"{full_to}\""
            )));
        }
        let (mut secrets, mut auth) = self.tables().await?;
        let table = if kind == BackendKind::Secrets {
            &mut secrets
        } else {
            &mut auth
        };
        let entry = table
            .iter_mut()
            .find(|e| e.path == from_rel)
            .ok_or_else(|| CoreError::invalid(format!("no secret engine mount at {from_rel}")))?;
        if matches!(
            entry.mount_type.as_str(),
            "cubbyhole" | "identity" | "system" | "token"
        ) {
            return Err(CoreError::invalid(format!("cannot remount \"{from_rel}\"")));
        }
        entry.path = to_rel;
        let table = table.clone();
        self.write_table(Self::table_key(kind), &table).await?;
        self.rebuild(&secrets, &auth).await
    }

    /// The entries of one table with their full paths.
    pub(crate) fn entries(&self, kind: BackendKind) -> Vec<(String, MountEntry)> {
        self.router()
            .routes()
            .filter(|r| r.kind == kind)
            .map(|r| (r.entry.path.clone(), r.entry.clone()))
            .collect()
    }

    pub(crate) async fn cleanup_all(&self) {
        for r in self.router().routes() {
            r.backend.cleanup().await;
        }
    }
}

/// The `sys/` pseudo-mount as `sys/mounts` lists it.
pub(crate) fn system_entry() -> MountEntry {
    MountEntry {
        path: "sys/".to_owned(),
        mount_type: "system".to_owned(),
        description: "system endpoints used for control, policy and debugging".to_owned(),
        uuid: "00000000-0000-0000-0000-000000000000".to_owned(),
        accessor: "system_00000000".to_owned(),
        config: MountConfig::default(),
        options: None,
        local: false,
        seal_wrap: true,
        external_entropy_access: false,
    }
}
