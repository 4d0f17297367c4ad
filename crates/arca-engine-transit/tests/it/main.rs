//! Integration tests of the transit engine through the plug-in SDK only: an in-memory
//! storage view, a manual clock, and requests as the core would hand them over.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod keys;
mod ops;
mod props;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arca_engine_transit::{Transit, TransitFactory};
use arca_logical::{
    Backend, BackendConfig, ErrorKind, Factory, LogicalError, Operation, Request, Response,
    ResponseStatus, SystemView,
};
use arca_storage::{InMemStorage, StorageView};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// A clock the test moves by hand.
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

impl SystemView for ManualClock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

pub struct Env {
    pub backend: Arc<dyn Backend>,
    pub clock: Arc<ManualClock>,
    pub storage: Arc<StorageView>,
}

pub fn env() -> Env {
    let root = Arc::new(InMemStorage::new());
    let storage = Arc::new(StorageView::new(root, "logical/transit-uuid/"));
    let clock = Arc::new(ManualClock(AtomicU64::new(1_800_000_000)));
    let backend = TransitFactory
        .create(BackendConfig {
            storage: storage.clone(),
            system: clock.clone(),
            mount_path: "transit/".to_owned(),
            mount_accessor: "transit_1234".to_owned(),
            mount_type: "transit".to_owned(),
            options: BTreeMap::new(),
        })
        .unwrap();
    Env {
        backend,
        clock,
        storage,
    }
}

/// A second backend over the same storage (another node, or after a restart).
pub fn reopen(e: &Env) -> Transit {
    Transit::new(e.storage.clone(), e.clock.clone()).unwrap()
}

pub fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

pub fn unb64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

impl Env {
    /// Runs a request the way the core does (existence check turning update into create).
    pub async fn raw(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<Option<Response>, LogicalError> {
        let mut r = Request::new("req-1", op, path);
        r.mount_point = "transit/".to_owned();
        r.mount_type = "transit".to_owned();
        if let Value::Object(m) = data {
            r.data = m;
        }
        if op == Operation::Update && self.backend.exists(&r).await? == Some(false) {
            r.operation = Operation::Create;
        }
        self.backend.handle(&r).await
    }

    /// The `data` of a successful answer (panics on an error or a non-200 status).
    pub async fn ok(&self, op: Operation, path: &str, data: Value) -> Value {
        match self.raw(op, path, data).await {
            Ok(Some(r)) => {
                assert_eq!(r.status, ResponseStatus::Normal, "{path}: {r:?}");
                Value::Object(r.data.unwrap_or_default())
            }
            Ok(None) => Value::Null,
            Err(e) => panic!("{op:?} {path}: {e:?}"),
        }
    }

    pub async fn write(&self, path: &str, data: Value) -> Value {
        self.ok(Operation::Update, path, data).await
    }

    pub async fn read(&self, path: &str) -> Value {
        self.ok(Operation::Read, path, json!({})).await
    }

    /// The message of a 400.
    pub async fn err(&self, op: Operation, path: &str, data: Value) -> String {
        match self.raw(op, path, data).await {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidRequest, "{path}: {e:?}");
                e.message
            }
            Ok(r) => panic!("{path}: expected an error, got {r:?}"),
        }
    }

    pub async fn write_err(&self, path: &str, data: Value) -> String {
        self.err(Operation::Update, path, data).await
    }

    /// A batch answer: (status, batch_results).
    pub async fn batch(&self, path: &str, data: Value) -> (ResponseStatus, Vec<Value>) {
        let r = self
            .raw(Operation::Update, path, data)
            .await
            .unwrap()
            .unwrap();
        let d = r.data.unwrap();
        (r.status, d["batch_results"].as_array().unwrap().clone())
    }

    pub async fn encrypt(&self, key: &str, pt: &[u8]) -> String {
        let d = self
            .write(&format!("encrypt/{key}"), json!({"plaintext": b64(pt)}))
            .await;
        d["ciphertext"].as_str().unwrap().to_owned()
    }

    pub async fn decrypt(&self, key: &str, ct: &str) -> Vec<u8> {
        let d = self
            .write(&format!("decrypt/{key}"), json!({ "ciphertext": ct }))
            .await;
        unb64(d["plaintext"].as_str().unwrap())
    }
}
