//! Integration tests of the userpass method through the plug-in SDK only: hand-built
//! requests, an in-memory store behind a prefix view, and a clock the tests move.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lockout;
mod login;
mod users;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_auth_userpass::UserpassFactory;
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
        let backend = UserpassFactory
            .create(BackendConfig {
                storage: view.clone(),
                system: clock.clone(),
                mount_path: "auth/userpass/".to_owned(),
                mount_accessor: "auth_userpass_1a2b3c4d".to_owned(),
                mount_type: "userpass".to_owned(),
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
        r.mount_point = "auth/userpass/".to_owned();
        r.mount_type = "userpass".to_owned();
        r.mount_accessor = "auth_userpass_1a2b3c4d".to_owned();
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
    pub async fn login(&self, user: &str, password: &str) -> Result<Auth, LogicalError> {
        let resp = self
            .write(&format!("login/{user}"), json!({"password": password}))
            .await?
            .expect("login answers");
        Ok(resp.auth.expect("login returns auth"))
    }

    pub async fn create_user(&self, user: &str, password: &str, extra: Value) {
        let mut body = json!({"password": password});
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        assert_eq!(
            self.write(&format!("users/{user}"), body).await.unwrap(),
            None
        );
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
