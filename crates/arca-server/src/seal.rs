//! The `seal "<type>"` blocks: which seal the core gets. Only `transit` (and the default,
//! `shamir`) are known; the transit client is adapted here to the core's seal trait.

use std::sync::Arc;

use arca_config::ServerConfig;
use arca_core::{SealError, SealWrapper};
use arca_seal_transit::{TransitSeal, TransitSealConfig, TransitSealError};
use zeroize::Zeroizing;

use crate::ServerError;

/// A seal built from the configuration.
pub(crate) struct ConfiguredSeal {
    transit: Arc<TransitSeal>,
}

impl ConfiguredSeal {
    pub(crate) fn wrapper(&self) -> Arc<dyn SealWrapper> {
        Arc::new(TransitWrapper(Arc::clone(&self.transit)))
    }

    /// Token renewal, unless the block disables it.
    pub(crate) fn spawn_renewal(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.transit.spawn_renewal()
    }
}

struct TransitWrapper(Arc<TransitSeal>);

fn seal_error(e: TransitSealError) -> SealError {
    SealError {
        retryable: e.is_retryable(),
        message: e.to_string(),
    }
}

#[async_trait::async_trait]
impl SealWrapper for TransitWrapper {
    fn seal_type(&self) -> &'static str {
        "transit"
    }
    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        self.0.encrypt(plaintext).await.map_err(seal_error)
    }
    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.0.decrypt(ciphertext).await.map_err(seal_error)
    }
}

fn is_disabled(body: &serde_json::Value) -> bool {
    match body.get("disabled") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => matches!(s.as_str(), "true" | "1" | "t" | "TRUE"),
        _ => false,
    }
}

/// The seals the configuration asks for: the enabled one (`None` for Shamir: no block,
/// or `seal "shamir"`) and the disabled one, the seal a migration moves away from.
pub(crate) struct Seals {
    pub(crate) enabled: Option<ConfiguredSeal>,
    pub(crate) disabled: Option<ConfiguredSeal>,
}

pub(crate) fn from_config(config: &ServerConfig) -> Result<Seals, ServerError> {
    let (disabled, enabled): (Vec<_>, Vec<_>) =
        config.seals.iter().partition(|b| is_disabled(&b.body));
    if enabled.len() > 1 || disabled.len() > 1 {
        return Err(ServerError::Config(
            "at most two seal blocks: the one in use and, for a migration, one with disabled = \"true\"".into(),
        ));
    }
    let seals = Seals {
        enabled: enabled.first().map(|b| build(b)).transpose()?.flatten(),
        disabled: disabled.first().map(|b| build(b)).transpose()?.flatten(),
    };
    if !disabled.is_empty() {
        tracing::warn!(
            "a disabled seal block is configured: unseal with migrate=true to migrate away from it"
        );
    }
    Ok(seals)
}

fn build(block: &arca_config::Block) -> Result<Option<ConfiguredSeal>, ServerError> {
    match block.labels.first().map(String::as_str) {
        Some("shamir") => Ok(None),
        Some("transit") => {
            let empty = serde_json::Map::new();
            let body = block.body.as_object().unwrap_or(&empty);
            let cfg = TransitSealConfig::from_block(body, |k| std::env::var(k).ok())
                .map_err(|e| ServerError::Config(format!("{}: {e}", block.source)))?;
            let transit = TransitSeal::new(cfg)
                .map_err(|e| ServerError::Config(format!("{}: {e}", block.source)))?;
            Ok(Some(ConfiguredSeal {
                transit: Arc::new(transit),
            }))
        }
        _ => Err(ServerError::Config(format!(
            "{}: unsupported seal type (Arca supports \"transit\" and \"shamir\")",
            block.source
        ))),
    }
}
