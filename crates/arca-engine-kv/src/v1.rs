//! KV version 1: each secret is a JSON object stored at `entries/<path>`.

use std::sync::Arc;

use arca_logical::{
    Backend, LogicalError, LogicalResult, Operation, Request, Response, SecretInfo, SystemView,
};
use arca_storage::{Storage, TxnOp};
use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::{KvError, V1_PREFIX, as_folder, check_entry_size, list_response, scan};

fn entry_key(path: &str) -> String {
    format!("{V1_PREFIX}{path}")
}

/// A version 1 mount. It holds only its storage view and system view.
pub(crate) struct KvV1 {
    storage: Arc<dyn Storage>,
    system: Arc<dyn SystemView>,
    max_entry_size: usize,
}

impl KvV1 {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        system: Arc<dyn SystemView>,
        max_entry_size: usize,
    ) -> Self {
        Self {
            storage,
            system,
            max_entry_size,
        }
    }

    async fn read(&self, path: &str) -> LogicalResult<Option<Response>> {
        if path.is_empty() || path.ends_with('/') {
            return Ok(None);
        }
        let Some(raw) = self.storage.get(&entry_key(path)).await? else {
            return Ok(None);
        };
        let data: Map<String, Value> =
            serde_json::from_slice(&raw).map_err(|_| KvError::Corrupt("secret"))?;
        // The `ttl` (or legacy `lease`) key is a hint to readers; an unparsable one is
        // ignored, as in Vault.
        let ttl = data
            .get("ttl")
            .or_else(|| data.get("lease"))
            .and_then(|v| arca_types::duration::parse_duration_value(v).ok())
            .unwrap_or_else(|| self.system.default_lease_ttl());
        Ok(Some(Response {
            data: Some(data),
            secret: Some(SecretInfo {
                ttl,
                leased: false,
                renewable: false,
                ..SecretInfo::default()
            }),
            ..Response::default()
        }))
    }

    async fn write(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let path = req.path.as_str();
        if path.is_empty() {
            return Err(LogicalError::invalid("missing path"));
        }
        if path.ends_with('/') {
            return Err(LogicalError::invalid(
                "cannot write to a path ending in '/'",
            ));
        }
        if req.data.is_empty() {
            return Err(LogicalError::invalid("missing data fields"));
        }
        let value = serde_json::to_vec(&req.data).map_err(|_| KvError::Encode("secret"))?;
        check_entry_size(&value, self.max_entry_size)?;
        self.storage
            .transaction(vec![TxnOp::Put {
                key: entry_key(path),
                value,
            }])
            .await?;
        Ok(None)
    }
}

#[async_trait]
impl Backend for KvV1 {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let path = req.path.as_str();
        match req.operation {
            Operation::Read => self.read(path).await,
            Operation::Create | Operation::Update => self.write(req).await,
            Operation::Delete => {
                if !path.is_empty() {
                    self.storage.delete(&entry_key(path)).await?;
                }
                Ok(None)
            }
            Operation::List => Ok(list_response(
                self.storage.list(&entry_key(&as_folder(path))).await?,
            )),
            Operation::Scan => Ok(list_response(
                scan(self.storage.as_ref(), &entry_key(&as_folder(path))).await?,
            )),
            Operation::Patch | Operation::Header => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let path = req.path.as_str();
        if path.is_empty() || path.ends_with('/') {
            return Ok(Some(false));
        }
        Ok(Some(self.storage.get(&entry_key(path)).await?.is_some()))
    }
}
