//! `config`: mount-wide settings.

use arca_logical::{LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::{CertBackend, CertError, warnings_only};

const CONFIG_KEY: &str = "config";

/// The stored settings (Vault's field names).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CertConfig {
    /// Renewals need not present the certificate used at login.
    pub disable_binding: bool,
    /// Copy the login metadata to the entity alias.
    pub enable_identity_alias_metadata: bool,
    /// Accepted for compatibility (OCSP is not implemented).
    pub ocsp_cache_size: i64,
    /// Accepted for compatibility (entries are not cached).
    pub role_cache_size: i64,
}

pub(crate) async fn load(b: &CertBackend) -> LogicalResult<CertConfig> {
    match b.storage.get(CONFIG_KEY).await? {
        None => Ok(CertConfig {
            ocsp_cache_size: 100,
            role_cache_size: 200,
            ..CertConfig::default()
        }),
        Some(raw) => serde_json::from_slice(&raw).map_err(|_| CertError::Corrupt("config").into()),
    }
}

pub(crate) async fn read(b: &CertBackend) -> LogicalResult<Option<Response>> {
    let c = load(b).await?;
    let mut d = Map::new();
    d.insert("disable_binding".into(), json!(c.disable_binding));
    d.insert(
        "enable_identity_alias_metadata".into(),
        json!(c.enable_identity_alias_metadata),
    );
    d.insert("ocsp_cache_size".into(), json!(c.ocsp_cache_size));
    d.insert("role_cache_size".into(), json!(c.role_cache_size));
    Ok(Some(Response::with_data(d)))
}

pub(crate) async fn write(b: &CertBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let mut c = load(b).await?;
    if let Some(v) = f.bool("disable_binding")? {
        c.disable_binding = v;
    }
    if let Some(v) = f.bool("enable_identity_alias_metadata")? {
        c.enable_identity_alias_metadata = v;
    }
    if let Some(v) = f.i64("ocsp_cache_size")? {
        if !(2..=100_000).contains(&v) {
            return Err(LogicalError::invalid(
                "invalid cache size, must be >= 2 and <= 100000",
            ));
        }
        c.ocsp_cache_size = v;
    }
    if let Some(v) = f.i64("role_cache_size")? {
        if v == 0 || v < -1 {
            return Err(LogicalError::invalid(
                "invalid cache size, must be -1 or greater than 0",
            ));
        }
        c.role_cache_size = v;
    }
    let warnings = f.warnings();
    let bytes = serde_json::to_vec(&c).map_err(|_| CertError::Encode("config"))?;
    b.storage.put(CONFIG_KEY, &bytes).await?;
    Ok(warnings_only(warnings))
}
