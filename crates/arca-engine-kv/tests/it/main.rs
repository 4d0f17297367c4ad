//! Integration tests of the KV engine through the plug-in SDK only: hand-built requests,
//! an in-memory store behind a prefix view, and a clock the tests move.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod limits;
mod upgrade;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_engine_kv::KvFactory;
use arca_logical::{
    Backend, BackendConfig, Factory, LogicalError, LogicalResult, Operation, Request, Response,
    SystemView,
};
use arca_storage::{InMemStorage, Storage, StorageView};
use serde_json::Value;

/// 2026-11-27T23:15:39.535136517Z, the time of the reference's recorded bodies.
pub const T0_NANOS: u64 = 1_795_821_339_535_136_517;
pub const T0: &str = "2026-11-27T23:15:39.535136517Z";
pub const MOUNT_DEFAULT_TTL: u64 = 2_764_800;

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
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_nanos(T0_NANOS)),
        }
    }
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap();
        *now += d;
    }
}

impl SystemView for TestSystem {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(MOUNT_DEFAULT_TTL)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(MOUNT_DEFAULT_TTL)
    }
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
}

pub struct Env {
    pub root: Arc<InMemStorage>,
    pub view: Arc<StorageView>,
    pub clock: Arc<TestSystem>,
    pub backend: Arc<dyn Backend>,
}

pub const VIEW_PREFIX: &str = "logical/0f6a1d5e/";

pub fn config(
    view: Arc<StorageView>,
    clock: Arc<TestSystem>,
    version: Option<&str>,
) -> BackendConfig {
    let mut options = BTreeMap::new();
    if let Some(v) = version {
        options.insert("version".to_owned(), v.to_owned());
    }
    BackendConfig {
        storage: view,
        system: clock,
        mount_path: "secret/".to_owned(),
        mount_accessor: "kv_5a1b2c3d".to_owned(),
        mount_type: "kv".to_owned(),
        options,
    }
}

impl Env {
    pub async fn new(version: Option<&str>) -> Env {
        let root = Arc::new(InMemStorage::new());
        let view = Arc::new(StorageView::new(root.clone(), VIEW_PREFIX));
        let clock = Arc::new(TestSystem::new());
        let backend = KvFactory
            .create(config(view.clone(), clock.clone(), version))
            .unwrap();
        backend.initialize().await.unwrap();
        Env {
            root,
            view,
            clock,
            backend,
        }
    }

    pub async fn v1() -> Env {
        Env::new(None).await
    }

    pub async fn v2() -> Env {
        Env::new(Some("2")).await
    }

    /// Re-creates the backend over the same storage with another version option.
    pub async fn remount(&mut self, version: Option<&str>, initialize: bool) {
        self.backend = KvFactory
            .create(config(self.view.clone(), self.clock.clone(), version))
            .unwrap();
        if initialize {
            self.backend.initialize().await.unwrap();
        }
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.backend.handle(&req(op, path, data)).await
    }

    /// A call that must succeed with a response; returns it.
    pub async fn ok(&self, op: Operation, path: &str, data: Value) -> Response {
        match self.call(op, path, data).await {
            Ok(Some(r)) => r,
            other => panic!("{op:?} {path}: expected a response, got {other:?}"),
        }
    }

    /// A call that must succeed with nothing to say (204 / 404).
    pub async fn none(&self, op: Operation, path: &str, data: Value) {
        match self.call(op, path, data).await {
            Ok(None) => {}
            other => panic!("{op:?} {path}: expected no response, got {other:?}"),
        }
    }

    /// A call that must fail; returns the error.
    pub async fn err(&self, op: Operation, path: &str, data: Value) -> LogicalError {
        match self.call(op, path, data).await {
            Err(e) => e,
            other => panic!("{op:?} {path}: expected an error, got {other:?}"),
        }
    }

    pub async fn exists(&self, path: &str) -> Option<bool> {
        self.backend
            .exists(&req(Operation::Update, path, Value::Null))
            .await
            .unwrap()
    }

    /// Every physical key under the mount's view, relative to it.
    pub async fn stored_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            for child in self.view.list(&rel).await.unwrap() {
                let full = format!("{rel}{child}");
                if child.ends_with('/') {
                    pending.push(full);
                } else {
                    out.push(full);
                }
            }
        }
        out.sort();
        out
    }
}

pub fn req(op: Operation, path: &str, data: Value) -> Request {
    let mut r = Request::new("5e1d7a0c-0000-4000-8000-000000000001", op, path);
    r.mount_point = "secret/".to_owned();
    r.mount_type = "kv".to_owned();
    r.mount_accessor = "kv_5a1b2c3d".to_owned();
    if let Value::Object(map) = data {
        r.data = map;
    }
    r
}

/// The response's `data` as a JSON value (`null` when absent).
pub fn data(r: &Response) -> Value {
    r.data.clone().map(Value::Object).unwrap_or(Value::Null)
}

/// A timestamp `secs` seconds after T0, rendered as Go's RFC3339Nano.
pub fn t0_plus(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
        T0_NANOS + secs * 1_000_000_000,
    ))
    .unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.535136517Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
