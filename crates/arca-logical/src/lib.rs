//! The plug-in SDK: the logical request model that the HTTP layer hands to the core and
//! that the core hands to every secrets engine and auth method, and the [`Backend`] trait
//! those implement.
//!
//! A backend sees only what arrives here: its [`BackendConfig`] (a prefix-scoped,
//! barrier-encrypted [`arca_storage::Storage`] and a [`SystemView`]) and, per request, the
//! [`Request`] with everything that belongs to it. Per-request state never lives in the
//! backend.
//!
//! Errors are classified by [`ErrorKind`]; only the HTTP crate turns a kind into a status
//! code, so nothing here knows HTTP.
//!
//! Architecture invariant: this crate depends only on `arca-storage` (the storage trait)
//! and `arca-types` (field coercions); no HTTP, database or crypto library.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

mod backend;
mod fields;
mod paths;
pub mod render;
mod response;
mod secret;

pub use backend::{Backend, BackendConfig, BackendKind, Factory, SpecialPaths, SystemView};
pub use fields::FieldData;
pub use paths::{PathMatch, PathTable};
pub use response::{Alias, Auth, ResponseStatus, SecretInfo, TokenType, WrapInfo};
pub use secret::SecretString;

/// What a request asks for, after the HTTP verb and `?list=true` were interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET`.
    Read,
    /// `POST`/`PUT` on a path that does not exist yet (for backends with an existence check).
    Create,
    /// `POST`/`PUT`.
    Update,
    /// `PATCH` with a merge-patch body.
    Patch,
    /// `DELETE`.
    Delete,
    /// `LIST` or `GET ?list=true`.
    List,
    /// `SCAN` or `GET ?scan=true` (recursive list, OpenBao).
    Scan,
    /// `HEAD`.
    Header,
}

impl Operation {
    /// The lower-case name used in ACLs and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Scan => "scan",
            Operation::Header => "header",
        }
    }
}

/// A client token as presented. Zeroized on drop and never printed.
pub struct ClientToken(Zeroizing<String>);

impl ClientToken {
    /// Wraps a presented token.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }
    /// The token text, for lookup only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken(<redacted>)")
    }
}

/// One logical request. Everything that belongs to the request travels here, never in
/// shared backend state.
#[derive(Debug)]
pub struct Request {
    /// Request id (UUID), also echoed in the response envelope.
    pub id: String,
    /// The operation.
    pub operation: Operation,
    /// Canonical path without the `/v1/` prefix (lists end in `/`).
    pub path: String,
    /// Body fields (JSON or form), or query parameters for reads, lists and deletes.
    pub data: Map<String, Value>,
    /// The presented token, if any.
    pub token: Option<ClientToken>,
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// Requested response-wrapping TTL (`X-Vault-Wrap-TTL`).
    pub wrap_ttl: Option<Duration>,
    /// The mount the request was routed to (`secret/`, `auth/userpass/`); empty before
    /// routing. Once routed, `path` is relative to it.
    pub mount_point: String,
    /// The mount's type (`kv`, `userpass`, ...); empty before routing.
    pub mount_type: String,
    /// The mount's accessor; empty before routing.
    pub mount_accessor: String,
    /// Who is calling, once the token was authenticated; `None` on unauthenticated paths.
    pub caller: Option<Caller>,
    /// Whether the caller holds `sudo` on this path (root-protected operations such as
    /// creating orphan tokens check it).
    pub sudo: bool,
    /// DER certificates the client presented over TLS, leaf first.
    pub peer_certificates: Vec<Vec<u8>>,
    /// Selected request headers, lower-cased names (for auth methods that need them).
    pub headers: BTreeMap<String, String>,
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caller {
    /// A stable, non-secret identifier of the token (its salted hash in the token store);
    /// cubbyhole scopes storage by it.
    pub token_id: String,
    /// The token's accessor.
    pub accessor: String,
    /// The token's effective policies.
    pub policies: Vec<String>,
    /// The token's display name.
    pub display_name: String,
    /// The entity the token belongs to, `""` when none.
    pub entity_id: String,
    /// The token's metadata.
    pub metadata: BTreeMap<String, String>,
    /// Service or batch.
    pub token_type: TokenType,
    /// Whether the token has the root policy.
    pub is_root: bool,
    /// Whether the token is an orphan.
    pub orphan: bool,
}

impl Request {
    /// A request with no data, token or client address.
    pub fn new(id: impl Into<String>, operation: Operation, path: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            operation,
            path: path.into(),
            data: Map::new(),
            token: None,
            remote_addr: None,
            wrap_ttl: None,
            mount_point: String::new(),
            mount_type: String::new(),
            mount_accessor: String::new(),
            caller: None,
            sudo: false,
            peer_certificates: Vec::new(),
            headers: BTreeMap::new(),
        }
    }

    /// The path as the client sent it: the mount point followed by the relative path.
    pub fn full_path(&self) -> String {
        format!("{}{}", self.mount_point, self.path)
    }

    /// Typed, Vault-lenient access to the request's fields.
    pub fn fields(&self) -> FieldData<'_> {
        FieldData::new(&self.data)
    }
}

/// A logical response. `Response::default()` (no data, no warnings) is answered as
/// `204 No Content`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Response {
    /// The `data` object.
    pub data: Option<Map<String, Value>>,
    /// Warnings for the client (for example ignored parameters).
    pub warnings: Vec<String>,
    /// Authentication result: from an auth method's login, the token the core must create;
    /// after the core created it, the rendered `auth` block.
    pub auth: Option<Auth>,
    /// A leased secret (dynamic credentials); the core assigns the lease id.
    pub secret: Option<SecretInfo>,
    /// Set by the core when the response was wrapped.
    pub wrap_info: Option<WrapInfo>,
    /// A bare JSON body without the envelope (non-logical sys endpoints).
    pub raw: Option<Value>,
    /// How the envelope is delivered (normally 200; some answers carry a full envelope
    /// with an error status, such as a KV v2 read of a deleted version).
    pub status: ResponseStatus,
}

impl Response {
    /// A response carrying `data`.
    pub fn with_data(data: Map<String, Value>) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// Whether the response has nothing to send (answered with 204).
    pub fn is_empty(&self) -> bool {
        self.data.is_none()
            && self.warnings.is_empty()
            && self.auth.is_none()
            && self.secret.is_none()
            && self.wrap_info.is_none()
            && self.raw.is_none()
    }
}

/// The class of a failure, which decides the status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input, validation failure, failed login (400).
    InvalidRequest,
    /// Missing, bad or expired token, or a policy denial (403).
    PermissionDenied,
    /// Nothing at this path (404).
    NotFound,
    /// The path exists but not for this operation (405).
    UnsupportedOperation,
    /// The barrier is sealed or the server is not initialised (503).
    Sealed,
    /// This node cannot serve the request (standby without forwarding) (503).
    Standby,
    /// Body larger than the listener's limit (413).
    PayloadTooLarge,
    /// PATCH without the merge-patch content type (415).
    UnsupportedMediaType,
    /// A bug or a failing dependency (500). The message sent to clients is generic.
    Internal,
}

/// A classified error with a message that is safe to show to the client.
///
/// Messages never contain secret material or echo request values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LogicalError {
    /// The class.
    pub kind: ErrorKind,
    /// The client-facing message (`""` for bare 404/405).
    pub message: String,
}

impl LogicalError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// 400 with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
    /// 403 `permission denied`.
    pub fn permission_denied() -> Self {
        Self::new(ErrorKind::PermissionDenied, "permission denied")
    }
    /// Bare 404.
    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound, "")
    }
    /// 405 `unsupported operation`.
    pub fn unsupported_operation() -> Self {
        Self::new(ErrorKind::UnsupportedOperation, "unsupported operation")
    }
    /// 503 `Vault is sealed` (clients match the wording).
    pub fn sealed() -> Self {
        Self::new(ErrorKind::Sealed, "Vault is sealed")
    }
    /// 500 with a generic message; the cause must be logged by the caller.
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal error")
    }
    /// 404 `unsupported path` (a backend has no such path).
    pub fn unsupported_path() -> Self {
        Self::new(ErrorKind::NotFound, "unsupported path")
    }
}

impl From<arca_storage::StorageError> for LogicalError {
    fn from(e: arca_storage::StorageError) -> Self {
        match e {
            arca_storage::StorageError::Sealed => LogicalError::sealed(),
            arca_storage::StorageError::InvalidKey => LogicalError::invalid("invalid path"),
            // The cause is for the operator log; clients get a generic message.
            other => {
                tracing::error!(error = %other, "storage failure");
                LogicalError::internal()
            }
        }
    }
}

/// Result alias for logical handlers.
pub type LogicalResult<T> = Result<T, LogicalError>;
