//! The wiring between the token store, the lease manager, the mounts and cubbyhole.
//!
//! These parts call each other (revoking a token revokes its leases; an expired token
//! lease revokes the token; a secret lease is revoked through the backend that issued it),
//! so they are joined here, through the traits each crate exposes, after all of them exist.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use arca_expiration::{ExpirationManager, LeaseEntry, LeaseKind, LeaseRevoker, TtlBounds};
use arca_logical::{LogicalError, Operation, Request, Response, SecretInfo, SystemView};
use arca_storage::{Storage, StorageView};
use arca_token::{TokenEntry, TokenHooks, TokenStore};
use async_trait::async_trait;

use crate::mounts::{Mounts, SystemTtls};

/// Late-bound references between the parts; each is set once during unseal.
pub(crate) struct Links {
    pub(crate) tokens: OnceLock<Arc<TokenStore>>,
    pub(crate) expiration: OnceLock<Arc<ExpirationManager>>,
    pub(crate) mounts: OnceLock<Arc<Mounts>>,
    pub(crate) ttls: SystemTtls,
    /// Wrapped responses, keyed by the wrapping token's store id.
    pub(crate) wrapping: StorageView,
}

fn not_ready() -> LogicalError {
    LogicalError::internal()
}

impl Links {
    pub(crate) fn new(barrier: Arc<dyn Storage>, ttls: SystemTtls) -> Self {
        Self {
            tokens: OnceLock::new(),
            expiration: OnceLock::new(),
            mounts: OnceLock::new(),
            ttls,
            wrapping: StorageView::new(barrier, "sys/wrapping/"),
        }
    }

    fn bounds(&self) -> TtlBounds {
        TtlBounds {
            default_ttl: self.ttls.default_ttl,
            max_ttl: self.ttls.max_ttl,
        }
    }

    fn lease_request(lease: &LeaseEntry, op: Operation) -> (Request, SecretInfo) {
        let mut req = Request::new(
            String::new(),
            op,
            lease
                .path
                .strip_prefix(&lease.mount_point)
                .unwrap_or(&lease.path),
        );
        req.mount_point = lease.mount_point.clone();
        let secret = SecretInfo {
            lease_id: lease.lease_id.clone(),
            renewable: lease.renewable,
            leased: true,
            internal_data: lease.internal_data.clone(),
            ..SecretInfo::default()
        };
        (req, secret)
    }
}

#[async_trait]
impl TokenHooks for Links {
    async fn token_created(&self, e: &TokenEntry) -> Result<String, LogicalError> {
        let exp = self.expiration.get().ok_or_else(not_ready)?;
        let ttl = Duration::from_secs(e.ttl);
        exp.register_token(&e.path, &e.id, ttl, e.renewable, self.bounds())
            .await
            .map_err(|e| LogicalError::invalid(e.to_string()))
    }

    /// A login token's renewal goes by the auth method that issued it (the user or role
    /// may be gone, or its policies changed).
    async fn renew_login(
        &self,
        e: &TokenEntry,
    ) -> Result<Option<arca_logical::Auth>, LogicalError> {
        let Some(mounts) = self.mounts.get() else {
            return Ok(None);
        };
        let router = mounts.router();
        let Some(route) = router.route(&e.path) else {
            return Ok(None);
        };
        if route.kind != arca_logical::BackendKind::Credential || route.full_path == "auth/token/" {
            return Ok(None);
        }
        let relative = e.path.strip_prefix(&route.full_path).unwrap_or_default();
        let mut req = Request::new(String::new(), Operation::Update, relative);
        req.mount_point = route.full_path.clone();
        req.mount_type = route.entry.mount_type.clone();
        req.mount_accessor = route.entry.accessor.clone();
        req.caller = Some(e.caller());
        let auth = arca_logical::Auth {
            accessor: e.accessor.clone(),
            policies: e.policies.clone(),
            token_policies: e.policies.clone(),
            metadata: e.meta.clone(),
            display_name: e.display_name.clone(),
            ttl: Duration::from_secs(e.ttl),
            explicit_max_ttl: Duration::from_secs(e.explicit_max_ttl),
            period: Duration::from_secs(e.period),
            renewable: e.renewable,
            entity_id: e.entity_id.clone(),
            ..Default::default()
        };
        Ok(route
            .backend
            .renew_auth(&req, &auth)
            .await?
            .and_then(|r| r.auth))
    }

    async fn token_revoked(&self, e: &TokenEntry) -> Result<(), LogicalError> {
        if let Some(exp) = self.expiration.get() {
            exp.revoke_by_token(&e.id)
                .await
                .map_err(|e| LogicalError::invalid(e.to_string()))?;
        }
        if let Some(mounts) = self.mounts.get()
            && let Some(route) = mounts.router().route("cubbyhole/")
        {
            arca_engine_cubbyhole::destroy_token_data(route.storage.as_ref(), &e.id).await?;
        }
        self.wrapping.delete(&e.id).await?;
        Ok(())
    }
}

#[async_trait]
impl LeaseRevoker for Links {
    async fn revoke(&self, lease: &LeaseEntry) -> Result<(), LogicalError> {
        match lease.kind {
            LeaseKind::Token => {
                let tokens = self.tokens.get().ok_or_else(not_ready)?;
                tokens
                    .revoke_tree(&lease.token_id)
                    .await
                    .map_err(LogicalError::from)
            }
            LeaseKind::Secret => {
                let mounts = self.mounts.get().ok_or_else(not_ready)?;
                let router = mounts.router();
                // A mount that no longer exists has nothing left to revoke.
                let Some(route) = router.routes().find(|r| r.full_path == lease.mount_point) else {
                    return Ok(());
                };
                let (req, secret) = Self::lease_request(lease, Operation::Delete);
                route.backend.revoke(&req, &secret).await
            }
        }
    }

    async fn renew(
        &self,
        lease: &LeaseEntry,
        increment: Duration,
    ) -> Result<Option<Response>, LogicalError> {
        match lease.kind {
            LeaseKind::Token => {
                let tokens = self.tokens.get().ok_or_else(not_ready)?;
                let entry = tokens
                    .lookup_id(&lease.token_id)
                    .await?
                    .ok_or_else(|| LogicalError::invalid("invalid lease"))?;
                let (entry, _warnings) = tokens.renew_from_lease(&entry, increment).await?;
                let auth = arca_logical::Auth {
                    ttl: Duration::from_secs(entry.current_ttl),
                    renewable: entry.renewable,
                    ..Default::default()
                };
                Ok(Some(Response {
                    auth: Some(auth),
                    ..Response::default()
                }))
            }
            LeaseKind::Secret => {
                let mounts = self.mounts.get().ok_or_else(not_ready)?;
                let router = mounts.router();
                let Some(route) = router.routes().find(|r| r.full_path == lease.mount_point) else {
                    return Err(LogicalError::invalid("lease is not renewable"));
                };
                let (mut req, mut secret) = Self::lease_request(lease, Operation::Update);
                // The backend sees the requested increment, so it can move the secret's own
                // expiry (a database user's VALID UNTIL) to match the lease.
                req.data
                    .insert("increment".into(), increment.as_secs().into());
                secret.ttl = increment;
                route.backend.renew(&req, &secret).await
            }
        }
    }

    async fn token_exists(&self, token_id: &str) -> Result<bool, LogicalError> {
        let tokens = self.tokens.get().ok_or_else(not_ready)?;
        tokens
            .contains_id(token_id)
            .await
            .map_err(LogicalError::from)
    }
}

/// The clock seam shared by the lease manager and the token store.
pub(crate) struct Clock;

impl arca_expiration::Clock for Clock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The system view of the token store: the system's TTLs.
pub(crate) struct TokenSystemView(pub(crate) SystemTtls);

impl SystemView for TokenSystemView {
    fn default_lease_ttl(&self) -> Duration {
        self.0.default_ttl
    }
    fn max_lease_ttl(&self) -> Duration {
        self.0.max_ttl
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl arca_identity::MountLookup for Links {
    fn mount_by_accessor(&self, accessor: &str) -> Option<arca_identity::MountInfo> {
        let mounts = self.mounts.get()?;
        let router = mounts.router();
        let route = router.by_accessor(accessor)?;
        Some(arca_identity::MountInfo {
            mount_type: route.entry.mount_type.clone(),
            mount_path: route.full_path.clone(),
            local: route.entry.local,
        })
    }
}
