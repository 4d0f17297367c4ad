//! The keyring: numbered data keys, their usage counters, and the sealed record that
//! stores them under the root key.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arca_crypto::{AeadKey, CryptoError, KEY_LEN};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{BarrierError, KEYRING_PATH, RootKey, RotationConfig};

const MAGIC: &[u8; 4] = b"ARKR";
const FORMAT: u8 = 1;
const ENVELOPE_VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 1 + 8 + 8 + 4 + 4;
const TERM_LEN: usize = 4 + 16 + 8 + KEY_LEN;

/// One data key of the keyring.
pub(crate) struct TermKey {
    pub(crate) term: u32,
    pub(crate) install_time: OffsetDateTime,
    // Kept beside the AEAD key because the keyring record must be rewritten.
    key_bytes: Zeroizing<[u8; KEY_LEN]>,
    aead: AeadKey,
    // Encryptions performed (or in flight) under this key.
    used: AtomicU64,
    // Encryptions the persisted keyring allows; `used` never passes it. Only ever raised,
    // and only after the keyring holding the new value is durable.
    reserved: AtomicU64,
}

impl TermKey {
    pub(crate) fn new(
        term: u32,
        install_time: OffsetDateTime,
        key_bytes: Zeroizing<[u8; KEY_LEN]>,
        used: u64,
        reserved: u64,
    ) -> Result<Self, BarrierError> {
        let aead = AeadKey::new(key_bytes.as_slice()).map_err(BarrierError::Crypto)?;
        Ok(Self {
            term,
            install_time,
            key_bytes,
            aead,
            used: AtomicU64::new(used),
            reserved: AtomicU64::new(reserved),
        })
    }

    /// A fresh random key for `term`, with `reserved` encryptions.
    pub(crate) fn generate(term: u32, reserved: u64) -> Result<Self, BarrierError> {
        let key = arca_crypto::random_key().map_err(BarrierError::Crypto)?;
        Self::new(term, OffsetDateTime::now_utc(), key, 0, reserved)
    }

    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    pub(crate) fn reserved(&self) -> u64 {
        self.reserved.load(Ordering::Acquire)
    }

    /// Publishes a reservation, only after it is durable.
    pub(crate) fn set_reserved(&self, reserved: u64) {
        self.reserved.store(reserved, Ordering::Release);
    }

    /// Counts one encryption if both the reservation and `limit` allow it.
    fn take_one(&self, limit: u64) -> bool {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            if cur >= limit || cur >= self.reserved.load(Ordering::Acquire) {
                return false;
            }
            match self
                .used
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Encrypts under this key, counting the use first; refuses once `limit` (the rotation
    /// limit in force) or the reservation is reached.
    pub(crate) fn seal(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        limit: u64,
    ) -> Result<Vec<u8>, BarrierError> {
        if !self.take_one(limit) {
            return Err(BarrierError::TermExhausted);
        }
        self.aead.seal(aad, plaintext).map_err(BarrierError::Crypto)
    }

    pub(crate) fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        self.aead.open(aad, sealed).map_err(|e| match e {
            CryptoError::Truncated => BarrierError::Truncated,
            _ => BarrierError::Authentication,
        })
    }
}

/// All terms, with the active (highest) one at hand.
pub(crate) struct KeySet {
    pub(crate) active: Arc<TermKey>,
    terms: BTreeMap<u32, Arc<TermKey>>,
}

impl KeySet {
    pub(crate) fn single(key: TermKey) -> Self {
        let active = Arc::new(key);
        let terms = BTreeMap::from([(active.term, Arc::clone(&active))]);
        Self { active, terms }
    }

    /// This set plus `key`, which becomes active.
    pub(crate) fn with_active(&self, key: TermKey) -> Self {
        let active = Arc::new(key);
        let mut terms = self.terms.clone();
        terms.insert(active.term, Arc::clone(&active));
        Self { active, terms }
    }

    pub(crate) fn get(&self, term: u32) -> Option<&Arc<TermKey>> {
        self.terms.get(&term)
    }

    /// Serialises the keyring; `reserved_override` replaces one term's reservation (the
    /// value about to be published).
    pub(crate) fn encode(
        &self,
        cfg: &RotationConfig,
        reserved_override: Option<(u32, u64)>,
    ) -> Zeroizing<Vec<u8>> {
        // Exact capacity: no reallocation leaves copies of key bytes behind.
        let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + TERM_LEN * self.terms.len()));
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        out.extend_from_slice(&self.active.term.to_be_bytes());
        out.push(u8::from(cfg.enabled));
        out.extend_from_slice(&cfg.max_operations.to_be_bytes());
        out.extend_from_slice(&cfg.interval.as_secs().to_be_bytes());
        out.extend_from_slice(&cfg.interval.subsec_nanos().to_be_bytes());
        let count = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for key in self.terms.values() {
            let reserved = match reserved_override {
                Some((term, r)) if term == key.term => r,
                _ => key.reserved(),
            };
            out.extend_from_slice(&key.term.to_be_bytes());
            out.extend_from_slice(&key.install_time.unix_timestamp_nanos().to_be_bytes());
            out.extend_from_slice(&reserved.to_be_bytes());
            out.extend_from_slice(key.key_bytes.as_slice());
        }
        out
    }

    /// Parses a keyring plaintext. Every term's count resumes at its reservation.
    pub(crate) fn decode(plain: &[u8]) -> Result<(Self, RotationConfig), BarrierError> {
        let mut r = Reader(plain);
        if r.take(4)? != MAGIC || r.u8()? != FORMAT {
            return Err(BarrierError::KeyringCorrupt);
        }
        let active_term = r.u32()?;
        let enabled = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(BarrierError::KeyringCorrupt),
        };
        let max_operations = r.u64()?;
        let secs = r.u64()?;
        let nanos = r.u32()?;
        if nanos >= 1_000_000_000 {
            return Err(BarrierError::KeyringCorrupt);
        }
        let cfg = RotationConfig {
            enabled,
            max_operations,
            interval: Duration::new(secs, nanos),
        };
        cfg.validate().map_err(|_| BarrierError::KeyringCorrupt)?;
        let count = usize::try_from(r.u32()?).map_err(|_| BarrierError::KeyringCorrupt)?;
        if count == 0
            || r.0.len()
                != count
                    .checked_mul(TERM_LEN)
                    .ok_or(BarrierError::KeyringCorrupt)?
        {
            return Err(BarrierError::KeyringCorrupt);
        }
        let mut terms = BTreeMap::new();
        let mut last = 0u32;
        for _ in 0..count {
            let term = r.u32()?;
            if term <= last {
                return Err(BarrierError::KeyringCorrupt);
            }
            last = term;
            let install_time = OffsetDateTime::from_unix_timestamp_nanos(r.i128()?)
                .map_err(|_| BarrierError::KeyringCorrupt)?;
            let reserved = r.u64()?;
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            key.copy_from_slice(r.take(KEY_LEN)?);
            terms.insert(
                term,
                Arc::new(TermKey::new(term, install_time, key, reserved, reserved)?),
            );
        }
        // Rotation only appends, so the active term is always the newest.
        if last != active_term {
            return Err(BarrierError::KeyringCorrupt);
        }
        let active = terms
            .get(&active_term)
            .cloned()
            .ok_or(BarrierError::KeyringCorrupt)?;
        Ok((Self { active, terms }, cfg))
    }
}

/// Seals a keyring plaintext with the root key for `core/keyring`.
pub(crate) fn seal_record(root: &RootKey, plain: &[u8]) -> Result<Vec<u8>, BarrierError> {
    let aead = AeadKey::new(root.as_bytes()).map_err(BarrierError::Crypto)?;
    let sealed = aead
        .seal(KEYRING_PATH.as_bytes(), plain)
        .map_err(BarrierError::Crypto)?;
    let mut out = Vec::with_capacity(1 + sealed.len());
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens the sealed `core/keyring` record.
pub(crate) fn open_record(
    root: &RootKey,
    record: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
    let Some((&ENVELOPE_VERSION, sealed)) = record.split_first() else {
        return Err(BarrierError::KeyringCorrupt);
    };
    let aead = AeadKey::new(root.as_bytes()).map_err(BarrierError::Crypto)?;
    aead.open(KEYRING_PATH.as_bytes(), sealed)
        .map_err(|e| match e {
            CryptoError::Authentication => BarrierError::Unseal,
            _ => BarrierError::KeyringCorrupt,
        })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BarrierError> {
        if self.0.len() < n {
            return Err(BarrierError::KeyringCorrupt);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BarrierError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, BarrierError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, BarrierError> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, BarrierError> {
        self.array().map(u64::from_be_bytes)
    }

    fn i128(&mut self) -> Result<i128, BarrierError> {
        self.array().map(i128::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sample() -> (KeySet, RotationConfig) {
        let set = KeySet::single(TermKey::generate(1, 50).unwrap());
        let set = set.with_active(TermKey::generate(2, 70).unwrap());
        let cfg = RotationConfig {
            enabled: false,
            max_operations: 1234,
            interval: Duration::new(90, 5),
        };
        (set, cfg)
    }

    #[test]
    fn encode_decode_round_trip() {
        let (set, cfg) = sample();
        let plain = set.encode(&cfg, Some((2, 99)));
        assert_eq!(plain.len(), plain.capacity());
        let (back, cfg2) = KeySet::decode(&plain).unwrap();
        assert_eq!(cfg2, cfg);
        assert_eq!(back.active.term, 2);
        assert_eq!(back.active.used(), 99);
        assert_eq!(back.active.reserved(), 99);
        assert_eq!(back.get(1).unwrap().reserved(), 50);
        assert_eq!(
            back.get(1).unwrap().install_time,
            set.get(1).unwrap().install_time
        );
        // Same key material: a value sealed by one opens with the other.
        let sealed = set.get(1).unwrap().seal(b"p", b"x", u64::MAX).unwrap();
        assert_eq!(&*back.get(1).unwrap().open(b"p", &sealed).unwrap(), b"x");
    }

    #[test]
    fn decode_rejects_every_truncation_and_trailing_bytes() {
        let (set, cfg) = sample();
        let plain = set.encode(&cfg, None);
        for n in 0..plain.len() {
            assert!(
                matches!(
                    KeySet::decode(&plain[..n]),
                    Err(BarrierError::KeyringCorrupt)
                ),
                "len {n}"
            );
        }
        let mut longer = plain.to_vec();
        longer.push(0);
        assert!(matches!(
            KeySet::decode(&longer),
            Err(BarrierError::KeyringCorrupt)
        ));
    }

    #[test]
    fn decode_rejects_inconsistent_active_term() {
        let (set, cfg) = sample();
        let mut plain = set.encode(&cfg, None).to_vec();
        plain[5..9].copy_from_slice(&1u32.to_be_bytes());
        assert!(matches!(
            KeySet::decode(&plain),
            Err(BarrierError::KeyringCorrupt)
        ));
    }

    #[test]
    fn record_needs_the_root_key() {
        let root = RootKey::generate().unwrap();
        let record = seal_record(&root, b"keyring").unwrap();
        assert_eq!(&*open_record(&root, &record).unwrap(), b"keyring");
        let other = RootKey::generate().unwrap();
        assert!(matches!(
            open_record(&other, &record),
            Err(BarrierError::Unseal)
        ));
        assert!(matches!(
            open_record(&root, &[]),
            Err(BarrierError::KeyringCorrupt)
        ));
        let mut bad = record.clone();
        bad[0] = 9;
        assert!(matches!(
            open_record(&root, &bad),
            Err(BarrierError::KeyringCorrupt)
        ));
    }

    #[test]
    fn take_one_stops_at_the_reservation() {
        let key = TermKey::generate(1, 3).unwrap();
        for _ in 0..3 {
            key.seal(b"p", b"x", u64::MAX).unwrap();
        }
        assert!(matches!(
            key.seal(b"p", b"x", u64::MAX),
            Err(BarrierError::TermExhausted)
        ));
        assert_eq!(key.used(), 3);
        key.set_reserved(5);
        key.seal(b"p", b"x", u64::MAX).unwrap();
        assert_eq!(key.used(), 4);
        assert!(matches!(
            key.seal(b"p", b"x", 4),
            Err(BarrierError::TermExhausted)
        ));
        assert_eq!(key.used(), 4);
    }
}
