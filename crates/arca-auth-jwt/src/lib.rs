//! The JWT/OIDC auth method, mounted as type `jwt` or `oidc` (one backend, as in Vault and
//! OpenBao, whose `jwt` plugin serves both names).
//!
//! * `config`: where signing keys come from — exactly one of `jwt_validation_pubkeys` (PEM
//!   public keys or certificates), `jwks_url` (+ `jwks_ca_pem`), or `oidc_discovery_url`
//!   (+ `oidc_discovery_ca_pem`; with `oidc_client_id`/`oidc_client_secret` it also enables
//!   the browser flow) — plus `bound_issuer`, `jwt_supported_algs` and `default_role`.
//! * `role/<name>`: `role_type` (`jwt` or `oidc`), `bound_audiences`, `bound_subject`,
//!   `bound_claims` (exact or glob, single values or lists, JSON-pointer claim names),
//!   `claim_mappings` (claims copied to token metadata), `user_claim` (the entity alias
//!   name), `groups_claim`, the three leeways, the OIDC flow settings and the common
//!   `token_*` fields (from `arca-auth-common`).
//! * `login`: `{role, jwt}` → an `auth` for the core to turn into a token.
//! * `oidc/auth_url` and `oidc/callback`: the authorization-code flow with PKCE (S256),
//!   `state` and `nonce`, for people logging in through a browser.
//!
//! Token validation is strict and follows OpenBao's (`hashicorp/cap`) rules: the header's
//! `alg` must be one of the configured algorithms (asymmetric only: `none` and `HS*` are
//! never accepted, so a public key can never be used as an HMAC secret), the signature must
//! verify with a key of the matching type (and matching `kid` for key sets), then `iss`,
//! `sub`, `aud` and the time claims (`exp`, `nbf`, `iat`, with the role's leeways) are
//! checked against the mount's clock ([`arca_logical::SystemView::now`]).
//!
//! Remote key sets are cached per configuration; a token whose `kid` is unknown triggers
//! one refetch (at most one per second), and a cache older than an hour is refetched, so a
//! key removed by the issuer stops being accepted.
//!
//! Storage (the mount's own barrier-encrypted view): `config` and `role/<name>`, JSON.
//! Pending browser logins (state, nonce, PKCE verifier) live in memory for ten minutes, as
//! in Vault.
//!
//! Architecture invariant: this crate depends only on the plug-in SDK (`arca-logical`), the
//! storage trait (`arca-storage`), the shared auth helpers (`arca-auth-common`) and
//! `arca-crypto`; never on the core, HTTP serving, or another plug-in. Outbound HTTP (JWKS,
//! discovery, token endpoint) goes through `reqwest` with rustls.

use std::sync::Arc;

use arca_logical::{
    Backend, BackendConfig, BackendKind, Factory, LogicalError, LogicalResult, Operation,
    PathTable, Request, Response, SpecialPaths, SystemView,
};
use arca_storage::Storage;
// The crate's modules reach these as `crate::…`.
use arca_auth_common::{glob_match, list_response, warnings_only};
use async_trait::async_trait;

mod claims;
mod config;
mod fetch;
mod keys;
mod login;
mod oidc;
mod role;
mod validate;

pub use validate::SUPPORTED_ALGS;

/// Failures inside this auth method that are not the client's fault. Messages never
/// contain tokens, claims or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// A stored record could not be decoded.
    #[error("stored jwt {0} record could not be decoded")]
    Corrupt(&'static str),
    /// A record could not be encoded.
    #[error("jwt {0} record could not be encoded")]
    Encode(&'static str),
    /// The built-in path table failed to compile.
    #[error("jwt path table is invalid")]
    PathTable,
}

impl From<JwtError> for LogicalError {
    fn from(e: JwtError) -> Self {
        tracing::error!(error = %e, "jwt auth failure");
        LogicalError::internal()
    }
}

/// Creates JWT/OIDC backends. The same backend serves the `jwt` and `oidc` type names.
#[derive(Debug, Clone, Copy)]
pub struct JwtFactory {
    type_name: &'static str,
}

impl JwtFactory {
    /// The `jwt` mount type.
    pub const JWT: JwtFactory = JwtFactory { type_name: "jwt" };
    /// The `oidc` mount type (the same backend).
    pub const OIDC: JwtFactory = JwtFactory { type_name: "oidc" };
}

impl Factory for JwtFactory {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Credential
    }

    fn create(&self, config: BackendConfig) -> LogicalResult<Arc<dyn Backend>> {
        Ok(Arc::new(JwtBackend::new(config.storage, config.system)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Config,
    RoleList,
    Role,
    Login,
    AuthUrl,
    Callback,
    Poll,
}

/// One mounted JWT/OIDC auth method.
pub(crate) struct JwtBackend {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) system: Arc<dyn SystemView>,
    paths: PathTable<Route>,
    /// Verification keys, cached per key-source configuration.
    pub(crate) keys: keys::KeyCache,
    /// Browser logins in progress, by `state`.
    pub(crate) pending: oidc::PendingLogins,
}

impl JwtBackend {
    fn new(storage: Arc<dyn Storage>, system: Arc<dyn SystemView>) -> Result<Self, JwtError> {
        let paths = PathTable::new()
            .add("config", Route::Config)
            .and_then(|t| t.add("role/?", Route::RoleList))
            .and_then(|t| t.add(r"role/(?P<name>\w(?:[\w.\-]*\w)?)", Route::Role))
            .and_then(|t| t.add("login", Route::Login))
            .and_then(|t| t.add("oidc/auth_url", Route::AuthUrl))
            .and_then(|t| t.add("oidc/callback", Route::Callback))
            .and_then(|t| t.add("oidc/poll", Route::Poll))
            .map_err(|_| JwtError::PathTable)?;
        Ok(Self {
            storage,
            system,
            paths,
            keys: keys::KeyCache::default(),
            pending: oidc::PendingLogins::default(),
        })
    }
}

#[async_trait]
impl Backend for JwtBackend {
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths {
            unauthenticated: vec![
                "login".into(),
                "oidc/auth_url".into(),
                "oidc/callback".into(),
                "oidc/poll".into(),
            ],
            root: Vec::new(),
        }
    }

    async fn handle(&self, req: &Request) -> LogicalResult<Option<Response>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Err(LogicalError::unsupported_path());
        };
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (*m.handler, req.operation) {
            (Route::Config, Operation::Read) => config::read(self).await,
            (Route::Config, _) if write => config::write(self, req).await,
            (Route::RoleList, Operation::List) => role::list(self).await,
            (Route::Role, op) => {
                let name = m.captures.get("name").cloned().unwrap_or_default();
                let name = name.to_ascii_lowercase();
                match op {
                    Operation::Read => role::read(self, &name).await,
                    Operation::Delete => role::delete(self, &name).await,
                    _ if write => role::write(self, req, &name).await,
                    _ => Err(LogicalError::unsupported_operation()),
                }
            }
            (Route::Login, _) if write => login::login(self, req).await,
            (Route::AuthUrl, _) if write => oidc::auth_url(self, req).await,
            (Route::Callback, Operation::Read) => oidc::callback(self, req).await,
            (Route::Poll, _) if write => Err(LogicalError::invalid(
                "the device and direct OIDC callback modes are not supported",
            )),
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn exists(&self, req: &Request) -> LogicalResult<Option<bool>> {
        let Some(m) = self.paths.route(&req.path) else {
            return Ok(None);
        };
        if *m.handler != Route::Role {
            return Ok(None);
        }
        let name = m.captures.get("name").cloned().unwrap_or_default();
        Ok(Some(
            role::load(self, &name.to_ascii_lowercase())
                .await?
                .is_some(),
        ))
    }

    async fn renew_auth(
        &self,
        _req: &Request,
        auth: &arca_logical::Auth,
    ) -> LogicalResult<Option<Response>> {
        login::renew(self, auth).await
    }
}
