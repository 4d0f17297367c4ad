//! The root key: the key that encrypts the keyring.

use zeroize::Zeroizing;

use crate::BarrierError;

/// The 256-bit root key. Zeroized on drop; no `Debug`, `Clone` or `Serialize`, so it cannot
/// be printed or copied by accident.
pub struct RootKey(Zeroizing<[u8; arca_crypto::KEY_LEN]>);

impl RootKey {
    /// A fresh random root key.
    pub fn generate() -> Result<Self, BarrierError> {
        arca_crypto::random_key()
            .map(Self)
            .map_err(BarrierError::Crypto)
    }

    /// A root key from exactly 32 bytes (as recovered by the seal).
    pub fn from_bytes(b: &[u8]) -> Result<Self, BarrierError> {
        let mut key = Zeroizing::new([0u8; arca_crypto::KEY_LEN]);
        if b.len() != key.len() {
            return Err(BarrierError::InvalidRootKey);
        }
        key.copy_from_slice(b);
        Ok(Self(key))
    }

    /// The raw key bytes, for the seal to encrypt.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}
