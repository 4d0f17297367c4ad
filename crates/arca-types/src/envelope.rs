//! The Vault response envelope and error body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every logical response with content. Field order and `null`s match OpenBao's output.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResponseEnvelope {
    /// A fresh UUID per request; `""` on wrapped responses.
    pub request_id: String,
    /// `""` unless the response is a leased secret.
    #[serde(default)]
    pub lease_id: String,
    /// Whether the lease can be renewed.
    #[serde(default)]
    pub renewable: bool,
    /// Lease TTL in seconds.
    #[serde(default)]
    pub lease_duration: u64,
    /// The payload, `null` when there is none.
    #[serde(default)]
    pub data: Option<Value>,
    /// Response-wrapping information, `null` unless wrapped.
    #[serde(default)]
    pub wrap_info: Option<Value>,
    /// Warnings, `null` (not `[]`) when there are none.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// Authentication result on logins, token creation and renewal.
    #[serde(default)]
    pub auth: Option<Value>,
}

/// The error body: `{"errors":[...]}`, optionally with `data` when a failing backend
/// response carried some.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// Human-readable messages; empty for bare 404/405.
    pub errors: Vec<String>,
    /// Extra data a failing response carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorBody {
    /// An error body with one message.
    pub fn one(message: impl Into<String>) -> Self {
        Self {
            errors: vec![message.into()],
            data: None,
        }
    }
}

/// Paths whose `data` keys are also copied to the top level of the response, for old
/// clients (hvac reads `sys/mounts` and `sys/policy/<name>` there). `*` matches any suffix.
pub const LEGACY_TOP_LEVEL_PATHS: &[&str] = &[
    "sys/audit",
    "sys/audit/*",
    "sys/audit-hash/*",
    "sys/auth",
    "sys/auth/*",
    "sys/config/cors",
    "sys/config/auditing/request-headers",
    "sys/config/auditing/request-headers/*",
    "sys/capabilities",
    "sys/capabilities-accessor",
    "sys/capabilities-self",
    "sys/ha-status",
    "sys/key-status",
    "sys/mounts",
    "sys/mounts/*",
    "sys/policy",
    "sys/policy/*",
    "sys/rekey/backup",
    "sys/rekey/recovery-key-backup",
    "sys/rotate/root/backup",
    "sys/rotate/recovery/backup",
    "sys/remount",
    "sys/rotate",
    "sys/rotate/keyring",
    "sys/wrapping/wrap",
];

/// Whether `path` (canonical, without `/v1/`) is one of [`LEGACY_TOP_LEVEL_PATHS`].
pub fn is_legacy_top_level(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    LEGACY_TOP_LEVEL_PATHS
        .iter()
        .any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == *p,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_paths() {
        assert!(is_legacy_top_level("sys/mounts"));
        assert!(is_legacy_top_level("sys/mounts/secret/tune"));
        assert!(is_legacy_top_level("sys/key-status"));
        assert!(!is_legacy_top_level("sys/policies/acl/x"));
        assert!(!is_legacy_top_level("sys/mountsx"));
    }
}
