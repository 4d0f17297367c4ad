//! `identity/lookup/entity` and `identity/lookup/group`.

use arca_logical::{FieldData, LogicalError, LogicalResult, Response};
use serde_json::{Map, Value};

use crate::IdentityStore;
use crate::backend::with_warnings;
use crate::groups;

/// The query of a lookup: exactly one of `id`, `name`, `alias_id`, or the pair
/// `alias_name` + `alias_mount_accessor`.
struct Query {
    id: String,
    name: String,
    alias_id: String,
    alias_name: String,
    alias_mount_accessor: String,
}

impl Query {
    fn parse(fd: &FieldData<'_>) -> LogicalResult<Self> {
        let fields = [
            "id",
            "name",
            "alias_id",
            "alias_name",
            "alias_mount_accessor",
        ];
        let mut values = Vec::with_capacity(fields.len());
        let mut count = 0;
        for f in fields {
            let v = fd.string(f)?;
            count += usize::from(v.is_some());
            values.push(v.unwrap_or_default());
        }
        let [id, name, alias_id, alias_name, alias_mount_accessor]: [String; 5] =
            values.try_into().map_err(|_| LogicalError::internal())?;
        match count {
            0 => return Err(LogicalError::invalid("query parameter not supplied")),
            1 if !alias_name.is_empty() || !alias_mount_accessor.is_empty() => {
                return Err(LogicalError::invalid(
                    "both 'alias_name' and 'alias_mount_accessor' needs to be set",
                ));
            }
            1 => {}
            2 if !alias_name.is_empty() && !alias_mount_accessor.is_empty() => {}
            _ => {
                return Err(LogicalError::invalid(
                    "query parameter conflict; please supply distinct set of query parameters",
                ));
            }
        }
        Ok(Self {
            id,
            name,
            alias_id,
            alias_name,
            alias_mount_accessor,
        })
    }
}

impl IdentityStore {
    /// The entity read for the query, or 204 when nothing matches.
    pub(crate) fn lookup_entity(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let q = Query::parse(&fd)?;
        let warnings = fd.warnings();
        let snap = {
            let st = self.read()?;
            let entity = if !q.id.is_empty() {
                st.entities.get(&q.id)
            } else if !q.name.is_empty() {
                st.entity_by_name(&q.name)
            } else if !q.alias_id.is_empty() {
                st.alias_by_id(&q.alias_id).map(|(e, _)| e)
            } else if !q.alias_name.is_empty() && !q.alias_mount_accessor.is_empty() {
                st.alias_by_factors(&q.alias_mount_accessor, &q.alias_name)
                    .map(|(e, _)| e)
            } else {
                None
            };
            entity.map(|e| self.snapshot_entity(&st, e))
        };
        let resp = snap.map(|s| Response::with_data(self.render_entity(s)));
        Ok(with_warnings(resp, warnings))
    }

    /// The group read for the query, or 204 when nothing matches. Group aliases are not
    /// implemented, so alias queries never match.
    pub(crate) fn lookup_group(
        &self,
        data: &Map<String, Value>,
    ) -> LogicalResult<Option<Response>> {
        let fd = FieldData::new(data);
        let q = Query::parse(&fd)?;
        let warnings = fd.warnings();
        let st = self.read()?;
        let group = if !q.id.is_empty() {
            st.groups.get(&q.id)
        } else if !q.name.is_empty() {
            st.group_by_name(&q.name)
        } else {
            None
        };
        let resp = group.map(|g| Response::with_data(groups::render_group(self, &st, g)));
        Ok(with_warnings(resp, warnings))
    }
}
