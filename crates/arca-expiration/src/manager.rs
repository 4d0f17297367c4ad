//! The expiration manager: registration, renewal, revocation, the expiry worker and the
//! background load.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arca_logical::{ErrorKind, LogicalError, Response, SecretInfo};
use arca_storage::{Storage, StorageError, TxnOp};
use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::clock::Clock;
use crate::commit::GroupCommit;
use crate::entry::{LeaseEntry, LeaseKind, NEVER_EXPIRES, Renewal, TtlBounds};
use crate::error::ExpirationError;
use crate::schedule::{LeaseLocks, Schedule};

/// Lease records: `id/<lease id>`. Lease ids are paths, so storage lists serve
/// `sys/leases/lookup/<prefix>` directly.
const ENTRY_DIR: &str = "id/";
/// Leases by owning token: `token/<hash(token id)>/<hash(lease id)>` → lease id.
const TOKEN_DIR: &str = "token/";
/// Random characters in a secret's lease id (Vault uses 24 base62).
const LEASE_RANDOM_LEN: usize = 24;
/// Ids read per loader task.
const LOAD_CHUNK: usize = 512;

/// How the core revokes and renews what a lease stands for. Implemented by the core.
#[async_trait]
pub trait LeaseRevoker: Send + Sync {
    /// Revokes the lease's object: a secret through its owning backend's revoke, a token
    /// lease through the token store. Must be idempotent: a lease whose revocation
    /// succeeded may be revoked again if removing its record then failed.
    ///
    /// Called with the lease's lock held: it may call
    /// [`ExpirationManager::revoke_by_token`] (a token revocation cascading to the
    /// token's leases, including this token lease itself), but must not call `revoke`,
    /// `renew` or `revoke_prefix` on this same lease.
    async fn revoke(&self, lease: &LeaseEntry) -> Result<(), LogicalError>;

    /// Renews through the backend (secret) or the token store (token). `Ok(None)` accepts
    /// the TTL the manager computes (the increment, else the lease's previous period),
    /// capped by the lease's max. A returned `secret` may carry a TTL, a stricter `max_ttl`,
    /// the renewable flag and new internal data; a returned `auth` carries the token's new
    /// TTL as decided by the token store.
    async fn renew(
        &self,
        lease: &LeaseEntry,
        increment: Duration,
    ) -> Result<Option<Response>, LogicalError>;

    /// Whether the token with this store id still exists. Tidy revokes the leases of
    /// tokens that are gone. The default says yes, so tidy then only repairs indexes.
    async fn token_exists(&self, _token_id: &str) -> Result<bool, LogicalError> {
        Ok(true)
    }
}

/// Tuning of the manager. `Default` is what a server uses.
#[derive(Debug, Clone)]
pub struct ExpirationConfig {
    /// Revocations run at once (expiry storms, prefix and token revocations).
    pub revoke_concurrency: usize,
    /// Failed revocations after which a lease is reported as failing.
    pub max_revoke_attempts: u32,
    /// First retry delay after a failed revocation; doubles per failure.
    pub retry_base: Duration,
    /// Longest retry delay; failing leases are retried at this interval forever.
    pub retry_max: Duration,
    /// Loader tasks reading lease records after unseal.
    pub load_concurrency: usize,
    /// Whether a background task revokes due leases. Tests that drive expiry through
    /// [`ExpirationManager::tick`] alone turn it off.
    pub background: bool,
    /// The worker re-checks the clock at least this often, so a wall-clock jump is seen.
    pub max_sleep: Duration,
    /// A revocation that takes longer counts as failed, so a hung backend cannot hold an
    /// expiry slot forever.
    pub revoke_timeout: Duration,
}

impl Default for ExpirationConfig {
    fn default() -> Self {
        Self {
            revoke_concurrency: 64,
            max_revoke_attempts: 6,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            load_concurrency: 16,
            background: true,
            max_sleep: Duration::from_secs(1),
            revoke_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadState {
    Loading,
    Done(usize),
    Failed,
    Stopped,
}

#[derive(Default)]
struct State {
    schedule: Schedule,
    /// Leases whose revocation failed `max_revoke_attempts` times or more.
    failing: HashMap<String, LeaseEntry>,
}

/// Tracks every lease: persists it, revokes it when it expires, renews and revokes it on
/// request, and serves `sys/leases/*`.
pub struct ExpirationManager {
    pub(crate) storage: Arc<dyn Storage>,
    /// Every lease write goes through here (shared transactions under load).
    writes: Arc<GroupCommit>,
    pub(crate) revoker: Arc<dyn LeaseRevoker>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ExpirationConfig,
    pub(crate) weak: Weak<ExpirationManager>,
    state: Mutex<State>,
    locks: LeaseLocks,
    tick_lock: tokio::sync::Mutex<()>,
    wake: Arc<Notify>,
    load: watch::Sender<LoadState>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    tidying: AtomicBool,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// 160 bits of SHA-256: index keys need no secrecy, only no collisions, and fixed-size
/// keys keep user-chosen characters out of key names.
fn short_hash(s: &str) -> String {
    hex(arca_crypto::sha256(s.as_bytes())
        .get(..20)
        .unwrap_or_default())
}

fn entry_key(lease_id: &str) -> String {
    format!("{ENTRY_DIR}{lease_id}")
}

fn token_dir(token_id: &str) -> String {
    format!("{TOKEN_DIR}{}/", short_hash(token_id))
}

fn index_key(token_id: &str, lease_id: &str) -> String {
    format!("{}{}", token_dir(token_id), short_hash(lease_id))
}

/// The stricter of two "0 = none" limits.
fn effective_max(a: Duration, b: Duration) -> Option<Duration> {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => None,
        (false, true) => Some(a),
        (true, false) => Some(b),
        (false, false) => Some(a.min(b)),
    }
}

fn truncate_secs(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// Go's duration text with the zero units Vault drops (`1h`, `1h30s`, `9m58s`).
pub(crate) fn human_duration(d: Duration) -> String {
    let mut s = arca_types::duration::format_duration(d);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m") {
        s.replace_range(i + 1..i + 3, "");
    }
    s
}

/// The mount a token path belongs to: `auth/userpass/login/alice` → `auth/userpass/`.
fn token_mount(path: &str) -> String {
    let mut segs = path.split('/');
    match (segs.next(), segs.next()) {
        (Some("auth"), Some(m)) => format!("auth/{m}/"),
        (Some(first), _) => format!("{first}/"),
        _ => String::new(),
    }
}

impl ExpirationManager {
    /// Starts a manager over `storage` (the barrier view `sys/expire/`) with the default
    /// configuration. Existing leases load in a background task; until then, requests
    /// read lease records straight from storage.
    pub async fn start(
        storage: Arc<dyn Storage>,
        revoker: Arc<dyn LeaseRevoker>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ExpirationError> {
        Self::start_with(storage, revoker, clock, ExpirationConfig::default()).await
    }

    /// [`start`](Self::start) with explicit tuning.
    pub async fn start_with(
        storage: Arc<dyn Storage>,
        revoker: Arc<dyn LeaseRevoker>,
        clock: Arc<dyn Clock>,
        config: ExpirationConfig,
    ) -> Result<Arc<Self>, ExpirationError> {
        // One cheap read up front, so a sealed or broken store fails the start instead of
        // only the background load.
        let top = storage.list(ENTRY_DIR).await?;
        let (load, _) = watch::channel(LoadState::Loading);
        let (stop, _) = watch::channel(false);
        let m = Arc::new_cyclic(|weak| Self {
            writes: GroupCommit::new(Arc::clone(&storage)),
            storage,
            revoker,
            clock,
            config,
            weak: weak.clone(),
            state: Mutex::new(State::default()),
            locks: LeaseLocks::default(),
            tick_lock: tokio::sync::Mutex::new(()),
            wake: Arc::new(Notify::new()),
            load,
            stop,
            tasks: Mutex::new(Vec::new()),
            tidying: AtomicBool::new(false),
        });
        let loader = tokio::spawn(Arc::clone(&m).load_all(top));
        m.track(loader);
        if m.config.background {
            let worker = tokio::spawn(Self::run_worker(
                Arc::downgrade(&m),
                Arc::clone(&m.wake),
                m.stop.subscribe(),
            ));
            m.track(worker);
        }
        Ok(m)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn track(&self, handle: JoinHandle<()>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    pub(crate) fn spawn_tracked<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.track(tokio::spawn(fut));
    }

    fn schedule(&self, lease_id: &str, at: SystemTime) {
        let earliest = self.state().schedule.set(lease_id, at);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Drops a lease from the in-memory indexes.
    fn forget(&self, lease_id: &str) {
        let mut st = self.state();
        st.schedule.remove(lease_id);
        st.failing.remove(lease_id);
    }

    // ---- storage ----

    async fn read_entry(&self, lease_id: &str) -> Result<Option<LeaseEntry>, ExpirationError> {
        if lease_id.is_empty() {
            return Ok(None);
        }
        match self.storage.get(&entry_key(lease_id)).await {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| ExpirationError::Codec),
            Ok(None) | Err(StorageError::InvalidKey) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn encode(le: &LeaseEntry) -> Result<Vec<u8>, ExpirationError> {
        serde_json::to_vec(le).map_err(|_| ExpirationError::Codec)
    }

    /// The record and its token index, in one transaction.
    async fn create_entry(&self, le: &LeaseEntry) -> Result<(), ExpirationError> {
        let mut ops = vec![TxnOp::Put {
            key: entry_key(&le.lease_id),
            value: Self::encode(le)?,
        }];
        if !le.token_id.is_empty() {
            ops.push(TxnOp::Put {
                key: index_key(&le.token_id, &le.lease_id),
                value: le.lease_id.as_bytes().to_vec(),
            });
        }
        Ok(self.writes.commit(ops).await?)
    }

    async fn write_entry(&self, le: &LeaseEntry) -> Result<(), ExpirationError> {
        let put = TxnOp::Put {
            key: entry_key(&le.lease_id),
            value: Self::encode(le)?,
        };
        Ok(self.writes.commit(vec![put]).await?)
    }

    async fn delete_entry(&self, le: &LeaseEntry) -> Result<(), ExpirationError> {
        let mut ops = vec![TxnOp::Delete {
            key: entry_key(&le.lease_id),
        }];
        if !le.token_id.is_empty() {
            ops.push(TxnOp::Delete {
                key: index_key(&le.token_id, &le.lease_id),
            });
        }
        Ok(self.writes.commit(ops).await?)
    }

    /// Every lease id under `prefix` (which is empty or ends in `/`), depth first.
    async fn collect_ids(&self, prefix: &str) -> Result<Vec<String>, ExpirationError> {
        let mut out = Vec::new();
        let mut stack = vec![prefix.to_owned()];
        while let Some(dir) = stack.pop() {
            for child in self.storage.list(&entry_key(&dir)).await? {
                if child.ends_with('/') {
                    stack.push(format!("{dir}{child}"));
                } else {
                    out.push(format!("{dir}{child}"));
                }
            }
        }
        Ok(out)
    }

    // ---- registration ----

    /// Registers a leased secret returned by the backend mounted at `mount_point`
    /// (`database/`) for the request path `path` relative to it (`creds/ro`), owned by
    /// the token with store id `token_id` (`""` for none).
    ///
    /// Assigns `secret.lease_id` (`database/creds/ro/<24 base62>`), applies the mount
    /// default when `secret.ttl` is 0, caps the TTL by `bounds.max_ttl` and the backend's
    /// `secret.max_ttl`, and sets `secret.leased`. The lease is durable before this
    /// returns. If it cannot be stored, the secret is revoked through the revoker (so it
    /// does not live on untracked) and the storage error is returned.
    pub async fn register_secret(
        &self,
        mount_point: &str,
        path: &str,
        token_id: &str,
        secret: &mut SecretInfo,
        bounds: TtlBounds,
    ) -> Result<(), ExpirationError> {
        let now = self.clock.now();
        let mount = match mount_point.trim_matches('/') {
            "" => String::new(),
            m => format!("{m}/"),
        };
        let full_path = format!("{mount}{}", path.trim_matches('/'))
            .trim_end_matches('/')
            .to_owned();
        let random =
            arca_crypto::random_base62(LEASE_RANDOM_LEN).map_err(|_| ExpirationError::Random)?;
        let lease_id = if full_path.is_empty() {
            random
        } else {
            format!("{full_path}/{random}")
        };
        let max = effective_max(bounds.max_ttl, secret.max_ttl);
        let mut ttl = if secret.ttl.is_zero() {
            bounds.default_ttl
        } else {
            secret.ttl
        };
        if let Some(max) = max {
            ttl = ttl.min(max);
        }
        let le = LeaseEntry {
            lease_id,
            path: full_path,
            mount_point: mount,
            token_id: token_id.to_owned(),
            issue_time: now,
            expire_time: now + ttl,
            last_renewal: None,
            renewable: secret.renewable,
            max_expire_time: max.map(|m| now + m),
            kind: LeaseKind::Secret,
            internal_data: secret.internal_data.clone(),
            revoke_failures: 0,
            last_error: None,
        };
        if let Err(e) = self.create_entry(&le).await {
            if let Err(re) = self.call_revoke(&le).await {
                tracing::error!(
                    mount = %le.mount_point,
                    error = %re,
                    "a secret whose lease could not be stored could not be revoked either"
                );
            }
            return Err(e);
        }
        self.schedule(&le.lease_id, le.expire_time);
        secret.lease_id = le.lease_id;
        secret.ttl = ttl;
        secret.leased = true;
        Ok(())
    }

    /// Registers the lease of a service token created at `token_path`
    /// (`auth/token/create`, `auth/userpass/login/alice`). The lease id is
    /// `<token_path>/<token_id>`. A zero `ttl` never expires (root tokens); otherwise the
    /// TTL is capped by `bounds.max_ttl`, which is also the hard cap for renewals
    /// (0 = none, for periodic tokens). When it expires the revoker gets a
    /// [`LeaseKind::Token`] lease.
    pub async fn register_token(
        &self,
        token_path: &str,
        token_id: &str,
        ttl: Duration,
        renewable: bool,
        bounds: TtlBounds,
    ) -> Result<String, ExpirationError> {
        let path = token_path.trim_matches('/');
        if token_id.is_empty() || path.is_empty() {
            return Err(ExpirationError::InvalidRegistration);
        }
        let now = self.clock.now();
        let max = effective_max(bounds.max_ttl, Duration::ZERO);
        let (expire_time, max_expire_time) = if ttl.is_zero() {
            (NEVER_EXPIRES, None)
        } else {
            let ttl = max.map_or(ttl, |m| ttl.min(m));
            (now + ttl, max.map(|m| now + m))
        };
        let le = LeaseEntry {
            lease_id: format!("{path}/{token_id}"),
            path: path.to_owned(),
            mount_point: token_mount(path),
            token_id: token_id.to_owned(),
            issue_time: now,
            expire_time,
            last_renewal: None,
            renewable,
            max_expire_time,
            kind: LeaseKind::Token,
            internal_data: serde_json::Map::new(),
            revoke_failures: 0,
            last_error: None,
        };
        self.create_entry(&le).await?;
        if le.expires() {
            self.schedule(&le.lease_id, le.expire_time);
        }
        Ok(le.lease_id)
    }

    // ---- lookup and renewal ----

    /// The lease record, read from storage (so it works before the load finished).
    pub async fn lookup(&self, lease_id: &str) -> Result<Option<LeaseEntry>, ExpirationError> {
        self.read_entry(lease_id).await
    }

    /// Why a lease cannot be renewed at `now`, if it cannot (Vault's order of checks).
    pub(crate) fn check_renewable(
        &self,
        le: &LeaseEntry,
        now: SystemTime,
    ) -> Result<(), ExpirationError> {
        if le.revoke_failures >= self.config.max_revoke_attempts {
            Err(ExpirationError::Irrevocable)
        } else if !le.expires() {
            Err(ExpirationError::NotRenewable)
        } else if le.expire_time <= now {
            Err(ExpirationError::Expired)
        } else if !le.renewable {
            Err(ExpirationError::NotRenewable)
        } else {
            Ok(())
        }
    }

    /// Renews a lease by `increment` (0 = the backend's or the lease's own period). The new
    /// TTL is capped at the lease's hard max, with Vault's warning when it is.
    pub async fn renew(
        &self,
        lease_id: &str,
        increment: Duration,
    ) -> Result<Renewal, ExpirationError> {
        self.renew_inner(lease_id, increment, true).await
    }

    pub(crate) async fn renew_inner(
        &self,
        lease_id: &str,
        increment: Duration,
        allow_token: bool,
    ) -> Result<Renewal, ExpirationError> {
        let _lock = self.locks.lock(lease_id).await;
        let mut le = self
            .read_entry(lease_id)
            .await?
            .ok_or(ExpirationError::NotFound)?;
        let now = self.clock.now();
        self.check_renewable(&le, now)?;
        if !allow_token && le.kind == LeaseKind::Token {
            return Err(ExpirationError::TokenLease);
        }
        let resp = self
            .revoker
            .renew(&le, increment)
            .await
            .map_err(ExpirationError::Backend)?;

        let start = le.last_renewal.unwrap_or(le.issue_time);
        let previous = le.expire_time.duration_since(start).unwrap_or_default();
        let mut ttl = if increment.is_zero() {
            previous
        } else {
            increment
        };
        let mut max_at = le.max_expire_time;
        let mut warnings = Vec::new();
        let mut data = None;
        if let Some(resp) = resp {
            data = resp.data;
            warnings = resp.warnings;
            if let Some(auth) = resp.auth {
                // The token store already applied increment, period and explicit max.
                if !auth.ttl.is_zero() {
                    ttl = auth.ttl;
                }
                le.renewable = auth.renewable;
            } else if let Some(secret) = resp.secret {
                if increment.is_zero() && !secret.ttl.is_zero() {
                    ttl = secret.ttl;
                }
                if !secret.max_ttl.is_zero() {
                    let backend_max = le.issue_time + secret.max_ttl;
                    max_at = Some(max_at.map_or(backend_max, |m| m.min(backend_max)));
                }
                le.renewable = secret.renewable;
                if !secret.internal_data.is_empty() {
                    le.internal_data = secret.internal_data;
                }
            }
        }
        if let Some(max_at) = max_at {
            // Whole seconds, as Vault computes it.
            let left = truncate_secs(max_at)
                .duration_since(truncate_secs(now))
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or(ExpirationError::PastMaxTtl)?;
            if ttl > left {
                warnings.push(format!(
                    "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                    human_duration(ttl),
                    human_duration(left)
                ));
                ttl = left;
            }
        }
        le.expire_time = now + ttl;
        le.last_renewal = Some(now);
        self.write_entry(&le).await?;
        self.schedule(&le.lease_id, le.expire_time);
        Ok(Renewal {
            lease_id: le.lease_id,
            ttl,
            renewable: le.renewable,
            warnings,
            data,
        })
    }

    // ---- revocation ----

    /// Revokes one lease now: the revoker is called, then the record is removed. A lease
    /// that does not exist is not an error. A revoker failure is returned and the lease
    /// kept.
    pub async fn revoke(&self, lease_id: &str) -> Result<(), ExpirationError> {
        self.revoke_one(lease_id, false).await
    }

    async fn revoke_one(&self, lease_id: &str, force: bool) -> Result<(), ExpirationError> {
        let _lock = self.locks.lock(lease_id).await;
        let Some(le) = self.read_entry(lease_id).await? else {
            self.forget(lease_id);
            return Ok(());
        };
        if let Err(e) = self.call_revoke(&le).await {
            if !force {
                return Err(ExpirationError::Backend(e));
            }
            tracing::warn!(
                lease_id = %le.lease_id,
                error = %e,
                "revocation through the backend failed; lease removed anyway (force)"
            );
        }
        self.delete_entry(&le).await?;
        self.forget(lease_id);
        Ok(())
    }

    /// Marks a lease expired now and leaves its revocation to the worker (`sync=false`).
    pub(crate) async fn revoke_lazy(&self, lease_id: &str) -> Result<(), ExpirationError> {
        let _lock = self.locks.lock(lease_id).await;
        let Some(mut le) = self.read_entry(lease_id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        if !le.expires() || le.expire_time > now {
            le.expire_time = now;
            self.write_entry(&le).await?;
        }
        self.schedule(lease_id, now);
        Ok(())
    }

    /// Revokes every lease whose id starts with `prefix`. Without a trailing `/`, an exact
    /// lease id is revoked alone if it exists, else `prefix/` is used. Without `force`
    /// the first revoker failure stops the operation and is returned; with `force`
    /// records are removed even when the backend's revocation fails.
    pub async fn revoke_prefix(&self, prefix: &str, force: bool) -> Result<(), ExpirationError> {
        let Some(ids) = self.prefix_targets(prefix).await? else {
            return self.revoke_one(prefix, force).await;
        };
        self.for_each_bounded(ids, !force, move |m, id| async move {
            m.revoke_one(&id, force).await
        })
        .await
    }

    /// `revoke-prefix` with `sync=false`: marks every lease expired and returns.
    pub(crate) async fn revoke_prefix_lazy(&self, prefix: &str) -> Result<(), ExpirationError> {
        let Some(ids) = self.prefix_targets(prefix).await? else {
            return self.revoke_lazy(prefix).await;
        };
        self.for_each_bounded(ids, true, |m, id| async move { m.revoke_lazy(&id).await })
            .await
    }

    /// `None` when `prefix` names one lease exactly; else the ids below it.
    async fn prefix_targets(&self, prefix: &str) -> Result<Option<Vec<String>>, ExpirationError> {
        let dir = if prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            if self.read_entry(prefix).await?.is_some() {
                return Ok(None);
            }
            format!("{prefix}/")
        };
        Ok(Some(self.collect_ids(&dir).await?))
    }

    /// Revokes every lease owned by the token with store id `token_id`, through the
    /// revoker, and removes the token's own lease without calling the revoker (the token
    /// store is the caller). A lease whose revocation fails is marked expired and left to
    /// the worker's retries; it does not fail the call.
    pub async fn revoke_by_token(&self, token_id: &str) -> Result<(), ExpirationError> {
        if token_id.is_empty() {
            return Ok(());
        }
        let dir = token_dir(token_id);
        let mut ids = Vec::new();
        for key in self.storage.list(&dir).await? {
            if key.ends_with('/') {
                continue;
            }
            let key = format!("{dir}{key}");
            if let Some(v) = self.storage.get(&key).await? {
                match String::from_utf8(v) {
                    Ok(id) => ids.push((id, key)),
                    Err(_) => self.storage.delete(&key).await?,
                }
            }
        }
        let token_id: Arc<str> = Arc::from(token_id);
        self.for_each_bounded(ids, false, move |m, (id, key)| {
            let token_id = Arc::clone(&token_id);
            async move { m.revoke_for_token(&id, &key, &token_id).await }
        })
        .await
    }

    async fn revoke_for_token(
        &self,
        lease_id: &str,
        index: &str,
        token_id: &str,
    ) -> Result<(), ExpirationError> {
        // The token's own lease: the token store is revoking it right now, perhaps from
        // inside our own revocation of that lease (which holds its lock), so no lock and
        // no revoker call.
        if let Some(le) = self.read_entry(lease_id).await?
            && le.kind == LeaseKind::Token
            && le.token_id == token_id
        {
            self.delete_entry(&le).await?;
            self.forget(lease_id);
            return Ok(());
        }
        let _lock = self.locks.lock(lease_id).await;
        let Some(mut le) = self.read_entry(lease_id).await? else {
            self.storage.delete(index).await?;
            self.forget(lease_id);
            return Ok(());
        };
        match self.call_revoke(&le).await {
            Ok(()) => {
                self.delete_entry(&le).await?;
                self.forget(lease_id);
            }
            Err(e) => {
                let now = self.clock.now();
                if !le.expires() || le.expire_time > now {
                    le.expire_time = now;
                }
                self.record_failure(le, &e).await;
            }
        }
        Ok(())
    }

    async fn call_revoke(&self, le: &LeaseEntry) -> Result<(), LogicalError> {
        match tokio::time::timeout(self.config.revoke_timeout, self.revoker.revoke(le)).await {
            Ok(r) => r,
            Err(_) => Err(LogicalError::new(
                ErrorKind::Internal,
                "lease revocation timed out",
            )),
        }
    }

    /// Counts a failed revocation, persists it, and schedules the retry.
    async fn record_failure(&self, mut le: LeaseEntry, err: &LogicalError) {
        le.revoke_failures = le.revoke_failures.saturating_add(1);
        le.last_error = Some(err.message.clone());
        if let Err(e) = self.write_entry(&le).await {
            tracing::warn!(error = %e, "recording a failed revocation failed");
        }
        let n = le.revoke_failures;
        let max = self.config.max_revoke_attempts;
        if n >= max {
            if n == max {
                tracing::error!(
                    lease_id = %le.lease_id,
                    mount = %le.mount_point,
                    failures = n,
                    error = %err,
                    "lease revocation keeps failing; the lease is kept and retried (listed by sys/leases?type=irrevocable)"
                );
            }
            self.state().failing.insert(le.lease_id.clone(), le.clone());
        } else {
            tracing::warn!(
                lease_id = %le.lease_id,
                failures = n,
                error = %err,
                "lease revocation failed; will retry"
            );
        }
        self.schedule(&le.lease_id, self.clock.now() + self.retry_delay(n));
    }

    /// Exponential backoff with ±20% jitter; the maximum once a lease is reported.
    fn retry_delay(&self, failures: u32) -> Duration {
        let c = &self.config;
        let base = if failures >= c.max_revoke_attempts {
            c.retry_max
        } else {
            let exp = failures.saturating_sub(1).min(30);
            c.retry_base.saturating_mul(1u32 << exp).min(c.retry_max)
        };
        let r = arca_crypto::random_array::<2>()
            .map(u16::from_le_bytes)
            .unwrap_or(32768);
        let factor = 0.8 + 0.4 * f64::from(r) / 65536.0;
        base.mul_f64(factor).max(Duration::from_millis(1))
    }

    // ---- expiry ----

    /// Revokes every lease due now, at most `revoke_concurrency` at a time. The background
    /// worker calls it when the earliest lease is due; tests call it after moving a manual
    /// clock. Concurrent calls are serialised.
    pub async fn tick(&self) {
        let _tick = self.tick_lock.lock().await;
        let Some(this) = self.weak.upgrade() else {
            return;
        };
        let now = self.clock.now();
        let limit = self.config.revoke_concurrency.max(1);
        let mut running = JoinSet::new();
        loop {
            while running.len() < limit && !*self.stop.borrow() {
                let next = self.state().schedule.pop_due(now);
                let Some(id) = next else {
                    break;
                };
                let m = Arc::clone(&this);
                running.spawn(async move { m.expire_one(&id).await });
            }
            if running.join_next().await.is_none() {
                break;
            }
        }
    }

    async fn expire_one(&self, lease_id: &str) {
        let _lock = self.locks.lock(lease_id).await;
        let now = self.clock.now();
        let le = match self.read_entry(lease_id).await {
            Ok(Some(le)) => le,
            Ok(None) => return self.forget(lease_id),
            Err(e) => {
                tracing::warn!(error = %e, "reading an expiring lease failed; will retry");
                return self.schedule(lease_id, now + self.config.retry_base);
            }
        };
        if !le.expires() {
            return self.forget(lease_id);
        }
        if le.expire_time > now {
            // Renewed after it was picked.
            return self.schedule(lease_id, le.expire_time);
        }
        match self.call_revoke(&le).await {
            Ok(()) => match self.delete_entry(&le).await {
                Ok(()) => self.forget(lease_id),
                Err(e) => {
                    tracing::warn!(error = %e, "removing a revoked lease failed; will retry");
                    self.schedule(lease_id, now + self.config.retry_base);
                }
            },
            Err(e) => self.record_failure(le, &e).await,
        }
    }

    async fn run_worker(weak: Weak<Self>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        loop {
            let delay = match weak.upgrade() {
                Some(m) => m.sleep_for(),
                None => return,
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wake.notified() => {}
                changed = stop.changed() => if changed.is_err() { return },
            }
            if *stop.borrow() {
                return;
            }
            match weak.upgrade() {
                Some(m) => m.tick().await,
                None => return,
            }
        }
    }

    fn sleep_for(&self) -> Duration {
        let next = self.state().schedule.next_due();
        let max = self.config.max_sleep;
        match next {
            Some(at) => at
                .duration_since(self.clock.now())
                .unwrap_or_default()
                .min(max),
            None => max,
        }
    }

    // ---- loading ----

    async fn load_all(self: Arc<Self>, top: Vec<String>) {
        let started = Instant::now();
        let mut dirs = Vec::new();
        let mut ids = Vec::new();
        for child in top {
            if child.ends_with('/') {
                dirs.push(child);
            } else {
                ids.push(child);
            }
        }
        let mut loaded = 0usize;
        let mut failed = false;
        loop {
            if !ids.is_empty() {
                match self.load_ids(std::mem::take(&mut ids)).await {
                    Ok(n) => loaded += n,
                    Err(()) => failed = true,
                }
            }
            if *self.stop.borrow() {
                return;
            }
            let Some(dir) = dirs.pop() else {
                break;
            };
            match self.storage.list(&entry_key(&dir)).await {
                Ok(children) => {
                    for child in children {
                        if child.ends_with('/') {
                            dirs.push(format!("{dir}{child}"));
                        } else {
                            ids.push(format!("{dir}{child}"));
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "listing leases failed during load");
                    failed = true;
                }
            }
        }
        let failing = self.state().failing.len();
        if failed {
            tracing::error!(loaded, "loading leases finished with errors");
            self.load.send_replace(LoadState::Failed);
        } else {
            if failing > 0 {
                tracing::warn!(failing, "some loaded leases keep failing revocation");
            }
            tracing::info!(
                loaded,
                failing,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "leases loaded"
            );
            self.load.send_replace(LoadState::Done(loaded));
        }
    }

    /// Reads records in parallel chunks and schedules them. `Err` if any read failed.
    async fn load_ids(self: &Arc<Self>, ids: Vec<String>) -> Result<usize, ()> {
        let limit = self.config.load_concurrency.max(1);
        let mut running: JoinSet<(usize, bool)> = JoinSet::new();
        let mut chunks = ids
            .chunks(LOAD_CHUNK)
            .map(<[String]>::to_vec)
            .collect::<Vec<_>>()
            .into_iter();
        let mut loaded = 0;
        let mut ok = true;
        loop {
            while running.len() < limit {
                let Some(chunk) = chunks.next() else {
                    break;
                };
                let m = Arc::clone(self);
                running.spawn(async move { m.load_chunk(chunk).await });
            }
            match running.join_next().await {
                None => break,
                Some(Ok((n, chunk_ok))) => {
                    loaded += n;
                    ok &= chunk_ok;
                }
                Some(Err(_)) => ok = false,
            }
        }
        if ok { Ok(loaded) } else { Err(()) }
    }

    async fn load_chunk(&self, ids: Vec<String>) -> (usize, bool) {
        let mut n = 0;
        let mut ok = true;
        let mut wake = false;
        for id in ids {
            match self.read_entry(&id).await {
                Ok(Some(le)) => {
                    n += 1;
                    wake |= self.restore(le);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading a lease failed during load");
                    ok = false;
                }
            }
        }
        if wake {
            self.wake.notify_one();
        }
        (n, ok)
    }

    /// Puts a loaded lease into the in-memory indexes unless a request already did.
    fn restore(&self, le: LeaseEntry) -> bool {
        let mut st = self.state();
        if !le.expires() {
            return false;
        }
        // A lease that was failing is retried right away: the process is new and the
        // backend may have been fixed.
        let due = if le.revoke_failures > 0 {
            self.clock.now()
        } else {
            le.expire_time
        };
        let earliest = st.schedule.set_if_absent(&le.lease_id, due);
        if le.revoke_failures >= self.config.max_revoke_attempts {
            st.failing.insert(le.lease_id.clone(), le);
        }
        earliest
    }

    /// Waits for the background load; returns how many leases it read.
    pub async fn wait_loaded(&self) -> Result<usize, ExpirationError> {
        let mut rx = self.load.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            match state {
                LoadState::Done(n) => return Ok(n),
                LoadState::Failed => return Err(ExpirationError::LoadFailed),
                LoadState::Stopped => return Err(ExpirationError::Stopped),
                LoadState::Loading => {}
            }
            if rx.changed().await.is_err() {
                return Err(ExpirationError::Stopped);
            }
        }
    }

    /// Whether the background load has finished.
    pub fn is_loaded(&self) -> bool {
        !matches!(*self.load.borrow(), LoadState::Loading)
    }

    /// Leases with a pending expiry or retry in memory.
    pub fn scheduled_count(&self) -> usize {
        self.state().schedule.len()
    }

    // ---- listing, tidy, reporting ----

    /// The `sys/leases/lookup/<prefix>` LIST: lease-id suffixes and sub-prefixes directly
    /// below `prefix`.
    pub async fn list_prefix(&self, prefix: &str) -> Result<Vec<String>, ExpirationError> {
        let dir = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        Ok(self.storage.list(&entry_key(&dir)).await?)
    }

    /// Leases whose revocation failed `max_revoke_attempts` times or more, by expiry then
    /// id. They stay stored and are retried at `retry_max` until they succeed or are
    /// force-revoked.
    pub fn failing_leases(&self) -> Vec<LeaseEntry> {
        let mut v: Vec<LeaseEntry> = self.state().failing.values().cloned().collect();
        v.sort_by(|a, b| {
            a.expire_time
                .cmp(&b.expire_time)
                .then_with(|| a.lease_id.cmp(&b.lease_id))
        });
        v
    }

    /// Repairs the token index: removes entries whose lease is gone or belongs to another
    /// token, recreates missing ones, and revokes (forcibly) the leases of tokens the
    /// revoker says no longer exist. One tidy runs at a time; a second call returns at
    /// once.
    pub async fn tidy(&self) -> Result<(), ExpirationError> {
        if self.tidying.swap(true, Ordering::AcqRel) {
            tracing::info!("lease tidy already running");
            return Ok(());
        }
        let result = self.tidy_inner().await;
        self.tidying.store(false, Ordering::Release);
        result
    }

    async fn tidy_inner(&self) -> Result<(), ExpirationError> {
        let started = Instant::now();
        let mut dangling = 0usize;
        for dir in self.storage.list(TOKEN_DIR).await? {
            if !dir.ends_with('/') {
                continue;
            }
            let dir = format!("{TOKEN_DIR}{dir}");
            for key in self.storage.list(&dir).await? {
                let key = format!("{dir}{key}");
                let Some(v) = self.storage.get(&key).await? else {
                    continue;
                };
                let keep = match String::from_utf8(v) {
                    Ok(id) => self.read_entry(&id).await?.is_some_and(|le| {
                        !le.token_id.is_empty() && token_dir(&le.token_id) == dir
                    }),
                    Err(_) => false,
                };
                if !keep {
                    self.storage.delete(&key).await?;
                    dangling += 1;
                }
            }
        }

        let mut tokens: HashMap<String, bool> = HashMap::new();
        let (mut scanned, mut reindexed, mut revoked) = (0usize, 0usize, 0usize);
        for id in self.collect_ids("").await? {
            let Some(le) = self.read_entry(&id).await? else {
                continue;
            };
            scanned += 1;
            if le.token_id.is_empty() {
                continue;
            }
            let alive = match tokens.get(&le.token_id) {
                Some(a) => *a,
                None => match self.revoker.token_exists(&le.token_id).await {
                    Ok(a) => {
                        tokens.insert(le.token_id.clone(), a);
                        a
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "tidy could not check a lease's token");
                        continue;
                    }
                },
            };
            if !alive {
                match le.kind {
                    LeaseKind::Secret => self.revoke_one(&id, true).await?,
                    LeaseKind::Token => {
                        self.delete_entry(&le).await?;
                        self.forget(&id);
                    }
                }
                revoked += 1;
                continue;
            }
            let key = index_key(&le.token_id, &le.lease_id);
            if self.storage.get(&key).await?.is_none() {
                self.storage.put(&key, le.lease_id.as_bytes()).await?;
                reindexed += 1;
            }
        }
        tracing::info!(
            scanned,
            dangling_index_entries = dangling,
            reindexed,
            revoked_orphaned = revoked,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "lease tidy finished"
        );
        Ok(())
    }

    /// Stops the worker, the load and any tidy (on seal), and drops the in-memory
    /// indexes. Stored leases are untouched; a new manager picks them up.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        self.load.send_if_modified(|s| {
            let loading = *s == LoadState::Loading;
            if loading {
                *s = LoadState::Stopped;
            }
            loading
        });
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        let mut st = self.state();
        st.schedule.clear();
        st.failing.clear();
    }

    // ---- helpers ----

    /// Runs `f` over `items`, at most `revoke_concurrency` at a time. Returns the first
    /// error; with `stop_on_error` nothing new starts after one.
    async fn for_each_bounded<T, F, Fut>(
        &self,
        items: Vec<T>,
        stop_on_error: bool,
        f: F,
    ) -> Result<(), ExpirationError>
    where
        T: Send + 'static,
        F: Fn(Arc<Self>, T) -> Fut,
        Fut: Future<Output = Result<(), ExpirationError>> + Send + 'static,
    {
        let this = self.weak.upgrade().ok_or(ExpirationError::Stopped)?;
        let limit = self.config.revoke_concurrency.max(1);
        let mut running = JoinSet::new();
        let mut first_err = None;
        let mut items = items.into_iter();
        loop {
            while running.len() < limit && !(stop_on_error && first_err.is_some()) {
                let Some(item) = items.next() else {
                    break;
                };
                running.spawn(f(Arc::clone(&this), item));
            }
            match running.join_next().await {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    first_err.get_or_insert(e);
                }
                Some(Err(_)) => {
                    first_err.get_or_insert(ExpirationError::Stopped);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_like_vault() {
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(3630)), "1h30s");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_secs(598)), "9m58s");
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn token_mounts() {
        assert_eq!(token_mount("auth/token/create"), "auth/token/");
        assert_eq!(token_mount("auth/userpass/login/alice"), "auth/userpass/");
    }

    #[test]
    fn index_keys_are_fixed_size() {
        let k = index_key("t/with/slashes", "db/creds/ro/abc");
        assert!(k.starts_with("token/"));
        assert_eq!(k.len(), "token/".len() + 40 + 1 + 40);
    }
}
