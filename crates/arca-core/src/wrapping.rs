//! Response wrapping: any response can be replaced by a single-use wrapping token, and
//! `sys/wrapping/*` unwraps, inspects, rewraps and wraps.
//!
//! The wrapped response is stored under the wrapping token's store id; the token has the
//! `response-wrapping` policy, one use and the wrap TTL. Unwrapping reads the record, then
//! revokes the token (which deletes the record), so a token unwraps exactly once. Any other
//! use of the token spends its only use, which is the tamper evidence Vault provides.

use std::time::Duration;

use arca_logical::{Auth, LogicalError, Operation, Request, Response, WrapInfo};
use arca_storage::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{CoreError, TokenEntry, Unsealed};

#[derive(Serialize, Deserialize)]
struct Wrapped {
    response: Value,
    creation_path: String,
    creation_time: String,
    creation_ttl: u64,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn invalid_token() -> CoreError {
    CoreError::invalid("wrapping token is not valid or does not exist")
}

/// Replaces `resp` by a wrapping token holding its rendered envelope.
pub(crate) async fn wrap(
    u: &Unsealed,
    request_id: &str,
    creation_path: &str,
    ttl: Duration,
    resp: Response,
) -> Result<Response, CoreError> {
    let ttl = ttl.min(u.links.ttls.max_ttl);
    if ttl.is_zero() {
        return Err(CoreError::invalid("wrapping TTL must be greater than zero"));
    }
    let wrapped_accessor = resp
        .auth
        .as_ref()
        .map(|a| a.accessor.clone())
        .unwrap_or_default();
    let envelope = Value::Object(arca_logical::render::envelope(
        request_id,
        creation_path,
        resp,
    ));
    store(u, envelope, creation_path, ttl, wrapped_accessor).await
}

/// Creates the wrapping token and stores `envelope` under it.
async fn store(
    u: &Unsealed,
    envelope: Value,
    creation_path: &str,
    ttl: Duration,
    wrapped_accessor: String,
) -> Result<Response, CoreError> {
    let mut auth = Auth::default();
    let entry = u
        .tokens
        .create_wrapping_token(&mut auth, "sys/wrapping/wrap", ttl)
        .await
        .map_err(|e| CoreError::Client(e.into()))?;
    let creation_time = now_rfc3339();
    let record = Wrapped {
        response: envelope,
        creation_path: creation_path.to_owned(),
        creation_time: creation_time.clone(),
        creation_ttl: ttl.as_secs(),
    };
    let bytes = serde_json::to_vec(&record).map_err(|_| CoreError::Corrupt("wrapped response"))?;
    u.links.wrapping.put(&entry.id, &bytes).await?;
    Ok(Response {
        wrap_info: Some(WrapInfo {
            token: auth.client_token,
            accessor: auth.accessor,
            ttl,
            creation_time,
            creation_path: creation_path.to_owned(),
            wrapped_accessor,
        }),
        ..Response::default()
    })
}

/// The wrapping token a `sys/wrapping/*` call names: `token` in the body, else the caller.
async fn target(
    u: &Unsealed,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Result<(String, Wrapped), CoreError> {
    let f = req.fields();
    let entry = match f.string("token")?.filter(|t| !t.is_empty()) {
        Some(t) => u
            .tokens
            .lookup(&t)
            .await
            .map_err(|e| CoreError::Client(e.into()))?,
        // The wrapping token presented as the request's token (Vault Agent does this): its
        // only use was spent authenticating this very request, so use that entry.
        None => caller.cloned(),
    };
    let entry = entry.ok_or_else(invalid_token)?;
    if entry.policies != [arca_acl::RESPONSE_WRAPPING_POLICY] {
        return Err(invalid_token());
    }
    let bytes = u
        .links
        .wrapping
        .get(&entry.id)
        .await?
        .ok_or_else(invalid_token)?;
    let record: Wrapped =
        serde_json::from_slice(&bytes).map_err(|_| CoreError::Corrupt("wrapped response"))?;
    Ok((entry.id, record))
}

/// Handles `sys/wrapping/*`; `None` if `path` is not one of them.
pub(crate) async fn handle(
    u: &Unsealed,
    path: &str,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Option<Result<Response, CoreError>> {
    let op = path.strip_prefix("wrapping/")?;
    Some(handle_op(u, op, req, caller).await)
}

async fn handle_op(
    u: &Unsealed,
    op: &str,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Result<Response, CoreError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(CoreError::client(LogicalError::unsupported_operation()));
    }
    match op {
        "unwrap" => {
            let (id, record) = target(u, req, caller).await?;
            u.tokens
                .revoke_tree(&id)
                .await
                .map_err(|e| CoreError::Client(e.into()))?;
            Ok(Response {
                raw: Some(record.response),
                ..Response::default()
            })
        }
        "lookup" => {
            let (_, record) = target(u, req, caller).await?;
            let mut m = Map::new();
            m.insert("creation_path".into(), record.creation_path.into());
            m.insert("creation_time".into(), record.creation_time.into());
            m.insert("creation_ttl".into(), record.creation_ttl.into());
            Ok(Response::with_data(m))
        }
        "rewrap" => {
            let (id, record) = target(u, req, caller).await?;
            let ttl = Duration::from_secs(record.creation_ttl);
            u.tokens
                .revoke_tree(&id)
                .await
                .map_err(|e| CoreError::Client(e.into()))?;
            store(
                u,
                record.response,
                &record.creation_path,
                ttl,
                String::new(),
            )
            .await
        }
        "wrap" => {
            let ttl = req.wrap_ttl.ok_or_else(|| {
                CoreError::invalid("endpoint requires response wrapping to be used")
            })?;
            let resp = Response::with_data(req.data.clone());
            wrap(u, &req.id, "sys/wrapping/wrap", ttl, resp).await
        }
        _ => Err(CoreError::client(LogicalError::unsupported_path())),
    }
}
