//! Parts of a response the core acts on: tokens to create, leases to register, wrapping.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

/// How a response envelope is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Vault's normal rules (200 with content, 204 without, 404 for empty reads/lists).
    #[default]
    Normal,
    /// A full envelope with status 404 (KV v2 deleted or destroyed version).
    NotFound,
    /// A full envelope with status 400 (batch operations where an item failed).
    BadRequest,
    /// A full envelope with status 202: work accepted and continuing in the background
    /// (tidy, asynchronous revocation).
    Accepted,
}

/// Service tokens are stored; batch tokens are self-contained and never stored.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// A stored, renewable, revocable token.
    #[default]
    Service,
    /// An encrypted, self-contained token.
    Batch,
}

impl TokenType {
    /// `service` or `batch`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Service => "service",
            TokenType::Batch => "batch",
        }
    }
}

/// The identity an auth method vouches for, from which the core creates or finds an entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alias {
    /// The name within the auth mount (a username, a role's subject).
    pub name: String,
    /// Metadata copied to the alias.
    pub metadata: BTreeMap<String, String>,
}

/// A token: what an auth method asks the core to create, and what the core renders
/// back as the `auth` block once created.
#[derive(Clone, Default, PartialEq)]
pub struct Auth {
    /// Set by the core: the new token. Rendered once, to the client that logged in.
    pub client_token: String,
    /// Set by the core: the token's accessor.
    pub accessor: String,
    /// Policies from the auth method (before `default` is added).
    pub policies: Vec<String>,
    /// Set by the core: the policies attached to the token.
    pub token_policies: Vec<String>,
    /// Set by the core: policies inherited through identity groups.
    pub identity_policies: Vec<String>,
    /// Token metadata (`auth.metadata`).
    pub metadata: BTreeMap<String, String>,
    /// Display name (prefixed with the mount's name by the core).
    pub display_name: String,
    /// Requested TTL (0 = the mount default).
    pub ttl: Duration,
    /// Maximum TTL for renewals (0 = the mount maximum).
    pub max_ttl: Duration,
    /// Hard cap that renewals can never pass (0 = none).
    pub explicit_max_ttl: Duration,
    /// Periodic token: every renewal resets the TTL to this (0 = not periodic).
    pub period: Duration,
    /// Uses before the token dies (0 = unlimited).
    pub num_uses: u64,
    /// Whether the token can be renewed.
    pub renewable: bool,
    /// Service or batch.
    pub token_type: TokenType,
    /// Whether the method asked for `token_type` explicitly (a role's `service` or
    /// `batch`). When false the mount's tuning decides: `default-batch` makes a batch
    /// token (Vault's `default` token type, which a mount's `default-*` may override).
    pub token_type_explicit: bool,
    /// Whether the new token should not get the `default` policy.
    pub no_default_policy: bool,
    /// CIDR blocks the token may be used from.
    pub bound_cidrs: Vec<String>,
    /// The identity alias the login vouches for.
    pub alias: Option<Alias>,
    /// External group names the login vouches for (Vault's `GroupAliases`, e.g. a JWT's
    /// `groups_claim`): the core makes the entity a member of the external groups that
    /// have an alias with one of these names on the mount.
    pub group_aliases: Vec<Alias>,
    /// Set by the core: the entity behind the token (`""` when none).
    pub entity_id: String,
    /// Set by the core: whether the token has no parent.
    pub orphan: bool,
    /// Backend data kept with the token and handed back on renewal (never shown).
    pub internal_data: Map<String, Value>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field(
                "client_token",
                &if self.client_token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("accessor", &self.accessor)
            .field("policies", &self.policies)
            .field("ttl", &self.ttl)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// A secret with a lease: the core registers it and revokes it through the backend when
/// it expires or is revoked.
#[derive(Clone, Default, PartialEq)]
pub struct SecretInfo {
    /// Set by the core: `<mount><path>/<id>`.
    pub lease_id: String,
    /// Lease TTL requested by the backend (0 = the mount default).
    pub ttl: Duration,
    /// Maximum TTL for renewals (0 = the mount maximum).
    pub max_ttl: Duration,
    /// Whether the lease can be renewed.
    pub renewable: bool,
    /// Whether a lease is registered at all. `false` reports `ttl` as `lease_duration`
    /// with no lease id (KV v1's `ttl`).
    pub leased: bool,
    /// Data the backend needs to renew or revoke (a database user name); never shown.
    pub internal_data: Map<String, Value>,
}

impl std::fmt::Debug for SecretInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretInfo")
            .field("lease_id", &self.lease_id)
            .field("ttl", &self.ttl)
            .field("renewable", &self.renewable)
            .field("leased", &self.leased)
            .finish_non_exhaustive()
    }
}

/// Response-wrapping information, set by the core.
#[derive(Clone, Default, PartialEq)]
pub struct WrapInfo {
    /// The single-use wrapping token.
    pub token: String,
    /// The wrapping token's accessor.
    pub accessor: String,
    /// Wrapping TTL.
    pub ttl: Duration,
    /// RFC 3339 creation time.
    pub creation_time: String,
    /// The path whose response was wrapped.
    pub creation_path: String,
    /// Accessor of a wrapped token, when the wrapped response was a login.
    pub wrapped_accessor: String,
}

impl std::fmt::Debug for WrapInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapInfo")
            .field("accessor", &self.accessor)
            .field("ttl", &self.ttl)
            .field("creation_path", &self.creation_path)
            .finish_non_exhaustive()
    }
}
