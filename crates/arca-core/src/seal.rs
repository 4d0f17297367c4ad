//! The Shamir seal: the unseal key, its shares, and the root key sealed under it.
//!
//! Key hierarchy: the unseal key (combined from shares) decrypts the root key stored at
//! [`ROOT_KEY_PATH`]; the root key decrypts the barrier keyring; the keyring encrypts
//! everything else. Both records below live in physical storage, outside the barrier,
//! because they are needed to open it.

use arca_barrier::RootKey;
use arca_crypto::AeadKey;
use arca_storage::{Storage, TxnOp};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::CoreError;

/// Physical key of the seal configuration (plaintext JSON; it holds no secret).
pub(crate) const SEAL_CONFIG_PATH: &str = "core/seal-config";
/// Physical key of the root key, AES-256-GCM encrypted under the unseal key.
pub(crate) const ROOT_KEY_PATH: &str = "core/root-key";

/// Shortest share (or unseal key) accepted, as in Vault.
const MIN_KEY_LEN: usize = 16;
/// Longest: a 32-byte key plus the x-coordinate byte.
const MAX_KEY_LEN: usize = 33;

/// How many shares exist and how many open the seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SealConfig {
    #[serde(rename = "type")]
    pub(crate) seal_type: SealType,
    pub(crate) secret_shares: u8,
    pub(crate) secret_threshold: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SealType {
    Shamir,
}

impl SealConfig {
    /// Validates share parameters with Vault's rules and messages.
    pub(crate) fn new(shares: Option<u64>, threshold: Option<u64>) -> Result<Self, CoreError> {
        let shares = shares.unwrap_or(0);
        let threshold = threshold.unwrap_or(0);
        if shares < 1 {
            return Err(CoreError::invalid("secret shares must be at least one"));
        }
        if threshold < 1 {
            return Err(CoreError::invalid("secret threshold must be at least one"));
        }
        if shares > 255 {
            return Err(CoreError::invalid("secret shares must be at most 255"));
        }
        if threshold > shares {
            return Err(CoreError::invalid(
                "secret threshold cannot be larger than secret shares",
            ));
        }
        if shares > 1 && threshold < 2 {
            return Err(CoreError::invalid(
                "threshold must be greater than one for multiple shares",
            ));
        }
        let to_u8 = |v: u64| u8::try_from(v).map_err(|_| CoreError::invalid("invalid share count"));
        Ok(Self {
            seal_type: SealType::Shamir,
            secret_shares: to_u8(shares)?,
            secret_threshold: to_u8(threshold)?,
        })
    }

    pub(crate) async fn load(physical: &dyn Storage) -> Result<Option<Self>, CoreError> {
        match physical.get(SEAL_CONFIG_PATH).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| CoreError::Corrupt("seal configuration")),
        }
    }

    fn encode(&self) -> Result<Vec<u8>, CoreError> {
        serde_json::to_vec(self).map_err(|_| CoreError::Corrupt("seal configuration"))
    }
}

/// The combined unseal key. Never printed; zeroized on drop.
pub(crate) struct UnsealKey(Zeroizing<Vec<u8>>);

impl UnsealKey {
    pub(crate) fn generate() -> Result<Self, CoreError> {
        let key = arca_crypto::random_key()?;
        Ok(Self(Zeroizing::new(key.to_vec())))
    }

    /// Splits the key into shares. With one share the key itself is the share, as Vault does.
    pub(crate) fn split(&self, config: &SealConfig) -> Result<Vec<Zeroizing<Vec<u8>>>, CoreError> {
        if config.secret_shares == 1 {
            return Ok(vec![Zeroizing::new(self.0.to_vec())]);
        }
        arca_shamir::split(
            &self.0,
            usize::from(config.secret_shares),
            usize::from(config.secret_threshold),
        )
        .map_err(|_| CoreError::invalid("failed to split the unseal key"))
    }

    /// Recombines shares (a single share with threshold 1 is the key itself).
    pub(crate) fn combine(
        shares: &[Zeroizing<Vec<u8>>],
        config: &SealConfig,
    ) -> Result<Self, CoreError> {
        if config.secret_threshold == 1 {
            let first = shares
                .first()
                .ok_or_else(|| CoreError::invalid("no key given"))?;
            return Ok(Self(first.clone()));
        }
        let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
        arca_shamir::combine(&refs)
            .map(Self)
            .map_err(|_| CoreError::invalid("failed to combine the unseal key shares"))
    }

    fn aead(&self) -> Result<AeadKey, CoreError> {
        // A wrong combination can have the wrong length; that is a bad share, not a bug.
        AeadKey::new(&self.0).map_err(|_| CoreError::UnsealFailed)
    }

    /// Encrypts the root key for storage at [`ROOT_KEY_PATH`].
    pub(crate) fn seal_root_key(&self, root: &RootKey) -> Result<Vec<u8>, CoreError> {
        Ok(self
            .aead()?
            .seal(ROOT_KEY_PATH.as_bytes(), root.as_bytes())?)
    }

    /// Decrypts the stored root key; fails when the shares were wrong.
    pub(crate) async fn open_root_key(&self, physical: &dyn Storage) -> Result<RootKey, CoreError> {
        let sealed = physical
            .get(ROOT_KEY_PATH)
            .await?
            .ok_or(CoreError::Corrupt("sealed root key is missing"))?;
        let plain = self
            .aead()?
            .open(ROOT_KEY_PATH.as_bytes(), &sealed)
            .map_err(|_| CoreError::UnsealFailed)?;
        RootKey::from_bytes(&plain).map_err(|_| CoreError::Corrupt("sealed root key"))
    }

    /// The two physical writes that install this key and `config` together.
    pub(crate) fn install_ops(
        &self,
        root: &RootKey,
        config: &SealConfig,
    ) -> Result<Vec<TxnOp>, CoreError> {
        Ok(vec![
            TxnOp::Put {
                key: ROOT_KEY_PATH.to_owned(),
                value: self.seal_root_key(root)?,
            },
            TxnOp::Put {
                key: SEAL_CONFIG_PATH.to_owned(),
                value: config.encode()?,
            },
        ])
    }

    pub(crate) fn same_as(&self, other: &UnsealKey) -> bool {
        arca_crypto::constant_time_eq(&self.0, &other.0)
    }
}

/// Decodes a share as the CLI sends it: hex first, then standard base64.
pub(crate) fn decode_share(text: &str) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    check_share_len(decode_key_text(text)?)
}

/// Only the encoding: hex, else standard base64.
pub(crate) fn decode_key_text(text: &str) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let text = text.trim();
    let bytes = match hex::decode(text) {
        Ok(b) => b,
        Err(_) => B64
            .decode(text)
            .map_err(|_| CoreError::invalid("'key' must be a valid hex or base64 string"))?,
    };
    Ok(Zeroizing::new(bytes))
}

/// Vault's length bounds on a share.
pub(crate) fn check_share_len(bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    if bytes.len() < MIN_KEY_LEN {
        return Err(CoreError::invalid(format!(
            "key is shorter than minimum {MIN_KEY_LEN} bytes"
        )));
    }
    if bytes.len() > MAX_KEY_LEN {
        return Err(CoreError::invalid(format!(
            "key is longer than maximum {MAX_KEY_LEN} bytes"
        )));
    }
    Ok(bytes)
}

/// Encodes shares for the one-time output: hex and base64.
pub(crate) fn encode_shares(shares: &[Zeroizing<Vec<u8>>]) -> (Vec<String>, Vec<String>) {
    let hex = shares.iter().map(|s| hex::encode(s.as_slice())).collect();
    let b64 = shares.iter().map(|s| B64.encode(s.as_slice())).collect();
    (hex, b64)
}

/// Shares collected towards a quorum (unseal, rekey, root generation). Duplicates are
/// ignored, as Vault does, and compared in constant time.
#[derive(Default)]
pub(crate) struct ShareSet {
    shares: Vec<Zeroizing<Vec<u8>>>,
}

impl ShareSet {
    pub(crate) fn add(&mut self, share: Zeroizing<Vec<u8>>) {
        if !self
            .shares
            .iter()
            .any(|s| arca_crypto::constant_time_eq(s, &share))
        {
            self.shares.push(share);
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.shares.len()
    }
    pub(crate) fn shares(&self) -> &[Zeroizing<Vec<u8>>] {
        &self.shares
    }
}
