//! `identity/group`, `identity/group/id/:id`, `identity/group/name/:name`.

use std::collections::BTreeMap;

use arca_logical::{FieldData, LogicalError, LogicalResult, Response};
use serde_json::{Map, Value, json};

use crate::backend::{list_or_null, list_response, map_or_null, with_warnings};
use crate::model::{
    GROUP_EXTERNAL, GROUP_INTERNAL, GroupRecord, ROOT_NAMESPACE_ID, new_uuid, normalize_ids,
    normalize_policies, validate_metadata,
};
use crate::state::{Change, State};
use crate::{IdentityStore, unique_group_name};

struct GroupInput {
    /// `Some` when sent (even empty).
    id: Option<String>,
    name: Option<String>,
    group_type: Option<String>,
    policies: Option<Vec<String>>,
    metadata: Option<BTreeMap<String, String>>,
    member_entity_ids: Option<Vec<String>>,
    member_group_ids: Option<Vec<String>>,
}

impl GroupInput {
    fn parse(fd: &FieldData<'_>) -> LogicalResult<Self> {
        Ok(Self {
            id: fd.string("id")?,
            name: fd.string("name")?,
            group_type: fd.string("type")?,
            policies: fd.comma_list("policies")?,
            metadata: fd.string_map("metadata")?,
            member_entity_ids: fd.comma_list("member_entity_ids")?,
            member_group_ids: fd.comma_list("member_group_ids")?,
        })
    }
}

/// Which group a write targets.
enum Target {
    /// Always a new group.
    New,
    /// An existing group by id (400 when unknown).
    Id,
    /// The group with this name, created when unknown.
    Name,
}

impl IdentityStore {
    /// `POST identity/group`: by `id` when sent, else by `name` when sent, else a new
    /// group.
    pub(crate) async fn group_register(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let target = if data.get("id").is_some_and(|v| !v.is_null()) {
            Target::Id
        } else if data.get("name").is_some_and(|v| !v.is_null()) {
            Target::Name
        } else {
            Target::New
        };
        self.group_write(data, target).await
    }

    pub(crate) async fn group_write_by_id(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        self.group_write(data, Target::Id).await
    }

    pub(crate) async fn group_write_by_name(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        self.group_write(data, Target::Name).await
    }

    /// 200 with `{id, name}` when a group was created, 204 when one was updated.
    async fn group_write(
        &self,
        data: &Map<String, Value>,
        target: Target,
    ) -> LogicalResult<Option<Response>> {
        let (input, warnings) = {
            let fd = FieldData::new(data);
            (GroupInput::parse(&fd)?, fd.warnings())
        };
        let w = self.write.lock().await;
        let now = self.now();
        let GroupPlan { changes, created } = {
            let st = self.read()?;
            let existing = match target {
                Target::New => None,
                Target::Id => {
                    let id = input.id.clone().unwrap_or_default();
                    if id.is_empty() {
                        return Err(LogicalError::invalid("empty group ID"));
                    }
                    match st.groups.get(&id) {
                        Some(g) => Some(g.clone()),
                        None => return Err(LogicalError::invalid("invalid group ID")),
                    }
                }
                Target::Name => {
                    let name = input.name.clone().unwrap_or_default();
                    if name.is_empty() {
                        return Err(LogicalError::invalid("empty group name"));
                    }
                    st.group_by_name(&name).cloned()
                }
            };
            plan_group_write(&st, existing, input, &now)?
        };
        let resp = created.map(|(id, name)| {
            let mut d = Map::new();
            d.insert("id".into(), Value::String(id));
            d.insert("name".into(), Value::String(name));
            Response::with_data(d)
        });
        self.commit(&w, changes).await?;
        Ok(with_warnings(resp, warnings))
    }

    pub(crate) fn group_read(
        &self,
        data: &Map<String, Value>,
        by_id: bool,
    ) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let key = fd
            .string(if by_id { "id" } else { "name" })?
            .unwrap_or_default();
        let warnings = fd.warnings();
        let st = self.read()?;
        let g = if by_id {
            st.groups.get(&key)
        } else {
            st.group_by_name(&key)
        };
        let resp = g.map(|g| Response::with_data(render_group(self, &st, g)));
        Ok(with_warnings(resp, warnings))
    }

    /// Deletes the group; its member groups stop naming it as a parent. 204 either way.
    pub(crate) async fn group_delete(
        &self,
        data: &Map<String, Value>,
        by_id: bool,
    ) -> LogicalResult<Option<Response>> {
        let (key, warnings) = {
            let fd = FieldData::new(data);
            (
                fd.string(if by_id { "id" } else { "name" })?
                    .unwrap_or_default(),
                fd.warnings(),
            )
        };
        let w = self.write.lock().await;
        let changes = {
            let st = self.read()?;
            let g = if by_id {
                st.groups.get(&key)
            } else {
                st.group_by_name(&key)
            };
            match g {
                None => Vec::new(),
                Some(g) => {
                    let mut changes = Vec::new();
                    for child_id in st.member_group_ids(&g.id) {
                        if let Some(child) = st.groups.get(&child_id) {
                            let mut child = child.clone();
                            child.parent_group_ids.retain(|p| *p != g.id);
                            changes.push(Change::PutGroup(child));
                        }
                    }
                    changes.push(Change::DeleteGroup(g.id.clone()));
                    changes
                }
            }
        };
        self.commit(&w, changes).await?;
        Ok(with_warnings(None, warnings))
    }

    pub(crate) fn group_list(&self, by_id: bool) -> LogicalResult<Option<Response>> {
        let st = self.read()?;
        let mut keys = Vec::with_capacity(st.groups.len());
        let mut info = Map::new();
        for g in st.groups.values() {
            keys.push(if by_id { g.id.clone() } else { g.name.clone() });
            info.insert(
                g.id.clone(),
                json!({
                    "name": g.name,
                    "num_member_entities": g.member_entity_ids.len(),
                    "num_parent_groups": g.parent_group_ids.len(),
                }),
            );
        }
        keys.sort();
        Ok(list_response(keys, info))
    }
}

/// What a group write persists.
struct GroupPlan {
    changes: Vec<Change>,
    /// `(id, name)` when the group is new.
    created: Option<(String, String)>,
}

/// Applies a group write to `existing` (or a new group) and returns the changes to
/// persist. Follows OpenBao's order of checks.
fn plan_group_write(
    st: &State,
    existing: Option<GroupRecord>,
    input: GroupInput,
    now: &str,
) -> LogicalResult<GroupPlan> {
    let created = existing.is_none();
    let mut g = existing.unwrap_or_default();
    if let Some(p) = input.policies {
        g.policies = normalize_policies(p);
    }
    if g.policies.iter().any(|p| p == "root") {
        return Err(LogicalError::invalid("policies cannot contain root"));
    }
    if let Some(t) = input.group_type {
        if !g.group_type.is_empty() && t != g.group_type {
            return Err(LogicalError::invalid("group type cannot be changed"));
        }
        g.group_type = t;
    }
    if g.group_type.is_empty() {
        g.group_type = GROUP_INTERNAL.to_owned();
    }
    if g.group_type != GROUP_INTERNAL && g.group_type != GROUP_EXTERNAL {
        return Err(LogicalError::invalid("invalid group type"));
    }
    if let Some(name) = input.name.filter(|n| !n.is_empty()) {
        if st
            .group_by_name(&name)
            .is_some_and(|other| other.id != g.id)
        {
            return Err(LogicalError::invalid("group name is already in use"));
        }
        g.name = name;
    }
    if let Some(m) = input.metadata {
        g.metadata = m;
    }
    if let Some(members) = input.member_entity_ids {
        if g.group_type == GROUP_EXTERNAL {
            return Err(LogicalError::invalid(
                "member entities can't be set manually for external groups",
            ));
        }
        g.member_entity_ids = members;
    }
    if input.member_group_ids.is_some() && g.group_type == GROUP_EXTERNAL {
        return Err(LogicalError::invalid(
            "member groups can't be set for external groups",
        ));
    }

    if g.id.is_empty() {
        g.id = new_uuid();
    }
    if g.name.is_empty() {
        g.name = unique_group_name(st);
    }
    validate_metadata(&g.metadata)?;
    if g.creation_time.is_empty() {
        g.creation_time = now.to_owned();
    }
    g.last_update_time = now.to_owned();
    g.member_entity_ids = normalize_ids(std::mem::take(&mut g.member_entity_ids));
    if g.member_entity_ids
        .iter()
        .any(|e| !st.entities.contains_key(e))
    {
        return Err(LogicalError::invalid(
            "invalid entity ID in member_entity_ids",
        ));
    }

    let mut changes = Vec::new();
    // Absent means "leave members alone"; an empty list removes them all.
    if let Some(members) = input.member_group_ids {
        let members = normalize_ids(members);
        for current in st.member_group_ids(&g.id) {
            if members.contains(&current) {
                continue;
            }
            if let Some(child) = st.groups.get(&current) {
                let mut child = child.clone();
                child.parent_group_ids.retain(|p| *p != g.id);
                changes.push(Change::PutGroup(child));
            }
        }
        for member_id in &members {
            let Some(member) = st.groups.get(member_id) else {
                return Err(LogicalError::invalid("invalid member group ID"));
            };
            if member.parent_group_ids.contains(&g.id) {
                continue;
            }
            if *member_id == g.id {
                return Err(LogicalError::invalid(
                    "member group ID is same as the ID of the group",
                ));
            }
            // Making `g` a parent of `member` closes a cycle exactly when `g` already
            // sits below `member`. Checked against the state before this request: a
            // cycle through several new edges would also go through one old path.
            if !created && st.reaches_down(member_id, &g.id) {
                return Err(LogicalError::invalid(
                    "cyclic relationship detected for member group ID",
                ));
            }
            let mut member = member.clone();
            member.parent_group_ids.push(g.id.clone());
            changes.push(Change::PutGroup(member));
        }
    }
    let created = created.then(|| (g.id.clone(), g.name.clone()));
    changes.push(Change::PutGroup(g));
    Ok(GroupPlan { changes, created })
}

/// The `data` of a group read (OpenBao's shape; unset lists and maps are `null`).
pub(crate) fn render_group(
    store: &IdentityStore,
    st: &State,
    g: &GroupRecord,
) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("id".into(), Value::String(g.id.clone()));
    d.insert("name".into(), Value::String(g.name.clone()));
    d.insert("policies".into(), list_or_null(&g.policies));
    d.insert(
        "member_entity_ids".into(),
        list_or_null(&g.member_entity_ids),
    );
    d.insert("parent_group_ids".into(), list_or_null(&g.parent_group_ids));
    d.insert("metadata".into(), map_or_null(&g.metadata));
    d.insert(
        "creation_time".into(),
        Value::String(g.creation_time.clone()),
    );
    d.insert(
        "last_update_time".into(),
        Value::String(g.last_update_time.clone()),
    );
    d.insert("modify_index".into(), Value::from(g.modify_index));
    d.insert("type".into(), Value::String(g.group_type.clone()));
    d.insert(
        "namespace_id".into(),
        Value::String(ROOT_NAMESPACE_ID.into()),
    );
    let alias = g
        .alias
        .as_ref()
        .map(|a| store.render_group_alias(a))
        .unwrap_or_default();
    d.insert("alias".into(), Value::Object(alias));
    d.insert(
        "member_group_ids".into(),
        list_or_null(&st.member_group_ids(&g.id)),
    );
    d
}
