//! KV version 2: versioned secrets with metadata. Semantics follow OpenBao's KV plugin;
//! the storage layout is described in the crate documentation.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arca_logical::{
    Backend, FieldData, LogicalError, LogicalResult, Operation, PathTable, Request, Response,
    ResponseStatus, SystemView,
};
use arca_storage::{Storage, TxnOp};
use arca_types::field;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};

use crate::merge::merge_patch;
use crate::model::{KeyMetadata, MountConfig, deletion_time, subkeys};
use crate::timefmt::unix_nanos;
use crate::{KvError, V1_PREFIX, as_folder, check_entry_size, list_response, scan};

const CONFIG_KEY: &str = "config";
const METADATA_PREFIX: &str = "metadata/";
const VERSIONS_PREFIX: &str = "versions/";

/// Operations on one secret are serialised through one of these stripes.
const LOCK_STRIPES: usize = 64;

const MAX_CUSTOM_METADATA_KEYS: usize = 64;
const MAX_CUSTOM_METADATA_KEY_LEN: usize = 128;
const MAX_CUSTOM_METADATA_VALUE_LEN: usize = 512;
const CUSTOM_METADATA_ERR: &str = "custom_metadata validation failed";

const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";
const CAS_REQUIRED: &str = "check-and-set parameter required for this call";
const METADATA_CAS_REQUIRED: &str = "metadata check-and-set parameter required for this call";
const METADATA_CAS_MISMATCH: &str =
    "metadata check-and-set parameter does not match the current version";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Config,
    Data,
    Metadata,
    DetailedMetadata,
    Delete,
    Undelete,
    Destroy,
    Subkeys,
    Invalid,
}

/// A version 2 mount. Besides its views it holds only the lock stripes and whether the
/// storage layout has been checked.
pub(crate) struct KvV2 {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    locks: Vec<RwLock<()>>,
    layout_ready: AtomicBool,
    /// Serialises the layout check and upgrade, and mount config writes.
    mount_lock: Mutex<()>,
    /// Largest stored version, in bytes of JSON.
    max_entry_size: usize,
}

fn build_paths() -> Result<PathTable<Route>, KvError> {
    let table = PathTable::new();
    let mut table = table
        .add("config", Route::Config)
        .map_err(|_| KvError::PathTable)?;
    for (prefix, route) in [
        ("data", Route::Data),
        ("metadata", Route::Metadata),
        ("detailed-metadata", Route::DetailedMetadata),
        ("delete", Route::Delete),
        ("undelete", Route::Undelete),
        ("destroy", Route::Destroy),
        ("subkeys", Route::Subkeys),
    ] {
        table = table
            .add(&format!("{prefix}/(?s)(?P<path>.*)"), route)
            .map_err(|_| KvError::PathTable)?;
    }
    // Last, so that every valid path is tried first.
    table
        .add("(?s).*", Route::Invalid)
        .map_err(|_| KvError::PathTable)
}

fn meta_key(path: &str) -> String {
    format!("{METADATA_PREFIX}{path}")
}

fn version_key(path: &str, version: u64) -> String {
    format!("{VERSIONS_PREFIX}{path}/{version}")
}

fn encode<T: Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(value).map_err(|_| KvError::Encode(what))
}

fn decode<T: DeserializeOwned>(raw: &[u8], what: &'static str) -> Result<T, KvError> {
    serde_json::from_slice(raw).map_err(|_| KvError::Corrupt(what))
}

fn field_error(name: &str, expected: &str) -> LogicalError {
    LogicalError::invalid(format!(
        "error converting input for field \"{name}\": {expected}"
    ))
}

/// Runs `parse` over the request's fields and returns its result with the warning for
/// unknown fields. Field access is synchronous, so nothing borrowed from it crosses an
/// `.await`.
fn parse_fields<T>(
    req: &Request,
    parse: impl FnOnce(&FieldData<'_>) -> LogicalResult<T>,
) -> LogicalResult<(T, Vec<String>)> {
    let fields = req.fields();
    fields.mark_used(&["path"]);
    let value = parse(&fields)?;
    Ok((value, fields.warnings()))
}

/// Unknown-field warnings go on responses only; a 204 stays a 204, as in Vault.
fn with_warnings(resp: Option<Response>, warnings: Vec<String>) -> Option<Response> {
    resp.map(|mut r| {
        r.warnings.extend(warnings);
        r
    })
}

fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// `options.cas`: `None` when absent. A boolean is refused although OpenBao reads `true`
/// as 1: a check-and-set against "version 1" nobody meant is worse than a 400.
fn parse_cas(f: &FieldData<'_>) -> LogicalResult<Option<i64>> {
    let options = match f.raw("options") {
        None => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(field_error("options", "expected a map")),
    };
    match options.get("cas") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(_)) => Err(LogicalError::invalid(
            "error parsing check-and-set parameter",
        )),
        Some(v) => field::as_i64(v)
            .map(Some)
            .map_err(|_| LogicalError::invalid("error parsing check-and-set parameter")),
    }
}

/// The `data` object of a data write or patch.
fn parse_data(f: &FieldData<'_>) -> LogicalResult<Map<String, Value>> {
    match f.raw("data") {
        None => Err(LogicalError::invalid("no data provided")),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(field_error("data", "expected a map")),
    }
}

/// `versions`: integers, numeric strings, comma-separated strings, or a list of those.
fn parse_versions(f: &FieldData<'_>) -> LogicalResult<Vec<i64>> {
    fn from_str(s: &str, out: &mut Vec<i64>) -> LogicalResult<()> {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            out.push(
                part.parse()
                    .map_err(|_| field_error("versions", "expected a list of integers"))?,
            );
        }
        Ok(())
    }
    fn one(v: &Value, out: &mut Vec<i64>) -> LogicalResult<()> {
        match v {
            Value::String(s) => from_str(s, out),
            other => {
                out.push(
                    field::as_i64(other)
                        .map_err(|_| field_error("versions", "expected a list of integers"))?,
                );
                Ok(())
            }
        }
    }
    let mut out = Vec::new();
    match f.raw("versions") {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                one(item, &mut out)?;
            }
        }
        Some(v) => one(v, &mut out)?,
    }
    Ok(out)
}

/// `version` of a read: absent or 0 is the latest (as in OpenBao, and ESO sends `0`); a
/// negative number is refused where OpenBao silently reads the latest.
fn parse_read_version(f: &FieldData<'_>) -> LogicalResult<Option<u64>> {
    match f.i64("version")? {
        None | Some(0) => Ok(None),
        Some(v) => u64::try_from(v)
            .map(Some)
            .map_err(|_| field_error("version", "must be 0 (the latest) or a positive integer")),
    }
}

/// A non-negative integer field that must fit in 32 bits (`max_versions`).
fn parse_u32(f: &FieldData<'_>, name: &str) -> LogicalResult<Option<u32>> {
    f.u64(name)?
        .map(|n| u32::try_from(n).map_err(|_| field_error(name, "integer out of range")))
        .transpose()
}

/// A duration in whole seconds that may be negative (`config`'s `delete_version_after`).
fn parse_signed_seconds(f: &FieldData<'_>, name: &str) -> LogicalResult<Option<i64>> {
    let negative = match f.raw(name) {
        Some(Value::String(s)) => s
            .strip_prefix('-')
            .map(|rest| Value::String(rest.to_owned())),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|i| *i < 0)
            .map(|i| Value::from(i.unsigned_abs())),
        _ => None,
    };
    let to_secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    if let Some(abs) = negative {
        let d = arca_types::duration::parse_duration_value(&abs)
            .map_err(|e| field_error(name, &e.to_string()))?;
        return Ok(Some(-to_secs(d)));
    }
    Ok(f.duration(name)?.map(to_secs))
}

/// `custom_metadata` as strings. In a patch (`patch`), `null` values mean "remove" and
/// come back as `None`; in a write they are empty strings, which validation refuses.
fn parse_custom_metadata(
    value: &Value,
    patch: bool,
) -> LogicalResult<Vec<(String, Option<String>)>> {
    let Value::Object(map) = value else {
        return Err(field_error("custom_metadata", "expected a map"));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let s = match v {
            Value::Null if patch => None,
            Value::Null => Some(String::new()),
            other => Some(field::as_string(other).map_err(|_| {
                LogicalError::invalid(format!("{CUSTOM_METADATA_ERR}: values must be strings"))
            })?),
        };
        out.push((k.clone(), s));
    }
    validate_custom_metadata(&out)?;
    Ok(out)
}

/// OpenBao's limits. Messages give lengths but never the keys or values themselves.
fn validate_custom_metadata(entries: &[(String, Option<String>)]) -> LogicalResult<()> {
    let set: Vec<(&String, &String)> = entries
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
    if set.len() > MAX_CUSTOM_METADATA_KEYS {
        return Err(multi_error(vec![format!(
            "{CUSTOM_METADATA_ERR}: payload must contain at most {MAX_CUSTOM_METADATA_KEYS} keys, provided {}",
            set.len()
        )]));
    }
    let mut errors = Vec::new();
    for (k, v) in set {
        if k.is_empty() || k.len() > MAX_CUSTOM_METADATA_KEY_LEN {
            errors.push(format!(
                "{CUSTOM_METADATA_ERR}: length of a key is {} but must be 0 < len(key) <= {MAX_CUSTOM_METADATA_KEY_LEN}",
                k.len()
            ));
        }
        if v.is_empty() || v.len() > MAX_CUSTOM_METADATA_VALUE_LEN {
            errors.push(format!(
                "{CUSTOM_METADATA_ERR}: length of a value is {} but must be 0 < len(value) <= {MAX_CUSTOM_METADATA_VALUE_LEN}",
                v.len()
            ));
        }
        if k.chars().any(char::is_control) {
            errors.push(format!(
                "{CUSTOM_METADATA_ERR}: a key contains unprintable characters"
            ));
        }
        if v.chars().any(char::is_control) {
            errors.push(format!(
                "{CUSTOM_METADATA_ERR}: a value contains unprintable characters"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(multi_error(errors))
    }
}

/// Go's `multierror` rendering, which Vault shows verbatim.
fn multi_error(errors: Vec<String>) -> LogicalError {
    let noun = if errors.len() == 1 { "error" } else { "errors" };
    let items: String = errors.iter().map(|e| format!("\t* {e}\n")).collect();
    LogicalError::invalid(format!("{} {noun} occurred:\n{items}\n", errors.len()))
}

fn check_cas(cas: Option<i64>, config: &MountConfig, meta: &KeyMetadata) -> LogicalResult<()> {
    match cas {
        Some(c) if u64::try_from(c).ok() != Some(meta.current_version) => {
            Err(LogicalError::invalid(CAS_MISMATCH))
        }
        Some(_) => Ok(()),
        None if config.cas_required || meta.cas_required => {
            Err(LogicalError::invalid(CAS_REQUIRED))
        }
        None => Ok(()),
    }
}

/// The fields `POST metadata/<path>` and `PATCH metadata/<path>` understand.
#[derive(Default)]
struct MetadataInput {
    /// `Some(None)` (patch only): reset to the default.
    max_versions: Option<Option<u32>>,
    cas_required: Option<Option<bool>>,
    metadata_cas_required: Option<Option<bool>>,
    delete_version_after: Option<Option<u64>>,
    /// Entries to set; a `None` value removes that key (patch only).
    custom_metadata: Option<Vec<(String, Option<String>)>>,
    clear_custom_metadata: bool,
    metadata_cas: Option<i64>,
}

impl MetadataInput {
    fn parse(f: &FieldData<'_>, patch: bool) -> LogicalResult<Self> {
        // In a merge patch an explicit null resets a setting; in a write it means "not set".
        let nulled = |name: &str| patch && f.contains(name) && f.raw(name).is_none();
        let mut input = MetadataInput {
            metadata_cas: f.i64("metadata_cas")?,
            ..MetadataInput::default()
        };
        input.max_versions = match parse_u32(f, "max_versions")? {
            Some(n) => Some(Some(n)),
            None if nulled("max_versions") => Some(None),
            None => None,
        };
        input.cas_required = match f.bool("cas_required")? {
            Some(b) => Some(Some(b)),
            None if nulled("cas_required") => Some(None),
            None => None,
        };
        input.metadata_cas_required = match f.bool("metadata_cas_required")? {
            Some(b) => Some(Some(b)),
            None if nulled("metadata_cas_required") => Some(None),
            None => None,
        };
        input.delete_version_after = match f.duration("delete_version_after")? {
            Some(d) => Some(Some(d.as_secs())),
            None if nulled("delete_version_after") => Some(None),
            None => None,
        };
        match f.raw("custom_metadata") {
            Some(v) => input.custom_metadata = Some(parse_custom_metadata(v, patch)?),
            None if nulled("custom_metadata") => input.clear_custom_metadata = true,
            None => {}
        }
        Ok(input)
    }

    fn has_settings(&self) -> bool {
        self.max_versions.is_some()
            || self.cas_required.is_some()
            || self.metadata_cas_required.is_some()
            || self.delete_version_after.is_some()
            || self.custom_metadata.is_some()
            || self.clear_custom_metadata
    }

    /// Warnings for a key setting the mount's config overrides.
    fn overridden_warnings(&self, config: &MountConfig) -> Vec<String> {
        let mut w = Vec::new();
        if config.cas_required && matches!(self.cas_required, Some(Some(false))) {
            w.push(
                "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."
                    .to_owned(),
            );
        }
        if config.metadata_cas_required && matches!(self.metadata_cas_required, Some(Some(false))) {
            w.push(
                "\"metadata_cas_required\" set to false, but is mandated by backend config. This value will be ignored."
                    .to_owned(),
            );
        }
        w
    }

    /// Applies the settings; `patch` merges custom metadata instead of replacing it.
    fn apply(self, meta: &mut KeyMetadata, patch: bool) {
        if let Some(v) = self.max_versions {
            meta.max_versions = v.unwrap_or(0);
        }
        if let Some(v) = self.cas_required {
            meta.cas_required = v.unwrap_or(false);
        }
        if let Some(v) = self.metadata_cas_required {
            meta.metadata_cas_required = v.unwrap_or(false);
        }
        if let Some(v) = self.delete_version_after {
            meta.delete_version_after = v.unwrap_or(0);
        }
        if self.clear_custom_metadata {
            meta.custom_metadata.clear();
        }
        if let Some(entries) = self.custom_metadata {
            if !patch {
                meta.custom_metadata.clear();
            }
            for (k, v) in entries {
                match v {
                    Some(v) => {
                        meta.custom_metadata.insert(k, v);
                    }
                    None => {
                        meta.custom_metadata.remove(&k);
                    }
                }
            }
        }
    }
}

impl KvV2 {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        system: Arc<dyn SystemView>,
        max_entry_size: usize,
    ) -> Result<Self, KvError> {
        Ok(Self {
            storage,
            system,
            paths: build_paths()?,
            locks: (0..LOCK_STRIPES).map(|_| RwLock::new(())).collect(),
            layout_ready: AtomicBool::new(false),
            mount_lock: Mutex::new(()),
            max_entry_size,
        })
    }

    fn now(&self) -> i64 {
        unix_nanos(self.system.now())
    }

    fn lock(&self, path: &str) -> &RwLock<()> {
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        // The modulus keeps the index in range.
        &self.locks[(h.finish() % LOCK_STRIPES as u64) as usize]
    }

    async fn load_config(&self) -> LogicalResult<MountConfig> {
        match self.storage.get(CONFIG_KEY).await? {
            Some(raw) => Ok(decode(&raw, "config")?),
            None => Ok(MountConfig::default()),
        }
    }

    async fn load_meta(&self, path: &str) -> LogicalResult<Option<KeyMetadata>> {
        if path.is_empty() {
            return Ok(None);
        }
        match self.storage.get(&meta_key(path)).await? {
            Some(raw) => Ok(Some(decode(&raw, "metadata")?)),
            None => Ok(None),
        }
    }

    async fn load_version(&self, path: &str, version: u64) -> LogicalResult<Map<String, Value>> {
        match self.storage.get(&version_key(path, version)).await? {
            Some(raw) => Ok(decode(&raw, "version")?),
            None => Err(KvError::MissingVersionData.into()),
        }
    }

    /// Makes sure no version 1 data is left, upgrading it first. Checked once per backend.
    async fn ensure_layout(&self) -> LogicalResult<()> {
        if self.layout_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.mount_lock.lock().await;
        if self.layout_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        self.upgrade_from_v1().await?;
        self.layout_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Every version 1 entry becomes version 1 of the same path; the old keys are deleted
    /// in the same transaction.
    async fn upgrade_from_v1(&self) -> LogicalResult<()> {
        let paths = scan(self.storage.as_ref(), V1_PREFIX).await?;
        if paths.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut ops = Vec::with_capacity(paths.len() * 3);
        for path in &paths {
            let old = format!("{V1_PREFIX}{path}");
            let Some(value) = self.storage.get(&old).await? else {
                continue;
            };
            let mut meta = KeyMetadata::default();
            // A window of one, as OpenBao's upgrade does: oldest_version becomes 1.
            meta.add_version(now, None, 1);
            ops.push(TxnOp::Put {
                key: version_key(path, 1),
                value,
            });
            ops.push(TxnOp::Put {
                key: meta_key(path),
                value: encode(&meta, "metadata")?,
            });
            ops.push(TxnOp::Delete { key: old });
        }
        let migrated = paths.len();
        self.storage.transaction(ops).await?;
        tracing::info!(
            entries = migrated,
            "kv: upgraded version 1 data to version 2"
        );
        Ok(())
    }

    fn invalid_path(req: &Request) -> Response {
        let warning = match req.path.as_str() {
            "metadata" | "data" | "delete" | "undelete" | "destroy" => {
                "Non-listing operations on the root of a K/V v2 mount are not supported.".to_owned()
            }
            _ => {
                let sub = match req.operation {
                    Operation::Create | Operation::Update => "put",
                    Operation::Patch => "patch",
                    Operation::Read | Operation::Header => "get",
                    Operation::List => "list",
                    Operation::Scan => "scan",
                    Operation::Delete => "delete",
                };
                format!(
                    "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv {sub}' for this operation."
                )
            }
        };
        Response {
            warnings: vec![warning],
            status: ResponseStatus::NotFound,
            ..Response::default()
        }
    }

    // ---- config ----

    async fn config_read(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let ((), warnings) = parse_fields(req, |_| Ok(()))?;
        let config = self.load_config().await?;
        Ok(with_warnings(
            Some(Response::with_data(config.to_json())),
            warnings,
        ))
    }

    async fn config_write(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let ((max, cas, mcas, dva), _) = parse_fields(req, |f| {
            Ok((
                parse_u32(f, "max_versions")?,
                f.bool("cas_required")?,
                f.bool("metadata_cas_required")?,
                parse_signed_seconds(f, "delete_version_after")?,
            ))
        })?;
        if max.is_none() && cas.is_none() && mcas.is_none() && dva.is_none() {
            return Ok(None);
        }
        let _guard = self.mount_lock.lock().await;
        let mut config = self.load_config().await?;
        if let Some(v) = max {
            config.max_versions = v;
        }
        if let Some(v) = cas {
            config.cas_required = v;
        }
        if let Some(v) = mcas {
            config.metadata_cas_required = v;
        }
        if let Some(v) = dva {
            // Any negative value disables automatic deletion; shown as "-1s".
            config.delete_version_after = if v < 0 { -1 } else { v };
        }
        self.storage
            .transaction(vec![TxnOp::Put {
                key: CONFIG_KEY.to_owned(),
                value: encode(&config, "config")?,
            }])
            .await?;
        Ok(None)
    }

    // ---- data ----

    async fn data_read(&self, req: &Request, path: &str) -> LogicalResult<Option<Response>> {
        let (version, warnings) = parse_fields(req, parse_read_version)?;
        let _guard = self.lock(path).read().await;
        let Some(meta) = self.load_meta(path).await? else {
            return Ok(None);
        };
        let n = version.unwrap_or(meta.current_version);
        let Some(vm) = meta.versions.get(&n) else {
            return Ok(None);
        };
        let metadata = Value::Object(meta.version_json(n, vm));
        if !vm.is_live(self.now()) {
            let data = object([("data", Value::Null), ("metadata", metadata)]);
            let resp = Response {
                data: Some(data),
                status: ResponseStatus::NotFound,
                ..Response::default()
            };
            return Ok(with_warnings(Some(resp), warnings));
        }
        let data = self.load_version(path, n).await?;
        let resp = Response::with_data(object([
            ("data", Value::Object(data)),
            ("metadata", metadata),
        ]));
        Ok(with_warnings(Some(resp), warnings))
    }

    /// Stores `data` as the next version of `path` together with its metadata and the
    /// pruning of versions that fell out of the window, in one transaction.
    async fn put_version(
        &self,
        path: &str,
        config: &MountConfig,
        mut meta: KeyMetadata,
        data: &Map<String, Value>,
    ) -> LogicalResult<Response> {
        let now = self.now();
        let deletion = deletion_time(now, config, &meta);
        let dropped = meta.add_version(now, deletion, config.max_versions);
        let n = meta.current_version;
        let value = encode(data, "version")?;
        check_entry_size(&value, self.max_entry_size)?;
        let mut ops = vec![
            TxnOp::Put {
                key: version_key(path, n),
                value,
            },
            TxnOp::Put {
                key: meta_key(path),
                value: encode(&meta, "metadata")?,
            },
        ];
        ops.extend(dropped.into_iter().map(|v| TxnOp::Delete {
            key: version_key(path, v),
        }));
        self.storage.transaction(ops).await?;
        let vm = meta.versions.get(&n).ok_or(KvError::MissingVersionData)?;
        Ok(Response::with_data(meta.version_json(n, vm)))
    }

    async fn data_write(&self, req: &Request, path: &str) -> LogicalResult<Option<Response>> {
        if path.is_empty() {
            return Err(LogicalError::invalid("missing path"));
        }
        if path.ends_with('/') {
            return Err(LogicalError::invalid(
                "cannot write to a path ending in '/'",
            ));
        }
        let ((data, cas), warnings) = parse_fields(req, |f| {
            f.mark_used(&["version"]);
            let cas = parse_cas(f)?;
            Ok((parse_data(f)?, cas))
        })?;
        let _guard = self.lock(path).write().await;
        let config = self.load_config().await?;
        let meta = self.load_meta(path).await?.unwrap_or_default();
        check_cas(cas, &config, &meta)?;
        let resp = self.put_version(path, &config, meta, &data).await?;
        Ok(with_warnings(Some(resp), warnings))
    }

    async fn data_patch(&self, req: &Request, path: &str) -> LogicalResult<Option<Response>> {
        let ((patch, cas), warnings) = parse_fields(req, |f| {
            f.mark_used(&["version"]);
            let cas = parse_cas(f)?;
            Ok((parse_data(f)?, cas))
        })?;
        let _guard = self.lock(path).write().await;
        let Some(meta) = self.load_meta(path).await? else {
            return Err(LogicalError::not_found());
        };
        let config = self.load_config().await?;
        check_cas(cas, &config, &meta)?;
        let current = meta.current_version;
        let Some(vm) = meta.versions.get(&current) else {
            return Err(LogicalError::not_found());
        };
        if !vm.is_live(self.now()) {
            // OpenBao answers with the version's metadata as data, and a 404.
            let resp = Response {
                data: Some(meta.version_json(current, vm)),
                status: ResponseStatus::NotFound,
                ..Response::default()
            };
            return Ok(with_warnings(Some(resp), warnings));
        }
        let mut merged = Value::Object(self.load_version(path, current).await?);
        merge_patch(&mut merged, &Value::Object(patch));
        let Value::Object(merged) = merged else {
            return Err(KvError::Corrupt("version").into());
        };
        let resp = self.put_version(path, &config, meta, &merged).await?;
        Ok(with_warnings(Some(resp), warnings))
    }

    async fn data_delete(&self, path: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.lock(path).write().await;
        let Some(mut meta) = self.load_meta(path).await? else {
            return Ok(None);
        };
        let now = self.now();
        let current = meta.current_version;
        let Some(vm) = meta.versions.get_mut(&current) else {
            return Ok(None);
        };
        if !vm.is_live(now) {
            return Ok(None);
        }
        vm.deletion_time = Some(now);
        self.put_meta(path, &meta).await?;
        Ok(None)
    }

    async fn put_meta(&self, path: &str, meta: &KeyMetadata) -> LogicalResult<()> {
        self.storage
            .transaction(vec![TxnOp::Put {
                key: meta_key(path),
                value: encode(meta, "metadata")?,
            }])
            .await?;
        Ok(())
    }

    // ---- delete / undelete / destroy ----

    async fn versions_op(
        &self,
        req: &Request,
        path: &str,
        route: Route,
    ) -> LogicalResult<Option<Response>> {
        let (versions, _) = parse_fields(req, parse_versions)?;
        if versions.is_empty() {
            return Err(LogicalError::invalid(if route == Route::Destroy {
                "no version number provided"
            } else {
                "No version number provided"
            }));
        }
        // Version numbers start at 1. OpenBao ignores 0 and negative numbers (a 204 that
        // did nothing); a clear 400 tells the caller its request was wrong.
        let versions: Vec<u64> = versions
            .into_iter()
            .map(|v| u64::try_from(v).ok().filter(|n| *n > 0))
            .collect::<Option<_>>()
            .ok_or_else(|| field_error("versions", "version numbers must be positive integers"))?;
        let _guard = self.lock(path).write().await;
        let Some(mut meta) = self.load_meta(path).await? else {
            return Ok(None);
        };
        let now = self.now();
        let mut ops = Vec::new();
        match route {
            Route::Delete => {
                for n in &versions {
                    if let Some(vm) = meta.versions.get_mut(n)
                        && vm.is_live(now)
                    {
                        vm.deletion_time = Some(now);
                    }
                }
            }
            Route::Undelete => {
                let config = self.load_config().await?;
                // The automatic deletion clock restarts from now.
                let restart = deletion_time(now, &config, &meta);
                for n in &versions {
                    if let Some(vm) = meta.versions.get_mut(n)
                        && !vm.destroyed
                    {
                        vm.deletion_time = restart;
                    }
                }
            }
            _ => {
                for n in &versions {
                    if let Some(vm) = meta.versions.get_mut(n) {
                        vm.destroyed = true;
                    }
                    ops.push(TxnOp::Delete {
                        key: version_key(path, *n),
                    });
                }
            }
        }
        ops.insert(
            0,
            TxnOp::Put {
                key: meta_key(path),
                value: encode(&meta, "metadata")?,
            },
        );
        self.storage.transaction(ops).await?;
        Ok(None)
    }

    // ---- metadata ----

    async fn metadata_read(&self, req: &Request, path: &str) -> LogicalResult<Option<Response>> {
        let ((), warnings) = parse_fields(req, |_| Ok(()))?;
        let _guard = self.lock(path).read().await;
        let resp = self
            .load_meta(path)
            .await?
            .map(|m| Response::with_data(m.to_json()));
        Ok(with_warnings(resp, warnings))
    }

    async fn metadata_write(
        &self,
        req: &Request,
        path: &str,
        patch: bool,
    ) -> LogicalResult<Option<Response>> {
        let (input, warnings) = parse_fields(req, |f| {
            f.mark_used(&["after", "limit"]);
            MetadataInput::parse(f, patch)
        })?;
        if path.is_empty() {
            return Err(LogicalError::invalid("missing path"));
        }
        if path.ends_with('/') {
            return Err(LogicalError::invalid(
                "cannot write to a path ending in '/'",
            ));
        }
        // Nothing to change: answered without creating metadata, as OpenBao does.
        if !input.has_settings() {
            return Ok(None);
        }
        let config = self.load_config().await?;
        let notes = input.overridden_warnings(&config);
        let _guard = self.lock(path).write().await;
        let existing = self.load_meta(path).await?;
        if patch && existing.is_none() {
            return Err(LogicalError::not_found());
        }
        let cas_needed = config.metadata_cas_required
            || existing.as_ref().is_some_and(|m| m.metadata_cas_required);
        if cas_needed && input.metadata_cas.is_none() {
            return Err(LogicalError::invalid(METADATA_CAS_REQUIRED));
        }
        let now = self.now();
        let mut meta = match existing {
            None => {
                if input.metadata_cas.is_some_and(|c| c != 0) {
                    return Err(LogicalError::invalid(
                        "metadata_cas must be 0 when creating new metadata",
                    ));
                }
                KeyMetadata {
                    created_time: Some(now),
                    updated_time: Some(now),
                    current_metadata_version: 1,
                    ..KeyMetadata::default()
                }
            }
            Some(mut meta) => {
                if let Some(c) = input.metadata_cas
                    && u64::try_from(c).ok() != Some(meta.current_metadata_version)
                {
                    return Err(LogicalError::invalid(METADATA_CAS_MISMATCH));
                }
                meta.current_metadata_version += 1;
                meta.updated_time = Some(now);
                meta
            }
        };
        input.apply(&mut meta, patch);
        self.put_meta(path, &meta).await?;
        if notes.is_empty() {
            return Ok(None);
        }
        let resp = Response {
            warnings: notes,
            ..Response::default()
        };
        Ok(with_warnings(Some(resp), warnings))
    }

    async fn metadata_delete(&self, path: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.lock(path).write().await;
        let Some(meta) = self.load_meta(path).await? else {
            return Ok(None);
        };
        let mut ops: Vec<TxnOp> = meta
            .versions
            .keys()
            .map(|n| TxnOp::Delete {
                key: version_key(path, *n),
            })
            .collect();
        ops.push(TxnOp::Delete {
            key: meta_key(path),
        });
        self.storage.transaction(ops).await?;
        Ok(None)
    }

    async fn metadata_list(
        &self,
        req: &Request,
        path: &str,
        detailed: bool,
        recursive: bool,
    ) -> LogicalResult<Option<Response>> {
        let ((after, limit), warnings) =
            parse_fields(req, |f| Ok((f.string("after")?, f.i64("limit")?)))?;
        let folder = as_folder(path);
        let full = format!("{METADATA_PREFIX}{folder}");
        let mut keys = if recursive {
            scan(self.storage.as_ref(), &full).await?
        } else {
            self.storage.list(&full).await?
        };
        // OpenBao pagination: entries strictly after `after`, at most `limit` of them.
        if let Some(after) = after.filter(|a| !a.is_empty()) {
            keys.retain(|k| k.as_str() > after.as_str());
        }
        if let Some(limit) = limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
        {
            keys.truncate(limit);
        }
        let mut key_info = Map::new();
        if detailed {
            for key in &keys {
                let info = if key.ends_with('/') {
                    Map::new()
                } else {
                    let child = format!("{folder}{key}");
                    self.load_meta(&child)
                        .await?
                        .map(|m| m.to_json())
                        .unwrap_or_default()
                };
                key_info.insert(key.clone(), Value::Object(info));
            }
        }
        let resp = list_response(keys).map(|mut r| {
            if detailed && let Some(data) = r.data.as_mut() {
                data.insert("key_info".to_owned(), Value::Object(key_info));
            }
            r
        });
        Ok(with_warnings(resp, warnings))
    }

    // ---- subkeys ----

    async fn subkeys_read(&self, req: &Request, path: &str) -> LogicalResult<Option<Response>> {
        let ((depth, version), warnings) =
            parse_fields(req, |f| Ok((f.i64("depth")?, parse_read_version(f)?)))?;
        let _guard = self.lock(path).read().await;
        let Some(meta) = self.load_meta(path).await? else {
            return Ok(None);
        };
        let n = version.unwrap_or(meta.current_version);
        let Some(vm) = meta.versions.get(&n) else {
            return Ok(None);
        };
        let metadata = Value::Object(meta.version_json(n, vm));
        if !vm.is_live(self.now()) {
            let data = object([("subkeys", Value::Null), ("metadata", metadata)]);
            let resp = Response {
                data: Some(data),
                status: ResponseStatus::NotFound,
                ..Response::default()
            };
            return Ok(with_warnings(Some(resp), warnings));
        }
        let data = self.load_version(path, n).await?;
        let keys = subkeys(&data, depth.unwrap_or(0));
        let resp = Response::with_data(object([
            ("subkeys", Value::Object(keys)),
            ("metadata", metadata),
        ]));
        Ok(with_warnings(Some(resp), warnings))
    }
}

#[async_trait]
impl Backend for KvV2 {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        self.ensure_layout().await?;
        // Lists are of folders: `LIST metadata` is `LIST metadata/`.
        let routed = if matches!(req.operation, Operation::List | Operation::Scan) {
            as_folder(&req.path)
        } else {
            req.path.clone()
        };
        let Some(m) = self.paths.route(&routed) else {
            return Ok(Some(Self::invalid_path(req)));
        };
        let route = *m.handler;
        let path = m
            .captures
            .get("path")
            .map(String::as_str)
            .unwrap_or_default();
        use Operation as Op;
        match (route, req.operation) {
            (Route::Config, Op::Read) => self.config_read(req).await,
            (Route::Config, Op::Create | Op::Update) => self.config_write(req).await,

            (Route::Data, Op::Read) => self.data_read(req, path).await,
            (Route::Data, Op::Create | Op::Update) => self.data_write(req, path).await,
            (Route::Data, Op::Patch) => self.data_patch(req, path).await,
            (Route::Data, Op::Delete) => self.data_delete(path).await,

            (Route::Metadata, Op::Read) => self.metadata_read(req, path).await,
            (Route::Metadata, Op::Create | Op::Update) => {
                self.metadata_write(req, path, false).await
            }
            (Route::Metadata, Op::Patch) => self.metadata_write(req, path, true).await,
            (Route::Metadata, Op::Delete) => self.metadata_delete(path).await,
            (Route::Metadata, Op::List) => self.metadata_list(req, path, false, false).await,
            (Route::Metadata, Op::Scan) => self.metadata_list(req, path, false, true).await,
            (Route::DetailedMetadata, Op::List) => self.metadata_list(req, path, true, false).await,
            (Route::DetailedMetadata, Op::Scan) => self.metadata_list(req, path, true, true).await,

            (Route::Delete | Route::Undelete | Route::Destroy, Op::Create | Op::Update) => {
                self.versions_op(req, path, route).await
            }

            (Route::Subkeys, Op::Read) => self.subkeys_read(req, path).await,

            (Route::Invalid, _) => Ok(Some(Self::invalid_path(req))),
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        self.ensure_layout().await?;
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        match *m.handler {
            Route::Data | Route::Metadata => {
                let path = m
                    .captures
                    .get("path")
                    .map(String::as_str)
                    .unwrap_or_default();
                Ok(Some(self.load_meta(path).await?.is_some()))
            }
            _ => Ok(None),
        }
    }

    async fn initialize(&self) -> LogicalResult<()> {
        self.ensure_layout().await
    }
}
