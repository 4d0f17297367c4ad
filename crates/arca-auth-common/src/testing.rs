//! Test helpers for auth methods (feature `test-support`, dev-only): a mounted backend
//! driven through the plug-in SDK with hand-built requests, an in-memory store behind a
//! prefix view, and a clock that only moves when a test moves it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_logical::{
    Backend, BackendConfig, ErrorKind, Factory, LogicalError, LogicalResult, Operation, Request,
    Response, SystemView,
};
use arca_storage::{InMemStorage, Storage, StorageView};
use serde_json::{Map, Value, json};

/// 2026-11-27T23:15:39Z: every test clock starts here.
pub const T0: u64 = 1_795_821_339;

/// The `token_*` keys of a role or user read, as OpenBao 2.7 shows them, sorted.
pub const TOKEN_KEYS: &[&str] = &[
    "token_bound_cidrs",
    "token_explicit_max_ttl",
    "token_max_ttl",
    "token_no_default_policy",
    "token_num_uses",
    "token_period",
    "token_policies",
    "token_strictly_bind_ip",
    "token_ttl",
    "token_type",
];

/// A system view whose clock only moves when a test moves it; 32-day lease TTLs.
pub struct TestClock {
    now: Mutex<SystemTime>,
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TestClock {
    /// A clock at [`T0`].
    pub fn new() -> Self {
        Self {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(T0)),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }
}

impl SystemView for TestClock {
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

/// Where a [`TestMount`] is mounted.
#[derive(Debug, Clone)]
pub struct MountAt {
    /// `auth/<name>/`.
    pub path: String,
    /// The mount type (the factory's type name).
    pub kind: String,
    /// The mount accessor.
    pub accessor: String,
    /// The storage prefix of the mount's view.
    pub view_prefix: String,
}

impl MountAt {
    /// A mount of `kind` at `auth/<name>/` with its storage under `auth/<uuid>/`.
    pub fn new(name: &str, kind: &str, accessor: &str, uuid: &str) -> Self {
        Self {
            path: format!("auth/{name}/"),
            kind: kind.to_owned(),
            accessor: accessor.to_owned(),
            view_prefix: format!("auth/{uuid}/"),
        }
    }

    /// A request to `path` below the mount, with `body` (an object) as its data.
    pub fn request(&self, op: Operation, path: &str, body: Value) -> Request {
        let mut r = Request::new("req-1", op, path);
        r.mount_point.clone_from(&self.path);
        r.mount_type.clone_from(&self.kind);
        r.mount_accessor.clone_from(&self.accessor);
        if let Value::Object(m) = body {
            r.data = m;
        }
        r
    }
}

/// One mounted auth method and the storage and clock behind it.
pub struct TestMount {
    /// The whole store (to check what the mount wrote, and where).
    pub root: Arc<InMemStorage>,
    /// The mount's view of the store.
    pub view: Arc<StorageView>,
    pub clock: Arc<TestClock>,
    pub backend: Arc<dyn Backend>,
    /// The client address of requests made by [`TestMount::request`].
    pub remote: Option<SocketAddr>,
    pub at: MountAt,
}

impl TestMount {
    /// Creates a backend from `factory` at `at` with mount `options` (not initialised:
    /// call `backend.initialize()` where the method needs it).
    pub fn new(factory: &dyn Factory, at: MountAt, options: &[(&str, &str)]) -> TestMount {
        let root = Arc::new(InMemStorage::new());
        let view = Arc::new(StorageView::new(root.clone(), &at.view_prefix));
        let clock = Arc::new(TestClock::new());
        let options: BTreeMap<String, String> = options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let backend = factory
            .create(BackendConfig {
                storage: view.clone(),
                system: clock.clone(),
                mount_path: at.path.clone(),
                mount_accessor: at.accessor.clone(),
                mount_type: at.kind.clone(),
                options,
            })
            .unwrap();
        TestMount {
            root,
            view,
            clock,
            backend,
            remote: None,
            at,
        }
    }

    /// A request to `path` from [`TestMount::remote`].
    pub fn request(&self, op: Operation, path: &str, body: Value) -> Request {
        let mut r = self.at.request(op, path, body);
        r.remote_addr = self.remote;
        r
    }

    /// Handles a request as the core would: a write to something that does not exist is
    /// a create.
    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> LogicalResult<Option<Response>> {
        let mut req = self.request(op, path, body);
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

    /// A write that must succeed (204 or an answer).
    pub async fn write_ok(&self, path: &str, data: Value) -> Option<Response> {
        match self.call(Operation::Update, path, data).await {
            Ok(r) => r,
            Err(e) => panic!("write {path}: {e:?}"),
        }
    }

    /// A request that must fail; its error.
    pub async fn fails(&self, op: Operation, path: &str, data: Value) -> LogicalError {
        match self.call(op, path, data).await {
            Err(e) => e,
            Ok(r) => panic!("{op:?} {path}: expected an error, got {r:?}"),
        }
    }

    /// The `data` of a read that must answer.
    pub async fn read_ok(&self, path: &str) -> Map<String, Value> {
        match self.read(path).await {
            Ok(Some(r)) => r.data.unwrap(),
            other => panic!("read {path}: {other:?}"),
        }
    }

    /// The `data` of a read that must answer.
    pub async fn data(&self, path: &str) -> Map<String, Value> {
        self.read(path).await.unwrap().unwrap().data.unwrap()
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

/// A string field of `m`.
pub fn s(m: &Map<String, Value>, k: &str) -> String {
    m[k].as_str().unwrap().to_owned()
}

/// The `keys` of a list answer.
pub fn keys(resp: &Response) -> Vec<String> {
    resp.data.as_ref().unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// `r` failed as a 400 with exactly `msg`.
#[track_caller]
pub fn assert_invalid(r: Result<impl std::fmt::Debug, LogicalError>, msg: &str) {
    let e = r.expect_err("expected an error");
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e:?}");
    assert_eq!(e.message, msg);
}
