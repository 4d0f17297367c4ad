//! The plain data the core hands to the broker, and the device description `sys/audit`
//! lists. Raw values live here only until a device HMACs them while formatting.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One request as the core saw it, with the response once there is one.
///
/// The core fills it with raw values; each device HMACs what is sensitive with its own
/// salt while formatting, so this type is never written anywhere as it is. Its `Debug`
/// prints nothing but the request id.
#[derive(Clone)]
pub struct AuditEntry {
    /// When the request was received (the record's `time`).
    pub time: SystemTime,
    /// The request id (`X-Vault-Request-Id`-style UUID).
    pub request_id: String,
    /// `create`, `read`, `update`, `delete`, `list`, ...
    pub operation: String,
    /// The full request path, without `/v1/` (`secret/data/payments`).
    pub path: String,
    /// The mount the request was routed to (`secret/`), if any.
    pub mount_point: String,
    /// The mount's type (`kv`).
    pub mount_type: String,
    /// The mount's accessor (`kv_1b2c3d4e`).
    pub mount_accessor: String,
    /// The client's address.
    pub remote_address: String,
    /// The client's port.
    pub remote_port: u16,
    /// The token the client presented, raw; HMAC'd in every record.
    pub client_token: Option<String>,
    /// The accessor of that token; HMAC'd unless the device sets `hmac_accessor=false`.
    pub client_token_accessor: String,
    /// The request body; every string leaf is HMAC'd, numbers and booleans are kept.
    pub request_data: Option<Map<String, Value>>,
    /// Request headers to record; values are HMAC'd.
    pub headers: BTreeMap<String, String>,
    /// The caller's authentication, when a token was resolved.
    pub auth: Option<AuditAuth>,
    /// The outcome; `None` in request records.
    pub response: Option<AuditResponse>,
    /// Request data keys whose string values are logged in clear (the mount's
    /// `audit_non_hmac_request_keys`).
    pub non_hmac_request_keys: Vec<String>,
    /// Response data keys whose string values are logged in clear (the mount's
    /// `audit_non_hmac_response_keys`).
    pub non_hmac_response_keys: Vec<String>,
}

impl Default for AuditEntry {
    fn default() -> Self {
        Self {
            time: SystemTime::UNIX_EPOCH,
            request_id: String::new(),
            operation: String::new(),
            path: String::new(),
            mount_point: String::new(),
            mount_type: String::new(),
            mount_accessor: String::new(),
            remote_address: String::new(),
            remote_port: 0,
            client_token: None,
            client_token_accessor: String::new(),
            request_data: None,
            headers: BTreeMap::new(),
            auth: None,
            response: None,
            non_hmac_request_keys: Vec::new(),
            non_hmac_response_keys: Vec::new(),
        }
    }
}

impl std::fmt::Debug for AuditEntry {
    // The entry carries raw tokens and secret values: only the id is printable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditEntry")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// The resolved caller (Vault's `logical.Auth` as far as audit records show it).
#[derive(Clone, Default)]
pub struct AuditAuth {
    /// The token's accessor; HMAC'd unless `hmac_accessor=false`.
    pub accessor: String,
    /// The token's display name (`userpass-alice`).
    pub display_name: String,
    /// All policies that apply.
    pub policies: Vec<String>,
    /// The token's own policies.
    pub token_policies: Vec<String>,
    /// Policies from the token's entity and groups.
    pub identity_policies: Vec<String>,
    /// The token's metadata (logged in clear, as Vault does).
    pub metadata: BTreeMap<String, String>,
    /// The entity id, if any.
    pub entity_id: String,
    /// `service`, `batch` or `default`.
    pub token_type: String,
    /// The token's TTL.
    pub token_ttl: Duration,
    /// The raw token; HMAC'd.
    pub client_token: String,
    /// The ACL outcome: allowed, and the names of the granting ACL policies.
    pub policy_results: Option<(bool, Vec<String>)>,
    /// When the token was issued.
    pub token_issue_time: Option<SystemTime>,
    /// Uses left on a use-limited token (0 when unlimited).
    pub remaining_uses: u64,
}

/// The outcome of a request.
#[derive(Clone, Default)]
pub struct AuditResponse {
    /// The HTTP status sent to the client (not part of Vault's record; kept for callers).
    pub status: u16,
    /// The response data; every string leaf is HMAC'd.
    pub data: Option<Map<String, Value>>,
    /// The auth block a login or token creation returned, rendered as in the HTTP response
    /// (`client_token`, `accessor`, `policies`, ...); `client_token` and `accessor` are
    /// HMAC'd.
    pub auth: Option<Value>,
    /// The lease id of a leased secret (logged in clear, as Vault does).
    pub secret_lease_id: String,
    /// The `wrap_info` of a wrapped response (`token`, `accessor`, `ttl`, `creation_time`,
    /// `creation_path`, `wrapped_accessor`); token and accessors are HMAC'd.
    pub wrap_info: Option<Value>,
    /// Warnings (logged in clear).
    pub warnings: Vec<String>,
    /// The error sent to the client, if the request failed. Error messages never carry
    /// request values, so it is logged in clear.
    pub error: Option<String>,
}

/// An enabled device as `sys/audit` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device type: `file`, `socket` or `syslog`.
    #[serde(rename = "type")]
    pub device_type: String,
    /// Free text.
    pub description: String,
    /// The options as given when it was enabled.
    pub options: BTreeMap<String, String>,
    /// Not replicated (kept for Vault compatibility; Arca does not replicate).
    pub local: bool,
    /// The path with a trailing slash (`file/`).
    pub path: String,
}
