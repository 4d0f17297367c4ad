//! Vault's legacy unauthenticated quorum endpoints, `sys/rekey/*` and
//! `sys/generate-root/*`, answering bare JSON. OpenBao disables them by default (they let
//! anyone cancel an operator's attempt); a listener can enable them for the Vault CLI.

use arca_core::CoreError;
use http::{Method, StatusCode};

use crate::sys_bare::{opt_bool, opt_string, opt_string_list, opt_u64};
use crate::{AppState, Decoded, error_response, json_response, logical_error};
use arca_types::envelope::ErrorBody;

fn reply<T: serde::Serialize>(result: Result<T, CoreError>) -> axum::response::Response {
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => logical_error(&e.into_logical()),
    }
}

fn done(result: Result<(), CoreError>) -> axum::response::Response {
    match result {
        Ok(()) => crate::no_content(),
        Err(e) => logical_error(&e.into_logical()),
    }
}

fn method_not_allowed() -> axum::response::Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorBody::default())
}

macro_rules! field {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        }
    };
}

pub(crate) async fn rekey(state: &AppState, d: &Decoded, path: &str) -> axum::response::Response {
    let core = &state.core;
    let write = d.method == Method::PUT || d.method == Method::POST;
    match path {
        "sys/rekey/init" => match d.method {
            Method::GET => reply(core.rekey_status().await),
            Method::DELETE => done(core.rekey_cancel().await),
            _ if write => {
                let shares = field!(opt_u64(&d.data, "secret_shares"));
                let threshold = field!(opt_u64(&d.data, "secret_threshold"));
                let verify = field!(opt_bool(&d.data, "require_verification")).unwrap_or(false);
                let pgp =
                    field!(opt_string_list(&d.data, "pgp_keys")).is_some_and(|k| !k.is_empty());
                let backup = field!(opt_bool(&d.data, "backup")).unwrap_or(false);
                reply(
                    core.rekey_init(shares, threshold, verify, pgp || backup)
                        .await,
                )
            }
            _ => method_not_allowed(),
        },
        "sys/rekey/update" if write => {
            let key = field!(opt_string(&d.data, "key")).unwrap_or_default();
            let nonce = field!(opt_string(&d.data, "nonce")).unwrap_or_default();
            reply(core.rekey_update(&key, &nonce).await)
        }
        "sys/rekey/verify" => match d.method {
            Method::GET => reply(core.rekey_verify_status().await),
            Method::DELETE => {
                if let Err(e) = core.rekey_verify_cancel().await {
                    return logical_error(&e.into_logical());
                }
                reply(core.rekey_verify_status().await)
            }
            _ if write => {
                let key = field!(opt_string(&d.data, "key")).unwrap_or_default();
                let nonce = field!(opt_string(&d.data, "nonce")).unwrap_or_default();
                reply(core.rekey_verify(&key, &nonce).await)
            }
            _ => method_not_allowed(),
        },
        p if p.starts_with("sys/rekey-recovery-key/") => error_response(
            StatusCode::BAD_REQUEST,
            ErrorBody::one(
                "recovery keys exist only with an auto-unseal seal, which is not configured",
            ),
        ),
        _ => method_not_allowed(),
    }
}

pub(crate) async fn generate_root(
    state: &AppState,
    d: &Decoded,
    path: &str,
) -> axum::response::Response {
    let core = &state.core;
    let write = d.method == Method::PUT || d.method == Method::POST;
    match path {
        "sys/generate-root/attempt" => match d.method {
            Method::GET => reply(core.generate_root_status().await),
            Method::DELETE => done(core.generate_root_cancel().await),
            _ if write => {
                let otp = field!(opt_string(&d.data, "otp"));
                let pgp = field!(opt_string(&d.data, "pgp_key")).is_some_and(|k| !k.is_empty());
                reply(core.generate_root_init(otp, pgp).await)
            }
            _ => method_not_allowed(),
        },
        "sys/generate-root/update" if write => {
            let key = field!(opt_string(&d.data, "key")).unwrap_or_default();
            let nonce = field!(opt_string(&d.data, "nonce")).unwrap_or_default();
            reply(core.generate_root_update(&key, &nonce).await)
        }
        _ => method_not_allowed(),
    }
}
