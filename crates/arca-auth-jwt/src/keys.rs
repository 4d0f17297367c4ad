//! Verification keys: parsed from PEM (public keys or certificates) and from JWK sets,
//! and cached per configuration for remote key sets.
//!
//! Every key records its type (RSA, P-256, P-384, P-521, Ed25519), so a token is only ever
//! checked with a key of the type its `alg` names; symmetric (`oct`) JWKs are skipped, so
//! no key can be used as an HMAC secret. P-521 keys (`ES512`, which jsonwebtoken lacks)
//! are kept as their uncompressed point and verified through `arca-crypto`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::config::{JwtConfig, KeySource};
use crate::fetch::{self, Discovery, FetchError};

/// A remote key set older than this is fetched again before use.
const MAX_CACHE_AGE: Duration = Duration::from_secs(3600);
/// At most one refetch for an unknown `kid` per this interval (an attacker can send
/// tokens with random `kid`s).
pub(crate) const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
/// Bytes of one P-521 coordinate.
const P521_COORD_LEN: usize = 66;

/// The type of a public key, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
}

/// A signature algorithm a token may name: one jsonwebtoken verifies, or ES512.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Jwt(Algorithm),
    Es512,
}

impl KeyKind {
    /// Whether a key of this type may verify `alg`.
    pub(crate) fn fits(self, alg: Alg) -> bool {
        use Algorithm::*;
        match (self, alg) {
            (KeyKind::EcP521, a) => a == Alg::Es512,
            (_, Alg::Es512) => false,
            (KeyKind::Rsa, Alg::Jwt(a)) => {
                matches!(a, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
            }
            (KeyKind::EcP256, Alg::Jwt(a)) => a == ES256,
            (KeyKind::EcP384, Alg::Jwt(a)) => a == ES384,
            (KeyKind::Ed25519, Alg::Jwt(a)) => a == EdDSA,
        }
    }
}

/// The verifying half of a key.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    /// Verified by jsonwebtoken.
    Jwt(DecodingKey),
    /// A P-521 public key as an uncompressed point (`04 ‖ x ‖ y`).
    P521(Vec<u8>),
}

/// One public key.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    /// The JWK `kid`; `None` for PEM keys.
    pub kid: Option<String>,
    /// The JWK `alg`, when the set pins one.
    pub alg: Option<String>,
    pub kind: KeyKind,
    pub key: KeyMaterial,
}

/// Why a key could not be used. No key bytes are included.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("data does not contain any valid public keys")]
    NoPem,
    #[error("unsupported public key type")]
    Unsupported,
    #[error("malformed public key")]
    Malformed,
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("no key source is configured")]
    NoSource,
}

fn from_spki(der: &[u8]) -> Result<(KeyKind, KeyMaterial), KeyError> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|_| KeyError::Malformed)?;
    let bits: &[u8] = &spki.subject_public_key.data;
    let jwt = KeyMaterial::Jwt;
    match spki.algorithm.algorithm.to_id_string().as_str() {
        OID_RSA => Ok((KeyKind::Rsa, jwt(DecodingKey::from_rsa_der(bits)))),
        OID_EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .ok_or(KeyError::Malformed)?;
            let kind = match curve.as_str() {
                OID_P256 => KeyKind::EcP256,
                OID_P384 => KeyKind::EcP384,
                OID_P521 => {
                    if bits.len() != 1 + 2 * P521_COORD_LEN || bits[0] != 4 {
                        return Err(KeyError::Malformed);
                    }
                    return Ok((KeyKind::EcP521, KeyMaterial::P521(bits.to_vec())));
                }
                _ => return Err(KeyError::Unsupported),
            };
            Ok((kind, jwt(DecodingKey::from_ec_der(bits))))
        }
        OID_ED25519 => {
            if bits.len() != 32 {
                return Err(KeyError::Malformed);
            }
            Ok((KeyKind::Ed25519, jwt(DecodingKey::from_ed_der(bits))))
        }
        _ => Err(KeyError::Unsupported),
    }
}

/// The first PEM block of `pem`: a `PUBLIC KEY` (SPKI), an `RSA PUBLIC KEY` (PKCS#1) or
/// a `CERTIFICATE` (its public key), as Vault's `ParsePublicKeyPEM` accepts.
pub(crate) fn keys_from_pem(pem: &str) -> Result<VerifyKey, KeyError> {
    let block = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .ok_or(KeyError::NoPem)?
        .map_err(|_| KeyError::NoPem)?;
    let (kind, key) = match block.label.as_str() {
        "PUBLIC KEY" => from_spki(&block.contents)?,
        "RSA PUBLIC KEY" => (
            KeyKind::Rsa,
            KeyMaterial::Jwt(DecodingKey::from_rsa_der(&block.contents)),
        ),
        "CERTIFICATE" => {
            let cert = block.parse_x509().map_err(|_| KeyError::Malformed)?;
            from_spki(cert.public_key().raw)?
        }
        _ => return Err(KeyError::NoPem),
    };
    Ok(VerifyKey {
        kid: None,
        alg: None,
        kind,
        key,
    })
}

fn jwk_key(jwk: &Value) -> Option<VerifyKey> {
    let s = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(u) = s("use")
        && u != "sig"
    {
        return None;
    }
    let jwt = KeyMaterial::Jwt;
    let (kind, key) = match s("kty")? {
        "RSA" => (
            KeyKind::Rsa,
            jwt(DecodingKey::from_rsa_components(s("n")?, s("e")?).ok()?),
        ),
        "EC" if s("crv")? == "P-521" => (KeyKind::EcP521, p521_point(s("x")?, s("y")?)?),
        "EC" => {
            let kind = match s("crv")? {
                "P-256" => KeyKind::EcP256,
                "P-384" => KeyKind::EcP384,
                _ => return None,
            };
            (
                kind,
                jwt(DecodingKey::from_ec_components(s("x")?, s("y")?).ok()?),
            )
        }
        "OKP" if s("crv")? == "Ed25519" => (
            KeyKind::Ed25519,
            jwt(DecodingKey::from_ed_components(s("x")?).ok()?),
        ),
        // `oct` (HMAC) and anything else is never a verification key here.
        _ => return None,
    };
    Some(VerifyKey {
        kid: s("kid").map(str::to_owned),
        alg: s("alg").map(str::to_owned),
        kind,
        key,
    })
}

/// A P-521 JWK's coordinates as an uncompressed point; `None` unless both are 66 bytes.
fn p521_point(x: &str, y: &str) -> Option<KeyMaterial> {
    let d = |c: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c.trim_end_matches('='))
            .ok()
            .filter(|b| b.len() == P521_COORD_LEN)
    };
    let mut point = Vec::with_capacity(1 + 2 * P521_COORD_LEN);
    point.push(4);
    point.extend(d(x)?);
    point.extend(d(y)?);
    Some(KeyMaterial::P521(point))
}

/// The usable keys of a JWKS document; keys of unsupported types are skipped. A document
/// without a `keys` array is an error.
pub(crate) fn keys_from_jwks(doc: &Value) -> Result<Vec<VerifyKey>, KeyError> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(KeyError::Malformed)?;
    Ok(keys.iter().filter_map(jwk_key).collect())
}

/// The keys of one key source, and when they were fetched.
struct Cached {
    source: KeySource,
    keys: Arc<Vec<VerifyKey>>,
    /// `None` for static keys, which never expire.
    fetched: Option<Instant>,
    discovery: Option<Arc<Discovery>>,
}

/// Keys of the mount's current key source. The lock also makes concurrent refetches
/// wait for one another instead of all going to the network.
#[derive(Default)]
pub(crate) struct KeyCache {
    inner: tokio::sync::Mutex<Option<Cached>>,
}

/// Keys for a validation, and whether they are a remote set (where `kid` matters and an
/// unknown `kid` may trigger a refetch).
pub(crate) struct KeySet {
    pub keys: Arc<Vec<VerifyKey>>,
    pub remote: bool,
}

async fn fetch_source(source: &KeySource) -> Result<Cached, KeyError> {
    match source {
        KeySource::Static(pems) => {
            let keys = pems
                .iter()
                .map(|p| keys_from_pem(p))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Cached {
                source: source.clone(),
                keys: Arc::new(keys),
                fetched: None,
                discovery: None,
            })
        }
        KeySource::Jwks { url, ca_pem } => {
            let client = fetch::client(ca_pem)?;
            let doc = fetch::get_json(&client, url).await?;
            Ok(Cached {
                source: source.clone(),
                keys: Arc::new(keys_from_jwks(&doc)?),
                fetched: Some(Instant::now()),
                discovery: None,
            })
        }
        KeySource::Discovery { url, ca_pem } => {
            let client = fetch::client(ca_pem)?;
            let d = fetch::discover(&client, url).await?;
            let doc = fetch::get_json(&client, &d.jwks_uri).await?;
            Ok(Cached {
                source: source.clone(),
                keys: Arc::new(keys_from_jwks(&doc)?),
                fetched: Some(Instant::now()),
                discovery: Some(Arc::new(d)),
            })
        }
    }
}

impl KeyCache {
    /// Forgets everything (after a configuration change).
    pub(crate) async fn reset(&self) {
        *self.inner.lock().await = None;
    }

    async fn current(
        &self,
        cfg: &JwtConfig,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Cached>>, KeyError> {
        let source = cfg.key_source().ok_or(KeyError::NoSource)?;
        let mut guard = self.inner.lock().await;
        let fresh = guard.as_ref().is_some_and(|c| {
            c.source == source && c.fetched.is_none_or(|t| t.elapsed() < MAX_CACHE_AGE)
        });
        if !fresh {
            *guard = Some(fetch_source(&source).await?);
        }
        Ok(guard)
    }

    /// The keys for `cfg`, fetched on first use and when the cache is stale.
    pub(crate) async fn keys(&self, cfg: &JwtConfig) -> Result<KeySet, KeyError> {
        let guard = self.current(cfg).await?;
        let c = guard.as_ref().ok_or(KeyError::NoSource)?;
        Ok(KeySet {
            keys: Arc::clone(&c.keys),
            remote: c.fetched.is_some(),
        })
    }

    /// Refetches a remote key set after a token named an unknown `kid`. `None` when the
    /// set is static or was fetched less than [`MIN_REFRESH_INTERVAL`] ago.
    pub(crate) async fn refresh(&self, cfg: &JwtConfig) -> Result<Option<KeySet>, KeyError> {
        let source = cfg.key_source().ok_or(KeyError::NoSource)?;
        let mut guard = self.inner.lock().await;
        if let Some(c) = guard.as_ref()
            && c.source == source
            && c.fetched.is_none_or(|t| t.elapsed() < MIN_REFRESH_INTERVAL)
        {
            return Ok(None);
        }
        let c = fetch_source(&source).await?;
        let set = KeySet {
            keys: Arc::clone(&c.keys),
            remote: c.fetched.is_some(),
        };
        *guard = Some(c);
        Ok(Some(set))
    }

    /// The discovery document of the configured provider.
    pub(crate) async fn discovery(&self, cfg: &JwtConfig) -> Result<Arc<Discovery>, KeyError> {
        let guard = self.current(cfg).await?;
        guard
            .as_ref()
            .and_then(|c| c.discovery.clone())
            .ok_or(KeyError::NoSource)
    }
}
