//! Arca's HTTP layer: the Vault `/v1/` API.
//!
//! [`router`] builds an axum `Router` with one catch-all route that turns every request
//! into either a bare `sys/` call (init, unseal, seal-status, health, leader, legacy
//! rekey / generate-root) or an [`arca_logical::Request`] for the core, and turns the
//! answer into Vault's envelope, error shape and status codes. [`serve`] runs a router
//! on a TCP listener, with TLS when configured, until shutdown.
//!
//! Architecture invariant: this is the only crate (besides the server wiring) that knows
//! HTTP. It never touches storage or key material; it calls `arca_core::Core`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arca_core::Core;
use arca_logical::{
    ClientToken, ErrorKind, LogicalError, Operation, Request, Response, ResponseStatus,
};
use arca_types::envelope::ErrorBody;
use arca_types::json::{JsonLimits, Map};
use arca_types::{duration, field, json, path};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::any;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

mod legacy;
mod serve;
mod sys_bare;
pub mod tls;

pub use serve::{PeerCertificates, RemoteAddr, serve};

/// Default `max_request_size`: 32 MiB, as Vault.
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 32 * 1024 * 1024;

/// Per-listener HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest accepted body in bytes (413 above it).
    pub max_request_size: u64,
    /// Bounds on JSON bodies.
    pub json_limits: JsonLimitsConfig,
    /// Serve the legacy unauthenticated `sys/rekey/*` (Vault); OpenBao disables it by default.
    pub enable_unauthed_rekey: bool,
    /// Serve the legacy unauthenticated `sys/generate-root/*`.
    pub enable_unauthed_generate_root: bool,
    /// Longest time a request may run before it is answered with 503.
    pub max_request_duration: Duration,
}

/// JSON limits, copied into [`JsonLimits`] per request.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimitsConfig {
    /// Deepest nesting.
    pub max_depth: usize,
    /// Total object members and array elements.
    pub max_keys: usize,
    /// Approximate decoded size.
    pub max_decoded_bytes: usize,
}

impl Default for JsonLimitsConfig {
    fn default() -> Self {
        let d = JsonLimits::default();
        Self {
            max_depth: d.max_depth,
            max_keys: d.max_keys,
            max_decoded_bytes: d.max_decoded_bytes,
        }
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            json_limits: JsonLimitsConfig::default(),
            enable_unauthed_rekey: false,
            enable_unauthed_generate_root: false,
            max_request_duration: Duration::from_secs(90),
        }
    }
}

struct AppState {
    core: Arc<Core>,
    opts: HttpOptions,
}

/// The `/v1/` API of `core` as an axum router. Tests drive it with `oneshot`; [`serve`]
/// runs it on a socket.
pub fn router(core: Arc<Core>, opts: HttpOptions) -> Router {
    let state = Arc::new(AppState { core, opts });
    Router::new()
        .route("/v1/{*path}", any(handle))
        .route("/v1/", any(handle))
        .fallback(any(not_found))
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    error_response(StatusCode::NOT_FOUND, ErrorBody::default())
}

/// Standard headers on every API response.
fn finish(mut resp: axum::response::Response) -> axum::response::Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    resp
}

pub(crate) fn json_response(
    status: StatusCode,
    body: &impl serde::Serialize,
) -> axum::response::Response {
    let bytes =
        serde_json::to_vec(body).unwrap_or_else(|_| b"{\"errors\":[\"internal error\"]}".to_vec());
    let mut resp = axum::response::Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    finish(resp)
}

pub(crate) fn error_response(status: StatusCode, body: ErrorBody) -> axum::response::Response {
    json_response(status, &body)
}

pub(crate) fn no_content() -> axum::response::Response {
    let mut resp = axum::response::Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    finish(resp)
}

/// The status code of each error class; the only place this mapping exists.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::UnsupportedOperation => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Sealed | ErrorKind::Standby => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn logical_error(err: &LogicalError) -> axum::response::Response {
    let body = if err.message.is_empty() {
        ErrorBody::default()
    } else {
        ErrorBody::one(err.message.clone())
    };
    error_response(status_of(err.kind), body)
}

fn bad_request(msg: impl Into<String>) -> axum::response::Response {
    error_response(StatusCode::BAD_REQUEST, ErrorBody::one(msg))
}

/// A refusal decided while decoding a request: small to pass around, turned into a
/// response in Vault's error shape at the end.
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, body: ErrorBody) -> Self {
        Self { status, body }
    }
    pub(crate) fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorBody::one(msg))
    }
    pub(crate) fn into_response(self) -> axum::response::Response {
        error_response(self.status, self.body)
    }
}

/// A request after HTTP decoding: everything the dispatch needs.
pub(crate) struct Decoded {
    pub(crate) method: Method,
    pub(crate) operation: Operation,
    pub(crate) path: String,
    pub(crate) query: Map,
    pub(crate) data: Map,
    pub(crate) headers: HeaderMap,
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) peer_certificates: Vec<Vec<u8>>,
}

async fn handle(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let decoded = match decode(&state.opts, req).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let timeout = state.opts.max_request_duration;
    match tokio::time::timeout(timeout, dispatch(&state, decoded)).await {
        Ok(resp) => resp,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::one("request exceeded the maximum duration"),
        ),
    }
}

fn is_truthy(v: &Value) -> Result<bool, ApiError> {
    field::as_bool(v).map_err(|_| ApiError::bad_request("invalid boolean in query parameter"))
}

/// HTTP → [`Decoded`]: verb, canonical path, query, bounded body.
async fn decode(opts: &HttpOptions, req: axum::extract::Request) -> Result<Decoded, ApiError> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().strip_prefix("/v1/").unwrap_or_default();
    let mut path =
        path::canonicalize(raw_path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut query = match parts.uri.query() {
        Some(q) => json::decode_query(q).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => Map::new(),
    };
    let remote = parts.extensions.get::<RemoteAddr>().map(|r| r.0);
    let peer_certificates = parts
        .extensions
        .get::<PeerCertificates>()
        .map(|c| c.0.iter().map(|der| der.as_ref().to_vec()).collect())
        .unwrap_or_default();

    let method = parts.method.clone();
    let operation = match method.as_str() {
        "GET" => {
            let list = query
                .remove("list")
                .map(|v| is_truthy(&v))
                .transpose()?
                .unwrap_or(false);
            let scan = query
                .remove("scan")
                .map(|v| is_truthy(&v))
                .transpose()?
                .unwrap_or(false);
            match (list, scan) {
                (true, true) => {
                    return Err(ApiError::bad_request(
                        "list and scan cannot both be requested",
                    ));
                }
                (true, false) => Operation::List,
                (false, true) => Operation::Scan,
                _ => Operation::Read,
            }
        }
        "LIST" => Operation::List,
        "SCAN" => Operation::Scan,
        "HEAD" => Operation::Header,
        "POST" | "PUT" => Operation::Update,
        "PATCH" => {
            let ct = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ct.trim().starts_with("application/merge-patch+json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorBody::one("PATCH requires Content-Type of application/merge-patch+json"),
                ));
            }
            Operation::Patch
        }
        "DELETE" => Operation::Delete,
        _ => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorBody::default(),
            ));
        }
    };
    if matches!(operation, Operation::List | Operation::Scan) && !path.ends_with('/') {
        path.push('/');
    }

    let data = if matches!(operation, Operation::Update | Operation::Patch) {
        let bytes = read_body(opts.max_request_size, &parts.headers, body).await?;
        let limits = JsonLimits {
            max_depth: opts.json_limits.max_depth,
            max_keys: opts.json_limits.max_keys,
            max_decoded_bytes: opts.json_limits.max_decoded_bytes,
        };
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim().starts_with("application/x-www-form-urlencoded"));
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if is_form && !matches!(first, Some(b'{') | Some(b'[')) {
            json::decode_form_body(&bytes).map_err(|e| ApiError::bad_request(e.to_string()))?
        } else {
            json::decode_json_body(&bytes, &limits)
                .map_err(|e| ApiError::bad_request(e.to_string()))?
                .unwrap_or_default()
        }
    } else {
        // Reads, lists and deletes take their data from the query string; a body, if
        // any, is drained within the same size limit and ignored.
        read_body(opts.max_request_size, &parts.headers, body).await?;
        query.clone()
    };
    Ok(Decoded {
        method,
        operation,
        path,
        query,
        data,
        headers: parts.headers,
        remote,
        peer_certificates,
    })
}

async fn read_body(limit: u64, headers: &HeaderMap, body: Body) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorBody::one("http: request body too large"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(err) = source {
                if err.is::<http_body_util::LengthLimitError>() {
                    return Err(too_large());
                }
                source = err.source();
            }
            Err(ApiError::bad_request("failed to read request body"))
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `X-Vault-Token` wins over `Authorization: Bearer`.
fn client_token(headers: &HeaderMap) -> Option<ClientToken> {
    if let Some(t) = headers.get("x-vault-token") {
        return Some(ClientToken::new(t.to_str().unwrap_or_default().to_owned()));
    }
    let auth = header_str(headers, "authorization")?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| ClientToken::new(token.trim().to_owned()))
}

fn namespace(headers: &HeaderMap) -> Option<String> {
    let ns = header_str(headers, "x-vault-namespace")?
        .trim()
        .trim_matches('/');
    (!ns.is_empty() && ns != "root").then(|| ns.to_owned())
}

async fn dispatch(state: &AppState, d: Decoded) -> axum::response::Response {
    let core = &state.core;
    if let Some(resp) = sys_bare::handle(state, &d).await {
        return resp;
    }
    if namespace(&d.headers).is_some() {
        // Namespaces arrive with a later issue; until then no namespace exists.
        return error_response(StatusCode::NOT_FOUND, ErrorBody::one("namespace not found"));
    }
    if !core.is_initialized() || core.is_sealed() {
        return logical_error(&LogicalError::sealed());
    }
    let wrap_ttl = match header_str(&d.headers, "x-vault-wrap-ttl") {
        None => None,
        Some(v) => match duration::parse_duration(v.trim()) {
            Ok(ttl) => Some(ttl),
            Err(_) => {
                return bad_request("error parsing X-Vault-Wrap-TTL header: invalid duration");
            }
        },
    };
    if d.path.ends_with('/') && matches!(d.operation, Operation::Update | Operation::Patch) {
        return bad_request("cannot write to a path ending in '/'");
    }
    let request_id = match arca_crypto::random_uuid() {
        Ok(id) => id,
        Err(_) => return logical_error(&LogicalError::internal()),
    };
    let operation = d.operation;
    let path = d.path.clone();
    let mut req = Request::new(request_id.clone(), operation, d.path);
    req.data = d.data;
    req.token = client_token(&d.headers);
    req.remote_addr = d.remote;
    req.peer_certificates = d.peer_certificates;
    req.wrap_ttl = wrap_ttl;
    match core.handle(req).await {
        Ok(resp) => logical_response(&request_id, operation, &path, resp),
        Err(e) => logical_error(&e),
    }
}

/// Vault's rules for a successful logical response: nothing to say is 204, except a read
/// or a list, for which nothing means 404.
fn logical_response(
    request_id: &str,
    op: Operation,
    path: &str,
    resp: Response,
) -> axum::response::Response {
    if let Some(raw) = resp.raw {
        return json_response(StatusCode::OK, &raw);
    }
    let status = match resp.status {
        ResponseStatus::Normal => StatusCode::OK,
        ResponseStatus::NotFound => StatusCode::NOT_FOUND,
        ResponseStatus::BadRequest => StatusCode::BAD_REQUEST,
        ResponseStatus::Accepted => StatusCode::ACCEPTED,
    };
    if resp.status == ResponseStatus::Normal {
        let empty_list = op == Operation::List
            && resp.warnings.is_empty()
            && resp.data.as_ref().is_none_or(|d| {
                d.len() <= 1
                    && d.get("keys")
                        .is_none_or(|k| k.as_array().is_none_or(Vec::is_empty))
            });
        if empty_list || (resp.is_empty() && matches!(op, Operation::Read | Operation::Header)) {
            return error_response(StatusCode::NOT_FOUND, ErrorBody::default());
        }
        if resp.is_empty() {
            return no_content();
        }
    }
    let body = arca_logical::render::envelope(request_id, path, resp);
    json_response(status, &Value::Object(body))
}

#[cfg(test)]
mod tests;
