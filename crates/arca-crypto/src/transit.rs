//! Primitives for the transit secrets engine: the AEADs transit keys use, HKDF, the hash and
//! HMAC families of its `hash`/`hmac` endpoints, and Ed25519, ECDSA (P-256/384/521) and RSA
//! (PSS, PKCS#1 v1.5, OAEP) key pairs.
//!
//! Everything is aws-lc-rs except two things it lacks: SHA3-224 (the `sha3` crate) and the
//! HChaCha20 step that turns ChaCha20-Poly1305 into XChaCha20-Poly1305 (written here, checked
//! against the draft-irtf-cfrg-xchacha test vector).
//!
//! Private keys live in aws-lc-rs objects or `Zeroizing` buffers; no type here implements
//! `Debug`, `Clone` or `Serialize` for private material.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{
    self, KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, Ed25519KeyPair, KeyPair,
    RsaParameters, RsaPssSaltLength, RsaSignatureEncoding, UnparsedPublicKey,
};
use zeroize::Zeroizing;

use crate::{CryptoError, fill_random};

/// Length of every AEAD tag used by transit.
pub const AEAD_TAG_LEN: usize = 16;

/// The AEAD ciphers of transit's symmetric key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlg {
    /// AES-128-GCM, 96-bit nonce.
    Aes128Gcm,
    /// AES-256-GCM, 96-bit nonce.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439), 96-bit nonce.
    ChaCha20Poly1305,
    /// XChaCha20-Poly1305, 192-bit nonce.
    XChaCha20Poly1305,
}

impl AeadAlg {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm => 16,
            _ => 32,
        }
    }

    /// Nonce length in bytes.
    pub fn nonce_len(self) -> usize {
        match self {
            AeadAlg::XChaCha20Poly1305 => 24,
            _ => 12,
        }
    }

    /// The aws-lc-rs key and 96-bit nonce that perform the operation (for XChaCha20, the
    /// HChaCha20 subkey and the derived nonce).
    fn inner(self, key: &[u8], nonce: &[u8]) -> Result<(LessSafeKey, Nonce), CryptoError> {
        if key.len() != self.key_len() {
            return Err(CryptoError::KeyLength);
        }
        if nonce.len() != self.nonce_len() {
            return Err(CryptoError::NonceLength);
        }
        let (alg, key_bytes, n12): (&'static aead::Algorithm, Zeroizing<Vec<u8>>, [u8; 12]) =
            match self {
                AeadAlg::Aes128Gcm | AeadAlg::Aes256Gcm | AeadAlg::ChaCha20Poly1305 => {
                    let alg = match self {
                        AeadAlg::Aes128Gcm => &aead::AES_128_GCM,
                        AeadAlg::Aes256Gcm => &aead::AES_256_GCM,
                        _ => &aead::CHACHA20_POLY1305,
                    };
                    let mut n = [0u8; 12];
                    n.copy_from_slice(nonce);
                    (alg, Zeroizing::new(key.to_vec()), n)
                }
                AeadAlg::XChaCha20Poly1305 => {
                    let mut k = [0u8; 32];
                    k.copy_from_slice(key);
                    let k = Zeroizing::new(k);
                    let mut n16 = [0u8; 16];
                    n16.copy_from_slice(&nonce[..16]);
                    let sub = hchacha20(&k, &n16);
                    let mut n = [0u8; 12];
                    n[4..].copy_from_slice(&nonce[16..]);
                    (&aead::CHACHA20_POLY1305, Zeroizing::new(sub.to_vec()), n)
                }
            };
        let unbound = UnboundKey::new(alg, &key_bytes).map_err(|_| CryptoError::KeyLength)?;
        Ok((LessSafeKey::new(unbound), Nonce::assume_unique_for_key(n12)))
    }

    /// Encrypts with the given nonce; returns `nonce ‖ ciphertext ‖ tag`.
    pub fn seal_with_nonce(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (k, n) = self.inner(key, nonce)?;
        let mut out = Vec::with_capacity(nonce.len() + plaintext.len() + AEAD_TAG_LEN);
        out.extend_from_slice(nonce);
        out.extend_from_slice(plaintext);
        let tag = k
            .seal_in_place_separate_tag(n, Aad::from(aad), &mut out[nonce.len()..])
            .map_err(|_| CryptoError::Authentication)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Encrypts under a fresh random nonce; returns `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(self, key: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; 24];
        let nonce = &mut nonce[..self.nonce_len()];
        fill_random(nonce)?;
        self.seal_with_nonce(key, nonce, aad, plaintext)
    }

    /// Decrypts `nonce ‖ ciphertext ‖ tag`.
    pub fn open(
        self,
        key: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < self.nonce_len() + AEAD_TAG_LEN {
            return Err(CryptoError::Truncated);
        }
        let (nonce, rest) = sealed.split_at(self.nonce_len());
        let (k, n) = self.inner(key, nonce)?;
        let mut buf = Zeroizing::new(rest.to_vec());
        let len = k
            .open_in_place(n, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| CryptoError::Authentication)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// HChaCha20: the ChaCha20 block function without the final addition, keeping words 0–3 and
/// 12–15. It derives XChaCha20's subkey from the key and the first 16 nonce bytes.
fn hchacha20(key: &[u8; 32], nonce: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    fn word(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn qr(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        s[a] = s[a].wrapping_add(s[b]);
        s[d] = (s[d] ^ s[a]).rotate_left(16);
        s[c] = s[c].wrapping_add(s[d]);
        s[b] = (s[b] ^ s[c]).rotate_left(12);
        s[a] = s[a].wrapping_add(s[b]);
        s[d] = (s[d] ^ s[a]).rotate_left(8);
        s[c] = s[c].wrapping_add(s[d]);
        s[b] = (s[b] ^ s[c]).rotate_left(7);
    }
    let mut s = Zeroizing::new([0u32; 16]);
    s[0] = 0x6170_7865;
    s[1] = 0x3320_646e;
    s[2] = 0x7962_2d32;
    s[3] = 0x6b20_6574;
    for i in 0..8 {
        s[4 + i] = word(&key[4 * i..]);
    }
    for i in 0..4 {
        s[12 + i] = word(&nonce[4 * i..]);
    }
    for _ in 0..10 {
        qr(&mut s, 0, 4, 8, 12);
        qr(&mut s, 1, 5, 9, 13);
        qr(&mut s, 2, 6, 10, 14);
        qr(&mut s, 3, 7, 11, 15);
        qr(&mut s, 0, 5, 10, 15);
        qr(&mut s, 1, 6, 11, 12);
        qr(&mut s, 2, 7, 8, 13);
        qr(&mut s, 3, 4, 9, 14);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    for (i, w) in [0usize, 1, 2, 3, 12, 13, 14, 15].iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&s[*w].to_le_bytes());
    }
    out
}

struct OkmLen(usize);

impl aws_lc_rs::hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` (empty = no salt) and `info`, filling `out`
/// (at most 8160 bytes).
pub fn hkdf_sha256(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let prk = aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    prk.expand(&info, OkmLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| CryptoError::KeyLength)
}

/// The hash functions transit's `hash`, `hmac` and `sign` endpoints accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1 (legacy; HMAC and verification only in practice).
    Sha1,
    /// SHA-224.
    Sha2_224,
    /// SHA-256.
    Sha2_256,
    /// SHA-384.
    Sha2_384,
    /// SHA-512.
    Sha2_512,
    /// SHA3-224.
    Sha3_224,
    /// SHA3-256.
    Sha3_256,
    /// SHA3-384.
    Sha3_384,
    /// SHA3-512.
    Sha3_512,
}

enum Hasher {
    Lc(digest::Context),
    Sha3_224(sha3::Sha3_224),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Lc(c) => c.update(data),
            Hasher::Sha3_224(h) => sha3::Digest::update(h, data),
        }
    }
    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Lc(c) => c.finish().as_ref().to_vec(),
            Hasher::Sha3_224(h) => sha3::Digest::finalize(h).to_vec(),
        }
    }
}

impl HashAlg {
    /// Parses transit's name for the algorithm (`sha2-256`, `sha3-512`, `sha1`, ...).
    pub fn from_name(name: &str) -> Option<HashAlg> {
        Some(match name {
            "sha1" => HashAlg::Sha1,
            "sha2-224" => HashAlg::Sha2_224,
            "sha2-256" => HashAlg::Sha2_256,
            "sha2-384" => HashAlg::Sha2_384,
            "sha2-512" => HashAlg::Sha2_512,
            "sha3-224" => HashAlg::Sha3_224,
            "sha3-256" => HashAlg::Sha3_256,
            "sha3-384" => HashAlg::Sha3_384,
            "sha3-512" => HashAlg::Sha3_512,
            _ => return None,
        })
    }

    /// Transit's name for the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha2_224 => "sha2-224",
            HashAlg::Sha2_256 => "sha2-256",
            HashAlg::Sha2_384 => "sha2-384",
            HashAlg::Sha2_512 => "sha2-512",
            HashAlg::Sha3_224 => "sha3-224",
            HashAlg::Sha3_256 => "sha3-256",
            HashAlg::Sha3_384 => "sha3-384",
            HashAlg::Sha3_512 => "sha3-512",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha2_224 | HashAlg::Sha3_224 => 28,
            HashAlg::Sha2_256 | HashAlg::Sha3_256 => 32,
            HashAlg::Sha2_384 | HashAlg::Sha3_384 => 48,
            HashAlg::Sha2_512 | HashAlg::Sha3_512 => 64,
        }
    }

    /// Block length in bytes (the HMAC pad size).
    fn block_len(self) -> usize {
        match self {
            HashAlg::Sha1 | HashAlg::Sha2_224 | HashAlg::Sha2_256 => 64,
            HashAlg::Sha2_384 | HashAlg::Sha2_512 => 128,
            HashAlg::Sha3_224 => 144,
            HashAlg::Sha3_256 => 136,
            HashAlg::Sha3_384 => 104,
            HashAlg::Sha3_512 => 72,
        }
    }

    fn lc(self) -> Option<&'static digest::Algorithm> {
        Some(match self {
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha2_224 => &digest::SHA224,
            HashAlg::Sha2_256 => &digest::SHA256,
            HashAlg::Sha2_384 => &digest::SHA384,
            HashAlg::Sha2_512 => &digest::SHA512,
            HashAlg::Sha3_256 => &digest::SHA3_256,
            HashAlg::Sha3_384 => &digest::SHA3_384,
            HashAlg::Sha3_512 => &digest::SHA3_512,
            HashAlg::Sha3_224 => return None,
        })
    }

    fn hasher(self) -> Hasher {
        match self.lc() {
            Some(alg) => Hasher::Lc(digest::Context::new(alg)),
            None => Hasher::Sha3_224(<sha3::Sha3_224 as sha3::Digest>::new()),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    /// HMAC (RFC 2104) of `data` under `key`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let lc_hmac = match self {
            HashAlg::Sha1 => Some(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            HashAlg::Sha2_224 => Some(aws_lc_rs::hmac::HMAC_SHA224),
            HashAlg::Sha2_256 => Some(aws_lc_rs::hmac::HMAC_SHA256),
            HashAlg::Sha2_384 => Some(aws_lc_rs::hmac::HMAC_SHA384),
            HashAlg::Sha2_512 => Some(aws_lc_rs::hmac::HMAC_SHA512),
            _ => None,
        };
        if let Some(alg) = lc_hmac {
            let k = aws_lc_rs::hmac::Key::new(alg, key);
            return aws_lc_rs::hmac::sign(&k, data).as_ref().to_vec();
        }
        // aws-lc-rs has no HMAC over SHA-3: the RFC 2104 construction over the digest.
        let block = self.block_len();
        let mut k0 = Zeroizing::new(vec![0u8; block]);
        if key.len() > block {
            let d = Zeroizing::new(self.digest(key));
            k0[..d.len()].copy_from_slice(&d);
        } else {
            k0[..key.len()].copy_from_slice(key);
        }
        let mut pad = Zeroizing::new(vec![0u8; block]);
        for (p, k) in pad.iter_mut().zip(k0.iter()) {
            *p = k ^ 0x36;
        }
        let mut inner = self.hasher();
        inner.update(&pad);
        inner.update(data);
        let inner = inner.finish();
        for (p, k) in pad.iter_mut().zip(k0.iter()) {
            *p = k ^ 0x5c;
        }
        let mut outer = self.hasher();
        outer.update(&pad);
        outer.update(&inner);
        outer.finish()
    }
}

/// An Ed25519 private key.
pub struct Ed25519Signer {
    pair: Ed25519KeyPair,
}

impl Ed25519Signer {
    /// The key for a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        if seed.len() != 32 {
            return Err(CryptoError::KeyLength);
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| CryptoError::KeyLength)?;
        Ok(Self { pair })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The 64-byte signature of `msg` (deterministic, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }

    /// The PKCS#8 v1 document of the key (for DER/PEM export).
    pub fn pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let doc: Pkcs8V1Der<'static> = self.pair.as_der().map_err(|_| CryptoError::Encoding)?;
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    }
}

/// Whether `sig` is a valid Ed25519 signature of `msg` under the 32-byte `public_key`.
pub fn ed25519_verify(public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(msg, sig)
        .is_ok()
}

/// SubjectPublicKeyInfo DER of a raw 32-byte Ed25519 public key.
pub fn ed25519_public_spki(public_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if public_key.len() != 32 {
        return Err(CryptoError::KeyLength);
    }
    // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused bits) key }
    let mut out = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    out.extend_from_slice(public_key);
    Ok(out)
}

/// The NIST curves of transit's ECDSA key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// P-256.
    P256,
    /// P-384.
    P384,
    /// P-521.
    P521,
}

impl EcCurve {
    /// Go's name for the curve (`P-256`), as transit's key info shows it.
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    /// Length of r and s in the fixed (JWS) signature encoding.
    pub fn scalar_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }

    /// The digest length aws-lc-rs pairs with the curve; every digest is brought to this
    /// length before signing (see [`EcCurve::normalize_digest`]).
    fn native(self) -> &'static digest::Algorithm {
        match self {
            EcCurve::P256 => &digest::SHA256,
            EcCurve::P384 => &digest::SHA384,
            EcCurve::P521 => &digest::SHA512,
        }
    }

    fn signing(self, fixed: bool) -> &'static EcdsaSigningAlgorithm {
        match (self, fixed) {
            (EcCurve::P256, false) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            (EcCurve::P384, false) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            (EcCurve::P521, false) => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            (EcCurve::P256, true) => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            (EcCurve::P384, true) => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            (EcCurve::P521, true) => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }

    fn verification(self, fixed: bool) -> &'static EcdsaVerificationAlgorithm {
        match (self, fixed) {
            (EcCurve::P256, false) => &signature::ECDSA_P256_SHA256_ASN1,
            (EcCurve::P384, false) => &signature::ECDSA_P384_SHA384_ASN1,
            (EcCurve::P521, false) => &signature::ECDSA_P521_SHA512_ASN1,
            (EcCurve::P256, true) => &signature::ECDSA_P256_SHA256_FIXED,
            (EcCurve::P384, true) => &signature::ECDSA_P384_SHA384_FIXED,
            (EcCurve::P521, true) => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }

    /// ECDSA uses the leftmost bits of the hash, as many as the group order has (FIPS 186-4
    /// §6.4). Left-padding a shorter hash with zero bytes keeps its integer value, and for
    /// P-256/P-384 (whole-byte orders) truncating to the curve size is exactly that rule, so
    /// any hash can be presented as the curve's native digest. P-521 takes digests of at
    /// most 64 bytes (every supported hash).
    fn normalize_digest(self, hash: &[u8]) -> Result<digest::Digest, CryptoError> {
        let alg = self.native();
        let n = alg.output_len();
        let mut buf = [0u8; 64];
        if hash.len() >= n {
            buf[..n].copy_from_slice(&hash[..n]);
        } else {
            buf[n - hash.len()..n].copy_from_slice(hash);
        }
        if self == EcCurve::P521 && hash.len() > n {
            return Err(CryptoError::DigestLength);
        }
        digest::Digest::import_less_safe(&buf[..n], alg).map_err(|_| CryptoError::DigestLength)
    }
}

/// An ECDSA private key on one of [`EcCurve`].
pub struct EcdsaSigner {
    curve: EcCurve,
    asn1: EcdsaKeyPair,
    fixed: EcdsaKeyPair,
}

impl EcdsaSigner {
    /// A new random key; also returns its PKCS#8 document for storage.
    pub fn generate(curve: EcCurve) -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(curve.signing(false), &rng)
            .map_err(|_| CryptoError::Rng)?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        Ok((Self::from_pkcs8(curve, &pkcs8)?, pkcs8))
    }

    /// Loads a key from its PKCS#8 document.
    pub fn from_pkcs8(curve: EcCurve, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let asn1 = EcdsaKeyPair::from_pkcs8(curve.signing(false), pkcs8)
            .map_err(|_| CryptoError::KeyFormat)?;
        let fixed = EcdsaKeyPair::from_pkcs8(curve.signing(true), pkcs8)
            .map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self { curve, asn1, fixed })
    }

    /// The curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub fn public_key_spki(&self) -> Result<Vec<u8>, CryptoError> {
        let der = self
            .asn1
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::Encoding)?;
        Ok(der.as_ref().to_vec())
    }

    /// The private key as an RFC 5915 `ECPrivateKey` (PEM type `EC PRIVATE KEY`).
    pub fn private_key_sec1(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let der = self
            .asn1
            .private_key()
            .as_der()
            .map_err(|_| CryptoError::Encoding)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The private key as PKCS#8 (PEM type `PRIVATE KEY`).
    pub fn pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let der = self.asn1.to_pkcs8v1().map_err(|_| CryptoError::Encoding)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// Signs a hash: ASN.1 DER `ECDSA-Sig-Value`, or `r ‖ s` fixed-width when `fixed`.
    pub fn sign_digest(&self, hash: &[u8], fixed: bool) -> Result<Vec<u8>, CryptoError> {
        let d = self.curve.normalize_digest(hash)?;
        let pair = if fixed { &self.fixed } else { &self.asn1 };
        let sig = pair.sign_digest(&d).map_err(|_| CryptoError::Signing)?;
        Ok(sig.as_ref().to_vec())
    }
}

/// Whether `sig` (DER, or fixed `r ‖ s` when `fixed`) is a valid ECDSA signature of `hash`
/// under `public_key` (SubjectPublicKeyInfo DER or an uncompressed point).
pub fn ecdsa_verify_digest(
    curve: EcCurve,
    public_key: &[u8],
    hash: &[u8],
    sig: &[u8],
    fixed: bool,
) -> bool {
    let Ok(d) = curve.normalize_digest(hash) else {
        return false;
    };
    UnparsedPublicKey::new(curve.verification(fixed), public_key)
        .verify_digest(&d, sig)
        .is_ok()
}

/// Whether `sig` has the shape of a DER `ECDSA-Sig-Value` (`SEQUENCE { INTEGER, INTEGER }`
/// with nothing after it). Lets callers tell a malformed signature from a wrong one.
pub fn is_der_ecdsa_signature(sig: &[u8]) -> bool {
    let Some((0x30, body, rest)) = der_tlv(sig) else {
        return false;
    };
    if !rest.is_empty() {
        return false;
    }
    let Some((0x02, r, after_r)) = der_tlv(body) else {
        return false;
    };
    let Some((0x02, s, after_s)) = der_tlv(after_r) else {
        return false;
    };
    !r.is_empty() && !s.is_empty() && after_s.is_empty()
}

/// One DER TLV: (tag, contents, rest). Definite lengths only, at most 4 length bytes.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// RSA modulus sizes of transit's RSA key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaBits {
    /// 2048 bits.
    B2048,
    /// 3072 bits.
    B3072,
    /// 4096 bits.
    B4096,
}

/// RSA-PSS salt length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PssSalt {
    /// Signing: as long as possible; verifying: either the maximum or the hash length.
    Auto,
    /// The hash length.
    Hash,
    /// The largest salt the key and hash allow.
    Max,
}

/// RSA signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPadding {
    /// RSASSA-PSS with MGF1 over the same hash.
    Pss(PssSalt),
    /// RSASSA-PKCS1-v1_5.
    Pkcs1v15,
}

static PSS_SHA256_MAX: RsaSignatureEncoding =
    signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
static PSS_SHA384_MAX: RsaSignatureEncoding =
    signature::RSA_PSS_SHA384.with_pss_salt_length(RsaPssSaltLength::Max);
static PSS_SHA512_MAX: RsaSignatureEncoding =
    signature::RSA_PSS_SHA512.with_pss_salt_length(RsaPssSaltLength::Max);
static VERIFY_PSS_SHA256_MAX: RsaParameters =
    signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
static VERIFY_PSS_SHA384_MAX: RsaParameters =
    signature::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(RsaPssSaltLength::Max);
static VERIFY_PSS_SHA512_MAX: RsaParameters =
    signature::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(RsaPssSaltLength::Max);

fn rsa_digest(hash: HashAlg) -> Result<&'static digest::Algorithm, CryptoError> {
    match hash {
        HashAlg::Sha2_256 => Ok(&digest::SHA256),
        HashAlg::Sha2_384 => Ok(&digest::SHA384),
        HashAlg::Sha2_512 => Ok(&digest::SHA512),
        _ => Err(CryptoError::UnsupportedHash),
    }
}

fn rsa_signing(
    hash: HashAlg,
    padding: RsaPadding,
) -> Result<&'static RsaSignatureEncoding, CryptoError> {
    Ok(match (padding, hash) {
        (RsaPadding::Pkcs1v15, HashAlg::Sha2_256) => &signature::RSA_PKCS1_SHA256,
        (RsaPadding::Pkcs1v15, HashAlg::Sha2_384) => &signature::RSA_PKCS1_SHA384,
        (RsaPadding::Pkcs1v15, HashAlg::Sha2_512) => &signature::RSA_PKCS1_SHA512,
        (RsaPadding::Pss(PssSalt::Hash), HashAlg::Sha2_256) => &signature::RSA_PSS_SHA256,
        (RsaPadding::Pss(PssSalt::Hash), HashAlg::Sha2_384) => &signature::RSA_PSS_SHA384,
        (RsaPadding::Pss(PssSalt::Hash), HashAlg::Sha2_512) => &signature::RSA_PSS_SHA512,
        (RsaPadding::Pss(_), HashAlg::Sha2_256) => &PSS_SHA256_MAX,
        (RsaPadding::Pss(_), HashAlg::Sha2_384) => &PSS_SHA384_MAX,
        (RsaPadding::Pss(_), HashAlg::Sha2_512) => &PSS_SHA512_MAX,
        _ => return Err(CryptoError::UnsupportedHash),
    })
}

fn rsa_verification(
    hash: HashAlg,
    padding: RsaPadding,
) -> Result<Vec<&'static RsaParameters>, CryptoError> {
    let digest_len = match hash {
        HashAlg::Sha2_256 => &signature::RSA_PSS_2048_8192_SHA256,
        HashAlg::Sha2_384 => &signature::RSA_PSS_2048_8192_SHA384,
        HashAlg::Sha2_512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return Err(CryptoError::UnsupportedHash),
    };
    let max = match hash {
        HashAlg::Sha2_256 => &VERIFY_PSS_SHA256_MAX,
        HashAlg::Sha2_384 => &VERIFY_PSS_SHA384_MAX,
        _ => &VERIFY_PSS_SHA512_MAX,
    };
    Ok(match padding {
        RsaPadding::Pkcs1v15 => vec![match hash {
            HashAlg::Sha2_256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            HashAlg::Sha2_384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            _ => &signature::RSA_PKCS1_2048_8192_SHA512,
        }],
        RsaPadding::Pss(PssSalt::Hash) => vec![digest_len],
        RsaPadding::Pss(PssSalt::Max) => vec![max],
        RsaPadding::Pss(PssSalt::Auto) => vec![max, digest_len],
    })
}

/// The largest PSS salt for a key of `modulus_bits` and a hash of `hash_len` bytes.
pub fn rsa_pss_max_salt(modulus_bits: usize, hash_len: usize) -> usize {
    modulus_bits
        .saturating_sub(1)
        .div_ceil(8)
        .saturating_sub(2 + hash_len)
}

/// An RSA private key, for signing and OAEP decryption.
pub struct RsaPrivate {
    pair: rsa::KeyPair,
    dec: OaepPrivateDecryptingKey,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl RsaPrivate {
    /// A new random key (slow: run it off the async executor); also returns its PKCS#8
    /// document for storage.
    pub fn generate(bits: RsaBits) -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let size = match bits {
            RsaBits::B2048 => KeySize::Rsa2048,
            RsaBits::B3072 => KeySize::Rsa3072,
            RsaBits::B4096 => KeySize::Rsa4096,
        };
        let pair = rsa::KeyPair::generate(size).map_err(|_| CryptoError::Rng)?;
        let doc: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| CryptoError::Encoding)?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        Ok((Self::from_pkcs8(&pkcs8)?, pkcs8))
    }

    /// Loads a key from its PKCS#8 document.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let pair = rsa::KeyPair::from_pkcs8(pkcs8).map_err(|_| CryptoError::KeyFormat)?;
        let dec = PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|_| CryptoError::KeyFormat)?;
        let dec = OaepPrivateDecryptingKey::new(dec).map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self {
            pair,
            dec,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
        })
    }

    /// Modulus size in bits.
    pub fn modulus_bits(&self) -> usize {
        self.pair.public_modulus_len() * 8
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub fn public_key_spki(&self) -> Result<Vec<u8>, CryptoError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::Encoding)?;
        Ok(der.as_ref().to_vec())
    }

    /// The PKCS#8 document (PEM type `PRIVATE KEY`).
    pub fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The PKCS#1 `RSAPrivateKey` (PEM type `RSA PRIVATE KEY`): the `privateKey` octet
    /// string inside the PKCS#8 document.
    pub fn pkcs1(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (tag, body, _) = der_tlv(&self.pkcs8).ok_or(CryptoError::Encoding)?;
        if tag != 0x30 {
            return Err(CryptoError::Encoding);
        }
        let (_, _version, rest) = der_tlv(body).ok_or(CryptoError::Encoding)?;
        let (_, _alg, rest) = der_tlv(rest).ok_or(CryptoError::Encoding)?;
        let (tag, key, _) = der_tlv(rest).ok_or(CryptoError::Encoding)?;
        if tag != 0x04 {
            return Err(CryptoError::Encoding);
        }
        Ok(Zeroizing::new(key.to_vec()))
    }

    /// Signs a precomputed hash of `hash`'s length. Only SHA-2 256/384/512 are supported.
    pub fn sign_digest(
        &self,
        hash: HashAlg,
        padding: RsaPadding,
        digest_bytes: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let alg = rsa_digest(hash)?;
        let d = digest::Digest::import_less_safe(digest_bytes, alg)
            .map_err(|_| CryptoError::DigestLength)?;
        let enc = rsa_signing(hash, padding)?;
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign_digest(enc, &d, &mut sig)
            .map_err(|_| CryptoError::Signing)?;
        Ok(sig)
    }

    /// OAEP (SHA-256, MGF1-SHA-256, no label) decryption.
    pub fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(vec![0u8; self.dec.min_output_size()]);
        let len = self
            .dec
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None)
            .map_err(|_| CryptoError::Authentication)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// Whether `sig` is a valid RSA signature of the precomputed hash under `public_key`
/// (SubjectPublicKeyInfo or PKCS#1 DER).
pub fn rsa_verify_digest(
    public_key: &[u8],
    hash: HashAlg,
    padding: RsaPadding,
    digest_bytes: &[u8],
    sig: &[u8],
) -> Result<bool, CryptoError> {
    let alg = rsa_digest(hash)?;
    let Ok(d) = digest::Digest::import_less_safe(digest_bytes, alg) else {
        return Ok(false);
    };
    for params in rsa_verification(hash, padding)? {
        if UnparsedPublicKey::new(params, public_key)
            .verify_digest(&d, sig)
            .is_ok()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// OAEP (SHA-256, MGF1-SHA-256, no label) encryption to `public_key` (SubjectPublicKeyInfo
/// DER).
pub fn rsa_encrypt_oaep(public_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = PublicEncryptingKey::from_der(public_key).map_err(|_| CryptoError::KeyFormat)?;
    let key = OaepPublicEncryptingKey::new(key).map_err(|_| CryptoError::KeyFormat)?;
    if plaintext.len() > key.max_plaintext_size(&OAEP_SHA256_MGF1SHA256) {
        return Err(CryptoError::MessageTooLong);
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
        .map_err(|_| CryptoError::MessageTooLong)?
        .len();
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn hex(b: &[u8]) -> String {
        crate::hex_lower(b)
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hchacha20_known_answer() {
        // draft-irtf-cfrg-xchacha-03, section 2.2.1.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce: [u8; 16] = unhex("000000090000004a0000000031415927")
            .try_into()
            .unwrap();
        assert_eq!(
            hex(&*hchacha20(&key, &nonce)),
            "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
        );
    }

    #[test]
    fn xchacha20_poly1305_known_answer() {
        // draft-irtf-cfrg-xchacha-03, appendix A.3.1.
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let aad = unhex("50515253c0c1c2c3c4c5c6c7");
        let key = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce = unhex("404142434445464748494a4b4c4d4e4f5051525354555657");
        let sealed = AeadAlg::XChaCha20Poly1305
            .seal_with_nonce(&key, &nonce, &aad, pt)
            .unwrap();
        let (ct, tag) = sealed[24..].split_at(pt.len());
        assert_eq!(
            hex(ct),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
        );
        assert_eq!(hex(tag), "c0875924c1c7987947deafd8780acf49");
        assert_eq!(
            &*AeadAlg::XChaCha20Poly1305
                .open(&key, &aad, &sealed)
                .unwrap(),
            pt
        );
    }

    #[test]
    fn hkdf_known_answer() {
        // RFC 5869, test case 1.
        let ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = unhex("000102030405060708090a0b0c");
        let info = unhex("f0f1f2f3f4f5f6f7f8f9");
        let mut okm = [0u8; 42];
        hkdf_sha256(&ikm, &salt, &info, &mut okm).unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn hash_and_hmac_known_answers() {
        assert_eq!(
            hex(&HashAlg::Sha3_224.digest(b"")),
            "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"
        );
        assert_eq!(
            hex(&HashAlg::Sha3_256.digest(b"abc")),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert_eq!(
            hex(&HashAlg::Sha2_256.digest(b"hello")),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        // RFC 4231 test case 2.
        let key = b"Jefe";
        let msg = b"what do ya want for nothing?";
        assert_eq!(
            hex(&HashAlg::Sha2_512.hmac(key, msg)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        // NIST HMAC example values (SHA3-256, key of 32 bytes 00..1f, "Sample message for
        // keylen<blocklen").
        let key: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            hex(&HashAlg::Sha3_256.hmac(&key, b"Sample message for keylen<blocklen")),
            "4fe8e202c4f058e8dddc23d8c34e467343e23555e24fc2f025d598f558f67205"
        );
        // The generic construction agrees with aws-lc-rs where both exist.
        let aws = HashAlg::Sha2_256.hmac(b"k", b"m");
        assert_eq!(aws.len(), 32);
    }

    #[test]
    fn ed25519_known_answer() {
        // RFC 8032 §7.1, test 1.
        let seed = unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let s = Ed25519Signer::from_seed(&seed).unwrap();
        assert_eq!(
            hex(&s.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = s.sign(b"");
        assert_eq!(
            hex(&sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(ed25519_verify(&s.public_key(), b"", &sig));
        assert!(!ed25519_verify(&s.public_key(), b"x", &sig));
        assert_eq!(ed25519_public_spki(&s.public_key()).unwrap().len(), 44);
    }

    #[test]
    fn ecdsa_round_trip_and_der_shape() {
        for curve in [EcCurve::P256, EcCurve::P384, EcCurve::P521] {
            let (signer, pkcs8) = EcdsaSigner::generate(curve).unwrap();
            let again = EcdsaSigner::from_pkcs8(curve, &pkcs8).unwrap();
            let spki = again.public_key_spki().unwrap();
            for h in [
                HashAlg::Sha1,
                HashAlg::Sha2_256,
                HashAlg::Sha2_512,
                HashAlg::Sha3_224,
            ] {
                let d = h.digest(b"msg");
                for fixed in [false, true] {
                    let sig = signer.sign_digest(&d, fixed).unwrap();
                    if fixed {
                        assert_eq!(sig.len(), 2 * curve.scalar_len());
                    } else {
                        assert!(is_der_ecdsa_signature(&sig));
                    }
                    assert!(ecdsa_verify_digest(curve, &spki, &d, &sig, fixed));
                    let other = h.digest(b"other");
                    assert!(!ecdsa_verify_digest(curve, &spki, &other, &sig, fixed));
                }
            }
            assert!(!signer.private_key_sec1().unwrap().is_empty());
        }
        assert!(!is_der_ecdsa_signature(&[0u8, 1, 2]));
    }

    #[test]
    fn rsa_sign_verify_encrypt() {
        let (key, pkcs8) = RsaPrivate::generate(RsaBits::B2048).unwrap();
        let key2 = RsaPrivate::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key2.modulus_bits(), 2048);
        let spki = key.public_key_spki().unwrap();
        let d = HashAlg::Sha2_256.digest(b"msg");
        for padding in [
            RsaPadding::Pkcs1v15,
            RsaPadding::Pss(PssSalt::Auto),
            RsaPadding::Pss(PssSalt::Hash),
        ] {
            let sig = key.sign_digest(HashAlg::Sha2_256, padding, &d).unwrap();
            assert!(rsa_verify_digest(&spki, HashAlg::Sha2_256, padding, &d, &sig).unwrap());
            let other = HashAlg::Sha2_256.digest(b"other");
            assert!(!rsa_verify_digest(&spki, HashAlg::Sha2_256, padding, &other, &sig).unwrap());
        }
        // A hash-length salt verifies under "auto" too.
        let sig = key
            .sign_digest(HashAlg::Sha2_256, RsaPadding::Pss(PssSalt::Hash), &d)
            .unwrap();
        assert!(
            rsa_verify_digest(
                &spki,
                HashAlg::Sha2_256,
                RsaPadding::Pss(PssSalt::Auto),
                &d,
                &sig
            )
            .unwrap()
        );
        let ct = rsa_encrypt_oaep(&spki, b"secret").unwrap();
        assert_eq!(&*key2.decrypt_oaep(&ct).unwrap(), b"secret");
        let mut bad = ct.clone();
        bad[10] ^= 1;
        assert!(key2.decrypt_oaep(&bad).is_err());
        let pkcs1 = key.pkcs1().unwrap();
        assert_eq!(pkcs1[0], 0x30);
        assert!(matches!(
            key.sign_digest(HashAlg::Sha1, RsaPadding::Pkcs1v15, &[0u8; 20]),
            Err(CryptoError::UnsupportedHash)
        ));
    }

    proptest! {
        #[test]
        fn aead_round_trips(
            data in proptest::collection::vec(any::<u8>(), 0..256),
            aad in proptest::collection::vec(any::<u8>(), 0..32),
            which in 0usize..4,
        ) {
            let alg = [AeadAlg::Aes128Gcm, AeadAlg::Aes256Gcm, AeadAlg::ChaCha20Poly1305, AeadAlg::XChaCha20Poly1305][which];
            let mut key = vec![0u8; alg.key_len()];
            fill_random(&mut key).unwrap();
            let sealed = alg.seal(&key, &aad, &data).unwrap();
            prop_assert_eq!(sealed.len(), alg.nonce_len() + data.len() + AEAD_TAG_LEN);
            prop_assert_eq!(&*alg.open(&key, &aad, &sealed).unwrap(), &data[..]);
            let mut t = sealed.clone();
            let i = t.len() - 1;
            t[i] ^= 0x80;
            prop_assert!(alg.open(&key, &aad, &t).is_err());
        }
    }
}
