//! Cryptographic primitives for Arca, behind one seam.
//!
//! Every other crate reaches AES-256-GCM, SHA-256, HMAC-SHA-256, the system RNG and
//! constant-time comparison through this crate, so the provider (aws-lc-rs today) can be
//! swapped or switched to its FIPS build in one place.
//!
//! Architecture invariant: this crate depends on no other Arca crate.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

pub mod ed25519;

pub mod transit;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of the GCM nonce that prefixes every sealed value.
pub const AEAD_NONCE_LEN: usize = NONCE_LEN;
/// Length of the GCM authentication tag that ends every sealed value.
pub const AEAD_TAG_LEN: usize = 16;

/// Errors from cryptographic operations. They never carry key material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,
    /// A key had the wrong length.
    #[error("invalid key length")]
    KeyLength,
    /// Authentication of a sealed value failed: wrong key, wrong associated data, or tampering.
    #[error("message authentication failed")]
    Authentication,
    /// A sealed value was too short to contain a nonce and a tag.
    #[error("ciphertext too short")]
    Truncated,
    /// A nonce had the wrong length for the cipher.
    #[error("invalid nonce length")]
    NonceLength,
    /// A key could not be encoded.
    #[error("key encoding failed")]
    Encoding,
    /// A stored or supplied key document could not be parsed.
    #[error("invalid key format")]
    KeyFormat,
    /// A hash had the wrong length for the algorithm.
    #[error("invalid digest length")]
    DigestLength,
    /// A signature could not be produced.
    #[error("signing failed")]
    Signing,
    /// The hash algorithm is not supported for this key type.
    #[error("unsupported hash algorithm")]
    UnsupportedHash,
    /// The message is too long for the key (RSA-OAEP).
    #[error("message too long for the key")]
    MessageTooLong,
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new().fill(buf).map_err(|_| CryptoError::Rng)
}

/// Returns `N` random bytes.
pub fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill_random(&mut out)?;
    Ok(out)
}

/// A fresh random 256-bit key, zeroized on drop.
pub fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(key.as_mut())?;
    Ok(key)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random string of `len` characters from `[0-9A-Za-z]`, without modulo bias.
pub fn random_base62(len: usize) -> Result<String, CryptoError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf)?;
        for b in buf {
            // 248 = 4 * 62: rejecting the top values keeps every symbol equally likely.
            if b < 248 {
                out.push(char::from(BASE62[usize::from(b % 62)]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// A random RFC 4122 version-4 UUID in its canonical text form.
pub fn random_uuid() -> Result<String, CryptoError> {
    let mut b: [u8; 16] = random_array()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex_lower(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    HmacSha256Key::new(key).sign(data)
}

/// An HMAC-SHA-256 key prepared once (its inner and outer pads hashed) for many
/// signatures: keying costs two SHA-256 blocks and a context set-up, which a one-shot
/// [`hmac_sha256`] pays on every call. `Debug` shows nothing of the key.
pub struct HmacSha256Key(aws_lc_rs::hmac::Key);

impl HmacSha256Key {
    /// Prepares `key`.
    pub fn new(key: &[u8]) -> Self {
        Self(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key))
    }

    /// HMAC-SHA-256 of `data`; equal to `hmac_sha256(key, data)`.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.0, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

impl std::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256Key(<redacted>)")
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// An AES-256-GCM key. Its bytes are zeroized on drop and it has no `Debug`, `Clone` or
/// `Serialize`, so it cannot be printed or copied by accident.
pub struct AeadKey {
    key: LessSafeKey,
}

impl AeadKey {
    /// Builds a key from 32 raw bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::KeyLength);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::KeyLength)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Encrypts `plaintext` with a fresh random nonce, binding `aad`.
    /// Output layout: `nonce (12) ‖ ciphertext ‖ tag (16)`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes: [u8; NONCE_LEN] = random_array()?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AEAD_TAG_LEN);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| CryptoError::Authentication)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts a value produced by [`AeadKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN + AEAD_TAG_LEN {
            return Err(CryptoError::Truncated);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Truncated)?;
        let mut buf = Zeroizing::new(rest.to_vec());
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| CryptoError::Authentication)?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prepared_hmac_key_matches_one_shot_hmac_and_redacts() {
        let key = HmacSha256Key::new(b"salt-uuid");
        for data in [&b""[..], b"hvs.token", &[7u8; 200][..]] {
            assert_eq!(key.sign(data), hmac_sha256(b"salt-uuid", data));
        }
        assert!(!format!("{key:?}").contains("salt"));
        // hmac_sha256 is built on the prepared key: pin both to RFC 4231, test case 2.
        assert_eq!(
            hex_lower(&HmacSha256Key::new(b"Jefe").sign(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn aead_rejects_wrong_aad_and_tampering() {
        let key = AeadKey::new(&[7u8; 32]).unwrap();
        let sealed = key.seal(b"path/a", b"hello").unwrap();
        assert_eq!(&*key.open(b"path/a", &sealed).unwrap(), b"hello");
        assert!(matches!(
            key.open(b"path/b", &sealed),
            Err(CryptoError::Authentication)
        ));
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert!(key.open(b"path/a", &t).is_err(), "bit flip at {i} accepted");
        }
        assert!(matches!(
            key.open(b"path/a", &sealed[..20]),
            Err(CryptoError::Truncated)
        ));
    }

    #[test]
    fn uuid_and_base62_shapes() {
        let u = random_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let s = random_base62(24).unwrap();
        assert_eq!(s.len(), 24);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex_lower(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    proptest! {
        #[test]
        fn aead_round_trip(data in proptest::collection::vec(any::<u8>(), 0..512), aad in ".*") {
            let key = AeadKey::new(&random_key().unwrap()[..]).unwrap();
            let sealed = key.seal(aad.as_bytes(), &data).unwrap();
            prop_assert_eq!(&*key.open(aad.as_bytes(), &sealed).unwrap(), &data[..]);
        }
    }
}
