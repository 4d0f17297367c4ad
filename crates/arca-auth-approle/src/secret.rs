//! Secret IDs: generation (random or custom), listing by accessor, lookup and destroy.

use std::collections::BTreeMap;
use std::time::Duration;

use arca_auth_common::{MAX_NAME_LEN, cidr, format_rfc3339_nanos};
use arca_logical::{ErrorKind, FieldData, LogicalError, LogicalResult, Request, Response};
use arca_storage::TxnOp;
use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::store::{
    AccessorEntry, RoleEntry, SECRET_PREFIX, SecretIdEntry, accessor_key, encode, get,
};
use crate::{Approle, ApproleError, role_missing};
use arca_auth_common::warnings_only;

fn bad(msg: &str) -> LogicalError {
    LogicalError::invalid(msg)
}

/// Vault's `ParseArbitraryKeyValues` for `metadata`: a JSON object of strings, the same
/// base64-encoded, or `k=v` pairs separated by commas. Also a JSON object directly.
fn parse_metadata(f: &FieldData<'_>) -> LogicalResult<BTreeMap<String, String>> {
    let Some(raw) = f.raw("metadata") else {
        return Ok(BTreeMap::new());
    };
    let failed = || bad("failed to parse metadata");
    match raw {
        Value::Object(_) => f.string_map("metadata").map(Option::unwrap_or_default),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(BTreeMap::new());
            }
            if let Ok(m) = serde_json::from_str::<BTreeMap<String, String>>(s) {
                return Ok(m);
            }
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s)
                && let Ok(m) = serde_json::from_slice::<BTreeMap<String, String>>(&bytes)
            {
                return Ok(m);
            }
            let mut m = BTreeMap::new();
            for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(failed)?;
                let k = k.trim();
                if k.is_empty() {
                    return Err(failed());
                }
                m.insert(k.to_owned(), v.trim().to_owned());
            }
            Ok(m)
        }
        _ => Err(failed()),
    }
}

/// A secret ID as lookups show it.
fn entry_data(e: &SecretIdEntry) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "secret_id_accessor".into(),
        e.secret_id_accessor.clone().into(),
    );
    m.insert("secret_id_num_uses".into(), e.secret_id_num_uses.into());
    m.insert("secret_id_ttl".into(), e.secret_id_ttl.into());
    m.insert(
        "creation_time".into(),
        format_rfc3339_nanos(e.creation_time).into(),
    );
    m.insert(
        "expiration_time".into(),
        format_rfc3339_nanos(e.expiration_time).into(),
    );
    m.insert(
        "last_updated_time".into(),
        format_rfc3339_nanos(e.last_updated_time).into(),
    );
    m.insert(
        "metadata".into(),
        Value::Object(
            e.metadata
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
    );
    m.insert("cidr_list".into(), e.cidr_list.clone().into());
    m.insert(
        "token_bound_cidrs".into(),
        e.token_bound_cidrs.clone().into(),
    );
    m
}

/// The presented secret ID, trimmed; `missing secret_id` when absent or empty.
fn presented_secret(f: &FieldData<'_>) -> LogicalResult<Zeroizing<String>> {
    let s = Zeroizing::new(f.string("secret_id")?.unwrap_or_default());
    let trimmed = Zeroizing::new(s.trim().to_owned());
    if trimmed.is_empty() {
        return Err(bad("missing secret_id"));
    }
    if trimmed.len() > MAX_NAME_LEN {
        return Err(bad("secret_id is longer than maximum of 4096 bytes"));
    }
    Ok(trimmed)
}

impl Approle {
    /// The secret ID's TTL as issued: over the mount's maximum (or unset on a mount with
    /// one) it is capped by it, as Vault's `deriveSecretIDTTL`.
    fn derive_ttl(&self, ttl: u64) -> u64 {
        let max = self.system.max_lease_ttl().as_secs();
        if ttl > max { max } else { ttl }
    }

    /// `role/<r>/secret-id` (`custom = None`) and `role/<r>/custom-secret-id`.
    pub(crate) async fn generate_secret_id(
        &self,
        req: &Request,
        name: &str,
        custom: Option<String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let secret = Zeroizing::new(match custom {
            Some(s) => {
                let s = Zeroizing::new(s);
                let t = s.trim().to_owned();
                if t.is_empty() {
                    return Err(bad("missing secret_id"));
                }
                if t.len() > MAX_NAME_LEN {
                    return Err(bad("secret_id is longer than maximum of 4096 bytes"));
                }
                t
            }
            None => arca_crypto::random_uuid().map_err(|_| ApproleError::Random)?,
        });
        let _guard = self.roles.lock(name).await;
        let role = self.role(name).await?.ok_or_else(role_missing)?;
        if !role.bind_secret_id {
            return Err(bad("bind_secret_id is not set on the role"));
        }

        let cidr_list = f.comma_list("cidr_list")?.unwrap_or_default();
        let cidr_list =
            cidr::as_written(&cidr_list).ok_or_else(|| bad("failed to validate CIDR blocks"))?;
        if !cidr::is_subset(&cidr_list, &role.secret_id_bound_cidrs) {
            return Err(bad(
                "failed to verify subset relationship between CIDR blocks on the role and CIDR blocks on the secret ID",
            ));
        }
        let token_cidrs = f.comma_list("token_bound_cidrs")?.unwrap_or_default();
        let token_cidrs = cidr::canonical(&token_cidrs)
            .ok_or_else(|| bad("failed to validate token CIDR blocks"))?;
        if !cidr::is_subset(&token_cidrs, &role.token.token_bound_cidrs) {
            return Err(bad(
                "failed to verify subset relationship between CIDR blocks on the role and CIDR blocks on the secret ID",
            ));
        }

        let num_uses = match f.i64("num_uses")? {
            Some(n) => {
                let n = u64::try_from(n).map_err(|_| bad("num_uses cannot be negative"))?;
                let role_max = role.secret_id_num_uses;
                if role_max > 0 && (n == 0 || n > role_max) {
                    return Err(bad(
                        "num_uses cannot be higher than the role's secret_id_num_uses",
                    ));
                }
                n
            }
            None => role.secret_id_num_uses,
        };
        let ttl = match f.duration("ttl")? {
            Some(d) => {
                let t = d.as_secs();
                let role_ttl = role.secret_id_ttl;
                if role_ttl > 0 && (t == 0 || t > role_ttl) {
                    return Err(bad("ttl cannot be longer than the role's secret_id_ttl"));
                }
                t
            }
            None => role.secret_id_ttl,
        };
        let metadata = parse_metadata(&f)?;

        let secret_hmac = role.hmac(&secret);
        let key = role.secret_key(name, &secret_hmac);
        let _secret_guard = self.secrets.lock(&secret_hmac).await;
        if self.storage.get(&key).await?.is_some() {
            return Err(bad("SecretID is already registered"));
        }
        let now = self.now_nanos();
        let derived = self.derive_ttl(ttl);
        let expiration = if derived > 0 {
            now.saturating_add(
                i64::try_from(Duration::from_secs(derived).as_nanos()).unwrap_or(i64::MAX),
            )
        } else {
            0
        };
        let accessor = arca_crypto::random_uuid().map_err(|_| ApproleError::Random)?;
        let entry = SecretIdEntry {
            secret_id_hmac: secret_hmac.clone(),
            secret_id_accessor: accessor.clone(),
            secret_id_num_uses: num_uses,
            secret_id_ttl: ttl,
            creation_time: now,
            expiration_time: expiration,
            last_updated_time: now,
            metadata,
            cidr_list,
            token_bound_cidrs: token_cidrs,
        };
        let salt = self.salt().await?;
        self.storage
            .transaction(vec![
                TxnOp::Put {
                    key: accessor_key(salt, &accessor),
                    value: encode(&AccessorEntry {
                        secret_id_hmac: secret_hmac,
                        role_hmac: role.hmac(name),
                    })?,
                },
                TxnOp::Put {
                    key,
                    value: encode(&entry)?,
                },
            ])
            .await?;

        let mut data = Map::new();
        data.insert("secret_id".into(), Value::String(secret.to_string()));
        data.insert("secret_id_accessor".into(), accessor.into());
        data.insert("secret_id_ttl".into(), derived.into());
        data.insert("secret_id_num_uses".into(), num_uses.into());
        f.mark_used(&["secret_id"]);
        Ok(Some(Response {
            data: Some(data),
            warnings: f.warnings(),
            ..Response::default()
        }))
    }

    pub(crate) async fn list_secret_ids(&self, name: &str) -> LogicalResult<Option<Response>> {
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| bad("role does not exist"))?;
        let folder = format!("{SECRET_PREFIX}{}/", role.hmac(name));
        let mut keys = Vec::new();
        for h in self.storage.list(&folder).await? {
            if h.ends_with('/') {
                continue;
            }
            if let Some(e) =
                get::<SecretIdEntry>(self.storage.as_ref(), &format!("{folder}{h}")).await?
            {
                keys.push(Value::String(e.secret_id_accessor));
            }
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let mut data = Map::new();
        data.insert("keys".into(), Value::Array(keys));
        Ok(Some(Response::with_data(data)))
    }

    /// The role and the stored entry of a presented secret ID (`None` if unknown). The
    /// HMAC the entry was found under is checked again in constant time.
    async fn find_secret(
        &self,
        role: &RoleEntry,
        name: &str,
        secret: &str,
    ) -> LogicalResult<Option<(String, SecretIdEntry)>> {
        let h = role.hmac(secret);
        let key = role.secret_key(name, &h);
        let entry: Option<SecretIdEntry> = get(self.storage.as_ref(), &key).await?;
        Ok(entry
            .filter(|e| arca_crypto::constant_time_eq(e.secret_id_hmac.as_bytes(), h.as_bytes()))
            .map(|e| (key, e)))
    }

    pub(crate) async fn lookup_secret_id(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let secret = presented_secret(&f)?;
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| bad("role does not exist"))?;
        let _g = self.secrets.lock(&role.hmac(&secret)).await;
        let Some((_, entry)) = self.find_secret(&role, name, &secret).await? else {
            return Ok(warnings_only(f.warnings()));
        };
        Ok(Some(Response {
            data: Some(entry_data(&entry)),
            warnings: f.warnings(),
            ..Response::default()
        }))
    }

    pub(crate) async fn destroy_secret_id(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let secret = presented_secret(&f)?;
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| bad("role does not exist"))?;
        let _g = self.secrets.lock(&role.hmac(&secret)).await;
        if let Some((key, entry)) = self.find_secret(&role, name, &secret).await? {
            let salt = self.salt().await?;
            self.storage
                .transaction(vec![
                    TxnOp::Delete {
                        key: accessor_key(salt, &entry.secret_id_accessor),
                    },
                    TxnOp::Delete { key },
                ])
                .await?;
        }
        Ok(warnings_only(f.warnings()))
    }

    /// The accessor's index entry and the secret ID it names, if both exist and belong to
    /// this role.
    async fn find_by_accessor(
        &self,
        role: &RoleEntry,
        name: &str,
        accessor: &str,
    ) -> LogicalResult<Option<(String, SecretIdEntry)>> {
        let salt = self.salt().await?;
        let Some(idx) =
            get::<AccessorEntry>(self.storage.as_ref(), &accessor_key(salt, accessor)).await?
        else {
            return Ok(None);
        };
        if idx.role_hmac != role.hmac(name) {
            return Ok(None);
        }
        let key = role.secret_key(name, &idx.secret_id_hmac);
        let entry: Option<SecretIdEntry> = get(self.storage.as_ref(), &key).await?;
        Ok(entry.map(|e| (key, e)))
    }

    fn accessor_field(f: &FieldData<'_>) -> LogicalResult<String> {
        f.string("secret_id_accessor")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("missing secret_id_accessor"))
    }

    pub(crate) async fn lookup_accessor(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let accessor = Self::accessor_field(&f)?;
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| bad("role does not exist"))?;
        match self.find_by_accessor(&role, name, &accessor).await? {
            Some((_, entry)) => Ok(Some(Response {
                data: Some(entry_data(&entry)),
                warnings: f.warnings(),
                ..Response::default()
            })),
            None => Err(LogicalError::new(
                ErrorKind::NotFound,
                "failed to find accessor entry for secret_id_accessor",
            )),
        }
    }

    pub(crate) async fn destroy_accessor(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let accessor = Self::accessor_field(&f)?;
        let role = self
            .role(name)
            .await?
            .ok_or_else(|| bad("role does not exist"))?;
        let Some((key, entry)) = self.find_by_accessor(&role, name, &accessor).await? else {
            return Err(bad("failed to find accessor entry for secret_id_accessor"));
        };
        let _g = self.secrets.lock(&entry.secret_id_hmac).await;
        let salt = self.salt().await?;
        self.storage
            .transaction(vec![
                TxnOp::Delete {
                    key: accessor_key(salt, &accessor),
                },
                TxnOp::Delete { key },
            ])
            .await?;
        Ok(warnings_only(f.warnings()))
    }
}
