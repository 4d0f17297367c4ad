//! Logical `sys/` endpoints of the foundation: seal, keyring rotation, root-key rotation,
//! rekey and root generation (OpenBao's authenticated paths), and `sys/raw`.

use std::time::Duration;

use arca_barrier::RotationConfig;
use arca_logical::{FieldData, LogicalError, Operation, Request, Response};
use arca_storage::Storage;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Core, CoreError, Unsealed};

/// Keys `sys/raw` must never touch: they hold the keys that open the barrier.
const RAW_PROTECTED: &[&str] = &[
    "core/keyring",
    "core/root-key",
    "core/root-key-wrapped",
    "core/recovery-key-hmac",
    "core/seal-config",
];

/// Vault's bounds for keyring auto-rotation settings.
const MIN_ROTATION_OPERATIONS: u64 = 1_000_000;
const MAX_ROTATION_OPERATIONS: u64 = 3_865_470_566;
const MIN_ROTATION_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Whether a list-like field was sent with something in it (PGP keys: refused when given).
fn list_nonempty(f: &FieldData<'_>, name: &str) -> bool {
    match f.raw(name) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
        None => false,
    }
}

fn to_map<T: Serialize>(value: &T) -> Result<Map<String, Value>, CoreError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(CoreError::Corrupt("response")),
    }
}

fn data_response(data: Map<String, Value>, fields: &FieldData<'_>) -> Response {
    Response {
        data: Some(data),
        warnings: fields.warnings(),
        ..Response::default()
    }
}

/// A write with nothing to return stays a 204: Vault only attaches the ignored-parameter
/// warning to responses that have a body.
fn empty_response(_fields: &FieldData<'_>) -> Response {
    Response::default()
}

fn unsupported_path() -> CoreError {
    CoreError::client(LogicalError::new(
        arca_logical::ErrorKind::NotFound,
        "unsupported path",
    ))
}

fn unsupported_op() -> CoreError {
    CoreError::client(LogicalError::unsupported_operation())
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

/// `sys/` paths served without a token (they check a token themselves when one is sent).
pub(crate) fn is_unauthenticated(path: &str) -> bool {
    matches!(
        path.trim_end_matches('/'),
        "wrapping/lookup" | "wrapping/pubkey" | "internal/ui/mounts" | "internal/ui/namespaces"
    ) || path.starts_with("internal/ui/mounts/")
}

/// Root-protected `sys/` paths: `sudo` is needed in addition to the capability.
pub(crate) fn is_root_protected(path: &str, op: Operation) -> bool {
    let p = path.trim_end_matches('/');
    let prefixed = |prefix: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
    matches!(
        p,
        "remount"
            | "audit"
            | "raw"
            | "rotate"
            | "rotate/keyring"
            | "rotate/root"
            | "config/cors"
            | "leases"
            | "seal"
            | "step-down"
    ) || [
        "auth",
        "audit",
        "raw",
        "config/auditing",
        "config/ui/headers",
        "plugins/catalog",
        "revoke-prefix",
        "revoke-force",
        "leases/revoke-prefix",
        "leases/revoke-force",
        "internal/inspect",
        "locked-users",
    ]
    .iter()
    .any(|prefix| p.starts_with(&format!("{prefix}/")) || (p == *prefix && *prefix != "auth"))
        || (op == Operation::List && prefixed("leases/lookup"))
        || (op != Operation::Read && p.starts_with("auth/"))
}

/// Dispatches `sys/<path>`; the token has already been authenticated and authorised.
pub(crate) async fn handle(
    core: &Core,
    u: &Unsealed,
    path: &str,
    req: &Request,
    caller: Option<&crate::TokenEntry>,
) -> Result<Response, CoreError> {
    if let Some(result) = crate::audit::handle(u, core.config.allow_api_audit, path, req).await {
        return result;
    }
    if let Some(result) = crate::locked_users::handle(u, path, req).await {
        return result;
    }
    if let Some(result) = crate::password_policies::handle(u, path, req).await {
        return result;
    }
    if let Some(result) = crate::sys_mounts::handle(u, path, req).await {
        return result;
    }
    if let Some(result) = crate::sys_policy::handle(core, u, path, req, caller).await {
        return result;
    }
    if let Some(result) = crate::wrapping::handle(u, path, req, caller).await {
        return result;
    }
    if arca_expiration::ExpirationManager::is_sys_path(path) {
        return u
            .expiration
            .handle_sys(path, req)
            .await
            .map(Option::unwrap_or_default)
            .map_err(CoreError::Client);
    }
    let op = req.operation;
    let f = req.fields();
    match path.trim_end_matches('/') {
        "seal" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            core.seal().await;
            Ok(Response::default())
        }
        "step-down" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            // A single node without HA stays active, as Vault does without HA storage.
            Ok(Response::default())
        }
        "key-status" => {
            if op != Operation::Read {
                return Err(unsupported_op());
            }
            let status = u.barrier.key_status();
            let mut m = Map::new();
            m.insert("term".into(), status.term.into());
            let install = status
                .install_time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            m.insert("install_time".into(), install.into());
            m.insert("encryptions".into(), status.encryptions.into());
            Ok(data_response(m, &f))
        }
        "rotate" | "rotate/keyring" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            u.barrier.rotate().await?;
            Ok(empty_response(&f))
        }
        "rotate/config" | "rotate/keyring/config" => match op {
            Operation::Read => {
                let c = u.barrier.rotation_config();
                let mut m = Map::new();
                m.insert("enabled".into(), c.enabled.into());
                m.insert("interval".into(), c.interval.as_secs().into());
                m.insert("max_operations".into(), c.max_operations.into());
                Ok(data_response(m, &f))
            }
            op if is_write(op) => {
                let mut c: RotationConfig = u.barrier.rotation_config();
                if let Some(enabled) = f.bool("enabled")? {
                    c.enabled = enabled;
                }
                if let Some(max) = f.u64("max_operations")? {
                    if !(MIN_ROTATION_OPERATIONS..=MAX_ROTATION_OPERATIONS).contains(&max) {
                        return Err(CoreError::invalid(format!(
                            "max_operations must be between {MIN_ROTATION_OPERATIONS} and {MAX_ROTATION_OPERATIONS}"
                        )));
                    }
                    c.max_operations = max;
                }
                if let Some(interval) = f.duration("interval")? {
                    if !interval.is_zero() && interval < MIN_ROTATION_INTERVAL {
                        return Err(CoreError::invalid("interval must be 0 or at least 24h"));
                    }
                    c.interval = interval;
                }
                u.barrier.set_rotation_config(c).await?;
                Ok(empty_response(&f))
            }
            _ => Err(unsupported_op()),
        },
        "rotate/root" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            core.rotate_root_key().await?;
            Ok(empty_response(&f))
        }
        "rotate/root/init" => match op {
            Operation::Read => Ok(data_response(to_map(&core.rekey_status().await?)?, &f)),
            op if is_write(op) => {
                let shares = f.u64("secret_shares")?;
                let threshold = f.u64("secret_threshold")?;
                let verify = f.bool("require_verification")?.unwrap_or(false);
                let pgp = list_nonempty(&f, "pgp_keys");
                let backup = f.bool("backup")?.unwrap_or(false);
                let status = core
                    .rekey_init(shares, threshold, verify, pgp || backup)
                    .await?;
                Ok(data_response(to_map(&status)?, &f))
            }
            Operation::Delete => {
                core.rekey_cancel().await?;
                Ok(empty_response(&f))
            }
            _ => Err(unsupported_op()),
        },
        "rotate/root/update" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            let (key, nonce) = key_and_nonce(&f)?;
            let resp = core.rekey_update(&key, &nonce).await?;
            Ok(data_response(to_map(&resp)?, &f))
        }
        "rotate/root/verify" => match op {
            Operation::Read => Ok(data_response(core.rekey_verify_status().await?, &f)),
            op if is_write(op) => {
                let (key, nonce) = key_and_nonce(&f)?;
                Ok(data_response(core.rekey_verify(&key, &nonce).await?, &f))
            }
            Operation::Delete => {
                core.rekey_verify_cancel().await?;
                Ok(data_response(core.rekey_verify_status().await?, &f))
            }
            _ => Err(unsupported_op()),
        },
        "generate-root-token/attempt" => match op {
            Operation::Read => Ok(data_response(
                to_map(&core.generate_root_status().await?)?,
                &f,
            )),
            op if is_write(op) => {
                let otp = f.string("otp")?;
                let pgp = f.string("pgp_key")?.is_some_and(|k| !k.is_empty());
                let status = core.generate_root_init(otp, pgp).await?;
                Ok(data_response(to_map(&status)?, &f))
            }
            Operation::Delete => {
                core.generate_root_cancel().await?;
                Ok(empty_response(&f))
            }
            _ => Err(unsupported_op()),
        },
        "generate-root-token/update" => {
            if !is_write(op) {
                return Err(unsupported_op());
            }
            let (key, nonce) = key_and_nonce(&f)?;
            let status = core.generate_root_update(&key, &nonce).await?;
            Ok(data_response(to_map(&status)?, &f))
        }
        p if p == "raw" || p.starts_with("raw/") => {
            if !core.config.raw_storage_endpoint {
                return Err(unsupported_path());
            }
            let key = path
                .strip_prefix("raw")
                .unwrap_or_default()
                .trim_start_matches('/');
            raw(u, key, op, &f).await
        }
        _ => Err(unsupported_path()),
    }
}

fn key_and_nonce(f: &FieldData<'_>) -> Result<(String, String), CoreError> {
    let key = f
        .string("key")?
        .ok_or_else(|| CoreError::invalid("'key' must be specified"))?;
    let nonce = f.string("nonce")?.unwrap_or_default();
    Ok((key, nonce))
}

/// `sys/raw/<key>`: direct access to storage keys, through the barrier, for operators.
async fn raw(
    u: &Unsealed,
    key: &str,
    op: Operation,
    f: &FieldData<'_>,
) -> Result<Response, CoreError> {
    if RAW_PROTECTED
        .iter()
        .any(|p| key == *p || key.starts_with(&format!("{p}/")))
    {
        return Err(CoreError::invalid(format!("cannot access \"{key}\"")));
    }
    let storage: &dyn Storage = u.barrier.as_ref();
    match op {
        Operation::List => {
            let keys = storage.list(key).await?;
            if keys.is_empty() {
                return Err(CoreError::client(LogicalError::not_found()));
            }
            let mut m = Map::new();
            m.insert("keys".into(), keys.into());
            Ok(data_response(m, f))
        }
        Operation::Read => {
            let encoding = f.string("encoding")?;
            let Some(value) = storage.get(key).await? else {
                return Err(CoreError::client(LogicalError::not_found()));
            };
            let text = match encoding.as_deref() {
                Some("base64") => B64.encode(&value),
                None | Some("") => String::from_utf8(value).map_err(|_| {
                    CoreError::invalid("value is not valid UTF-8; read it with encoding=base64")
                })?,
                Some(_) => return Err(CoreError::invalid("unsupported encoding")),
            };
            let mut m = Map::new();
            m.insert("value".into(), text.into());
            Ok(data_response(m, f))
        }
        op if is_write(op) => {
            if key.is_empty() || key.ends_with('/') {
                return Err(CoreError::invalid("cannot write to a path ending in '/'"));
            }
            let encoding = f.string("encoding")?;
            let value = f
                .string("value")?
                .ok_or_else(|| CoreError::invalid("no value provided"))?;
            let bytes = match encoding.as_deref() {
                Some("base64") => B64
                    .decode(value.as_bytes())
                    .map_err(|_| CoreError::invalid("value is not valid base64"))?,
                None | Some("") => value.into_bytes(),
                Some(_) => return Err(CoreError::invalid("unsupported encoding")),
            };
            storage.put(key, &bytes).await?;
            Ok(empty_response(f))
        }
        Operation::Delete => {
            storage.delete(key).await?;
            Ok(empty_response(f))
        }
        _ => Err(unsupported_op()),
    }
}
