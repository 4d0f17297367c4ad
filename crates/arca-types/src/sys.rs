//! Bodies of the non-logical `sys/` endpoints, which answer bare JSON objects (no envelope):
//! init, seal-status, unseal, health, leader, and the legacy rekey / generate-root shapes.
//! The authenticated OpenBao forms (`sys/rotate/root/*`, `sys/generate-root-token/*`) put
//! the same fields under the envelope's `data`.

use serde::{Deserialize, Serialize};

/// `PUT sys/init` request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InitRequest {
    /// Number of unseal key shares.
    #[serde(default)]
    pub secret_shares: Option<u64>,
    /// Shares needed to unseal.
    #[serde(default)]
    pub secret_threshold: Option<u64>,
    /// PGP keys to encrypt the shares with (not supported by Arca).
    #[serde(default)]
    pub pgp_keys: Option<Vec<String>>,
    /// PGP key for the root token (not supported by Arca).
    #[serde(default)]
    pub root_token_pgp_key: Option<String>,
    /// Recovery shares (auto-unseal only).
    #[serde(default)]
    pub recovery_shares: Option<u64>,
    /// Recovery threshold (auto-unseal only).
    #[serde(default)]
    pub recovery_threshold: Option<u64>,
    /// Recovery PGP keys (not supported by Arca).
    #[serde(default)]
    pub recovery_pgp_keys: Option<Vec<String>>,
    /// Legacy HSM option, accepted when it equals `secret_shares` or is absent.
    #[serde(default)]
    pub stored_shares: Option<u64>,
}

/// `PUT sys/init` response. These are the one-time outputs: shares and the root token.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct InitResponse {
    /// Unseal key shares, hex.
    pub keys: Vec<String>,
    /// The same shares, standard base64.
    pub keys_base64: Vec<String>,
    /// Recovery key shares (auto-unseal only), hex.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_keys: Vec<String>,
    /// Recovery key shares, base64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_keys_base64: Vec<String>,
    /// The initial root token.
    pub root_token: String,
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitResponse")
            .field("shares", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// `GET sys/init` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitStatus {
    /// Whether the server has been initialised.
    pub initialized: bool,
}

/// `PUT sys/unseal` request.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct UnsealRequest {
    /// One unseal key share, hex or base64.
    #[serde(default)]
    pub key: Option<String>,
    /// Discards the shares given so far.
    #[serde(default)]
    pub reset: Option<bool>,
    /// Seal migration (not supported yet).
    #[serde(default)]
    pub migrate: Option<bool>,
}

impl std::fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsealRequest")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("reset", &self.reset)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// `GET sys/seal-status`, and the answer of every `sys/unseal`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SealStatus {
    /// Seal type: `shamir`, or the auto-unseal seal's (`transit`).
    #[serde(rename = "type")]
    pub seal_type: String,
    /// Whether the server has been initialised.
    pub initialized: bool,
    /// Whether the barrier is sealed.
    pub sealed: bool,
    /// Threshold.
    pub t: u64,
    /// Number of shares.
    pub n: u64,
    /// Shares given in the current unseal attempt.
    pub progress: u64,
    /// The current unseal attempt's nonce, `""` when none.
    pub nonce: String,
    /// Server version.
    pub version: String,
    /// Build date (RFC 3339); OpenBao's name for it.
    pub commit_date: String,
    /// Whether a seal migration is in progress.
    pub migration: bool,
    /// Cluster name, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Cluster id, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// Whether recovery keys are in use (auto-unseal).
    pub recovery_seal: bool,
    /// The kind of the recovery shares (`shamir`), with an auto-unseal seal only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_seal_type: Option<String>,
    /// Storage backend name.
    pub storage_type: String,
}

/// `GET sys/health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HealthResponse {
    /// Whether the server has been initialised.
    pub initialized: bool,
    /// Whether the barrier is sealed.
    pub sealed: bool,
    /// Whether this node is a standby (also true while sealed).
    pub standby: bool,
    /// Replication mode: `disabled`, or `unknown` while sealed.
    pub replication_performance_mode: String,
    /// DR replication mode.
    pub replication_dr_mode: String,
    /// Unix time on the server.
    pub server_time_utc: i64,
    /// Server version.
    pub version: String,
    /// Cluster name, when unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Cluster id, when unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// `GET sys/leader`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LeaderResponse {
    /// Whether HA is enabled.
    pub ha_enabled: bool,
    /// Whether this node is the leader (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
    /// Leader api address (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_address: Option<String>,
    /// Leader cluster address (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_cluster_address: Option<String>,
}

/// Progress of a root-token generation (legacy bare shape and `data` of the OpenBao path).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GenerateRootStatus {
    /// Attempt nonce.
    pub nonce: String,
    /// Whether an attempt is in progress.
    pub started: bool,
    /// Shares given so far.
    pub progress: u64,
    /// Shares required.
    pub required: u64,
    /// Whether the token has been generated.
    pub complete: bool,
    /// The new root token XOR the OTP, base64 without padding (only when complete).
    pub encoded_token: String,
    /// Same as `encoded_token` (legacy field name).
    pub encoded_root_token: String,
    /// PGP fingerprint (unused: PGP is not supported).
    pub pgp_fingerprint: String,
    /// The one-time pad generated by the server at init (returned once).
    pub otp: String,
    /// Expected OTP length.
    pub otp_length: u64,
}

/// Progress of a rekey (legacy bare shape and `data` of `sys/rotate/root/init`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RekeyStatus {
    /// Attempt nonce.
    pub nonce: String,
    /// Whether a rekey is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u64,
    /// New number of shares.
    pub n: u64,
    /// Current shares given so far.
    pub progress: u64,
    /// Current shares required.
    pub required: u64,
    /// PGP fingerprints (unused).
    pub pgp_fingerprints: Option<Vec<String>>,
    /// Backup of PGP-encrypted keys (unused).
    pub backup: bool,
    /// Whether the new shares must be verified before they take effect.
    pub verification_required: bool,
    /// Nonce of the verification phase, once it started.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

/// The answer to a rekey update: progress, or the new shares once complete.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct RekeyUpdateResponse {
    /// Attempt nonce.
    pub nonce: String,
    /// Whether the rekey completed (new shares below).
    pub complete: bool,
    /// New shares, hex.
    #[serde(default)]
    pub keys: Vec<String>,
    /// New shares, base64.
    #[serde(default)]
    pub keys_base64: Vec<String>,
    /// PGP fingerprints (unused).
    pub pgp_fingerprints: Option<Vec<String>>,
    /// Backup (unused).
    pub backup: bool,
    /// Whether the new shares must now be verified.
    pub verification_required: bool,
    /// Nonce for the verification phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

impl std::fmt::Debug for RekeyUpdateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekeyUpdateResponse")
            .field("complete", &self.complete)
            .field("shares", &self.keys.len())
            .finish_non_exhaustive()
    }
}
