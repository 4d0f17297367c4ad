//! The Shamir seal: the unseal key, its shares, and the root key sealed under it.
//!
//! Key hierarchy: the unseal key (combined from shares) decrypts the root key stored at
//! [`ROOT_KEY_PATH`]; the root key decrypts the barrier keyring; the keyring encrypts
//! everything else. Both records below live in physical storage, outside the barrier,
//! because they are needed to open it.
//!
//! With an auto-unseal ([`SealWrapper`], e.g. a transit seal) there is no unseal key: the
//! root key is stored wrapped by the seal at [`WRAPPED_ROOT_KEY_PATH`], and the Shamir
//! shares are *recovery* shares. They decrypt nothing; a salted HMAC of the recovery key
//! ([`RECOVERY_HMAC_PATH`]) lets the core check a quorum without contacting the seal.

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
/// Physical key of the root key wrapped by an auto-unseal seal (opaque to the core).
pub(crate) const WRAPPED_ROOT_KEY_PATH: &str = "core/root-key-wrapped";
/// Physical key of the salted HMAC that verifies recovery shares.
pub(crate) const RECOVERY_HMAC_PATH: &str = "core/recovery-key-hmac";

/// Why an auto-unseal seal could not wrap or unwrap. The message must hold no secret.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SealError {
    /// The seal could not be reached (network, 5xx, sealed remote): worth retrying.
    pub retryable: bool,
    /// What went wrong, without secrets.
    pub message: String,
}

/// An auto-unseal seal: something outside this node (another server's transit engine,
/// a KMS) that encrypts the root key. Implemented outside the core, which never knows
/// how the seal is reached.
#[async_trait::async_trait]
pub trait SealWrapper: Send + Sync {
    /// The seal type as seal-status reports it (`transit`).
    fn seal_type(&self) -> &'static str;
    /// Encrypts `plaintext`; the result is stored as is.
    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError>;
    /// Decrypts what [`SealWrapper::wrap`] returned.
    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;
}

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
    /// Auto-unseal through a transit engine; the share fields are the recovery parameters.
    Transit,
}

impl SealType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SealType::Shamir => "shamir",
            SealType::Transit => "transit",
        }
    }
    pub(crate) fn is_auto(self) -> bool {
        self != SealType::Shamir
    }
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "shamir" => Some(SealType::Shamir),
            "transit" => Some(SealType::Transit),
            _ => None,
        }
    }
}

impl SealConfig {
    /// Validates share parameters with Vault's rules and messages.
    pub(crate) fn new(shares: Option<u64>, threshold: Option<u64>) -> Result<Self, CoreError> {
        Self::new_named(shares, threshold, "secret")
    }

    /// The same rules for recovery shares (`noun` = `recovery` in the messages).
    pub(crate) fn new_named(
        shares: Option<u64>,
        threshold: Option<u64>,
        noun: &str,
    ) -> Result<Self, CoreError> {
        let shares = shares.unwrap_or(0);
        let threshold = threshold.unwrap_or(0);
        if shares < 1 {
            return Err(CoreError::invalid(format!(
                "{noun} shares must be at least one"
            )));
        }
        if threshold < 1 {
            return Err(CoreError::invalid(format!(
                "{noun} threshold must be at least one"
            )));
        }
        if shares > 255 {
            return Err(CoreError::invalid(format!(
                "{noun} shares must be at most 255"
            )));
        }
        if threshold > shares {
            return Err(CoreError::invalid(format!(
                "{noun} threshold cannot be larger than {noun} shares"
            )));
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

    /// The same parameters for an auto-unseal seal: they describe the recovery shares.
    pub(crate) fn with_type(mut self, seal_type: SealType) -> Self {
        self.seal_type = seal_type;
        self
    }

    pub(crate) async fn load(physical: &dyn Storage) -> Result<Option<Self>, CoreError> {
        match physical.get(SEAL_CONFIG_PATH).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| CoreError::Corrupt("seal configuration")),
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, CoreError> {
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

    /// Installs this key as the recovery key: its salted HMAC and `config`, together.
    pub(crate) fn recovery_ops(&self, config: &SealConfig) -> Result<Vec<TxnOp>, CoreError> {
        let salt = arca_crypto::random_key()?;
        let record = RecoveryRecord {
            salt: B64.encode(salt.as_slice()),
            hmac: B64.encode(arca_crypto::hmac_sha256(salt.as_slice(), &self.0)),
        };
        let value =
            serde_json::to_vec(&record).map_err(|_| CoreError::Corrupt("recovery record"))?;
        Ok(vec![
            TxnOp::Put {
                key: RECOVERY_HMAC_PATH.to_owned(),
                value,
            },
            TxnOp::Put {
                key: SEAL_CONFIG_PATH.to_owned(),
                value: config.encode()?,
            },
        ])
    }

    /// Checks this key against the stored recovery HMAC, in constant time.
    pub(crate) async fn verify_recovery(&self, physical: &dyn Storage) -> Result<(), CoreError> {
        let bytes = physical
            .get(RECOVERY_HMAC_PATH)
            .await?
            .ok_or(CoreError::Corrupt("recovery record is missing"))?;
        let record: RecoveryRecord =
            serde_json::from_slice(&bytes).map_err(|_| CoreError::Corrupt("recovery record"))?;
        let salt = Zeroizing::new(
            B64.decode(&record.salt)
                .map_err(|_| CoreError::Corrupt("recovery record"))?,
        );
        let expected = B64
            .decode(&record.hmac)
            .map_err(|_| CoreError::Corrupt("recovery record"))?;
        let actual = arca_crypto::hmac_sha256(&salt, &self.0);
        if arca_crypto::constant_time_eq(&actual, &expected) {
            Ok(())
        } else {
            Err(CoreError::RecoveryFailed)
        }
    }

    /// Proves a quorum: the combined key opens the stored root key (Shamir) or matches the
    /// recovery HMAC (auto-unseal).
    pub(crate) async fn prove(
        &self,
        config: &SealConfig,
        physical: &dyn Storage,
    ) -> Result<(), CoreError> {
        if config.seal_type.is_auto() {
            self.verify_recovery(physical).await
        } else {
            self.open_root_key(physical).await.map(|_| ())
        }
    }

    /// The new key's records: sealed root key (Shamir) or recovery HMAC (auto-unseal).
    pub(crate) fn commit_ops(
        &self,
        root: &RootKey,
        config: &SealConfig,
    ) -> Result<Vec<TxnOp>, CoreError> {
        if config.seal_type.is_auto() {
            self.recovery_ops(config)
        } else {
            self.install_ops(root, config)
        }
    }
}

/// The stored check of the recovery key: `HMAC-SHA256(salt, key)`, both base64.
#[derive(Serialize, Deserialize)]
struct RecoveryRecord {
    salt: String,
    hmac: String,
}

/// The root key wrapped by `seal`, and the write that stores it.
pub(crate) async fn wrap_root_key(
    seal: &dyn SealWrapper,
    root: &RootKey,
) -> Result<TxnOp, CoreError> {
    let value = seal.wrap(root.as_bytes()).await.map_err(CoreError::Seal)?;
    Ok(TxnOp::Put {
        key: WRAPPED_ROOT_KEY_PATH.to_owned(),
        value,
    })
}

/// Reads the wrapped root key and has `seal` unwrap it.
pub(crate) async fn unwrap_root_key(
    seal: &dyn SealWrapper,
    physical: &dyn Storage,
) -> Result<RootKey, CoreError> {
    let wrapped = physical
        .get(WRAPPED_ROOT_KEY_PATH)
        .await?
        .ok_or(CoreError::Corrupt("wrapped root key is missing"))?;
    let plain = seal.unwrap(&wrapped).await.map_err(CoreError::Seal)?;
    RootKey::from_bytes(&plain).map_err(|_| CoreError::Corrupt("wrapped root key"))
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
