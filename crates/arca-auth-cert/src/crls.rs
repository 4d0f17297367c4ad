//! `crls/<name>`: revoked serial numbers. A login chain containing any listed serial is
//! refused (Vault matches by serial number alone, across every stored CRL).

use std::collections::{BTreeMap, BTreeSet};

use arca_logical::{LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::x509::crl_serials;
use crate::{CertBackend, CertError, list_response};

const CRL_PREFIX: &str = "crls/";

/// A stored CRL: its revoked serials in decimal (Vault's `CRLInfo.Serials`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CrlInfo {
    pub serials: BTreeMap<String, Map<String, Value>>,
}

pub(crate) async fn load(b: &CertBackend, name: &str) -> LogicalResult<Option<CrlInfo>> {
    match b.storage.get(&format!("{CRL_PREFIX}{name}")).await? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| CertError::Corrupt("crl").into()),
    }
}

/// Every revoked serial of every stored CRL.
pub(crate) async fn revoked_serials(b: &CertBackend) -> LogicalResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for name in b.storage.list(CRL_PREFIX).await? {
        if name.ends_with('/') {
            continue;
        }
        if let Some(info) = load(b, &name).await? {
            out.extend(info.serials.into_keys());
        }
    }
    Ok(out)
}

pub(crate) async fn list(b: &CertBackend) -> LogicalResult<Option<Response>> {
    let keys = b
        .storage
        .list(CRL_PREFIX)
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect();
    Ok(list_response(keys))
}

pub(crate) async fn read(b: &CertBackend, name: &str) -> LogicalResult<Option<Response>> {
    let Some(info) = load(b, name).await? else {
        return Err(LogicalError::invalid("no such CRL"));
    };
    let mut data = Map::new();
    if !info.serials.is_empty() {
        data.insert("serials".into(), json!(info.serials));
    }
    Ok(Some(Response::with_data(data)))
}

pub(crate) async fn delete(b: &CertBackend, name: &str) -> LogicalResult<Option<Response>> {
    if load(b, name).await?.is_none() {
        return Err(LogicalError::invalid("no such CRL"));
    }
    b.storage.delete(&format!("{CRL_PREFIX}{name}")).await?;
    Ok(None)
}

pub(crate) async fn write(
    b: &CertBackend,
    req: &Request,
    name: &str,
) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let info = if let Some(text) = f.string("crl")? {
        let serials =
            crl_serials(&text).ok_or_else(|| LogicalError::invalid("failed to parse CRL"))?;
        CrlInfo {
            serials: serials.into_iter().map(|s| (s, Map::new())).collect(),
        }
    } else if f.string("url")?.is_some() {
        return Err(LogicalError::invalid(
            "fetching CRLs from a URL is not supported; upload the CRL with 'crl'",
        ));
    } else {
        return Err(LogicalError::invalid(
            "one of 'crl' or 'url' must be provided",
        ));
    };
    let bytes = serde_json::to_vec(&info).map_err(|_| CertError::Encode("crl"))?;
    b.storage
        .put(&format!("{CRL_PREFIX}{name}"), &bytes)
        .await?;
    Ok(None)
}
