//! Prefix-scoped views: a backend or engine sees only its own subtree.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Result, Storage, TxnOp, validate_key};

/// A [`Storage`] that prepends a fixed prefix to every key. A view cannot name a key
/// outside its prefix, which is how a mounted plug-in is confined to its own data.
#[derive(Clone)]
pub struct StorageView {
    inner: Arc<dyn Storage>,
    prefix: String,
}

impl StorageView {
    /// A view of `inner` under `prefix` (which should end in `/`).
    pub fn new(inner: Arc<dyn Storage>, prefix: impl Into<String>) -> Self {
        Self {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The prefix this view adds.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A view nested inside this one.
    pub fn sub_view(&self, prefix: &str) -> StorageView {
        StorageView {
            inner: Arc::clone(&self.inner),
            prefix: format!("{}{prefix}", self.prefix),
        }
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    // The key is checked before prefixing: an empty key would otherwise name the view's
    // own prefix in the inner store, which is a valid key there.
    fn full_key(&self, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(self.full(key))
    }
}

#[async_trait]
impl Storage for StorageView {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(&self.full_key(key)?).await
    }
    async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.inner.put(&self.full_key(key)?, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(&self.full_key(key)?).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(&self.full(prefix)).await
    }
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        let ops = ops
            .into_iter()
            .map(|op| {
                Ok(match op {
                    TxnOp::Put { key, value } => TxnOp::Put {
                        key: self.full_key(&key)?,
                        value,
                    },
                    TxnOp::Delete { key } => TxnOp::Delete {
                        key: self.full_key(&key)?,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.inner.transaction(ops).await
    }
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}
