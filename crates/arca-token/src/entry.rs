//! The stored description of one token.

use std::collections::BTreeMap;

use arca_logical::{Caller, TokenType};
use serde::{Deserialize, Serialize};

/// Everything the store knows about a token. It never holds the token itself: `id` is the
/// token's salted hash, a stable and non-secret handle (cubbyhole scopes storage by it).
///
/// Times: `creation_time` is unix **seconds** (as Vault shows it); `issue_time`,
/// `expire_time` and `last_renewal_time` are unix **nanoseconds**.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenEntry {
    /// HMAC-SHA-256(salt, token), hex: the storage id, never the token.
    pub id: String,
    /// Public handle for lookups and revocation without the token (`""` for batch tokens).
    pub accessor: String,
    /// The parent's id; `None` for orphans.
    #[serde(default)]
    pub parent: Option<String>,
    /// Attached policies, normalised, sorted and deduplicated.
    pub policies: Vec<String>,
    /// The path that created the token (`auth/token/create`, `auth/userpass/login/alice`).
    pub path: String,
    /// Metadata (`auth.metadata`, lookup `meta`).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Shown in lookups and audit records.
    pub display_name: String,
    /// Uses left; 0 = unlimited.
    #[serde(default)]
    pub num_uses: u64,
    /// Creation time, unix seconds.
    pub creation_time: i64,
    /// TTL at creation, seconds (lookup `creation_ttl`); 0 = never expires (root).
    pub ttl: u64,
    /// Hard cap on the lifetime from the issue time, seconds; 0 = none.
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// Periodic token: every renewal grants this many seconds; 0 = not periodic.
    #[serde(default)]
    pub period: u64,
    /// Whether the token may be renewed.
    #[serde(default)]
    pub renewable: bool,
    /// The token role it was created against, `""` when none.
    #[serde(default)]
    pub role: String,
    /// Service or batch.
    #[serde(default)]
    pub token_type: TokenType,
    /// The entity behind the token, `""` when none.
    #[serde(default)]
    pub entity_id: String,
    /// CIDR blocks the token may be used from (canonical form, hosts without `/32`).
    #[serde(default)]
    pub bound_cidrs: Vec<String>,
    /// When the token expires, unix nanoseconds; `None` = never (root tokens).
    #[serde(default)]
    pub expire_time: Option<i64>,
    /// Whether the token has no parent (always `parent.is_none()`).
    #[serde(default)]
    pub orphan: bool,
    /// The token's lease in the expiration manager, `""` for none.
    #[serde(default)]
    pub lease_id: String,
    /// When the token was issued, unix nanoseconds (lookup `issue_time`).
    #[serde(default)]
    pub issue_time: i64,
    /// Last renewal, unix nanoseconds.
    #[serde(default)]
    pub last_renewal_time: Option<i64>,
    /// The TTL granted at creation or by the last renewal, seconds: what a renewal with
    /// increment 0 grants again.
    #[serde(default)]
    pub current_ttl: u64,
    /// Login tokens: the auth mount's effective maximum TTL at login, seconds (renewals
    /// never pass it); 0 = the token store's mount maximum.
    #[serde(default)]
    pub max_ttl: u64,
    /// The token is being revoked, or is serving its last allowed use: it no longer
    /// authenticates (lookups show `num_uses: -1`, as Vault does).
    #[serde(default)]
    pub revocation_pending: bool,
}

impl TokenEntry {
    /// Whether the token carries the `root` policy.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    /// Whether this is a batch token.
    pub fn is_batch(&self) -> bool {
        self.token_type == TokenType::Batch
    }

    /// Whether the token has expired at `now_nanos`.
    pub fn is_expired_at(&self, now_nanos: i64) -> bool {
        self.expire_time.is_some_and(|e| e <= now_nanos)
    }

    /// The identity the core attaches to a request made with this token.
    pub fn caller(&self) -> Caller {
        Caller {
            token_id: self.id.clone(),
            accessor: self.accessor.clone(),
            policies: self.policies.clone(),
            display_name: self.display_name.clone(),
            entity_id: self.entity_id.clone(),
            metadata: self.meta.clone(),
            token_type: self.token_type,
            is_root: self.is_root(),
            orphan: self.parent.is_none(),
        }
    }

    /// `num_uses` as Vault shows it: -1 while the last use is being served.
    pub(crate) fn shown_num_uses(&self) -> i64 {
        if self.revocation_pending {
            -1
        } else {
            i64::try_from(self.num_uses).unwrap_or(i64::MAX)
        }
    }
}
