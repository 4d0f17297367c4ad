//! The persisted lease record and the values the manager hands back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// `expire_time` of a lease that never expires (a token registered with a zero TTL, such as
/// a root token). Such a lease is stored and revocable but never scheduled.
pub const NEVER_EXPIRES: SystemTime = UNIX_EPOCH;

/// What a lease stands for, which decides how it is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseKind {
    /// A secret from a backend (dynamic credentials): revoked through that backend.
    Secret,
    /// A service token: revoked through the token store.
    Token,
}

/// One lease as stored under the manager's storage view.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeaseEntry {
    /// `<mount><path>/<random>` for secrets, `<token path>/<token id>` for tokens.
    pub lease_id: String,
    /// The full request path that created the lease (`database/creds/ro`).
    pub path: String,
    /// The mount the lease belongs to, with a trailing `/` (`database/`).
    pub mount_point: String,
    /// The store id of the token that owns the lease (`""` for none). For a token lease,
    /// the token itself.
    pub token_id: String,
    /// When the lease was created.
    #[serde(with = "unix_nanos")]
    pub issue_time: SystemTime,
    /// When the lease expires ([`NEVER_EXPIRES`] for a lease that does not).
    #[serde(with = "unix_nanos")]
    pub expire_time: SystemTime,
    /// When the lease was last renewed.
    #[serde(
        default,
        with = "opt_unix_nanos",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_renewal: Option<SystemTime>,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// The hard cap no renewal can pass (issue time + the mount's or system's max TTL).
    #[serde(
        default,
        with = "opt_unix_nanos",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_expire_time: Option<SystemTime>,
    /// Secret or token.
    pub kind: LeaseKind,
    /// The backend's `SecretInfo.internal_data`, handed back on renew and revoke. Never
    /// shown or logged.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal_data: Map<String, Value>,
    /// Consecutive failed revocation attempts since the lease expired.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revoke_failures: u32,
    /// The last revocation error (client-safe message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Times are stored as nanoseconds since the Unix epoch: a third of serde's default
/// `{secs_since_epoch, nanos_since_epoch}` object, which matters at 100k leases.
mod unix_nanos {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn to_nanos(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_nanos(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(UNIX_EPOCH + Duration::from_nanos(u64::deserialize(d)?))
    }
}

mod opt_unix_nanos {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&super::unix_nanos::to_nanos(*t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(|n| UNIX_EPOCH + Duration::from_nanos(n)))
    }
}

impl LeaseEntry {
    /// Whether the lease has an expiry at all.
    pub fn expires(&self) -> bool {
        self.expire_time != NEVER_EXPIRES
    }

    /// Whole seconds left before expiry at `now`; negative once expired (Vault's `ttl`
    /// field), 0 for a lease that never expires.
    pub fn ttl_secs(&self, now: SystemTime) -> i64 {
        if !self.expires() {
            return 0;
        }
        match self.expire_time.duration_since(now) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

// `internal_data` may hold credentials a backend needs for revocation: never printed.
impl std::fmt::Debug for LeaseEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseEntry")
            .field("lease_id", &self.lease_id)
            .field("path", &self.path)
            .field("mount_point", &self.mount_point)
            .field("kind", &self.kind)
            .field("issue_time", &self.issue_time)
            .field("expire_time", &self.expire_time)
            .field("last_renewal", &self.last_renewal)
            .field("renewable", &self.renewable)
            .field("max_expire_time", &self.max_expire_time)
            .field("revoke_failures", &self.revoke_failures)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// The TTL limits of the mount a lease belongs to. The core has already capped them by the
/// system's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlBounds {
    /// TTL used when the backend asks for none.
    pub default_ttl: Duration,
    /// No lease lives longer than this past its issue time, renewals included (0 = no cap).
    pub max_ttl: Duration,
}

/// The outcome of a renewal.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    /// The lease renewed.
    pub lease_id: String,
    /// Its new TTL, after capping.
    pub ttl: Duration,
    /// Whether it can be renewed again.
    pub renewable: bool,
    /// For the client, such as the max-TTL capping notice.
    pub warnings: Vec<String>,
    /// `data` of the backend's renew response, if it sent any.
    pub data: Option<Map<String, Value>>,
}
