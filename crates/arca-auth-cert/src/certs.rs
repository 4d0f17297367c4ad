//! `certs/<name>`: trusted certificates and their constraints.

use std::time::Duration;

use arca_auth_common::{Legacy, TokenParams, trimmed_list};
use arca_logical::{LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::x509::{leaf_info, pem_certificates};
use crate::{CertBackend, CertError, list_response, warnings_only};

pub(crate) const CERT_PREFIX: &str = "cert/";

/// The legacy field names cert auth still accepts (plus `lease` for `ttl`).
pub(crate) const LEGACY: Legacy = Legacy::ALL;

/// A stored trusted certificate entry (field names as in Vault's API).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CertEntry {
    #[serde(flatten)]
    pub token: TokenParams,
    pub name: String,
    pub certificate: String,
    pub display_name: String,
    pub allowed_names: Vec<String>,
    pub allowed_common_names: Vec<String>,
    pub allowed_dns_sans: Vec<String>,
    pub allowed_email_sans: Vec<String>,
    pub allowed_uri_sans: Vec<String>,
    pub allowed_organizational_units: Vec<String>,
    pub required_extensions: Vec<String>,
    pub allowed_metadata_extensions: Vec<String>,
    pub ocsp_ca_certificates: String,
    pub ocsp_enabled: bool,
    pub ocsp_servers_override: Vec<String>,
    pub ocsp_fail_open: bool,
    pub ocsp_query_all_servers: bool,
}

/// An entry by its (lower-case) name.
pub(crate) async fn load(b: &CertBackend, name: &str) -> LogicalResult<Option<CertEntry>> {
    match b.storage.get(&format!("{CERT_PREFIX}{name}")).await? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| CertError::Corrupt("certificate").into()),
    }
}

/// Every entry's name.
pub(crate) async fn names(b: &CertBackend) -> LogicalResult<Vec<String>> {
    Ok(b.storage
        .list(CERT_PREFIX)
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect())
}

pub(crate) async fn list(b: &CertBackend) -> LogicalResult<Option<Response>> {
    Ok(list_response(names(b).await?))
}

pub(crate) async fn delete(b: &CertBackend, name: &str) -> LogicalResult<Option<Response>> {
    b.storage.delete(&format!("{CERT_PREFIX}{name}")).await?;
    Ok(None)
}

pub(crate) async fn read(b: &CertBackend, name: &str) -> LogicalResult<Option<Response>> {
    let Some(c) = load(b, name).await? else {
        return Ok(None);
    };
    let mut d = Map::new();
    d.insert("certificate".into(), json!(c.certificate));
    d.insert("display_name".into(), json!(c.display_name));
    d.insert("allowed_names".into(), json!(c.allowed_names));
    d.insert("allowed_common_names".into(), json!(c.allowed_common_names));
    d.insert("allowed_dns_sans".into(), json!(c.allowed_dns_sans));
    d.insert("allowed_email_sans".into(), json!(c.allowed_email_sans));
    d.insert("allowed_uri_sans".into(), json!(c.allowed_uri_sans));
    d.insert(
        "allowed_organizational_units".into(),
        json!(c.allowed_organizational_units),
    );
    d.insert("required_extensions".into(), json!(c.required_extensions));
    d.insert(
        "allowed_metadata_extensions".into(),
        json!(c.allowed_metadata_extensions),
    );
    d.insert("ocsp_ca_certificates".into(), json!(c.ocsp_ca_certificates));
    d.insert("ocsp_enabled".into(), json!(c.ocsp_enabled));
    d.insert(
        "ocsp_servers_override".into(),
        json!(c.ocsp_servers_override),
    );
    d.insert("ocsp_fail_open".into(), json!(c.ocsp_fail_open));
    d.insert(
        "ocsp_query_all_servers".into(),
        json!(c.ocsp_query_all_servers),
    );
    c.token.populate_data(&mut d, LEGACY);
    Ok(Some(Response::with_data(d)))
}

pub(crate) async fn write(
    b: &CertBackend,
    req: &Request,
    name: &str,
) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let mut c = load(b, name).await?.unwrap_or_else(|| CertEntry {
        name: name.to_owned(),
        ..CertEntry::default()
    });

    if let Some(v) = f.string("certificate")? {
        c.certificate = v;
    }
    if let Some(v) = f.string("ocsp_ca_certificates")? {
        c.ocsp_ca_certificates = v;
    }
    if let Some(v) = f.bool("ocsp_enabled")? {
        c.ocsp_enabled = v;
    }
    if let Some(v) = trimmed_list(&f, "ocsp_servers_override")? {
        c.ocsp_servers_override = v;
    }
    if let Some(v) = f.bool("ocsp_fail_open")? {
        c.ocsp_fail_open = v;
    }
    if let Some(v) = f.bool("ocsp_query_all_servers")? {
        c.ocsp_query_all_servers = v;
    }
    if let Some(v) = f.string("display_name")? {
        c.display_name = v;
    }
    for (field, target) in [
        ("allowed_names", &mut c.allowed_names),
        ("allowed_common_names", &mut c.allowed_common_names),
        ("allowed_dns_sans", &mut c.allowed_dns_sans),
        ("allowed_email_sans", &mut c.allowed_email_sans),
        ("allowed_uri_sans", &mut c.allowed_uri_sans),
        (
            "allowed_organizational_units",
            &mut c.allowed_organizational_units,
        ),
        ("required_extensions", &mut c.required_extensions),
        (
            "allowed_metadata_extensions",
            &mut c.allowed_metadata_extensions,
        ),
    ] {
        if let Some(v) = trimmed_list(&f, field)? {
            *target = v;
        }
    }
    if c.ocsp_enabled {
        return Err(LogicalError::invalid("OCSP checking is not supported"));
    }
    if c.required_extensions.iter().any(|e| !e.contains(':')) {
        return Err(LogicalError::invalid(
            "required_extensions entries must have the form 'oid:value'",
        ));
    }

    let mut warnings = c.token.update(&f, LEGACY)?;
    // `lease` is the oldest spelling of `ttl`.
    if f.raw("token_ttl").is_none()
        && f.raw("ttl").is_none()
        && let Some(d) = f.duration("lease")?
    {
        c.token.ttl = d.as_secs();
        c.token.token_ttl = d.as_secs();
    }

    let default_ttl = b.system.default_lease_ttl();
    let max_ttl = b.system.max_lease_ttl();
    if Duration::from_secs(c.token.token_ttl) > default_ttl {
        warnings.push(format!(
            "Given ttl of {} seconds is greater than current mount/system default of {} seconds",
            c.token.token_ttl,
            default_ttl.as_secs()
        ));
    }
    if Duration::from_secs(c.token.token_max_ttl) > max_ttl {
        warnings.push(format!(
            "Given max_ttl of {} seconds is greater than current mount/system default of {} seconds",
            c.token.token_max_ttl,
            max_ttl.as_secs()
        ));
    }
    if Duration::from_secs(c.token.token_period) > max_ttl {
        warnings.push(format!(
            "Given period of {} seconds is greater than the backend's maximum TTL of {} seconds",
            c.token.token_period,
            max_ttl.as_secs()
        ));
    }
    if c.display_name.is_empty() {
        c.display_name = name.to_owned();
    }

    let parsed = pem_certificates(&c.certificate);
    let Some(first) = parsed.first().and_then(|d| leaf_info(d)) else {
        return Err(LogicalError::invalid("failed to parse certificate"));
    };
    if !first.is_ca && !first.client_auth_usage {
        return Err(LogicalError::invalid(
            "nonCA certificates should have TLS client authentication set as an extended key usage",
        ));
    }
    f.mark_used(&["name"]);
    warnings.extend(f.warnings());

    let bytes = serde_json::to_vec(&c).map_err(|_| CertError::Encode("certificate"))?;
    b.storage
        .put(&format!("{CERT_PREFIX}{name}"), &bytes)
        .await?;
    Ok(warnings_only(warnings))
}
