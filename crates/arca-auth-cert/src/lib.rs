//! The TLS certificate auth method (type `cert`).
//!
//! * `certs/<name>`: a trusted certificate — a CA (clients chaining to it may log in) or a
//!   non-CA leaf (that exact certificate may log in) — with constraints on the client
//!   certificate (`allowed_names`, `allowed_common_names`, `allowed_dns_sans`,
//!   `allowed_email_sans`, `allowed_uri_sans` such as SPIFFE IDs, all globs;
//!   `allowed_organizational_units`; `required_extensions` as `oid:glob`), the metadata
//!   extensions to copy, a `display_name` and the common `token_*` fields.
//! * `crls/<name>`: a CRL (PEM); any certificate of a login chain whose serial number is
//!   listed is refused, as in Vault.
//! * `config`: `disable_binding` (renewals need not present the same certificate) and
//!   `enable_identity_alias_metadata`.
//! * `login` (optionally `{name}`): the client certificate chain comes from the TLS
//!   handshake (`Request::peer_certificates`, leaf first). The chain is verified with
//!   rustls-webpki against the trusted CAs (signatures with aws-lc-rs, validity at the
//!   mount's clock, the client-auth extended key usage when the leaf names usages), then
//!   the CRLs and the entry's constraints are applied; the first entry that accepts the
//!   certificate wins. The entity alias is the certificate's common name and the token
//!   metadata carries `cert_name`, `common_name`, `serial_number` (decimal),
//!   `subject_key_id` and `authority_key_id` (colon hex).
//!
//! OCSP and fetching CRLs from a URL are not implemented: `ocsp_enabled` and `crls` with
//! `url` are refused rather than silently ignored.
//!
//! Storage (the mount's barrier-encrypted view): `cert/<name>`, `crls/<name>`, `config`.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait (`arca-storage`), the shared auth helpers (`arca-auth-common`) and
//! `arca-crypto`, plus X.509 parsing and path validation libraries; never on the core,
//! HTTP or TLS serving, or another plug-in.

use std::sync::Arc;

use arca_logical::{
    Backend, BackendConfig, BackendKind, Factory, LogicalError, LogicalResult, Operation,
    PathTable, Request, Response, SpecialPaths, SystemView,
};
use arca_storage::Storage;
// The crate's modules reach these as `crate::…`.
use arca_auth_common::{glob_match, list_response, warnings_only};
use async_trait::async_trait;

mod certs;
mod config;
mod crls;
mod login;
mod x509;

/// The mount type name.
pub const TYPE_NAME: &str = "cert";

/// Failures inside this auth method that are not the client's fault. Messages never
/// contain certificates or request data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A stored record could not be decoded.
    #[error("stored cert {0} record could not be decoded")]
    Corrupt(&'static str),
    /// A record could not be encoded.
    #[error("cert {0} record could not be encoded")]
    Encode(&'static str),
    /// The built-in path table failed to compile.
    #[error("cert path table is invalid")]
    PathTable,
}

impl From<CertError> for LogicalError {
    fn from(e: CertError) -> Self {
        tracing::error!(error = %e, "cert auth failure");
        LogicalError::internal()
    }
}

/// Creates `cert` backends.
#[derive(Debug, Default, Clone, Copy)]
pub struct CertFactory;

impl Factory for CertFactory {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Credential
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(CertBackend::new(config.storage, config.system)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    CertList,
    Cert,
    CrlList,
    Crl,
    Config,
    Login,
}

/// One mounted cert auth method.
pub(crate) struct CertBackend {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
}

const NAME: &str = r"(?P<name>\w(?:[\w.\-]*\w)?)";

impl CertBackend {
    fn new(storage: Arc<dyn Storage>, system: Arc<dyn SystemView>) -> Result<Self, CertError> {
        let paths = PathTable::new()
            .add("certs/?", Route::CertList)
            .and_then(|t| t.add(&format!("certs/{NAME}"), Route::Cert))
            .and_then(|t| t.add("crls/?", Route::CrlList))
            .and_then(|t| t.add(&format!("crls/{NAME}"), Route::Crl))
            .and_then(|t| t.add("config", Route::Config))
            .and_then(|t| t.add("login", Route::Login))
            .map_err(|_| CertError::PathTable)?;
        Ok(Self {
            storage,
            system,
            paths,
        })
    }
}

#[async_trait]
impl Backend for CertBackend {
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            unauthenticated: vec!["login".into()],
            root: Vec::new(),
        }
    }

    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let name = m
            .captures
            .get("name")
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (*m.handler, req.operation) {
            (Route::CertList, Operation::List) => certs::list(self).await,
            (Route::Cert, Operation::Read) => certs::read(self, &name).await,
            (Route::Cert, Operation::Delete) => certs::delete(self, &name).await,
            (Route::Cert, _) if write => certs::write(self, req, &name).await,
            (Route::CrlList, Operation::List) => crls::list(self).await,
            (Route::Crl, Operation::Read) => crls::read(self, &name).await,
            (Route::Crl, Operation::Delete) => crls::delete(self, &name).await,
            (Route::Crl, _) if write => crls::write(self, req, &name).await,
            (Route::Config, Operation::Read) => config::read(self).await,
            (Route::Config, _) if write => config::write(self, req).await,
            (Route::Login, _) if write => login::login(self, req).await,
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        let name = m
            .captures
            .get("name")
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        match *m.handler {
            Route::Cert => Ok(Some(certs::load(self, &name).await?.is_some())),
            Route::Crl => Ok(Some(crls::load(self, &name).await?.is_some())),
            _ => Ok(None),
        }
    }

    async fn renew_auth(
        &self,
        req: &Request,
        auth: &arca_logical::Auth,
    ) -> LogicalResult<Option<Response>> {
        login::renew(self, req, auth).await
    }
}
