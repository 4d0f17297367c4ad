//! JWT validation with OpenBao's rules (`hashicorp/cap` `jwt.Validator`): algorithm,
//! signature, then `iss`, `sub`, `aud`, and the time claims with leeways.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::config::JwtConfig;
use crate::keys::{Alg, KeyCache, KeyError, KeyMaterial, KeySet, VerifyKey};

/// The algorithms a configuration may name (`jwt_supported_algs`): asymmetric only, as in
/// OpenBao's default list.
pub const SUPPORTED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// Bytes of an ES512 signature (`r ‖ s`, 66 bytes each).
const ES512_SIG_LEN: usize = 132;

/// Default leeway for a missing `exp` or `nbf` (cap's `DefaultLeewaySeconds`).
const DEFAULT_EXP_NBF_LEEWAY: i64 = 150;
/// Default clock skew (go-jose's `DefaultLeeway`).
const DEFAULT_CLOCK_SKEW: i64 = 60;

/// `alg` names we accept; `none`, `HS*` and unknown names are `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Alg> {
    use Algorithm::*;
    Some(Alg::Jwt(match name {
        "RS256" => RS256,
        "RS384" => RS384,
        "RS512" => RS512,
        "PS256" => PS256,
        "PS384" => PS384,
        "PS512" => PS512,
        "ES256" => ES256,
        "ES384" => ES384,
        "EdDSA" => EdDSA,
        "ES512" => return Some(Alg::Es512),
        _ => return None,
    }))
}

/// What a token must satisfy.
pub(crate) struct Expected<'a> {
    /// `iss` (empty: not checked).
    pub issuer: &'a str,
    /// `sub` (empty: not checked).
    pub subject: &'a str,
    /// `aud` must contain one of these (empty: not checked).
    pub audiences: &'a [String],
    /// Accepted `alg` values (empty: every supported one).
    pub algs: &'a [String],
    /// Leeways in seconds: 0 = default, negative = none.
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    pub clock_skew_leeway: i64,
    pub now: SystemTime,
}

/// Why a token was refused. The messages are cap's, so clients see what OpenBao says.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("invalid algorithm (alg) header parameter: token signed with unexpected algorithm")]
    UnexpectedAlgorithm,
    #[error(
        "error verifying token signature: no known key successfully validated the token signature"
    )]
    Signature,
    #[error("error verifying token signature: {0}")]
    Keys(String),
    #[error("invalid issuer (iss) claim")]
    Issuer,
    #[error("invalid subject (sub) claim")]
    Subject,
    #[error("invalid audience (aud) claim: audience claim does not match any expected audience")]
    Audience,
    #[error("invalid claims: {0} has the wrong type")]
    ClaimType(&'static str),
    #[error("no issued at (iat), not before (nbf), or expiration time (exp) claims in token")]
    NoTimeClaims,
    #[error("invalid not before (nbf) claim: token not yet valid")]
    NotYetValid,
    #[error("invalid expiration time (exp) claim: token is expired")]
    Expired,
    #[error("invalid issued at (iat) claim: token issued in the future")]
    IssuedInFuture,
}

impl From<KeyError> for TokenError {
    fn from(e: KeyError) -> Self {
        tracing::warn!(error = %e, "jwt key set unavailable");
        TokenError::Keys(e.to_string())
    }
}

fn b64url(part: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)
}

/// The header's `alg` and `kid`, read before anything is trusted.
fn header(token: &str) -> Result<(String, Option<String>), TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Map<String, Value> =
        serde_json::from_slice(&b64url(h)?).map_err(|_| TokenError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed)?
        .to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

/// The claims of an ES512 token, if `point` (a P-521 public key) verifies its signature.
fn verify_es512(token: &str, point: &[u8]) -> Option<Map<String, Value>> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    let sig = b64url(sig).ok().filter(|s| s.len() == ES512_SIG_LEN)?;
    let digest = arca_crypto::transit::HashAlg::Sha2_512.digest(signing_input.as_bytes());
    if !arca_crypto::transit::ecdsa_verify_digest(
        arca_crypto::transit::EcCurve::P521,
        point,
        &digest,
        &sig,
        true,
    ) {
        return None;
    }
    let (_, payload) = signing_input.split_once('.')?;
    serde_json::from_slice(&b64url(payload).ok()?).ok()
}

/// The claims, if `key` verifies the token's signature with `alg`.
fn verify_one(token: &str, alg: Alg, key: &VerifyKey) -> Option<Map<String, Value>> {
    match (&key.key, alg) {
        (KeyMaterial::P521(point), Alg::Es512) => verify_es512(token, point),
        (KeyMaterial::Jwt(k), Alg::Jwt(a)) => {
            let mut v = Validation::new(a);
            // Only the signature is checked here; claims follow cap's rules below.
            v.required_spec_claims.clear();
            v.validate_exp = false;
            v.validate_nbf = false;
            v.validate_aud = false;
            v.leeway = 0;
            jsonwebtoken::decode::<Map<String, Value>>(token, k, &v)
                .ok()
                .map(|d| d.claims)
        }
        _ => None,
    }
}

/// The claims, if one of `set`'s keys verifies the signature with `alg`.
fn verify_with(
    set: &KeySet,
    token: &str,
    alg: Alg,
    alg_name: &str,
    kid: Option<&str>,
) -> Option<Map<String, Value>> {
    set.keys
        .iter()
        .filter(|k| k.kind.fits(alg))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg_name))
        // In a remote set the `kid` selects the key; static keys have none and are all
        // tried, as in cap's StaticKeySet.
        .filter(|k| !set.remote || kid.is_none() || k.kid.as_deref() == kid)
        .find_map(|k| verify_one(token, alg, k))
}

fn knows_kid(set: &KeySet, kid: Option<&str>) -> bool {
    match kid {
        Some(kid) => set.keys.iter().any(|k| k.kid.as_deref() == Some(kid)),
        None => true,
    }
}

/// A NumericDate claim in whole seconds (`None` when absent).
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(TokenError::ClaimType(name)),
        Some(_) => Err(TokenError::ClaimType(name)),
    }
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(TokenError::ClaimType(name)),
    }
}

/// The `aud` claim as a list (a single string is one audience).
pub(crate) fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    match claims.get("aud") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(TokenError::ClaimType("aud")),
        Some(_) => Err(TokenError::ClaimType("aud")),
    }
}

fn leeway(configured: i64, default: i64) -> i64 {
    match configured {
        n if n < 0 => 0,
        0 => default,
        n => n,
    }
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// cap's time rules: at least one of `iat`/`nbf`/`exp`; a missing `exp` is the later of
/// `iat`/`nbf` plus the expiration leeway; a missing `nbf` is `iat`, else `exp` minus the
/// not-before leeway; then all three are checked with the clock-skew leeway.
pub(crate) fn check_times(
    claims: &Map<String, Value>,
    exp_leeway: i64,
    nbf_leeway: i64,
    skew_leeway: i64,
    now: SystemTime,
) -> Result<(), TokenError> {
    let iat = numeric_date(claims, "iat")?.unwrap_or(0);
    let mut exp = numeric_date(claims, "exp")?.unwrap_or(0);
    let mut nbf = numeric_date(claims, "nbf")?.unwrap_or(0);
    if iat == 0 && exp == 0 && nbf == 0 {
        return Err(TokenError::NoTimeClaims);
    }
    if exp == 0 {
        exp = iat
            .max(nbf)
            .saturating_add(leeway(exp_leeway, DEFAULT_EXP_NBF_LEEWAY));
    }
    if nbf == 0 {
        nbf = if iat != 0 {
            iat
        } else {
            exp.saturating_sub(leeway(nbf_leeway, DEFAULT_EXP_NBF_LEEWAY))
        };
    }
    let skew = i128::from(leeway(skew_leeway, DEFAULT_CLOCK_SKEW)) * 1_000_000_000;
    let now = unix_nanos(now);
    let at = |secs: i64| i128::from(secs) * 1_000_000_000;
    if now + skew < at(nbf) {
        return Err(TokenError::NotYetValid);
    }
    if now - skew > at(exp) {
        return Err(TokenError::Expired);
    }
    if now + skew < at(iat) {
        return Err(TokenError::IssuedInFuture);
    }
    Ok(())
}

/// Validates `token` against the mount's keys and `expected`; returns its claims.
pub(crate) async fn validate(
    keys: &KeyCache,
    cfg: &JwtConfig,
    token: &str,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, TokenError> {
    let (alg_name, kid) = header(token)?;
    let allowed = if expected.algs.is_empty() {
        SUPPORTED_ALGS.contains(&alg_name.as_str())
    } else {
        expected.algs.contains(&alg_name)
    };
    // `none`, `HS*` and anything unknown never parse, whatever the configuration says.
    let alg = parse_alg(&alg_name)
        .filter(|_| allowed)
        .ok_or(TokenError::UnexpectedAlgorithm)?;

    let set = keys.keys(cfg).await?;
    let mut claims = verify_with(&set, token, alg, &alg_name, kid.as_deref());
    if claims.is_none() && set.remote && !knows_kid(&set, kid.as_deref()) {
        // The issuer may have rotated its keys: look once more.
        if let Some(fresh) = keys.refresh(cfg).await? {
            claims = verify_with(&fresh, token, alg, &alg_name, kid.as_deref());
        }
    }
    let claims = claims.ok_or(TokenError::Signature)?;

    if !expected.issuer.is_empty() && string_claim(&claims, "iss")? != expected.issuer {
        return Err(TokenError::Issuer);
    }
    if !expected.subject.is_empty() && string_claim(&claims, "sub")? != expected.subject {
        return Err(TokenError::Subject);
    }
    let aud = audiences(&claims)?;
    if !expected.audiences.is_empty() && !expected.audiences.iter().any(|a| aud.contains(a)) {
        return Err(TokenError::Audience);
    }
    check_times(
        &claims,
        expected.expiration_leeway,
        expected.not_before_leeway,
        expected.clock_skew_leeway,
        expected.now,
    )?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_795_821_339;

    fn at(s: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(s).unwrap())
    }

    fn times(v: Value, exp: i64, nbf: i64, skew: i64) -> Result<(), TokenError> {
        check_times(v.as_object().unwrap(), exp, nbf, skew, at(NOW))
    }

    #[test]
    fn time_rules_follow_cap() {
        // Plain valid token.
        assert_eq!(
            times(json!({"iat": NOW - 10, "exp": NOW + 10}), 0, 0, 0),
            Ok(())
        );
        // Expired beyond the 60 s default skew; within it is fine.
        assert_eq!(
            times(json!({"exp": NOW - 61, "iat": NOW - 100}), 0, 0, 0),
            Err(TokenError::Expired)
        );
        assert_eq!(
            times(json!({"exp": NOW - 59, "iat": NOW - 100}), 0, 0, 0),
            Ok(())
        );
        // Skew disabled with -1.
        assert_eq!(
            times(json!({"exp": NOW - 1, "iat": NOW - 100}), 0, 0, -1),
            Err(TokenError::Expired)
        );
        // nbf in the future.
        assert_eq!(
            times(json!({"nbf": NOW + 120, "exp": NOW + 600}), 0, 0, 0),
            Err(TokenError::NotYetValid)
        );
        // iat in the future.
        assert_eq!(
            times(
                json!({"iat": NOW + 120, "exp": NOW + 600, "nbf": NOW - 5}),
                0,
                0,
                0
            ),
            Err(TokenError::IssuedInFuture)
        );
        // No time claim at all.
        assert_eq!(
            times(json!({"sub": "x"}), 0, 0, 0),
            Err(TokenError::NoTimeClaims)
        );
        // Missing exp: iat + expiration leeway (150 by default).
        assert_eq!(
            times(json!({"iat": NOW - 200}), 0, 0, -1),
            Err(TokenError::Expired)
        );
        assert_eq!(times(json!({"iat": NOW - 100}), 0, 0, -1), Ok(()));
        assert_eq!(
            times(json!({"iat": NOW - 100}), 50, 0, -1),
            Err(TokenError::Expired)
        );
        // Wrong types are refused.
        assert_eq!(
            times(json!({"exp": "tomorrow"}), 0, 0, 0),
            Err(TokenError::ClaimType("exp"))
        );
        // Fractional NumericDates are accepted.
        assert_eq!(
            times(json!({"exp": (NOW + 10) as f64 + 0.5}), 0, 0, 0),
            Ok(())
        );
    }

    #[test]
    fn header_parsing() {
        assert_eq!(header("a.b"), Err(TokenError::Malformed));
        assert_eq!(header("a.b.c.d"), Err(TokenError::Malformed));
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"RS256","kid":"k1"}"#);
        assert_eq!(
            header(&format!("{h}.e30.sig")).unwrap(),
            ("RS256".to_owned(), Some("k1".to_owned()))
        );
        assert!(parse_alg("none").is_none());
        assert!(parse_alg("HS256").is_none());
        assert_eq!(parse_alg("ES512"), Some(Alg::Es512));
    }

    #[test]
    fn es512_signatures_verify_with_p521_keys_only() {
        use std::sync::Arc;

        use arca_crypto::transit::{EcCurve, EcdsaSigner, HashAlg};
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

        let (signer, _) = EcdsaSigner::generate(EcCurve::P521).unwrap();
        let spki = signer.public_key_spki().unwrap();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(&spki)
        );
        let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let payload = b(br#"{"sub":"x"}"#);
        let input = format!("{}.{payload}", b(br#"{"alg":"ES512","kid":"k"}"#));
        let sig = signer
            .sign_digest(&HashAlg::Sha2_512.digest(input.as_bytes()), true)
            .unwrap();
        let token = format!("{input}.{}", b(&sig));

        let pem_set = KeySet {
            keys: Arc::new(vec![crate::keys::keys_from_pem(&pem).unwrap()]),
            remote: false,
        };
        let claims = verify_with(&pem_set, &token, Alg::Es512, "ES512", Some("k")).unwrap();
        assert_eq!(claims["sub"], "x");
        // A P-521 key never verifies another algorithm, and a changed payload fails.
        assert!(verify_with(&pem_set, &token, Alg::Jwt(Algorithm::ES384), "ES384", None).is_none());
        let forged = token.replacen(&payload, &b(br#"{"sub":"y"}"#), 1);
        assert!(verify_with(&pem_set, &forged, Alg::Es512, "ES512", None).is_none());
        let short = format!("{input}.{}", b(&sig[..131]));
        assert!(verify_with(&pem_set, &short, Alg::Es512, "ES512", None).is_none());

        // The same key as a JWK (uncompressed point at the end of the SPKI).
        let point = &spki[spki.len() - 133..];
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-521", "kid": "k",
                                    "x": b(&point[1..67]), "y": b(&point[67..])}]});
        let jwk_set = KeySet {
            keys: Arc::new(crate::keys::keys_from_jwks(&jwks).unwrap()),
            remote: true,
        };
        assert!(verify_with(&jwk_set, &token, Alg::Es512, "ES512", Some("k")).is_some());
        assert!(verify_with(&jwk_set, &token, Alg::Es512, "ES512", Some("other")).is_none());
        // A wrong coordinate length is not a key.
        let bad = json!({"keys": [{"kty": "EC", "crv": "P-521", "x": b(&point[1..66]),
                                   "y": b(&point[67..])}]});
        assert!(crate::keys::keys_from_jwks(&bad).unwrap().is_empty());
    }

    #[test]
    fn audience_shapes() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(audiences(&m(json!({"aud": "a"}))).unwrap(), vec!["a"]);
        assert_eq!(
            audiences(&m(json!({"aud": ["a", "b"]}))).unwrap(),
            vec!["a", "b"]
        );
        assert!(audiences(&m(json!({}))).unwrap().is_empty());
        assert!(audiences(&m(json!({"aud": 1}))).is_err());
    }
}
