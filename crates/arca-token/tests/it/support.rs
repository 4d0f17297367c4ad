//! Test harness: an in-memory barrier view, a manual clock, hooks that record every call,
//! and a request helper that authenticates like the core does.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arca_logical::{
    Backend, ClientToken, LogicalError, LogicalResult, Operation, Request, Response, SystemView,
};
use arca_storage::{InMemStorage, Storage, StorageView};
use arca_token::{TokenEntry, TokenHooks, TokenStore};
use async_trait::async_trait;
use serde_json::{Map, Value};

pub const DAY: u64 = 86_400;

/// A clock that only moves when told to, with the token mount's TTL bounds.
pub struct ManualSystem {
    now: Mutex<SystemTime>,
    pub default_ttl: Mutex<Duration>,
    pub max_ttl: Mutex<Duration>,
}

impl ManualSystem {
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap();
        *now += by;
    }
}

impl SystemView for ManualSystem {
    fn default_lease_ttl(&self) -> Duration {
        *self.default_ttl.lock().unwrap()
    }
    fn max_lease_ttl(&self) -> Duration {
        *self.max_ttl.lock().unwrap()
    }
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Created(String),
    Renewed(String, u64),
    Revoked(String),
}

/// Records every hook call; simulates leases attached to tokens.
#[derive(Default)]
pub struct RecordingHooks {
    pub events: Mutex<Vec<Event>>,
    /// token id → leases it created (simulated).
    pub leases: Mutex<BTreeMap<String, Vec<String>>>,
    pub revoked_leases: Mutex<Vec<String>>,
    pub fail_create: Mutex<bool>,
    pub fail_revoke: Mutex<bool>,
    /// Policy names `policy_exists` denies.
    pub missing_policies: Mutex<Vec<String>>,
}

impl RecordingHooks {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
    pub fn revoked(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Revoked(id) => Some(id),
                _ => None,
            })
            .collect()
    }
    pub fn add_lease(&self, token_id: &str, lease: &str) {
        self.leases
            .lock()
            .unwrap()
            .entry(token_id.to_owned())
            .or_default()
            .push(lease.to_owned());
    }
}

#[async_trait]
impl TokenHooks for RecordingHooks {
    async fn token_created(&self, entry: &TokenEntry) -> Result<String, LogicalError> {
        if *self.fail_create.lock().unwrap() {
            return Err(LogicalError::internal());
        }
        self.events
            .lock()
            .unwrap()
            .push(Event::Created(entry.id.clone()));
        Ok(entry.lease_id.clone())
    }
    async fn token_renewed(&self, entry: &TokenEntry, ttl: Duration) -> Result<(), LogicalError> {
        self.events
            .lock()
            .unwrap()
            .push(Event::Renewed(entry.id.clone(), ttl.as_secs()));
        Ok(())
    }
    async fn policy_exists(&self, name: &str) -> Result<bool, LogicalError> {
        Ok(!self
            .missing_policies
            .lock()
            .unwrap()
            .iter()
            .any(|p| p == name))
    }
    async fn token_revoked(&self, entry: &TokenEntry) -> Result<(), LogicalError> {
        if *self.fail_revoke.lock().unwrap() {
            return Err(LogicalError::internal());
        }
        self.events
            .lock()
            .unwrap()
            .push(Event::Revoked(entry.id.clone()));
        if let Some(leases) = self.leases.lock().unwrap().remove(&entry.id) {
            self.revoked_leases.lock().unwrap().extend(leases);
        }
        Ok(())
    }
}

pub struct Harness {
    pub raw: Arc<InMemStorage>,
    pub store: Arc<TokenStore>,
    pub backend: Arc<dyn Backend>,
    pub hooks: Arc<RecordingHooks>,
    pub system: Arc<ManualSystem>,
    pub root: String,
    pub root_entry: TokenEntry,
}

pub async fn harness() -> Harness {
    let raw = Arc::new(InMemStorage::new());
    let view: Arc<dyn Storage> = Arc::new(StorageView::new(raw.clone(), "sys/token/"));
    let hooks = Arc::new(RecordingHooks::default());
    let system = Arc::new(ManualSystem {
        // A whole second, so second-granularity arithmetic is exact in tests.
        now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        default_ttl: Mutex::new(Duration::from_secs(32 * DAY)),
        max_ttl: Mutex::new(Duration::from_secs(768 * 3600)),
    });
    let store = TokenStore::open(view, hooks.clone(), system.clone())
        .await
        .unwrap();
    let (root, root_entry) = store.create_root(None).await.unwrap();
    let backend = store.backend();
    Harness {
        raw,
        store,
        backend,
        hooks,
        system,
        root: root.to_string(),
        root_entry,
    }
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => panic!("not an object: {other}"),
    }
}

pub struct Call<'a> {
    pub op: Operation,
    pub path: &'a str,
    pub token: &'a str,
    pub data: Value,
    pub sudo: bool,
    pub remote: Option<IpAddr>,
}

impl Harness {
    /// Runs a request like the core: authenticates the token (403 when it fails), sets the
    /// caller, calls the backend, then finishes the use.
    pub async fn run(&self, c: Call<'_>) -> LogicalResult<Option<Response>> {
        let entry = self
            .store
            .authenticate(c.token, c.remote)
            .await
            .unwrap()
            .ok_or_else(LogicalError::permission_denied)?;
        let mut req = Request::new("req-1", c.op, c.path);
        req.data = obj(c.data);
        req.token = Some(ClientToken::new(c.token.to_owned()));
        req.mount_point = "auth/token/".to_owned();
        req.mount_type = "token".to_owned();
        req.caller = Some(entry.caller());
        req.sudo = c.sudo;
        if let Some(ip) = c.remote {
            req.remote_addr = Some(std::net::SocketAddr::new(ip, 40000));
        }
        let out = self.backend.handle(&req).await;
        self.store.finish_use(&entry).await.unwrap();
        out
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        token: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.run(Call {
            op,
            path,
            token,
            data,
            sudo: false,
            remote: None,
        })
        .await
    }

    pub async fn write(
        &self,
        path: &str,
        token: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.call(Operation::Update, path, token, data).await
    }

    pub async fn sudo_write(
        &self,
        path: &str,
        token: &str,
        data: Value,
    ) -> LogicalResult<Option<Response>> {
        self.run(Call {
            op: Operation::Update,
            path,
            token,
            data,
            sudo: true,
            remote: None,
        })
        .await
    }

    /// Creates a token with `data` through `auth/token/create` as `parent`; returns the
    /// token and the response.
    pub async fn create_as(&self, parent: &str, data: Value) -> (String, Response) {
        let resp = self.write("create", parent, data).await.unwrap().unwrap();
        let token = resp.auth.as_ref().unwrap().client_token.clone();
        (token, resp)
    }

    pub async fn create(&self, data: Value) -> (String, Response) {
        self.create_as(&self.root.clone(), data).await
    }

    pub async fn entry(&self, token: &str) -> TokenEntry {
        self.store
            .lookup(token)
            .await
            .unwrap()
            .expect("token should be live")
    }

    pub async fn lookup_data(&self, token: &str) -> Map<String, Value> {
        self.call(Operation::Read, "lookup-self", token, Value::Null)
            .await
            .unwrap()
            .unwrap()
            .data
            .unwrap()
    }

    pub fn advance(&self, secs: u64) {
        self.system.advance(Duration::from_secs(secs));
    }

    /// Every key and value of the raw storage.
    pub async fn dump(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            for k in self.raw.list(&dir).await.unwrap() {
                let full = format!("{dir}{k}");
                if k.ends_with('/') {
                    dirs.push(full);
                } else if let Some(v) = self.raw.get(&full).await.unwrap() {
                    out.insert(full, v);
                }
            }
        }
        out
    }
}

pub fn status(e: &LogicalError) -> &'static str {
    match e.kind {
        arca_logical::ErrorKind::InvalidRequest => "400",
        arca_logical::ErrorKind::PermissionDenied => "403",
        arca_logical::ErrorKind::NotFound => "404",
        arca_logical::ErrorKind::UnsupportedOperation => "405",
        _ => "other",
    }
}

/// Asserts an error's class and message.
#[track_caller]
pub fn assert_err(r: LogicalResult<Option<Response>>, code: &str, msg: &str) {
    match r {
        Ok(resp) => panic!("expected {code} {msg:?}, got {resp:?}"),
        Err(e) => {
            assert_eq!((status(&e), e.message.as_str()), (code, msg));
        }
    }
}
