//! Ed25519 signatures (RFC 8032) for values Arca signs itself, such as audit checkpoints.
//!
//! The private key travels only as a PKCS#8 document in `Zeroizing` memory; the key pair
//! type has no `Debug`, `Clone` or `Serialize`.

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// DER prefix of a SubjectPublicKeyInfo holding an Ed25519 key (RFC 8410): the key's 32
/// bytes follow it.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 private key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    /// A fresh key; returns it with its PKCS#8 encoding, to be stored encrypted.
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CryptoError::Rng)?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        let key = Self::from_pkcs8(&pkcs8)?;
        Ok((key, pkcs8))
    }

    /// Loads a key from its PKCS#8 encoding. A malformed document is `KeyLength`.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| CryptoError::KeyLength)?;
        Ok(Self { pair })
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig = self.pair.sign(msg);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        out
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }
}

/// Checks `sig` over `msg` with a raw 32-byte public key.
pub fn verify(public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    public_key.len() == PUBLIC_KEY_LEN
        && UnparsedPublicKey::new(&ED25519, public_key)
            .verify(msg, sig)
            .is_ok()
}

/// The public key as a DER SubjectPublicKeyInfo (what PEM `PUBLIC KEY` blocks hold).
pub fn public_key_spki_der(public_key: &[u8; PUBLIC_KEY_LEN]) -> Vec<u8> {
    let mut out = SPKI_PREFIX.to_vec();
    out.extend_from_slice(public_key);
    out
}

/// The raw key inside a DER SubjectPublicKeyInfo for Ed25519, if it is one.
pub fn public_key_from_spki_der(der: &[u8]) -> Option<[u8; PUBLIC_KEY_LEN]> {
    let rest = der.strip_prefix(&SPKI_PREFIX[..])?;
    rest.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_reload() {
        let (key, pkcs8) = SigningKey::generate().unwrap();
        let sig = key.sign(b"checkpoint");
        let pk = key.public_key();
        assert!(verify(&pk, b"checkpoint", &sig));
        assert!(!verify(&pk, b"checkpoinT", &sig));
        let reloaded = SigningKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(reloaded.public_key(), pk);
        let (other, _) = SigningKey::generate().unwrap();
        assert!(!verify(&other.public_key(), b"checkpoint", &sig));
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        let der = public_key_spki_der(&pk);
        assert_eq!(der.len(), 44);
        assert_eq!(public_key_from_spki_der(&der), Some(pk));
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let pk = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        assert!(verify(&pk, b"", &sig));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
