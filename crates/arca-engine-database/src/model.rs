//! Stored records (JSON in the mount's barrier-encrypted storage).
//!
//! | key | record |
//! |---|---|
//! | `config/<name>` | [`ConnectionConfig`] (root credentials inside `connection_details`) |
//! | `role/<name>` | [`Role`] (dynamic) |
//! | `static-role/<name>` | [`StaticRole`]: settings and rotation state together |
//! | `static-wal/<name>` | [`RotationWal`]: a rotation begun but not yet recorded |
//! | `root-wal/<name>` | [`RootWal`]: a root rotation begun but not yet recorded |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use arca_logical::{LogicalError, LogicalResult};
use arca_storage::Storage;

pub const CONFIG: &str = "config/";
pub const ROLE: &str = "role/";
pub const STATIC_ROLE: &str = "static-role/";
pub const STATIC_WAL: &str = "static-wal/";
pub const ROOT_WAL: &str = "root-wal/";

/// A password at rest (the SDK's zeroizing, redacted string).
pub use arca_logical::SecretString as Secret;

/// `config/<name>`: a connection, in Vault's shape.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ConnectionConfig {
    pub plugin_name: String,
    #[serde(default)]
    pub plugin_version: String,
    /// Every other field of the write: `connection_url`, `username`, `password`, pool and
    /// TLS settings.
    #[serde(default)]
    pub connection_details: Map<String, Value>,
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    #[serde(default)]
    pub root_credentials_rotate_statements: Vec<String>,
    #[serde(default)]
    pub password_policy: String,
}

/// `role/<name>`: a dynamic role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Role {
    pub db_name: String,
    #[serde(default)]
    pub creation_statements: Vec<String>,
    #[serde(default)]
    pub revocation_statements: Vec<String>,
    #[serde(default)]
    pub rollback_statements: Vec<String>,
    #[serde(default)]
    pub renew_statements: Vec<String>,
    /// Seconds; 0 = the mount's default.
    #[serde(default)]
    pub default_ttl: u64,
    /// Seconds; 0 = the mount's maximum.
    #[serde(default)]
    pub max_ttl: u64,
    #[serde(default = "password_type")]
    pub credential_type: String,
    #[serde(default)]
    pub credential_config: Map<String, Value>,
}

pub fn password_type() -> String {
    "password".to_owned()
}

/// `static-role/<name>`: settings and rotation state of a static role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StaticRole {
    pub db_name: String,
    /// Account A (the only account of a plain static role).
    pub username: String,
    /// Account B of a phased role; empty for a plain one.
    #[serde(default)]
    pub username_b: String,
    /// Phased roles: how long the previous account keeps working after a rotation (s).
    #[serde(default)]
    pub grace_period: u64,
    /// Seconds; 0 when a schedule is used.
    #[serde(default)]
    pub rotation_period: u64,
    /// 5-field cron (UTC); empty when a period is used.
    #[serde(default)]
    pub rotation_schedule: String,
    /// Seconds after a schedule point during which a missed rotation still runs; 0 = until
    /// the next point.
    #[serde(default)]
    pub rotation_window: u64,
    #[serde(default)]
    pub rotation_statements: Vec<String>,
    #[serde(default = "password_type")]
    pub credential_type: String,
    #[serde(default)]
    pub credential_config: Map<String, Value>,

    // Rotation state.
    /// The current account's password.
    #[serde(default)]
    pub password: Secret,
    /// Phased roles: whether account B is the current one.
    #[serde(default)]
    pub active_b: bool,
    /// Phased roles: the previous account's password stays valid until this unix time.
    #[serde(default)]
    pub previous_valid_until: Option<i64>,
    /// Last successful rotation by Arca, unix nanoseconds.
    #[serde(default)]
    pub last_vault_rotation: Option<i128>,
    /// When the next rotation is due, unix seconds.
    #[serde(default)]
    pub next_rotation: i64,
    /// The schedule point (unix seconds) the last scheduled rotation was for; a point is
    /// never rotated twice.
    #[serde(default)]
    pub last_schedule_point: Option<i64>,
}

impl StaticRole {
    pub fn phased(&self) -> bool {
        !self.username_b.is_empty()
    }
    /// The account whose password is current.
    pub fn current_account(&self) -> &str {
        if self.phased() && self.active_b {
            &self.username_b
        } else {
            &self.username
        }
    }
    /// The other account of a phased role.
    pub fn other_account(&self) -> &str {
        if self.active_b {
            &self.username
        } else {
            &self.username_b
        }
    }
}

/// Why a rotation runs; recorded in the WAL so a resumed rotation finishes the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Role creation (the first password Arca sets).
    Create,
    /// `rotate-role/<name>`.
    Manual,
    /// `rotation_period` elapsed.
    Period,
    /// A `rotation_schedule` point.
    Schedule,
}

/// `static-wal/<name>`: written before the database is changed, removed in the same
/// transaction that records the result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotationWal {
    pub account: String,
    pub password: Secret,
    pub reason: Reason,
    /// For [`Reason::Schedule`]: the point being rotated.
    #[serde(default)]
    pub schedule_point: Option<i64>,
}

/// `root-wal/<name>`: a root password being set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootWal {
    pub password: Secret,
}

pub async fn get_json<T: serde::de::DeserializeOwned>(
    storage: &dyn Storage,
    key: &str,
) -> LogicalResult<Option<T>> {
    match storage.get(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            tracing::error!(key = %key, "stored database engine record could not be decoded");
            LogicalError::internal()
        }),
    }
}

pub fn to_json<T: Serialize>(v: &T) -> LogicalResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|_| LogicalError::internal())
}

pub async fn put_json<T: Serialize>(storage: &dyn Storage, key: &str, v: &T) -> LogicalResult<()> {
    let bytes = Zeroizing::new(to_json(v)?);
    storage.put(key, &bytes).await?;
    Ok(())
}
