//! From the syntax tree to [`ServerConfig`]: which keys exist, their lenient types, defaults,
//! validation, and merging of several files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::duration::{DurationError, parse_config_duration, seconds};
use crate::error::{ConfigError, ConfigErrorKind, printable, shown};
use crate::tree::{self, Entry, Kind, Node};
use crate::{
    Block, ListenerConfig, LoadedConfig, Location, ServerConfig, StorageConfig, TlsVersion,
    UNLIMITED_REQUEST_SIZE,
};

// ---------------------------------------------------------------------------------------------
// Known keys that Arca accepts but does not act on.

/// Top-level keys accepted and ignored without a warning: they tune things Arca does not have
/// (mlock, a read cache, Go plugins, telemetry sinks, log files) or do not change behaviour a
/// client can see. Their values are type-checked where the type is simple.
const IGNORED_TOP_LEVEL: &[&str] = &[
    // checked as booleans
    "disable_cache",
    "disable_clustering",
    "disable_printable_check",
    "disable_sentinel_trace",
    "disable_performance_standby",
    "disable_sealwrap",
    "disable_indexing",
    "disable_standby_reads",
    "enable_response_header_hostname",
    "enable_response_header_raft_node_id",
    "imprecise_lease_role_tracking",
    "allow_audit_log_prefixing",
    "unsafe_cross_namespace_identity",
    "allow_unauthenticated_workflows",
    "unsafe_relative_paths",
    "plugin_auto_download",
    "plugin_auto_register",
    "enable_post_unseal_trace",
    // checked as integers
    "cache_size",
    "log_rotate_bytes",
    "log_rotate_max_files",
    "plugin_file_uid",
    "plugin_download_max_size",
    // checked as durations
    "default_max_request_duration",
    // not checked
    "pid_file",
    "log_format",
    "log_file",
    "log_rotate_duration",
    "log_requests_level",
    "telemetry",
    "plugin_directory",
    "plugin_tmpdir",
    "plugin_file_permissions",
    "plugin_download_behavior",
    "cluster_cipher_suites",
    "detect_deadlocks",
    "post_unseal_trace_directory",
    "experiments",
    "license_path",
    "administrative_namespace_path",
];

const IGNORED_BOOLS: &[&str] = &[
    "disable_cache",
    "disable_clustering",
    "disable_printable_check",
    "disable_sentinel_trace",
    "disable_performance_standby",
    "disable_sealwrap",
    "disable_indexing",
    "disable_standby_reads",
    "enable_response_header_hostname",
    "enable_response_header_raft_node_id",
    "imprecise_lease_role_tracking",
    "allow_audit_log_prefixing",
    "unsafe_cross_namespace_identity",
    "allow_unauthenticated_workflows",
    "unsafe_relative_paths",
    "plugin_auto_download",
    "plugin_auto_register",
    "enable_post_unseal_trace",
];
const IGNORED_INTS: &[&str] = &[
    "cache_size",
    "log_rotate_bytes",
    "log_rotate_max_files",
    "plugin_file_uid",
    "plugin_download_max_size",
];

/// Top-level sections of features Arca lacks: accepted so a Vault config loads, with a warning
/// because ignoring them changes behaviour (no HA, no lockout, no self-init).
const UNSUPPORTED_TOP_LEVEL: &[&str] = &[
    "ha_storage",
    "ha_backend",
    "service_registration",
    "user_lockout",
    "initialize",
    "plugin",
    "entropy",
];

/// Listener keys of Vault/OpenBao that Arca does not implement yet; each use is warned about.
const UNSUPPORTED_LISTENER: &[&str] = &[
    "tls_cipher_suites",
    "tls_prefer_server_cipher_suites",
    "tls_auto_reload",
    "tls_auto_reload_interval",
    "tls_key_exchange_preferences",
    "proxy_protocol_behavior",
    "proxy_protocol_authorized_addrs",
    "max_request_json_memory",
    "max_request_json_strings",
    "http_idle_timeout",
    "http_read_header_timeout",
    "http_read_timeout",
    "http_write_timeout",
    "custom_response_headers",
    "require_request_header",
    "purpose",
    "role",
    "telemetry",
    "profiling",
    "inflight_requests_logging",
    "agent_api",
    "proxy_api",
    "chroot_namespace",
    "redact_addresses",
    "redact_cluster_name",
    "redact_version",
    "disable_replication_status_endpoints",
    "socket_mode",
    "socket_user",
    "socket_group",
];
const UNSUPPORTED_LISTENER_PREFIXES: &[&str] = &["tls_acme_", "x_forwarded_for_", "cors_"];

// ---------------------------------------------------------------------------------------------
// Context: where we are, and the warnings so far.

struct Ctx<'a> {
    file: &'a Path,
    warnings: Vec<String>,
}

impl Ctx<'_> {
    fn location(&self, line: usize) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line,
        }
    }

    fn invalid(&self, line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            self.file,
            Some(line),
            Some(key),
            ConfigErrorKind::Invalid(message.into()),
        )
    }

    fn unsupported(&self, line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            self.file,
            Some(line),
            Some(key),
            ConfigErrorKind::Unsupported(message.into()),
        )
    }

    /// Attaches the key and line to a scalar decoder's message.
    fn check<T>(
        &self,
        line: usize,
        key: &str,
        result: Result<T, String>,
    ) -> Result<T, ConfigError> {
        result.map_err(|m| self.invalid(line, key, m))
    }

    fn warn(&mut self, line: usize, message: impl AsRef<str>) {
        let message = format!("{}: {}", self.location(line), message.as_ref());
        self.warnings.push(message);
    }

    fn unknown_key(&mut self, line: usize, key: &str) {
        self.warn(
            line,
            format!("unknown or unsupported field {}", printable(key)),
        );
    }

    /// Warns when a scalar key is set twice in one body; the last value wins, as in HCL1.
    fn check_duplicate(&mut self, seen: &mut HashMap<String, usize>, key: &str, line: usize) {
        if let Some(first) = seen.insert(key.to_owned(), line) {
            self.warn(
                line,
                format!(
                    "{} is set more than once (first on line {first}); the last value is used",
                    printable(key)
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lenient scalars, as Vault's parseutil reads them. Each returns a message without the value.

fn expect_string(node: &Node) -> Result<String, String> {
    match &node.kind {
        Kind::String(s) => Ok(s.clone()),
        // HCL1 decodes a number into a string field as its text.
        Kind::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected a string, found {}", other.describe())),
    }
}

/// Go's `strconv.ParseBool` spellings, plus `""` as false (mapstructure's weak decoding).
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Some(false),
        _ => None,
    }
}

fn expect_bool(node: &Node) -> Result<bool, String> {
    const WANT: &str = "expected a boolean (true, false, \"true\", \"false\", 1 or 0)";
    match &node.kind {
        Kind::Bool(b) => Ok(*b),
        Kind::String(s) => go_bool(s).ok_or_else(|| WANT.to_owned()),
        Kind::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ok(i != 0),
            (None, Some(u)) => Ok(u != 0),
            _ => Err(WANT.to_owned()),
        },
        other => Err(format!("{WANT}, found {}", other.describe())),
    }
}

fn expect_int(node: &Node) -> Result<i64, String> {
    const WANT: &str = "expected an integer";
    match &node.kind {
        Kind::Number(n) => n.as_i64().ok_or_else(|| format!("{WANT} in range")),
        Kind::String(s) => s.trim().parse::<i64>().map_err(|_| WANT.to_owned()),
        other => Err(format!("{WANT}, found {}", other.describe())),
    }
}

fn expect_duration(node: &Node) -> Result<Duration, String> {
    let result = match &node.kind {
        Kind::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => seconds(i, 1),
            // Go converts a float to whole seconds by truncation.
            (None, Some(f)) if f.is_finite() && f.abs() < 9.2e18 => seconds(f as i64, 1),
            _ => Err(DurationError::Overflow),
        },
        Kind::String(s) => {
            return parse_config_duration(s).map_err(|e| format!("{}: {}", e.message(), shown(s)));
        }
        other => {
            return Err(format!(
                "expected a duration (\"90s\", \"1h30m\" or seconds), found {}",
                other.describe()
            ));
        }
    };
    result.map_err(|e| e.message().to_owned())
}

/// `None` for zero: Vault treats a zero TTL or duration as "use the default".
fn expect_optional_duration(node: &Node) -> Result<Option<Duration>, String> {
    expect_duration(node).map(|d| (!d.is_zero()).then_some(d))
}

/// `max_request_size`: 0 means default (`None`), negative means unlimited, as in Vault.
fn expect_size(node: &Node) -> Result<Option<u64>, String> {
    let n = expect_int(node)?;
    Ok(match n {
        0 => None,
        n if n < 0 => Some(UNLIMITED_REQUEST_SIZE),
        n => Some(n.unsigned_abs()),
    })
}

fn expect_log_level(node: &Node) -> Result<Option<String>, String> {
    let s = expect_string(node)?;
    let level = match s.trim().to_ascii_lowercase().as_str() {
        "" => return Ok(None),
        "trace" => "trace",
        "debug" => "debug",
        "info" | "notice" => "info",
        "warn" | "warning" => "warn",
        "err" | "error" => "error",
        _ => {
            return Err(format!(
                "unknown log level {} (use trace, debug, info, warn or error)",
                shown(&s)
            ));
        }
    };
    Ok(Some(level.to_owned()))
}

/// A `host:port` address. Hostnames are allowed (the server resolves them when binding).
fn expect_address(node: &Node) -> Result<String, String> {
    let s = expect_string(node)?;
    check_address(&s)?;
    Ok(s)
}

fn check_address(s: &str) -> Result<(), String> {
    if s.contains("{{") {
        return Err("go-sockaddr templates are not supported; give a literal address".to_owned());
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("expected host:port, got {}", shown(s)));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("invalid port in address {}", shown(s)));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "IPv6 addresses must be in brackets, like [::1]:8200; got {}",
            shown(s)
        ));
    }
    Ok(())
}

/// A URL-ish address (`api_addr`, `cluster_addr`): a non-empty string, no templates.
fn expect_advertised_address(node: &Node) -> Result<Option<String>, String> {
    let s = expect_string(node)?;
    if s.contains("{{") {
        return Err("go-sockaddr templates are not supported; give a literal address".to_owned());
    }
    Ok((!s.trim().is_empty()).then_some(s))
}

fn expect_path(node: &Node) -> Result<Option<PathBuf>, String> {
    let s = expect_string(node)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

fn expect_tls_version(node: &Node) -> Result<TlsVersion, (bool, String)> {
    let s = expect_string(node).map_err(|m| (false, m))?;
    match s.trim().to_ascii_lowercase().as_str() {
        "tls12" => Ok(TlsVersion::Tls12),
        "tls13" => Ok(TlsVersion::Tls13),
        "tls10" | "tls11" => Err((
            true,
            "TLS 1.0 and 1.1 are not supported by Arca; use tls12 or tls13".to_owned(),
        )),
        _ => Err((
            false,
            format!("unknown TLS version {} (use tls12 or tls13)", shown(&s)),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Labeled blocks: `listener "tcp" {…}`, `"listener": {"tcp": {…}}`, `"listener": [{"tcp": …}]`.

struct Labeled {
    labels: Vec<String>,
    line: usize,
    body: Vec<Entry>,
}

fn labeled(
    node: Node,
    want: usize,
    key: &str,
    usage: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<Labeled>, ConfigError> {
    let mut out = Vec::new();
    collect_labeled(node, want, Vec::new(), key, usage, ctx, &mut out)?;
    Ok(out)
}

fn collect_labeled(
    node: Node,
    want: usize,
    labels: Vec<String>,
    key: &str,
    usage: &str,
    ctx: &Ctx<'_>,
    out: &mut Vec<Labeled>,
) -> Result<(), ConfigError> {
    match node.kind {
        Kind::List(items) => {
            for item in items {
                collect_labeled(item, want, labels.clone(), key, usage, ctx, out)?;
            }
        }
        Kind::Block {
            labels: block_labels,
            body,
        } => {
            if labels.len() + block_labels.len() != want {
                return Err(ctx.invalid(
                    node.line,
                    key,
                    format!("wrong number of block labels; write {usage}"),
                ));
            }
            let mut labels = labels;
            labels.extend(block_labels);
            out.push(Labeled {
                labels,
                line: node.line,
                body,
            });
        }
        Kind::Object(entries) if labels.len() == want => out.push(Labeled {
            labels,
            line: node.line,
            body: entries,
        }),
        Kind::Object(entries) => {
            for entry in entries {
                let mut inner = labels.clone();
                inner.push(entry.key);
                collect_labeled(entry.value, want, inner, key, usage, ctx, out)?;
            }
        }
        other => {
            return Err(ctx.invalid(
                node.line,
                key,
                format!(
                    "expected a block, found {}; write {usage}",
                    other.describe()
                ),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One file.

pub(crate) fn parse_file(text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json =
        file.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let root = if is_json {
        tree::parse_json(text)
    } else {
        tree::parse_hcl(text)
    }
    .map_err(|e| {
        ConfigError::new(
            file,
            Some(e.line),
            e.key.as_deref(),
            ConfigErrorKind::Syntax(e.message),
        )
    })?;
    let mut ctx = Ctx {
        file,
        warnings: Vec::new(),
    };
    let config = decode_top(root, &mut ctx)?;
    Ok(LoadedConfig {
        config,
        warnings: ctx.warnings,
    })
}

fn decode_top(root: Node, ctx: &mut Ctx<'_>) -> Result<ServerConfig, ConfigError> {
    let entries = match root.kind {
        Kind::Object(entries) => entries,
        other => {
            return Err(ConfigError::new(
                ctx.file,
                Some(root.line),
                None,
                ConfigErrorKind::Invalid(format!(
                    "a config file must hold an object of settings, found {}",
                    other.describe()
                )),
            ));
        }
    };
    let mut cfg = ServerConfig::default();
    let mut seen = HashMap::new();
    for Entry { key, line, value } in entries {
        let k = key.as_str();
        match k {
            "listener" => {
                for block in labeled(value, 1, k, "listener \"tcp\" { … }", ctx)? {
                    let listener = decode_listener(block, ctx)?;
                    cfg.listeners.push(listener);
                }
            }
            "storage" | "backend" => {
                for block in labeled(value, 1, k, "storage \"embedded\" { … }", ctx)? {
                    let storage = decode_storage(block, k, ctx)?;
                    if let Some(first) = &cfg.storage {
                        return Err(duplicate_storage(first, &storage));
                    }
                    cfg.storage = Some(storage);
                }
            }
            // `hsm` and `kms` are older names for seal blocks.
            "seal" | "hsm" | "kms" => {
                for block in labeled(value, 1, k, "seal \"<type>\" { … }", ctx)? {
                    cfg.seals.push(raw_block(block, ctx));
                }
            }
            "audit" => {
                for block in labeled(value, 2, k, "audit \"<type>\" \"<path>\" { … }", ctx)? {
                    cfg.audits.push(raw_block(block, ctx));
                }
            }
            "api_addr" => cfg.api_addr = ctx.check(line, k, expect_advertised_address(&value))?,
            "cluster_addr" => {
                cfg.cluster_addr = ctx.check(line, k, expect_advertised_address(&value))?
            }
            "cluster_name" => {
                let name = ctx.check(line, k, expect_string(&value))?;
                cfg.cluster_name = (!name.is_empty()).then_some(name);
            }
            "ui" => cfg.ui = ctx.check(line, k, expect_bool(&value))?,
            "default_lease_ttl" => {
                cfg.default_lease_ttl = ctx.check(line, k, expect_optional_duration(&value))?
            }
            "max_lease_ttl" => {
                cfg.max_lease_ttl = ctx.check(line, k, expect_optional_duration(&value))?
            }
            "max_request_size" => cfg.max_request_size = ctx.check(line, k, expect_size(&value))?,
            "log_level" => cfg.log_level = ctx.check(line, k, expect_log_level(&value))?,
            "disable_mlock" => cfg.disable_mlock = ctx.check(line, k, expect_bool(&value))?,
            "raw_storage_endpoint" => {
                cfg.raw_storage_endpoint = ctx.check(line, k, expect_bool(&value))?
            }
            "unsafe_allow_api_audit_creation" => {
                cfg.unsafe_allow_api_audit_creation = ctx.check(line, k, expect_bool(&value))?;
            }
            "introspection_endpoint" => {
                if ctx.check(line, k, expect_bool(&value))? {
                    ctx.warn(
                        line,
                        "introspection_endpoint is not supported by Arca; ignored",
                    );
                }
            }
            _ if IGNORED_BOOLS.contains(&k) => {
                ctx.check(line, k, expect_bool(&value))?;
            }
            _ if IGNORED_INTS.contains(&k) => {
                ctx.check(line, k, expect_int(&value))?;
            }
            "default_max_request_duration" => {
                ctx.check(line, k, expect_duration(&value))?;
            }
            _ if IGNORED_TOP_LEVEL.contains(&k) => {}
            _ if UNSUPPORTED_TOP_LEVEL.contains(&k) => {
                ctx.warn(line, format!("{k} is not supported by Arca; ignored"));
            }
            _ => ctx.unknown_key(line, k),
        }
        if !is_section(k) {
            ctx.check_duplicate(&mut seen, k, line);
        }
    }
    Ok(cfg)
}

/// Keys that may repeat because each occurrence adds a block.
fn is_section(key: &str) -> bool {
    matches!(
        key,
        "listener" | "storage" | "backend" | "seal" | "hsm" | "kms" | "audit"
    ) || UNSUPPORTED_TOP_LEVEL.contains(&key)
        || key == "telemetry"
}

fn duplicate_storage(first: &StorageConfig, second: &StorageConfig) -> ConfigError {
    ConfigError::new(
        &second.source.file,
        Some(second.source.line),
        Some("storage"),
        ConfigErrorKind::Invalid(format!(
            "only one storage block is allowed; another is at {}",
            first.source
        )),
    )
}

fn raw_block(block: Labeled, ctx: &Ctx<'_>) -> Block {
    Block {
        labels: block.labels,
        body: tree::entries_to_json(&block.body),
        source: ctx.location(block.line),
    }
}

fn decode_listener(block: Labeled, ctx: &mut Ctx<'_>) -> Result<ListenerConfig, ConfigError> {
    let kind = block
        .labels
        .first()
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_default();
    match kind.as_str() {
        "tcp" => {}
        "unix" => {
            return Err(ctx.unsupported(
                block.line,
                "listener",
                "listener type unix is not supported by Arca; use tcp",
            ));
        }
        _ => {
            return Err(ctx.invalid(
                block.line,
                "listener",
                format!("unknown listener type {} (use tcp)", shown(&kind)),
            ));
        }
    }
    let mut l = ListenerConfig::tcp(crate::DEFAULT_LISTENER_ADDRESS, ctx.location(block.line));
    let mut seen = HashMap::new();
    let mut min_line = block.line;
    let mut require_line = block.line;
    for Entry { key, line, value } in block.body {
        let path = format!("listener.tcp.{key}");
        let tls_version = |r: Result<TlsVersion, (bool, String)>| {
            r.map_err(|(unsupported, m)| {
                if unsupported {
                    ctx.unsupported(line, &path, m)
                } else {
                    ctx.invalid(line, &path, m)
                }
            })
        };
        match key.as_str() {
            "address" => l.address = ctx.check(line, &path, expect_address(&value))?,
            "cluster_address" => {
                l.cluster_address = Some(ctx.check(line, &path, expect_address(&value))?)
            }
            "tls_disable" => l.tls_disable = ctx.check(line, &path, expect_bool(&value))?,
            "tls_cert_file" => l.tls_cert_file = ctx.check(line, &path, expect_path(&value))?,
            "tls_key_file" => l.tls_key_file = ctx.check(line, &path, expect_path(&value))?,
            "tls_client_ca_file" => {
                l.tls_client_ca_file = ctx.check(line, &path, expect_path(&value))?
            }
            "tls_min_version" => {
                l.tls_min_version = tls_version(expect_tls_version(&value))?;
                min_line = line;
            }
            "tls_max_version" => l.tls_max_version = tls_version(expect_tls_version(&value))?,
            "tls_require_and_verify_client_cert" => {
                l.tls_require_and_verify_client_cert =
                    ctx.check(line, &path, expect_bool(&value))?;
                require_line = line;
            }
            "tls_disable_client_certs" => {
                l.tls_disable_client_certs = ctx.check(line, &path, expect_bool(&value))?
            }
            "max_request_size" => {
                l.max_request_size = ctx.check(line, &path, expect_size(&value))?
            }
            "max_request_duration" => {
                l.max_request_duration =
                    ctx.check(line, &path, expect_optional_duration(&value))?;
            }
            "disable_unauthed_rekey_endpoints" => {
                l.disable_unauthed_rekey_endpoints = ctx.check(line, &path, expect_bool(&value))?;
            }
            "disable_unauthed_generate_root_endpoints" => {
                l.disable_unauthed_generate_root_endpoints =
                    ctx.check(line, &path, expect_bool(&value))?;
            }
            // Named by the block label; tolerated when it agrees (Vault's JSON form allows it).
            "type" => {
                let named = ctx.check(line, &path, expect_string(&value))?;
                if !named.eq_ignore_ascii_case("tcp") {
                    return Err(ctx.invalid(line, &path, "does not match the block label tcp"));
                }
            }
            k if UNSUPPORTED_LISTENER.contains(&k)
                || UNSUPPORTED_LISTENER_PREFIXES
                    .iter()
                    .any(|prefix| k.starts_with(prefix)) =>
            {
                ctx.warn(
                    line,
                    format!("{path} is not supported by Arca yet; ignored"),
                );
            }
            _ => ctx.unknown_key(line, &path),
        }
        ctx.check_duplicate(&mut seen, &path, line);
    }
    if !l.tls_disable {
        for (name, missing) in [
            ("tls_cert_file", l.tls_cert_file.is_none()),
            ("tls_key_file", l.tls_key_file.is_none()),
        ] {
            if missing {
                return Err(ctx.invalid(
                    block.line,
                    &format!("listener.tcp.{name}"),
                    "required unless tls_disable is true",
                ));
            }
        }
    }
    if l.tls_min_version > l.tls_max_version {
        return Err(ctx.invalid(
            min_line,
            "listener.tcp.tls_min_version",
            "must not be above tls_max_version",
        ));
    }
    if l.tls_require_and_verify_client_cert && l.tls_disable_client_certs {
        return Err(ctx.invalid(
            require_line,
            "listener.tcp.tls_require_and_verify_client_cert",
            "cannot be combined with tls_disable_client_certs",
        ));
    }
    Ok(l)
}

fn decode_storage(
    block: Labeled,
    key: &str,
    ctx: &mut Ctx<'_>,
) -> Result<StorageConfig, ConfigError> {
    let kind = block
        .labels
        .first()
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_default();
    let refuse = |message: String| Err(ctx.unsupported(block.line, key, message));
    match kind.as_str() {
        "embedded" | "inmem" => {}
        "raft" => return refuse("storage type raft is not supported by Arca; use embedded".into()),
        "postgresql" => {
            return refuse(
                "storage type postgresql is not yet supported by Arca; use embedded".into(),
            );
        }
        "file" => {
            return refuse(
                "storage type file is not supported by Arca (OpenBao removed it in 2.7); \
                 use embedded"
                    .into(),
            );
        }
        "inmem_ha" => {
            return refuse("storage type inmem_ha is not supported by Arca; use inmem".into());
        }
        other => {
            return Err(ctx.invalid(
                block.line,
                key,
                format!(
                    "unknown storage type {} (use embedded or inmem)",
                    shown(other)
                ),
            ));
        }
    }
    let mut options = BTreeMap::new();
    let mut seen = HashMap::new();
    for Entry {
        key: option,
        line,
        value,
    } in block.body
    {
        let path = format!("storage.{kind}.{option}");
        let text = match &value.kind {
            Kind::String(s) => s.clone(),
            Kind::Null => String::new(),
            // Vault hands a storage backend non-string values JSON-encoded.
            _ => value.to_json().to_string(),
        };
        ctx.check_duplicate(&mut seen, &path, line);
        if option == "path" && !matches!(value.kind, Kind::String(_)) {
            return Err(ctx.invalid(
                line,
                &path,
                format!("expected a string, found {}", value.kind.describe()),
            ));
        }
        options.insert(option, text);
    }
    if kind == "embedded" && options.get("path").is_none_or(|p| p.trim().is_empty()) {
        return Err(ctx.invalid(
            block.line,
            "storage.embedded.path",
            "required: the directory that holds the data",
        ));
    }
    Ok(StorageConfig {
        kind,
        options,
        source: ctx.location(block.line),
    })
}

// ---------------------------------------------------------------------------------------------
// Several files.

/// Merges `next` (a later file) into `acc`, as Vault's `Config.Merge` does.
pub(crate) fn merge(acc: ServerConfig, next: ServerConfig) -> Result<ServerConfig, ConfigError> {
    let storage = match (acc.storage, next.storage) {
        (Some(first), Some(second)) => return Err(duplicate_storage(&first, &second)),
        (a, b) => b.or(a),
    };
    let max = |a: Option<Duration>, b: Option<Duration>| a.max(b);
    let mut listeners = acc.listeners;
    listeners.extend(next.listeners);
    let mut seals = acc.seals;
    seals.extend(next.seals);
    let mut audits = acc.audits;
    audits.extend(next.audits);
    Ok(ServerConfig {
        listeners,
        storage,
        api_addr: next.api_addr.or(acc.api_addr),
        cluster_addr: next.cluster_addr.or(acc.cluster_addr),
        cluster_name: next.cluster_name.or(acc.cluster_name),
        ui: acc.ui || next.ui,
        default_lease_ttl: max(acc.default_lease_ttl, next.default_lease_ttl),
        max_lease_ttl: max(acc.max_lease_ttl, next.max_lease_ttl),
        max_request_size: next.max_request_size.or(acc.max_request_size),
        log_level: next.log_level.or(acc.log_level),
        disable_mlock: acc.disable_mlock || next.disable_mlock,
        raw_storage_endpoint: acc.raw_storage_endpoint || next.raw_storage_endpoint,
        unsafe_allow_api_audit_creation: acc.unsafe_allow_api_audit_creation
            || next.unsafe_allow_api_audit_creation,
        seals,
        audits,
    })
}

fn is_config_name(name: &str) -> bool {
    name.ends_with(".hcl") || name.ends_with(".json")
}

/// Editor leftovers that must never be read as config: vim `x~`, emacs `.#x` and `#x#`.
fn is_temporary(name: &str) -> bool {
    name.ends_with('~') || name.starts_with(".#") || (name.starts_with('#') && name.ends_with('#'))
}

/// Turns the `-config` arguments into the list of files to read, in order.
pub(crate) fn expand_paths(
    paths: &[PathBuf],
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>, ConfigError> {
    let mut dirs = HashSet::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| ConfigError::io(path, e))?;
        if meta.is_dir() {
            dirs.insert(std::fs::canonicalize(path).map_err(|e| ConfigError::io(path, e))?);
        }
    }
    let mut files = Vec::new();
    let mut read = HashSet::new();
    for path in paths {
        let canonical = std::fs::canonicalize(path).map_err(|e| ConfigError::io(path, e))?;
        if dirs.contains(&canonical) {
            let before = files.len();
            for file in config_files_in(path)? {
                let canonical =
                    std::fs::canonicalize(&file).map_err(|e| ConfigError::io(&file, e))?;
                if read.insert(canonical) {
                    files.push(file);
                }
            }
            if files.len() == before {
                warnings.push(format!(
                    "{}: directory holds no .hcl or .json files",
                    path.display()
                ));
            }
            continue;
        }
        // A file inside a directory also given is read with that directory (Vault does too).
        let in_given_dir = canonical.parent().is_some_and(|p| dirs.contains(p))
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_config_name);
        if !in_given_dir && read.insert(canonical) {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn config_files_in(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ConfigError::io(dir, e))? {
        let entry = entry.map_err(|e| ConfigError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_config_name(name) || is_temporary(name) {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, so a linked file counts and a linked directory does not.
        let meta = std::fs::metadata(&path).map_err(|e| ConfigError::io(&path, e))?;
        if meta.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn node(kind: Kind) -> Node {
        Node { line: 1, kind }
    }

    #[test]
    fn lenient_bools() {
        for (kind, want) in [
            (Kind::Bool(true), true),
            (Kind::String("true".into()), true),
            (Kind::String("1".into()), true),
            (Kind::String("T".into()), true),
            (Kind::String("False".into()), false),
            (Kind::String(String::new()), false),
            (Kind::Number(1.into()), true),
            (Kind::Number(0.into()), false),
        ] {
            assert_eq!(expect_bool(&node(kind.clone())), Ok(want), "{kind:?}");
        }
        for kind in [Kind::String("yes".into()), Kind::Null, Kind::List(vec![])] {
            assert!(expect_bool(&node(kind.clone())).is_err(), "{kind:?}");
        }
    }

    #[test]
    fn lenient_durations_and_sizes() {
        let d = |k: Kind| expect_duration(&node(k));
        assert_eq!(d(Kind::Number(90.into())), Ok(Duration::from_secs(90)));
        assert_eq!(d(Kind::String("90".into())), Ok(Duration::from_secs(90)));
        assert_eq!(
            d(Kind::String("1h30m".into())),
            Ok(Duration::from_secs(5400))
        );
        assert_eq!(
            d(Kind::Number(serde_json::Number::from_f64(1.9).unwrap())),
            Ok(Duration::from_secs(1))
        );
        let err = d(Kind::String("1x".into())).unwrap_err();
        assert!(err.contains("\"1x\""), "{err}");
        assert!(d(Kind::Number((-1).into())).is_err());
        assert!(d(Kind::Bool(true)).is_err());

        let s = |k: Kind| expect_size(&node(k));
        assert_eq!(s(Kind::Number(1024.into())), Ok(Some(1024)));
        assert_eq!(s(Kind::String("1024".into())), Ok(Some(1024)));
        assert_eq!(s(Kind::Number(0.into())), Ok(None));
        assert_eq!(
            s(Kind::Number((-1).into())),
            Ok(Some(UNLIMITED_REQUEST_SIZE))
        );
        assert!(s(Kind::String("32MiB".into())).is_err());
        assert!(s(Kind::Number(serde_json::Number::from_f64(1.5).unwrap())).is_err());
    }

    #[test]
    fn addresses() {
        for ok in [
            "127.0.0.1:8200",
            "0.0.0.0:0",
            ":8200",
            "[::]:8200",
            "localhost:8200",
        ] {
            assert_eq!(check_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:99999",
            "::1:8200",
            "{{ GetPrivateIP }}:8200",
            "h:x",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temporary_files() {
        for name in ["a.hcl~", ".#a.hcl", "#a.hcl#"] {
            assert!(is_temporary(name), "{name}");
        }
        assert!(!is_temporary("a.hcl"));
    }
}
