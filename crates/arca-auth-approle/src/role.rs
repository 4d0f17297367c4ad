//! Roles: `role/`, `role/<r>`, `role/<r>/role-id` and the one-setting endpoints.

use std::time::Duration;

use arca_auth_common::{Legacy, cidr};
use arca_logical::{FieldData, LogicalError, LogicalResult, Request, Response};
use arca_storage::TxnOp;
use serde_json::{Map, Value, json};

use crate::store::{
    ROLE_PREFIX, RoleEntry, RoleIdEntry, SECRET_PREFIX, SecretIdEntry, accessor_key, decode,
    encode, get, role_id_key,
};
use crate::{Approle, ApproleError, role_missing};
use arca_auth_common::{list_response, warnings_only};

/// One of the `role/<r>/<setting>` endpoints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldPath {
    /// The input field an update requires (and a delete resets).
    input: &'static str,
    /// Other names an update accepts for it (legacy).
    aliases: &'static [&'static str],
    /// The keys of a role read that a read of this endpoint shows.
    shown: &'static [&'static str],
    /// The value a delete writes back.
    default: fn() -> Value,
    /// Read only (`local-secret-ids`).
    read_only: bool,
}

fn zero() -> Value {
    json!(0)
}
fn empty() -> Value {
    json!([])
}
fn yes() -> Value {
    json!(true)
}

impl FieldPath {
    pub(crate) fn parse(segment: &str) -> Option<FieldPath> {
        let f = |input, aliases, shown, default| FieldPath {
            input,
            aliases,
            shown,
            default,
            read_only: false,
        };
        Some(match segment {
            "policies" => f(
                "token_policies",
                &["policies"],
                &["token_policies", "policies"],
                empty,
            ),
            "secret-id-num-uses" => f("secret_id_num_uses", &[], &["secret_id_num_uses"], zero),
            "secret-id-ttl" => f("secret_id_ttl", &[], &["secret_id_ttl"], zero),
            "token-ttl" => f("token_ttl", &[], &["token_ttl"], zero),
            "token-max-ttl" => f("token_max_ttl", &[], &["token_max_ttl"], zero),
            "token-num-uses" => f("token_num_uses", &[], &["token_num_uses"], zero),
            "bind-secret-id" => f("bind_secret_id", &[], &["bind_secret_id"], yes),
            "bound-cidr-list" => f("bound_cidr_list", &[], &["bound_cidr_list"], empty),
            "secret-id-bound-cidrs" => f(
                "secret_id_bound_cidrs",
                &[],
                &["secret_id_bound_cidrs"],
                empty,
            ),
            "token-bound-cidrs" => f("token_bound_cidrs", &[], &["token_bound_cidrs"], empty),
            "period" => f(
                "token_period",
                &["period"],
                &["token_period", "period"],
                zero,
            ),
            "local-secret-ids" => FieldPath {
                read_only: true,
                ..f("local_secret_ids", &[], &["local_secret_ids"], zero)
            },
            _ => return None,
        })
    }
}

impl Approle {
    pub(crate) async fn list_roles(&self) -> LogicalResult<Option<Response>> {
        let mut keys = self.storage.list(ROLE_PREFIX).await?;
        keys.retain(|k| !k.ends_with('/'));
        Ok(list_response(keys))
    }

    fn role_data(role: &RoleEntry) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("bind_secret_id".into(), role.bind_secret_id.into());
        // Vault shows a never-set list as null.
        data.insert(
            "secret_id_bound_cidrs".into(),
            if role.secret_id_bound_cidrs.is_empty() {
                Value::Null
            } else {
                role.secret_id_bound_cidrs.clone().into()
            },
        );
        data.insert("secret_id_num_uses".into(), role.secret_id_num_uses.into());
        data.insert("secret_id_ttl".into(), role.secret_id_ttl.into());
        data.insert("local_secret_ids".into(), role.local_secret_ids.into());
        role.token.populate_data(&mut data, Legacy::APPROLE);
        data
    }

    pub(crate) async fn read_role(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(role) = self.role(name).await? else {
            return Ok(None);
        };
        let mut resp = Response::with_data(Self::role_data(&role));
        if !role.has_constraint() {
            resp.warnings.push("Role does not have any constraints set on it. Updates to this role will require a constraint to be set".to_owned());
        }
        Ok(Some(resp))
    }

    /// Creates or updates a role from `f`. `creating` decides the defaults and what may
    /// change; the caller holds the role's lock.
    async fn apply_role(
        &self,
        f: &FieldData<'_>,
        name: &str,
        existing: Option<RoleEntry>,
    ) -> LogicalResult<Vec<String>> {
        let creating = existing.is_none();
        let mut role = match existing {
            Some(r) => r,
            None => RoleEntry {
                hmac_key: hex::encode(
                    arca_crypto::random_array::<32>().map_err(|_| ApproleError::Random)?,
                ),
                bind_secret_id: true,
                ..RoleEntry::default()
            },
        };
        let mut warnings = role.token.update(f, Legacy::APPROLE)?;

        if let Some(local) = f.bool("local_secret_ids")? {
            if !creating {
                return Err(LogicalError::invalid(
                    "local_secret_ids can only be modified during role creation",
                ));
            }
            role.local_secret_ids = local;
        }
        let previous_role_id = role.role_id.clone();
        match f.string("role_id")? {
            Some(id) => role.role_id = id.trim().to_owned(),
            None if creating => {
                role.role_id = arca_crypto::random_uuid().map_err(|_| ApproleError::Random)?;
            }
            None => {}
        }
        if role.role_id.is_empty() {
            return Err(LogicalError::invalid(
                "invalid role_id supplied, or failed to generate a role_id",
            ));
        }
        if let Some(b) = f.bool("bind_secret_id")? {
            role.bind_secret_id = b;
        }
        let cidrs = match f.comma_list("secret_id_bound_cidrs")? {
            Some(v) => {
                f.mark_used(&["bound_cidr_list"]);
                Some(v)
            }
            None => f.comma_list("bound_cidr_list")?,
        };
        if let Some(list) = cidrs {
            role.secret_id_bound_cidrs = cidr::as_written(&list)
                .ok_or_else(|| LogicalError::invalid("invalid CIDR blocks"))?;
        }
        if let Some(n) = f.i64("secret_id_num_uses")? {
            role.secret_id_num_uses = u64::try_from(n)
                .map_err(|_| LogicalError::invalid("secret_id_num_uses cannot be negative"))?;
        }
        if let Some(d) = f.duration("secret_id_ttl")? {
            role.secret_id_ttl = d.as_secs();
        }
        let max = self.system.max_lease_ttl();
        if Duration::from_secs(role.token.period) > max {
            return Err(LogicalError::invalid(
                "period is greater than the backend's maximum lease TTL",
            ));
        }
        if Duration::from_secs(role.token.token_max_ttl) > max {
            warnings.push("token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL value will be truncated".to_owned());
        }
        if !role.has_constraint() {
            return Err(LogicalError::invalid(
                "at least one constraint should be enabled on the role",
            ));
        }
        self.store_role(name, &role, &previous_role_id).await?;
        Ok(warnings)
    }

    /// Writes a role and its role ID index in one transaction, refusing a role ID that
    /// belongs to another role.
    async fn store_role(
        &self,
        name: &str,
        role: &RoleEntry,
        previous_role_id: &str,
    ) -> LogicalResult<()> {
        let salt = self.salt().await?;
        let index = role_id_key(salt, &role.role_id);
        if let Some(owner) = get::<RoleIdEntry>(self.storage.as_ref(), &index).await?
            && owner.name != name
        {
            return Err(LogicalError::invalid("role_id already in use"));
        }
        let mut ops = vec![TxnOp::Put {
            key: format!("{ROLE_PREFIX}{name}"),
            value: encode(role)?,
        }];
        if previous_role_id != role.role_id {
            if !previous_role_id.is_empty() {
                ops.push(TxnOp::Delete {
                    key: role_id_key(salt, previous_role_id),
                });
            }
            ops.push(TxnOp::Put {
                key: index,
                value: encode(&RoleIdEntry {
                    name: name.to_owned(),
                })?,
            });
        }
        self.storage.transaction(ops).await?;
        Ok(())
    }

    pub(crate) async fn write_role(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.roles.lock(name).await;
        let existing = self.role(name).await?;
        let mut warnings = self.apply_role(&f, name, existing).await?;
        warnings.extend(f.warnings());
        Ok(warnings_only(warnings))
    }

    pub(crate) async fn delete_role(&self, name: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.roles.lock(name).await;
        let Some(role) = self.role(name).await? else {
            return Ok(None);
        };
        let salt = self.salt().await?;
        // The role, its index and every secret ID (with its accessor) go together.
        let mut ops = vec![
            TxnOp::Delete {
                key: format!("{ROLE_PREFIX}{name}"),
            },
            TxnOp::Delete {
                key: role_id_key(salt, &role.role_id),
            },
        ];
        let folder = format!("{SECRET_PREFIX}{}/", role.hmac(name));
        for h in self.storage.list(&folder).await? {
            let key = format!("{folder}{h}");
            if let Some(raw) = self.storage.get(&key).await? {
                let entry: SecretIdEntry = decode(&raw)?;
                ops.push(TxnOp::Delete {
                    key: accessor_key(salt, &entry.secret_id_accessor),
                });
            }
            ops.push(TxnOp::Delete { key });
        }
        self.storage.transaction(ops).await?;
        lockout::unlock_quietly(self, name).await;
        Ok(None)
    }

    pub(crate) async fn read_role_id(&self, name: &str) -> LogicalResult<Option<Response>> {
        let Some(role) = self.role(name).await? else {
            return Ok(None);
        };
        let mut data = Map::new();
        data.insert("role_id".into(), role.role_id.into());
        Ok(Some(Response::with_data(data)))
    }

    pub(crate) async fn write_role_id(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.roles.lock(name).await;
        let mut role = self.role(name).await?.ok_or_else(role_missing)?;
        let id = f
            .string("role_id")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| LogicalError::invalid("missing role_id"))?;
        let previous = std::mem::replace(&mut role.role_id, id);
        self.store_role(name, &role, &previous).await?;
        Ok(warnings_only(f.warnings()))
    }

    pub(crate) async fn read_field(
        &self,
        name: &str,
        field: FieldPath,
    ) -> LogicalResult<Option<Response>> {
        let Some(role) = self.role(name).await? else {
            return Ok(None);
        };
        let mut all = Self::role_data(&role);
        all.insert(
            "bound_cidr_list".into(),
            role.secret_id_bound_cidrs.clone().into(),
        );
        let data: Map<String, Value> = field
            .shown
            .iter()
            .filter_map(|k| all.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        Ok(Some(Response::with_data(data)))
    }

    pub(crate) async fn write_field(
        &self,
        req: &Request,
        name: &str,
        field: FieldPath,
    ) -> LogicalResult<Option<Response>> {
        if field.read_only {
            return Err(LogicalError::unsupported_operation());
        }
        let sent: Map<String, Value> = req
            .data
            .iter()
            .filter(|(k, v)| {
                !v.is_null() && (k.as_str() == field.input || field.aliases.contains(&k.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if sent.is_empty() {
            return Err(LogicalError::invalid(format!("missing {}", field.input)));
        }
        self.update_existing(name, &sent).await?;
        let f = req.fields();
        f.mark_used(&[field.input]);
        f.mark_used(field.aliases);
        Ok(warnings_only(f.warnings()))
    }

    pub(crate) async fn delete_field(
        &self,
        name: &str,
        field: FieldPath,
    ) -> LogicalResult<Option<Response>> {
        if field.read_only {
            return Err(LogicalError::unsupported_operation());
        }
        let reset = Map::from_iter([(field.input.to_owned(), (field.default)())]);
        match self.update_existing(name, &reset).await {
            Err(e) if e == role_missing() => Ok(None),
            other => other.map(|_| None),
        }
    }

    /// Applies `data` to an existing role with the rules of a role update.
    async fn update_existing(&self, name: &str, data: &Map<String, Value>) -> LogicalResult<()> {
        let _guard = self.roles.lock(name).await;
        let role = self.role(name).await?.ok_or_else(role_missing)?;
        self.apply_role(&FieldData::new(data), name, Some(role))
            .await
            .map(|_| ())
    }
}

/// Lockout records of a deleted role are dropped with it.
mod lockout {
    use crate::Approle;

    pub(super) async fn unlock_quietly(b: &Approle, name: &str) {
        if let Err(e) = arca_auth_common::lockout::unlock(b.storage.as_ref(), name).await {
            tracing::warn!(error = %e, "could not drop the lockout record of a deleted role");
        }
    }
}
