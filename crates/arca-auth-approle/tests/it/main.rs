//! Integration tests of the AppRole method through the plug-in SDK only: hand-built
//! requests, an in-memory store behind a prefix view, and a clock the tests move.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod login;
mod roles;
mod secret_ids;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_auth_approle::ApproleFactory;
use arca_logical::{
    Auth, Backend, BackendConfig, Factory, LogicalError, LogicalResult, Operation, Request,
    Response, SystemView,
};
use arca_storage::{InMemStorage, Storage, StorageView};
use serde_json::{Map, Value, json};

pub const T0: u64 = 1_795_821_339;

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
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(T0)),
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

pub const VIEW_PREFIX: &str = "auth/3c5e0a7b/";

pub struct Env {
    pub root: Arc<InMemStorage>,
    pub view: Arc<StorageView>,
    pub clock: Arc<TestSystem>,
    pub backend: Arc<dyn Backend>,
    pub remote: SocketAddr,
}

impl Env {
    pub async fn new() -> Env {
        Env::with_options(&[]).await
    }

    pub async fn with_options(options: &[(&str, &str)]) -> Env {
        let root = Arc::new(InMemStorage::new());
        let view = Arc::new(StorageView::new(root.clone(), VIEW_PREFIX));
        let clock = Arc::new(TestSystem::new());
        let options: BTreeMap<String, String> = options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let backend = ApproleFactory
            .create(BackendConfig {
                storage: view.clone(),
                system: clock.clone(),
                mount_path: "auth/approle/".to_owned(),
                mount_accessor: "auth_approle_5e6f7a8b".to_owned(),
                mount_type: "approle".to_owned(),
                options,
            })
            .unwrap();
        backend.initialize().await.unwrap();
        Env {
            root,
            view,
            clock,
            backend,
            remote: "127.0.0.1:51000".parse().unwrap(),
        }
    }

    pub fn request(&self, op: Operation, path: &str, body: Value) -> Request {
        let mut r = Request::new("req-1", op, path);
        r.mount_point = "auth/approle/".to_owned();
        r.mount_type = "approle".to_owned();
        r.mount_accessor = "auth_approle_5e6f7a8b".to_owned();
        r.remote_addr = Some(self.remote);
        if let Value::Object(m) = body {
            r.data = m;
        }
        r
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> LogicalResult<Option<Response>> {
        let mut req = self.request(op, path, body);
        // As the core does: a write to something that does not exist is a create.
        if req.operation == Operation::Update && self.backend.exists(&req).await? == Some(false) {
            req.operation = Operation::Create;
        }
        self.backend.handle(&req).await
    }

    pub async fn write(&self, path: &str, body: Value) -> LogicalResult<Option<Response>> {
        self.call(Operation::Update, path, body).await
    }

    pub async fn read(&self, path: &str) -> LogicalResult<Option<Response>> {
        self.call(Operation::Read, path, json!({})).await
    }

    pub async fn list(&self, path: &str) -> LogicalResult<Option<Response>> {
        self.call(Operation::List, path, json!({})).await
    }

    pub async fn delete(&self, path: &str) -> LogicalResult<Option<Response>> {
        self.call(Operation::Delete, path, json!({})).await
    }

    pub async fn data(&self, path: &str) -> Map<String, Value> {
        self.read(path).await.unwrap().unwrap().data.unwrap()
    }

    /// A login from `self.remote`; the `auth` on success.
    pub async fn login(&self, role_id: &str, secret_id: &str) -> Result<Auth, LogicalError> {
        let resp = self
            .write("login", json!({"role_id": role_id, "secret_id": secret_id}))
            .await?
            .expect("login answers");
        Ok(resp.auth.expect("login returns auth"))
    }

    /// Creates a role with `body` and returns its role ID.
    pub async fn create_role(&self, name: &str, body: Value) -> String {
        let resp = self.write(&format!("role/{name}"), body).await.unwrap();
        assert!(
            resp.is_none() || resp.as_ref().unwrap().data.is_none(),
            "{resp:?}"
        );
        self.data(&format!("role/{name}/role-id")).await["role_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Generates a secret ID; returns the whole `data`.
    pub async fn secret(&self, role: &str, body: Value) -> Map<String, Value> {
        self.write(&format!("role/{role}/secret-id"), body)
            .await
            .unwrap()
            .unwrap()
            .data
            .unwrap()
    }

    /// Every stored value under the mount, for checks that secrets are not stored.
    pub async fn all_values(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            for k in self.view.list(&folder).await.unwrap() {
                let full = format!("{folder}{k}");
                if k.ends_with('/') {
                    pending.push(full);
                } else {
                    let v = self.view.get(&full).await.unwrap().unwrap();
                    out.push((full, v));
                }
            }
        }
        out
    }
}

pub fn s(m: &Map<String, Value>, k: &str) -> String {
    m[k].as_str().unwrap().to_owned()
}

pub fn keys(resp: &Response) -> Vec<String> {
    resp.data.as_ref().unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
pub fn assert_invalid(r: Result<impl std::fmt::Debug, LogicalError>, msg: &str) {
    let e = r.expect_err("expected an error");
    assert_eq!(e.kind, arca_logical::ErrorKind::InvalidRequest, "{e:?}");
    assert_eq!(e.message, msg);
}
