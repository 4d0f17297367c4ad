//! The hash chain and signed checkpoints that make a device's log tamper-evident.
//!
//! Line format (one JSON object per line, after the device's optional `prefix`):
//! - every record gets a last field `"chain":{"seq":N,"prev":"<hex>"}`: `seq` counts the
//!   device's lines from 1 without gaps, `prev` is the lowercase hex SHA-256 of the
//!   previous line's bytes (prefix included, newline excluded); the first line of a new
//!   device has `prev` = 64 zeros. Vault clients ignore the unknown field.
//! - a checkpoint is a line of its own, also chained:
//!   `{"time":…,"type":"checkpoint","device":"file/","reason":"periodic","records":K,
//!   "key_id":"<hex>","chain":{"seq":N,"prev":"<hex>"},"signature":"<base64>"}`, where the
//!   Ed25519 signature covers [`checkpoint_message`] (device, seq, prev, time, reason).
//!   Since `prev` commits to every earlier line through the chain, a valid signature
//!   authenticates the whole log up to the checkpoint. `key_id` is the first 8 bytes of
//!   SHA-256 of the raw public key, in hex.
//!
//! Checkpoints are written when a device opens (`open`), every K records (`count`), every
//! T seconds with records pending (`periodic`), before a rotation (`rotate`) and on close
//! (`close`). The file device fsyncs after each checkpoint (on a thread of its own for
//! `count` and `periodic`, so records keep flowing meanwhile; the chain head is persisted
//! once the sync is done); records in between are not fsynced: as with OpenBao's file
//! device, a record counts as accepted once `write(2)` handed it to the kernel.

use serde::{Deserialize, Serialize};

/// `prev` of the first line of a chain.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The position of a device's log: the last line's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChainHead {
    pub(crate) seq: u64,
    #[serde(with = "hex_array")]
    pub(crate) hash: [u8; 32],
}

impl ChainHead {
    pub(crate) fn genesis() -> Self {
        Self {
            seq: 0,
            hash: [0u8; 32],
        }
    }

    pub(crate) fn prev_hex(&self) -> String {
        hex::encode(self.hash)
    }

    /// The head after `line` (its bytes without the newline) was written as `seq`.
    pub(crate) fn advance(&self, line: &[u8]) -> Self {
        Self {
            seq: self.seq + 1,
            hash: arca_crypto::sha256(line),
        }
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("wrong hash length"))
    }
}

/// `prefix` + the record object with the chain field appended as its last member.
#[cfg(test)]
pub(crate) fn chained_line(prefix: &str, body: &[u8], head: &ChainHead) -> Vec<u8> {
    let mut line = Vec::new();
    push_chained_line(&mut line, prefix, body, head);
    line
}

/// [`chained_line`] appended to `out` (the writer batches lines in one buffer).
pub(crate) fn push_chained_line(out: &mut Vec<u8>, prefix: &str, body: &[u8], head: &ChainHead) {
    let mut prev = [0u8; 64];
    crate::format::hex_into(&head.hash, &mut prev);
    out.reserve(prefix.len() + body.len() + 120);
    out.extend_from_slice(prefix.as_bytes());
    // `body` is a serialized JSON object: drop its closing brace and append the chain.
    let inner = body.strip_suffix(b"}").unwrap_or(body);
    out.extend_from_slice(inner);
    if inner.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"chain\":{\"seq\":");
    out.extend_from_slice((head.seq + 1).to_string().as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(&prev);
    out.extend_from_slice(b"\"}}");
}

/// The bytes a checkpoint signature covers.
pub fn checkpoint_message(device: &str, seq: u64, prev: &str, time: &str, reason: &str) -> Vec<u8> {
    format!("arca-audit-checkpoint-v1\n{device}\n{seq}\n{prev}\n{time}\n{reason}").into_bytes()
}

/// The short identifier of a public key written into checkpoints.
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(&arca_crypto::sha256(public_key)[..8])
}

/// Builds a checkpoint line (without newline) following `head`.
pub(crate) fn checkpoint_line(
    prefix: &str,
    device: &str,
    reason: &str,
    records: u64,
    time: &str,
    head: &ChainHead,
    signer: &arca_crypto::ed25519::SigningKey,
) -> Vec<u8> {
    use base64::Engine as _;
    let seq = head.seq + 1;
    let prev = head.prev_hex();
    let sig = signer.sign(&checkpoint_message(device, seq, &prev, time, reason));
    let body = serde_json::json!({
        "time": time,
        "type": "checkpoint",
        "device": device,
        "reason": reason,
        "records": records,
        "key_id": key_id(&signer.public_key()),
        "chain": {"seq": seq, "prev": prev},
        "signature": base64::engine::general_purpose::STANDARD.encode(sig),
    });
    // serde_json's map orders keys alphabetically unless preserve_order is on; either way
    // the verifier reads fields by name.
    let mut line = prefix.as_bytes().to_vec();
    line.extend_from_slice(body.to_string().as_bytes());
    line
}

/// The JSON part of a line: everything from the first `{` (skipping a device prefix).
pub(crate) fn json_part(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| *b == b'{')?;
    line.get(start..)
}

/// The chain fields of a parsed line.
pub(crate) fn chain_of(v: &serde_json::Value) -> Option<(u64, String)> {
    let c = v.get("chain")?;
    let seq = c.get("seq")?.as_u64()?;
    let prev = c.get("prev")?.as_str()?.to_owned();
    Some((seq, prev))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn chained_line_appends_chain_last() {
        let head = ChainHead::genesis();
        let line = chained_line("", br#"{"type":"request"}"#, &head);
        let s = String::from_utf8(line.clone()).unwrap();
        assert_eq!(
            s,
            format!(r#"{{"type":"request","chain":{{"seq":1,"prev":"{GENESIS_PREV}"}}}}"#)
        );
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(chain_of(&v), Some((1, GENESIS_PREV.to_owned())));
        let next = head.advance(&line);
        assert_eq!(next.seq, 1);
        let line2 = chained_line("p:", b"{}", &next);
        let v: serde_json::Value = serde_json::from_slice(json_part(&line2).unwrap()).unwrap();
        assert_eq!(
            chain_of(&v).unwrap().1,
            hex::encode(arca_crypto::sha256(&line))
        );
    }
}
