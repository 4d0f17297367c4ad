//! Storage, validation and life cycle of tokens.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_crypto::AeadKey;
use arca_logical::{Auth, Backend, SystemView, TokenType};
use arca_storage::{Storage, TxnOp};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::util::{
    NON_ASSIGNABLE_POLICIES, TtlInputs, calculate_ttl, check_policy_names, cidrs_allow,
    nanos_to_secs, normalize_cidrs, sanitize_policies, secs_to_nanos,
};
use crate::{TokenEntry, TokenError, TokenHooks, TokenRole};

const SALT_KEY: &str = "salt";
const BATCH_KEY: &str = "batch-key";
const ID_PREFIX: &str = "id/";
const ACCESSOR_PREFIX: &str = "accessor/";
const PARENT_PREFIX: &str = "parent/";
pub(crate) const ROLES_PREFIX: &str = "roles/";

/// Random characters of a service token and of an accessor (OpenBao's length).
const TOKEN_RANDOM_LEN: usize = 24;
/// Longest token text looked at; anything longer is simply unknown.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest token text a sudo caller may choose.
const MAX_CUSTOM_ID_LEN: usize = 1024;
/// Binds batch-token ciphertexts to their purpose and format version.
const BATCH_AAD: &[u8] = b"arca-token/batch/v1";
/// Lock stripes for read-modify-write of entries (use counts, renewals, revocation marks).
const LOCK_STRIPES: usize = 64;

/// Accessor index value.
#[derive(Debug, Serialize, Deserialize)]
struct AccessorEntry {
    token_id: String,
    accessor: String,
}

/// What a batch token carries, sealed. Short names keep the token short.
#[derive(Serialize, Deserialize)]
struct BatchPayload {
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(rename = "po")]
    policies: Vec<String>,
    #[serde(rename = "pa")]
    path: String,
    #[serde(rename = "m", default, skip_serializing_if = "BTreeMap::is_empty")]
    meta: BTreeMap<String, String>,
    #[serde(rename = "d")]
    display_name: String,
    #[serde(rename = "c")]
    creation_time: i64,
    #[serde(rename = "t")]
    ttl: u64,
    #[serde(rename = "r", default, skip_serializing_if = "String::is_empty")]
    role: String,
    #[serde(rename = "e", default, skip_serializing_if = "String::is_empty")]
    entity_id: String,
    #[serde(rename = "b", default, skip_serializing_if = "Vec::is_empty")]
    bound_cidrs: Vec<String>,
}

/// What a tidy run found and fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TidyReport {
    /// `parent/` index entries removed because the child no longer exists.
    pub parent_indexes_removed: u64,
    /// Children whose parent no longer exists, turned into orphans.
    pub children_orphaned: u64,
    /// `accessor/` index entries removed because their token no longer exists.
    pub accessors_removed: u64,
    /// Expired or half-revoked tokens revoked.
    pub tokens_revoked: u64,
    /// Entries that could not be processed (logged, left in place).
    pub errors: u64,
}

/// The token store. Shared as `Arc<TokenStore>`; every method takes `&self`.
pub struct TokenStore {
    storage: Arc<dyn Storage>,
    hooks: Arc<dyn TokenHooks>,
    system: Arc<dyn SystemView>,
    salt: Zeroizing<Vec<u8>>,
    batch_key: AeadKey,
    locks: Box<[Mutex<()>]>,
    tidy_running: AtomicBool,
    tidy_task: StdMutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A token about to be created: the entry without id, accessor or times, plus a custom
/// token text when a sudo caller chose one.
pub(crate) struct NewToken {
    pub entry: TokenEntry,
    pub custom_id: Option<String>,
}

impl TokenStore {
    /// Opens the store on `storage` (a barrier view such as `sys/token/`), creating its salt
    /// and batch-token key on first use. `system` gives the clock and the `auth/token/`
    /// mount's default and maximum TTL.
    pub async fn open(
        storage: Arc<dyn Storage>,
        hooks: Arc<dyn TokenHooks>,
        system: Arc<dyn SystemView>,
    ) -> Result<Arc<Self>, TokenError> {
        let salt = load_or_create_key(storage.as_ref(), SALT_KEY).await?;
        let batch = load_or_create_key(storage.as_ref(), BATCH_KEY).await?;
        let batch_key = AeadKey::new(&batch)?;
        let locks = (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        Ok(Arc::new(Self {
            storage,
            hooks,
            system,
            salt,
            batch_key,
            locks,
            tidy_running: AtomicBool::new(false),
            tidy_task: StdMutex::new(None),
        }))
    }

    /// The `Backend` serving `auth/token/*`.
    pub fn backend(self: &Arc<Self>) -> Arc<dyn Backend> {
        Arc::new(crate::backend::TokenBackend::new(Arc::clone(self)))
    }

    pub(crate) fn system(&self) -> &dyn SystemView {
        self.system.as_ref()
    }

    pub(crate) fn hooks(&self) -> &dyn TokenHooks {
        self.hooks.as_ref()
    }

    pub(crate) fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// The current time in unix nanoseconds, from the system view.
    pub(crate) fn now_nanos(&self) -> i64 {
        system_time_nanos(self.system.now())
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut input = Vec::with_capacity(kind.len() + 1 + value.len());
        input.extend_from_slice(kind.as_bytes());
        input.push(0);
        input.extend_from_slice(value.as_bytes());
        hex::encode(arca_crypto::hmac_sha256(&self.salt, &input))
    }

    /// The store id (salted hash) of a token text, whether or not such a token exists.
    pub fn id_of(&self, token: &str) -> String {
        self.hash("id", token)
    }

    fn accessor_key(&self, accessor: &str) -> String {
        format!("{ACCESSOR_PREFIX}{}", self.hash("accessor", accessor))
    }

    fn lock_for(&self, id: &str) -> &Mutex<()> {
        let h = id.bytes().fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &self.locks[h % self.locks.len()]
    }

    // ----- raw entries -------------------------------------------------------------------

    pub(crate) async fn read_entry(&self, id: &str) -> Result<Option<TokenEntry>, TokenError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        match self.storage.get(&format!("{ID_PREFIX}{id}")).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| TokenError::Corrupt("token entry")),
        }
    }

    async fn write_entry(&self, entry: &TokenEntry) -> Result<(), TokenError> {
        self.storage
            .put(&format!("{ID_PREFIX}{}", entry.id), &encode(entry)?)
            .await?;
        Ok(())
    }

    async fn read_accessor(&self, accessor: &str) -> Result<Option<AccessorEntry>, TokenError> {
        if accessor.is_empty() || accessor.len() > 256 {
            return Ok(None);
        }
        self.read_accessor_key(&self.accessor_key(accessor)).await
    }

    async fn read_accessor_key(&self, key: &str) -> Result<Option<AccessorEntry>, TokenError> {
        match self.storage.get(key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| TokenError::Corrupt("accessor index")),
        }
    }

    fn is_live(&self, e: &TokenEntry, now: i64) -> bool {
        !e.revocation_pending && !e.is_expired_at(now)
    }

    // ----- lookups -----------------------------------------------------------------------

    /// Finds a token's entry. Batch tokens are decrypted (and need a live parent); service
    /// tokens are read by their salted hash. Expired tokens are never returned; tokens
    /// serving their last use or being revoked only when `allow_pending`.
    pub(crate) async fn find(
        &self,
        token: &str,
        allow_pending: bool,
    ) -> Result<Option<TokenEntry>, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let now = self.now_nanos();
        if let Some(body) = batch_body(token) {
            let Some(entry) = self.open_batch(token, body) else {
                return Ok(None);
            };
            if entry.is_expired_at(now) {
                return Ok(None);
            }
            if let Some(parent) = &entry.parent {
                match self.read_entry(parent).await? {
                    Some(p) if self.is_live(&p, now) => {}
                    _ => return Ok(None),
                }
            }
            return Ok(Some(entry));
        }
        let Some(entry) = self.read_entry(&self.id_of(token)).await? else {
            return Ok(None);
        };
        if entry.is_expired_at(now) || (entry.revocation_pending && !allow_pending) {
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The entry of a live token (unknown, expired, revoked or used-up tokens give `None`).
    /// No use-count effect.
    pub async fn lookup(&self, token: &str) -> Result<Option<TokenEntry>, TokenError> {
        self.find(token, false).await
    }

    /// The entry of a live service token by its store id. Batch tokens are not stored, so
    /// their ids are never found here.
    pub async fn lookup_id(&self, id: &str) -> Result<Option<TokenEntry>, TokenError> {
        let now = self.now_nanos();
        Ok(self.read_entry(id).await?.filter(|e| self.is_live(e, now)))
    }

    /// The entry of a live service token by its accessor.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenEntry>, TokenError> {
        match self.read_accessor(accessor).await? {
            Some(a) => self.lookup_id(&a.token_id).await,
            None => Ok(None),
        }
    }

    /// Whether a service token with this store id is stored at all (live, expired or being
    /// revoked): for the lease manager's tidy, which revokes leases of vanished tokens.
    pub async fn contains_id(&self, id: &str) -> Result<bool, TokenError> {
        Ok(self.read_entry(id).await?.is_some())
    }

    /// The accessor index → store id, for any stored token (even one being revoked).
    pub(crate) async fn id_for_accessor(
        &self,
        accessor: &str,
    ) -> Result<Option<String>, TokenError> {
        Ok(self.read_accessor(accessor).await?.map(|a| a.token_id))
    }

    /// Validates a presented token for one request.
    ///
    /// Unknown, expired, revoked or used-up tokens and clients outside the token's
    /// `bound_cidrs` (or of unknown address when it has some) give `Ok(None)`: the core
    /// answers 403. Batch tokens are decrypted, with no storage read except their parent's
    /// entry. For a use-limited token one use is consumed durably before this returns;
    /// the last use still succeeds with `revocation_pending` set on the returned entry,
    /// and the core must call [`TokenStore::finish_use`] once the request is done, which
    /// revokes it (a token serving its last use never authenticates again either way).
    pub async fn authenticate(
        &self,
        token: &str,
        remote: Option<IpAddr>,
    ) -> Result<Option<TokenEntry>, TokenError> {
        let Some(entry) = self.find(token, false).await? else {
            return Ok(None);
        };
        if !cidrs_allow(&entry.bound_cidrs, remote) {
            return Ok(None);
        }
        if entry.is_batch() || entry.num_uses == 0 {
            return Ok(Some(entry));
        }
        let _guard = self.lock_for(&entry.id).lock().await;
        // Re-read under the lock: concurrent requests must each consume their own use.
        let Some(mut entry) = self.read_entry(&entry.id).await? else {
            return Ok(None);
        };
        if !self.is_live(&entry, self.now_nanos()) {
            return Ok(None);
        }
        if entry.num_uses > 0 {
            entry.num_uses -= 1;
            if entry.num_uses == 0 {
                entry.revocation_pending = true;
            }
            self.write_entry(&entry).await?;
        }
        Ok(Some(entry))
    }

    /// After a request: revokes the token if that request was its last allowed use
    /// (`revocation_pending` on the entry [`TokenStore::authenticate`] returned). A no-op
    /// otherwise, so the core may call it after every request.
    pub async fn finish_use(&self, entry: &TokenEntry) -> Result<(), TokenError> {
        if entry.revocation_pending && !entry.is_batch() {
            self.revoke_tree(&entry.id).await?;
        }
        Ok(())
    }

    // ----- batch tokens ------------------------------------------------------------------

    fn seal_batch(&self, entry: &TokenEntry) -> Result<Zeroizing<String>, TokenError> {
        let payload = BatchPayload {
            parent: entry.parent.clone(),
            policies: entry.policies.clone(),
            path: entry.path.clone(),
            meta: entry.meta.clone(),
            display_name: entry.display_name.clone(),
            creation_time: entry.creation_time,
            ttl: entry.ttl,
            role: entry.role.clone(),
            entity_id: entry.entity_id.clone(),
            bound_cidrs: entry.bound_cidrs.clone(),
        };
        let plain = Zeroizing::new(
            serde_json::to_vec(&payload).map_err(|_| TokenError::Corrupt("batch token payload"))?,
        );
        let sealed = self.batch_key.seal(BATCH_AAD, &plain)?;
        Ok(Zeroizing::new(format!(
            "b.{}",
            URL_SAFE_NO_PAD.encode(sealed)
        )))
    }

    /// Decrypts a batch token; `None` for anything that is not one of ours.
    fn open_batch(&self, token: &str, body: &str) -> Option<TokenEntry> {
        let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
        let plain = self.batch_key.open(BATCH_AAD, &sealed).ok()?;
        let p: BatchPayload = serde_json::from_slice(&plain).ok()?;
        // Whole seconds, as Vault derives a batch token's times from its creation second.
        let issue = p.creation_time.saturating_mul(1_000_000_000);
        Some(TokenEntry {
            id: self.id_of(token),
            accessor: String::new(),
            orphan: p.parent.is_none(),
            parent: p.parent,
            policies: p.policies,
            path: p.path,
            meta: p.meta,
            display_name: p.display_name,
            num_uses: 0,
            creation_time: p.creation_time,
            ttl: p.ttl,
            explicit_max_ttl: 0,
            period: 0,
            renewable: false,
            role: p.role,
            token_type: TokenType::Batch,
            entity_id: p.entity_id,
            bound_cidrs: p.bound_cidrs,
            expire_time: (p.ttl > 0).then(|| issue.saturating_add(secs_to_nanos(p.ttl))),
            lease_id: String::new(),
            issue_time: issue,
            last_renewal_time: None,
            current_ttl: p.ttl,
            max_ttl: 0,
            revocation_pending: false,
        })
    }

    // ----- creation ----------------------------------------------------------------------

    /// Creates a root token (init, generate-root, dev mode). `id` chooses the token text
    /// (dev mode's `-dev-root-token-id`); otherwise it is random.
    pub async fn create_root(
        &self,
        id: Option<&str>,
    ) -> Result<(Zeroizing<String>, TokenEntry), TokenError> {
        if let Some(id) = id
            && (id.is_empty()
                || id.len() > 256
                || id.chars().any(|c| c.is_control() || c.is_whitespace())
                || batch_body(id).is_some())
        {
            return Err(TokenError::Invalid("invalid root token id".to_owned()));
        }
        let now = self.now_nanos();
        let entry = TokenEntry {
            policies: vec!["root".to_owned()],
            path: "auth/token/root".to_owned(),
            display_name: "root".to_owned(),
            ..blank_entry(now, TokenType::Service)
        };
        self.create_token(NewToken {
            entry,
            custom_id: id.map(str::to_owned),
        })
        .await
    }

    /// Stores a new token (service) or seals it (batch), fills `id`, `accessor`, times and
    /// the lease, and tells the hooks. The entry's policies, TTL and parent are final.
    pub(crate) async fn create_token(
        &self,
        new: NewToken,
    ) -> Result<(Zeroizing<String>, TokenEntry), TokenError> {
        let NewToken {
            mut entry,
            custom_id,
        } = new;
        entry.policies = sanitize_policies(&entry.policies, false);
        entry.orphan = entry.parent.is_none();
        let now = self.now_nanos();
        entry.issue_time = now;
        entry.current_ttl = entry.ttl;
        entry.expire_time = (entry.ttl > 0).then(|| now.saturating_add(secs_to_nanos(entry.ttl)));

        if entry.is_batch() {
            if entry.ttl == 0 {
                return Err(TokenError::Invalid(
                    "batch tokens must have a TTL".to_owned(),
                ));
            }
            entry.accessor = String::new();
            entry.renewable = false;
            entry.num_uses = 0;
            // Whole seconds: that is all the sealed payload keeps.
            entry.issue_time = entry.creation_time.saturating_mul(1_000_000_000);
            entry.expire_time = Some(entry.issue_time.saturating_add(secs_to_nanos(entry.ttl)));
            let token = self.seal_batch(&entry)?;
            entry.id = self.id_of(&token);
            return Ok((token, entry));
        }

        let token = match custom_id {
            Some(id) => {
                if id.starts_with("hvs.") {
                    return Err(TokenError::Invalid(
                        "custom token ID cannot have the 'hvs.' prefix".to_owned(),
                    ));
                }
                if id.starts_with("s.") {
                    return Err(TokenError::Invalid(
                        "custom token ID cannot have the 's.' prefix".to_owned(),
                    ));
                }
                if id.contains('.') {
                    return Err(TokenError::Invalid(
                        "custom token ID cannot have a '.' in the value".to_owned(),
                    ));
                }
                if self
                    .storage
                    .get(&format!("{ID_PREFIX}{}", self.id_of(&id)))
                    .await?
                    .is_some()
                {
                    return Err(TokenError::Invalid(
                        "cannot create a token with a duplicate ID".to_owned(),
                    ));
                }
                if id.len() > MAX_CUSTOM_ID_LEN || id.chars().any(char::is_control) {
                    return Err(TokenError::Invalid("invalid custom token ID".to_owned()));
                }
                Zeroizing::new(id)
            }
            None => Zeroizing::new(format!(
                "s.{}",
                arca_crypto::random_base62(TOKEN_RANDOM_LEN)?
            )),
        };
        entry.id = self.id_of(&token);
        entry.accessor = arca_crypto::random_base62(TOKEN_RANDOM_LEN)?;
        let with_lease = entry.ttl > 0;
        if with_lease {
            entry.lease_id = format!("{}/{}", entry.path.trim_end_matches('/'), entry.id);
        }

        let mut ops = vec![
            TxnOp::Put {
                key: format!("{ID_PREFIX}{}", entry.id),
                value: encode(&entry)?,
            },
            TxnOp::Put {
                key: self.accessor_key(&entry.accessor),
                value: serde_json::to_vec(&AccessorEntry {
                    token_id: entry.id.clone(),
                    accessor: entry.accessor.clone(),
                })
                .map_err(|_| TokenError::Corrupt("accessor index"))?,
            },
        ];
        if let Some(parent) = &entry.parent {
            ops.push(TxnOp::Put {
                key: format!("{PARENT_PREFIX}{parent}/{}", entry.id),
                value: Vec::new(),
            });
        }
        self.storage.transaction(ops).await?;

        // The parent may have been revoked between the caller's lookup and our write; a
        // child created then would escape the revocation, so it is undone.
        if let Some(parent) = &entry.parent {
            let live = match self.read_entry(parent).await? {
                Some(p) => self.is_live(&p, self.now_nanos()),
                None => false,
            };
            if !live {
                self.delete_entry(&entry).await?;
                return Err(TokenError::Invalid("parent token not found".to_owned()));
            }
        }

        if with_lease {
            match self.hooks.token_created(&entry).await {
                Ok(lease_id) => {
                    if lease_id != entry.lease_id {
                        entry.lease_id = lease_id;
                        self.write_entry(&entry).await?;
                    }
                }
                Err(e) => {
                    if let Err(cleanup) = self.delete_entry(&entry).await {
                        tracing::warn!(error = %cleanup, "failed to remove a token whose lease could not be registered");
                    }
                    return Err(TokenError::Hook(e));
                }
            }
        }
        Ok((token, entry))
    }

    /// Creates the token for an auth-method login and completes `auth` with it.
    ///
    /// `auth` comes from the auth method, with `entity_id` (and a mount-prefixed
    /// `display_name`) set by the core; `path` is the login path
    /// (`auth/userpass/login/alice`); `bounds` are the auth mount's default and maximum TTL.
    /// Fills `client_token`, `accessor`, `token_policies` and `policies` (with `default`
    /// unless `no_default_policy`), `ttl` (capped by the bounds, `max_ttl`,
    /// `explicit_max_ttl`), `orphan = true`, and `renewable = false` for batch tokens.
    /// Capping warnings are dropped; use [`TokenStore::create_for_login_with_warnings`] to
    /// show them.
    pub async fn create_for_login(
        &self,
        auth: &mut Auth,
        path: &str,
        bounds: (Duration, Duration),
    ) -> Result<TokenEntry, TokenError> {
        self.create_for_login_with_warnings(auth, path, bounds)
            .await
            .map(|(e, _)| e)
    }

    /// [`TokenStore::create_for_login`], also returning Vault's TTL-capping warnings for
    /// the response.
    pub async fn create_for_login_with_warnings(
        &self,
        auth: &mut Auth,
        path: &str,
        bounds: (Duration, Duration),
    ) -> Result<(TokenEntry, Vec<String>), TokenError> {
        self.create_issued(auth, path, bounds, false).await
    }

    /// A response-wrapping token: one use, the given TTL, only the `response-wrapping`
    /// policy (which no other creation path may assign). Fills `auth` like a login.
    pub async fn create_wrapping_token(
        &self,
        auth: &mut Auth,
        path: &str,
        ttl: Duration,
    ) -> Result<TokenEntry, TokenError> {
        auth.policies = vec!["response-wrapping".to_owned()];
        auth.no_default_policy = true;
        auth.num_uses = 1;
        auth.ttl = ttl;
        auth.max_ttl = ttl;
        auth.renewable = false;
        auth.token_type = TokenType::Service;
        self.create_issued(auth, path, (ttl, ttl), true)
            .await
            .map(|(e, _)| e)
    }

    async fn create_issued(
        &self,
        auth: &mut Auth,
        path: &str,
        bounds: (Duration, Duration),
        wrapping: bool,
    ) -> Result<(TokenEntry, Vec<String>), TokenError> {
        check_policy_names(&auth.policies)?;
        let token_policies = sanitize_policies(&auth.policies, !auth.no_default_policy);
        if token_policies.iter().any(|p| p == "root") {
            return Err(TokenError::Invalid(
                "auth methods cannot create root tokens".to_owned(),
            ));
        }
        if !wrapping
            && let Some(p) = token_policies
                .iter()
                .find(|p| NON_ASSIGNABLE_POLICIES.contains(&p.as_str()))
        {
            return Err(TokenError::Invalid(format!("cannot assign policy \"{p}\"")));
        }
        let bound_cidrs = normalize_cidrs(&auth.bound_cidrs, "token_bound_cidrs")?;
        let now = self.now_nanos();
        let (mount_default, mount_max) = (bounds.0.as_secs(), bounds.1.as_secs());
        let (ttl, warnings) = calculate_ttl(
            nanos_to_secs(now),
            mount_default,
            mount_max,
            TtlInputs {
                backend_ttl: auth.ttl.as_secs(),
                period: auth.period.as_secs(),
                backend_max: auth.max_ttl.as_secs(),
                explicit_max: auth.explicit_max_ttl.as_secs(),
                ..TtlInputs::default()
            },
        )?;
        if ttl == 0 {
            return Err(TokenError::Invalid(
                "refusing to create a non-root zero TTL token".to_owned(),
            ));
        }
        let batch = auth.token_type == TokenType::Batch;
        let mut effective_max = mount_max;
        let backend_max = auth.max_ttl.as_secs();
        if backend_max > 0 && backend_max < effective_max {
            effective_max = backend_max;
        }
        let entry = TokenEntry {
            path: path.to_owned(),
            policies: token_policies.clone(),
            meta: auth.metadata.clone(),
            display_name: auth.display_name.clone(),
            num_uses: if batch { 0 } else { auth.num_uses },
            ttl,
            explicit_max_ttl: if batch {
                0
            } else {
                auth.explicit_max_ttl.as_secs()
            },
            period: if batch { 0 } else { auth.period.as_secs() },
            renewable: !batch && auth.renewable,
            entity_id: auth.entity_id.clone(),
            bound_cidrs,
            max_ttl: effective_max,
            ..blank_entry(now, auth.token_type)
        };
        let (token, entry) = self
            .create_token(NewToken {
                entry,
                custom_id: None,
            })
            .await?;
        auth.client_token = token.to_string();
        auth.accessor = entry.accessor.clone();
        auth.token_policies = token_policies.clone();
        auth.policies = token_policies;
        auth.ttl = Duration::from_secs(ttl);
        auth.orphan = true;
        auth.renewable = entry.renewable;
        Ok((entry, warnings))
    }

    // ----- renewal -----------------------------------------------------------------------

    /// Renews a token by `increment` with Vault's rules (`CalculateTTL` from the issue
    /// time; period and explicit max from its role if it has one). Returns the updated entry
    /// and capping warnings.
    pub async fn renew(
        &self,
        entry: &TokenEntry,
        increment: Duration,
    ) -> Result<(TokenEntry, Vec<String>), TokenError> {
        let renewed = self.renew_from_lease(entry, increment).await?;
        self.hooks
            .token_renewed(&renewed.0, Duration::from_secs(renewed.0.current_ttl))
            .await
            .map_err(TokenError::Hook)?;
        Ok(renewed)
    }

    /// [`TokenStore::renew`] without the [`TokenHooks::token_renewed`] call: for renewals
    /// that come from the lease manager (`sys/leases/renew` of a token lease), which holds
    /// the lease and applies the returned TTL (`current_ttl`) itself.
    pub async fn renew_from_lease(
        &self,
        entry: &TokenEntry,
        increment: Duration,
    ) -> Result<(TokenEntry, Vec<String>), TokenError> {
        if entry.is_batch() {
            return Err(TokenError::Invalid(
                "batch tokens cannot be renewed".to_owned(),
            ));
        }
        // The role and the auth method are consulted before taking the lock: hooks never run
        // under one.
        let is_token_store = entry.path.starts_with("auth/token/");
        let login = if is_token_store {
            None
        } else {
            self.hooks
                .renew_login(entry)
                .await
                .map_err(TokenError::Hook)?
        };
        let role = if is_token_store && !entry.role.is_empty() {
            let role = self.read_role(&entry.role).await?;
            if role.is_none() {
                return Err(TokenError::Invalid(
                    "original token role could not be found, not renewing".to_owned(),
                ));
            }
            role
        } else {
            None
        };

        let renewed = {
            let _guard = self.lock_for(&entry.id).lock().await;
            let now = self.now_nanos();
            let Some(mut e) = self.read_entry(&entry.id).await? else {
                return Err(TokenError::Invalid("token not found".to_owned()));
            };
            if e.revocation_pending {
                return Err(TokenError::Invalid("token not found".to_owned()));
            }
            let Some(expire) = e.expire_time else {
                return Err(TokenError::Invalid("lease is not renewable".to_owned()));
            };
            if expire <= now {
                return Err(TokenError::Invalid("lease expired".to_owned()));
            }
            if !e.renewable {
                return Err(TokenError::Invalid("lease is not renewable".to_owned()));
            }
            let mut inputs = TtlInputs {
                increment: increment.as_secs(),
                backend_ttl: e.current_ttl,
                period: e.period,
                explicit_max: e.explicit_max_ttl,
                start: Some(nanos_to_secs(e.issue_time)),
                ..TtlInputs::default()
            };
            if let Some(role) = &role {
                inputs.period = role.token_period;
                inputs.explicit_max = role.token_explicit_max_ttl;
            }
            if let Some(auth) = &login {
                inputs.backend_ttl = auth.ttl.as_secs();
                inputs.backend_max = auth.max_ttl.as_secs();
                inputs.period = auth.period.as_secs();
                inputs.explicit_max = auth.explicit_max_ttl.as_secs();
            }
            let mount_max = if e.max_ttl > 0 {
                e.max_ttl
            } else {
                self.system.max_lease_ttl().as_secs()
            };
            let mount_default = if is_token_store {
                self.system.default_lease_ttl().as_secs()
            } else {
                e.current_ttl
            };
            let (ttl, warnings) =
                calculate_ttl(nanos_to_secs(now), mount_default, mount_max, inputs)?;
            e.current_ttl = ttl;
            e.expire_time = Some(now.saturating_add(secs_to_nanos(ttl)));
            e.last_renewal_time = Some(now);
            self.write_entry(&e).await?;
            (e, warnings)
        };
        Ok(renewed)
    }

    // ----- revocation --------------------------------------------------------------------

    /// Marks a stored token as being revoked (so it stops authenticating at once) and
    /// returns its entry.
    async fn mark_pending(&self, id: &str) -> Result<Option<TokenEntry>, TokenError> {
        let _guard = self.lock_for(id).lock().await;
        let Some(mut e) = self.read_entry(id).await? else {
            return Ok(None);
        };
        if !e.revocation_pending {
            e.revocation_pending = true;
            self.write_entry(&e).await?;
        }
        Ok(Some(e))
    }

    async fn children(&self, id: &str) -> Result<Vec<String>, TokenError> {
        Ok(self
            .storage
            .list(&format!("{PARENT_PREFIX}{id}/"))
            .await?
            .into_iter()
            .filter(|c| !c.ends_with('/'))
            .collect())
    }

    /// Deletes a token's entry and its indexes in one transaction.
    async fn delete_entry(&self, e: &TokenEntry) -> Result<(), TokenError> {
        let mut ops = vec![TxnOp::Delete {
            key: format!("{ID_PREFIX}{}", e.id),
        }];
        if !e.accessor.is_empty() {
            ops.push(TxnOp::Delete {
                key: self.accessor_key(&e.accessor),
            });
        }
        if let Some(parent) = &e.parent {
            ops.push(TxnOp::Delete {
                key: format!("{PARENT_PREFIX}{parent}/{}", e.id),
            });
        }
        self.storage.transaction(ops).await?;
        Ok(())
    }

    /// Revokes one token whose children are already gone: hooks, then storage.
    async fn revoke_one(&self, id: &str) -> Result<(), TokenError> {
        let Some(entry) = self.read_entry(id).await? else {
            return Ok(());
        };
        self.hooks
            .token_revoked(&entry)
            .await
            .map_err(TokenError::Hook)?;
        self.delete_entry(&entry).await
    }

    /// Revokes a token and every descendant, children first (a depth-first walk of the
    /// `parent/` index, no scan). Each token is marked for revocation as soon as it is
    /// reached, so none of them can authenticate or create children meanwhile;
    /// [`TokenHooks::token_revoked`] is called for each before its entry is deleted.
    /// Revoking an unknown id is not an error.
    pub async fn revoke_tree(&self, id: &str) -> Result<(), TokenError> {
        if self.mark_pending(id).await?.is_none() {
            return Ok(());
        }
        let mut seen: HashSet<String> = HashSet::from([id.to_owned()]);
        // (id, children already pushed)
        let mut stack: Vec<(String, bool)> = vec![(id.to_owned(), false)];
        while let Some((current, expanded)) = stack.pop() {
            if expanded {
                self.revoke_one(&current).await?;
                continue;
            }
            stack.push((current.clone(), true));
            for child in self.children(&current).await? {
                if !seen.insert(child.clone()) {
                    // A cycle cannot be built through the API; drop the bad index entry.
                    self.storage
                        .delete(&format!("{PARENT_PREFIX}{current}/{child}"))
                        .await?;
                    continue;
                }
                if self.mark_pending(&child).await?.is_none() {
                    self.storage
                        .delete(&format!("{PARENT_PREFIX}{current}/{child}"))
                        .await?;
                    continue;
                }
                stack.push((child, false));
            }
        }
        Ok(())
    }

    /// Revokes one token and turns its children into orphans (`auth/token/revoke-orphan`).
    pub async fn revoke_orphan(&self, id: &str) -> Result<(), TokenError> {
        let Some(entry) = self.mark_pending(id).await? else {
            return Ok(());
        };
        self.hooks
            .token_revoked(&entry)
            .await
            .map_err(TokenError::Hook)?;
        for child in self.children(id).await? {
            let index = format!("{PARENT_PREFIX}{id}/{child}");
            let _guard = self.lock_for(&child).lock().await;
            match self.read_entry(&child).await? {
                Some(mut c) => {
                    c.parent = None;
                    c.orphan = true;
                    self.storage
                        .transaction(vec![
                            TxnOp::Put {
                                key: format!("{ID_PREFIX}{child}"),
                                value: encode(&c)?,
                            },
                            TxnOp::Delete { key: index },
                        ])
                        .await?;
                }
                None => self.storage.delete(&index).await?,
            }
        }
        self.delete_entry(&entry).await
    }

    // ----- roles -------------------------------------------------------------------------

    pub(crate) async fn read_role(&self, name: &str) -> Result<Option<TokenRole>, TokenError> {
        match self.storage.get(&format!("{ROLES_PREFIX}{name}")).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| TokenError::Corrupt("token role")),
        }
    }

    pub(crate) async fn write_role(&self, role: &TokenRole) -> Result<(), TokenError> {
        let bytes = serde_json::to_vec(role).map_err(|_| TokenError::Corrupt("token role"))?;
        self.storage
            .put(&format!("{ROLES_PREFIX}{}", role.name), &bytes)
            .await?;
        Ok(())
    }

    // ----- listing and tidy --------------------------------------------------------------

    /// Every accessor in the index (`LIST auth/token/accessors`), plus warnings for index
    /// entries that could not be read.
    pub async fn list_accessors(&self) -> Result<(Vec<String>, Vec<String>), TokenError> {
        let mut keys = Vec::new();
        let mut warnings = Vec::new();
        for key in self.storage.list(ACCESSOR_PREFIX).await? {
            match self
                .read_accessor_key(&format!("{ACCESSOR_PREFIX}{key}"))
                .await
            {
                Ok(Some(a)) if !a.token_id.is_empty() => keys.push(a.accessor),
                Ok(_) => {}
                Err(_) => warnings.push(
                    "Found an accessor entry that could not be successfully decoded".to_owned(),
                ),
            }
        }
        keys.sort();
        Ok((keys, warnings))
    }

    /// Removes what revocations interrupted by a crash or a failure left behind:
    /// `parent/` entries of vanished children (children of vanished parents become
    /// orphans), `accessor/` entries of vanished tokens (their leases are revoked through
    /// [`TokenHooks::token_revoked`] first), and tokens that expired or were half revoked
    /// but are still stored (revoked with their subtree).
    pub async fn tidy(&self) -> Result<TidyReport, TokenError> {
        let mut report = TidyReport::default();
        let now = self.now_nanos();

        for parent in self.storage.list(PARENT_PREFIX).await? {
            let parent_id = parent.trim_end_matches('/');
            let parent_exists = self.read_entry(parent_id).await?.is_some();
            for child in self.children(parent_id).await? {
                let index = format!("{PARENT_PREFIX}{parent_id}/{child}");
                let outcome: Result<(), TokenError> = async {
                    let _guard = self.lock_for(&child).lock().await;
                    match self.read_entry(&child).await? {
                        None => {
                            self.storage.delete(&index).await?;
                            report.parent_indexes_removed += 1;
                        }
                        Some(mut c) if !parent_exists => {
                            tracing::info!(
                                "tidy: turning a token whose parent vanished into an orphan"
                            );
                            c.parent = None;
                            c.orphan = true;
                            self.storage
                                .transaction(vec![
                                    TxnOp::Put {
                                        key: format!("{ID_PREFIX}{child}"),
                                        value: encode(&c)?,
                                    },
                                    TxnOp::Delete { key: index.clone() },
                                ])
                                .await?;
                            report.children_orphaned += 1;
                            report.parent_indexes_removed += 1;
                        }
                        Some(_) => {}
                    }
                    Ok(())
                }
                .await;
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "tidy: failed to check a parent index entry");
                    report.errors += 1;
                }
            }
        }

        let mut to_revoke = Vec::new();
        for key in self.storage.list(ACCESSOR_PREFIX).await? {
            let full = format!("{ACCESSOR_PREFIX}{key}");
            let outcome: Result<(), TokenError> = async {
                let a = match self.read_accessor_key(&full).await {
                    Ok(Some(a)) => a,
                    Ok(None) => return Ok(()),
                    Err(_) => {
                        self.storage.delete(&full).await?;
                        report.accessors_removed += 1;
                        return Ok(());
                    }
                };
                match self.read_entry(&a.token_id).await? {
                    None => {
                        // The token is gone but the accessor survived: its leases may have
                        // survived too.
                        let stub = TokenEntry {
                            id: a.token_id.clone(),
                            accessor: a.accessor.clone(),
                            ..blank_entry(now, TokenType::Service)
                        };
                        self.hooks
                            .token_revoked(&stub)
                            .await
                            .map_err(TokenError::Hook)?;
                        self.storage.delete(&full).await?;
                        report.accessors_removed += 1;
                    }
                    Some(e) if e.is_expired_at(now) || e.revocation_pending => to_revoke.push(e.id),
                    Some(_) => {}
                }
                Ok(())
            }
            .await;
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "tidy: failed to check an accessor index entry");
                report.errors += 1;
            }
        }

        for id in to_revoke {
            match self.revoke_tree(&id).await {
                Ok(()) => report.tokens_revoked += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "tidy: failed to revoke an expired token");
                    report.errors += 1;
                }
            }
        }
        tracing::info!(?report, "token tidy finished");
        Ok(report)
    }

    /// Starts [`TokenStore::tidy`] in the background; `false` when one is already running.
    pub(crate) fn start_tidy(self: &Arc<Self>) -> bool {
        if self.tidy_running.swap(true, Ordering::SeqCst) {
            return false;
        }
        let store = Arc::clone(self);
        let handle = tokio::spawn(async move {
            if let Err(e) = store.tidy().await {
                tracing::error!(error = %e, "token tidy failed");
            }
            store.tidy_running.store(false, Ordering::SeqCst);
        });
        if let Ok(mut slot) = self.tidy_task.lock() {
            *slot = Some(handle);
        }
        true
    }

    /// Stops a background tidy (seal, shutdown).
    pub(crate) fn stop_tidy(&self) {
        if let Ok(mut slot) = self.tidy_task.lock()
            && let Some(handle) = slot.take()
        {
            handle.abort();
        }
        self.tidy_running.store(false, Ordering::SeqCst);
    }
}

/// An entry with nothing set but its creation time and type.
pub(crate) fn blank_entry(now_nanos: i64, token_type: TokenType) -> TokenEntry {
    TokenEntry {
        id: String::new(),
        accessor: String::new(),
        parent: None,
        policies: Vec::new(),
        path: String::new(),
        meta: BTreeMap::new(),
        display_name: String::new(),
        num_uses: 0,
        creation_time: nanos_to_secs(now_nanos),
        ttl: 0,
        explicit_max_ttl: 0,
        period: 0,
        renewable: false,
        role: String::new(),
        token_type,
        entity_id: String::new(),
        bound_cidrs: Vec::new(),
        expire_time: None,
        orphan: true,
        lease_id: String::new(),
        issue_time: now_nanos,
        last_renewal_time: None,
        current_ttl: 0,
        max_ttl: 0,
        revocation_pending: false,
    }
}

/// The sealed part of a batch token (`b.` or Vault's `hvb.` prefix), if it is one.
pub(crate) fn batch_body(token: &str) -> Option<&str> {
    token
        .strip_prefix("b.")
        .or_else(|| token.strip_prefix("hvb."))
}

pub(crate) fn system_time_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn encode(entry: &TokenEntry) -> Result<Vec<u8>, TokenError> {
    serde_json::to_vec(entry).map_err(|_| TokenError::Corrupt("token entry"))
}

async fn load_or_create_key(
    storage: &dyn Storage,
    key: &str,
) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    if let Some(v) = storage.get(key).await? {
        if v.len() != arca_crypto::KEY_LEN {
            return Err(TokenError::Corrupt("token store key"));
        }
        return Ok(Zeroizing::new(v));
    }
    let fresh = arca_crypto::random_key()?;
    storage.put(key, &fresh[..]).await?;
    Ok(Zeroizing::new(fresh.to_vec()))
}
