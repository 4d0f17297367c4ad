//! The token store, as far as the foundation needs it: root tokens, created by `sys/init`,
//! root-token generation and dev mode, looked up on every authenticated request.
//!
//! Tokens are never stored: an entry is keyed by HMAC-SHA-256(salt, token), so a storage
//! dump reveals no usable token. The salt lives behind the barrier.

use std::sync::Arc;

use arca_storage::{Storage, StorageView, TxnOp};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::CoreError;

/// Length of the random part of a service token (`s.` + 24 characters, as OpenBao issues).
const TOKEN_RANDOM_LEN: usize = 24;
const SALT_KEY: &str = "salt";

/// What the store knows about a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Public handle for the token (lookups and revocation without the token itself).
    pub accessor: String,
    /// Policies attached to the token.
    pub policies: Vec<String>,
    /// The path that created the token (`auth/token/root`).
    pub path: String,
    /// Shown in audit records and lookups.
    pub display_name: String,
    /// Unix creation time.
    pub creation_time: i64,
    /// TTL in seconds; 0 = never expires (root tokens).
    pub ttl: u64,
}

impl TokenEntry {
    /// Whether the token carries the `root` policy.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
}

/// Root tokens behind the barrier under `sys/token/`.
pub(crate) struct TokenStore {
    view: StorageView,
    salt: Zeroizing<Vec<u8>>,
}

impl TokenStore {
    /// Opens the store, creating its salt on first use.
    pub(crate) async fn open(barrier: Arc<dyn Storage>) -> Result<Self, CoreError> {
        let view = StorageView::new(barrier, "sys/token/");
        let salt = match view.get(SALT_KEY).await? {
            Some(s) => Zeroizing::new(s),
            None => {
                let s = arca_crypto::random_key()?.to_vec();
                view.put(SALT_KEY, &s).await?;
                Zeroizing::new(s)
            }
        };
        Ok(Self { view, salt })
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut input = Vec::with_capacity(kind.len() + 1 + value.len());
        input.extend_from_slice(kind.as_bytes());
        input.push(0);
        input.extend_from_slice(value.as_bytes());
        hex::encode(arca_crypto::hmac_sha256(&self.salt, &input))
    }

    /// Creates a root token; `id` chooses the token text (dev mode), otherwise it is random.
    pub(crate) async fn create_root(
        &self,
        id: Option<&str>,
        now: i64,
    ) -> Result<Zeroizing<String>, CoreError> {
        let token = match id {
            Some(id) => {
                if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
                    return Err(CoreError::invalid("invalid root token id"));
                }
                Zeroizing::new(id.to_owned())
            }
            None => Zeroizing::new(format!(
                "s.{}",
                arca_crypto::random_base62(TOKEN_RANDOM_LEN)?
            )),
        };
        let entry = TokenEntry {
            accessor: arca_crypto::random_base62(TOKEN_RANDOM_LEN)?,
            policies: vec!["root".to_owned()],
            path: "auth/token/root".to_owned(),
            display_name: "root".to_owned(),
            creation_time: now,
            ttl: 0,
        };
        let value = serde_json::to_vec(&entry).map_err(|_| CoreError::Corrupt("token entry"))?;
        let id_key = format!("id/{}", self.hash("id", &token));
        let accessor_key = format!("accessor/{}", self.hash("accessor", &entry.accessor));
        self.view
            .transaction(vec![
                TxnOp::Put {
                    key: id_key.clone(),
                    value,
                },
                TxnOp::Put {
                    key: accessor_key,
                    value: id_key.into_bytes(),
                },
            ])
            .await?;
        Ok(token)
    }

    /// Finds the entry of a presented token.
    pub(crate) async fn lookup(&self, token: &str) -> Result<Option<TokenEntry>, CoreError> {
        if token.is_empty() || token.len() > 1024 {
            return Ok(None);
        }
        let Some(bytes) = self
            .view
            .get(&format!("id/{}", self.hash("id", token)))
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| CoreError::Corrupt("token entry"))
    }

    /// Finds a token's entry by its accessor.
    pub(crate) async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenEntry>, CoreError> {
        let key = format!("accessor/{}", self.hash("accessor", accessor));
        let Some(id_key) = self.view.get(&key).await? else { return Ok(None) };
        let id_key = String::from_utf8(id_key).map_err(|_| CoreError::Corrupt("token index"))?;
        let Some(bytes) = self.view.get(&id_key).await? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|_| CoreError::Corrupt("token entry"))
    }

    /// The store id of a token: the hash its entry is kept under.
    pub(crate) fn token_id(&self, token: &str) -> String {
        self.hash("id", token)
    }
}
