//! The `sys/` endpoints that answer bare JSON (no envelope) and work while sealed:
//! init, seal-status, unseal, health, leader; plus the legacy unauthenticated rekey and
//! generate-root endpoints, which [`crate::legacy`] serves when a listener enables them.

use arca_logical::{FieldData, LogicalError};
use arca_types::field;
use arca_types::json::Map;
use arca_types::sys::{InitRequest, InitStatus, UnsealRequest};
use http::{Method, StatusCode};

use crate::{
    ApiError, AppState, Decoded, bad_request, error_response, json_response, logical_error,
    namespace,
};
use arca_types::envelope::ErrorBody;

fn method_not_allowed() -> axum::response::Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorBody::default())
}

fn is_write(m: &Method) -> bool {
    m == Method::PUT || m == Method::POST
}

// The bare endpoints decode their fields with the same lenient rules and messages as every
// logical endpoint (`FieldData`); only the error type differs.
fn field_error(e: LogicalError) -> ApiError {
    ApiError::bad_request(e.message)
}

pub(crate) fn opt_u64(data: &Map, name: &str) -> Result<Option<u64>, ApiError> {
    FieldData::new(data).u64(name).map_err(field_error)
}

pub(crate) fn opt_string(data: &Map, name: &str) -> Result<Option<String>, ApiError> {
    FieldData::new(data).string(name).map_err(field_error)
}

pub(crate) fn opt_bool(data: &Map, name: &str) -> Result<Option<bool>, ApiError> {
    FieldData::new(data).bool(name).map_err(field_error)
}

pub(crate) fn opt_string_list(data: &Map, name: &str) -> Result<Option<Vec<String>>, ApiError> {
    FieldData::new(data).string_list(name).map_err(field_error)
}

/// Handles `d` if it is a bare endpoint; `None` sends it on to the logical pipeline.
pub(crate) async fn handle(state: &AppState, d: &Decoded) -> Option<axum::response::Response> {
    let core = &state.core;
    let path = d.path.trim_end_matches('/');
    let resp = match path {
        "sys/init" => match d.method {
            Method::GET => json_response(
                StatusCode::OK,
                &InitStatus {
                    initialized: core.is_initialized(),
                },
            ),
            ref m if is_write(m) => match init(state, &d.data).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            },
            _ => method_not_allowed(),
        },
        "sys/seal-status" => match d.method {
            Method::GET => json_response(StatusCode::OK, &core.seal_status().await),
            _ => method_not_allowed(),
        },
        "sys/unseal" => match d.method {
            ref m if is_write(m) => match unseal_request(&d.data) {
                Ok(req) => match core.unseal(req).await {
                    Ok(status) => json_response(StatusCode::OK, &status),
                    Err(e) => logical_error(&e),
                },
                Err(e) => e.into_response(),
            },
            _ => method_not_allowed(),
        },
        "sys/health" => match d.method {
            Method::GET | Method::HEAD => health(state, d),
            _ => method_not_allowed(),
        },
        "sys/leader" => match d.method {
            Method::GET => match core.leader() {
                Ok(l) => json_response(StatusCode::OK, &l),
                Err(e) => logical_error(&e),
            },
            _ => method_not_allowed(),
        },
        p if p.starts_with("sys/rekey/") || p.starts_with("sys/rekey-recovery-key/") => {
            if !state.opts.enable_unauthed_rekey {
                return Some(logical_error(&LogicalError::unsupported_operation()));
            }
            crate::legacy::rekey(state, d, p).await
        }
        p if p.starts_with("sys/generate-root/") => {
            if !state.opts.enable_unauthed_generate_root {
                return Some(logical_error(&LogicalError::unsupported_operation()));
            }
            crate::legacy::generate_root(state, d, p).await
        }
        _ => return None,
    };
    Some(resp)
}

async fn init(state: &AppState, data: &Map) -> Result<axum::response::Response, ApiError> {
    let req = InitRequest {
        secret_shares: opt_u64(data, "secret_shares")?,
        secret_threshold: opt_u64(data, "secret_threshold")?,
        pgp_keys: opt_string_list(data, "pgp_keys")?,
        root_token_pgp_key: opt_string(data, "root_token_pgp_key")?,
        recovery_shares: opt_u64(data, "recovery_shares")?,
        recovery_threshold: opt_u64(data, "recovery_threshold")?,
        recovery_pgp_keys: opt_string_list(data, "recovery_pgp_keys")?,
        stored_shares: opt_u64(data, "stored_shares")?,
    };
    match state.core.init(req).await {
        Ok(resp) => Ok(json_response(StatusCode::OK, &resp)),
        Err(e) => Ok(logical_error(&e)),
    }
}

fn unseal_request(data: &Map) -> Result<UnsealRequest, ApiError> {
    Ok(UnsealRequest {
        key: opt_string(data, "key")?,
        reset: opt_bool(data, "reset")?,
        migrate: opt_bool(data, "migrate")?,
    })
}

/// `sys/health`: the state decides the default code; `*code` query parameters override
/// it; unknown parameters are ignored (Vault Agent sends several).
fn health(state: &AppState, d: &Decoded) -> axum::response::Response {
    if namespace(&d.headers).is_some() {
        return bad_request("operation unavailable in namespaces");
    }
    let code = |name: &str, default: u16| -> Result<StatusCode, ApiError> {
        match d.query.get(name) {
            None => Ok(StatusCode::from_u16(default).unwrap_or(StatusCode::OK)),
            Some(v) => field::as_u64(v)
                .ok()
                .and_then(|c| u16::try_from(c).ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| ApiError::bad_request(format!("bad code for \"{name}\""))),
        }
    };
    let standby_ok = match d.query.get("standbyok").map(field::as_bool) {
        None => false,
        Some(Ok(b)) => b,
        Some(Err(_)) => return bad_request("bad value for \"standbyok\""),
    };
    let st = state.core.health_state();
    let status = if !st.initialized {
        code("uninitcode", 501)
    } else if st.sealed {
        code("sealedcode", 503)
    } else if st.standby && !standby_ok {
        code("standbycode", 429)
    } else {
        code("activecode", 200)
    };
    // Validate every code parameter we know, even the ones this state does not use.
    for name in [
        "activecode",
        "standbycode",
        "sealedcode",
        "uninitcode",
        "drsecondarycode",
        "performancestandbycode",
    ] {
        if let Err(e) = code(name, 200) {
            return e.into_response();
        }
    }
    let status = match status {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let mut resp = json_response(status, &state.core.health());
    if d.method == Method::HEAD {
        *resp.body_mut() = axum::body::Body::empty();
    }
    resp
}
