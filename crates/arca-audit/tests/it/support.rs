//! Shared helpers: a real-time clock, a broker over in-memory state, entries, log reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arca_audit::{AuditAuth, AuditBroker, AuditEntry, AuditResponse};
use arca_logical::SystemView;
use arca_storage::{InMemStorage, Storage};
use serde_json::{Map, Value};

pub struct Clock;

impl SystemView for Clock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

pub fn state() -> Arc<dyn Storage> {
    Arc::new(InMemStorage::new())
}

pub async fn broker_on(state: Arc<dyn Storage>) -> Arc<AuditBroker> {
    AuditBroker::new(state, Arc::new(Clock)).await.unwrap()
}

pub async fn broker() -> Arc<AuditBroker> {
    broker_on(state()).await
}

pub fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Enables a file device at `file/` writing to `path`, with extra options.
pub async fn enable_file(b: &AuditBroker, path: &Path, extra: &[(&str, &str)]) {
    let mut o = opts(extra);
    o.insert("file_path".into(), path.display().to_string());
    b.enable("file", "file", "", o, false).await.unwrap();
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// A typical authenticated read of `path`.
pub fn entry(id: &str, path: &str) -> AuditEntry {
    AuditEntry {
        time: SystemTime::now(),
        request_id: id.to_owned(),
        operation: "read".into(),
        path: path.to_owned(),
        mount_point: "secret/".into(),
        mount_type: "kv".into(),
        mount_accessor: "kv_1234".into(),
        remote_address: "127.0.0.1".into(),
        remote_port: 50000,
        client_token: Some("hvs.token".into()),
        client_token_accessor: "accessor-alice".into(),
        request_data: None,
        headers: BTreeMap::new(),
        auth: Some(AuditAuth {
            accessor: "accessor-alice".into(),
            display_name: "userpass-alice".into(),
            policies: vec!["default".into(), "payments".into()],
            token_policies: vec!["default".into(), "payments".into()],
            entity_id: "entity-alice".into(),
            token_type: "service".into(),
            token_ttl: Duration::from_secs(3600),
            client_token: "hvs.token".into(),
            policy_results: Some((true, vec!["payments".into()])),
            ..AuditAuth::default()
        }),
        response: None,
        ..AuditEntry::default()
    }
}

/// The same entry with a response carrying `data`.
pub fn with_response(mut e: AuditEntry, data: Value) -> AuditEntry {
    e.response = Some(AuditResponse {
        status: 200,
        data: Some(obj(data)),
        ..AuditResponse::default()
    });
    e
}

pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The parsed records of a log (checkpoints excluded).
pub fn records(path: &Path) -> Vec<Value> {
    read_lines(path)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] != "checkpoint")
        .collect()
}

pub fn write_lines(path: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("audit.log")
}

/// Removes the chain field, to compare a record with Vault's shape.
pub fn without_chain(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("chain");
    }
    v
}
