//! `identity/entity`, `identity/entity/id/:id`, `identity/entity/name/:name`.

use std::collections::BTreeMap;

use arca_logical::{FieldData, LogicalError, LogicalResult, Response};
use serde_json::{Map, Value, json};

use crate::backend::{list_response, map_or_null, with_warnings};
use crate::model::{
    EntityRecord, ROOT_NAMESPACE_ID, new_uuid, normalize_policies, validate_metadata,
};
use crate::state::{Change, State};
use crate::{IdentityStore, unique_entity_name};

/// The fields of an entity write.
struct EntityInput {
    id: String,
    name: String,
    policies: Option<Vec<String>>,
    disabled: Option<bool>,
    metadata: Option<BTreeMap<String, String>>,
}

impl EntityInput {
    fn parse(fd: &FieldData<'_>) -> LogicalResult<Self> {
        Ok(Self {
            id: fd.string("id")?.unwrap_or_default(),
            name: fd.string("name")?.unwrap_or_default(),
            policies: fd.comma_list("policies")?,
            disabled: fd.bool("disabled")?,
            metadata: fd.string_map("metadata")?,
        })
    }
}

impl IdentityStore {
    /// Create or update (by `id`, else by `name`): 200 with `{id, name, aliases}` when
    /// an entity was created, 204 when one was updated.
    pub(crate) async fn entity_write(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let (input, warnings) = {
            let fd = FieldData::new(data);
            (EntityInput::parse(&fd)?, fd.warnings())
        };
        let w = self.write.lock().await;
        let now = self.now();
        let (entity, created) = {
            let st = self.read()?;
            let mut entity: Option<EntityRecord> = None;
            if !input.id.is_empty() {
                match st.entities.get(&input.id) {
                    Some(e) => entity = Some(e.clone()),
                    None => return Err(LogicalError::invalid("entity not found from id")),
                }
            }
            if !input.name.is_empty() {
                match (st.entity_by_name(&input.name), &entity) {
                    (None, _) => {}
                    // Found by name only: this is an update of that entity.
                    (Some(by_name), None) => entity = Some(by_name.clone()),
                    (Some(by_name), Some(e)) if by_name.id == e.id => {}
                    _ => return Err(LogicalError::invalid("entity name is already in use")),
                }
            }
            let created = entity.is_none();
            let mut e = entity.unwrap_or_default();
            if !input.name.is_empty() {
                e.name = input.name;
            }
            if let Some(p) = input.policies {
                e.policies = normalize_policies(p);
            }
            if e.policies.iter().any(|p| p == "root") {
                return Err(LogicalError::invalid("policies cannot contain root"));
            }
            if let Some(d) = input.disabled {
                e.disabled = d;
            }
            if let Some(m) = input.metadata {
                e.metadata = m;
            }
            validate_metadata(&e.metadata)?;
            if e.id.is_empty() {
                e.id = new_uuid();
            }
            if e.name.is_empty() {
                e.name = unique_entity_name(&st);
            }
            if e.creation_time.is_empty() {
                e.creation_time = now.clone();
            }
            e.last_update_time = now;
            (e, created)
        };
        let resp = created.then(|| {
            let ids: Vec<String> = entity.aliases.iter().map(|a| a.id.clone()).collect();
            let mut d = Map::new();
            d.insert("id".into(), Value::String(entity.id.clone()));
            d.insert("name".into(), Value::String(entity.name.clone()));
            d.insert(
                "aliases".into(),
                if ids.is_empty() {
                    Value::Null
                } else {
                    Value::from(ids)
                },
            );
            Response::with_data(d)
        });
        self.commit(&w, vec![Change::PutEntity(entity)]).await?;
        Ok(with_warnings(resp, warnings))
    }

    pub(crate) fn entity_read(
        &self,
        data: &Map<String, Value>,
        by_id: bool,
    ) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let key = fd
            .string(if by_id { "id" } else { "name" })?
            .unwrap_or_default();
        let warnings = fd.warnings();
        let found = {
            let st = self.read()?;
            let e = if by_id {
                st.entities.get(&key)
            } else {
                st.entity_by_name(&key)
            };
            e.map(|e| self.snapshot_entity(&st, e))
        };
        let resp = found.map(|snap| Response::with_data(self.render_entity(snap)));
        Ok(with_warnings(resp, warnings))
    }

    /// Deletes the entity, its aliases and its group memberships in one storage
    /// transaction; 204 whether or not it existed.
    pub(crate) async fn entity_delete(
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
        let now = self.now();
        let changes = {
            let st = self.read()?;
            let e = if by_id {
                st.entities.get(&key)
            } else {
                st.entity_by_name(&key)
            };
            match e {
                None => Vec::new(),
                Some(e) => {
                    let mut changes = Vec::new();
                    for gid in st.direct_group_ids(&e.id) {
                        if let Some(g) = st.groups.get(&gid) {
                            let mut g = g.clone();
                            g.member_entity_ids.retain(|m| *m != e.id);
                            g.last_update_time = now.clone();
                            changes.push(Change::PutGroup(g));
                        }
                    }
                    changes.push(Change::DeleteEntity(e.id.clone()));
                    changes
                }
            }
        };
        self.commit(&w, changes).await?;
        Ok(with_warnings(None, warnings))
    }

    pub(crate) fn entity_list(&self, by_id: bool) -> LogicalResult<Option<Response>> {
        let entities: Vec<EntityRecord> = self.read()?.entities.values().cloned().collect();
        let mut keys = Vec::with_capacity(entities.len());
        let mut info = Map::new();
        for e in entities {
            keys.push(if by_id { e.id.clone() } else { e.name.clone() });
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(e.name.clone()));
            if !e.aliases.is_empty() {
                let aliases: Vec<Value> = e
                    .aliases
                    .iter()
                    .map(|a| {
                        let mut m = Map::new();
                        m.insert("id".into(), Value::String(a.id.clone()));
                        m.insert("name".into(), Value::String(a.name.clone()));
                        m.insert(
                            "mount_accessor".into(),
                            Value::String(a.mount_accessor.clone()),
                        );
                        if let Some((t, p)) = self.mount_of(a) {
                            m.insert("mount_type".into(), Value::String(t));
                            m.insert("mount_path".into(), Value::String(p));
                        }
                        Value::Object(m)
                    })
                    .collect();
                entry.insert("aliases".into(), Value::Array(aliases));
            }
            info.insert(e.id, Value::Object(entry));
        }
        keys.sort();
        Ok(list_response(keys, info))
    }

    /// The entity with its group ids, copied out so rendering (which may consult the
    /// mount lookup) happens without the state lock.
    pub(crate) fn snapshot_entity(&self, st: &State, e: &EntityRecord) -> EntitySnapshot {
        let (direct, inherited) = st.groups_of_entity(&e.id);
        EntitySnapshot {
            entity: e.clone(),
            direct_group_ids: direct,
            inherited_group_ids: inherited,
        }
    }

    /// The `data` of an entity read (OpenBao's shape).
    pub(crate) fn render_entity(&self, snap: EntitySnapshot) -> Map<String, Value> {
        let EntitySnapshot {
            entity: e,
            direct_group_ids,
            inherited_group_ids,
        } = snap;
        let aliases: Vec<Value> = e
            .aliases
            .iter()
            .map(|a| {
                let mut m = Map::new();
                m.insert("id".into(), Value::String(a.id.clone()));
                m.insert("canonical_id".into(), Value::String(a.canonical_id.clone()));
                m.insert(
                    "mount_accessor".into(),
                    Value::String(a.mount_accessor.clone()),
                );
                m.insert("metadata".into(), map_or_null(&a.metadata));
                m.insert("name".into(), Value::String(a.name.clone()));
                m.insert("merged_from_canonical_ids".into(), Value::Null);
                m.insert(
                    "creation_time".into(),
                    Value::String(a.creation_time.clone()),
                );
                m.insert(
                    "last_update_time".into(),
                    Value::String(a.last_update_time.clone()),
                );
                m.insert("local".into(), Value::Bool(a.local));
                m.insert("custom_metadata".into(), map_or_null(&a.custom_metadata));
                if let Some((t, p)) = self.mount_of(a) {
                    m.insert("mount_type".into(), Value::String(t));
                    m.insert("mount_path".into(), Value::String(p));
                }
                Value::Object(m)
            })
            .collect();
        let group_ids: Vec<String> = direct_group_ids
            .iter()
            .chain(inherited_group_ids.iter())
            .cloned()
            .collect();
        let mut d = Map::new();
        d.insert("id".into(), Value::String(e.id));
        d.insert("name".into(), Value::String(e.name));
        d.insert("metadata".into(), map_or_null(&e.metadata));
        d.insert("merged_entity_ids".into(), Value::Null);
        d.insert("policies".into(), json!(e.policies));
        d.insert("disabled".into(), Value::Bool(e.disabled));
        d.insert(
            "namespace_id".into(),
            Value::String(ROOT_NAMESPACE_ID.into()),
        );
        d.insert("creation_time".into(), Value::String(e.creation_time));
        d.insert("last_update_time".into(), Value::String(e.last_update_time));
        d.insert("aliases".into(), Value::Array(aliases));
        d.insert("direct_group_ids".into(), json!(direct_group_ids));
        d.insert("inherited_group_ids".into(), json!(inherited_group_ids));
        d.insert("group_ids".into(), json!(group_ids));
        d
    }
}

/// An entity and its group memberships at one instant.
pub(crate) struct EntitySnapshot {
    entity: EntityRecord,
    direct_group_ids: Vec<String>,
    inherited_group_ids: Vec<String>,
}
