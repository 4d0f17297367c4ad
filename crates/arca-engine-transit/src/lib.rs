//! The transit secrets engine (type `transit`): encryption, signing and HMAC as a service
//! with named, versioned keys that never leave the server unless marked exportable.
//!
//! Paths (relative to the mount), as in Vault/OpenBao:
//! - keys: `keys/` (LIST), `keys/<name>` (create, read, delete), `keys/<name>/config`,
//!   `keys/<name>/rotate`, `keys/<name>/trim`, `export/<type>/<name>[/<version>]`,
//!   `backup/<name>`, `restore[/<name>]`, `config/keys` (`disable_upsert`);
//! - operations: `encrypt/<name>` (upserts a missing key when the ACL allows `create`),
//!   `decrypt/<name>`, `rewrap/<name>`, `datakey/{plaintext,wrapped}/<name>`,
//!   `hmac/<name>[/<alg>]`, `sign/<name>[/<alg>]`, `verify/<name>[/<alg>]`, `hash[/<alg>]`,
//!   `random[/<source>][/<bytes>]`.
//!
//! Ciphertexts, signatures and HMACs are `vault:v<N>:<base64>` with the literal `vault:`
//! prefix clients store. Only canonical version numbers are accepted (`v1`, never `v0`,
//! `v01` or `v+1`), so `min_decryption_version` cannot be bypassed; it is checked on every
//! path that reads an envelope. A caller-supplied nonce is always refused: keys either draw
//! random nonces or, when convergent, derive them from the plaintext.
//!
//! Batch requests (`batch_input`) answer per item in order; when an encrypt or decrypt item
//! fails the whole answer is a 400 carrying the normal envelope (what OpenBao does;
//! rewrap, sign, verify and hmac answer 200 with per-item errors, also as OpenBao does).
//!
//! Auto-rotation (`auto_rotate_period`) is applied when a due key is used or read, and by a
//! background check every ten minutes while the mount is initialised.
//!
//! Storage (inside the mount's barrier-encrypted view): `policy/<name>` holds one key with
//! all its available versions as JSON; `config/keys` holds the mount settings. Key
//! material is held in `Zeroizing` buffers and never logged or put into errors.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait (`arca-storage`) and `arca-crypto` for every primitive; never on the core,
//! another engine, HTTP or a crypto library directly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arca_crypto::CryptoError;
use arca_logical::{
    Backend, BackendConfig, BackendKind, Factory, FieldData, LogicalError, LogicalResult,
    Operation, PathTable, Request, Response, SystemView,
};
use arca_storage::Storage;
use async_trait::async_trait;
use serde_json::{Map, Value};

mod keys;
mod ops;
mod policy;
mod util;

use policy::{KeyEntry, KeyType, Loaded, Policy};

/// The mount type name.
pub const TYPE_NAME: &str = "transit";

/// How often the background task looks for keys due for automatic rotation.
const AUTO_ROTATE_CHECK: Duration = Duration::from_secs(600);

/// Failures inside this engine that are not the client's fault. They never carry key
/// material or request values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransitError {
    /// A cryptographic primitive failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// A stored key could not be parsed.
    #[error("stored transit key is corrupt")]
    Corrupt,
    /// A key could not be encoded for storage.
    #[error("transit key could not be encoded")]
    Encode,
    /// A blocking key-generation task failed.
    #[error("key generation task failed")]
    Task,
}

impl From<TransitError> for LogicalError {
    fn from(e: TransitError) -> Self {
        tracing::error!(error = %e, "transit failure");
        LogicalError::internal()
    }
}

/// Creates transit backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct TransitFactory;

impl Factory for TransitFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(Transit::new(config.storage, config.system)?))
    }
}

/// Which handler a path goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    KeysList,
    Key,
    KeyConfig,
    KeyRotate,
    KeyTrim,
    Export,
    Backup,
    Restore,
    ConfigKeys,
    Encrypt,
    Decrypt,
    Rewrap,
    Datakey,
    Hmac,
    Sign,
    Verify,
    Hash,
    Random,
}

/// Key names: a word character at both ends, `.`, `@` and `-` allowed inside (Vault's
/// `GenericNameRegex`). No `/`, so a name is always one storage segment.
const NAME: &str = "[A-Za-z0-9_](?:[A-Za-z0-9_.@-]*[A-Za-z0-9_])?";

fn path_table() -> Result<PathTable<Route>, regex::Error> {
    let n = |p: &str| p.replace("NAME", NAME);
    PathTable::new()
        .add("keys/?", Route::KeysList)?
        .add(&n("keys/(?P<name>NAME)"), Route::Key)?
        .add(&n("keys/(?P<name>NAME)/config"), Route::KeyConfig)?
        .add(&n("keys/(?P<name>NAME)/rotate"), Route::KeyRotate)?
        .add(&n("keys/(?P<name>NAME)/trim"), Route::KeyTrim)?
        .add(
            &n("export/(?P<type>NAME)/(?P<name>NAME)(?:/(?P<version>NAME))?"),
            Route::Export,
        )?
        .add(&n("backup/(?P<name>NAME)"), Route::Backup)?
        .add(&n("restore(?:/(?P<name>NAME))?"), Route::Restore)?
        .add("config/keys", Route::ConfigKeys)?
        .add(&n("encrypt/(?P<name>NAME)"), Route::Encrypt)?
        .add(&n("decrypt/(?P<name>NAME)"), Route::Decrypt)?
        .add(&n("rewrap/(?P<name>NAME)"), Route::Rewrap)?
        .add(
            &n("datakey/(?P<plaintext>NAME)/(?P<name>NAME)"),
            Route::Datakey,
        )?
        .add(
            &n("hmac/(?P<name>NAME)(?:/(?P<urlalgorithm>NAME))?"),
            Route::Hmac,
        )?
        .add(
            &n("sign/(?P<name>NAME)(?:/(?P<urlalgorithm>NAME))?"),
            Route::Sign,
        )?
        .add(
            &n("verify/(?P<name>NAME)(?:/(?P<urlalgorithm>NAME))?"),
            Route::Verify,
        )?
        .add(&n("hash(?:/(?P<urlalgorithm>NAME))?"), Route::Hash)?
        .add(
            &n("random(?:/(?P<source>NAME))?(?:/(?P<urlbytes>NAME))?"),
            Route::Random,
        )
}

/// A parsed key and the SHA-256 of the stored bytes it was parsed from.
type CacheEntry = ([u8; 32], Arc<Loaded>);

/// Shared state of one mount: its storage, clock, the write lock and the key cache.
pub(crate) struct Inner {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    /// Serialises every change to stored keys (create, rotate, config, trim, delete,
    /// restore, upsert), so no update is lost.
    write: tokio::sync::Mutex<()>,
    /// Parsed keys by name, with the SHA-256 of the stored bytes they came from: a read
    /// always consults storage, and reuses the parsed key only if the bytes are unchanged.
    cache: Mutex<HashMap<String, CacheEntry>>,
}

/// One mounted transit engine.
pub struct Transit {
    inner: Arc<Inner>,
    paths: PathTable<Route>,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn policy_key(name: &str) -> String {
    format!("policy/{name}")
}

impl Transit {
    /// A backend over `storage` (the mount's view) with `system`'s clock.
    pub fn new(storage: Arc<dyn Storage>, system: Arc<dyn SystemView>) -> LogicalResult<Self> {
        let paths = path_table().map_err(|e| {
            tracing::error!(error = %e, "transit path table");
            LogicalError::internal()
        })?;
        Ok(Transit {
            inner: Arc::new(Inner {
                storage,
                system,
                write: tokio::sync::Mutex::new(()),
                cache: Mutex::new(HashMap::new()),
            }),
            paths,
            ticker: Mutex::new(None),
        })
    }

    /// Rotates every key whose `auto_rotate_period` has elapsed (the background task calls
    /// this; it is public so a scheduler or a test can too). Returns how many rotated.
    pub async fn rotate_due_keys(&self) -> LogicalResult<usize> {
        self.inner.rotate_due_keys().await
    }
}

impl Inner {
    fn now_nanos(&self) -> i64 {
        util::unix_nanos(self.system.now())
    }

    fn cache_get(&self, name: &str, fp: &[u8; 32]) -> Option<Arc<Loaded>> {
        let cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        cache
            .get(name)
            .filter(|(f, _)| f == fp)
            .map(|(_, l)| l.clone())
    }

    fn cache_put(&self, name: &str, fp: [u8; 32], loaded: Arc<Loaded>) {
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        cache.insert(name.to_owned(), (fp, loaded));
    }

    fn cache_drop(&self, name: &str) {
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        cache.remove(name);
    }

    /// The key as stored now (parsed objects reused while unchanged).
    async fn load(&self, name: &str) -> LogicalResult<Option<Arc<Loaded>>> {
        let Some(raw) = self.storage.get(&policy_key(name)).await? else {
            return Ok(None);
        };
        let raw = zeroize::Zeroizing::new(raw);
        let fp = arca_crypto::sha256(&raw);
        if let Some(l) = self.cache_get(name, &fp) {
            return Ok(Some(l));
        }
        let loaded = Arc::new(Loaded::new(Policy::decode(&raw)?));
        self.cache_put(name, fp, loaded.clone());
        Ok(Some(loaded))
    }

    /// A fresh, mutable copy of the stored key (callers hold the write lock).
    async fn load_owned(&self, name: &str) -> LogicalResult<Option<Policy>> {
        let Some(raw) = self.storage.get(&policy_key(name)).await? else {
            return Ok(None);
        };
        let raw = zeroize::Zeroizing::new(raw);
        Ok(Some(Policy::decode(&raw)?))
    }

    /// Writes a key (callers hold the write lock).
    async fn store(&self, policy: &Policy) -> LogicalResult<()> {
        let bytes = policy.encode()?;
        self.storage.put(&policy_key(&policy.name), &bytes).await?;
        self.cache_drop(&policy.name);
        Ok(())
    }

    /// The key for an operation, rotated first if its auto-rotation period has elapsed.
    async fn load_for_use(&self, name: &str) -> LogicalResult<Option<Arc<Loaded>>> {
        let Some(loaded) = self.load(name).await? else {
            return Ok(None);
        };
        if !loaded.policy.rotation_due(self.now_nanos()) {
            return Ok(Some(loaded));
        }
        let _guard = self.write.lock().await;
        if let Some(mut p) = self.load_owned(name).await?
            && p.rotation_due(self.now_nanos())
        {
            tracing::debug!("automatically rotating a transit key");
            self.rotate(&mut p).await?;
            self.store(&p).await?;
        }
        drop(_guard);
        self.load(name).await
    }

    /// Adds a new version to `p` (not stored yet).
    async fn rotate(&self, p: &mut Policy) -> LogicalResult<()> {
        let entry = self.new_entry(p.key_type, p.key_size, p.convergent).await?;
        p.push_version(entry);
        Ok(())
    }

    /// Generates key material off the async executor (RSA takes a while).
    async fn new_entry(
        &self,
        key_type: KeyType,
        key_size: u32,
        convergent: bool,
    ) -> LogicalResult<KeyEntry> {
        let now = self.now_nanos();
        let entry = tokio::task::spawn_blocking(move || {
            policy::generate_entry(key_type, key_size, convergent, now)
        })
        .await
        .map_err(|_| TransitError::Task)??;
        Ok(entry)
    }

    async fn rotate_due_keys(&self) -> LogicalResult<usize> {
        let names = self.storage.list("policy/").await?;
        let mut rotated = 0;
        for name in names.iter().filter(|n| !n.ends_with('/')) {
            let Some(loaded) = self.load(name).await? else {
                continue;
            };
            if loaded.policy.rotation_due(self.now_nanos()) {
                let before = loaded.policy.latest_version;
                if let Some(after) = self.load_for_use(name).await?
                    && after.policy.latest_version > before
                {
                    rotated += 1;
                }
            }
        }
        Ok(rotated)
    }
}

/// A response with `data` and the warnings for ignored parameters.
pub(crate) fn respond(data: Map<String, Value>, fields: &FieldData<'_>) -> Response {
    let mut r = Response::with_data(data);
    r.warnings = fields.warnings();
    r
}

/// The named capture `name` (always present for routes that declare it).
fn cap<'a>(captures: &'a std::collections::BTreeMap<String, String>, name: &str) -> &'a str {
    captures.get(name).map(String::as_str).unwrap_or_default()
}

#[async_trait]
impl Backend for Transit {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let caps = &m.captures;
        let name = cap(caps, "name");
        let inner = &*self.inner;
        let op = req.operation;
        let write = matches!(op, Operation::Update | Operation::Create);
        match (*m.handler, op) {
            (Route::KeysList, Operation::List) => inner.list_keys().await,
            (Route::Key, Operation::Read) => inner.read_key(req, name).await,
            (Route::Key, Operation::Delete) => inner.delete_key(name).await,
            (Route::Key, _) if write => inner.create_key(req, name).await,
            (Route::KeyConfig, _) if write => inner.config_key(req, name).await,
            (Route::KeyRotate, _) if write => inner.rotate_key(req, name).await,
            (Route::KeyTrim, _) if write => inner.trim_key(req, name).await,
            (Route::Export, Operation::Read) => {
                inner
                    .export(
                        req,
                        cap(caps, "type"),
                        name,
                        caps.get("version").map(String::as_str),
                    )
                    .await
            }
            (Route::Backup, Operation::Read) => inner.backup(req, name).await,
            (Route::Restore, _) if write => inner.restore(req, caps.get("name")).await,
            (Route::ConfigKeys, Operation::Read) => inner.read_config_keys(req).await,
            (Route::ConfigKeys, _) if write => inner.write_config_keys(req).await,
            (Route::Encrypt, _) if write => inner.encrypt(req, name).await,
            (Route::Decrypt, _) if write => inner.decrypt(req, name).await,
            (Route::Rewrap, _) if write => inner.rewrap(req, name).await,
            (Route::Datakey, _) if write => inner.datakey(req, cap(caps, "plaintext"), name).await,
            (Route::Hmac, _) if write => inner.hmac(req, name, caps.get("urlalgorithm")).await,
            (Route::Sign, _) if write => inner.sign(req, name, caps.get("urlalgorithm")).await,
            (Route::Verify, _) if write => inner.verify(req, name, caps.get("urlalgorithm")).await,
            (Route::Hash, _) if write => ops::hash(req, caps.get("urlalgorithm")),
            (Route::Random, _) if write => {
                ops::random(req, caps.get("source"), caps.get("urlbytes"))
            }
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    /// `encrypt/<name>` is a `create` when the key does not exist yet (upsert needs the
    /// `create` capability); every other path makes no distinction.
    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        if *m.handler != Route::Encrypt {
            return Ok(None);
        }
        let name = cap(&m.captures, "name");
        let found = self.inner.storage.get(&policy_key(name)).await?.is_some();
        Ok(Some(found))
    }

    async fn initialize(&self) -> LogicalResult<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(AUTO_ROTATE_CHECK).await;
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                if let Err(e) = inner.rotate_due_keys().await {
                    tracing::warn!(error = %e, "transit auto-rotation check failed");
                }
            }
        });
        let mut ticker = match self.ticker.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        if let Some(old) = ticker.replace(task) {
            old.abort();
        }
        Ok(())
    }

    async fn cleanup(&self) {
        let mut ticker = match self.ticker.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        if let Some(t) = ticker.take() {
            t.abort();
        }
        let mut cache = match self.inner.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        cache.clear();
    }
}

impl Drop for Transit {
    fn drop(&mut self) {
        let ticker = match self.ticker.get_mut() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        if let Some(t) = ticker.take() {
            t.abort();
        }
    }
}
