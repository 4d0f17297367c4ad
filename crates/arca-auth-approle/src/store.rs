//! Stored records and the keys they live under.

use std::collections::BTreeMap;

use arca_auth_common::TokenParams;
use arca_logical::LogicalResult;
use arca_storage::Storage;
use serde::{Deserialize, Serialize};

use crate::{Approle, ApproleError};

pub(crate) const SALT_KEY: &str = "salt";
pub(crate) const ROLE_PREFIX: &str = "role/";
pub(crate) const ROLE_ID_PREFIX: &str = "role_id/";
pub(crate) const SECRET_PREFIX: &str = "secret_id/";
pub(crate) const ACCESSOR_PREFIX: &str = "accessor/";

/// A role. No `Debug`: it holds the HMAC key of its secret IDs.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct RoleEntry {
    #[serde(flatten)]
    pub(crate) token: TokenParams,
    pub(crate) role_id: String,
    /// Key of the HMACs of this role's secret IDs (hex of 32 random bytes).
    pub(crate) hmac_key: String,
    pub(crate) bind_secret_id: bool,
    #[serde(default)]
    pub(crate) secret_id_bound_cidrs: Vec<String>,
    #[serde(default)]
    pub(crate) secret_id_num_uses: u64,
    /// Seconds; 0 = secret IDs do not expire.
    #[serde(default)]
    pub(crate) secret_id_ttl: u64,
    #[serde(default)]
    pub(crate) local_secret_ids: bool,
}

impl RoleEntry {
    /// HMAC of `value` under the role's key, hex.
    pub(crate) fn hmac(&self, value: &str) -> String {
        hex::encode(arca_crypto::hmac_sha256(
            self.hmac_key.as_bytes(),
            value.as_bytes(),
        ))
    }

    /// Where the secret ID whose HMAC is `secret_hmac` lives.
    pub(crate) fn secret_key(&self, name: &str, secret_hmac: &str) -> String {
        format!("{SECRET_PREFIX}{}/{secret_hmac}", self.hmac(name))
    }

    /// Vault's rule: a role must restrict logins somehow.
    pub(crate) fn has_constraint(&self) -> bool {
        self.bind_secret_id
            || !self.secret_id_bound_cidrs.is_empty()
            || !self.token.token_bound_cidrs.is_empty()
    }
}

/// The role ID index: which role a role ID belongs to.
#[derive(Serialize, Deserialize)]
pub(crate) struct RoleIdEntry {
    pub(crate) name: String,
}

/// A secret ID, stored under its HMAC. Times are Unix nanoseconds (0 = never).
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct SecretIdEntry {
    /// The HMAC the entry is stored under, compared in constant time on use.
    pub(crate) secret_id_hmac: String,
    pub(crate) secret_id_accessor: String,
    /// Uses left; 0 = unlimited.
    pub(crate) secret_id_num_uses: u64,
    /// Seconds, as requested (0 = no expiry).
    pub(crate) secret_id_ttl: u64,
    pub(crate) creation_time: i64,
    pub(crate) expiration_time: i64,
    pub(crate) last_updated_time: i64,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) cidr_list: Vec<String>,
    #[serde(default)]
    pub(crate) token_bound_cidrs: Vec<String>,
}

impl SecretIdEntry {
    pub(crate) fn expired(&self, now: i64) -> bool {
        self.expiration_time != 0 && now >= self.expiration_time
    }
}

/// The accessor index: which secret ID an accessor names.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccessorEntry {
    pub(crate) secret_id_hmac: String,
    pub(crate) role_hmac: String,
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, ApproleError> {
    serde_json::from_slice(raw).map_err(|_| ApproleError::Corrupt)
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, ApproleError> {
    serde_json::to_vec(v).map_err(|_| ApproleError::Encode)
}

pub(crate) async fn get<T: for<'de> Deserialize<'de>>(
    storage: &dyn Storage,
    key: &str,
) -> LogicalResult<Option<T>> {
    match storage.get(key).await? {
        Some(raw) => Ok(Some(decode(&raw)?)),
        None => Ok(None),
    }
}

/// The mount's salt, created on first use.
pub(crate) async fn load_salt(storage: &dyn Storage) -> LogicalResult<String> {
    if let Some(raw) = storage.get(SALT_KEY).await? {
        return String::from_utf8(raw).map_err(|_| ApproleError::Corrupt.into());
    }
    let fresh = hex::encode(arca_crypto::random_array::<32>().map_err(|_| ApproleError::Random)?);
    storage.put(SALT_KEY, fresh.as_bytes()).await?;
    Ok(fresh)
}

/// Index key of a value under the mount's salt, with a domain tag so a role ID and an
/// accessor never share a key.
pub(crate) fn salted(salt: &str, domain: &str, value: &str) -> String {
    hex::encode(arca_crypto::hmac_sha256(
        salt.as_bytes(),
        format!("{domain}\0{value}").as_bytes(),
    ))
}

pub(crate) fn accessor_key(salt: &str, accessor: &str) -> String {
    format!("{ACCESSOR_PREFIX}{}", salted(salt, "accessor", accessor))
}

pub(crate) fn role_id_key(salt: &str, role_id: &str) -> String {
    format!("{ROLE_ID_PREFIX}{}", salted(salt, "role_id", role_id))
}

impl Approle {
    pub(crate) async fn salt(&self) -> LogicalResult<&str> {
        self.salt
            .get_or_try_init(|| load_salt(self.storage.as_ref()))
            .await
            .map(String::as_str)
    }

    pub(crate) async fn role(&self, name: &str) -> LogicalResult<Option<RoleEntry>> {
        get(self.storage.as_ref(), &format!("{ROLE_PREFIX}{name}")).await
    }

    pub(crate) fn now_nanos(&self) -> i64 {
        arca_auth_common::unix_nanos(self.system.now())
    }
}
