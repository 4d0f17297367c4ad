//! Integration tests of the cert auth method through the plug-in SDK: certificates and
//! CRLs made here with rcgen, the client chain handed in as `Request::peer_certificates`
//! (what the TLS listener passes on), and a clock the tests control.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod certs;
mod login;
mod pki;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_auth_cert::CertFactory;
use arca_logical::{
    Auth, Backend, BackendConfig, Factory, LogicalError, LogicalResult, Operation, Request,
    Response, SystemView,
};
use arca_storage::{InMemStorage, StorageView};
use serde_json::{Value, json};

/// 2026-11-27T23:15:39Z.
pub const T0: i64 = 1_795_821_339;

pub struct TestSystem {
    now: Mutex<SystemTime>,
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
    r.mount_point = "auth/cert/".into();
    r.mount_type = "cert".into();
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
        let root = Arc::new(InMemStorage::new());
        let view = Arc::new(StorageView::new(root, "auth/c3r7/"));
        let clock = Arc::new(TestSystem {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(T0 as u64)),
        });
        let backend = CertFactory
            .create(BackendConfig {
                storage: view,
                system: clock.clone(),
                mount_path: "auth/cert/".into(),
                mount_accessor: "auth_cert_c3r7".into(),
                mount_type: "cert".into(),
                options: BTreeMap::new(),
            })
            .unwrap();
        Env { clock, backend }
    }

    pub fn advance(&self, d: Duration) {
        *self.clock.now.lock().unwrap() += d;
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.backend.handle(&req(op, path, data)).await
    }

    pub async fn write(&self, path: &str, data: Value) -> Option<Response> {
        match self.call(Operation::Update, path, data).await {
            Ok(r) => r,
            Err(e) => panic!("write {path}: {e:?}"),
        }
    }

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

    /// `login` presenting `chain` (DER, leaf first), optionally naming an entry.
    pub async fn login(&self, chain: &[Vec<u8>], name: Option<&str>) -> Result<Auth, String> {
        self.login_from(chain, name, None).await
    }

    pub async fn login_from(
        &self,
        chain: &[Vec<u8>],
        name: Option<&str>,
        remote: Option<&str>,
    ) -> Result<Auth, String> {
        let body = match name {
            Some(n) => json!({"name": n}),
            None => json!({}),
        };
        let mut r = req(Operation::Update, "login", body);
        r.peer_certificates = chain.to_vec();
        r.remote_addr = remote.map(|a| a.parse().unwrap());
        match self.backend.handle(&r).await {
            Ok(Some(resp)) => Ok(resp.auth.expect("login returns auth")),
            Ok(None) => panic!("login returned nothing"),
            Err(e) => Err(e.message),
        }
    }

    /// Renewal of `auth` presenting `chain`.
    pub async fn renew(&self, chain: &[Vec<u8>], auth: &Auth) -> Result<Auth, String> {
        let mut r = req(Operation::Update, "login", json!({}));
        r.peer_certificates = chain.to_vec();
        match self.backend.renew_auth(&r, auth).await {
            Ok(Some(resp)) => Ok(resp.auth.unwrap()),
            Ok(None) => panic!("renew returned nothing"),
            Err(e) => Err(e.message),
        }
    }
}
