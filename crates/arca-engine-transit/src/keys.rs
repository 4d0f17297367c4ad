//! Key management: create, read, list, delete, config, rotate, trim, export, backup and
//! restore, and the mount-wide `config/keys`.

use arca_crypto::transit::ed25519_public_spki;
use arca_logical::{LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::policy::{HMAC_MAX_KEY, HMAC_MIN_KEY, KeyType, Loaded, OpError, Parsed, Policy, Stamp};
use crate::util::{self, b64, b64_input, pem, pem_secret, rfc3339_nanos};
use crate::{Inner, policy_key, respond};

const CONFIG_KEYS: &str = "config/keys";

/// `auto_rotate_period` must be 0 or at least an hour.
const MIN_AUTO_ROTATE: u64 = 3600;

/// The mount-wide settings at `config/keys`.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct KeysConfig {
    pub(crate) disable_upsert: bool,
}

fn invalid(msg: impl Into<String>) -> LogicalError {
    LogicalError::invalid(msg)
}

/// The key info every key endpoint answers with.
pub(crate) fn key_info(l: &Loaded, context: Option<&[u8]>) -> Result<Map<String, Value>, OpError> {
    let p = &l.policy;
    let kt = p.key_type;
    let mut d = Map::new();
    d.insert("name".into(), p.name.clone().into());
    d.insert("type".into(), kt.name().into());
    d.insert("derived".into(), p.derived.into());
    d.insert("deletion_allowed".into(), p.deletion_allowed.into());
    d.insert(
        "min_available_version".into(),
        p.min_available_version.into(),
    );
    d.insert(
        "min_decryption_version".into(),
        p.min_decryption_version.into(),
    );
    d.insert(
        "min_encryption_version".into(),
        p.min_encryption_version.into(),
    );
    d.insert("latest_version".into(), p.latest_version.into());
    d.insert("exportable".into(), p.exportable.into());
    d.insert(
        "allow_plaintext_backup".into(),
        p.allow_plaintext_backup.into(),
    );
    d.insert(
        "supports_encryption".into(),
        kt.supports_encryption().into(),
    );
    d.insert(
        "supports_decryption".into(),
        kt.supports_encryption().into(),
    );
    d.insert("supports_signing".into(), kt.supports_signing().into());
    d.insert(
        "supports_derivation".into(),
        kt.supports_derivation().into(),
    );
    d.insert("auto_rotate_period".into(), p.auto_rotate_secs.into());
    d.insert("imported_key".into(), false.into());
    d.insert("soft_deleted".into(), false.into());
    if p.key_size != 0 {
        d.insert("key_size".into(), p.key_size.into());
    }
    for (field, stamp) in [
        ("backup_info", p.backup_info),
        ("restore_info", p.restore_info),
    ] {
        if let Some(s) = stamp {
            d.insert(
                field.into(),
                json!({"time": rfc3339_nanos(s.nanos), "version": s.version}),
            );
        }
    }
    if p.derived {
        d.insert("kdf".into(), "hkdf_sha256".into());
        d.insert("convergent_encryption".into(), p.convergent.into());
        if p.convergent {
            d.insert("convergent_encryption_version".into(), (-1).into());
        }
    }
    if kt.aead().is_some() {
        let keys: Map<String, Value> = p
            .visible_versions()
            .map(|(v, e)| (v.to_string(), (e.created_nanos / 1_000_000_000).into()))
            .collect();
        d.insert("keys".into(), keys.into());
    } else if kt.is_asymmetric() {
        let mut keys = Map::new();
        for (v, e) in p.visible_versions() {
            let name = if let Some(c) = kt.curve() {
                c.name()
            } else {
                kt.name()
            };
            let public_key = if kt == KeyType::Ed25519 && p.derived {
                match context {
                    Some(ctx) if !ctx.is_empty() => {
                        let seed = l.derive_key(ctx, *v, 32)?;
                        b64(&arca_crypto::transit::Ed25519Signer::from_seed(&seed)?.public_key())
                    }
                    _ => String::new(),
                }
            } else {
                e.public_key.clone()
            };
            keys.insert(
                v.to_string(),
                json!({
                    "certificate_chain": "",
                    "creation_time": rfc3339_nanos(e.created_nanos),
                    "name": name,
                    "public_key": public_key,
                }),
            );
        }
        d.insert("keys".into(), keys.into());
    }
    Ok(d)
}

impl Inner {
    async fn read_keys_config(&self) -> LogicalResult<KeysConfig> {
        match self.storage.get(CONFIG_KEYS).await? {
            None => Ok(KeysConfig::default()),
            Some(raw) => {
                serde_json::from_slice(&raw).map_err(|_| crate::TransitError::Corrupt.into())
            }
        }
    }

    pub(crate) async fn upsert_allowed(&self) -> LogicalResult<bool> {
        Ok(!self.read_keys_config().await?.disable_upsert)
    }

    pub(crate) async fn read_config_keys(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let cfg = self.read_keys_config().await?;
        let mut d = Map::new();
        d.insert("disable_upsert".into(), cfg.disable_upsert.into());
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn write_config_keys(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.write.lock().await;
        let mut cfg = self.read_keys_config().await?;
        if let Some(v) = f.bool("disable_upsert")? {
            cfg.disable_upsert = v;
        } else if f.contains("disable_upsert") {
            cfg.disable_upsert = false;
        }
        let raw = serde_json::to_vec(&cfg).map_err(|_| crate::TransitError::Encode)?;
        self.storage.put(CONFIG_KEYS, &raw).await?;
        let mut d = Map::new();
        d.insert("disable_upsert".into(), cfg.disable_upsert.into());
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn list_keys(&self) -> LogicalResult<Option<Response>> {
        let keys: Vec<Value> = self
            .storage
            .list("policy/")
            .await?
            .into_iter()
            .filter(|k| !k.ends_with('/'))
            .map(Value::from)
            .collect();
        let mut d = Map::new();
        d.insert("keys".into(), keys.into());
        Ok(Some(Response::with_data(d)))
    }

    pub(crate) async fn read_key(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let context = match f.string("context")? {
            Some(c) if !c.is_empty() => {
                Some(b64_input(&c).map_err(|_| invalid("failed to base64-decode context"))?)
            }
            _ => None,
        };
        let Some(l) = self.load_for_use(name).await? else {
            return Ok(None);
        };
        let info =
            key_info(&l, context.as_deref().map(|c| &c[..])).map_err(OpError::into_logical)?;
        Ok(Some(respond(info, &f)))
    }

    /// Creates a key, or returns an existing one unchanged (whatever type was asked for).
    pub(crate) async fn create_key(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let type_name = f
            .string("type")?
            .unwrap_or_else(|| "aes256-gcm96".to_owned());
        let derived = f.bool("derived")?.unwrap_or(false);
        let convergent = f.bool("convergent_encryption")?.unwrap_or(false);
        let exportable = f.bool("exportable")?.unwrap_or(false);
        let allow_backup = f.bool("allow_plaintext_backup")?.unwrap_or(false);
        let auto_rotate = f
            .duration("auto_rotate_period")?
            .unwrap_or_default()
            .as_secs();
        let key_size = f.i64("key_size")?.unwrap_or(0);
        f.mark_used(&["context", "external_key_ref"]);
        if auto_rotate != 0 && auto_rotate < MIN_AUTO_ROTATE {
            return Err(invalid(
                "auto rotate period must be 0 to disable or at least an hour",
            ));
        }
        if !derived && convergent {
            return Err(invalid(
                "convergent encryption requires derivation to be enabled",
            ));
        }
        let Some(kt) = KeyType::from_name(&type_name) else {
            return Err(invalid("unknown key type"));
        };
        let key_size = if key_size != 0 {
            if kt != KeyType::Hmac {
                return Err(invalid(format!(
                    "key_size is not valid for algorithm {}",
                    kt.name()
                )));
            }
            match u32::try_from(key_size) {
                Ok(k) if (HMAC_MIN_KEY..=HMAC_MAX_KEY).contains(&k) => k,
                _ => return Err(invalid("invalid key_size")),
            }
        } else if kt == KeyType::Hmac {
            // Vault fails (500) without a size; 32 bytes is its minimum.
            HMAC_MIN_KEY
        } else {
            0
        };

        let _guard = self.write.lock().await;
        if let Some(l) = self.load(name).await? {
            let info = key_info(&l, None).map_err(OpError::into_logical)?;
            return Ok(Some(respond(info, &f)));
        }
        if (derived || convergent) && !kt.supports_derivation() {
            return Err(invalid(format!(
                "key derivation and convergent encryption not supported for keys of type {}",
                kt.name()
            )));
        }
        if convergent && kt.aead().is_none() {
            return Err(invalid(format!(
                "convergent encryption not supported for keys of type {}",
                kt.name()
            )));
        }
        let mut p = Policy::new(name, kt);
        p.derived = derived;
        p.convergent = convergent;
        p.exportable = exportable;
        p.allow_plaintext_backup = allow_backup;
        p.auto_rotate_secs = auto_rotate;
        p.key_size = key_size;
        self.rotate(&mut p).await?;
        self.store(&p).await?;
        drop(_guard);
        let l = Loaded::new(p);
        let info = key_info(&l, None).map_err(OpError::into_logical)?;
        Ok(Some(respond(info, &f)))
    }

    /// Creates a symmetric key for `encrypt` on a missing name (upsert).
    pub(crate) async fn upsert_key(
        &self,
        name: &str,
        kt: KeyType,
        derived: bool,
        convergent: bool,
    ) -> LogicalResult<bool> {
        let _guard = self.write.lock().await;
        if self.storage.get(&policy_key(name)).await?.is_some() {
            return Ok(false);
        }
        let mut p = Policy::new(name, kt);
        p.derived = derived;
        p.convergent = convergent;
        self.rotate(&mut p).await?;
        self.store(&p).await?;
        Ok(true)
    }

    pub(crate) async fn delete_key(&self, name: &str) -> LogicalResult<Option<Response>> {
        let _guard = self.write.lock().await;
        let Some(p) = self.load_owned(name).await? else {
            return Err(invalid(
                "error deleting policy: could not delete key; not found",
            ));
        };
        if !p.deletion_allowed {
            return Err(invalid(
                "error deleting policy: deletion is not allowed for this key",
            ));
        }
        self.storage.delete(&policy_key(name)).await?;
        self.cache_drop(name);
        Ok(None)
    }

    pub(crate) async fn config_key(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let min_dec = f.i64("min_decryption_version")?;
        let min_enc = f.i64("min_encryption_version")?;
        let deletion_allowed = f.bool("deletion_allowed")?;
        let exportable = f.bool("exportable")?;
        let allow_backup = f.bool("allow_plaintext_backup")?;
        let auto_rotate = f.duration("auto_rotate_period")?.map(|d| d.as_secs());

        let _guard = self.write.lock().await;
        let Some(mut p) = self.load_owned(name).await? else {
            return Err(invalid("no existing key named could be found"));
        };
        let mut warnings = Vec::new();
        if let Some(v) = min_dec {
            if v < 0 {
                return Err(invalid("min decryption version cannot be negative"));
            }
            let mut v = u32::try_from(v).unwrap_or(u32::MAX);
            if v == 0 {
                v = 1;
                warnings.push("since Vault 0.3 (prior to the OpenBao fork), transit key numbering starts at 1; forcing minimum to 1".to_owned());
            }
            if v != p.min_decryption_version {
                if v > p.latest_version {
                    return Err(invalid(format!(
                        "cannot set min decryption version of {v}, latest key version is {}",
                        p.latest_version
                    )));
                }
                p.min_decryption_version = v;
            }
        }
        if let Some(v) = min_enc {
            if v < 0 {
                return Err(invalid("min encryption version cannot be negative"));
            }
            let v = u32::try_from(v).unwrap_or(u32::MAX);
            if v != p.min_encryption_version {
                if v > p.latest_version {
                    return Err(invalid(format!(
                        "cannot set min encryption version of {v}, latest key version is {}",
                        p.latest_version
                    )));
                }
                p.min_encryption_version = v;
            }
        }
        if p.min_encryption_version > 0 && p.min_encryption_version < p.min_decryption_version {
            return Err(invalid(format!(
                "cannot set min encryption/decryption values; min encryption version of {} must be greater than or equal to min decryption version of {}",
                p.min_encryption_version, p.min_decryption_version
            )));
        }
        if let Some(v) = deletion_allowed {
            p.deletion_allowed = v;
        }
        if p.min_decryption_version == 0 {
            p.min_decryption_version = 1;
        }
        // Once set, exportable and allow_plaintext_backup cannot be unset.
        if exportable == Some(true) {
            p.exportable = true;
        }
        if allow_backup == Some(true) {
            p.allow_plaintext_backup = true;
        }
        if let Some(secs) = auto_rotate {
            if secs != 0 && secs < MIN_AUTO_ROTATE {
                return Err(invalid(
                    "auto rotate period must be 0 to disable or at least an hour",
                ));
            }
            p.auto_rotate_secs = secs;
        }
        if p.min_available_version > p.min_encryption_version && p.min_encryption_version != 0 {
            return Err(invalid(
                "min encryption version should not be less than min available version",
            ));
        }
        if p.min_available_version > p.min_decryption_version {
            return Err(invalid(
                "min decryption version should not be less then min available version",
            ));
        }
        self.store(&p).await?;
        drop(_guard);
        let info = key_info(&Loaded::new(p), None).map_err(OpError::into_logical)?;
        let mut r = respond(info, &f);
        r.warnings.extend(warnings);
        Ok(Some(r))
    }

    pub(crate) async fn rotate_key(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["external_key_ref"]);
        let _guard = self.write.lock().await;
        let Some(mut p) = self.load_owned(name).await? else {
            return Err(invalid("key not found"));
        };
        self.rotate(&mut p).await?;
        self.store(&p).await?;
        drop(_guard);
        let info = key_info(&Loaded::new(p), None).map_err(OpError::into_logical)?;
        Ok(Some(respond(info, &f)))
    }

    pub(crate) async fn trim_key(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let requested = f.i64("min_available_version")?;
        let _guard = self.write.lock().await;
        let Some(mut p) = self.load_owned(name).await? else {
            return Err(invalid("invalid key name"));
        };
        let Some(v) = requested else {
            return Err(invalid("missing min_available_version"));
        };
        let orig = i64::from(p.min_available_version);
        if v < orig {
            return Err(invalid("minimum available version cannot be decremented"));
        }
        if p.min_encryption_version == 0 {
            return Err(invalid(
                "minimum available version cannot be set when minimum encryption version is not set",
            ));
        }
        if p.min_decryption_version == 0 {
            return Err(invalid(
                "minimum available version cannot be set when minimum decryption version is not set",
            ));
        }
        if v > i64::from(p.min_encryption_version) {
            return Err(invalid(
                "minimum available version cannot be greater than minmum encryption version",
            ));
        }
        if v > i64::from(p.min_decryption_version) {
            return Err(invalid(
                "minimum available version cannot be greater than minimum decryption version",
            ));
        }
        if v <= 0 {
            return Err(invalid("minimum available version should be positive"));
        }
        let v = u32::try_from(v).unwrap_or(u32::MAX);
        p.min_available_version = v;
        // Trimmed versions are gone for good.
        p.keys.retain(|ver, _| *ver >= v);
        self.store(&p).await?;
        drop(_guard);
        let info = key_info(&Loaded::new(p), None).map_err(OpError::into_logical)?;
        Ok(Some(respond(info, &f)))
    }

    pub(crate) async fn export(
        &self,
        req: &Request,
        export_type: &str,
        name: &str,
        version: Option<&str>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let format = f.string("format")?.unwrap_or_default();
        if !matches!(
            export_type,
            "encryption-key" | "signing-key" | "hmac-key" | "public-key" | "certificate-chain"
        ) {
            return Err(invalid("invalid export type"));
        }
        if !matches!(format.as_str(), "" | "raw" | "der" | "pem") {
            return Err(invalid("invalid format"));
        }
        let Some(l) = self.load(name).await? else {
            return Ok(None);
        };
        let p = &l.policy;
        let kt = p.key_type;
        if !p.exportable && export_type != "public-key" && export_type != "certificate-chain" {
            return Err(invalid("private key material is not exportable"));
        }
        match export_type {
            "encryption-key" if !kt.supports_encryption() => {
                return Err(invalid("encryption not supported for the key"));
            }
            "signing-key" if !kt.supports_signing() => {
                return Err(invalid("signing not supported for the key"));
            }
            "certificate-chain" if !kt.supports_signing() => {
                return Err(invalid(
                    "certificate chain not supported for keys that do not support signing",
                ));
            }
            "certificate-chain" => {
                return Err(invalid(
                    "selected key version does not have a certificate chain imported",
                ));
            }
            _ => {}
        }
        let versions: Vec<u32> = match version {
            None | Some("") => p.visible_versions().map(|(v, _)| *v).collect(),
            Some(v) => {
                let ver = if v == "latest" {
                    p.latest_version
                } else {
                    v.strip_prefix('v')
                        .unwrap_or(v)
                        .parse::<u32>()
                        .map_err(|_| invalid("invalid key version"))?
                };
                if ver < p.min_decryption_version {
                    return Err(invalid(
                        "version for export is below minimum decryption version",
                    ));
                }
                if !p.keys.contains_key(&ver) {
                    return Err(invalid("version does not exist or cannot be found"));
                }
                vec![ver]
            }
        };
        let mut keys = Map::new();
        for ver in versions {
            let s = export_one(&l, ver, export_type, &format).map_err(OpError::into_logical)?;
            keys.insert(ver.to_string(), Value::String(s.to_string()));
        }
        let mut d = Map::new();
        d.insert("name".into(), p.name.clone().into());
        d.insert("type".into(), kt.name().into());
        d.insert("keys".into(), keys.into());
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn backup(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let _guard = self.write.lock().await;
        let Some(mut p) = self.load_owned(name).await? else {
            return Err(invalid("key not found"));
        };
        if !p.exportable {
            return Err(invalid("exporting is disallowed on the policy"));
        }
        if !p.allow_plaintext_backup {
            return Err(invalid("plaintext backup is disallowed on the policy"));
        }
        p.backup_info = Some(Stamp {
            nanos: self.now_nanos(),
            version: p.latest_version,
        });
        self.store(&p).await?;
        let encoded = p.encode()?;
        // The stored form with a format marker in front: `{"arca_transit_backup":1,...}`.
        let mut doc = Zeroizing::new(Vec::with_capacity(encoded.len() + 32));
        doc.extend_from_slice(b"{\"arca_transit_backup\":1,");
        doc.extend_from_slice(encoded.get(1..).unwrap_or_default());
        let mut d = Map::new();
        d.insert("backup".into(), Value::String(b64(&doc)));
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn restore(
        &self,
        req: &Request,
        path_name: Option<&String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let backup = f.string("backup")?.unwrap_or_default();
        let force = f.bool("force")?.unwrap_or(false);
        let body_name = f.string("name")?;
        if backup.is_empty() {
            return Err(invalid("'backup' must be supplied"));
        }
        let raw = Zeroizing::new(backup.into_bytes());
        let doc = util::b64_strict(std::str::from_utf8(&raw).unwrap_or_default())
            .map(Zeroizing::new)
            .ok_or_else(|| invalid("invalid backup: could not decode base64"))?;
        #[derive(Deserialize)]
        struct Marker {
            arca_transit_backup: Option<u32>,
        }
        let marker: Marker =
            serde_json::from_slice(&doc).map_err(|_| invalid("invalid backup document"))?;
        if marker.arca_transit_backup != Some(1) {
            return Err(invalid("unsupported backup format"));
        }
        let mut p = Policy::decode(&doc).map_err(|_| invalid("invalid backup document"))?;
        let name = path_name
            .map(String::as_str)
            .or(body_name.as_deref())
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| p.name.clone());
        if name.contains('/') || !valid_name(&name) {
            return Err(invalid("key names cannot be paths"));
        }
        p.name = name;
        let _guard = self.write.lock().await;
        if !force && self.storage.get(&policy_key(&p.name)).await?.is_some() {
            return Err(invalid("key already exists"));
        }
        p.restore_info = Some(Stamp {
            nanos: self.now_nanos(),
            version: p.latest_version,
        });
        self.store(&p).await?;
        let r = Response {
            warnings: f.warnings(),
            ..Response::default()
        };
        Ok(if r.warnings.is_empty() { None } else { Some(r) })
    }
}

fn valid_name(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = name.chars();
    let (Some(first), Some(last)) = (chars.next(), name.chars().last()) else {
        return false;
    };
    ok(first) && ok(last) && name.chars().all(|c| ok(c) || matches!(c, '.' | '@' | '-'))
}

/// One version's material in the requested export format.
fn export_one(
    l: &Loaded,
    ver: u32,
    export_type: &str,
    format: &str,
) -> Result<Zeroizing<String>, OpError> {
    let p = &l.policy;
    let kt = p.key_type;
    let Some(entry) = p.keys.get(&ver) else {
        return Err(OpError::user("version does not exist or cannot be found"));
    };
    let raw_only = |bytes: &[u8]| -> Result<Zeroizing<String>, OpError> {
        if format == "der" || format == "pem" {
            return Err(OpError::user(
                "unknown format for this key; supported values are `` or `raw`",
            ));
        }
        Ok(Zeroizing::new(b64(bytes)))
    };
    let no_raw = || -> Result<(), OpError> {
        if format == "raw" {
            return Err(OpError::user(
                "unknown key format for this key; supported values are ``, `der`, or `pem`",
            ));
        }
        Ok(())
    };
    let der_or_pem = |der: &[u8], label: &str, trim: bool| -> Zeroizing<String> {
        if format == "der" {
            Zeroizing::new(b64(der))
        } else {
            let s = pem_secret(label, der);
            if trim {
                Zeroizing::new(s.trim_end().to_owned())
            } else {
                s
            }
        }
    };
    match export_type {
        "hmac-key" => raw_only(&entry.hmac_key),
        "encryption-key" | "signing-key" => {
            if kt.aead().is_some() {
                return raw_only(&entry.key);
            }
            match &*l.parsed_version(ver)? {
                Parsed::Rsa { key, .. } => {
                    no_raw()?;
                    if format.is_empty() {
                        Ok(pem_secret("RSA PRIVATE KEY", &key.pkcs1()?))
                    } else {
                        Ok(der_or_pem(&key.pkcs8(), "PRIVATE KEY", false))
                    }
                }
                Parsed::Ec { signer, .. } => {
                    no_raw()?;
                    if format.is_empty() {
                        let s = pem_secret("EC PRIVATE KEY", &signer.private_key_sec1()?);
                        Ok(Zeroizing::new(s.trim_end().to_owned()))
                    } else {
                        Ok(der_or_pem(&signer.pkcs8()?, "PRIVATE KEY", true))
                    }
                }
                Parsed::Ed(signer) => {
                    if format.is_empty() || format == "raw" {
                        let mut full = Zeroizing::new(entry.key.to_vec());
                        full.extend_from_slice(&signer.public_key());
                        Ok(Zeroizing::new(b64(&full)))
                    } else {
                        Ok(der_or_pem(&signer.pkcs8()?, "PRIVATE KEY", true))
                    }
                }
            }
        }
        "public-key" => {
            if !kt.is_asymmetric() {
                return Err(OpError::user(format!(
                    "unknown key type {} for export type public-key",
                    kt.name()
                )));
            }
            match &*l.parsed_version(ver)? {
                Parsed::Rsa { spki, .. } => {
                    no_raw()?;
                    Ok(if format == "der" {
                        Zeroizing::new(b64(spki))
                    } else {
                        Zeroizing::new(pem("PUBLIC KEY", spki))
                    })
                }
                Parsed::Ec { spki, .. } => {
                    no_raw()?;
                    Ok(der_or_pem(spki, "PUBLIC KEY", true))
                }
                Parsed::Ed(signer) => {
                    let public = signer.public_key();
                    if format.is_empty() || format == "raw" {
                        Ok(Zeroizing::new(entry.public_key.clone()))
                    } else {
                        let spki = ed25519_public_spki(&public)?;
                        Ok(der_or_pem(&spki, "PUBLIC KEY", true))
                    }
                }
            }
        }
        _ => Err(OpError::user("invalid export type")),
    }
}
