//! Test signing keys and token minting with aws-lc-rs, including the malformed tokens an
//! attacker would send (`alg: none`, HS256 keyed with a public key).

use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use serde_json::{Value, json};

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

enum Signer {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec256(EcdsaKeyPair),
    Ec384(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A signing key with a `kid`.
pub struct TestKey {
    signer: Signer,
    pub kid: String,
}

fn rsa_pair() -> aws_lc_rs::rsa::KeyPair {
    aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap()
}

/// RSA key generation is slow: tests share a few keys.
pub fn shared_rsa(i: usize) -> Arc<TestKey> {
    static KEYS: OnceLock<Vec<Arc<TestKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3)
            .map(|n| {
                Arc::new(TestKey {
                    signer: Signer::Rsa(rsa_pair()),
                    kid: format!("rsa-{n}"),
                })
            })
            .collect()
    });
    Arc::clone(&keys[i])
}

impl TestKey {
    pub fn ec256(kid: &str) -> TestKey {
        TestKey {
            signer: Signer::Ec256(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            ),
            kid: kid.into(),
        }
    }

    pub fn ec384(kid: &str) -> TestKey {
        TestKey {
            signer: Signer::Ec384(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap(),
            ),
            kid: kid.into(),
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        TestKey {
            signer: Signer::Ed(Ed25519KeyPair::generate().unwrap()),
            kid: kid.into(),
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        let der: PublicKeyX509Der<'static> = match &self.signer {
            Signer::Rsa(k) => k.public_key().as_der().unwrap(),
            Signer::Ec256(k) | Signer::Ec384(k) => k.public_key().as_der().unwrap(),
            Signer::Ed(k) => k.public_key().as_der().unwrap(),
        };
        der.as_ref().to_vec()
    }

    /// `-----BEGIN PUBLIC KEY-----` (SPKI).
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der())
    }

    /// The public JWK, with `kid`, `use: sig` and no `alg`.
    pub fn jwk(&self) -> Value {
        match &self.signer {
            Signer::Rsa(k) => {
                let c = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(k.public_key());
                json!({"kty": "RSA", "kid": self.kid, "use": "sig", "n": b64url(&c.n), "e": b64url(&c.e)})
            }
            Signer::Ec256(k) | Signer::Ec384(k) => {
                let point = k.public_key().as_ref();
                let n = (point.len() - 1) / 2;
                let crv = if n == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "kid": self.kid, "use": "sig", "crv": crv,
                       "x": b64url(&point[1..=n]), "y": b64url(&point[n + 1..])})
            }
            Signer::Ed(k) => {
                json!({"kty": "OKP", "kid": self.kid, "use": "sig", "crv": "Ed25519",
                       "x": b64url(k.public_key().as_ref())})
            }
        }
    }

    /// The algorithm this key signs with by default.
    pub fn default_alg(&self) -> &'static str {
        match &self.signer {
            Signer::Rsa(_) => "RS256",
            Signer::Ec256(_) => "ES256",
            Signer::Ec384(_) => "ES384",
            Signer::Ed(_) => "EdDSA",
        }
    }

    fn raw_sign(&self, alg: &str, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(k) => {
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    other => panic!("rsa cannot sign {other}"),
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(padding, &rng, msg, &mut sig).unwrap();
                sig
            }
            Signer::Ec256(k) | Signer::Ec384(k) => k.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Signer::Ed(k) => k.sign(msg).as_ref().to_vec(),
        }
    }

    /// A compact JWS with `{"alg", "typ": "JWT", "kid"}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_alg(self.default_alg(), claims)
    }

    pub fn sign_alg(&self, alg: &str, claims: &Value) -> String {
        self.sign_header(&json!({"alg": alg, "typ": "JWT", "kid": self.kid}), claims)
    }

    pub fn sign_header(&self, header: &Value, claims: &Value) -> String {
        let alg = header["alg"].as_str().unwrap().to_owned();
        let msg = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self.raw_sign(&alg, msg.as_bytes());
        format!("{msg}.{}", b64url(&sig))
    }
}

/// `{"keys": [...]}`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// An unsigned token (`alg: none`, empty signature).
pub fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes())
    )
}

/// An HS256 token keyed with `secret` (the classic key-confusion attack uses the
/// server's public key bytes as the secret).
pub fn hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let msg = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, msg.as_bytes());
    format!("{msg}.{}", b64url(tag.as_ref()))
}
