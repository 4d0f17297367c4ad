//! Reads the server configuration: `arca server -config FILE_OR_DIR` (repeatable), in Vault's and
//! OpenBao's HCL or JSON config syntax, into a typed [`ServerConfig`].
//!
//! What it does:
//! - parses each file (HCL, or JSON when the name ends in `.json` or the text starts with `{`),
//!   loads `*.hcl`/`*.json` from directories in name order, and merges files in order the way
//!   Vault does ([`load`]);
//! - accepts Vault's lenient scalars: booleans as `true`/`"true"`/`1`/`"1"`, durations as Go
//!   strings (`"768h"`, `"1h30m"`), integer seconds or `"<n>d"`, sizes as integers or numeric
//!   strings;
//! - rejects wrong types, bad values and settings Arca cannot honour with a [`ConfigError`] that
//!   names file, line and key; unknown keys are warnings (as in OpenBao), returned in
//!   [`LoadedConfig::warnings`].
//!
//! Defaults that depend on the mode (dev or not) are applied by the server, not here: a missing
//! `storage` or listener is not an error in this crate.
//!
//! Architecture invariant: this crate depends on no other Arca crate and knows nothing of HTTP,
//! TLS libraries or storage engines; it never opens the files a config names (certificates,
//! storage paths), it only carries their paths. It never formats the value of a key that could
//! be a secret into an error, a warning or `Debug` output.

mod decode;
mod duration;
mod error;
mod hcl1;
mod tree;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrorKind};

/// `listener "tcp"` address when none is given.
pub const DEFAULT_LISTENER_ADDRESS: &str = "127.0.0.1:8200";
/// Request body limit when neither the listener nor the top level sets `max_request_size` (32 MiB).
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 33_554_432;
/// Per-request time limit when the listener sets no `max_request_duration`.
pub const DEFAULT_MAX_REQUEST_DURATION: Duration = Duration::from_secs(90);
/// System default and maximum lease TTL when the config sets none (768h).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);
/// `max_request_size` value meaning "no limit": what a negative setting means in Vault.
pub const UNLIMITED_REQUEST_SIZE: u64 = u64::MAX;

/// The merged configuration of all `-config` paths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerConfig {
    /// `listener` blocks, in file order; accumulated across files.
    pub listeners: Vec<ListenerConfig>,
    /// The one `storage` block. Required unless in dev mode; the server checks.
    pub storage: Option<StorageConfig>,
    /// `api_addr`: the address advertised to clients.
    pub api_addr: Option<String>,
    /// `cluster_addr`: the node-to-node address.
    pub cluster_addr: Option<String>,
    /// `cluster_name`; the server generates `vault-cluster-<8 hex>` when absent.
    pub cluster_name: Option<String>,
    /// `ui`: serve the web UI.
    pub ui: bool,
    /// `default_lease_ttl`; `None` (also for `0`) means the server default, 768h.
    pub default_lease_ttl: Option<Duration>,
    /// `max_lease_ttl`; `None` (also for `0`) means the server default, 768h.
    pub max_lease_ttl: Option<Duration>,
    /// Top-level `max_request_size` in bytes: the default for listeners that set none. Same
    /// encoding as [`ListenerConfig::max_request_size`].
    pub max_request_size: Option<u64>,
    /// `log_level`, normalised to one of `trace`, `debug`, `info`, `warn`, `error`.
    pub log_level: Option<String>,
    /// `disable_mlock`: skip locking memory at start (core dumps stay disabled).
    pub disable_mlock: bool,
    /// `raw_storage_endpoint`: enable `sys/raw`.
    pub raw_storage_endpoint: bool,
    /// `unsafe_allow_api_audit_creation`: allow enabling audit devices over the API.
    pub unsafe_allow_api_audit_creation: bool,
    /// `seal "<type>" {…}` blocks, kept raw (labels `[type]`) for a later issue.
    pub seals: Vec<Block>,
    /// `audit "<type>" "<path>" {…}` blocks, kept raw (labels `[type, path]`) for a later issue.
    pub audits: Vec<Block>,
}

/// A block kept as written, for sections this crate does not interpret yet.
#[derive(Clone, PartialEq)]
pub struct Block {
    /// The block's labels: `seal "transit"` has `["transit"]`.
    pub labels: Vec<String>,
    /// The body as JSON (repeated nested blocks become arrays). May hold secrets (a seal token).
    pub body: serde_json::Value,
    /// Where the block starts.
    pub source: Location,
}

impl fmt::Debug for Block {
    // The body can hold seal tokens and keys: show only its key names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = match &self.body {
            serde_json::Value::Object(map) => map.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        f.debug_struct("Block")
            .field("labels", &self.labels)
            .field("body_keys", &keys)
            .field("source", &self.source)
            .finish()
    }
}

/// A place in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as given on the command line or found in a given directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A `listener "tcp" {…}` block with Vault's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// The listener type; always `"tcp"` (the only one supported; `"unix"` is an error).
    pub kind: String,
    /// `address`, default [`DEFAULT_LISTENER_ADDRESS`].
    pub address: String,
    /// `cluster_address`; Vault's default is the address's port + 1.
    pub cluster_address: Option<String>,
    /// `tls_disable`, default false. When false, `tls_cert_file` and `tls_key_file` are present.
    pub tls_disable: bool,
    /// `tls_cert_file` (PEM chain).
    pub tls_cert_file: Option<PathBuf>,
    /// `tls_key_file` (PEM key).
    pub tls_key_file: Option<PathBuf>,
    /// `tls_min_version`, default TLS 1.2. Never above `tls_max_version`.
    pub tls_min_version: TlsVersion,
    /// `tls_max_version`, default TLS 1.3.
    pub tls_max_version: TlsVersion,
    /// `tls_client_ca_file`: CAs for verifying client certificates.
    pub tls_client_ca_file: Option<PathBuf>,
    /// `tls_require_and_verify_client_cert`, default false.
    pub tls_require_and_verify_client_cert: bool,
    /// `tls_disable_client_certs`, default false (client certs are requested but optional).
    /// Never true together with `tls_require_and_verify_client_cert`.
    pub tls_disable_client_certs: bool,
    /// `max_request_size` in bytes. `None`: not set (or set to 0), so the top-level value or
    /// [`DEFAULT_MAX_REQUEST_SIZE`] applies. A negative setting disables the limit, as in Vault,
    /// and is stored as [`UNLIMITED_REQUEST_SIZE`].
    pub max_request_size: Option<u64>,
    /// `max_request_duration`; `None` (also for `0`) means [`DEFAULT_MAX_REQUEST_DURATION`].
    pub max_request_duration: Option<Duration>,
    /// `disable_unauthed_rekey_endpoints`, default true.
    pub disable_unauthed_rekey_endpoints: bool,
    /// `disable_unauthed_generate_root_endpoints`, default true.
    pub disable_unauthed_generate_root_endpoints: bool,
    /// Where the block starts.
    pub source: Location,
}

impl ListenerConfig {
    /// A TCP listener on `address` with every other setting at Vault's default (TLS on, so the
    /// caller sets certificate paths or `tls_disable`). For listeners the server makes itself,
    /// such as in dev mode.
    pub fn tcp(address: impl Into<String>, source: Location) -> Self {
        ListenerConfig {
            kind: "tcp".to_owned(),
            address: address.into(),
            cluster_address: None,
            tls_disable: false,
            tls_cert_file: None,
            tls_key_file: None,
            tls_min_version: TlsVersion::Tls12,
            tls_max_version: TlsVersion::Tls13,
            tls_client_ca_file: None,
            tls_require_and_verify_client_cert: false,
            tls_disable_client_certs: false,
            max_request_size: None,
            max_request_duration: None,
            disable_unauthed_rekey_endpoints: true,
            disable_unauthed_generate_root_endpoints: true,
            source,
        }
    }
}

/// TLS protocol versions Arca accepts (`tls10`/`tls11` are rejected). Ordered: `Tls12 < Tls13`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// `tls12`
    Tls12,
    /// `tls13`
    Tls13,
}

/// The `storage "<kind>" {…}` block.
#[derive(Clone, PartialEq)]
pub struct StorageConfig {
    /// `"embedded"` (options: `path`, required) or `"inmem"`.
    pub kind: String,
    /// The block's keys; non-string values are JSON-encoded, as Vault does. May hold secrets.
    pub options: BTreeMap<String, String>,
    /// Where the block starts.
    pub source: Location,
}

impl fmt::Debug for StorageConfig {
    // Options can hold credentials (a connection URL): show only their names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("kind", &self.kind)
            .field("option_keys", &self.options.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .finish()
    }
}

/// A parsed configuration and the warnings found on the way (unknown keys, ignored settings),
/// each as `<file>:<line>: <message>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedConfig {
    /// The merged configuration.
    pub config: ServerConfig,
    /// Human-readable warnings for the server to log.
    pub warnings: Vec<String>,
}

/// Loads and merges config files and directories in the order given.
///
/// A directory contributes its `*.hcl` and `*.json` files (not subdirectories, not editor
/// temporaries such as `x.hcl~` or `.#x.hcl`), sorted by name. A file that lies in a directory
/// also given is read once. Files merge as in Vault: listeners, seals and audits accumulate;
/// strings and sizes set later win; booleans are OR-ed; lease TTLs take the larger. A second
/// `storage` block anywhere is an error naming both places (Vault lets a later file replace it
/// silently, which could point the server at another data directory).
pub fn load(paths: &[PathBuf]) -> Result<LoadedConfig, ConfigError> {
    let mut warnings = Vec::new();
    let files = decode::expand_paths(paths, &mut warnings)?;
    let mut merged = LoadedConfig {
        config: ServerConfig::default(),
        warnings,
    };
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::io(&file, e))?;
        let loaded = parse_str(&text, &file)?;
        merged.config = decode::merge(merged.config, loaded.config)?;
        merged.warnings.extend(loaded.warnings);
    }
    Ok(merged)
}

/// Parses one file's text; `file` names it in errors and decides the syntax (`.json` is JSON,
/// as is any text starting with `{`; everything else is HCL).
pub fn parse_str(text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
    decode::parse_file(text, file)
}
