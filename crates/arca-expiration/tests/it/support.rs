//! A fake core: a revoker that records calls, fails on demand and plays a tiny token store.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_expiration::{
    ExpirationConfig, ExpirationManager, LeaseEntry, LeaseKind, LeaseRevoker, ManualClock,
    TtlBounds,
};
use arca_logical::{LogicalError, Operation, Request, Response, SecretInfo};
use arca_storage::{InMemStorage, Storage, StorageView};
use async_trait::async_trait;
use serde_json::{Map, Value};

#[derive(Default)]
pub struct FakeRevoker {
    pub revoked: Mutex<Vec<String>>,
    pub renewed: Mutex<Vec<(String, Duration)>>,
    pub fail_all: AtomicBool,
    pub fail: Mutex<HashSet<String>>,
    pub renew_response: Mutex<Option<Response>>,
    pub dead_tokens: Mutex<HashSet<String>>,
    /// token id → child token ids, for the cascade of a token revocation.
    pub children: Mutex<HashMap<String, Vec<String>>>,
    pub manager: Mutex<Weak<ExpirationManager>>,
}

impl FakeRevoker {
    pub fn revoked(&self) -> Vec<String> {
        self.revoked.lock().unwrap().clone()
    }
    pub fn revoked_count(&self, id: &str) -> usize {
        self.revoked
            .lock()
            .unwrap()
            .iter()
            .filter(|r| *r == id)
            .count()
    }
    pub fn set_fail_all(&self, on: bool) {
        self.fail_all.store(on, Ordering::SeqCst);
    }

    /// The token store's revocation: children first, then the token's own leases.
    fn revoke_token<'a>(
        &'a self,
        m: &'a Arc<ExpirationManager>,
        token: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), LogicalError>> + Send + 'a>>
    {
        Box::pin(async move {
            let kids = self
                .children
                .lock()
                .unwrap()
                .remove(token)
                .unwrap_or_default();
            for kid in kids {
                self.revoke_token(m, &kid).await?;
            }
            m.revoke_by_token(token).await.map_err(LogicalError::from)
        })
    }
}

#[async_trait]
impl LeaseRevoker for FakeRevoker {
    async fn revoke(&self, lease: &LeaseEntry) -> Result<(), LogicalError> {
        if self.fail_all.load(Ordering::SeqCst)
            || self.fail.lock().unwrap().contains(&lease.lease_id)
        {
            return Err(LogicalError::invalid("backend unreachable"));
        }
        self.revoked.lock().unwrap().push(lease.lease_id.clone());
        if lease.kind == LeaseKind::Token {
            let m = self.manager.lock().unwrap().upgrade();
            if let Some(m) = m {
                self.revoke_token(&m, &lease.token_id).await?;
            }
        }
        Ok(())
    }

    async fn renew(
        &self,
        lease: &LeaseEntry,
        increment: Duration,
    ) -> Result<Option<Response>, LogicalError> {
        self.renewed
            .lock()
            .unwrap()
            .push((lease.lease_id.clone(), increment));
        Ok(self.renew_response.lock().unwrap().clone())
    }

    async fn token_exists(&self, token_id: &str) -> Result<bool, LogicalError> {
        Ok(!self.dead_tokens.lock().unwrap().contains(token_id))
    }
}

pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn bounds(default: u64, max: u64) -> TtlBounds {
    TtlBounds {
        default_ttl: secs(default),
        max_ttl: secs(max),
    }
}

pub fn secret(ttl: u64, renewable: bool) -> SecretInfo {
    let mut internal = Map::new();
    internal.insert("username".into(), Value::String("v-user".into()));
    SecretInfo {
        ttl: secs(ttl),
        renewable,
        leased: true,
        internal_data: internal,
        ..SecretInfo::default()
    }
}

pub fn manual_config() -> ExpirationConfig {
    ExpirationConfig {
        background: false,
        ..ExpirationConfig::default()
    }
}

pub struct Env {
    pub physical: Arc<InMemStorage>,
    pub clock: Arc<ManualClock>,
    pub revoker: Arc<FakeRevoker>,
    pub m: Arc<ExpirationManager>,
}

impl Env {
    pub async fn new() -> Self {
        Self::with(
            Arc::new(InMemStorage::new()),
            Arc::new(ManualClock::new(t0())),
            manual_config(),
        )
        .await
    }

    pub async fn with(
        physical: Arc<InMemStorage>,
        clock: Arc<ManualClock>,
        config: ExpirationConfig,
    ) -> Self {
        let view: Arc<dyn Storage> = Arc::new(StorageView::new(
            physical.clone() as Arc<dyn Storage>,
            "sys/expire/",
        ));
        let revoker = Arc::new(FakeRevoker::default());
        let m = ExpirationManager::start_with(view, revoker.clone(), clock.clone(), config)
            .await
            .unwrap();
        *revoker.manager.lock().unwrap() = Arc::downgrade(&m);
        m.wait_loaded().await.unwrap();
        Self {
            physical,
            clock,
            revoker,
            m,
        }
    }

    /// A second manager over the same storage, as after a restart.
    pub async fn restart(&self) -> Self {
        self.m.stop().await;
        Self::with(self.physical.clone(), self.clock.clone(), manual_config()).await
    }

    pub async fn secret(&self, mount: &str, path: &str, token: &str, ttl: u64) -> String {
        let mut s = secret(ttl, true);
        self.m
            .register_secret(mount, path, token, &mut s, bounds(3600, 86400))
            .await
            .unwrap();
        s.lease_id
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn sys(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<Option<Response>, LogicalError> {
        let mut req = Request::new("req", op, format!("sys/{path}"));
        if let Value::Object(m) = data {
            req.data = m;
        }
        self.m.handle_sys(path, &req).await
    }
}
