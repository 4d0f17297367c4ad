//! The KV secrets engine (type `kv`), in both of Vault's flavours, chosen by the mount's
//! `options.version`:
//!
//! * **Version 1** (`version` absent, `""` or `"1"`): plain key/value. `PUT|POST <path>`
//!   stores the body (any JSON object) and answers 204; `GET` returns it with
//!   `lease_duration` taken from its `ttl` (or `lease`) key, else the mount default, and no
//!   lease id; `LIST` lists a folder; `DELETE` removes the entry; `SCAN` lists recursively.
//! * **Version 2** (`version` = `"2"`): versioned secrets with metadata under `data/`,
//!   `metadata/`, `detailed-metadata/`, `delete/`, `undelete/`, `destroy/`, `subkeys/` and
//!   `config`, with check-and-set, soft deletion, destruction, version pruning
//!   (`max_versions`), automatic deletion (`delete_version_after`), JSON merge-patch and
//!   custom metadata, following OpenBao's KV plugin. A deleted or destroyed version reads as a
//!   404 that still carries the full envelope (`data.data = null` plus the version's
//!   metadata), which hvac, the CLI and the Go client parse.
//!
//! # Storage layout
//!
//! Everything lives in the mount's prefix-scoped, barrier-encrypted view.
//!
//! | key | version | value |
//! |---|---|---|
//! | `entries/<path>` | 1 | the secret's JSON object, as written |
//! | `config` | 2 | JSON mount settings (`max_versions`, `cas_required`, `metadata_cas_required`, `delete_version_after` in seconds, negative = disabled) |
//! | `metadata/<path>` | 2 | JSON key metadata: every version's created/deletion time and destroyed flag, current and oldest version, per-key settings, custom metadata |
//! | `versions/<path>/<n>` | 2 | the JSON object of version `n` of `<path>` (absent once destroyed or pruned) |
//!
//! The two versions use disjoint top-level names, so a v1 secret can never be mistaken for
//! v2 bookkeeping. `metadata/` mirrors the secret paths, so `LIST metadata/<folder>` is a
//! storage list. A version key always has one more segment than its path, so no two
//! secrets share one. Every change an operation makes (a new version, its metadata and the
//! versions pruned by it; a destroy and its metadata; ...) is one storage `transaction`,
//! so nothing is ever half-written. Operations on the same secret are serialised by a
//! striped lock.
//!
//! # Upgrade from version 1
//!
//! When a mount is tuned to `options.version = "2"` the core creates a version 2 backend over
//! the version 1 data. Before serving anything (in [`arca_logical::Backend::initialize`], or
//! at the first request if that came first) the backend moves every entry under `entries/`
//! to version 1 of the same path (created now, as Vault's upgrade does), deleting the old
//! keys in the same single transaction. The whole mount is held in memory while that
//! transaction is built. A version 1 backend created over version 2 data sees nothing (the
//! core refuses downgrades anyway).
//!
//! # Size limit
//!
//! A secret (a v1 entry, or one v2 version, as stored JSON) may be at most
//! [`DEFAULT_MAX_ENTRY_SIZE`] bytes, or the mount option `max_entry_size` (bytes). A larger
//! write, or a patch whose result is larger, is refused with 413 before anything is stored.
//! The HTTP body limit (32 MiB) is far above what a secret should be; the default matches
//! OpenBao's raft `max_entry_size`, so a write that would fail on OpenBao's production
//! storage fails here too, with a clear message.
//!
//! Stored values are secrets: they never appear in logs, errors or `Debug` output.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait (`arca-storage`) and the wire helpers (`arca-types`); never on the core,
//! another engine or HTTP. Time comes only from [`arca_logical::SystemView::now`].

use std::sync::Arc;

use arca_logical::{Backend, BackendConfig, BackendKind, Factory, LogicalError, LogicalResult};
use arca_storage::Storage;

mod merge;
mod model;
mod timefmt;
mod v1;
mod v2;

/// The mount type name.
pub const TYPE_NAME: &str = "kv";

/// Where version 1 keeps its entries. Version 2 uses other top-level names, so a v1 path
/// can never collide with v2 bookkeeping, and whatever is left here is v1 data to upgrade.
pub(crate) const V1_PREFIX: &str = "entries/";

/// Failures inside this engine that are not the client's fault, plus a bad mount option.
/// Messages never contain stored values or request data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// A stored record could not be decoded.
    #[error("stored kv {0} record could not be decoded")]
    Corrupt(&'static str),
    /// A record could not be encoded.
    #[error("kv {0} record could not be encoded")]
    Encode(&'static str),
    /// The metadata lists a live version whose data is missing.
    #[error("kv version data is missing for a live version")]
    MissingVersionData,
    /// The built-in path table failed to compile.
    #[error("kv path table is invalid")]
    PathTable,
    /// `options.version` is neither 1 nor 2.
    #[error("unsupported kv version: the version option must be \"1\" or \"2\"")]
    UnsupportedVersion,
    /// `options.max_entry_size` is not a positive integer.
    #[error("invalid kv option max_entry_size: expected a positive number of bytes")]
    InvalidMaxEntrySize,
}

impl From<KvError> for LogicalError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::UnsupportedVersion | KvError::InvalidMaxEntrySize => {
                LogicalError::invalid(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "kv engine failure");
                LogicalError::internal()
            }
        }
    }
}

/// Creates KV backends; `options.version` picks version 1 (absent, `""`, `"1"`) or 2.
#[derive(Debug, Default, Clone, Copy)]
pub struct KvFactory;

impl Factory for KvFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Secrets
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        let max_entry_size = match config.options.get("max_entry_size").map(String::as_str) {
            None | Some("") => DEFAULT_MAX_ENTRY_SIZE,
            Some(s) => s
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(KvError::InvalidMaxEntrySize)?,
        };
        match config.options.get("version").map(String::as_str) {
            None | Some("") | Some("1") => Ok(Arc::new(v1::KvV1::new(
                config.storage,
                config.system,
                max_entry_size,
            ))),
            Some("2") => Ok(Arc::new(v2::KvV2::new(
                config.storage,
                config.system,
                max_entry_size,
            )?)),
            Some(_) => Err(KvError::UnsupportedVersion.into()),
        }
    }
}

/// The largest stored secret (v1 entry or v2 version, as JSON) by default: 1 MiB, OpenBao's
/// raft `max_entry_size`. The mount option `max_entry_size` overrides it.
pub const DEFAULT_MAX_ENTRY_SIZE: usize = 1024 * 1024;

/// Refuses an encoded secret larger than the mount allows (413). The message gives sizes,
/// never content.
pub(crate) fn check_entry_size(encoded: &[u8], max: usize) -> LogicalResult<()> {
    if encoded.len() <= max {
        return Ok(());
    }
    Err(LogicalError::new(
        arca_logical::ErrorKind::PayloadTooLarge,
        format!(
            "secret too large: {} bytes as stored, the mount allows at most {max} (mount option max_entry_size)",
            encoded.len()
        ),
    ))
}

/// Every key below `folder` (empty or ending in `/`), recursively, relative to `folder`,
/// sorted. Folders themselves are not included.
pub(crate) async fn scan(storage: &dyn Storage, folder: &str) -> LogicalResult<Vec<String>> {
    let mut out = Vec::new();
    // An explicit stack: recursion in async fns needs boxing, and folders can be deep.
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        for child in storage.list(&format!("{folder}{rel}")).await? {
            let full = format!("{rel}{child}");
            if child.ends_with('/') {
                pending.push(full);
            } else {
                out.push(full);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` as a folder for listing: empty stays empty, otherwise it ends in `/`.
pub(crate) fn as_folder(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    }
}

/// A list response (`data.keys`), or `None` for an empty list (answered with 404).
pub(crate) fn list_response(keys: Vec<String>) -> Option<arca_logical::Response> {
    if keys.is_empty() {
        return None;
    }
    let mut data = serde_json::Map::new();
    data.insert("keys".to_owned(), serde_json::Value::from(keys));
    Some(arca_logical::Response::with_data(data))
}
