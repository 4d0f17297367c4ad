//! The `identity/` backend: routes each request to its handler.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use arca_logical::{Backend, LogicalError, LogicalResult, Operation, PathTable, Request, Response};
use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::IdentityStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Entity,
    EntityId,
    EntityIdList,
    EntityName,
    EntityNameList,
    Alias,
    AliasId,
    AliasIdList,
    Group,
    GroupId,
    GroupIdList,
    GroupName,
    GroupNameList,
    GroupAlias,
    GroupAliasId,
    GroupAliasIdList,
    LookupEntity,
    LookupGroup,
}

/// OpenBao's `GenericNameRegex`: word characters, with `-` and `.` inside.
const ID: &str = r"(?P<id>\w(?:[\w.-]*\w)?)";

static TABLE: LazyLock<Option<PathTable<Route>>> = LazyLock::new(|| {
    let t = PathTable::new()
        .add("entity", Route::Entity)
        .ok()?
        .add("entity/id/?", Route::EntityIdList)
        .ok()?
        .add(&format!("entity/id/{ID}"), Route::EntityId)
        .ok()?
        .add("entity/name/?", Route::EntityNameList)
        .ok()?
        .add("entity/name/(?P<name>.+)", Route::EntityName)
        .ok()?
        .add("entity-alias", Route::Alias)
        .ok()?
        .add("entity-alias/id/?", Route::AliasIdList)
        .ok()?
        .add(&format!("entity-alias/id/{ID}"), Route::AliasId)
        .ok()?
        .add("group", Route::Group)
        .ok()?
        .add("group/id/?", Route::GroupIdList)
        .ok()?
        .add(&format!("group/id/{ID}"), Route::GroupId)
        .ok()?
        .add("group/name/?", Route::GroupNameList)
        .ok()?
        .add("group/name/(?P<name>.+)", Route::GroupName)
        .ok()?
        .add("group-alias", Route::GroupAlias)
        .ok()?
        .add("group-alias/id/?", Route::GroupAliasIdList)
        .ok()?
        .add(&format!("group-alias/id/{ID}"), Route::GroupAliasId)
        .ok()?
        .add("lookup/entity", Route::LookupEntity)
        .ok()?
        .add("lookup/group", Route::LookupGroup)
        .ok()?;
    Some(t)
});

pub(crate) struct IdentityBackend {
    store: Arc<IdentityStore>,
}

impl IdentityBackend {
    pub(crate) fn new(store: Arc<IdentityStore>) -> Self {
        Self { store }
    }
}

/// The request's fields with the path captures on top (a path value wins over a body
/// value of the same name, as in Vault's framework).
fn merged_data(req: &Request, captures: BTreeMap<String, String>) -> Map<String, Value> {
    let mut data = req.data.clone();
    for (k, v) in captures {
        data.insert(k, Value::String(v));
    }
    data
}

/// Attaches warnings to a handler's answer; warnings alone make a response.
pub(crate) fn with_warnings(resp: Option<Response>, warnings: Vec<String>) -> Option<Response> {
    if warnings.is_empty() {
        return resp;
    }
    let mut resp = resp.unwrap_or_default();
    resp.warnings.extend(warnings);
    Some(resp)
}

#[async_trait]
impl Backend for IdentityBackend {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(table) = TABLE.as_ref() else {
            tracing::error!("identity path table failed to build");
            return Err(LogicalError::internal());
        };
        let Some(m) = table.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let route = *m.handler;
        let data = merged_data(req, m.captures);
        let s = &self.store;
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (route, req.operation) {
            (Route::Entity, _) if write => s.entity_write(&data).await,
            (Route::EntityId | Route::EntityName, _) if write => s.entity_write(&data).await,
            (Route::EntityId, Operation::Read) => s.entity_read(&data, true),
            (Route::EntityName, Operation::Read) => s.entity_read(&data, false),
            (Route::EntityId, Operation::Delete) => s.entity_delete(&data, true).await,
            (Route::EntityName, Operation::Delete) => s.entity_delete(&data, false).await,
            (Route::EntityIdList, Operation::List) => s.entity_list(true),
            (Route::EntityNameList, Operation::List) => s.entity_list(false),

            (Route::Alias | Route::AliasId, _) if write => s.alias_write(&data).await,
            (Route::AliasId, Operation::Read) => s.alias_read(&data),
            (Route::AliasId, Operation::Delete) => s.alias_delete(&data).await,
            (Route::AliasIdList, Operation::List) => s.alias_list(),

            (Route::Group, _) if write => s.group_register(&data).await,
            (Route::GroupId, _) if write => s.group_write_by_id(&data).await,
            (Route::GroupName, _) if write => s.group_write_by_name(&data).await,
            (Route::GroupId, Operation::Read) => s.group_read(&data, true),
            (Route::GroupName, Operation::Read) => s.group_read(&data, false),
            (Route::GroupId, Operation::Delete) => s.group_delete(&data, true).await,
            (Route::GroupName, Operation::Delete) => s.group_delete(&data, false).await,
            (Route::GroupIdList, Operation::List) => s.group_list(true),
            (Route::GroupNameList, Operation::List) => s.group_list(false),

            (Route::GroupAlias | Route::GroupAliasId, _) if write => {
                s.group_alias_write(&data).await
            }
            (Route::GroupAliasId, Operation::Read) => s.group_alias_read(&data),
            (Route::GroupAliasId, Operation::Delete) => s.group_alias_delete(&data).await,
            (Route::GroupAliasIdList, Operation::List) => s.group_alias_list(),

            (Route::LookupEntity, _) if write => s.lookup_entity(&data),
            (Route::LookupGroup, _) if write => s.lookup_group(&data),

            _ => Err(LogicalError::unsupported_operation()),
        }
    }
}

/// A list answer: `keys` and `key_info`, or nothing when empty (answered 404).
pub(crate) fn list_response(keys: Vec<String>, key_info: Map<String, Value>) -> Option<Response> {
    if keys.is_empty() {
        return None;
    }
    let mut data = Map::new();
    data.insert("keys".into(), Value::from(keys));
    data.insert("key_info".into(), Value::Object(key_info));
    Some(Response::with_data(data))
}

/// A map as JSON, `null` when empty (how OpenBao renders an unset map).
pub(crate) fn map_or_null(m: &BTreeMap<String, String>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

/// A list as JSON, `null` when empty (how OpenBao renders an unset list).
pub(crate) fn list_or_null(l: &[String]) -> Value {
    if l.is_empty() {
        Value::Null
    } else {
        Value::from(l.to_vec())
    }
}
