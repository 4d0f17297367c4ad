//! The in-memory backend: dev mode and tests. Nothing survives the process.

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::{Result, Storage, StorageError, TxnOp, immediate_children, validate_key};

/// A `BTreeMap` behind a lock. Transactions hold the write lock, so they are atomic.
#[derive(Default)]
pub struct InMemStorage {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl InMemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn poisoned() -> StorageError {
        StorageError::Backend("in-memory storage lock poisoned".to_owned())
    }
}

#[async_trait]
impl Storage for InMemStorage {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        let map = self.map.read().map_err(|_| Self::poisoned())?;
        Ok(map.get(key).cloned())
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        validate_key(key)?;
        let mut map = self.map.write().map_err(|_| Self::poisoned())?;
        map.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let mut map = self.map.write().map_err(|_| Self::poisoned())?;
        map.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let map = self.map.read().map_err(|_| Self::poisoned())?;
        let keys = map
            .range(prefix.to_owned()..)
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(prefix));
        Ok(immediate_children(prefix, keys))
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        for op in &ops {
            match op {
                TxnOp::Put { key, .. } | TxnOp::Delete { key } => validate_key(key)?,
            }
        }
        let mut map = self.map.write().map_err(|_| Self::poisoned())?;
        for op in ops {
            match op {
                TxnOp::Put { key, value } => {
                    map.insert(key, value);
                }
                TxnOp::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "inmem"
    }
}
