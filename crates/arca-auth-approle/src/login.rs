//! `login`: role ID and secret ID in, an `auth` for the core out.

use std::collections::BTreeMap;

use arca_auth_common::cidr;
use arca_logical::{Alias, Auth, LogicalError, LogicalResult, Request, Response};
use arca_storage::TxnOp;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::store::{RoleIdEntry, SecretIdEntry, accessor_key, encode, get, role_id_key};
use crate::{Approle, INVALID_CREDENTIALS};

fn invalid() -> LogicalError {
    LogicalError::invalid(INVALID_CREDENTIALS)
}

impl Approle {
    pub(crate) async fn login(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let role_id = f.string("role_id")?.unwrap_or_default();
        let role_id = role_id.trim();
        if role_id.is_empty() {
            return Err(LogicalError::invalid("missing role_id"));
        }
        let salt = self.salt().await?;
        let storage = self.storage.as_ref();
        let Some(index) = get::<RoleIdEntry>(storage, &role_id_key(salt, role_id)).await? else {
            return Err(invalid());
        };
        let name = index.name;
        let Some(role) = self.role(&name).await? else {
            return Err(invalid());
        };
        if !arca_crypto::constant_time_eq(role.role_id.as_bytes(), role_id.as_bytes()) {
            return Err(invalid());
        }
        let remote = req.remote_addr.map(|a| a.ip());
        let now_time = self.system.now();
        let now = self.now_nanos();

        let mut metadata = BTreeMap::new();
        let mut secret_token_cidrs = Vec::new();
        if role.bind_secret_id {
            let secret = Zeroizing::new(f.string("secret_id")?.unwrap_or_default());
            let secret = Zeroizing::new(secret.trim().to_owned());
            if secret.is_empty() {
                return Err(LogicalError::invalid("missing secret_id"));
            }
            let attempt = self.lockout.begin(storage, &name, now_time).await?;
            if attempt.locked() {
                return Err(invalid());
            }
            let secret_hmac = role.hmac(&secret);
            let key = role.secret_key(&name, &secret_hmac);
            let _guard = self.secrets.lock(&secret_hmac).await;
            let found: Option<SecretIdEntry> = get(storage, &key).await?;
            let found = found.filter(|e| {
                arca_crypto::constant_time_eq(e.secret_id_hmac.as_bytes(), secret_hmac.as_bytes())
            });
            let Some(mut entry) = found else {
                attempt.failed(storage, now_time).await?;
                return Err(invalid());
            };
            let accessor = accessor_key(salt, &entry.secret_id_accessor);
            if entry.expired(now) || storage.get(&accessor).await?.is_none() {
                // Expired, or left without its accessor: gone for good.
                storage
                    .transaction(vec![TxnOp::Delete { key }, TxnOp::Delete { key: accessor }])
                    .await?;
                attempt.failed(storage, now_time).await?;
                return Err(invalid());
            }
            // Every CIDR restriction is checked before a use is consumed.
            if !cidr::is_subset(&entry.cidr_list, &role.secret_id_bound_cidrs) {
                return Err(LogicalError::invalid(
                    "failed to verify subset relationship between CIDR blocks on the role and CIDR blocks on the secret ID",
                ));
            }
            if !cidr::remote_allowed(&entry.cidr_list, remote) {
                return Err(LogicalError::invalid(
                    "source address unauthorized through CIDR restrictions on the secret ID",
                ));
            }
            if !cidr::remote_allowed(&role.secret_id_bound_cidrs, remote) {
                return Err(LogicalError::invalid(
                    "source address unauthorized by CIDR restrictions on the role",
                ));
            }
            match entry.secret_id_num_uses {
                0 => {}
                1 => {
                    storage
                        .transaction(vec![TxnOp::Delete { key: accessor }, TxnOp::Delete { key }])
                        .await?;
                }
                n => {
                    entry.secret_id_num_uses = n - 1;
                    entry.last_updated_time = now;
                    storage
                        .transaction(vec![TxnOp::Put {
                            key,
                            value: encode(&entry)?,
                        }])
                        .await?;
                }
            }
            attempt.succeeded(storage).await?;
            metadata = entry.metadata;
            secret_token_cidrs = entry.token_bound_cidrs;
        } else {
            f.mark_used(&["secret_id"]);
            if !cidr::remote_allowed(&role.secret_id_bound_cidrs, remote) {
                return Err(LogicalError::invalid(
                    "source address unauthorized by CIDR restrictions on the role",
                ));
            }
        }

        metadata.insert("role_name".to_owned(), name.clone());
        let mut auth = Auth {
            metadata: metadata.clone(),
            alias: Some(Alias {
                name: role.role_id.clone(),
                metadata,
            }),
            internal_data: Map::from_iter([("role_name".to_owned(), Value::String(name))]),
            ..Auth::default()
        };
        role.token.populate_auth(&mut auth, remote)?;
        if !secret_token_cidrs.is_empty() {
            auth.bound_cidrs = secret_token_cidrs;
        }
        Ok(Some(Response {
            auth: Some(auth),
            warnings: f.warnings(),
            ..Response::default()
        }))
    }
}
