//! The identity store: entities (one per person or machine), their aliases (the names
//! auth mounts know them by) and groups (which carry policies and nest).
//!
//! On every successful login the core calls [`IdentityStore::login`], which finds or
//! creates the alias for (mount accessor, alias name) and its entity and returns the
//! policies the entity inherits: its own and those of every group it belongs to,
//! directly or through nested groups. [`IdentityStore::template_values`] gives the ACL
//! layer what `{{identity.…}}` templates substitute. [`IdentityStore::backend`] serves
//! the `identity/` HTTP API (entity, entity-alias, group, lookup).
//!
//! Everything is loaded into memory at [`IdentityStore::open`]; reads and logins of
//! known aliases never touch storage. Writes are serialised by one store-wide async
//! lock, persisted first (one atomic storage operation per request) and applied to
//! memory after, so the same alias logging in from many tasks at once creates one
//! entity.
//!
//! External groups get their members from logins: a group alias names the group on one
//! auth mount, and [`IdentityStore::login_with_groups`] makes the entity a member of the
//! external groups whose aliases match the group names the auth method reported (a JWT's
//! `groups_claim`), and removes it from that mount's external groups it no longer names.
//!
//! Only the root namespace exists here (`namespace_id` is `"root"`).
//!
//! Architecture invariant: this crate depends on `arca-logical` (the plug-in SDK) and
//! `arca-storage` (the storage trait) only; it knows nothing of the core, tokens, the
//! ACL engine or HTTP. The core tells it about mounts through [`MountLookup`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use arca_logical::{Alias, Backend, LogicalError, SystemView};
use arca_storage::{Storage, TxnOp};

mod aliases;
mod backend;
mod entities;
mod group_aliases;
mod groups;
mod lookup;
mod model;
mod state;

use model::{AliasRecord, EntityRecord, GroupRecord, format_time, generated_name, new_uuid};
use state::{Change, State};

/// Storage key prefix of entity records (each stored with its aliases).
const ENTITY_PREFIX: &str = "entity/";
/// Storage key prefix of group records.
const GROUP_PREFIX: &str = "group/";

/// Failures of the store itself (as opposed to bad requests, which are
/// [`LogicalError`]s). Messages name storage keys, never record contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A stored record could not be decoded.
    #[error("stored identity record at {key:?} could not be decoded")]
    Corrupt {
        /// The storage key (under the identity view) of the record.
        key: String,
    },
    /// A record could not be encoded for storage.
    #[error("identity record could not be encoded")]
    Encode,
    /// A thread panicked while holding the in-memory state lock.
    #[error("identity state lock poisoned")]
    Poisoned,
}

impl From<IdentityError> for LogicalError {
    fn from(e: IdentityError) -> Self {
        tracing::error!(error = %e, "identity store failure");
        LogicalError::internal()
    }
}

/// What the store needs to know about auth mounts: whether an accessor exists, and its
/// type and path (shown with aliases). Implemented by the core over its mount table.
pub trait MountLookup: Send + Sync {
    /// The mount with this accessor, if it is mounted.
    fn mount_by_accessor(&self, accessor: &str) -> Option<MountInfo>;
}

/// An auth mount as [`MountLookup`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount's type (`userpass`, ...).
    pub mount_type: String,
    /// The mount path with its trailing `/` (`auth/userpass/`).
    pub mount_path: String,
    /// Whether the mount is local (not replicated).
    pub local: bool,
}

/// The identity behind a successful login.
#[derive(Clone, PartialEq)]
pub struct LoginIdentity {
    /// The entity the token is issued for.
    pub entity_id: String,
    /// The alias that logged in.
    pub alias_id: String,
    /// Policies from the entity and all of its groups (direct and nested), sorted,
    /// deduplicated.
    pub identity_policies: Vec<String>,
}

impl std::fmt::Debug for LoginIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginIdentity")
            .field("entity_id", &self.entity_id)
            .field("alias_id", &self.alias_id)
            .field("identity_policies", &self.identity_policies)
            .finish()
    }
}

/// What ACL templates (`{{identity.entity.…}}`, `{{identity.groups.…}}`) substitute for
/// one entity.
#[derive(Clone, Default, PartialEq)]
pub struct TemplateValues {
    /// `identity.entity.id`.
    pub entity_id: String,
    /// `identity.entity.name`.
    pub entity_name: String,
    /// `identity.entity.metadata.<key>`.
    pub entity_metadata: BTreeMap<String, String>,
    /// `identity.entity.aliases.<mount accessor>.…`, keyed by mount accessor.
    pub aliases: BTreeMap<String, AliasValues>,
    /// Ids of every group the entity belongs to, directly or through nesting, sorted.
    /// `group_names[i]` is the name of `group_ids[i]`.
    pub group_ids: Vec<String>,
    /// Names of those groups, in the order of `group_ids`.
    pub group_names: Vec<String>,
    /// The same groups with their metadata (`identity.groups.ids.<id>.metadata.<key>`),
    /// in the order of `group_ids`.
    pub groups: Vec<GroupValues>,
}

impl std::fmt::Debug for TemplateValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and metadata are user data: only identifiers are shown.
        f.debug_struct("TemplateValues")
            .field("entity_id", &self.entity_id)
            .field("group_ids", &self.group_ids)
            .finish_non_exhaustive()
    }
}

/// One alias for templating.
#[derive(Clone, Default, PartialEq)]
pub struct AliasValues {
    /// `…aliases.<accessor>.id`.
    pub id: String,
    /// `…aliases.<accessor>.name`.
    pub name: String,
    /// `…aliases.<accessor>.metadata.<key>` (set by the auth method).
    pub metadata: BTreeMap<String, String>,
    /// `…aliases.<accessor>.custom_metadata.<key>` (set by operators).
    pub custom_metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for AliasValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliasValues")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One group for templating.
#[derive(Clone, Default, PartialEq)]
pub struct GroupValues {
    /// `identity.groups.names.<name>.id`.
    pub id: String,
    /// `identity.groups.ids.<id>.name`.
    pub name: String,
    /// `identity.groups.ids.<id>.metadata.<key>`.
    pub metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for GroupValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupValues")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Proof that the caller holds the store-wide write lock.
type WriteGuard<'a> = tokio::sync::MutexGuard<'a, ()>;

/// The identity store of the root namespace.
pub struct IdentityStore {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn SystemView>,
    /// Never held across an `.await`.
    state: RwLock<State>,
    /// Serialises every write: check, persist, apply.
    write: tokio::sync::Mutex<()>,
    mounts: RwLock<Option<Arc<dyn MountLookup>>>,
}

impl IdentityStore {
    /// Loads every entity and group from `storage` (the `identity/` mount's barrier
    /// view) into memory.
    pub async fn open(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn SystemView>,
    ) -> Result<Arc<Self>, LogicalError> {
        let mut state = State::default();
        for key in storage.list(ENTITY_PREFIX).await? {
            let full = format!("{ENTITY_PREFIX}{key}");
            if key.ends_with('/') {
                continue;
            }
            if let Some(bytes) = storage.get(&full).await? {
                let e: EntityRecord = serde_json::from_slice(&bytes)
                    .map_err(|_| IdentityError::Corrupt { key: full })?;
                state.put_entity(e);
            }
        }
        for key in storage.list(GROUP_PREFIX).await? {
            let full = format!("{GROUP_PREFIX}{key}");
            if key.ends_with('/') {
                continue;
            }
            if let Some(bytes) = storage.get(&full).await? {
                let g: GroupRecord = serde_json::from_slice(&bytes)
                    .map_err(|_| IdentityError::Corrupt { key: full })?;
                state.put_group(g);
            }
        }
        Ok(Arc::new(Self {
            storage,
            clock,
            state: RwLock::new(state),
            write: tokio::sync::Mutex::new(()),
            mounts: RwLock::new(None),
        }))
    }

    /// Installs the core's view of auth mounts. Without one, any non-empty accessor is
    /// accepted by `identity/entity-alias` and aliases show the mount type and path
    /// recorded at their last login.
    pub fn set_mount_lookup(&self, lookup: Arc<dyn MountLookup>) {
        if let Ok(mut slot) = self.mounts.write() {
            *slot = Some(lookup);
        }
    }

    /// On every successful login through an auth mount: finds or creates the alias
    /// (mount accessor + alias name, the name matched case-insensitively) and its entity,
    /// refreshes the alias metadata when it changed, and returns the entity id and the
    /// policies it inherits. A disabled entity is refused with `permission denied` (as
    /// OpenBao does); the alias and entity still exist afterwards.
    pub async fn login(
        &self,
        mount_accessor: &str,
        mount_type: &str,
        mount_path: &str,
        alias: &Alias,
    ) -> Result<LoginIdentity, LogicalError> {
        if alias.name.is_empty() {
            return Err(LogicalError::invalid("missing name in alias"));
        }
        if mount_accessor.is_empty() {
            return Err(LogicalError::invalid("missing mount accessor"));
        }
        // Fast path: a known alias with unchanged metadata needs only the read lock.
        {
            let st = self.read()?;
            if let Some((entity, a)) = st.alias_by_factors(mount_accessor, &alias.name)
                && !alias_changed(a, mount_type, mount_path, alias)
            {
                return login_result(&st, entity, a);
            }
        }

        let w = self.write.lock().await;
        let now = self.now();
        // Re-checked under the write lock: another task may have created it meanwhile.
        let entity = {
            let st = self.read()?;
            match st.alias_by_factors(mount_accessor, &alias.name) {
                Some((entity, a)) if !alias_changed(a, mount_type, mount_path, alias) => {
                    return login_result(&st, entity, a);
                }
                Some((entity, a)) => {
                    let alias_id = a.id.clone();
                    let mut entity = entity.clone();
                    if let Some(a) = entity.aliases.iter_mut().find(|a| a.id == alias_id) {
                        a.metadata = alias.metadata.clone();
                        a.mount_type = mount_type.to_owned();
                        a.mount_path = mount_path.to_owned();
                        a.last_update_time = now.clone();
                    }
                    entity
                }
                None => {
                    let id = new_uuid();
                    EntityRecord {
                        name: unique_entity_name(&st),
                        aliases: vec![AliasRecord {
                            id: new_uuid(),
                            canonical_id: id.clone(),
                            mount_accessor: mount_accessor.to_owned(),
                            mount_type: mount_type.to_owned(),
                            mount_path: mount_path.to_owned(),
                            name: alias.name.clone(),
                            metadata: alias.metadata.clone(),
                            creation_time: now.clone(),
                            last_update_time: now.clone(),
                            ..AliasRecord::default()
                        }],
                        id,
                        creation_time: now.clone(),
                        last_update_time: now,
                        ..EntityRecord::default()
                    }
                }
            }
        };
        let entity_id = entity.id.clone();
        self.commit(&w, vec![Change::PutEntity(entity)]).await?;
        drop(w);
        let st = self.read()?;
        match st.alias_by_factors(mount_accessor, &alias.name) {
            Some((entity, a)) if entity.id == entity_id => login_result(&st, entity, a),
            _ => Err(LogicalError::internal()),
        }
    }

    /// [`IdentityStore::login`], then the external-group membership refresh for the group
    /// names the auth method reported (`group_names`, matched against group aliases on
    /// `mount_accessor`); the returned policies include those of the groups just joined.
    pub async fn login_with_groups(
        &self,
        mount_accessor: &str,
        mount_type: &str,
        mount_path: &str,
        alias: &Alias,
        group_names: &[String],
    ) -> Result<LoginIdentity, LogicalError> {
        let mut li = self
            .login(mount_accessor, mount_type, mount_path, alias)
            .await?;
        if self
            .refresh_external_groups(&li.entity_id, mount_accessor, group_names)
            .await?
        {
            li.identity_policies = self.read()?.identity_policies(&li.entity_id);
        }
        Ok(li)
    }

    /// Entity policies plus the policies of all its groups (direct and nested), sorted
    /// and deduplicated. An empty or unknown entity id has none.
    pub async fn identity_policies(&self, entity_id: &str) -> Result<Vec<String>, LogicalError> {
        if entity_id.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.read()?.identity_policies(entity_id))
    }

    /// Whether the entity exists and is disabled; tokens of a disabled entity must be
    /// refused (OpenBao answers `permission denied`). An empty or unknown id is not
    /// disabled.
    pub async fn is_disabled(&self, entity_id: &str) -> bool {
        if entity_id.is_empty() {
            return false;
        }
        self.read()
            .ok()
            .and_then(|st| st.entities.get(entity_id).map(|e| e.disabled))
            .unwrap_or(false)
    }

    /// Whether the entity exists. OpenBao refuses a token whose `entity_id` is set but
    /// names no entity (it was deleted after the login).
    pub async fn entity_exists(&self, entity_id: &str) -> bool {
        !entity_id.is_empty()
            && self
                .read()
                .is_ok_and(|st| st.entities.contains_key(entity_id))
    }

    /// What ACL templates substitute for this entity; `None` when it does not exist.
    pub async fn template_values(
        &self,
        entity_id: &str,
    ) -> Result<Option<TemplateValues>, LogicalError> {
        if entity_id.is_empty() {
            return Ok(None);
        }
        let st = self.read()?;
        let Some(entity) = st.entities.get(entity_id) else {
            return Ok(None);
        };
        let mut aliases = BTreeMap::new();
        for a in &entity.aliases {
            // An entity has at most one alias per mount; the first wins if data says
            // otherwise, as in OpenBao.
            aliases
                .entry(a.mount_accessor.clone())
                .or_insert_with(|| AliasValues {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    metadata: a.metadata.clone(),
                    custom_metadata: a.custom_metadata.clone(),
                });
        }
        let (direct, inherited) = st.groups_of_entity(entity_id);
        let mut ids: Vec<String> = direct.into_iter().chain(inherited).collect();
        ids.sort();
        ids.dedup();
        let groups: Vec<GroupValues> = ids
            .iter()
            .filter_map(|id| st.groups.get(id))
            .map(|g| GroupValues {
                id: g.id.clone(),
                name: g.name.clone(),
                metadata: g.metadata.clone(),
            })
            .collect();
        Ok(Some(TemplateValues {
            entity_id: entity.id.clone(),
            entity_name: entity.name.clone(),
            entity_metadata: entity.metadata.clone(),
            aliases,
            group_ids: groups.iter().map(|g| g.id.clone()).collect(),
            group_names: groups.iter().map(|g| g.name.clone()).collect(),
            groups,
        }))
    }

    /// The backend serving `identity/*` (paths relative to the mount).
    pub fn backend(self: &Arc<Self>) -> Arc<dyn Backend> {
        Arc::new(backend::IdentityBackend::new(Arc::clone(self)))
    }

    // ---- internals shared by the handlers ----

    fn read(&self) -> Result<RwLockReadGuard<'_, State>, LogicalError> {
        self.state
            .read()
            .map_err(|_| IdentityError::Poisoned.into())
    }

    fn write_state(&self) -> Result<RwLockWriteGuard<'_, State>, LogicalError> {
        self.state
            .write()
            .map_err(|_| IdentityError::Poisoned.into())
    }

    fn now(&self) -> String {
        format_time(self.clock.now())
    }

    fn mount_lookup(&self) -> Option<Arc<dyn MountLookup>> {
        self.mounts.read().ok().and_then(|m| m.clone())
    }

    /// The type and path to show for an alias's mount: from the installed lookup (absent
    /// when the mount is gone), else as recorded at login.
    fn mount_of(&self, alias: &AliasRecord) -> Option<(String, String)> {
        match self.mount_lookup() {
            Some(lookup) => lookup
                .mount_by_accessor(&alias.mount_accessor)
                .map(|m| (m.mount_type, m.mount_path)),
            None if alias.mount_type.is_empty() && alias.mount_path.is_empty() => None,
            None => Some((alias.mount_type.clone(), alias.mount_path.clone())),
        }
    }

    /// Persists `changes` in one atomic storage operation, then applies them to memory.
    /// Group puts bump the group's `modify_index`.
    async fn commit(
        &self,
        _w: &WriteGuard<'_>,
        mut changes: Vec<Change>,
    ) -> Result<(), LogicalError> {
        let mut ops = Vec::with_capacity(changes.len());
        for change in &mut changes {
            ops.push(match change {
                Change::PutEntity(e) => TxnOp::Put {
                    key: format!("{ENTITY_PREFIX}{}", e.id),
                    value: serde_json::to_vec(e).map_err(|_| IdentityError::Encode)?,
                },
                Change::DeleteEntity(id) => TxnOp::Delete {
                    key: format!("{ENTITY_PREFIX}{id}"),
                },
                Change::PutGroup(g) => {
                    g.modify_index += 1;
                    TxnOp::Put {
                        key: format!("{GROUP_PREFIX}{}", g.id),
                        value: serde_json::to_vec(g).map_err(|_| IdentityError::Encode)?,
                    }
                }
                Change::DeleteGroup(id) => TxnOp::Delete {
                    key: format!("{GROUP_PREFIX}{id}"),
                },
            });
        }
        if ops.len() == 1 {
            match ops.pop() {
                Some(TxnOp::Put { key, value }) => self.storage.put(&key, &value).await?,
                Some(TxnOp::Delete { key }) => self.storage.delete(&key).await?,
                None => {}
            }
        } else if !ops.is_empty() {
            self.storage.transaction(ops).await?;
        }
        let mut st = self.write_state()?;
        for change in changes {
            st.apply(change);
        }
        Ok(())
    }
}

/// Whether a login must rewrite the stored alias.
fn alias_changed(stored: &AliasRecord, mount_type: &str, mount_path: &str, alias: &Alias) -> bool {
    stored.metadata != alias.metadata
        || stored.mount_type != mount_type
        || stored.mount_path != mount_path
}

fn login_result(
    st: &State,
    entity: &EntityRecord,
    alias: &AliasRecord,
) -> Result<LoginIdentity, LogicalError> {
    if entity.disabled {
        return Err(LogicalError::permission_denied());
    }
    Ok(LoginIdentity {
        entity_id: entity.id.clone(),
        alias_id: alias.id.clone(),
        identity_policies: st.identity_policies(&entity.id),
    })
}

/// A generated entity name not yet in use.
fn unique_entity_name(st: &State) -> String {
    loop {
        let name = generated_name("entity");
        if st.entity_by_name(&name).is_none() {
            return name;
        }
    }
}

/// A generated group name not yet in use.
fn unique_group_name(st: &State) -> String {
    loop {
        let name = generated_name("group");
        if st.group_by_name(&name).is_none() {
            return name;
        }
    }
}
