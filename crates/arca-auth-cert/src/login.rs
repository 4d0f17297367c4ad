//! `login`: verify the TLS client certificate chain against the trusted entries, apply
//! CRLs and constraints, and describe the token to issue. Renewals re-check the chain.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arca_auth_common::cidr::remote_allowed;
use arca_auth_common::equivalent_policies;
use arca_logical::{Alias, Auth, LogicalError, LogicalResult, Request, Response};
use base64::Engine;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::{Value, json};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

use crate::certs::{self, CertEntry};
use crate::x509::{LeafInfo, colon_hex, leaf_info, pem_certificates, serial_decimal};
use crate::{CertBackend, config, crls, glob_match};

const NO_CHAIN: &str = "invalid certificate or no client certificate supplied";
const NO_MATCH: &str =
    "no chain matching all constraints could be found for this login certificate";

/// A trusted entry with its certificates decoded.
pub(crate) struct Trusted {
    pub entry: CertEntry,
    ders: Vec<Vec<u8>>,
    /// Serial numbers (decimal) of `ders`, index for index.
    serials: Vec<String>,
    is_ca: bool,
}

impl Trusted {
    fn new(entry: CertEntry) -> Option<Self> {
        let ders = pem_certificates(&entry.certificate);
        let infos: Vec<LeafInfo> = ders.iter().filter_map(|d| leaf_info(d)).collect();
        let is_ca = infos.first()?.is_ca;
        Some(Self {
            entry,
            serials: infos.into_iter().map(|i| i.serial_decimal).collect(),
            ders,
            is_ca,
        })
    }
}

/// The entry named `name`, or every entry when `name` is empty.
async fn load_trusted(b: &CertBackend, name: &str) -> LogicalResult<Vec<Trusted>> {
    let names = if name.is_empty() {
        certs::names(b).await?
    } else {
        vec![name.to_owned()]
    };
    let mut out = Vec::new();
    for n in names {
        if let Some(entry) = certs::load(b, &n).await? {
            match Trusted::new(entry) {
                Some(t) => out.push(t),
                None => tracing::error!("a trusted certificate entry does not parse"),
            }
        }
    }
    Ok(out)
}

fn any_glob(patterns: &[String], values: &[&str]) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| values.iter().any(|v| glob_match(p, v)))
}

/// Vault's `matchesConstraints` without the revocation check (done on the chain).
pub(crate) fn matches_constraints(e: &CertEntry, leaf: &LeafInfo) -> bool {
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let mut names = vec![leaf.common_name.as_str()];
    names.extend(strs(&leaf.dns_names));
    names.extend(strs(&leaf.emails));
    any_glob(&e.allowed_names, &names)
        && any_glob(&e.allowed_common_names, &[leaf.common_name.as_str()])
        && any_glob(&e.allowed_dns_sans, &strs(&leaf.dns_names))
        && any_glob(&e.allowed_email_sans, &strs(&leaf.emails))
        && any_glob(&e.allowed_uri_sans, &strs(&leaf.uris))
        && any_glob(
            &e.allowed_organizational_units,
            &strs(&leaf.organizational_units),
        )
        && e.required_extensions.iter().all(|req| {
            let (oid, pattern) = req.split_once(':').unwrap_or((req.as_str(), ""));
            leaf.extensions
                .get(oid)
                .is_some_and(|v| glob_match(pattern, v))
        })
}

fn unix_time(now: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO))
}

/// Finds the trusted entry that accepts the presented chain (leaf first). The error is
/// the client-facing message.
pub(crate) fn verify_chain<'t>(
    trusted: &'t [Trusted],
    peer: &[Vec<u8>],
    revoked: &BTreeSet<String>,
    now: SystemTime,
) -> Result<(&'t Trusted, LeafInfo), &'static str> {
    let Some(leaf_der) = peer.first() else {
        return Err("no client certificate found");
    };
    let Some(leaf) = leaf_info(leaf_der) else {
        return Err(NO_CHAIN);
    };

    // A trusted non-CA certificate is pinned: the client must present exactly it.
    let unix_now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let leaf_current = leaf.not_before <= unix_now && unix_now <= leaf.not_after;
    for t in trusted.iter().filter(|t| !t.is_ca) {
        let pinned = t
            .ders
            .first()
            .is_some_and(|d| arca_crypto::constant_time_eq(d, leaf_der));
        if pinned
            && leaf_current
            && !revoked.contains(&leaf.serial_decimal)
            && matches_constraints(&t.entry, &leaf)
        {
            return Ok((t, leaf));
        }
    }

    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let Ok(ee) = EndEntityCert::try_from(&leaf_cert) else {
        return Err(NO_CHAIN);
    };
    // Path building may use what the client sent and every trusted CA certificate (Go's
    // verifier sees all of them in one pool).
    let mut intermediates: Vec<CertificateDer<'_>> = peer
        .iter()
        .skip(1)
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    for t in trusted.iter().filter(|t| t.is_ca) {
        intermediates.extend(t.ders.iter().map(|d| CertificateDer::from(d.as_slice())));
    }
    let time = unix_time(now);
    let mut verified_any = false;
    for t in trusted.iter().filter(|t| t.is_ca) {
        let ders: Vec<CertificateDer<'_>> = t
            .ders
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        let anchors: Vec<_> = ders
            .iter()
            .filter_map(|d| anchor_from_trusted_cert(d).ok())
            .collect();
        if anchors.len() != ders.len() {
            tracing::error!("a trusted certificate cannot be used as a trust anchor");
            continue;
        }
        let Ok(path) = ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            time,
            KeyUsage::client_auth(),
            None,
            None,
        ) else {
            continue;
        };
        verified_any = true;
        let mut chain_serials = vec![leaf.serial_decimal.clone()];
        chain_serials.extend(
            path.intermediate_certificates()
                .map(|c| serial_decimal(c.serial())),
        );
        let anchor_spki = path.anchor().subject_public_key_info.as_ref();
        if let Some(i) = anchors
            .iter()
            .position(|a| a.subject_public_key_info.as_ref() == anchor_spki)
            && let Some(s) = t.serials.get(i)
        {
            chain_serials.push(s.clone());
        }
        if chain_serials.iter().any(|s| revoked.contains(s)) {
            continue;
        }
        if matches_constraints(&t.entry, &leaf) {
            return Ok((t, leaf));
        }
    }
    Err(if verified_any { NO_MATCH } else { NO_CHAIN })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) async fn login(b: &CertBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let cfg = config::load(b).await?;
    if req.peer_certificates.is_empty() {
        return Err(LogicalError::invalid("no client certificate found"));
    }
    let name = f
        .string("name")?
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if name.contains('/') {
        return Err(LogicalError::invalid(NO_CHAIN));
    }
    let trusted = load_trusted(b, &name).await?;
    let revoked = crls::revoked_serials(b).await?;
    let (matched, leaf) = verify_chain(&trusted, &req.peer_certificates, &revoked, b.system.now())
        .map_err(LogicalError::invalid)?;
    let entry = &matched.entry;

    let remote = req.remote_addr.map(|a| a.ip());
    if !remote_allowed(&entry.token.token_bound_cidrs, remote) {
        return Err(LogicalError::permission_denied());
    }

    let mut metadata = BTreeMap::new();
    metadata.insert("cert_name".to_owned(), entry.name.clone());
    metadata.insert("common_name".to_owned(), leaf.common_name.clone());
    metadata.insert("serial_number".to_owned(), leaf.serial_decimal.clone());
    metadata.insert("subject_key_id".to_owned(), colon_hex(&leaf.subject_key_id));
    metadata.insert(
        "authority_key_id".to_owned(),
        colon_hex(&leaf.authority_key_id),
    );
    for oid in &entry.allowed_metadata_extensions {
        if let Some(v) = leaf.extensions.get(oid) {
            metadata.insert(oid.replace('.', "-"), v.clone());
        }
    }

    let mut auth = Auth {
        display_name: entry.display_name.clone(),
        metadata: metadata.clone(),
        alias: Some(Alias {
            name: leaf.common_name.clone(),
            metadata: if cfg.enable_identity_alias_metadata {
                metadata
            } else {
                BTreeMap::new()
            },
        }),
        ..Auth::default()
    };
    if let Some(leaf_der) = req.peer_certificates.first() {
        auth.internal_data
            .insert("certificate".into(), json!(b64(leaf_der)));
    }
    auth.internal_data
        .insert("subject_key_id".into(), json!(b64(&leaf.subject_key_id)));
    auth.internal_data.insert(
        "authority_key_id".into(),
        json!(b64(&leaf.authority_key_id)),
    );
    entry.token.populate_auth(&mut auth, remote)?;
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

/// Renewal: the entry must still exist with the same policies and, unless
/// `disable_binding`, the same certificate must be presented and still verify.
pub(crate) async fn renew(
    b: &CertBackend,
    req: &Request,
    auth: &Auth,
) -> LogicalResult<Option<Response>> {
    let cfg = config::load(b).await?;
    let name = auth.metadata.get("cert_name").cloned().unwrap_or_default();
    let Some(entry) = certs::load(b, &name).await? else {
        return Err(LogicalError::invalid(
            "the certificate entry of this token no longer exists",
        ));
    };
    if !equivalent_policies(&entry.token.token_policies, &auth.policies) {
        return Err(LogicalError::invalid("policies have changed, not renewing"));
    }
    if !cfg.disable_binding {
        let Some(original) = auth
            .internal_data
            .get("certificate")
            .and_then(Value::as_str)
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        else {
            return Err(LogicalError::invalid(
                "cannot validate renewal for cert auth for non-stored client certificate",
            ));
        };
        let trusted = load_trusted(b, &name).await?;
        let revoked = crls::revoked_serials(b).await?;
        verify_chain(&trusted, &req.peer_certificates, &revoked, b.system.now())
            .map_err(LogicalError::invalid)?;
        let same = req
            .peer_certificates
            .first()
            .is_some_and(|p| arca_crypto::constant_time_eq(p, &original));
        if !same {
            return Err(LogicalError::invalid(
                "client identity during renewal not matching client identity used during login",
            ));
        }
    }
    Ok(Some(entry.token.renewed(auth)))
}
