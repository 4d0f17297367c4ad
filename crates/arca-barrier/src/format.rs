//! The stored value envelope: `[term u32 BE][version u8][nonce‖ciphertext‖tag]`.

use arca_crypto::{AEAD_NONCE_LEN, AEAD_TAG_LEN};

use crate::BarrierError;

/// The only value format version this barrier writes and reads (path bound as AAD).
pub const VALUE_VERSION: u8 = 2;

/// Length of the term and version header.
pub const VALUE_HEADER_LEN: usize = 5;

/// Length of the shortest valid stored value (an empty plaintext).
pub const VALUE_MIN_LEN: usize = VALUE_HEADER_LEN + AEAD_NONCE_LEN + AEAD_TAG_LEN;

/// Splits a stored value into its term and the sealed `nonce‖ciphertext‖tag` part.
pub(crate) fn parse(value: &[u8]) -> Result<(u32, &[u8]), BarrierError> {
    if value.len() < VALUE_MIN_LEN {
        return Err(BarrierError::Truncated);
    }
    let (header, sealed) = value.split_at(VALUE_HEADER_LEN);
    let version = header[4];
    if version != VALUE_VERSION {
        return Err(BarrierError::UnknownVersion { version });
    }
    let term = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    Ok((term, sealed))
}

/// Prefixes the header to a sealed `nonce‖ciphertext‖tag`.
pub(crate) fn assemble(term: u32, sealed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(VALUE_HEADER_LEN + sealed.len());
    out.extend_from_slice(&term.to_be_bytes());
    out.push(VALUE_VERSION);
    out.extend_from_slice(sealed);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parse_checks_length_then_version() {
        assert!(matches!(
            parse(&[0u8; VALUE_MIN_LEN - 1]),
            Err(BarrierError::Truncated)
        ));
        let mut v = assemble(7, &[0u8; AEAD_NONCE_LEN + AEAD_TAG_LEN]);
        assert_eq!(v.len(), VALUE_MIN_LEN);
        let (term, sealed) = parse(&v).unwrap();
        assert_eq!(term, 7);
        assert_eq!(sealed.len(), AEAD_NONCE_LEN + AEAD_TAG_LEN);
        v[4] = 1;
        assert!(matches!(
            parse(&v),
            Err(BarrierError::UnknownVersion { version: 1 })
        ));
    }
}
