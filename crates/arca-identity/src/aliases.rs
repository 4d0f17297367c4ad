//! `identity/entity-alias`, `identity/entity-alias/id/:id`.

use std::collections::BTreeMap;

use arca_logical::{FieldData, LogicalError, LogicalResult, Response};
use serde_json::{Map, Value};

use crate::backend::{list_response, map_or_null, with_warnings};
use crate::model::{
    AliasRecord, EntityRecord, ROOT_NAMESPACE_ID, new_uuid, validate_custom_metadata,
};
use crate::state::{Change, State};
use crate::{IdentityStore, unique_entity_name};

struct AliasInput {
    id: String,
    name: String,
    mount_accessor: String,
    canonical_id: String,
    custom_metadata: Option<BTreeMap<String, String>>,
}

impl AliasInput {
    fn parse(fd: &FieldData<'_>) -> LogicalResult<Self> {
        let canonical_id = fd.string("canonical_id")?.unwrap_or_default();
        // `entity_id` is the deprecated name of `canonical_id`.
        let entity_id = fd.string("entity_id")?.unwrap_or_default();
        Ok(Self {
            id: fd.string("id")?.unwrap_or_default(),
            name: fd.string("name")?.unwrap_or_default(),
            mount_accessor: fd.string("mount_accessor")?.unwrap_or_default(),
            canonical_id: if canonical_id.is_empty() {
                entity_id
            } else {
                canonical_id
            },
            custom_metadata: fd.string_map("custom_metadata")?,
        })
    }
}

/// What an alias write decided.
enum Plan {
    /// Nothing changes (204).
    Nothing,
    /// Persist these changes and answer `{id, canonical_id}`.
    Write {
        changes: Vec<Change>,
        alias_id: String,
        entity_id: String,
    },
}

impl IdentityStore {
    /// Create or update an alias: by `id`, or by (`mount_accessor`, `name`); a new alias
    /// without `canonical_id` gets a new entity.
    pub(crate) async fn alias_write(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let (input, warnings) = {
            let fd = FieldData::new(data);
            (AliasInput::parse(&fd)?, fd.warnings())
        };
        if let Some(cm) = &input.custom_metadata {
            validate_custom_metadata(cm)?;
        }
        let w = self.write.lock().await;
        let now = self.now();
        let plan = {
            let st = self.read()?;
            self.plan_alias_write(&st, input, &now)?
        };
        let resp = match plan {
            Plan::Nothing => None,
            Plan::Write {
                changes,
                alias_id,
                entity_id,
            } => {
                self.commit(&w, changes).await?;
                let mut d = Map::new();
                d.insert("id".into(), Value::String(alias_id));
                d.insert("canonical_id".into(), Value::String(entity_id));
                Some(Response::with_data(d))
            }
        };
        Ok(with_warnings(resp, warnings))
    }

    fn plan_alias_write(&self, st: &State, input: AliasInput, now: &str) -> LogicalResult<Plan> {
        let AliasInput {
            id,
            mut name,
            mut mount_accessor,
            canonical_id,
            custom_metadata,
        } = input;
        if !id.is_empty() {
            let Some((entity, alias)) = st.alias_by_id(&id) else {
                return Err(LogicalError::invalid("invalid alias ID provided"));
            };
            let custom_given = custom_metadata.is_some();
            let custom = custom_metadata.unwrap_or_else(|| alias.custom_metadata.clone());
            if mount_accessor.is_empty()
                && name.is_empty()
                && canonical_id.is_empty()
                && !custom_given
            {
                return Ok(Plan::Nothing);
            }
            if mount_accessor.is_empty() {
                mount_accessor = alias.mount_accessor.clone();
            }
            if name.is_empty() {
                name = alias.name.clone();
            }
            return self.plan_alias_update(
                st,
                entity,
                alias,
                canonical_id,
                name,
                mount_accessor,
                custom,
                now,
            );
        }
        if mount_accessor.is_empty() || name.is_empty() {
            return Err(LogicalError::invalid(
                "'id' or 'mount_accessor' and 'name' must be provided",
            ));
        }
        let mount = self.check_accessor(&mount_accessor)?;
        if let Some((entity, alias)) = st.alias_by_factors(&mount_accessor, &name) {
            // OpenBao keeps existing custom metadata only when updating by id; by factors
            // an absent field clears it.
            let custom = custom_metadata.unwrap_or_default();
            return self.plan_alias_update(
                st,
                entity,
                alias,
                canonical_id,
                name,
                mount_accessor,
                custom,
                now,
            );
        }

        // A new alias.
        let mut changes = Vec::new();
        let mut entity = if canonical_id.is_empty() {
            let id = new_uuid();
            EntityRecord {
                name: unique_entity_name(st),
                id,
                creation_time: now.to_owned(),
                last_update_time: now.to_owned(),
                ..EntityRecord::default()
            }
        } else {
            match st.entities.get(&canonical_id) {
                Some(e) => e.clone(),
                None => return Err(LogicalError::invalid("invalid canonical ID")),
            }
        };
        if entity
            .aliases
            .iter()
            .any(|a| a.mount_accessor == mount_accessor)
        {
            return Err(LogicalError::invalid(
                "Alias already exists for requested entity and mount accessor",
            ));
        }
        let (mount_type, mount_path) = mount.unwrap_or_default();
        let alias = AliasRecord {
            id: new_uuid(),
            canonical_id: entity.id.clone(),
            mount_accessor,
            mount_type,
            mount_path,
            name,
            custom_metadata: custom_metadata.unwrap_or_default(),
            creation_time: now.to_owned(),
            last_update_time: now.to_owned(),
            ..AliasRecord::default()
        };
        let alias_id = alias.id.clone();
        let entity_id = entity.id.clone();
        entity.aliases.push(alias);
        changes.push(Change::PutEntity(entity));
        Ok(Plan::Write {
            changes,
            alias_id,
            entity_id,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_alias_update(
        &self,
        st: &State,
        current: &EntityRecord,
        alias: &AliasRecord,
        canonical_id: String,
        name: String,
        mount_accessor: String,
        custom: BTreeMap<String, String>,
        now: &str,
    ) -> LogicalResult<Plan> {
        let moving = !canonical_id.is_empty() && canonical_id != alias.canonical_id;
        if name == alias.name
            && mount_accessor == alias.mount_accessor
            && !moving
            && custom == alias.custom_metadata
        {
            return Ok(Plan::Nothing);
        }
        let mut updated = alias.clone();
        updated.last_update_time = now.to_owned();

        if mount_accessor != alias.mount_accessor
            && !moving
            && current
                .aliases
                .iter()
                .any(|a| a.id != alias.id && a.mount_accessor == mount_accessor)
        {
            return Err(LogicalError::invalid(
                "Alias cannot be updated as the entity already has an alias for the given 'mount_accessor'",
            ));
        }
        if name != alias.name
            || mount_accessor != alias.mount_accessor
            || custom != alias.custom_metadata
        {
            let mount = self.check_accessor(&mount_accessor)?;
            if let Some((_, existing)) = st.alias_by_factors(&mount_accessor, &name)
                && existing.id != alias.id
            {
                return Err(LogicalError::invalid(
                    "alias with combination of mount accessor and name already exists",
                ));
            }
            if mount_accessor != alias.mount_accessor {
                let (t, p) = mount.unwrap_or_default();
                updated.mount_type = t;
                updated.mount_path = p;
            }
            updated.name = name;
            updated.mount_accessor = mount_accessor;
            updated.custom_metadata = custom;
        }

        let alias_id = updated.id.clone();
        if moving {
            let Some(target) = st.entities.get(&canonical_id) else {
                return Err(LogicalError::invalid(
                    "given 'canonical_id' is not associated with an entity",
                ));
            };
            if target
                .aliases
                .iter()
                .any(|a| a.mount_accessor == updated.mount_accessor)
            {
                return Err(LogicalError::invalid(
                    "Alias cannot be updated as the given entity already has an alias for this mount",
                ));
            }
            let mut target = target.clone();
            let mut source = current.clone();
            source.aliases.retain(|a| a.id != alias_id);
            updated.canonical_id = target.id.clone();
            target.aliases.push(updated);
            let entity_id = target.id.clone();
            return Ok(Plan::Write {
                changes: vec![Change::PutEntity(source), Change::PutEntity(target)],
                alias_id,
                entity_id,
            });
        }
        let mut entity = current.clone();
        if let Some(slot) = entity.aliases.iter_mut().find(|a| a.id == alias_id) {
            *slot = updated;
        }
        let entity_id = entity.id.clone();
        Ok(Plan::Write {
            changes: vec![Change::PutEntity(entity)],
            alias_id,
            entity_id,
        })
    }

    /// With a mount lookup installed, the accessor must name a mount (its type and path
    /// are returned); without one, any accessor is accepted.
    fn check_accessor(&self, accessor: &str) -> LogicalResult<Option<(String, String)>> {
        match self.mount_lookup() {
            None => Ok(None),
            Some(lookup) => match lookup.mount_by_accessor(accessor) {
                Some(m) => Ok(Some((m.mount_type, m.mount_path))),
                None => Err(LogicalError::invalid("invalid mount accessor")),
            },
        }
    }

    pub(crate) fn alias_read(&self, data: &Map<String, Value>) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let id = fd.string("id")?.unwrap_or_default();
        let warnings = fd.warnings();
        let alias = self.read()?.alias_by_id(&id).map(|(_, a)| a.clone());
        let resp = alias.map(|a| {
            let mut d = Map::new();
            d.insert("id".into(), Value::String(a.id.clone()));
            d.insert("canonical_id".into(), Value::String(a.canonical_id.clone()));
            d.insert(
                "mount_accessor".into(),
                Value::String(a.mount_accessor.clone()),
            );
            d.insert("metadata".into(), map_or_null(&a.metadata));
            d.insert("custom_metadata".into(), map_or_null(&a.custom_metadata));
            d.insert("name".into(), Value::String(a.name.clone()));
            d.insert("merged_from_canonical_ids".into(), Value::Null);
            d.insert(
                "namespace_id".into(),
                Value::String(ROOT_NAMESPACE_ID.into()),
            );
            d.insert("local".into(), Value::Bool(a.local));
            if let Some((t, p)) = self.mount_of(&a) {
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
            Response::with_data(d)
        });
        Ok(with_warnings(resp, warnings))
    }

    /// Removes the alias from its entity (the entity stays); 204 either way.
    pub(crate) async fn alias_delete(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let (id, warnings) = {
            let fd = FieldData::new(data);
            (fd.string("id")?.unwrap_or_default(), fd.warnings())
        };
        let w = self.write.lock().await;
        let change = {
            let st = self.read()?;
            st.alias_by_id(&id).map(|(entity, _)| {
                let mut entity = entity.clone();
                entity.aliases.retain(|a| a.id != id);
                Change::PutEntity(entity)
            })
        };
        if let Some(change) = change {
            self.commit(&w, vec![change]).await?;
        }
        Ok(with_warnings(None, warnings))
    }

    pub(crate) fn alias_list(&self) -> LogicalResult<Option<Response>> {
        let aliases: Vec<AliasRecord> = self.read()?.aliases().map(|(_, a)| a.clone()).collect();
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
            m.insert("custom_metadata".into(), map_or_null(&a.custom_metadata));
            m.insert("metadata".into(), map_or_null(&a.metadata));
            m.insert("local".into(), Value::Bool(a.local));
            if let Some((t, p)) = self.mount_of(&a) {
                m.insert("mount_type".into(), Value::String(t));
                m.insert("mount_path".into(), Value::String(p));
            }
            keys.push(a.id.clone());
            info.insert(a.id, Value::Object(m));
        }
        Ok(list_response(keys, info))
    }
}
