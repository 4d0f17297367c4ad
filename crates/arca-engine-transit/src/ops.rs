//! Cryptographic operations: encrypt, decrypt, rewrap, datakey, hmac, sign, verify, hash
//! and random, single or batched.

use arca_crypto::fill_random;
use arca_crypto::transit::HashAlg;
use arca_logical::{
    FieldData, LogicalError, LogicalResult, Operation, Request, Response, ResponseStatus,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::policy::{KeyType, Loaded, OpError, SaltLen, SignOpts};
use crate::util::{b64, b64_input};
use crate::{Inner, respond};

/// Largest `bytes` for `transit/random`.
const RANDOM_MAX_BYTES: u64 = 128 * 1024;

const NONCE_REFUSED: &str = "nonce provided when not allowed";

fn invalid(msg: impl Into<String>) -> LogicalError {
    LogicalError::invalid(msg)
}

/// One batch item, as a JSON object.
type Item = Map<String, Value>;

/// `batch_input`, or `None` when the request is a single operation.
fn batch_input(f: &FieldData<'_>) -> LogicalResult<Option<Vec<Item>>> {
    let Some(raw) = f.raw("batch_input") else {
        return Ok(None);
    };
    let Value::Array(items) = raw else {
        return Err(invalid(
            "failed to parse batch input: source data must be an array",
        ));
    };
    if items.is_empty() {
        return Err(invalid("missing batch input to process"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(m.clone()),
            _ => Err(invalid(format!(
                "failed to parse batch input: [{i}] expected a map"
            ))),
        })
        .collect::<LogicalResult<Vec<_>>>()
        .map(Some)
}

/// A string field of a batch item; absent and `null` are `None`.
fn item_str(item: &Item, i: usize, name: &str) -> LogicalResult<Option<String>> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!(
            "failed to parse batch input: '[{i}].{name}' expected type 'string'"
        ))),
    }
}

/// An integer field of a batch item (a number or a numeric string); absent is 0.
fn item_int(item: &Item, i: usize, name: &str) -> LogicalResult<i64> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => arca_types_int(v).ok_or_else(|| {
            invalid(format!(
                "failed to parse batch input: '[{i}].{name}' expected type 'int'"
            ))
        }),
    }
}

fn arca_types_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A decoded base64 field that may be empty.
fn decode_opt(s: &Option<String>) -> Result<Zeroizing<Vec<u8>>, String> {
    match s {
        Some(s) if !s.is_empty() => b64_input(s),
        _ => Ok(Zeroizing::new(Vec::new())),
    }
}

/// The answer of a batched operation; `fail400` says whether a failed item turns the
/// whole answer into a 400 with the normal envelope (encrypt and decrypt do).
fn batch_response(
    results: Vec<Value>,
    any_failed: bool,
    any_ok: bool,
    fail400: bool,
    f: &FieldData<'_>,
) -> LogicalResult<Option<Response>> {
    let code = f.i64("partial_failure_response_code")?;
    let mut d = Map::new();
    d.insert("batch_results".into(), Value::Array(results));
    let mut r = respond(d, f);
    if fail400 && any_failed {
        r.status = ResponseStatus::BadRequest;
        // Only 200 can be honoured besides 400; other overrides keep 400.
        if let Some(c) = code
            && any_ok
        {
            if c == 200 {
                r.status = ResponseStatus::Normal;
            } else if c != 400 {
                r.warnings.push(
                    "partial_failure_response_code: only 200 or 400 are supported, reverting to 400"
                        .to_owned(),
                );
            }
        }
    }
    Ok(Some(r))
}

/// Refuses a caller nonce (top-level or per item): transit never takes one.
fn refuse_nonce(v: Option<&Value>) -> Result<(), String> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.is_empty() => Ok(()),
        Some(_) => Err(NONCE_REFUSED.to_owned()),
    }
}

impl Inner {
    async fn key_or(&self, name: &str, missing: &str) -> LogicalResult<std::sync::Arc<Loaded>> {
        self.load_for_use(name)
            .await?
            .ok_or_else(|| invalid(missing))
    }

    pub(crate) async fn encrypt(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["nonce", "reference"]);
        let batch = batch_input(&f)?;
        let is_batch = batch.is_some();
        let items: Vec<Item> = match batch {
            Some(items) => {
                // Declared fields, unused in batch mode: no "ignored" warning (OpenBao's
                // schema knows them; hvac sends them as null beside batch_input).
                f.mark_used(&["plaintext", "context", "associated_data", "key_version"]);
                items
            }
            None => {
                let Some(pt) = f.string("plaintext")? else {
                    return Err(invalid("missing plaintext to encrypt"));
                };
                let mut m = Item::new();
                m.insert("plaintext".into(), pt.into());
                for k in ["context", "associated_data", "nonce"] {
                    if let Some(v) = f.raw(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
                m.insert(
                    "key_version".into(),
                    f.i64("key_version")?.unwrap_or(0).into(),
                );
                vec![m]
            }
        };
        struct Prepared {
            plaintext: Zeroizing<Vec<u8>>,
            context: Zeroizing<Vec<u8>>,
            aad: Option<String>,
            version: i64,
            reference: String,
            error: Option<String>,
        }
        let mut prepared = Vec::with_capacity(items.len());
        let context_set = item_str(&items[0], 0, "context")?.is_some_and(|c| !c.is_empty());
        for (i, item) in items.iter().enumerate() {
            let pt = item_str(item, i, "plaintext")?;
            if is_batch && pt.is_none() && !item.contains_key("plaintext") {
                return Err(invalid(format!(
                    "failed to parse batch input: '[{i}].plaintext' missing plaintext to encrypt"
                )));
            }
            let ctx = item_str(item, i, "context")?;
            if ctx.as_ref().is_some_and(|c| !c.is_empty()) != context_set {
                return Err(invalid(
                    "context should be set either in all the request blocks or in none",
                ));
            }
            let mut p = Prepared {
                plaintext: Zeroizing::new(Vec::new()),
                context: Zeroizing::new(Vec::new()),
                aad: item_str(item, i, "associated_data")?,
                version: item_int(item, i, "key_version")?,
                reference: item_str(item, i, "reference")?.unwrap_or_default(),
                error: None,
            };
            let step = (|| -> Result<(), String> {
                refuse_nonce(item.get("nonce"))?;
                p.plaintext = b64_input(pt.as_deref().unwrap_or_default())?;
                p.context = decode_opt(&ctx)?;
                Ok(())
            })();
            if let Err(e) = step {
                p.error = Some(e);
            }
            prepared.push(p);
        }
        if !is_batch && let Some(e) = &prepared[0].error {
            return Err(invalid(e.clone()));
        }

        // Upsert: the core says `create` when the key does not exist yet.
        let mut upsert_warning = None;
        if req.operation == Operation::Create {
            let type_name = f
                .string("type")?
                .unwrap_or_else(|| "aes256-gcm96".to_owned());
            let convergent = f.bool("convergent_encryption")?.unwrap_or(false);
            if convergent && !context_set {
                return Err(invalid(
                    "convergent encryption requires derivation to be enabled, so context is required",
                ));
            }
            let kt = match KeyType::from_name(&type_name) {
                Some(kt) if kt.aead().is_some() => kt,
                Some(KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521) => {
                    return Err(invalid(format!(
                        "key type {type_name} not supported for this operation"
                    )));
                }
                _ => return Err(invalid("unknown key type")),
            };
            if self.upsert_allowed().await?
                && !self.upsert_key(name, kt, context_set, convergent).await?
            {
                upsert_warning = Some(
                    "Attempted creation of the key during the encrypt operation, but it was created beforehand"
                        .to_owned(),
                );
            }
        } else {
            f.mark_used(&["type", "convergent_encryption"]);
        }
        let l = self.key_or(name, "encryption key not found").await?;

        let mut results = Vec::with_capacity(prepared.len());
        let (mut any_failed, mut any_ok) = (false, false);
        for (i, p) in prepared.iter().enumerate() {
            let outcome = match &p.error {
                Some(e) => Err(e.clone()),
                None => (|| -> Result<(String, u32), String> {
                    let aad = match &p.aad {
                        Some(a) if !a.is_empty() => {
                            if l.policy.key_type.aead().is_none() {
                                return Err(format!(
                                    "'[{i}].associated_data' provided for non-AEAD cipher suite {}",
                                    l.policy.key_type.name()
                                ));
                            }
                            b64_input(a)?
                        }
                        _ => Zeroizing::new(Vec::new()),
                    };
                    l.encrypt(p.version, &p.context, &aad, &p.plaintext)
                        .map_err(|e| e.message())
                })(),
            };
            match outcome {
                Ok((ct, ver)) => {
                    any_ok = true;
                    results.push(if is_batch {
                        json!({"ciphertext": ct, "key_version": ver, "reference": p.reference})
                    } else {
                        json!({"ciphertext": ct, "key_version": ver})
                    });
                }
                Err(e) => {
                    any_failed = true;
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"error": e, "reference": p.reference}));
                }
            }
        }
        let mut r = if is_batch {
            batch_response(results, any_failed, any_ok, true, &f)?.unwrap_or_default()
        } else {
            let Some(Value::Object(d)) = results.pop() else {
                return Err(LogicalError::internal());
            };
            respond(d, &f)
        };
        r.warnings.extend(upsert_warning);
        Ok(Some(r))
    }

    pub(crate) async fn decrypt(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["reference", "partial_failure_response_code"]);
        let (items, is_batch) = self.cipher_items(&f)?;
        let l = self.key_or(name, "encryption key not found").await?;
        let mut results = Vec::with_capacity(items.len());
        let (mut any_failed, mut any_ok) = (false, false);
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let ct = item_str(item, i, "ciphertext")?.unwrap_or_default();
            let ctx = item_str(item, i, "context")?;
            let aad = item_str(item, i, "associated_data")?;
            let outcome = (|| -> Result<String, String> {
                refuse_nonce(item.get("nonce"))?;
                if ct.is_empty() {
                    return Err("missing ciphertext to decrypt".to_owned());
                }
                let ctx = decode_opt(&ctx)?;
                let aad = match &aad {
                    Some(a) if !a.is_empty() => {
                        if l.policy.key_type.aead().is_none() {
                            return Err(format!(
                                "'[{i}].associated_data' provided for non-AEAD cipher suite {}",
                                l.policy.key_type.name()
                            ));
                        }
                        b64_input(a)?
                    }
                    _ => Zeroizing::new(Vec::new()),
                };
                let pt = l.decrypt(&ctx, &aad, &ct).map_err(|e| e.message())?;
                Ok(b64(&pt))
            })();
            match outcome {
                Ok(pt) => {
                    any_ok = true;
                    results.push(if is_batch {
                        json!({"plaintext": pt, "reference": reference})
                    } else {
                        json!({ "plaintext": pt })
                    });
                }
                Err(e) => {
                    any_failed = true;
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"plaintext": "", "error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            return batch_response(results, any_failed, any_ok, true, &f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, &f)))
    }

    /// Items for decrypt/rewrap: `batch_input`, or the single `ciphertext` (required), with
    /// the context-in-all-or-none rule.
    fn cipher_items(&self, f: &FieldData<'_>) -> LogicalResult<(Vec<Item>, bool)> {
        let (items, is_batch) = match batch_input(f)? {
            Some(items) => {
                // Declared fields, unused in batch mode (see encrypt).
                f.mark_used(&["ciphertext", "context", "associated_data", "key_version"]);
                (items, true)
            }
            None => {
                let ct = f.string("ciphertext")?.unwrap_or_default();
                if ct.is_empty() {
                    return Err(invalid("missing ciphertext to decrypt"));
                }
                let mut m = Item::new();
                m.insert("ciphertext".into(), ct.into());
                for k in ["context", "associated_data", "nonce"] {
                    if let Some(v) = f.raw(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
                m.insert(
                    "key_version".into(),
                    f.i64("key_version")?.unwrap_or(0).into(),
                );
                (vec![m], false)
            }
        };
        let context_set = item_str(&items[0], 0, "context")?.is_some_and(|c| !c.is_empty());
        for (i, item) in items.iter().enumerate() {
            if item_str(item, i, "context")?.is_some_and(|c| !c.is_empty()) != context_set {
                return Err(invalid(
                    "context should be set either in all the request blocks or in none",
                ));
            }
        }
        Ok((items, is_batch))
    }

    pub(crate) async fn rewrap(
        &self,
        req: &Request,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        f.mark_used(&["reference"]);
        let (items, is_batch) = self.cipher_items(&f)?;
        let l = self.key_or(name, "encryption key not found").await?;
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let ct = item_str(item, i, "ciphertext")?.unwrap_or_default();
            let ctx = item_str(item, i, "context")?;
            let version = item_int(item, i, "key_version")?;
            let outcome = (|| -> Result<(String, u32), String> {
                refuse_nonce(item.get("nonce"))?;
                if ct.is_empty() {
                    return Err("missing ciphertext to decrypt".to_owned());
                }
                let ctx = decode_opt(&ctx)?;
                let pt = l.decrypt(&ctx, &[], &ct).map_err(|e| e.message())?;
                l.encrypt(version, &ctx, &[], &pt).map_err(|e| e.message())
            })();
            match outcome {
                Ok((ct, ver)) => results.push(if is_batch {
                    json!({"ciphertext": ct, "key_version": ver, "reference": reference})
                } else {
                    json!({"ciphertext": ct, "key_version": ver})
                }),
                Err(e) => {
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            // OpenBao answers 200 for a partly failed rewrap batch; so do we.
            return batch_response(results, false, true, false, &f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn datakey(
        &self,
        req: &Request,
        kind: &str,
        name: &str,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let with_plaintext = match kind {
            "plaintext" => true,
            "wrapped" => false,
            _ => return Err(invalid("Invalid path, must be 'plaintext' or 'wrapped'")),
        };
        refuse_nonce(f.raw("nonce")).map_err(invalid)?;
        let version = f.i64("key_version")?.unwrap_or(0);
        let context = decode_opt(&f.string("context")?)
            .map_err(|_| invalid("failed to base64-decode context"))?;
        let aad = f.string("associated_data")?;
        let bits = f.i64("bits")?.unwrap_or(256);
        let l = self.key_or(name, "encryption key not found").await?;
        let len = match bits {
            128 => 16,
            256 => 32,
            512 => 64,
            _ => return Err(invalid("invalid bit length")),
        };
        let aad = match &aad {
            Some(a) if !a.is_empty() => {
                if l.policy.key_type.aead().is_none() {
                    return Err(invalid(format!(
                        "'associated_data' provided for non-AEAD cipher suite {}",
                        l.policy.key_type.name()
                    )));
                }
                b64_input(a).map_err(invalid)?
            }
            _ => Zeroizing::new(Vec::new()),
        };
        let mut key = Zeroizing::new(vec![0u8; len]);
        fill_random(&mut key).map_err(crate::TransitError::from)?;
        let (ct, ver) = l
            .encrypt(version, &context, &aad, &key)
            .map_err(OpError::into_logical)?;
        let mut d = Map::new();
        d.insert("ciphertext".into(), ct.into());
        d.insert("key_version".into(), ver.into());
        if with_plaintext {
            d.insert("plaintext".into(), b64(&key).into());
        }
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn hmac(
        &self,
        req: &Request,
        name: &str,
        url_alg: Option<&String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let alg_name = match url_alg {
            Some(a) => a.clone(),
            None => f
                .string("algorithm")?
                .unwrap_or_else(|| "sha2-256".to_owned()),
        };
        let version = f.i64("key_version")?.unwrap_or(0);
        let l = self.key_or(name, "encryption key not found").await?;
        let (ver, key) = l
            .hmac_key_for_generation(version)
            .map_err(OpError::into_logical)?;
        let hash = HashAlg::from_name(&alg_name).ok_or_else(|| invalid("unsupported algorithm"))?;
        let batch = batch_input(&f)?;
        let is_batch = batch.is_some();
        let items = match batch {
            Some(items) => items,
            None => {
                let Some(input) = f.string("input")? else {
                    return Err(invalid("missing input for HMAC"));
                };
                let mut m = Item::new();
                m.insert("input".into(), input.into());
                vec![m]
            }
        };
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let outcome = match item_str(item, i, "input")? {
                None => Err("missing input for HMAC".to_owned()),
                Some(input) => b64_input(&input)
                    .map_err(|e| format!("unable to decode input as base64: {e}"))
                    .map(|input| crate::util::envelope(ver, &b64(&hash.hmac(key, &input)))),
            };
            match outcome {
                Ok(mac) => results.push(if is_batch {
                    json!({"hmac": mac, "reference": reference})
                } else {
                    json!({ "hmac": mac })
                }),
                Err(e) => {
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            return batch_response(results, false, true, false, &f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, &f)))
    }

    /// Hash algorithm, marshaling and RSA options of sign and verify.
    fn sign_opts(f: &FieldData<'_>, url_alg: Option<&String>) -> LogicalResult<SignOpts> {
        let hash_name = match url_alg {
            Some(a) => a.clone(),
            None => match f.string("hash_algorithm")? {
                Some(h) if !h.is_empty() => h,
                _ => f
                    .string("algorithm")?
                    .unwrap_or_else(|| "sha2-256".to_owned()),
            },
        };
        let hash = if hash_name.is_empty() {
            HashAlg::Sha2_256
        } else if hash_name == "none" {
            return Err(invalid(
                "hash_algorithm=none is not supported; send a prehashed input with its hash algorithm",
            ));
        } else {
            HashAlg::from_name(&hash_name).ok_or_else(|| invalid("invalid hash algorithm"))?
        };
        let jws = match f.string("marshaling_algorithm")?.as_deref() {
            None | Some("") | Some("asn1") => false,
            Some("jws") => true,
            Some(_) => return Err(invalid("invalid marshaling type")),
        };
        let rsa_pss = match f.string("signature_algorithm")?.as_deref() {
            None | Some("") | Some("pss") => true,
            Some("pkcs1v15") => false,
            Some(_) => return Err(invalid("unsupported rsa signature algorithm")),
        };
        let salt = match f.string("salt_length")? {
            None => SaltLen::Auto,
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "auto" => SaltLen::Auto,
                "hash" => SaltLen::Hash,
                other => match other.parse::<i64>() {
                    Ok(n) if n >= 0 => SaltLen::Bytes(u32::try_from(n).unwrap_or(u32::MAX)),
                    Ok(_) => return Err(invalid("salt length is invalid")),
                    Err(_) => {
                        return Err(invalid("salt length neither 'auto', 'hash', nor an int"));
                    }
                },
            },
        };
        Ok(SignOpts {
            hash,
            prehashed: f.bool("prehashed")?.unwrap_or(false),
            jws,
            rsa_pss,
            salt,
        })
    }

    pub(crate) async fn sign(
        &self,
        req: &Request,
        name: &str,
        url_alg: Option<&String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let opts = Self::sign_opts(&f, url_alg)?;
        let version = f.i64("key_version")?.unwrap_or(0);
        let l = self.key_or(name, "signing key not found").await?;
        if !l.policy.key_type.supports_signing() {
            return Err(invalid(format!(
                "key type {} does not support signing",
                l.policy.key_type.name()
            )));
        }
        let batch = batch_input(&f)?;
        let is_batch = batch.is_some();
        let items = match batch {
            Some(items) => items,
            None => {
                let mut m = Item::new();
                m.insert(
                    "input".into(),
                    f.string("input")?.unwrap_or_default().into(),
                );
                if let Some(c) = f.string("context")? {
                    m.insert("context".into(), c.into());
                }
                vec![m]
            }
        };
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let input = item_str(item, i, "input")?;
            let ctx = item_str(item, i, "context")?;
            let outcome = (|| -> Result<crate::policy::Signed, String> {
                let Some(input) = input else {
                    return Err("missing input".to_owned());
                };
                let input = b64_input(&input)
                    .map_err(|e| format!("unable to decode input as base64: {e}"))?;
                let ctx =
                    decode_opt(&ctx).map_err(|_| "failed to base64-decode context".to_owned())?;
                l.sign(version, &ctx, &input, opts).map_err(|e| e.message())
            })();
            match outcome {
                Ok(s) => {
                    let mut m = Map::new();
                    m.insert("signature".into(), s.signature.into());
                    m.insert("key_version".into(), s.version.into());
                    if let Some(pk) = s.public_key {
                        m.insert(
                            if is_batch { "publickey" } else { "public_key" }.into(),
                            b64(&pk).into(),
                        );
                    }
                    if is_batch {
                        m.insert("reference".into(), reference.into());
                    }
                    results.push(Value::Object(m));
                }
                Err(e) => {
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"key_version": 0, "error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            return batch_response(results, false, true, false, &f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, &f)))
    }

    pub(crate) async fn verify(
        &self,
        req: &Request,
        name: &str,
        url_alg: Option<&String>,
    ) -> LogicalResult<Option<Response>> {
        let f = req.fields();
        let batch = batch_input(&f)?;
        let is_batch = batch.is_some();
        let items = match batch {
            Some(items) => items,
            None => {
                let mut m = Item::new();
                m.insert(
                    "input".into(),
                    f.string("input")?.unwrap_or_default().into(),
                );
                for k in ["signature", "hmac", "context"] {
                    if let Some(v) = f.string(k)? {
                        m.insert(k.into(), v.into());
                    }
                }
                vec![m]
            }
        };
        let sig_found = items.iter().any(|m| m.contains_key("signature"));
        let hmac_found = items
            .iter()
            .any(|m| !m.contains_key("signature") && m.contains_key("hmac"));
        let missing = items
            .iter()
            .any(|m| !m.contains_key("signature") && !m.contains_key("hmac"));
        match () {
            _ if !is_batch && sig_found && items[0].contains_key("hmac") => {
                return Err(invalid("provide one of 'signature' or 'hmac'"));
            }
            _ if !is_batch && !sig_found && !hmac_found => {
                return Err(invalid(
                    "neither a 'signature' nor an 'hmac' were given to verify",
                ));
            }
            _ if sig_found && hmac_found => {
                return Err(invalid(
                    "elements of batch_input must all provide 'signature' or all provide 'hmac'",
                ));
            }
            _ if missing && sig_found => {
                return Err(invalid(
                    "some elements of batch_input are missing 'signature'",
                ));
            }
            _ if missing && hmac_found => {
                return Err(invalid("some elements of batch_input are missing 'hmac'"));
            }
            _ if missing => {
                return Err(invalid(
                    "no batch_input elements have 'signature' or 'hmac'",
                ));
            }
            _ => {}
        }
        if hmac_found {
            return self.verify_hmac(&f, name, url_alg, items, is_batch).await;
        }
        let opts = Self::sign_opts(&f, url_alg)?;
        let l = self
            .key_or(name, "signature verification key not found")
            .await?;
        if !l.policy.key_type.supports_signing() {
            return Err(invalid(format!(
                "key type {} does not support verification",
                l.policy.key_type.name()
            )));
        }
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let input = item_str(item, i, "input")?;
            let sig = item_str(item, i, "signature")?.unwrap_or_default();
            let ctx = item_str(item, i, "context")?;
            let outcome = (|| -> Result<bool, String> {
                let Some(input) = input else {
                    return Err("missing input".to_owned());
                };
                let input = b64_input(&input)
                    .map_err(|e| format!("unable to decode input as base64: {e}"))?;
                let ctx =
                    decode_opt(&ctx).map_err(|_| "failed to base64-decode context".to_owned())?;
                l.verify(&ctx, &input, &sig, opts).map_err(|e| e.message())
            })();
            match outcome {
                Ok(valid) => results.push(if is_batch {
                    json!({"valid": valid, "reference": reference})
                } else {
                    json!({ "valid": valid })
                }),
                Err(e) => {
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"valid": false, "error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            return batch_response(results, false, true, false, &f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, &f)))
    }

    async fn verify_hmac(
        &self,
        f: &FieldData<'_>,
        name: &str,
        url_alg: Option<&String>,
        items: Vec<Item>,
        is_batch: bool,
    ) -> LogicalResult<Option<Response>> {
        let alg_name = match url_alg {
            Some(a) => a.clone(),
            None => match f.string("hash_algorithm")? {
                Some(h) if !h.is_empty() => h,
                _ => f
                    .string("algorithm")?
                    .unwrap_or_else(|| "sha2-256".to_owned()),
            },
        };
        f.mark_used(&[
            "marshaling_algorithm",
            "signature_algorithm",
            "prehashed",
            "salt_length",
        ]);
        let l = self.key_or(name, "encryption key not found").await?;
        let hash =
            HashAlg::from_name(&alg_name).ok_or_else(|| invalid("invalid hash algorithm"))?;
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let reference = item_str(item, i, "reference")?.unwrap_or_default();
            let input = item_str(item, i, "input")?;
            let mac = item_str(item, i, "hmac")?.unwrap_or_default();
            let outcome = (|| -> Result<bool, String> {
                let Some(input) = input else {
                    return Err("missing input".to_owned());
                };
                let input = b64_input(&input)
                    .map_err(|e| format!("unable to decode input as base64: {e}"))?;
                l.verify_hmac(hash, &input, &mac).map_err(|e| e.message())
            })();
            match outcome {
                Ok(valid) => results.push(if !is_batch {
                    json!({ "valid": valid })
                } else if valid {
                    json!({"valid": true, "reference": reference})
                } else {
                    // Vault omits a false `valid` in HMAC batch results.
                    json!({ "reference": reference })
                }),
                Err(e) => {
                    if !is_batch {
                        return Err(invalid(e));
                    }
                    results.push(json!({"error": e, "reference": reference}));
                }
            }
        }
        if is_batch {
            return batch_response(results, false, true, false, f);
        }
        let Some(Value::Object(d)) = results.pop() else {
            return Err(LogicalError::internal());
        };
        Ok(Some(respond(d, f)))
    }
}

/// `transit/hash[/<algorithm>]`.
pub(crate) fn hash(req: &Request, url_alg: Option<&String>) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let Some(input) = f.string("input")? else {
        return Err(invalid("input missing"));
    };
    let format = f.string("format")?.unwrap_or_else(|| "hex".to_owned());
    let alg_name = match url_alg {
        Some(a) => a.clone(),
        None => f
            .string("algorithm")?
            .unwrap_or_else(|| "sha2-256".to_owned()),
    };
    let input =
        b64_input(&input).map_err(|e| invalid(format!("unable to decode input as base64: {e}")))?;
    if format != "hex" && format != "base64" {
        return Err(invalid(
            "unsupported encoding format; must be \"hex\" or \"base64\"",
        ));
    }
    let alg = match HashAlg::from_name(&alg_name) {
        Some(HashAlg::Sha1) | None => return Err(invalid("unsupported algorithm")),
        Some(a) => a,
    };
    let sum = alg.digest(&input);
    let mut d = Map::new();
    d.insert(
        "sum".into(),
        if format == "hex" {
            hex::encode(sum)
        } else {
            b64(&sum)
        }
        .into(),
    );
    Ok(Some(respond(d, &f)))
}

/// `transit/random[/<source>][/<bytes>]`.
pub(crate) fn random(
    req: &Request,
    source: Option<&String>,
    url_bytes: Option<&String>,
) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let valid_source = |s: &str| matches!(s, "" | "platform" | "seal" | "all");
    let body_bytes = || -> LogicalResult<u64> {
        match f.i64("bytes")? {
            None => Ok(32),
            Some(n) if n < 1 => Err(invalid("'bytes' cannot be less than 1")),
            Some(n) => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
        }
    };
    let parse_url = |s: &str| -> LogicalResult<u64> {
        s.parse::<i64>()
            .map_err(|_| invalid("error parsing url-set byte count"))
            .and_then(|n| {
                if n < 1 {
                    Err(invalid("'bytes' cannot be less than 1"))
                } else {
                    Ok(u64::try_from(n).unwrap_or(u64::MAX))
                }
            })
    };
    let (source, bytes) = match (source, url_bytes) {
        (None, _) => ("platform".to_owned(), body_bytes()?),
        (Some(s), None) if valid_source(s) => (s.clone(), body_bytes()?),
        (Some(s), None) => {
            f.mark_used(&["bytes"]);
            ("platform".to_owned(), parse_url(s)?)
        }
        (Some(s), Some(b)) => {
            f.mark_used(&["bytes"]);
            (s.clone(), parse_url(b)?)
        }
    };
    f.mark_used(&["source"]);
    if bytes > RANDOM_MAX_BYTES {
        return Err(invalid(format!(
            "'bytes' should be less than {RANDOM_MAX_BYTES}"
        )));
    }
    let format = f.string("format")?.unwrap_or_else(|| "base64".to_owned());
    if format != "hex" && format != "base64" {
        return Err(invalid(
            "unsupported encoding format; must be \"hex\" or \"base64\"",
        ));
    }
    let mut warnings = Vec::new();
    match source.as_str() {
        "" | "platform" | "all" => {}
        "seal" => warnings.push(
            "no seal/entropy augmentation available, using platform entropy source".to_owned(),
        ),
        _ => {
            return Err(invalid(
                "unsupported entropy source; must be \"platform\" or \"seal\", or \"all\"",
            ));
        }
    }
    let len = usize::try_from(bytes).map_err(|_| LogicalError::internal())?;
    let mut buf = vec![0u8; len];
    fill_random(&mut buf).map_err(crate::TransitError::from)?;
    let mut d = Map::new();
    d.insert(
        "random_bytes".into(),
        if format == "hex" {
            hex::encode(&buf)
        } else {
            b64(&buf)
        }
        .into(),
    );
    let mut r = respond(d, &f);
    r.warnings.extend(warnings);
    Ok(Some(r))
}
