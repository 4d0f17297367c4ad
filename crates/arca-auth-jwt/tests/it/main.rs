//! Integration tests of the JWT/OIDC auth method through the plug-in SDK: hand-built
//! requests, in-memory storage, a clock the tests control, tokens minted here from local
//! keys, and local HTTP(S) servers standing in for JWKS endpoints, OIDC discovery and an
//! OIDC provider's authorize and token endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config_roles;
mod keys;
mod login;
mod oidc_flow;
mod provider;
mod recipes;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_auth_jwt::JwtFactory;
use arca_logical::{
    Auth, Backend, BackendConfig, Factory, LogicalError, LogicalResult, Operation, Request,
    Response, SystemView,
};
use arca_storage::{InMemStorage, StorageView};
use serde_json::{Value, json};

/// 2026-11-27T23:15:39Z: the mount's clock starts here.
pub const T0: i64 = 1_795_821_339;

/// A system view whose clock only moves when a test moves it.
pub struct TestSystem {
    now: Mutex<SystemTime>,
}

impl Default for TestSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSystem {
    pub fn new() -> Self {
        Self {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(T0 as u64)),
        }
    }
    pub fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }
}

impl SystemView for TestSystem {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
}

pub struct Env {
    pub clock: Arc<TestSystem>,
    pub backend: Arc<dyn Backend>,
}

pub fn req(op: Operation, path: &str, data: Value) -> Request {
    let mut r = Request::new("req-1", op, path);
    r.mount_point = "auth/jwt/".into();
    r.mount_type = "jwt".into();
    if let Value::Object(m) = data {
        r.data = m;
    }
    r
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Self::with_type(JwtFactory::JWT)
    }

    pub fn with_type(factory: JwtFactory) -> Env {
        let root = Arc::new(InMemStorage::new());
        let view = Arc::new(StorageView::new(root, "auth/0a1b2c/"));
        let clock = Arc::new(TestSystem::new());
        let backend = factory
            .create(BackendConfig {
                storage: view,
                system: clock.clone(),
                mount_path: "auth/jwt/".into(),
                mount_accessor: "auth_jwt_0a1b2c".into(),
                mount_type: factory.type_name().into(),
                options: BTreeMap::new(),
            })
            .unwrap();
        Env { clock, backend }
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.backend.handle(&req(op, path, data)).await
    }

    /// A write that must succeed (204 or warnings).
    pub async fn write(&self, path: &str, data: Value) -> Option<Response> {
        match self.call(Operation::Update, path, data).await {
            Ok(r) => r,
            Err(e) => panic!("write {path}: {e:?}"),
        }
    }

    /// A request that must fail; returns the message.
    pub async fn fails(&self, op: Operation, path: &str, data: Value) -> LogicalError {
        match self.call(op, path, data).await {
            Err(e) => e,
            Ok(r) => panic!("{op:?} {path}: expected an error, got {r:?}"),
        }
    }

    pub async fn read(&self, path: &str) -> serde_json::Map<String, Value> {
        match self.call(Operation::Read, path, json!({})).await {
            Ok(Some(r)) => r.data.unwrap(),
            other => panic!("read {path}: {other:?}"),
        }
    }

    /// `login` with `role` and `jwt`; the `auth` on success.
    pub async fn login(&self, role: &str, jwt: &str) -> Result<Auth, String> {
        self.login_from(role, jwt, None).await
    }

    pub async fn login_from(
        &self,
        role: &str,
        jwt: &str,
        remote: Option<&str>,
    ) -> Result<Auth, String> {
        let mut r = req(
            Operation::Update,
            "login",
            json!({"role": role, "jwt": jwt}),
        );
        r.remote_addr = remote.map(|a| a.parse().unwrap());
        match self.backend.handle(&r).await {
            Ok(Some(resp)) => Ok(resp.auth.expect("login returns auth")),
            Ok(None) => panic!("login returned nothing"),
            Err(e) => Err(e.message),
        }
    }
}

/// Standard claims valid at the test clock.
pub fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": "https://issuer.example",
        "sub": "user-1",
        "aud": "arca",
        "iat": T0 - 10,
        "nbf": T0 - 10,
        "exp": T0 + 300,
        "email": "alice@example.com",
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut c, extra) {
        for (k, v) in extra {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    c
}
