//! The unsealed barrier: encrypts values on their way to storage and manages the keyring.

use std::sync::{Arc, OnceLock};

use arc_swap::{ArcSwap, ArcSwapOption};
use arca_storage::{HaLock, Storage, StorageError, TxnOp};
use async_trait::async_trait;
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

use crate::format;
use crate::keyring::{self, KeySet, TermKey};
use crate::{
    BarrierError, BarrierOptions, KEYRING_PATH, RESERVATION_BLOCK, RootKey, RotationConfig,
};

/// Refill the reservation when fewer than this many encryptions remain.
const LOW_WATER: u64 = RESERVATION_BLOCK / 2;

/// Bound on rotate/reserve/encrypt rounds for one value; only a storm of concurrent
/// rotations could use more than two.
const MAX_ATTEMPTS: usize = 16;

/// The active term as `sys/key-status` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyStatus {
    /// The active term number.
    pub term: u32,
    /// When the active term was installed.
    pub install_time: OffsetDateTime,
    /// Encryptions counted under the active term. After a restart this resumes from the
    /// persisted reservation, so it may exceed the true count by up to one reservation
    /// block, never fall short of it.
    pub encryptions: u64,
}

impl KeyStatus {
    fn of(key: &TermKey) -> Self {
        Self {
            term: key.term,
            install_time: key.install_time,
            encryptions: key.used(),
        }
    }
}

/// An unsealed barrier: the keyring is in memory. Implements [`Storage`] over a physical
/// backend, encrypting every value with its path as associated data.
pub struct Barrier {
    physical: Arc<dyn Storage>,
    // `None` once sealed.
    keys: ArcSwapOption<KeySet>,
    config: ArcSwap<RotationConfig>,
    root: RootChain,
    // Serialises every keyring write; never held by `encrypt`/`decrypt`.
    write_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let term = self.keys.load().as_ref().map(|k| k.active.term);
        f.debug_struct("Barrier")
            .field("backend", &self.physical.backend_name())
            .field("active_term", &term)
            .finish_non_exhaustive()
    }
}

impl Barrier {
    /// First initialisation: a keyring with term 1 (a fresh random key), sealed under
    /// `root_key` and written to `core/keyring` of `physical`.
    pub async fn initialize(
        physical: Arc<dyn Storage>,
        root_key: &RootKey,
        opts: BarrierOptions,
    ) -> Result<Arc<Barrier>, BarrierError> {
        Self::initialize_with_ops(physical, root_key, opts, Vec::new()).await
    }

    /// Like [`Barrier::initialize`], writing `extra` physical operations (for instance the
    /// sealed root key) in the same atomic transaction as the keyring.
    pub async fn initialize_with_ops(
        physical: Arc<dyn Storage>,
        root_key: &RootKey,
        opts: BarrierOptions,
        extra: Vec<TxnOp>,
    ) -> Result<Arc<Barrier>, BarrierError> {
        let cfg = opts.rotation;
        cfg.validate()?;
        refuse_keyring_ops(&extra)?;
        if Self::is_initialized(physical.as_ref()).await? {
            return Err(BarrierError::AlreadyInitialized);
        }
        let keys = KeySet::single(TermKey::generate(1, initial_reservation(&cfg))?);
        let root = RootKey::from_bytes(root_key.as_bytes())?;
        write_keyring(physical.as_ref(), &keys, &cfg, None, &root, extra).await?;
        tracing::info!(term = 1, "barrier keyring initialized");
        Ok(Arc::new(Self::assemble(physical, keys, cfg, root)))
    }

    /// Loads and decrypts `core/keyring` with `root_key`. A wrong root key (or a tampered
    /// keyring) gives [`BarrierError::Unseal`].
    pub async fn unseal(
        physical: Arc<dyn Storage>,
        root_key: &RootKey,
    ) -> Result<Arc<Barrier>, BarrierError> {
        let record = physical
            .get(KEYRING_PATH)
            .await?
            .ok_or(BarrierError::NotInitialized)?;
        let plain = keyring::open_record(root_key, &record)?;
        let (keys, cfg) = KeySet::decode(&plain)?;
        let root = RootKey::from_bytes(root_key.as_bytes())?;
        Ok(Arc::new(Self::assemble(physical, keys, cfg, root)))
    }

    /// Whether `physical` holds a keyring.
    pub async fn is_initialized(physical: &dyn Storage) -> Result<bool, BarrierError> {
        Ok(physical.get(KEYRING_PATH).await?.is_some())
    }

    fn assemble(
        physical: Arc<dyn Storage>,
        keys: KeySet,
        cfg: RotationConfig,
        root: RootKey,
    ) -> Self {
        Self {
            physical,
            keys: ArcSwapOption::from_pointee(keys),
            config: ArcSwap::from_pointee(cfg),
            root: RootChain {
                key: root,
                next: OnceLock::new(),
            },
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Result<Arc<KeySet>, BarrierError> {
        self.keys.load_full().ok_or(BarrierError::Sealed)
    }

    /// Encrypts `plaintext` for storage at `path` under the active term.
    ///
    /// Fails with [`BarrierError::TermExhausted`] when the active term has used its
    /// persisted reservation; the `Storage` interface and [`Barrier::check_auto_rotate`]
    /// raise the reservation or rotate ahead of that.
    pub fn encrypt(&self, path: &str, plaintext: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let keys = self.keys.load();
        let keys = keys.as_ref().ok_or(BarrierError::Sealed)?;
        let limit = self.config.load().term_limit();
        let sealed = keys.active.seal(path.as_bytes(), plaintext, limit)?;
        Ok(format::assemble(keys.active.term, &sealed))
    }

    /// Decrypts a value read from `path`.
    pub fn decrypt(&self, path: &str, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let keys = self.keys.load();
        let keys = keys.as_ref().ok_or(BarrierError::Sealed)?;
        let (term, sealed) = format::parse(value)?;
        let key = keys.get(term).ok_or(BarrierError::UnknownTerm { term })?;
        key.open(path.as_bytes(), sealed)
    }

    /// Adds term N+1 and makes it active. The keyring is durable before the term is used;
    /// older terms keep decrypting.
    pub async fn rotate(&self) -> Result<KeyStatus, BarrierError> {
        let _guard = self.write_lock.lock().await;
        self.rotate_locked().await
    }

    /// The active term, its install time and its encryption count. A sealed barrier
    /// reports term 0.
    pub fn key_status(&self) -> KeyStatus {
        match self.keys.load().as_ref() {
            Some(keys) => KeyStatus::of(&keys.active),
            None => KeyStatus {
                term: 0,
                install_time: OffsetDateTime::UNIX_EPOCH,
                encryptions: 0,
            },
        }
    }

    /// The rotation configuration in force.
    pub fn rotation_config(&self) -> RotationConfig {
        RotationConfig::clone(&self.config.load())
    }

    /// Replaces the rotation configuration and persists it in the keyring. Accepts any
    /// `max_operations` in `1..=ABSOLUTE_OPERATION_MAXIMUM`; the API's stricter limits are
    /// [`RotationConfig::validate_for_api`].
    pub async fn set_rotation_config(&self, cfg: RotationConfig) -> Result<(), BarrierError> {
        cfg.validate()?;
        let _guard = self.write_lock.lock().await;
        let keys = self.current()?;
        write_keyring(
            self.physical.as_ref(),
            &keys,
            &cfg,
            None,
            self.root_key(),
            Vec::new(),
        )
        .await?;
        // A lower limit takes effect at once, even for direct `encrypt` callers.
        self.config.store(Arc::new(cfg));
        Ok(())
    }

    /// The periodic check: rotates when the active term reached its operation limit or
    /// (with rotation enabled and a non-zero interval) is older than the interval, and
    /// otherwise tops up the encryption reservation. Returns whether it rotated.
    pub async fn check_auto_rotate(&self) -> Result<bool, BarrierError> {
        self.check_auto_rotate_at(OffsetDateTime::now_utc()).await
    }

    /// [`Barrier::check_auto_rotate`] with the current time supplied, for tests.
    pub async fn check_auto_rotate_at(&self, now: OffsetDateTime) -> Result<bool, BarrierError> {
        let keys = self.current()?;
        let active = &keys.active;
        let cfg = self.config.load_full();
        let limit = cfg.term_limit();
        let too_old = cfg
            .rotation_interval()
            .is_some_and(|interval| now - active.install_time >= interval);
        if active.used() >= limit || too_old {
            return self.rotate_if_active(active.term).await;
        }
        if needs_refill(active, limit) {
            self.raise_reservation(active.term).await?;
        }
        Ok(false)
    }

    /// Re-encrypts the keyring under `new_root`. The core then re-seals the new root key;
    /// [`Barrier::rotate_root_key_with_ops`] does both in one atomic write.
    pub async fn rotate_root_key(&self, new_root: RootKey) -> Result<(), BarrierError> {
        self.rotate_root_key_with_ops(new_root, Vec::new()).await
    }

    /// [`Barrier::rotate_root_key`], writing `extra` physical operations (the newly sealed
    /// root key) in the same transaction as the keyring, so a crash cannot separate them.
    pub async fn rotate_root_key_with_ops(
        &self,
        new_root: RootKey,
        extra: Vec<TxnOp>,
    ) -> Result<(), BarrierError> {
        refuse_keyring_ops(&extra)?;
        let _guard = self.write_lock.lock().await;
        let keys = self.current()?;
        let cfg = self.config.load_full();
        write_keyring(self.physical.as_ref(), &keys, &cfg, None, &new_root, extra).await?;
        self.root.push(new_root);
        tracing::info!("barrier root key rotated");
        Ok(())
    }

    /// The current root key (the core re-encrypts it under a new unseal key on rekey).
    ///
    /// Earlier root keys replaced by [`Barrier::rotate_root_key`] stay in memory until the
    /// barrier is dropped, so that references handed out here stay valid.
    pub fn root_key(&self) -> &RootKey {
        self.root.current()
    }

    /// Wipes the data keys from memory: every later operation fails with
    /// [`BarrierError::Sealed`] / [`StorageError::Sealed`], including through clones of
    /// the `Arc` held elsewhere. Key bytes are zeroized once the last in-flight operation
    /// releases them. The root key stays until the barrier is dropped.
    pub fn seal(&self) {
        self.keys.store(None);
        tracing::info!("barrier sealed");
    }

    /// Whether [`Barrier::seal`] was called.
    pub fn is_sealed(&self) -> bool {
        self.keys.load().is_none()
    }

    /// Encrypts for a write through the `Storage` interface: rotates first when the active
    /// term reached its limit, and raises the reservation before it runs out.
    async fn encrypt_for_write(
        &self,
        path: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BarrierError> {
        for _ in 0..MAX_ATTEMPTS {
            self.ensure_capacity().await?;
            match self.encrypt(path, plaintext) {
                Err(BarrierError::TermExhausted) => continue,
                other => return other,
            }
        }
        Err(BarrierError::TermExhausted)
    }

    async fn ensure_capacity(&self) -> Result<(), BarrierError> {
        for _ in 0..MAX_ATTEMPTS {
            let keys = self.current()?;
            let active = &keys.active;
            let limit = self.config.load().term_limit();
            if active.used() >= limit {
                self.rotate_if_active(active.term).await?;
            } else if needs_refill(active, limit) {
                self.raise_reservation(active.term).await?;
            } else {
                return Ok(());
            }
        }
        Err(BarrierError::TermExhausted)
    }

    /// Rotates unless another task already replaced `term`.
    async fn rotate_if_active(&self, term: u32) -> Result<bool, BarrierError> {
        let _guard = self.write_lock.lock().await;
        if self.current()?.active.term != term {
            return Ok(false);
        }
        self.rotate_locked().await?;
        Ok(true)
    }

    async fn rotate_locked(&self) -> Result<KeyStatus, BarrierError> {
        let keys = self.current()?;
        let term = keys
            .active
            .term
            .checked_add(1)
            .ok_or(BarrierError::TermOverflow)?;
        let cfg = self.config.load_full();
        let next = keys.with_active(TermKey::generate(term, initial_reservation(&cfg))?);
        write_keyring(
            self.physical.as_ref(),
            &next,
            &cfg,
            None,
            self.root_key(),
            Vec::new(),
        )
        .await?;
        let status = KeyStatus::of(&next.active);
        // Publish only if not sealed meanwhile (`seal` does not take the write lock).
        let prev = self
            .keys
            .compare_and_swap(&Some(Arc::clone(&keys)), Some(Arc::new(next)));
        if !prev.as_ref().is_some_and(|p| Arc::ptr_eq(p, &keys)) {
            return Err(BarrierError::Sealed);
        }
        tracing::info!(term, "barrier keyring rotated");
        Ok(status)
    }

    /// Persists a larger reservation for `term` (if still active), then publishes it.
    async fn raise_reservation(&self, term: u32) -> Result<(), BarrierError> {
        let _guard = self.write_lock.lock().await;
        let keys = self.current()?;
        let active = &keys.active;
        if active.term != term {
            return Ok(());
        }
        let cfg = self.config.load_full();
        let reserved = active.reserved();
        let wanted = cfg
            .term_limit()
            .min(active.used().saturating_add(RESERVATION_BLOCK))
            .max(reserved);
        if wanted == reserved {
            return Ok(());
        }
        write_keyring(
            self.physical.as_ref(),
            &keys,
            &cfg,
            Some((term, wanted)),
            self.root_key(),
            Vec::new(),
        )
        .await?;
        active.set_reserved(wanted);
        Ok(())
    }
}

fn initial_reservation(cfg: &RotationConfig) -> u64 {
    cfg.term_limit().min(RESERVATION_BLOCK)
}

fn needs_refill(key: &TermKey, limit: u64) -> bool {
    let reserved = key.reserved();
    reserved < limit && reserved.saturating_sub(key.used()) < LOW_WATER
}

fn refuse_keyring_ops(ops: &[TxnOp]) -> Result<(), BarrierError> {
    let touches = ops.iter().any(|op| match op {
        TxnOp::Put { key, .. } | TxnOp::Delete { key } => key == KEYRING_PATH,
    });
    if touches {
        Err(BarrierError::ReservedPath)
    } else {
        Ok(())
    }
}

async fn write_keyring(
    physical: &dyn Storage,
    keys: &KeySet,
    cfg: &RotationConfig,
    reserved_override: Option<(u32, u64)>,
    root: &RootKey,
    extra: Vec<TxnOp>,
) -> Result<(), BarrierError> {
    let plain = keys.encode(cfg, reserved_override);
    let record = keyring::seal_record(root, &plain)?;
    if extra.is_empty() {
        physical.put(KEYRING_PATH, &record).await?;
    } else {
        let mut ops = extra;
        ops.push(TxnOp::Put {
            key: KEYRING_PATH.to_owned(),
            value: record,
        });
        physical.transaction(ops).await?;
    }
    Ok(())
}

/// Root keys, newest last. Append-only so `Barrier::root_key` can hand out plain
/// references while `rotate_root_key` replaces the key.
struct RootChain {
    key: RootKey,
    next: OnceLock<Box<RootChain>>,
}

impl RootChain {
    fn current(&self) -> &RootKey {
        let mut node = self;
        while let Some(next) = node.next.get() {
            node = next;
        }
        &node.key
    }

    /// Appends `key`. Callers hold the barrier's write lock, so the first `set` succeeds;
    /// the loop only keeps this correct without that assumption.
    fn push(&self, key: RootKey) {
        let mut node = self;
        let mut pending = Box::new(RootChain {
            key,
            next: OnceLock::new(),
        });
        loop {
            match node.next.get() {
                Some(next) => node = next,
                None => match node.next.set(pending) {
                    Ok(()) => return,
                    Err(back) => pending = back,
                },
            }
        }
    }
}

#[async_trait]
impl Storage for Barrier {
    async fn get(&self, key: &str) -> arca_storage::Result<Option<Vec<u8>>> {
        self.guard(key)?;
        let Some(value) = self.physical.get(key).await? else {
            return Ok(None);
        };
        let mut plain = self.decrypt(key, &value).map_err(|e| e.into_storage(key))?;
        // Moves the buffer out; nothing is left behind to zeroize.
        Ok(Some(std::mem::take(&mut *plain)))
    }

    async fn put(&self, key: &str, value: &[u8]) -> arca_storage::Result<()> {
        self.guard(key)?;
        let sealed = self
            .encrypt_for_write(key, value)
            .await
            .map_err(|e| e.into_storage(key))?;
        self.physical.put(key, &sealed).await
    }

    async fn delete(&self, key: &str) -> arca_storage::Result<()> {
        self.guard(key)?;
        self.physical.delete(key).await
    }

    async fn list(&self, prefix: &str) -> arca_storage::Result<Vec<String>> {
        self.current().map_err(|e| e.into_storage(prefix))?;
        self.physical.list(prefix).await
    }

    async fn transaction(&self, mut ops: Vec<TxnOp>) -> arca_storage::Result<()> {
        let refused = match self.current() {
            Err(e) => Some(e.into_storage("")),
            Ok(_) => refuse_keyring_ops(&ops)
                .err()
                .map(|e| e.into_storage(KEYRING_PATH)),
        };
        if let Some(err) = refused {
            wipe_plaintexts(&mut ops);
            return Err(err);
        }
        for i in 0..ops.len() {
            if let TxnOp::Put { key, value } = &mut ops[i] {
                match self.encrypt_for_write(key, value).await {
                    Ok(sealed) => {
                        // This plaintext is ours now: wipe it rather than leave it to the allocator.
                        value.zeroize();
                        *value = sealed;
                    }
                    Err(e) => {
                        let err = e.into_storage(key);
                        wipe_plaintexts(&mut ops[i..]);
                        return Err(err);
                    }
                }
            }
        }
        self.physical.transaction(ops).await
    }

    fn backend_name(&self) -> &'static str {
        self.physical.backend_name()
    }

    fn ha_lock(&self) -> Option<&dyn HaLock> {
        self.physical.ha_lock()
    }
}

fn wipe_plaintexts(ops: &mut [TxnOp]) {
    for op in ops {
        if let TxnOp::Put { value, .. } = op {
            value.zeroize();
        }
    }
}

impl Barrier {
    /// Refuses the keyring path and any use of a sealed barrier.
    fn guard(&self, key: &str) -> arca_storage::Result<()> {
        if key == KEYRING_PATH {
            return Err(StorageError::InvalidKey);
        }
        self.current().map(drop).map_err(|e| e.into_storage(key))
    }
}
