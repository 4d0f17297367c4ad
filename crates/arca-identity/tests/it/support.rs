//! Shared helpers: an in-memory identity view, a fixed clock, request plumbing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_identity::{IdentityStore, MountInfo, MountLookup};
use arca_logical::{Alias, Backend, LogicalError, Operation, Request, Response, SystemView};
use arca_storage::{InMemStorage, Storage, StorageView};
use serde_json::{Map, Value};

/// 2023-11-14T22:13:20Z plus whatever the test advanced.
pub const T0_SECS: u64 = 1_700_000_000;

pub struct FixedClock(Mutex<SystemTime>);

impl FixedClock {
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

impl SystemView for FixedClock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(7200)
    }
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

pub struct Env {
    pub store: Arc<IdentityStore>,
    pub backend: Arc<dyn Backend>,
    pub clock: Arc<FixedClock>,
    /// The physical store under the view, to reopen or inspect.
    pub physical: Arc<InMemStorage>,
}

pub fn view(physical: &Arc<InMemStorage>) -> Arc<dyn Storage> {
    Arc::new(StorageView::new(
        physical.clone() as Arc<dyn Storage>,
        "sys/identity/",
    ))
}

pub async fn env() -> Env {
    let physical = Arc::new(InMemStorage::new());
    let clock = Arc::new(FixedClock(Mutex::new(
        UNIX_EPOCH + Duration::from_secs(T0_SECS),
    )));
    let store = IdentityStore::open(view(&physical), clock.clone())
        .await
        .unwrap();
    let backend = store.backend();
    Env {
        store,
        backend,
        clock,
        physical,
    }
}

impl Env {
    /// The same storage opened again, as after a restart.
    pub async fn reopen(&self) -> Env {
        let store = IdentityStore::open(view(&self.physical), self.clock.clone())
            .await
            .unwrap();
        let backend = store.backend();
        Env {
            store,
            backend,
            clock: self.clock.clone(),
            physical: self.physical.clone(),
        }
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<Option<Response>, LogicalError> {
        let mut req = Request::new("req-1", op, path);
        req.mount_point = "identity/".into();
        req.mount_type = "identity".into();
        if let Value::Object(m) = body {
            req.data = m;
        }
        self.backend.handle(&req).await
    }

    /// A write that must succeed; its `data` (empty for 204).
    pub async fn write(&self, path: &str, body: Value) -> Map<String, Value> {
        self.call(Operation::Update, path, body)
            .await
            .unwrap_or_else(|e| panic!("write {path}: {e:?}"))
            .and_then(|r| r.data)
            .unwrap_or_default()
    }

    /// A read's `data`, `None` for 404.
    pub async fn read(&self, path: &str) -> Option<Map<String, Value>> {
        self.call(Operation::Read, path, Value::Null)
            .await
            .unwrap()
            .and_then(|r| r.data)
    }

    pub async fn list(&self, path: &str) -> Option<Map<String, Value>> {
        self.call(Operation::List, path, Value::Null)
            .await
            .unwrap()
            .and_then(|r| r.data)
    }

    pub async fn delete(&self, path: &str) {
        let r = self
            .call(Operation::Delete, path, Value::Null)
            .await
            .unwrap();
        assert!(r.is_none(), "delete answers 204");
    }

    /// The error of a write that must fail.
    pub async fn write_err(&self, path: &str, body: Value) -> LogicalError {
        self.call(Operation::Update, path, body)
            .await
            .expect_err("write should fail")
    }

    pub async fn login(&self, accessor: &str, name: &str) -> arca_identity::LoginIdentity {
        self.store
            .login(accessor, "userpass", "auth/userpass/", &alias(name, &[]))
            .await
            .unwrap()
    }
}

pub fn alias(name: &str, meta: &[(&str, &str)]) -> Alias {
    Alias {
        name: name.into(),
        metadata: meta
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

pub fn s(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

/// A fixed mount table.
pub struct Mounts(pub BTreeMap<String, MountInfo>);

impl MountLookup for Mounts {
    fn mount_by_accessor(&self, accessor: &str) -> Option<MountInfo> {
        self.0.get(accessor).cloned()
    }
}

pub fn mounts(list: &[(&str, &str, &str)]) -> Arc<Mounts> {
    Arc::new(Mounts(
        list.iter()
            .map(|(acc, ty, path)| {
                (
                    (*acc).to_owned(),
                    MountInfo {
                        mount_type: (*ty).into(),
                        mount_path: (*path).into(),
                        local: false,
                    },
                )
            })
            .collect(),
    ))
}
