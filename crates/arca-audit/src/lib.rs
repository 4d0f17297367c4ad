//! Audit for Arca: devices that record every request and response in Vault's JSON-lines
//! format, with sensitive values HMAC'd, fail-closed delivery, and a hash chain with signed
//! checkpoints that makes deletions, insertions, reordering and edits detectable.
//!
//! - [`AuditBroker`] holds the enabled devices (`file`, `socket`, `syslog`, with OpenBao's
//!   options), formats an [`AuditEntry`] once per device with that device's salt, and
//!   refuses (returns `Err`) when devices exist but none accepted a record.
//! - The chain and checkpoint format is described in [`chain`]; [`verify`] checks a log
//!   offline and [`query`] answers "who touched this path" from a log without exposing
//!   values.
//! - State that must survive restarts lives behind the barrier, in the storage view the
//!   broker is given: `signing-key` (the Ed25519 checkpoint key, PKCS#8), `salt/<device>`
//!   (each device's HMAC salt, a UUID as in Vault) and `chain/<device>` (the chain head
//!   at the last checkpoint, for devices whose output cannot be read back).
//!
//! Architecture invariant: this crate knows nothing of HTTP, of the core pipeline, of
//! tokens or of mounts: it receives plain [`AuditEntry`] values. It depends only on
//! `arca-storage`, `arca-logical` (the clock and the error classification), `arca-crypto`
//! and `arca-types`.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use arca_crypto::ed25519::SigningKey;
use arca_logical::{LogicalError, SystemView};
use arca_storage::{Storage, StorageError};
use zeroize::Zeroizing;

pub mod chain;
mod device;
mod entry;
mod format;
pub mod query;
mod sink;
pub mod verify;

use chain::ChainHead;
use device::{Device, DeviceError, Start, parse_options};
pub use entry::{AuditAuth, AuditEntry, AuditResponse, DeviceInfo};
pub use format::HMAC_PREFIX;
use format::{RecordType, Salt, format_shared, format_with_shared};

const SIGNING_KEY: &str = "signing-key";

/// What can go wrong in the audit subsystem. Messages name the problem, never a record's
/// content or an option's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The audit state (salts, key, chain heads) could not be read or written.
    #[error("audit state storage failed: {0}")]
    Storage(#[from] StorageError),
    /// The device type is not `file`, `socket` or `syslog`.
    #[error("unknown audit device type; valid types are file, socket and syslog")]
    UnknownType,
    /// Another device is enabled at this path.
    #[error("path already in use")]
    PathInUse,
    /// The path is empty or malformed.
    #[error("invalid audit device path")]
    InvalidPath,
    /// No device is enabled at this path.
    #[error("unknown audit device")]
    UnknownDevice,
    /// A required option is missing.
    #[error("{0} is required")]
    MissingOption(&'static str),
    /// An option has an unacceptable value.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option name.
        option: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `log_raw` was requested but the broker does not allow it (only dev mode does).
    #[error("log_raw is not allowed on this server")]
    LogRawRefused,
    /// The device could not be opened or did not take its test message.
    #[error("{what}: {reason}")]
    Open {
        /// What failed.
        what: &'static str,
        /// The operating system's reason.
        reason: String,
    },
    /// Devices are enabled but none recorded the entry: the request must be refused.
    #[error("no audit device accepted the record")]
    NoDeviceAccepted,
    /// A record could not be encoded.
    #[error("audit record encoding failed")]
    Encoding,
    /// Reopening at least one device failed.
    #[error("reopening audit devices failed")]
    Reopen,
    /// Stored audit state could not be decoded.
    #[error("stored audit state is corrupt")]
    Corrupt,
    /// Key generation or signing failed.
    #[error("audit key failure")]
    Crypto,
    /// A task or thread of the broker failed.
    #[error("internal audit failure")]
    Internal,
}

impl From<AuditError> for LogicalError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::UnknownType
            | AuditError::PathInUse
            | AuditError::InvalidPath
            | AuditError::UnknownDevice
            | AuditError::MissingOption(_)
            | AuditError::InvalidOption { .. }
            | AuditError::LogRawRefused
            | AuditError::Open { .. } => LogicalError::invalid(e.to_string()),
            AuditError::Storage(s) => LogicalError::from(s),
            AuditError::NoDeviceAccepted
            | AuditError::Encoding
            | AuditError::Reopen
            | AuditError::Corrupt
            | AuditError::Crypto
            | AuditError::Internal => {
                tracing::error!(error = %e, "audit failure");
                LogicalError::internal()
            }
        }
    }
}

type Devices = Arc<RwLock<Vec<Arc<Device>>>>;

/// What [`AuditBroker::log_request`] formatted, per device, for the response record of the
/// same exchange to reuse. Holds HMAC'd values only, never raw ones.
#[derive(Default)]
pub struct RequestRecord {
    /// (device id, its `"auth":…,"request":…` bytes). A device disabled and enabled again
    /// in between has a new id (and a new salt), so it never matches.
    shared: Vec<(u64, Vec<u8>)>,
}

impl RequestRecord {
    fn shared_for(&self, d: &Device) -> Option<&[u8]> {
        self.shared
            .iter()
            .find(|(k, _)| *k == d.id)
            .map(|(_, v)| v.as_slice())
    }
}

impl std::fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestRecord")
            .field("devices", &self.shared.len())
            .finish()
    }
}

/// The audit broker: the enabled devices and the checkpoint key. `Send + Sync`; share it
/// as `Arc<AuditBroker>`.
pub struct AuditBroker {
    state: Arc<dyn Storage>,
    clock: Arc<dyn SystemView>,
    signer: Arc<SigningKey>,
    devices: Devices,
    /// Serialises enable/disable/shutdown.
    admin: tokio::sync::Mutex<()>,
    allow_log_raw: AtomicBool,
    heads: device::HeadReports,
    persister: tokio::task::JoinHandle<()>,
}

/// `file` → `file/`; `None` when empty or malformed.
fn normalize_path(path: &str) -> Option<String> {
    let p = path.trim().trim_matches('/');
    if p.is_empty() || p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return None;
    }
    if p.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(format!("{p}/"))
}

fn salt_key(path: &str) -> String {
    format!("salt/{}", path.trim_end_matches('/'))
}

fn chain_key(path: &str) -> String {
    format!("chain/{}", path.trim_end_matches('/'))
}

impl AuditBroker {
    /// Creates the broker over `state` (a barrier view, e.g. `sys/audit-state/`), loading
    /// the checkpoint signing key or creating it on first use. No device is enabled.
    pub async fn new(
        state: Arc<dyn Storage>,
        clock: Arc<dyn SystemView>,
    ) -> Result<Arc<Self>, AuditError> {
        let signer = match state.get(SIGNING_KEY).await? {
            Some(pkcs8) => {
                let pkcs8 = Zeroizing::new(pkcs8);
                SigningKey::from_pkcs8(&pkcs8).map_err(|_| AuditError::Corrupt)?
            }
            None => {
                let (key, pkcs8) = SigningKey::generate().map_err(|_| AuditError::Crypto)?;
                state.put(SIGNING_KEY, &pkcs8).await?;
                key
            }
        };
        let devices: Devices = Arc::new(RwLock::new(Vec::new()));
        let (heads, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, ChainHead)>();
        let persist_state = Arc::clone(&state);
        let persist_devices = Arc::clone(&devices);
        // Chain heads reported at checkpoints are persisted best effort: the file device
        // recovers its head from the file itself; the others resume from here.
        let persister = tokio::spawn(async move {
            while let Some((path, head)) = rx.recv().await {
                let enabled = persist_devices
                    .read()
                    .map(|d| d.iter().any(|d| d.info.path == path))
                    .unwrap_or(false);
                if !enabled {
                    continue;
                }
                let Ok(bytes) = serde_json::to_vec(&head) else {
                    continue;
                };
                if let Err(e) = persist_state.put(&chain_key(&path), &bytes).await {
                    tracing::warn!(device = %path, error = %e, "persisting audit chain head failed");
                }
            }
        });
        Ok(Arc::new(Self {
            state,
            clock,
            signer: Arc::new(signer),
            devices,
            admin: tokio::sync::Mutex::new(()),
            allow_log_raw: AtomicBool::new(false),
            heads,
            persister,
        }))
    }

    /// Allows devices with `log_raw=true` (dev mode, or an explicit server setting).
    pub fn allow_log_raw(&self, allow: bool) {
        self.allow_log_raw.store(allow, Ordering::SeqCst);
    }

    fn snapshot(&self) -> Vec<Arc<Device>> {
        self.devices.read().map(|d| d.clone()).unwrap_or_default()
    }

    fn find(&self, path: &str) -> Option<Arc<Device>> {
        let path = normalize_path(path)?;
        self.snapshot().into_iter().find(|d| d.info.path == path)
    }

    /// Enables a device at `path` (`file` or `file/`): parses its options, loads or creates
    /// its salt, opens it and writes its opening checkpoint. Errors name the problem.
    pub async fn enable(
        &self,
        path: &str,
        device_type: &str,
        description: &str,
        options: BTreeMap<String, String>,
        local: bool,
    ) -> Result<(), AuditError> {
        let path = normalize_path(path).ok_or(AuditError::InvalidPath)?;
        let _admin = self.admin.lock().await;
        if self.find(&path).is_some() {
            return Err(AuditError::PathInUse);
        }
        let config = parse_options(
            device_type,
            &options,
            self.allow_log_raw.load(Ordering::SeqCst),
        )?;
        let salt = match self.state.get(&salt_key(&path)).await? {
            Some(s) => Zeroizing::new(String::from_utf8(s).map_err(|_| AuditError::Corrupt)?),
            None => {
                let s = Zeroizing::new(arca_crypto::random_uuid().map_err(|_| AuditError::Crypto)?);
                self.state.put(&salt_key(&path), s.as_bytes()).await?;
                s
            }
        };
        let stored_head = match self.state.get(&chain_key(&path)).await? {
            Some(b) => Some(serde_json::from_slice(&b).map_err(|_| AuditError::Corrupt)?),
            None => None,
        };
        let info = DeviceInfo {
            device_type: device_type.to_owned(),
            description: description.to_owned(),
            options,
            local,
            path: path.clone(),
        };
        let device = Device::start(Start {
            info,
            config,
            salt: Salt::new(salt),
            stored_head,
            signer: Arc::clone(&self.signer),
            clock: Arc::clone(&self.clock),
            heads: self.heads.clone(),
        })
        .await?;
        self.devices
            .write()
            .map_err(|_| AuditError::Internal)?
            .push(device);
        Ok(())
    }

    /// Disables the device at `path`: writes its closing checkpoint, stops it and forgets
    /// its salt (re-enabling creates a new salt, as in Vault); its chain head is kept, so a
    /// device enabled again at the path continues the chain. Returns whether it existed.
    pub async fn disable(&self, path: &str) -> Result<bool, AuditError> {
        let Some(path) = normalize_path(path) else {
            return Ok(false);
        };
        let _admin = self.admin.lock().await;
        let removed = {
            let mut list = self.devices.write().map_err(|_| AuditError::Internal)?;
            let idx = list.iter().position(|d| d.info.path == path);
            idx.map(|i| list.remove(i))
        };
        let Some(device) = removed else {
            return Ok(false);
        };
        // The chain head is kept: a device enabled again at this path continues the same
        // chain, so a disable/enable cycle cannot be used to start a clean log.
        if let Some(head) = device.close().await
            && let Ok(bytes) = serde_json::to_vec(&head)
        {
            self.state.put(&chain_key(&path), &bytes).await?;
        }
        self.state.delete(&salt_key(&path)).await?;
        Ok(true)
    }

    /// The enabled devices, sorted by path (the `sys/audit` map's values).
    pub fn list(&self) -> Vec<DeviceInfo> {
        let mut out: Vec<DeviceInfo> = self.snapshot().iter().map(|d| d.info.clone()).collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Whether any device is enabled.
    pub fn is_enabled(&self) -> bool {
        self.devices.read().map(|d| !d.is_empty()).unwrap_or(true)
    }

    /// Records a request before it executes. `Ok` when no device is enabled or at least
    /// one device wrote the record; `Err(NoDeviceAccepted)` otherwise: refuse the request.
    /// The [`RequestRecord`] lets [`Self::log_response_after`] reuse what was formatted.
    pub async fn log_request(&self, rec: &AuditEntry) -> Result<RequestRecord, AuditError> {
        self.log(rec, RecordType::Request, None).await
    }

    /// Records a response after the request executed; same rule as [`Self::log_request`].
    pub async fn log_response(&self, rec: &AuditEntry) -> Result<(), AuditError> {
        self.log(rec, RecordType::Response, None).await.map(drop)
    }

    /// [`Self::log_response`] for an entry whose request record `logged` is: its `auth` and
    /// `request` members are reused rather than formatted and HMAC'd again. The caller
    /// guarantees that nothing but `time` and `response` changed in `rec` since.
    pub async fn log_response_after(
        &self,
        rec: &AuditEntry,
        logged: &RequestRecord,
    ) -> Result<(), AuditError> {
        self.log(rec, RecordType::Response, Some(logged))
            .await
            .map(drop)
    }

    /// Writes `rec` to every device; for a request record, returns what each device's
    /// record shares with the response record to come.
    async fn log(
        &self,
        rec: &AuditEntry,
        kind: RecordType,
        reuse: Option<&RequestRecord>,
    ) -> Result<RequestRecord, AuditError> {
        let mut kept = RequestRecord::default();
        let devices = self.snapshot();
        if devices.is_empty() {
            return Ok(kept);
        }
        let start = tokio::time::Instant::now();
        // Queue the record on every device first, then wait: devices write in parallel.
        let mut pending = Vec::with_capacity(devices.len());
        for d in &devices {
            let (format, salt) = (d.config.format, &d.salt);
            let shared = match reuse.and_then(|r| r.shared_for(d)) {
                Some(s) => Ok(Cow::Borrowed(s)),
                None => format_shared(rec, salt, format).map(Cow::Owned),
            };
            let formatted = shared.and_then(|sh| {
                let body = format_with_shared(rec, kind, &sh, salt, format)?;
                Ok((sh, body))
            });
            let Ok((shared, body)) = formatted else {
                tracing::error!(device = %d.info.path, "audit record encoding failed");
                continue;
            };
            if kind == RecordType::Request {
                // Moved, not copied: the request record formatted it just now.
                kept.shared.push((d.id, shared.into_owned()));
            }
            let deadline = start + d.config.write_timeout;
            pending.push((d, d.enqueue(body, deadline).await, deadline));
        }
        let mut accepted = false;
        for (d, queued, deadline) in pending {
            let result = match queued {
                Ok(rx) => Device::wait(rx, deadline).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => accepted = true,
                Err(e) => log_device_error(&d.info.path, &e),
            }
        }
        if accepted {
            Ok(kept)
        } else {
            Err(AuditError::NoDeviceAccepted)
        }
    }

    /// `sys/audit-hash/<path>`: the HMAC of `input` under the device's salt, exactly as it
    /// would appear in its records.
    pub async fn hash(&self, path: &str, input: &str) -> Result<String, AuditError> {
        let d = self.find(path).ok_or(AuditError::UnknownDevice)?;
        Ok(d.salt.hmac(input))
    }

    /// The checkpoint verification key as a PEM `PUBLIC KEY` block (Ed25519
    /// SubjectPublicKeyInfo), for `arca audit verify --pubkey`.
    pub async fn public_key(&self) -> Result<String, AuditError> {
        Ok(public_key_pem(&self.signer.public_key()))
    }

    /// Reopens every device (hook for SIGHUP after log rotation): a file device writes a
    /// `rotate` checkpoint to the old file and continues the chain in a new file at its
    /// path; sockets reconnect.
    pub async fn reopen(&self) -> Result<(), AuditError> {
        let mut failed = false;
        for d in self.snapshot() {
            if let Err(e) = d.reopen().await {
                tracing::error!(device = %d.info.path, error = %e, "audit device reopen failed");
                failed = true;
            }
        }
        if failed {
            Err(AuditError::Reopen)
        } else {
            Ok(())
        }
    }

    /// Writes a closing checkpoint on every device, fsyncs, persists the chain heads and
    /// stops the devices. Records logged afterwards pass (no device is enabled).
    pub async fn shutdown(&self) {
        let _admin = self.admin.lock().await;
        let devices = match self.devices.write() {
            Ok(mut d) => std::mem::take(&mut *d),
            Err(_) => return,
        };
        for d in devices {
            if let Some(head) = d.close().await
                && let Ok(bytes) = serde_json::to_vec(&head)
                && let Err(e) = self.state.put(&chain_key(&d.info.path), &bytes).await
            {
                tracing::warn!(device = %d.info.path, error = %e, "persisting audit chain head failed");
            }
        }
    }
}

impl Drop for AuditBroker {
    fn drop(&mut self) {
        self.persister.abort();
    }
}

fn log_device_error(path: &str, e: &DeviceError) {
    tracing::error!(device = %path, error = %e, "audit device did not record an entry");
}

/// PEM of an Ed25519 public key.
pub fn public_key_pem(public_key: &[u8; 32]) -> String {
    use base64::Engine as _;
    let der = arca_crypto::ed25519::public_key_spki_der(public_key);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

/// Parses a checkpoint public key given as PEM, as base64 of the DER SubjectPublicKeyInfo,
/// or as base64 or hex of the raw 32 bytes.
pub fn parse_public_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("")
        .split_whitespace()
        .collect();
    if body.len() == 64
        && let Ok(raw) = hex::decode(&body)
    {
        return raw.try_into().ok();
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .ok()?;
    if let Some(k) = arca_crypto::ed25519::public_key_from_spki_der(&bytes) {
        return Some(k);
    }
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_normalize() {
        assert_eq!(normalize_path("file").as_deref(), Some("file/"));
        assert_eq!(normalize_path("/a/b/").as_deref(), Some("a/b/"));
        assert_eq!(normalize_path(""), None);
        assert_eq!(normalize_path("a//b"), None);
        assert_eq!(normalize_path("a/../b"), None);
        assert_eq!(salt_key("file/"), "salt/file");
    }

    #[test]
    fn public_key_round_trips_in_every_spelling() {
        let (k, _) = SigningKey::generate().unwrap();
        let pk = k.public_key();
        assert_eq!(parse_public_key(&public_key_pem(&pk)), Some(pk));
        assert_eq!(parse_public_key(&hex::encode(pk)), Some(pk));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(pk);
        assert_eq!(parse_public_key(&b64), Some(pk));
        assert_eq!(parse_public_key("garbage"), None);
    }
}
