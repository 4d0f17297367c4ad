//! The cubbyhole secrets engine (type `cubbyhole`): a private key/value store per token.
//!
//! Every token gets its own KV-v1-like space: `PUT|POST` stores a JSON object (204), `GET`
//! returns it, `LIST` lists a folder, `DELETE` removes an entry. Another token reading the
//! same path sees nothing (404). The engine never sees the token itself: it scopes storage
//! by [`arca_logical::Caller::token_id`], the token's stable, non-secret identifier. A
//! request without a caller (or with an unusable id) is `permission denied`.
//!
//! Storage layout (inside the mount's barrier-encrypted view): `<token_id>/<path>` holds
//! the JSON object written at `<path>`. Nothing else is stored.
//!
//! When a token is revoked or expires the core calls [`destroy_token_data`] with the same
//! storage view it gave the backend, which removes everything the token stored in one
//! transaction.
//!
//! Stored values are secrets: they never appear in logs or errors.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`) and
//! the storage trait (`arca-storage`); never on the core, another engine or HTTP.

use std::sync::Arc;

use arca_logical::{
    Backend, BackendConfig, BackendKind, Factory, LogicalError, LogicalResult, Operation, Request,
    Response,
};
use arca_storage::{Storage, StorageError, TxnOp};
use async_trait::async_trait;
use serde_json::{Map, Value};

/// The mount type name.
pub const TYPE_NAME: &str = "cubbyhole";

/// Failures inside this engine that are not the client's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CubbyholeError {
    /// A stored entry is not a JSON object (the value is never included).
    #[error("stored cubbyhole entry is not a JSON object")]
    CorruptEntry,
    /// The entry could not be encoded.
    #[error("cubbyhole entry could not be encoded")]
    Encode,
}

impl From<CubbyholeError> for LogicalError {
    fn from(e: CubbyholeError) -> Self {
        tracing::error!(error = %e, "cubbyhole failure");
        LogicalError::internal()
    }
}

/// Creates cubbyhole backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct CubbyholeFactory;

impl Factory for CubbyholeFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(Cubbyhole {
            storage: config.storage,
        }))
    }
}

/// One mounted cubbyhole. It holds only its storage view.
struct Cubbyhole {
    storage: Arc<dyn Storage>,
}

/// A token id usable as a storage prefix: non-empty and a single path segment, so one
/// token's space can never contain another's.
fn valid_token_id(token_id: &str) -> bool {
    !token_id.is_empty() && !token_id.contains('/')
}

/// The calling token's storage prefix (`<token_id>/`), or `permission denied`.
fn token_prefix(req: &Request) -> LogicalResult<String> {
    match &req.caller {
        Some(caller) if valid_token_id(&caller.token_id) => Ok(format!("{}/", caller.token_id)),
        _ => Err(LogicalError::permission_denied()),
    }
}

impl Cubbyhole {
    async fn read(&self, prefix: &str, path: &str) -> LogicalResult<Option<Response>> {
        if path.is_empty() {
            return Err(LogicalError::invalid("missing path"));
        }
        let Some(raw) = self.storage.get(&format!("{prefix}{path}")).await? else {
            return Ok(None);
        };
        let data: Map<String, Value> =
            serde_json::from_slice(&raw).map_err(|_| CubbyholeError::CorruptEntry)?;
        Ok(Some(Response::with_data(data)))
    }

    async fn write(&self, prefix: &str, req: &Request) -> LogicalResult<Option<Response>> {
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
        let value = serde_json::to_vec(&req.data).map_err(|_| CubbyholeError::Encode)?;
        self.storage
            .transaction(vec![TxnOp::Put {
                key: format!("{prefix}{path}"),
                value,
            }])
            .await?;
        Ok(None)
    }

    async fn delete(&self, prefix: &str, path: &str) -> LogicalResult<Option<Response>> {
        if !path.is_empty() {
            self.storage.delete(&format!("{prefix}{path}")).await?;
        }
        Ok(None)
    }

    async fn list(&self, prefix: &str, path: &str) -> LogicalResult<Option<Response>> {
        let folder = if path.is_empty() || path.ends_with('/') {
            format!("{prefix}{path}")
        } else {
            format!("{prefix}{path}/")
        };
        let keys = self.storage.list(&folder).await?;
        if keys.is_empty() {
            return Ok(None);
        }
        let mut data = Map::new();
        data.insert("keys".to_owned(), Value::from(keys));
        Ok(Some(Response::with_data(data)))
    }
}

#[async_trait]
impl Backend for Cubbyhole {
    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let prefix = token_prefix(req)?;
        match req.operation {
            Operation::Read => self.read(&prefix, &req.path).await,
            Operation::Create | Operation::Update => self.write(&prefix, req).await,
            Operation::Delete => self.delete(&prefix, &req.path).await,
            Operation::List => self.list(&prefix, &req.path).await,
            Operation::Patch | Operation::Scan | Operation::Header => {
                Err(LogicalError::unsupported_operation())
            }
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let prefix = token_prefix(req)?;
        if req.path.is_empty() || req.path.ends_with('/') {
            return Ok(Some(false));
        }
        Ok(Some(
            self.storage
                .get(&format!("{prefix}{}", req.path))
                .await?
                .is_some(),
        ))
    }
}

/// Removes everything the token identified by `token_id` stored in its cubbyhole, in one
/// transaction, and returns how many entries were removed.
///
/// `storage` must be the same view the cubbyhole backend was created with (the
/// `cubbyhole/` mount's view); `token_id` is the [`arca_logical::Caller::token_id`] the
/// token's requests carried. The core calls this when the token is revoked or expires.
/// Calling it for a token with no data, or twice, is not an error. An empty id, or one
/// containing `/`, is rejected with [`StorageError::InvalidKey`] (it could otherwise name
/// another token's space).
pub async fn destroy_token_data(
    storage: &dyn Storage,
    token_id: &str,
) -> Result<usize, StorageError> {
    if !valid_token_id(token_id) {
        return Err(StorageError::InvalidKey);
    }
    let mut keys = Vec::new();
    collect_keys(storage, &format!("{token_id}/"), &mut keys).await?;
    let count = keys.len();
    if count > 0 {
        storage
            .transaction(keys.into_iter().map(|key| TxnOp::Delete { key }).collect())
            .await?;
    }
    Ok(count)
}

/// Every key below `prefix` (which ends in `/`), recursively, as full keys.
async fn collect_keys(
    storage: &dyn Storage,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<(), StorageError> {
    // An explicit stack: recursion in async fns needs boxing, and folders can be deep.
    let mut pending = vec![prefix.to_owned()];
    while let Some(folder) = pending.pop() {
        for child in storage.list(&folder).await? {
            let full = format!("{folder}{child}");
            if child.ends_with('/') {
                pending.push(full);
            } else {
                out.push(full);
            }
        }
    }
    Ok(())
}
