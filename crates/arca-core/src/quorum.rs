//! Operations that need a quorum of unseal shares while unsealed: rekeying the shares
//! (`sys/rotate/root/*`, legacy `sys/rekey/*`) and generating a root token
//! (`sys/generate-root-token/*`, legacy `sys/generate-root/*`).
//!
//! Each operation is keyed by a nonce so that two operators cannot mix shares of two
//! attempts. Shares are compared in constant time and zeroized with the attempt.

use std::sync::Arc;

use arca_types::sys::{GenerateRootStatus, RekeyStatus, RekeyUpdateResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::Zeroizing;

use crate::seal::{self, SealConfig, ShareSet, UnsealKey};
use crate::{Core, CoreError};

/// Length of a generated root token (`s.` + 24), which is also the OTP length.
const ROOT_TOKEN_LEN: usize = 26;

/// Which quorum operation a legacy endpoint addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumKind {
    /// Rekey of the unseal shares.
    Rekey,
    /// Root token generation.
    GenerateRoot,
}

pub(crate) struct RekeyOp {
    nonce: String,
    new_config: SealConfig,
    require_verification: bool,
    shares: ShareSet,
    pending: Option<PendingRekey>,
}

/// New shares handed out but not yet in force: they must first be proven by a quorum.
struct PendingRekey {
    new_key: UnsealKey,
    verification_nonce: String,
    verify_shares: ShareSet,
}

pub(crate) struct GenerateRootOp {
    nonce: String,
    otp: Zeroizing<String>,
    shares: ShareSet,
}

impl Core {
    fn require_unsealed(&self) -> Result<(), CoreError> {
        self.unsealed().map(|_| ())
    }

    /// Status of the rekey in progress.
    pub async fn rekey_status(&self) -> Result<RekeyStatus, CoreError> {
        self.require_unsealed()?;
        let config = self.current_seal_config()?;
        let op = self.rekey.lock().await;
        Ok(rekey_status(op.as_ref(), &config))
    }

    /// Starts a rekey producing `secret_shares` new shares with `secret_threshold`.
    pub async fn rekey_init(
        &self,
        secret_shares: Option<u64>,
        secret_threshold: Option<u64>,
        require_verification: bool,
        pgp_or_backup_requested: bool,
    ) -> Result<RekeyStatus, CoreError> {
        self.require_unsealed()?;
        if pgp_or_backup_requested {
            return Err(CoreError::invalid(
                "PGP-encrypted key shares and backups are not supported by Arca",
            ));
        }
        let current = self.current_seal_config()?;
        // With an auto-unseal the shares rekeyed are the recovery shares.
        let new_config =
            SealConfig::new(secret_shares, secret_threshold)?.with_type(current.seal_type);
        let mut op = self.rekey.lock().await;
        if op.is_some() {
            return Err(CoreError::invalid("rekey already in progress"));
        }
        *op = Some(RekeyOp {
            nonce: arca_crypto::random_uuid()?,
            new_config,
            require_verification,
            shares: ShareSet::default(),
            pending: None,
        });
        Ok(rekey_status(op.as_ref(), &current))
    }

    /// Cancels the rekey in progress (new shares not yet in force are discarded).
    pub async fn rekey_cancel(&self) -> Result<(), CoreError> {
        self.require_unsealed()?;
        *self.rekey.lock().await = None;
        Ok(())
    }

    /// Adds a current share to the rekey; at the threshold, new shares are generated.
    pub async fn rekey_update(
        &self,
        key: &str,
        nonce: &str,
    ) -> Result<RekeyUpdateResponse, CoreError> {
        let u = self.unsealed()?;
        let current = self.current_seal_config()?;
        let share = seal::decode_share(key)?;
        let mut guard = self.rekey.lock().await;
        let op = guard
            .as_mut()
            .ok_or_else(|| CoreError::invalid("no rekey in progress"))?;
        if op.pending.is_some() {
            return Err(CoreError::invalid(
                "rekey is awaiting verification of the new shares",
            ));
        }
        if !arca_crypto::constant_time_eq(op.nonce.as_bytes(), nonce.as_bytes()) {
            return Err(CoreError::invalid("incorrect nonce"));
        }
        op.shares.add(share);
        if op.shares.len() < usize::from(current.secret_threshold) {
            return Ok(RekeyUpdateResponse {
                nonce: op.nonce.clone(),
                complete: false,
                ..RekeyUpdateResponse::default()
            });
        }
        let shares = std::mem::take(&mut op.shares);
        let old_key = UnsealKey::combine(shares.shares(), &current)?;
        // Proves the quorum: the combined key must open the stored root key (or match the
        // recovery HMAC).
        old_key.prove(&current, self.physical.as_ref()).await?;

        let new_key = UnsealKey::generate()?;
        let new_shares = new_key.split(&op.new_config)?;
        let (keys, keys_base64) = seal::encode_shares(&new_shares);
        let nonce = op.nonce.clone();
        if op.require_verification {
            let verification_nonce = arca_crypto::random_uuid()?;
            op.pending = Some(PendingRekey {
                new_key,
                verification_nonce: verification_nonce.clone(),
                verify_shares: ShareSet::default(),
            });
            return Ok(RekeyUpdateResponse {
                nonce,
                complete: true,
                keys,
                keys_base64,
                verification_required: true,
                verification_nonce,
                ..RekeyUpdateResponse::default()
            });
        }
        let new_config = op.new_config;
        *guard = None;
        drop(guard);
        self.commit_rekey(&u, new_key, new_config).await?;
        Ok(RekeyUpdateResponse {
            nonce,
            complete: true,
            keys,
            keys_base64,
            ..Default::default()
        })
    }

    /// Status of the verification phase: `(nonce, started, t, n, progress)`.
    pub async fn rekey_verify_status(
        &self,
    ) -> Result<serde_json::Map<String, serde_json::Value>, CoreError> {
        self.require_unsealed()?;
        let guard = self.rekey.lock().await;
        let mut m = serde_json::Map::new();
        let (nonce, started, t, n, progress) = match guard.as_ref() {
            Some(op) => match op.pending.as_ref() {
                Some(p) => (
                    p.verification_nonce.clone(),
                    true,
                    op.new_config.secret_threshold,
                    op.new_config.secret_shares,
                    p.verify_shares.len(),
                ),
                None => (String::new(), false, 0, 0, 0),
            },
            None => (String::new(), false, 0, 0, 0),
        };
        m.insert("nonce".into(), nonce.into());
        m.insert("started".into(), started.into());
        m.insert("t".into(), t.into());
        m.insert("n".into(), n.into());
        m.insert("progress".into(), (progress as u64).into());
        Ok(m)
    }

    /// Restarts verification of the new shares (the new shares themselves are kept).
    pub async fn rekey_verify_cancel(&self) -> Result<(), CoreError> {
        self.require_unsealed()?;
        let mut guard = self.rekey.lock().await;
        if let Some(p) = guard.as_mut().and_then(|op| op.pending.as_mut()) {
            p.verification_nonce = arca_crypto::random_uuid()?;
            p.verify_shares = ShareSet::default();
        }
        Ok(())
    }

    /// Adds a NEW share to the verification; at the new threshold the rekey takes effect.
    pub async fn rekey_verify(
        &self,
        key: &str,
        nonce: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, CoreError> {
        let u = self.unsealed()?;
        let share = seal::decode_share(key)?;
        let mut guard = self.rekey.lock().await;
        let op = guard
            .as_mut()
            .ok_or_else(|| CoreError::invalid("no rekey in progress"))?;
        let new_config = op.new_config;
        let pending = op
            .pending
            .as_mut()
            .ok_or_else(|| CoreError::invalid("no rekey verification in progress"))?;
        if !arca_crypto::constant_time_eq(pending.verification_nonce.as_bytes(), nonce.as_bytes()) {
            return Err(CoreError::invalid("incorrect nonce"));
        }
        pending.verify_shares.add(share);
        let mut m = serde_json::Map::new();
        m.insert("nonce".into(), pending.verification_nonce.clone().into());
        if pending.verify_shares.len() < usize::from(new_config.secret_threshold) {
            m.insert("complete".into(), false.into());
            return Ok(m);
        }
        let shares = std::mem::take(&mut pending.verify_shares);
        let combined = UnsealKey::combine(shares.shares(), &new_config)?;
        if !combined.same_as(&pending.new_key) {
            return Err(CoreError::invalid(
                "the given shares do not match the new key",
            ));
        }
        let Some(op) = guard.take() else {
            return Err(CoreError::invalid("no rekey in progress"));
        };
        drop(guard);
        let Some(pending) = op.pending else {
            return Err(CoreError::invalid("no rekey verification in progress"));
        };
        self.commit_rekey(&u, pending.new_key, new_config).await?;
        m.insert("complete".into(), true.into());
        Ok(m)
    }

    /// Installs a new unseal key: the root key re-sealed under it and the new share
    /// parameters, in one atomic, durable write.
    async fn commit_rekey(
        &self,
        u: &Arc<crate::Unsealed>,
        new_key: UnsealKey,
        new_config: SealConfig,
    ) -> Result<(), CoreError> {
        let _guard = self.transition.lock().await;
        let ops = new_key.commit_ops(u.barrier.root_key(), &new_config)?;
        self.physical.transaction(ops).await?;
        self.seal_config.store(Some(Arc::new(new_config)));
        if !new_config.seal_type.is_auto() {
            u.set_unseal_key(Some(new_key));
        }
        tracing::info!(
            shares = new_config.secret_shares,
            threshold = new_config.secret_threshold,
            "unseal key rekeyed"
        );
        Ok(())
    }

    /// Rotates the root key: the keyring is re-encrypted under a fresh root key, which is
    /// sealed under the current unseal key, atomically.
    pub async fn rotate_root_key(&self) -> Result<(), CoreError> {
        let u = self.unsealed()?;
        let _guard = self.transition.lock().await;
        let new_root = arca_barrier::RootKey::generate()?;
        let config = self.current_seal_config()?;
        let extra = if config.seal_type.is_auto() {
            let s = self
                .seal
                .clone()
                .ok_or_else(|| CoreError::invalid("no auto-unseal seal is configured"))?;
            vec![seal::wrap_root_key(s.as_ref(), &new_root).await?]
        } else {
            u.with_unseal_key(|k| match k {
                Some(k) => k.install_ops(&new_root, &config),
                None => Err(CoreError::Corrupt("unseal key is not held")),
            })?
        };
        u.barrier.rotate_root_key_with_ops(new_root, extra).await?;
        tracing::info!("root key rotated");
        Ok(())
    }

    /// Status of the root-token generation in progress.
    pub async fn generate_root_status(&self) -> Result<GenerateRootStatus, CoreError> {
        self.require_unsealed()?;
        let config = self.current_seal_config()?;
        let op = self.generate_root.lock().await;
        Ok(generate_root_status(op.as_ref(), &config, false))
    }

    /// Starts a root-token generation. The server creates the one-time pad and returns it
    /// once; a client may instead supply its own `otp` of the right length.
    pub async fn generate_root_init(
        &self,
        otp: Option<String>,
        pgp_key_requested: bool,
    ) -> Result<GenerateRootStatus, CoreError> {
        self.require_unsealed()?;
        if pgp_key_requested {
            return Err(CoreError::invalid(
                "PGP-encrypted root tokens are not supported by Arca",
            ));
        }
        let config = self.current_seal_config()?;
        let mut op = self.generate_root.lock().await;
        if op.is_some() {
            return Err(CoreError::invalid("root generation already in progress"));
        }
        let otp = match otp.filter(|o| !o.is_empty()) {
            Some(o) if o.len() == ROOT_TOKEN_LEN => Zeroizing::new(o),
            Some(_) => return Err(CoreError::invalid("OTP string is wrong length")),
            None => Zeroizing::new(arca_crypto::random_base62(ROOT_TOKEN_LEN)?),
        };
        *op = Some(GenerateRootOp {
            nonce: arca_crypto::random_uuid()?,
            otp,
            shares: ShareSet::default(),
        });
        Ok(generate_root_status(op.as_ref(), &config, true))
    }

    /// Cancels the root-token generation in progress.
    pub async fn generate_root_cancel(&self) -> Result<(), CoreError> {
        self.require_unsealed()?;
        *self.generate_root.lock().await = None;
        Ok(())
    }

    /// Adds a share; at the threshold a new root token is created and returned XORed with
    /// the OTP.
    pub async fn generate_root_update(
        &self,
        key: &str,
        nonce: &str,
    ) -> Result<GenerateRootStatus, CoreError> {
        let u = self.unsealed()?;
        let config = self.current_seal_config()?;
        let share = seal::decode_share(key)?;
        let mut guard = self.generate_root.lock().await;
        let op = guard
            .as_mut()
            .ok_or_else(|| CoreError::invalid("no root generation in progress"))?;
        if !arca_crypto::constant_time_eq(op.nonce.as_bytes(), nonce.as_bytes()) {
            return Err(CoreError::invalid("incorrect nonce"));
        }
        op.shares.add(share);
        if op.shares.len() < usize::from(config.secret_threshold) {
            return Ok(generate_root_status(Some(op), &config, false));
        }
        let shares = std::mem::take(&mut op.shares);
        let key = UnsealKey::combine(shares.shares(), &config)?;
        key.prove(&config, self.physical.as_ref()).await?;
        let Some(op) = guard.take() else {
            return Err(CoreError::invalid("no root generation in progress"));
        };
        drop(guard);
        let (token, _) = u
            .tokens
            .create_root(None)
            .await
            .map_err(|e| CoreError::Client(e.into()))?;
        let xored: Zeroizing<Vec<u8>> = Zeroizing::new(
            token
                .as_bytes()
                .iter()
                .zip(op.otp.as_bytes())
                .map(|(a, b)| a ^ b)
                .collect(),
        );
        let encoded = STANDARD_NO_PAD.encode(xored.as_slice());
        tracing::info!("root token generated");
        Ok(GenerateRootStatus {
            nonce: op.nonce.clone(),
            started: true,
            progress: u64::from(config.secret_threshold),
            required: u64::from(config.secret_threshold),
            complete: true,
            encoded_token: encoded.clone(),
            encoded_root_token: encoded,
            otp_length: ROOT_TOKEN_LEN as u64,
            ..GenerateRootStatus::default()
        })
    }
}

fn rekey_status(op: Option<&RekeyOp>, current: &SealConfig) -> RekeyStatus {
    match op {
        None => RekeyStatus {
            required: u64::from(current.secret_threshold),
            ..RekeyStatus::default()
        },
        Some(op) => RekeyStatus {
            nonce: op.nonce.clone(),
            started: true,
            t: u64::from(op.new_config.secret_threshold),
            n: u64::from(op.new_config.secret_shares),
            progress: op.shares.len() as u64,
            required: u64::from(current.secret_threshold),
            pgp_fingerprints: None,
            backup: false,
            verification_required: op.require_verification,
            verification_nonce: op
                .pending
                .as_ref()
                .map(|p| p.verification_nonce.clone())
                .unwrap_or_default(),
        },
    }
}

fn generate_root_status(
    op: Option<&GenerateRootOp>,
    config: &SealConfig,
    reveal_otp: bool,
) -> GenerateRootStatus {
    let required = u64::from(config.secret_threshold);
    match op {
        None => GenerateRootStatus {
            required,
            otp_length: ROOT_TOKEN_LEN as u64,
            ..Default::default()
        },
        Some(op) => GenerateRootStatus {
            nonce: op.nonce.clone(),
            started: true,
            progress: op.shares.len() as u64,
            required,
            otp: if reveal_otp {
                op.otp.to_string()
            } else {
                String::new()
            },
            otp_length: ROOT_TOKEN_LEN as u64,
            ..Default::default()
        },
    }
}
