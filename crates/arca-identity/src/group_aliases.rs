//! `identity/group-alias`, `identity/group-alias/id/:id`: the names external groups go by
//! on an auth mount, and the refresh of external-group membership at login.
//!
//! A group alias lives inside its group's record (OpenBao keeps `group.Alias` the same
//! way), so a group and its alias are always written together.

use std::collections::BTreeSet;

use arca_logical::{FieldData, LogicalError, LogicalResult, Response};
use serde_json::{Map, Value};

use crate::backend::{list_response, map_or_null, with_warnings};
use crate::model::{AliasRecord, GROUP_EXTERNAL, GroupRecord, ROOT_NAMESPACE_ID, new_uuid};
use crate::state::{Change, State};
use crate::{IdentityStore, unique_group_name};

impl IdentityStore {
    /// `POST identity/group-alias` (an update when `id` is sent) and
    /// `POST identity/group-alias/id/:id`. Without `canonical_id`, a new alias gets a new
    /// external group. Answers `{id, canonical_id}`; nothing when the write changes nothing.
    pub(crate) async fn group_alias_write(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let (id, name, accessor, canonical, warnings) = {
            let fd = FieldData::new(data);
            (
                fd.string("id")?,
                fd.string("name")?.unwrap_or_default(),
                fd.string("mount_accessor")?.unwrap_or_default(),
                fd.string("canonical_id")?.unwrap_or_default(),
                fd.warnings(),
            )
        };
        let w = self.write.lock().await;
        let now = self.now();
        let (changes, alias_id, group_id) = {
            let st = self.read()?;
            let existing = match &id {
                None => None,
                Some(id) if id.is_empty() => {
                    return Err(LogicalError::invalid("empty group alias ID"));
                }
                Some(id) => match st.group_by_alias_id(id) {
                    Some(g) => Some(g.clone()),
                    None => return Err(LogicalError::invalid("invalid group alias ID")),
                },
            };
            if name.is_empty() {
                return Err(LogicalError::invalid("missing alias name"));
            }
            if accessor.is_empty() {
                return Err(LogicalError::invalid("missing mount_accessor"));
            }
            if let Some(a) = existing.as_ref().and_then(|g| g.alias.as_ref())
                && a.name == name
                && a.mount_accessor == accessor
                && (canonical.is_empty() || a.canonical_id == canonical)
            {
                return Ok(with_warnings(None, warnings));
            }
            let target = if canonical.is_empty() {
                None
            } else {
                let Some(g) = st.groups.get(&canonical) else {
                    return Err(LogicalError::invalid(
                        "invalid group ID given in 'canonical_id'",
                    ));
                };
                if g.group_type != GROUP_EXTERNAL {
                    return Err(LogicalError::invalid(
                        "alias can't be set on an internal group",
                    ));
                }
                Some(g.clone())
            };
            let (mount_type, mount_path) = match self.mount_lookup() {
                None => (String::new(), String::new()),
                Some(lookup) => match lookup.mount_by_accessor(&accessor) {
                    None => return Err(LogicalError::invalid("invalid mount accessor")),
                    Some(m) if m.local => {
                        return Err(LogicalError::invalid("mount accessor is a local mount"));
                    }
                    Some(m) => (m.mount_type, m.mount_path),
                },
            };
            let mut alias = existing
                .as_ref()
                .and_then(|g| g.alias.as_deref().cloned())
                .unwrap_or_else(|| AliasRecord {
                    id: new_uuid(),
                    creation_time: now.clone(),
                    ..AliasRecord::default()
                });
            if st
                .group_by_alias_factors(&accessor, &name)
                .and_then(|g| g.alias.as_ref())
                .is_some_and(|other| other.id != alias.id)
            {
                return Err(LogicalError::invalid(
                    "combination of mount and group alias name is already in use",
                ));
            }
            alias.name = name;
            alias.mount_accessor = accessor;
            alias.mount_type = mount_type;
            alias.mount_path = mount_path;
            alias.last_update_time = now.clone();

            let mut changes = Vec::new();
            let mut group = match (existing, target) {
                (None, None) => GroupRecord {
                    id: new_uuid(),
                    name: unique_group_name(&st),
                    group_type: GROUP_EXTERNAL.to_owned(),
                    creation_time: now.clone(),
                    ..GroupRecord::default()
                },
                (None, Some(g)) => g,
                (Some(prev), None) => prev,
                (Some(prev), Some(g)) if prev.id == g.id => g,
                // The alias moves: its old group loses it.
                (Some(mut prev), Some(g)) => {
                    prev.alias = None;
                    prev.last_update_time = now.clone();
                    changes.push(Change::PutGroup(prev));
                    g
                }
            };
            alias.canonical_id = group.id.clone();
            group.last_update_time = now;
            let ids = (alias.id.clone(), group.id.clone());
            group.alias = Some(Box::new(alias));
            changes.push(Change::PutGroup(group));
            (changes, ids.0, ids.1)
        };
        self.commit(&w, changes).await?;
        let mut d = Map::new();
        d.insert("id".into(), Value::String(alias_id));
        d.insert("canonical_id".into(), Value::String(group_id));
        Ok(with_warnings(Some(Response::with_data(d)), warnings))
    }

    pub(crate) fn group_alias_read(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let id = fd.string("id")?.unwrap_or_default();
        let warnings = fd.warnings();
        if id.is_empty() {
            return Err(LogicalError::invalid("empty group alias id"));
        }
        let alias = self
            .read()?
            .group_by_alias_id(&id)
            .and_then(|g| g.alias.as_deref().cloned());
        let resp = alias.map(|a| Response::with_data(self.render_group_alias(&a)));
        Ok(with_warnings(resp, warnings))
    }

    /// Removes the alias from its group (the group stays); 204 either way.
    pub(crate) async fn group_alias_delete(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let (id, warnings) = {
            let fd = FieldData::new(data);
            (fd.string("id")?.unwrap_or_default(), fd.warnings())
        };
        if id.is_empty() {
            return Err(LogicalError::invalid("missing group alias ID"));
        }
        let w = self.write.lock().await;
        let change = {
            let st = self.read()?;
            st.group_by_alias_id(&id).map(|g| {
                let mut g = g.clone();
                g.alias = None;
                g.last_update_time = self.now();
                Change::PutGroup(g)
            })
        };
        if let Some(change) = change {
            self.commit(&w, vec![change]).await?;
        }
        Ok(with_warnings(None, warnings))
    }

    pub(crate) fn group_alias_list(&self) -> LogicalResult<Option<Response>> {
        let aliases: Vec<AliasRecord> = self
            .read()?
            .aliased_groups()
            .filter_map(|g| g.alias.as_deref().cloned())
            .collect();
        let mut keys = Vec::with_capacity(aliases.len());
        let mut info = Map::new();
        for a in aliases {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(a.name.clone()));
            m.insert("canonical_id".into(), Value::String(a.canonical_id.clone()));
            m.insert(
                "mount_accessor".into(),
                Value::String(a.mount_accessor.clone()),
            );
            if let Some((t, p)) = self.mount_of(&a) {
                m.insert("mount_type".into(), Value::String(t));
                m.insert("mount_path".into(), Value::String(p));
            }
            keys.push(a.id.clone());
            info.insert(a.id, Value::Object(m));
        }
        Ok(list_response(keys, info))
    }

    /// A group alias as `identity/group-alias/id/:id` and a group's `alias` show it.
    pub(crate) fn render_group_alias(&self, a: &AliasRecord) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("id".into(), Value::String(a.id.clone()));
        d.insert("canonical_id".into(), Value::String(a.canonical_id.clone()));
        d.insert(
            "mount_accessor".into(),
            Value::String(a.mount_accessor.clone()),
        );
        d.insert("metadata".into(), map_or_null(&a.metadata));
        d.insert("name".into(), Value::String(a.name.clone()));
        d.insert("merged_from_canonical_ids".into(), Value::Null);
        d.insert(
            "namespace_id".into(),
            Value::String(ROOT_NAMESPACE_ID.into()),
        );
        if let Some((t, p)) = self.mount_of(a) {
            d.insert("mount_type".into(), Value::String(t));
            d.insert("mount_path".into(), Value::String(p));
        }
        d.insert(
            "creation_time".into(),
            Value::String(a.creation_time.clone()),
        );
        d.insert(
            "last_update_time".into(),
            Value::String(a.last_update_time.clone()),
        );
        d
    }

    /// After a login through `mount_accessor` that vouched for the external group names
    /// `names`: the entity joins each external group whose alias on that mount has one of
    /// the names, and leaves the external groups aliased on that mount that were not named
    /// this time (OpenBao's `RefreshExternalGroupMembershipsByEntityID`). Names without a
    /// group alias are ignored. Returns whether anything changed.
    pub(crate) async fn refresh_external_groups(
        &self,
        entity_id: &str,
        mount_accessor: &str,
        names: &[String],
    ) -> Result<bool, LogicalError> {
        // Most logins change nothing: decide that under the read lock only.
        if plan_refresh(&*self.read()?, entity_id, mount_accessor, names, "").is_empty() {
            return Ok(false);
        }
        let w = self.write.lock().await;
        let now = self.now();
        let changes = plan_refresh(&*self.read()?, entity_id, mount_accessor, names, &now);
        if changes.is_empty() {
            return Ok(false);
        }
        self.commit(&w, changes).await?;
        Ok(true)
    }
}

/// The group writes that bring the entity's external-group membership in line with
/// `names` on `mount_accessor`.
fn plan_refresh(
    st: &State,
    entity_id: &str,
    mount_accessor: &str,
    names: &[String],
    now: &str,
) -> Vec<Change> {
    if !st.entities.contains_key(entity_id) {
        return Vec::new();
    }
    let wanted: BTreeSet<&str> = names
        .iter()
        .filter_map(|n| st.group_by_alias_factors(mount_accessor, n))
        .filter(|g| g.group_type == GROUP_EXTERNAL)
        .map(|g| g.id.as_str())
        .collect();
    let current = st.direct_group_ids(entity_id);
    let mut changes = Vec::new();
    for id in &wanted {
        if current.iter().any(|c| c == id) {
            continue;
        }
        if let Some(g) = st.groups.get(*id) {
            let mut g = g.clone();
            g.member_entity_ids.push(entity_id.to_owned());
            g.member_entity_ids.sort();
            g.last_update_time = now.to_owned();
            changes.push(Change::PutGroup(g));
        }
    }
    for id in &current {
        if wanted.contains(id.as_str()) {
            continue;
        }
        let Some(g) = st.groups.get(id) else { continue };
        let this_mount = g
            .alias
            .as_ref()
            .is_none_or(|a| a.mount_accessor == mount_accessor);
        if g.group_type != GROUP_EXTERNAL || !this_mount {
            continue;
        }
        let mut g = g.clone();
        g.member_entity_ids.retain(|e| e != entity_id);
        g.last_update_time = now.to_owned();
        changes.push(Change::PutGroup(g));
    }
    changes
}
