//! Arca's core: the seal life cycle and the logical request pipeline.
//!
//! [`Core`] owns the physical storage and, while unsealed, the [`arca_barrier::Barrier`]
//! through which every other value is read and written. It implements `sys/init`,
//! `sys/unseal`, `sys/seal`, `sys/seal-status`, health, keyring rotation, rekeying of the
//! unseal shares and root-token generation, and routes logical requests.
//!
//! Architecture invariant: this crate knows nothing of HTTP (no axum, hyper or reqwest);
//! it speaks `arca_logical::{Request, Response, LogicalError}` and the wire structs of
//! `arca_types::sys`. It never writes a value to physical storage except the seal
//! records it owns ([`seal`]); everything else goes through the barrier.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use arca_barrier::{Barrier, BarrierError, BarrierOptions, RootKey};
use arca_crypto::CryptoError;
use arca_logical::{ErrorKind, LogicalError, Request, Response};
use arca_storage::{Storage, StorageError};
use arca_types::sys::{
    HealthResponse, InitRequest, InitResponse, LeaderResponse, SealStatus, UnsealRequest,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

mod audit;
mod links;
mod locked_users;
mod mounts;
mod password_policies;
mod policies;
mod quorum;
mod seal;
mod sys;
mod sys_mounts;
mod sys_policy;
mod wrapping;

pub use arca_token::TokenEntry;
pub use audit::AuditDeviceConfig;
pub use mounts::Registry;
pub use quorum::QuorumKind;
pub use seal::{SealError, SealWrapper};

use arca_expiration::{ExpirationManager, TtlBounds};
use arca_identity::IdentityStore;
use arca_logical::{BackendKind, Operation};
use arca_token::TokenStore;
use links::Links;
use mounts::{MountEntry, Mounts, SystemTtls};
use policies::PolicyStore;
use quorum::{GenerateRootOp, RekeyOp};
use seal::{SealConfig, SealType, ShareSet, UnsealKey};

/// The version Arca reports in seal-status, health and `arca version`.
pub const VERSION: &str = "0.1.0";
/// The build date reported with the version.
pub const BUILD_DATE: &str = "2026-11-28T00:00:00Z";

/// How often the barrier is asked whether its key must rotate (OpenBao checks every 5 min).
const AUTO_ROTATE_CHECK: Duration = Duration::from_secs(300);

/// Server-wide settings the core needs.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Default lease TTL of the system.
    pub default_lease_ttl: Duration,
    /// Maximum lease TTL of the system.
    pub max_lease_ttl: Duration,
    /// Serve `sys/raw/*` (root only), as Vault's `raw_storage_endpoint`.
    pub raw_storage_endpoint: bool,
    /// Configured cluster name; generated at init when absent.
    pub cluster_name: Option<String>,
    /// Audit devices declared in the server configuration.
    pub audit_devices: Vec<AuditDeviceConfig>,
    /// Whether `sys/audit/<path>` may enable devices (`unsafe_allow_api_audit_creation`).
    pub allow_api_audit: bool,
    /// Whether audit devices may log raw values (`log_raw`; dev mode only).
    pub allow_audit_log_raw: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_lease_ttl: Duration::from_secs(768 * 3600),
            max_lease_ttl: Duration::from_secs(768 * 3600),
            raw_storage_endpoint: false,
            cluster_name: None,
            audit_devices: Vec::new(),
            allow_api_audit: false,
            allow_audit_log_raw: false,
        }
    }
}

/// Errors inside the core. Converted to a client-facing [`LogicalError`] at the edge;
/// internal causes are logged, never sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A client error with a safe message.
    #[error("{0}")]
    Client(LogicalError),
    /// No audit device accepted a record: the request is refused.
    #[error("no audit device accepted the record")]
    AuditFailed,
    /// The shares given did not open the sealed root key.
    #[error("unseal keys did not decrypt the root key")]
    UnsealFailed,
    /// The recovery shares given do not combine to the recovery key.
    #[error("recovery key verification failed")]
    RecoveryFailed,
    /// The auto-unseal seal failed (unreachable, refused).
    #[error("seal: {0}")]
    Seal(SealError),
    /// A record the core owns could not be decoded.
    #[error("corrupt {0}")]
    Corrupt(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The barrier failed.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// A cryptographic primitive failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl CoreError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        CoreError::Client(LogicalError::invalid(msg))
    }
    pub(crate) fn client(err: LogicalError) -> Self {
        CoreError::Client(err)
    }

    /// Whether trying again later may succeed (the auto-unseal seal was unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, CoreError::Seal(e) if e.retryable)
    }

    /// The client-facing form; internal failures are logged here with their cause.
    pub fn into_logical(self) -> LogicalError {
        match self {
            CoreError::Client(e) => e,
            CoreError::UnsealFailed => LogicalError::invalid(
                "failed to decrypt keys from storage: the unseal key shares are wrong",
            ),
            CoreError::RecoveryFailed => LogicalError::invalid(
                "recovery key verification failed: the recovery key shares are wrong",
            ),
            CoreError::Storage(StorageError::Sealed) => LogicalError::sealed(),
            CoreError::AuditFailed => LogicalError::internal(),
            other => {
                tracing::error!(error = %other, "internal error");
                LogicalError::internal()
            }
        }
    }
}

impl From<LogicalError> for CoreError {
    fn from(e: LogicalError) -> Self {
        CoreError::Client(e)
    }
}

/// Identity of the cluster, created at init, kept behind the barrier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClusterInfo {
    name: String,
    id: String,
}

const CLUSTER_INFO_PATH: &str = "core/cluster-info";

/// Everything that exists only while unsealed. Dropping it seals: key material is
/// zeroized by its owners and the rotation task is stopped.
struct Unsealed {
    barrier: Arc<Barrier>,
    tokens: Arc<TokenStore>,
    expiration: Arc<ExpirationManager>,
    identity: Arc<IdentityStore>,
    mounts: Arc<Mounts>,
    policies: PolicyStore,
    links: Arc<Links>,
    audit: Arc<arca_audit::AuditBroker>,
    cluster: ClusterInfo,
    /// Kept so root-key rotation can re-seal the new root key without a quorum; `None`
    /// with an auto-unseal seal, which wraps the root key itself. A std mutex: it is only
    /// held for synchronous encryption, never across an await.
    unseal_key: std::sync::Mutex<Option<UnsealKey>>,
    rotate_task: tokio::task::JoinHandle<()>,
}

impl Unsealed {
    fn set_unseal_key(&self, key: Option<UnsealKey>) {
        match self.unseal_key.lock() {
            Ok(mut k) => *k = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
    }

    fn with_unseal_key<T>(&self, f: impl FnOnce(&Option<UnsealKey>) -> T) -> T {
        match self.unseal_key.lock() {
            Ok(k) => f(&k),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }
}

impl Drop for Unsealed {
    fn drop(&mut self) {
        self.rotate_task.abort();
    }
}

/// Shares collected by the current unseal attempt.
#[derive(Default)]
struct UnsealProgress {
    shares: ShareSet,
    nonce: String,
}

/// One-time outputs of dev-mode setup.
pub struct DevCredentials {
    /// The single unseal key, base64.
    pub unseal_key: Zeroizing<String>,
    /// The root token.
    pub root_token: Zeroizing<String>,
}

/// The state of the server as health checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthState {
    /// `sys/init` has run.
    pub initialized: bool,
    /// The barrier is sealed.
    pub sealed: bool,
    /// This node is a standby (never, without HA).
    pub standby: bool,
}

/// The core of one Arca node.
pub struct Core {
    physical: Arc<dyn Storage>,
    config: CoreConfig,
    registry: Registry,
    seal_config: ArcSwapOption<SealConfig>,
    /// Read lock-free on every request; replaced only under `transition`.
    unsealed: ArcSwapOption<Unsealed>,
    /// Serialises init, unseal, seal, rekey commits and root rotation.
    transition: Mutex<()>,
    unseal_progress: Mutex<UnsealProgress>,
    rekey: Mutex<Option<RekeyOp>>,
    generate_root: Mutex<Option<GenerateRootOp>>,
    initialized: AtomicBool,
    /// The configured auto-unseal seal; `None` for Shamir.
    seal: Option<Arc<dyn SealWrapper>>,
    /// The seal being migrated away from (a `disabled` seal block), if any.
    old_seal: Option<Arc<dyn SealWrapper>>,
    /// Set once a migration between two seals of the same type (transit → transit) is done
    /// in this process: the stored type cannot tell it apart from a pending one.
    same_type_migrated: AtomicBool,
}

/// Current Unix time, the core's single clock seam.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Core {
    /// Opens the core over `physical`, sealed, with no secrets engines registered.
    pub async fn new(
        physical: Arc<dyn Storage>,
        config: CoreConfig,
    ) -> Result<Arc<Core>, CoreError> {
        Self::with_registry(physical, config, Registry::new()).await
    }

    /// Opens the core over `physical`, sealed, able to mount the types in `registry`.
    pub async fn with_registry(
        physical: Arc<dyn Storage>,
        config: CoreConfig,
        registry: Registry,
    ) -> Result<Arc<Core>, CoreError> {
        Self::with_seal(physical, config, registry, None).await
    }

    /// Opens the core, sealed, with an auto-unseal `seal` (`None`: Shamir). With a seal,
    /// `sys/init` hands out recovery shares and the root key is stored wrapped by the seal;
    /// [`Core::auto_unseal`] then opens the barrier without shares.
    pub async fn with_seal(
        physical: Arc<dyn Storage>,
        config: CoreConfig,
        registry: Registry,
        seal: Option<Arc<dyn SealWrapper>>,
    ) -> Result<Arc<Core>, CoreError> {
        Self::with_seals(physical, config, registry, seal, None).await
    }

    /// As [`Core::with_seal`], with the seal being migrated away from (`old_seal`, from a
    /// `disabled` seal block). When the stored seal type differs from the configured one,
    /// the core is in migration: `sys/unseal` needs `migrate: true` and the current
    /// unseal (Shamir) or recovery (auto-unseal) shares, and moves the root key over.
    pub async fn with_seals(
        physical: Arc<dyn Storage>,
        config: CoreConfig,
        registry: Registry,
        seal: Option<Arc<dyn SealWrapper>>,
        old_seal: Option<Arc<dyn SealWrapper>>,
    ) -> Result<Arc<Core>, CoreError> {
        let seal_config = SealConfig::load(physical.as_ref()).await?;
        if let (Some(stored), Some(s)) = (seal_config.as_ref(), seal.as_ref())
            && stored.seal_type.name() != s.seal_type()
        {
            tracing::warn!(
                stored = stored.seal_type.name(),
                configured = s.seal_type(),
                "the configured seal differs from the stored one; seal migration is required"
            );
        }
        Ok(Arc::new(Core {
            seal,
            old_seal,
            same_type_migrated: AtomicBool::new(false),
            registry,
            initialized: AtomicBool::new(seal_config.is_some()),
            seal_config: ArcSwapOption::from(seal_config.map(Arc::new)),
            physical,
            config,
            unsealed: ArcSwapOption::empty(),
            transition: Mutex::new(()),
            unseal_progress: Mutex::new(UnsealProgress::default()),
            rekey: Mutex::new(None),
            generate_root: Mutex::new(None),
        }))
    }

    /// The core's configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Whether `sys/init` has run.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.unsealed.load().is_none()
    }

    /// Initialisation, sealing and standby state for `sys/health`.
    pub fn health_state(&self) -> HealthState {
        HealthState {
            initialized: self.is_initialized(),
            sealed: self.is_sealed(),
            standby: false,
        }
    }

    /// Body of `sys/health` for the current state.
    pub fn health(&self) -> HealthResponse {
        let unsealed = self.unsealed.load();
        let sealed = unsealed.is_none();
        let mode = if sealed { "unknown" } else { "disabled" };
        HealthResponse {
            initialized: self.is_initialized(),
            sealed,
            standby: sealed,
            replication_performance_mode: mode.to_owned(),
            replication_dr_mode: mode.to_owned(),
            server_time_utc: now_unix(),
            version: VERSION.to_owned(),
            cluster_name: unsealed.as_ref().map(|u| u.cluster.name.clone()),
            cluster_id: unsealed.as_ref().map(|u| u.cluster.id.clone()),
        }
    }

    /// Body of `sys/leader`; 503 while sealed.
    /// Without HA storage this answers the same sealed or not, as OpenBao does.
    pub fn leader(&self) -> Result<LeaderResponse, LogicalError> {
        Ok(LeaderResponse {
            ha_enabled: false,
            ..LeaderResponse::default()
        })
    }

    /// Whether a seal migration waits for `sys/unseal` with `migrate: true`: the stored
    /// seal differs from the configured one, or (as Vault does for two auto-unseal seals of
    /// one type, e.g. another transit key or server) a disabled seal block of the stored
    /// type sits beside an enabled auto-unseal seal.
    pub fn migration_pending(&self) -> bool {
        let configured = self.seal.as_ref().map_or("shamir", |s| s.seal_type());
        self.seal_config.load().as_deref().is_some_and(|c| {
            let stored = c.seal_type.name();
            if stored != configured {
                return true;
            }
            c.seal_type.is_auto()
                && self
                    .old_seal
                    .as_ref()
                    .is_some_and(|o| o.seal_type() == stored)
                && !self.same_type_migrated.load(Ordering::Acquire)
        })
    }

    /// Whether this core unseals itself through an auto-unseal seal.
    pub fn uses_auto_unseal(&self) -> bool {
        match self.seal_config.load().as_deref() {
            Some(c) => c.seal_type.is_auto() && self.seal.is_some(),
            None => self.seal.is_some(),
        }
    }

    /// Auto-unseal: asks the seal to unwrap the stored root key and opens the barrier.
    /// `Ok(false)` when there is nothing to do (not initialised, already unsealed, or a
    /// Shamir seal); an error when the seal failed (see [`CoreError::is_retryable`]).
    pub async fn auto_unseal(&self) -> Result<bool, CoreError> {
        let Some(seal) = self.seal.clone() else {
            return Ok(false);
        };
        let Some(config) = self.seal_config.load_full() else {
            return Ok(false);
        };
        if !config.seal_type.is_auto() || !self.is_sealed() {
            return Ok(false);
        }
        if self.migration_pending() {
            // The stored root key may be the old seal's: the operator migrates it.
            tracing::warn!(
                "seal migration pending: unseal with the recovery keys and migrate=true"
            );
            return Ok(false);
        }
        let _guard = self.transition.lock().await;
        if !self.is_sealed() {
            return Ok(false);
        }
        let root_key = seal::unwrap_root_key(seal.as_ref(), self.physical.as_ref()).await?;
        self.open_barrier(root_key, None).await?;
        Ok(true)
    }

    /// Retries [`Core::auto_unseal`] with exponential backoff (1 s doubling to 30 s) while
    /// the seal is unreachable. Returns once unsealed, when there is nothing to do, or on
    /// an error retrying cannot fix. Run it in the background: listeners keep answering
    /// with the sealed status meanwhile.
    pub async fn auto_unseal_with_retry(self: Arc<Self>) {
        let mut delay = Duration::from_secs(1);
        loop {
            match self.auto_unseal().await {
                Ok(true) => return,
                Ok(false) => return,
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, retry_in = ?delay, "auto-unseal failed; retrying");
                }
                Err(e) => {
                    tracing::error!(error = %e, "auto-unseal failed");
                    return;
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    /// Body of `sys/seal-status`.
    pub async fn seal_status(&self) -> SealStatus {
        let progress = self.unseal_progress.lock().await;
        self.seal_status_locked(&progress)
    }

    fn seal_status_locked(&self, progress: &UnsealProgress) -> SealStatus {
        let config = self.seal_config.load();
        let unsealed = self.unsealed.load();
        let sealed = unsealed.is_none();
        let seal_type = match (config.as_deref(), self.seal.as_ref()) {
            (Some(c), _) => c.seal_type.name(),
            (None, Some(s)) => s.seal_type(),
            (None, None) => "shamir",
        };
        let recovery_seal = seal_type != "shamir";
        SealStatus {
            seal_type: seal_type.to_owned(),
            recovery_seal_type: recovery_seal.then(|| "shamir".to_owned()),
            initialized: self.is_initialized(),
            sealed,
            t: config.as_ref().map_or(0, |c| u64::from(c.secret_threshold)),
            n: config.as_ref().map_or(0, |c| u64::from(c.secret_shares)),
            progress: if sealed {
                progress.shares.len() as u64
            } else {
                0
            },
            nonce: if sealed {
                progress.nonce.clone()
            } else {
                String::new()
            },
            version: VERSION.to_owned(),
            commit_date: BUILD_DATE.to_owned(),
            migration: sealed && self.migration_pending(),
            cluster_name: unsealed.as_ref().map(|u| u.cluster.name.clone()),
            cluster_id: unsealed.as_ref().map(|u| u.cluster.id.clone()),
            recovery_seal,
            storage_type: self.physical.backend_name().to_owned(),
        }
    }

    /// `sys/init`: creates the keyring, the root key, the unseal shares and a root token.
    /// The server stays sealed afterwards.
    pub async fn init(&self, req: InitRequest) -> Result<InitResponse, LogicalError> {
        self.init_inner(req, None)
            .await
            .map(|(resp, _)| resp)
            .map_err(CoreError::into_logical)
    }

    async fn init_inner(
        &self,
        req: InitRequest,
        root_token_id: Option<&str>,
    ) -> Result<(InitResponse, Zeroizing<String>), CoreError> {
        let _guard = self.transition.lock().await;
        if self.is_initialized() {
            return Err(CoreError::invalid("Vault is already initialized"));
        }
        if req.pgp_keys.as_ref().is_some_and(|k| !k.is_empty())
            || req
                .root_token_pgp_key
                .as_ref()
                .is_some_and(|k| !k.is_empty())
        {
            return Err(CoreError::invalid(
                "PGP-encrypted key shares are not supported by Arca",
            ));
        }
        let seal = self.seal.clone();
        let config = match &seal {
            None => {
                if req.recovery_shares.unwrap_or(0) > 0 || req.recovery_threshold.unwrap_or(0) > 0 {
                    return Err(CoreError::invalid(
                        "recovery shares are only used with an auto-unseal seal, which is not configured",
                    ));
                }
                let config = SealConfig::new(req.secret_shares, req.secret_threshold)?;
                if let Some(stored) = req.stored_shares
                    && stored != 0
                    && stored != u64::from(config.secret_shares)
                {
                    return Err(CoreError::invalid(
                        "stored_shares is not supported with a Shamir seal",
                    ));
                }
                config
            }
            // The secret share parameters mean nothing with an auto-unseal (the seal holds
            // the key); the recovery parameters describe the shares handed out.
            Some(s) => {
                let seal_type = SealType::from_name(s.seal_type())
                    .ok_or_else(|| CoreError::invalid("unsupported seal type"))?;
                SealConfig::new_named(req.recovery_shares, req.recovery_threshold, "recovery")?
                    .with_type(seal_type)
            }
        };

        let root_key = RootKey::generate()?;
        let unseal_key = UnsealKey::generate()?;
        // Wrapped before anything is written: an unreachable seal fails init cleanly.
        let wrapped_root = match &seal {
            Some(s) => Some(seal::wrap_root_key(s.as_ref(), &root_key).await?),
            None => None,
        };
        let barrier = Barrier::initialize(
            Arc::clone(&self.physical),
            &root_key,
            BarrierOptions::default(),
        )
        .await?;
        let barrier_storage: Arc<dyn Storage> = barrier.clone();

        // Cluster identity and the first root token are written through the barrier
        // before the seal records: the server counts as initialised only once the seal
        // configuration exists, so a crash before it leaves a re-initialisable store.
        let cluster = ClusterInfo {
            name: self.config.cluster_name.clone().unwrap_or(format!(
                "vault-cluster-{}",
                &arca_crypto::random_uuid()?[..8]
            )),
            id: arca_crypto::random_uuid()?,
        };
        let cluster_bytes =
            serde_json::to_vec(&cluster).map_err(|_| CoreError::Corrupt("cluster info"))?;
        barrier_storage
            .put(CLUSTER_INFO_PATH, &cluster_bytes)
            .await?;
        // Root tokens have no TTL, so no lease: the store needs none of its links here.
        let links = Arc::new(Links::new(Arc::clone(&barrier_storage), self.system_ttls()));
        let tokens = Self::open_tokens(&barrier_storage, &links).await?;
        let (root_token, _) = tokens
            .create_root(root_token_id)
            .await
            .map_err(|e| CoreError::Client(e.into()))?;

        let shares = unseal_key.split(&config)?;
        let ops = match wrapped_root {
            // With a seal, `unseal_key` is the recovery key: only its HMAC is stored.
            Some(put) => {
                let mut ops = unseal_key.recovery_ops(&config)?;
                ops.insert(0, put);
                ops
            }
            None => unseal_key.install_ops(&root_key, &config)?,
        };
        self.physical.transaction(ops).await?;
        self.seal_config.store(Some(Arc::new(config)));
        self.initialized.store(true, Ordering::Release);
        tracing::info!(
            seal = config.seal_type.name(),
            shares = config.secret_shares,
            threshold = config.secret_threshold,
            "initialized"
        );

        let (keys, keys_base64) = seal::encode_shares(&shares);
        let resp = if config.seal_type.is_auto() {
            // An auto-unseal opens the barrier right away, with the root key in hand.
            self.open_barrier(root_key, None).await?;
            InitResponse {
                recovery_keys: keys,
                recovery_keys_base64: keys_base64,
                root_token: root_token.to_string(),
                ..InitResponse::default()
            }
        } else {
            InitResponse {
                keys,
                keys_base64,
                root_token: root_token.to_string(),
                ..InitResponse::default()
            }
        };
        Ok((resp, root_token))
    }

    /// `sys/unseal`: adds a share (or resets); opens the barrier at the threshold.
    pub async fn unseal(&self, req: UnsealRequest) -> Result<SealStatus, LogicalError> {
        self.unseal_inner(req)
            .await
            .map_err(CoreError::into_logical)
    }

    async fn unseal_inner(&self, req: UnsealRequest) -> Result<SealStatus, CoreError> {
        if !self.is_initialized() {
            return Err(CoreError::invalid("Vault is not initialized"));
        }
        let migrating = self.migration_pending();
        match (req.migrate == Some(true), migrating) {
            (true, false) if self.is_sealed() => {
                return Err(CoreError::invalid(
                    "migrate option provided but seal migration not in progress",
                ));
            }
            (false, true) if req.reset != Some(true) => {
                return Err(CoreError::invalid(
                    "migrate option not provided and seal migration is pending",
                ));
            }
            _ => {}
        }
        let mut progress = self.unseal_progress.lock().await;
        if req.reset == Some(true) {
            if !self.is_sealed() {
                return Err(CoreError::invalid("vault is unsealed"));
            }
            *progress = UnsealProgress::default();
            return Ok(self.seal_status_locked(&progress));
        }
        let Some(key) = req.key else {
            return Err(CoreError::invalid(
                "'key' must be specified in request body as JSON, or 'reset' set to true",
            ));
        };
        // Unsealed: a well-encoded key is not looked at further; OpenBao answers with the
        // status.
        let bytes = seal::decode_key_text(&key)?;
        if !self.is_sealed() {
            return Ok(self.seal_status_locked(&progress));
        }
        let share = seal::check_share_len(bytes)?;
        let config = self.current_seal_config()?;
        if progress.shares.len() == 0 {
            progress.nonce = arca_crypto::random_uuid()?;
        }
        progress.shares.add(share);
        if progress.shares.len() < usize::from(config.secret_threshold) {
            return Ok(self.seal_status_locked(&progress));
        }

        // Threshold reached: whatever happens next, this attempt is over.
        let attempt = std::mem::take(&mut *progress);
        let _guard = self.transition.lock().await;
        let unseal_key = UnsealKey::combine(attempt.shares.shares(), &config)?;
        if migrating {
            self.migrate_seal(unseal_key, config).await?;
        } else if config.seal_type.is_auto() {
            // Recovery shares decrypt nothing: once verified, the seal opens the root key.
            unseal_key.verify_recovery(self.physical.as_ref()).await?;
            let seal = self
                .seal
                .clone()
                .ok_or_else(|| CoreError::invalid("no auto-unseal seal is configured"))?;
            if self.is_sealed() {
                let root_key = seal::unwrap_root_key(seal.as_ref(), self.physical.as_ref()).await?;
                self.open_barrier(root_key, None).await?;
            }
        } else {
            let root_key = unseal_key.open_root_key(self.physical.as_ref()).await?;
            self.open_barrier(root_key, Some(unseal_key)).await?;
        }
        Ok(self.seal_status_locked(&progress))
    }

    /// Seal migration, at the unseal threshold. Caller holds `transition`.
    /// Shamir → auto-unseal: the unseal shares become the recovery shares and the root key
    /// is wrapped by the new seal. Auto-unseal → Shamir: the recovery shares become the
    /// unseal shares; the old (disabled) seal unwraps the root key one last time.
    async fn migrate_seal(&self, key: UnsealKey, config: SealConfig) -> Result<(), CoreError> {
        use arca_storage::TxnOp;
        let delete = |k: &str| TxnOp::Delete { key: k.to_owned() };
        match (config.seal_type.is_auto(), self.seal.clone()) {
            (false, Some(new_seal)) => {
                let root_key = key.open_root_key(self.physical.as_ref()).await?;
                let seal_type = SealType::from_name(new_seal.seal_type())
                    .ok_or_else(|| CoreError::invalid("unsupported seal type"))?;
                let new_config = config.with_type(seal_type);
                let mut ops = vec![seal::wrap_root_key(new_seal.as_ref(), &root_key).await?];
                ops.extend(key.recovery_ops(&new_config)?);
                ops.push(delete(seal::ROOT_KEY_PATH));
                self.physical.transaction(ops).await?;
                self.seal_config.store(Some(Arc::new(new_config)));
                tracing::info!(to = seal_type.name(), "seal migrated from shamir");
                self.open_barrier(root_key, None).await
            }
            (true, None) => {
                key.verify_recovery(self.physical.as_ref()).await?;
                let old = self.old_seal.clone().ok_or_else(|| {
                    CoreError::invalid(
                        "the old seal must stay configured, with disabled = \"true\", to migrate away from it",
                    )
                })?;
                let root_key = seal::unwrap_root_key(old.as_ref(), self.physical.as_ref()).await?;
                let new_config = config.with_type(SealType::Shamir);
                let mut ops = key.install_ops(&root_key, &new_config)?;
                ops.push(delete(seal::WRAPPED_ROOT_KEY_PATH));
                ops.push(delete(seal::RECOVERY_HMAC_PATH));
                self.physical.transaction(ops).await?;
                self.seal_config.store(Some(Arc::new(new_config)));
                tracing::info!(from = config.seal_type.name(), "seal migrated to shamir");
                self.open_barrier(root_key, Some(key)).await
            }
            (true, Some(new_seal)) => {
                key.verify_recovery(self.physical.as_ref()).await?;
                let old = self.old_seal.clone().ok_or_else(|| {
                    CoreError::invalid(
                        "the old seal must stay configured, with disabled = \"true\", to migrate away from it",
                    )
                })?;
                let root_key = match seal::unwrap_root_key(old.as_ref(), self.physical.as_ref())
                    .await
                {
                    Ok(k) => k,
                    Err(old_err) => {
                        // A restart after a finished migration with the disabled block
                        // still in place: the new seal already holds the root key.
                        let Ok(k) =
                            seal::unwrap_root_key(new_seal.as_ref(), self.physical.as_ref()).await
                        else {
                            return Err(old_err);
                        };
                        tracing::info!(
                            "the root key is already wrapped by the new seal; remove the disabled seal block"
                        );
                        self.same_type_migrated.store(true, Ordering::Release);
                        return self.open_barrier(k, None).await;
                    }
                };
                let seal_type = SealType::from_name(new_seal.seal_type())
                    .ok_or_else(|| CoreError::invalid("unsupported seal type"))?;
                let new_config = config.with_type(seal_type);
                // The recovery shares stay the same; the new seal wraps the root key.
                let mut ops = vec![seal::wrap_root_key(new_seal.as_ref(), &root_key).await?];
                ops.extend(key.recovery_ops(&new_config)?);
                self.physical.transaction(ops).await?;
                self.seal_config.store(Some(Arc::new(new_config)));
                self.same_type_migrated.store(true, Ordering::Release);
                tracing::info!(
                    from = config.seal_type.name(),
                    to = seal_type.name(),
                    "seal migrated to another auto-unseal seal"
                );
                self.open_barrier(root_key, None).await
            }
            (false, None) => Err(CoreError::invalid(
                "no seal migration: the stored and configured seals are both Shamir",
            )),
        }
    }

    /// Opens the barrier with the root key. `unseal_key` is the Shamir key that sealed it
    /// (kept for root-key rotation); `None` with an auto-unseal. Caller holds `transition`.
    async fn open_barrier(
        &self,
        root_key: RootKey,
        unseal_key: Option<UnsealKey>,
    ) -> Result<(), CoreError> {
        if !self.is_sealed() {
            return Ok(());
        }
        let barrier = Barrier::unseal(Arc::clone(&self.physical), &root_key).await?;
        let barrier_storage: Arc<dyn Storage> = barrier.clone();
        let cluster: ClusterInfo = match barrier_storage.get(CLUSTER_INFO_PATH).await? {
            Some(b) => {
                serde_json::from_slice(&b).map_err(|_| CoreError::Corrupt("cluster info"))?
            }
            None => return Err(CoreError::Corrupt("cluster info is missing")),
        };
        let ttls = self.system_ttls();
        let links = Arc::new(Links::new(Arc::clone(&barrier_storage), ttls));
        let tokens = Self::open_tokens(&barrier_storage, &links).await?;
        let policies = PolicyStore::open(Arc::clone(&barrier_storage)).await?;
        let identity = IdentityStore::open(
            Arc::new(arca_storage::StorageView::new(
                Arc::clone(&barrier_storage),
                "sys/identity/",
            )),
            Arc::new(links::TokenSystemView(ttls)),
        )
        .await
        .map_err(CoreError::Client)?;
        let mut builtin = std::collections::BTreeMap::new();
        builtin.insert(
            "auth/token/".to_owned(),
            (
                MountEntry::builtin(
                    "token/",
                    "token",
                    "token based credentials",
                    BackendKind::Credential,
                )?,
                tokens.backend(),
            ),
        );
        builtin.insert(
            "identity/".to_owned(),
            (
                MountEntry::builtin(
                    "identity/",
                    "identity",
                    "identity store",
                    BackendKind::Secrets,
                )?,
                identity.backend(),
            ),
        );
        let mounts = Arc::new(
            Mounts::load(
                Arc::clone(&barrier_storage),
                self.registry.clone(),
                ttls,
                builtin,
            )
            .await?,
        );
        let expiration = ExpirationManager::start(
            Arc::new(arca_storage::StorageView::new(
                Arc::clone(&barrier_storage),
                "sys/expire/",
            )),
            Arc::clone(&links) as Arc<dyn arca_expiration::LeaseRevoker>,
            Arc::new(links::Clock),
        )
        .await
        .map_err(|e| CoreError::Client(LogicalError::invalid(e.to_string())))?;
        let audit = audit::open(
            &barrier_storage,
            Arc::new(links::TokenSystemView(ttls)),
            &self.config.audit_devices,
            self.config.allow_audit_log_raw,
        )
        .await?;
        let _ = links.tokens.set(Arc::clone(&tokens));
        let _ = links.expiration.set(Arc::clone(&expiration));
        let _ = links.mounts.set(Arc::clone(&mounts));
        identity.set_mount_lookup(Arc::clone(&links) as Arc<dyn arca_identity::MountLookup>);
        let rotate_barrier = Arc::clone(&barrier);
        let rotate_task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(AUTO_ROTATE_CHECK).await;
                match rotate_barrier.check_auto_rotate().await {
                    Ok(true) => tracing::info!("barrier key rotated automatically"),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "automatic key rotation check failed"),
                }
            }
        });
        self.unsealed.store(Some(Arc::new(Unsealed {
            barrier,
            tokens,
            expiration,
            identity,
            mounts,
            policies,
            links,
            audit,
            cluster,
            unseal_key: std::sync::Mutex::new(unseal_key),
            rotate_task,
        })));
        tracing::info!("unsealed");
        Ok(())
    }

    /// Seals the barrier: key material is dropped and every request gets 503 until the
    /// next unseal. Quorum operations in progress are cancelled.
    pub(crate) async fn seal(&self) {
        let _guard = self.transition.lock().await;
        if let Some(u) = self.unsealed.swap(None) {
            u.expiration.stop().await;
            u.audit.shutdown().await;
            u.mounts.cleanup_all().await;
            // Requests still holding the Arc fail from here on; key bytes are wiped.
            u.barrier.seal();
        }
        *self.rekey.lock().await = None;
        *self.generate_root.lock().await = None;
        *self.unseal_progress.lock().await = UnsealProgress::default();
        tracing::info!("sealed");
    }

    /// Process shutdown: stops lease timers and closes the audit devices with a final,
    /// signed checkpoint. The barrier stays as it is (nothing is sealed on disk).
    pub async fn shutdown(&self) {
        if let Ok(u) = self.unsealed() {
            u.expiration.stop().await;
            u.audit.shutdown().await;
        }
    }

    /// Reopens every audit device (after log rotation; the server calls it on SIGHUP).
    pub async fn reopen_audit(&self) {
        if let Ok(u) = self.unsealed()
            && let Err(e) = u.audit.reopen().await
        {
            tracing::error!(error = %e, "reopening audit devices failed");
        }
    }

    /// Dev mode: initialise with one share, unseal, and optionally give the root token a
    /// chosen id.
    pub async fn dev_setup(
        &self,
        root_token_id: Option<&str>,
    ) -> Result<DevCredentials, CoreError> {
        let req = InitRequest {
            secret_shares: Some(1),
            secret_threshold: Some(1),
            ..Default::default()
        };
        let (resp, root_token) = self.init_inner(req, root_token_id).await?;
        let unseal_key = Zeroizing::new(resp.keys_base64.first().cloned().unwrap_or_default());
        self.unseal_inner(UnsealRequest {
            key: Some(unseal_key.to_string()),
            ..Default::default()
        })
        .await?;
        if self.is_sealed() {
            return Err(CoreError::UnsealFailed);
        }
        // As Vault's dev mode: KV version 2 at secret/.
        if self.registry.get("kv").is_some() {
            let u = self.unsealed()?;
            let mut entry = MountEntry::new("secret/", "kv", BackendKind::Secrets)?;
            entry.description = "key/value secret storage".to_owned();
            entry.options = Some(
                [("version".to_owned(), "2".to_owned())]
                    .into_iter()
                    .collect(),
            );
            u.mounts
                .enable(BackendKind::Secrets, "secret/", entry)
                .await?;
        }
        Ok(DevCredentials {
            unseal_key,
            root_token,
        })
    }

    fn system_ttls(&self) -> SystemTtls {
        SystemTtls {
            default_ttl: self.config.default_lease_ttl,
            max_ttl: self.config.max_lease_ttl,
        }
    }

    async fn open_tokens(
        barrier: &Arc<dyn Storage>,
        links: &Arc<Links>,
    ) -> Result<Arc<TokenStore>, CoreError> {
        TokenStore::open(
            Arc::new(arca_storage::StorageView::new(
                Arc::clone(barrier),
                "sys/token/",
            )),
            Arc::clone(links) as Arc<dyn arca_token::TokenHooks>,
            Arc::new(links::TokenSystemView(links.ttls)),
        )
        .await
        .map_err(|e| CoreError::Client(e.into()))
    }

    fn current_seal_config(&self) -> Result<SealConfig, CoreError> {
        self.seal_config
            .load()
            .as_deref()
            .copied()
            .ok_or_else(|| CoreError::invalid("Vault is not initialized"))
    }

    fn unsealed(&self) -> Result<Arc<Unsealed>, CoreError> {
        self.unsealed
            .load_full()
            .ok_or(CoreError::Client(LogicalError::sealed()))
    }

    /// The compiled ACL of a token: its policies, its entity's and groups' policies, with
    /// identity templates resolved. A token of a disabled or deleted entity gets none.
    pub(crate) async fn acl_for(
        &self,
        u: &Unsealed,
        entry: &TokenEntry,
    ) -> Result<Arc<arca_acl::Acl>, CoreError> {
        let mut names = entry.policies.clone();
        let mut ctx = arca_acl::TemplateContext::default();
        if !entry.entity_id.is_empty() {
            if u.identity.is_disabled(&entry.entity_id).await
                || !u.identity.entity_exists(&entry.entity_id).await
            {
                return Err(CoreError::client(LogicalError::permission_denied()));
            }
            names.extend(
                u.identity
                    .identity_policies(&entry.entity_id)
                    .await
                    .map_err(CoreError::Client)?,
            );
            if let Some(tv) = u
                .identity
                .template_values(&entry.entity_id)
                .await
                .map_err(CoreError::Client)?
            {
                ctx = template_context(tv);
            }
        }
        names.sort();
        names.dedup();
        let key = if ctx == arca_acl::TemplateContext::default() {
            String::new()
        } else {
            format!("{ctx:?}")
        };
        u.policies.acl(&names, &ctx, &key).await
    }

    /// Handles a logical request (everything except the bare sys endpoints).
    pub async fn handle(&self, req: Request) -> Result<Response, LogicalError> {
        self.handle_inner(req)
            .await
            .map_err(CoreError::into_logical)
    }

    /// The request pipeline: route → authenticate → create-or-update → ACL → handler →
    /// tokens and leases for what it returned → wrap.
    async fn handle_inner(&self, mut req: Request) -> Result<Response, CoreError> {
        let u = self.unsealed()?;
        // Audit records are built only when a device is enabled.
        let mut trail = u.audit.is_enabled().then(|| AuditTrail {
            rec: audit::entry_for(&req),
            request_logged: false,
            logged: None,
        });
        let path = req.path.clone();
        let router = u.mounts.router();
        let sys_path = path.strip_prefix("sys/").map(str::to_owned);
        let route = match &sys_path {
            Some(_) => None,
            None => router.route(&path).cloned(),
        };
        let relative = match (&route, &sys_path) {
            (Some(r), _) => path
                .strip_prefix(&r.full_path)
                .unwrap_or_default()
                .to_owned(),
            (None, Some(sys)) => sys.clone(),
            (None, None) => String::new(),
        };
        let unauthenticated = match (&route, &sys_path) {
            (Some(r), _) => r.backend.special_paths().is_unauthenticated(&relative),
            (None, Some(_)) => sys::is_unauthenticated(&relative),
            (None, None) => false,
        };

        // Authenticate. Unauthenticated paths still see a valid token if one was sent.
        let remote_ip = req.remote_addr.map(|a| a.ip());
        let entry = match req.token.as_ref() {
            Some(t) if !t.expose().is_empty() => u
                .tokens
                .authenticate(t.expose(), remote_ip)
                .await
                .map_err(|e| CoreError::Client(e.into()))?,
            _ => None,
        };
        if let (Some(t), Some(e)) = (trail.as_mut(), entry.as_ref()) {
            audit::add_auth(&mut t.rec, e);
        }
        let result = if entry.is_none() && !unauthenticated {
            Err(CoreError::client(LogicalError::permission_denied()))
        } else {
            self.authorized(
                &u,
                &mut req,
                route,
                &path,
                &relative,
                unauthenticated,
                entry.as_ref(),
                trail.as_mut(),
            )
            .await
        };
        let result = match trail {
            Some(mut t) => {
                if !t.request_logged {
                    // Refused before its handler (denied, bad token): the request record
                    // is still written, then the response record with the error.
                    t.logged = audit::log_request(&u.audit, &t.rec).await.ok();
                }
                audit::add_response(&mut t.rec, &result);
                let logged = match &t.logged {
                    Some(l) => u.audit.log_response_after(&t.rec, l).await,
                    None => u.audit.log_response(&t.rec).await,
                };
                match (logged, result) {
                    (Ok(()), result) => result,
                    (Err(e), _) => {
                        tracing::error!(error = %e, "no audit device accepted the response record");
                        Err(CoreError::AuditFailed)
                    }
                }
            }
            None => result,
        };
        if let Some(e) = &entry {
            // The last use of a use-limited token is revoked once its request is done.
            if let Err(err) = u.tokens.finish_use(e).await {
                tracing::error!(error = %err, "could not finish a token use");
            }
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn authorized(
        &self,
        u: &Unsealed,
        req: &mut Request,
        route: Option<Arc<mounts::Route>>,
        path: &str,
        relative: &str,
        unauthenticated: bool,
        entry: Option<&TokenEntry>,
        mut trail: Option<&mut AuditTrail>,
    ) -> Result<Response, CoreError> {
        if let Some(e) = entry {
            req.caller = Some(e.caller());
        }
        let Some(route_or_sys) = route.as_ref().map(Some).or(if path.starts_with("sys/") {
            Some(None)
        } else {
            None
        }) else {
            let route = path.trim_end_matches('/');
            return Err(CoreError::client(LogicalError::new(
                ErrorKind::NotFound,
                format!("no handler for route \"{route}\". route entry not found."),
            )));
        };
        if let Some(r) = route_or_sys {
            req.mount_point = r.full_path.clone();
            req.mount_type = r.entry.mount_type.clone();
            req.mount_accessor = r.entry.accessor.clone();
            req.path = relative.to_owned();
            // Writes are `create` when the backend says the target does not exist yet.
            if req.operation == Operation::Update
                && r.backend.exists(req).await.map_err(CoreError::Client)? == Some(false)
            {
                req.operation = Operation::Create;
            }
        }

        if !unauthenticated && let Some(e) = entry {
            let acl = self.acl_for(u, e).await?;
            let sudo_required = match &route {
                Some(r) => r.backend.special_paths().is_root(relative),
                None => sys::is_root_protected(relative, req.operation),
            };
            let verdict = acl.evaluate(&arca_acl::AclRequest {
                path,
                operation: acl_operation(req.operation),
                data: Some(&req.data),
                wrap_ttl: req.wrap_ttl,
                sudo_required,
            });
            if let Some(t) = trail.as_deref_mut()
                && let Some(a) = t.rec.auth.as_mut()
            {
                a.policy_results = Some((verdict.allowed, verdict.granting_policies.clone()));
            }
            if !verdict.allowed {
                tracing::debug!(path = %path, op = req.operation.as_str(), reason = ?verdict.denial, "permission denied");
                return Err(CoreError::client(LogicalError::permission_denied()));
            }
            req.sudo = verdict.sudo;
        }

        // The request record goes out before the handler runs: if no device takes it, the
        // request is refused before it can change anything.
        if let Some(t) = trail {
            t.rec.operation = req.operation.as_str().to_owned();
            t.rec.mount_point = req.mount_point.clone();
            t.rec.mount_type = req.mount_type.clone();
            t.rec.mount_accessor = req.mount_accessor.clone();
            t.request_logged = true;
            t.logged = Some(audit::log_request(&u.audit, &t.rec).await?);
        }

        let mut resp = match &route {
            None => sys::handle(self, u, relative, &*req, entry).await?,
            Some(r) => r
                .backend
                .handle(req)
                .await
                .map_err(CoreError::Client)?
                .unwrap_or_default(),
        };

        if let Some(r) = &route {
            self.issue_login_token(u, r, &req.full_path(), &mut resp)
                .await?;
            if let Some(secret) = resp.secret.as_mut()
                && secret.leased
            {
                let token_id = entry.map(|e| e.id.clone()).unwrap_or_default();
                let bounds = TtlBounds {
                    default_ttl: r.system.default_lease_ttl(),
                    max_ttl: r.system.max_lease_ttl(),
                };
                u.expiration
                    .register_secret(&r.full_path, relative, &token_id, secret, bounds)
                    .await
                    .map_err(|e| CoreError::Client(LogicalError::invalid(e.to_string())))?;
            }
        }

        if let Some(ttl) = req.wrap_ttl
            && !resp.is_empty()
            && resp.raw.is_none()
            && resp.wrap_info.is_none()
            && resp.status == arca_logical::ResponseStatus::Normal
            && path != "sys/wrapping/wrap"
        {
            return wrapping::wrap(u, &req.id, path, ttl, resp).await;
        }
        Ok(resp)
    }

    /// A login through an auth method returns an `auth` without a token: find or create its
    /// identity, then create the token with the mount's TTLs.
    async fn issue_login_token(
        &self,
        u: &Unsealed,
        r: &mounts::Route,
        login_path: &str,
        resp: &mut Response,
    ) -> Result<(), CoreError> {
        if r.kind != BackendKind::Credential || r.full_path == "auth/token/" {
            return Ok(());
        }
        let Some(auth) = resp.auth.as_mut() else {
            return Ok(());
        };
        if !auth.client_token.is_empty() {
            return Ok(());
        }
        if let Some(alias) = auth.alias.clone() {
            let groups: Vec<String> = auth.group_aliases.iter().map(|g| g.name.clone()).collect();
            let li = u
                .identity
                .login_with_groups(
                    &r.entry.accessor,
                    &r.entry.mount_type,
                    &r.full_path,
                    &alias,
                    &groups,
                )
                .await
                .map_err(CoreError::Client)?;
            auth.entity_id = li.entity_id;
            auth.identity_policies = li.identity_policies;
        }
        let mount_name = r
            .full_path
            .trim_start_matches("auth/")
            .trim_end_matches('/')
            .replace('/', "-");
        auth.display_name = if auth.display_name.is_empty() {
            mount_name
        } else {
            format!("{mount_name}-{}", auth.display_name)
        };
        // The mount's token type (OpenBao's router): `service`/`batch` force theirs;
        // `default-batch` makes batch tokens unless the role asked for service tokens
        // explicitly; the default leaves the method's choice.
        match r.entry.config.token_type.as_str() {
            "batch" => auth.token_type = arca_logical::TokenType::Batch,
            "default-batch" if !auth.token_type_explicit => {
                auth.token_type = arca_logical::TokenType::Batch;
            }
            "service" => auth.token_type = arca_logical::TokenType::Service,
            _ => {}
        }
        let bounds = (r.system.default_lease_ttl(), r.system.max_lease_ttl());
        let (_, warnings) = u
            .tokens
            .create_for_login_with_warnings(auth, login_path, bounds)
            .await
            .map_err(|e| CoreError::Client(e.into()))?;
        // The answer's `policies` add the identity policies to the token's own, as
        // OpenBao's login does; the token keeps only its own (identity policies are
        // looked up on every request).
        if !auth.identity_policies.is_empty() {
            auth.policies.extend(auth.identity_policies.iter().cloned());
            auth.policies.sort();
            auth.policies.dedup();
        }
        resp.warnings.extend(warnings);
        Ok(())
    }
}

/// The audit record of one request and whether its request record was written.
struct AuditTrail {
    rec: arca_audit::AuditEntry,
    request_logged: bool,
    /// What the request record formatted, reused by the response record. Between the two,
    /// the pipeline changes only the entry's `time` and `response`.
    logged: Option<arca_audit::RequestRecord>,
}

fn template_context(tv: arca_identity::TemplateValues) -> arca_acl::TemplateContext {
    let mut ctx = arca_acl::TemplateContext {
        entity_id: Some(tv.entity_id),
        entity_name: Some(tv.entity_name),
        entity_metadata: tv.entity_metadata,
        group_ids: tv.group_ids,
        group_names: tv.group_names,
        ..Default::default()
    };
    for (accessor, a) in tv.aliases {
        ctx.alias_names_by_mount_accessor
            .insert(accessor.clone(), a.name);
        ctx.alias_ids_by_mount_accessor
            .insert(accessor.clone(), a.id);
        ctx.alias_metadata_by_mount_accessor
            .insert(accessor.clone(), a.metadata);
        ctx.alias_custom_metadata_by_mount_accessor
            .insert(accessor, a.custom_metadata);
    }
    for g in tv.groups {
        ctx.group_metadata_by_id.insert(g.id, g.metadata);
    }
    ctx
}

fn acl_operation(op: arca_logical::Operation) -> arca_acl::Operation {
    use arca_logical::Operation as L;
    match op {
        L::Read | L::Header => arca_acl::Operation::Read,
        L::Create => arca_acl::Operation::Create,
        L::Update => arca_acl::Operation::Update,
        L::Patch => arca_acl::Operation::Patch,
        L::Delete => arca_acl::Operation::Delete,
        L::List => arca_acl::Operation::List,
        L::Scan => arca_acl::Operation::Scan,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_autounseal;
