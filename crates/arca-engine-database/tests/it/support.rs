//! A backend over in-memory storage with a manual clock, and service probes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_engine_database::DatabaseBackend;
use arca_logical::{
    Backend, BackendConfig, Caller, LogicalResult, Operation, Request, Response, SecretInfo,
    SystemView,
};
use arca_storage::{InMemStorage, Storage};
use serde_json::Value;

/// A clock the test moves by hand, and the named password policies the core would serve.
pub struct ManualClock(Mutex<SystemTime>, Mutex<BTreeMap<String, String>>);

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Self::at(SystemTime::now())
    }
    pub fn at(t: SystemTime) -> Arc<Self> {
        Arc::new(ManualClock(Mutex::new(t), Mutex::default()))
    }
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
    /// Stores (or with `None` deletes) `sys/policies/password/<name>`.
    pub fn set_policy(&self, name: &str, hcl: Option<&str>) {
        let mut p = self.1.lock().unwrap();
        match hcl {
            Some(h) => p.insert(name.to_owned(), h.to_owned()),
            None => p.remove(name),
        };
    }
}

#[async_trait::async_trait]
impl SystemView for ManualClock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(86400)
    }
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
    async fn password_policy(&self, name: &str) -> LogicalResult<Option<String>> {
        Ok(self.1.lock().unwrap().get(name).cloned())
    }
}

pub struct Engine {
    pub backend: Arc<DatabaseBackend>,
    pub clock: Arc<ManualClock>,
}

impl Engine {
    pub async fn new() -> Engine {
        Self::over(Arc::new(InMemStorage::new()), ManualClock::new()).await
    }

    /// A backend over existing storage (a "restart"), initialised. Its background task
    /// ticks rarely: tests drive rotations with `run_due`.
    pub async fn over(storage: Arc<dyn Storage>, clock: Arc<ManualClock>) -> Engine {
        let config = BackendConfig {
            storage: Arc::clone(&storage),
            system: clock.clone(),
            mount_path: "database/".into(),
            mount_accessor: "database_test".into(),
            mount_type: "database".into(),
            options: Default::default(),
        };
        let backend = DatabaseBackend::with_tick(config, Duration::from_secs(3600)).unwrap();
        backend.initialize().await.unwrap();
        Engine { backend, clock }
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        let mut req = Request::new("test", op, path);
        req.mount_point = "database/".into();
        if let Value::Object(m) = data {
            req.data = m;
        }
        req.caller = Some(Caller {
            display_name: "token".into(),
            ..Caller::default()
        });
        self.backend.handle(&req).await
    }

    #[track_caller]
    pub fn ok(r: LogicalResult<Option<Response>>) -> Option<Response> {
        match r {
            Ok(r) => r,
            Err(e) => panic!("{:?}: {}", e.kind, e.message),
        }
    }

    pub async fn write(&self, path: &str, data: Value) -> Option<Response> {
        Self::ok(self.call(Operation::Update, path, data).await)
    }

    pub async fn read(&self, path: &str) -> serde_json::Map<String, Value> {
        Self::ok(self.call(Operation::Read, path, Value::Null).await)
            .and_then(|r| r.data)
            .unwrap_or_else(|| panic!("{path}: no data"))
    }

    /// `creds/<role>`: (username, password, secret).
    pub async fn creds(&self, role: &str) -> (String, String, SecretInfo) {
        let r = Self::ok(
            self.call(Operation::Read, &format!("creds/{role}"), Value::Null)
                .await,
        )
        .unwrap();
        let d = r.data.unwrap();
        (
            d["username"].as_str().unwrap().to_owned(),
            d["password"].as_str().unwrap().to_owned(),
            r.secret.unwrap(),
        )
    }

    pub async fn renew(
        &self,
        secret: &SecretInfo,
        increment: u64,
    ) -> LogicalResult<Option<Response>> {
        let mut req = Request::new("", Operation::Update, "creds/x");
        req.mount_point = "database/".into();
        req.data.insert("increment".into(), increment.into());
        self.backend.renew(&req, secret).await
    }

    pub async fn revoke(&self, secret: &SecretInfo) -> LogicalResult<()> {
        let mut req = Request::new("", Operation::Delete, "creds/x");
        req.mount_point = "database/".into();
        self.backend.revoke(&req, secret).await
    }

    pub async fn shutdown(self) {
        self.backend.cleanup().await;
    }
}

/// Whether a TCP service answers on 127.0.0.1:port; prints the skip reason otherwise.
pub fn service(name: &str, port: u16) -> bool {
    let ok = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .is_ok();
    if !ok {
        arca_test_support::require_or_skip(&format!("{name} is not reachable on 127.0.0.1:{port}"));
    }
    ok
}

/// A name unique to this test run, safe as a database identifier.
pub fn unique(prefix: &str) -> String {
    let n = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), n % 1_000_000_000)
}

impl ManualClock {
    pub fn now_secs(&self) -> i64 {
        i64::try_from(
            self.now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }
}
