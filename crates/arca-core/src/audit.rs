//! Audit: the broker's devices (from the server configuration and from `sys/audit`), the
//! records the pipeline writes around every logical request, and `sys/audit*`.
//!
//! Every logical request gets exactly one request record, written before its handler
//! runs, and one response record. When devices are enabled and none accepts the request
//! record, the request is refused before it changes anything (fail closed).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arca_audit::{AuditAuth, AuditBroker, AuditEntry, AuditResponse};
use arca_logical::{LogicalError, Operation, Request, Response};
use arca_storage::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{CoreError, TokenEntry, Unsealed};

/// Devices enabled through the API, persisted behind the barrier.
const TABLE: &str = "core/audit";

/// An audit device declared in the server configuration (`audit "file" "path" {...}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditDeviceConfig {
    /// The device's path (`file/`).
    pub path: String,
    /// `file`, `socket` or `syslog`.
    #[serde(rename = "type")]
    pub device_type: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Device options (`file_path`, `address`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Not replicated.
    #[serde(default)]
    pub local: bool,
}

/// Opens the broker and enables the configured devices and the API-enabled ones.
pub(crate) async fn open(
    barrier: &Arc<dyn Storage>,
    system: Arc<dyn arca_logical::SystemView>,
    configured: &[AuditDeviceConfig],
    allow_log_raw: bool,
) -> Result<Arc<AuditBroker>, CoreError> {
    let state = Arc::new(arca_storage::StorageView::new(
        Arc::clone(barrier),
        "sys/audit-state/",
    ));
    let broker = AuditBroker::new(state, system).await.map_err(audit_err)?;
    broker.allow_log_raw(allow_log_raw);
    let mut devices = configured.to_vec();
    devices.extend(read_table(barrier.as_ref()).await?);
    for d in &devices {
        // A configured device that cannot open fails the unseal: running without the
        // audit trail the operator asked for would be silently unsafe.
        broker
            .enable(
                &d.path,
                &d.device_type,
                &d.description,
                d.options.clone(),
                d.local,
            )
            .await
            .map_err(|e| CoreError::invalid(format!("audit device {}: {e}", d.path)))?;
    }
    Ok(broker)
}

fn audit_err(e: arca_audit::AuditError) -> CoreError {
    CoreError::invalid(e.to_string())
}

async fn read_table(barrier: &dyn Storage) -> Result<Vec<AuditDeviceConfig>, CoreError> {
    match barrier.get(TABLE).await? {
        None => Ok(Vec::new()),
        Some(b) => serde_json::from_slice(&b).map_err(|_| CoreError::Corrupt("audit table")),
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// The record of a request as it arrives, before authentication.
pub(crate) fn entry_for(req: &Request) -> AuditEntry {
    AuditEntry {
        time: now(),
        request_id: req.id.clone(),
        operation: req.operation.as_str().to_owned(),
        path: req.path.clone(),
        remote_address: req
            .remote_addr
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
        remote_port: req.remote_addr.map(|a| a.port()).unwrap_or_default(),
        client_token: req.token.as_ref().map(|t| t.expose().to_owned()),
        request_data: (!req.data.is_empty()).then(|| req.data.clone()),
        ..AuditEntry::default()
    }
}

/// Adds what authentication found out about the caller.
pub(crate) fn add_auth(rec: &mut AuditEntry, e: &TokenEntry) {
    rec.client_token_accessor = e.accessor.clone();
    rec.auth = Some(AuditAuth {
        accessor: e.accessor.clone(),
        display_name: e.display_name.clone(),
        policies: e.policies.clone(),
        token_policies: e.policies.clone(),
        metadata: e.meta.clone(),
        entity_id: e.entity_id.clone(),
        token_type: e.token_type.as_str().to_owned(),
        token_ttl: Duration::from_secs(e.ttl),
        client_token: rec.client_token.clone().unwrap_or_default(),
        remaining_uses: e.num_uses,
        ..AuditAuth::default()
    });
}

/// The response record: status, data, the rendered auth block, lease, wrap info or error.
pub(crate) fn add_response(rec: &mut AuditEntry, result: &Result<Response, CoreError>) {
    rec.time = now();
    rec.response = Some(match result {
        Ok(resp) => AuditResponse {
            status: if resp.is_empty() { 204 } else { 200 },
            data: resp.data.clone(),
            auth: resp.auth.as_ref().map(arca_logical::render::auth),
            secret_lease_id: resp
                .secret
                .as_ref()
                .map(|s| s.lease_id.clone())
                .unwrap_or_default(),
            wrap_info: resp.wrap_info.as_ref().map(|w| {
                serde_json::json!({
                    "token": w.token, "accessor": w.accessor, "ttl": w.ttl.as_secs(),
                    "creation_time": w.creation_time, "creation_path": w.creation_path,
                })
            }),
            warnings: resp.warnings.clone(),
            ..AuditResponse::default()
        },
        Err(e) => AuditResponse {
            error: Some(error_text(e)),
            ..AuditResponse::default()
        },
    });
}

fn error_text(e: &CoreError) -> String {
    match e {
        CoreError::Client(l) => l.message.clone(),
        // Internal causes stay in the server log; the record says what the client saw.
        _ => "internal error".to_owned(),
    }
}

/// Writes the request record; a refusal by every device refuses the request.
pub(crate) async fn log_request(
    broker: &AuditBroker,
    rec: &AuditEntry,
) -> Result<arca_audit::RequestRecord, CoreError> {
    broker.log_request(rec).await.map_err(|e| {
        tracing::error!(error = %e, "no audit device accepted the request record; refusing the request");
        CoreError::AuditFailed
    })
}

/// `sys/audit`, `sys/audit/<path>`, `sys/audit-hash/<path>`; `None` for other paths.
pub(crate) async fn handle(
    u: &Unsealed,
    allow_api: bool,
    path: &str,
    req: &Request,
) -> Option<Result<Response, CoreError>> {
    if path == "audit" {
        return Some(list(u, req));
    }
    if let Some(dev) = path.strip_prefix("audit-hash/") {
        return Some(hash(u, dev, req).await);
    }
    let dev = path.strip_prefix("audit/")?;
    Some(device(u, allow_api, dev, req).await)
}

fn list(u: &Unsealed, req: &Request) -> Result<Response, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::client(LogicalError::unsupported_operation()));
    }
    let mut m = Map::new();
    for d in u.audit.list() {
        let v = serde_json::json!({
            "type": d.device_type, "description": d.description, "options": d.options,
            "local": d.local, "path": d.path,
        });
        m.insert(d.path.clone(), v);
    }
    Ok(Response::with_data(m))
}

async fn device(
    u: &Unsealed,
    allow_api: bool,
    dev: &str,
    req: &Request,
) -> Result<Response, CoreError> {
    let f = req.fields();
    match req.operation {
        Operation::Create | Operation::Update => {
            if !allow_api {
                return Err(CoreError::invalid(
                    "cannot enable audit device via API; use declarative, config-based audit device management instead",
                ));
            }
            let device_type = f
                .string("type")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| CoreError::invalid("type is required"))?;
            let description = f.string("description")?.unwrap_or_default();
            let options = f.string_map("options")?.unwrap_or_default();
            let local = f.bool("local")?.unwrap_or(false);
            u.audit
                .enable(dev, &device_type, &description, options.clone(), local)
                .await
                .map_err(audit_err)?;
            let mut table = read_table(u.barrier.as_ref()).await?;
            table.push(AuditDeviceConfig {
                path: format!("{}/", dev.trim_matches('/')),
                device_type,
                description,
                options,
                local,
            });
            let bytes =
                serde_json::to_vec(&table).map_err(|_| CoreError::Corrupt("audit table"))?;
            u.barrier.put(TABLE, &bytes).await?;
            Ok(Response::default())
        }
        Operation::Delete => {
            u.audit.disable(dev).await.map_err(audit_err)?;
            let path = format!("{}/", dev.trim_matches('/'));
            let mut table = read_table(u.barrier.as_ref()).await?;
            table.retain(|d| d.path != path);
            let bytes =
                serde_json::to_vec(&table).map_err(|_| CoreError::Corrupt("audit table"))?;
            u.barrier.put(TABLE, &bytes).await?;
            Ok(Response::default())
        }
        _ => Err(CoreError::client(LogicalError::unsupported_operation())),
    }
}

async fn hash(u: &Unsealed, dev: &str, req: &Request) -> Result<Response, CoreError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(CoreError::client(LogicalError::unsupported_operation()));
    }
    let input = req
        .fields()
        .string("input")?
        .ok_or_else(|| CoreError::invalid("input is required"))?;
    let hash = u.audit.hash(dev, &input).await.map_err(audit_err)?;
    let mut m = Map::new();
    m.insert("hash".into(), Value::String(hash));
    Ok(Response::with_data(m))
}
