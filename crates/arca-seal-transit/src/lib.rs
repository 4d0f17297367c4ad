//! The transit seal: a client of another server's transit engine (Arca, OpenBao or Vault)
//! that encrypts and decrypts this node's root key, so the node unseals itself at start.
//!
//! [`TransitSealConfig::from_block`] reads a `seal "transit" { … }` block (with the
//! environment fallbacks OpenBao's seal honours); [`TransitSeal`] calls
//! `PUT <mount>/encrypt/<key>` and `PUT <mount>/decrypt/<key>` and, unless
//! `disable_renewal` is set, keeps its token alive with `auth/token/renew-self`.
//!
//! Architecture invariant: this crate is a client. It depends on no Arca crate (the
//! server adapts it to `arca_core::SealWrapper`) and never logs or formats the token,
//! plaintexts or configuration values into errors.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::{Certificate, Identity, StatusCode};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

/// Per-request timeout: an unreachable seal must not hold the unseal loop for long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Shortest wait between two renewals, and the wait after a failed one.
const MIN_RENEW_WAIT: Duration = Duration::from_secs(5);
const RENEW_RETRY: Duration = Duration::from_secs(30);

/// Errors of the transit seal. Messages hold no token, plaintext or configured value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransitSealError {
    /// The seal block is incomplete or invalid.
    #[error("seal \"transit\": {0}")]
    Config(String),
    /// The transit server could not be reached.
    #[error("transit seal: server unreachable: {0}")]
    Unreachable(String),
    /// The transit server answered with an error status.
    #[error("transit seal: server answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's `errors`, joined.
        message: String,
    },
    /// The transit server's answer could not be understood.
    #[error("transit seal: unexpected response: {0}")]
    Decode(&'static str),
}

impl TransitSealError {
    /// Whether trying again later may help: transport failures, 5xx (a sealed or
    /// starting transit server), 429, and authorisation errors (a token being fixed).
    /// A 400 (bad ciphertext, wrong key) or an unreadable answer will not change.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransitSealError::Unreachable(_) => true,
            TransitSealError::Status { status, .. } => *status != 400,
            TransitSealError::Config(_) | TransitSealError::Decode(_) => false,
        }
    }
}

/// The settings of a `seal "transit"` block, resolved against the environment.
pub struct TransitSealConfig {
    /// Transit server address, `https://host:8200`.
    pub address: String,
    /// Token with `update` on `<mount>/encrypt/<key>` and `<mount>/decrypt/<key>`.
    pub token: Zeroizing<String>,
    /// Name of the transit key.
    pub key_name: String,
    /// Mount path of the transit engine, without slashes.
    pub mount_path: String,
    /// Namespace sent as `X-Vault-Namespace`, if any.
    pub namespace: Option<String>,
    /// Do not renew the token.
    pub disable_renewal: bool,
    /// PEM bundle of CAs to trust instead of the system roots.
    pub tls_ca_cert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS.
    pub tls_client_cert: Option<PathBuf>,
    /// PEM key of the client certificate.
    pub tls_client_key: Option<PathBuf>,
    /// Name to expect in the server certificate (and send as SNI) instead of the host.
    pub tls_server_name: Option<String>,
    /// Do not verify the server certificate (tests only).
    pub tls_skip_verify: bool,
}

impl std::fmt::Debug for TransitSealConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransitSealConfig")
            .field("address", &self.address)
            .field("key_name", &self.key_name)
            .field("mount_path", &self.mount_path)
            .field("disable_renewal", &self.disable_renewal)
            .finish_non_exhaustive()
    }
}

/// Keys a `seal "transit"` block may hold (others are refused: a typo must not pass).
const KNOWN_KEYS: &[&str] = &[
    "address",
    "token",
    "key_name",
    "mount_path",
    "namespace",
    "disable_renewal",
    "tls_ca_cert",
    "tls_client_cert",
    "tls_client_key",
    "tls_server_name",
    "tls_skip_verify",
    "disabled",
    "priority",
    "name",
    "key_id_prefix",
];

impl TransitSealConfig {
    /// Reads a seal block body. As OpenBao's transit seal, an environment variable, when
    /// set, takes precedence over the block: `BAO_ADDR`/`VAULT_ADDR`,
    /// `BAO_TOKEN`/`VAULT_TOKEN`, `VAULT_TRANSIT_SEAL_KEY_NAME`,
    /// `VAULT_TRANSIT_SEAL_MOUNT_PATH`, `BAO_NAMESPACE`/`VAULT_NAMESPACE`.
    /// `env` is the environment lookup (`|k| std::env::var(k).ok()` in the server).
    pub fn from_block(
        body: &Map<String, Value>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TransitSealError> {
        for k in body.keys() {
            if !KNOWN_KEYS.contains(&k.as_str()) {
                return Err(TransitSealError::Config(
                    "unknown key in the seal block".into(),
                ));
            }
        }
        let text = |k: &str| -> Option<String> {
            match body.get(k)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::String(_) | Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        let env_any = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
        let flag = |k: &str| -> Result<bool, TransitSealError> {
            match text(k).as_deref() {
                None => Ok(false),
                Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok(true),
                Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok(false),
                Some(_) => Err(TransitSealError::Config(format!("{k} must be a boolean"))),
            }
        };
        let required = |v: Option<String>, k: &str| {
            v.ok_or_else(|| TransitSealError::Config(format!("{k} is required")))
        };
        let address = required(
            env_any(&["BAO_ADDR", "VAULT_ADDR"]).or_else(|| text("address")),
            "address",
        )?;
        let token = Zeroizing::new(required(
            env_any(&["BAO_TOKEN", "VAULT_TOKEN"]).or_else(|| text("token")),
            "token",
        )?);
        let key_name = required(
            env_any(&["VAULT_TRANSIT_SEAL_KEY_NAME"]).or_else(|| text("key_name")),
            "key_name",
        )?;
        let mount_path = required(
            env_any(&["VAULT_TRANSIT_SEAL_MOUNT_PATH"]).or_else(|| text("mount_path")),
            "mount_path",
        )?
        .trim_matches('/')
        .to_owned();
        if mount_path.is_empty() {
            return Err(TransitSealError::Config("mount_path is required".into()));
        }
        let namespace =
            env_any(&["BAO_NAMESPACE", "VAULT_NAMESPACE"]).or_else(|| text("namespace"));
        Ok(Self {
            address,
            token,
            key_name,
            mount_path,
            namespace,
            disable_renewal: flag("disable_renewal")?,
            tls_ca_cert: text("tls_ca_cert").map(PathBuf::from),
            tls_client_cert: text("tls_client_cert").map(PathBuf::from),
            tls_client_key: text("tls_client_key").map(PathBuf::from),
            tls_server_name: text("tls_server_name"),
            tls_skip_verify: flag("tls_skip_verify")?,
        })
    }
}

/// A connected transit seal.
pub struct TransitSeal {
    http: reqwest::Client,
    /// `<origin><path>/v1/`.
    base: String,
    token: RwLock<Zeroizing<String>>,
    key_name: String,
    mount_path: String,
    namespace: Option<String>,
    disable_renewal: bool,
}

impl TransitSeal {
    /// Builds the HTTP client (TLS settings are checked here; nothing is sent yet).
    pub fn new(config: TransitSealConfig) -> Result<Self, TransitSealError> {
        let mut url = reqwest::Url::parse(&config.address)
            .map_err(|_| TransitSealError::Config("address is not a valid URL".into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(TransitSealError::Config(
                "address must be an http or https URL".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(1))
            .user_agent(concat!("arca-seal-transit/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &config.tls_ca_cert {
            builder = builder.tls_certs_only(read_pem_certs(ca)?);
        }
        match (&config.tls_client_cert, &config.tls_client_key) {
            (Some(cert), Some(key)) => {
                let mut pem = read_file(cert, "tls_client_cert")?;
                pem.push(b'\n');
                pem.extend(read_file(key, "tls_client_key")?.iter());
                let id = Identity::from_pem(&pem).map_err(|_| {
                    TransitSealError::Config("invalid client certificate or key".into())
                })?;
                builder = builder.identity(id);
            }
            (None, None) => {}
            _ => {
                return Err(TransitSealError::Config(
                    "tls_client_cert and tls_client_key must be given together".into(),
                ));
            }
        }
        if config.tls_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(name) = config.tls_server_name.as_deref().filter(|n| !n.is_empty()) {
            // The certificate is checked against (and SNI names) `name`, while the
            // connection goes to the configured host: address the name, pin its resolution.
            let port = url.port_or_known_default().unwrap_or(443);
            let host = url.host_str().unwrap_or_default().to_owned();
            let addrs: Vec<std::net::SocketAddr> =
                std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))
                    .map_err(|_| TransitSealError::Config("address host does not resolve".into()))?
                    .collect();
            builder = builder.resolve_to_addrs(name, &addrs);
            url.set_host(Some(name)).map_err(|_| {
                TransitSealError::Config("tls_server_name is not a valid host name".into())
            })?;
        }
        let http = builder
            .build()
            .map_err(|_| TransitSealError::Config("could not build the HTTP client".into()))?;
        let base = format!("{}/v1/", url.as_str().trim_end_matches('/'));
        Ok(Self {
            http,
            base,
            token: RwLock::new(config.token),
            key_name: config.key_name,
            mount_path: config.mount_path,
            namespace: config.namespace.filter(|n| !n.is_empty()),
            disable_renewal: config.disable_renewal,
        })
    }

    /// `transit/encrypt`: returns the ciphertext string (`vault:v1:…`) as bytes.
    pub async fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, TransitSealError> {
        let body = json!({ "plaintext": B64.encode(plaintext) });
        let path = format!("{}/encrypt/{}", self.mount_path, self.key_name);
        let data = self.call(reqwest::Method::PUT, &path, Some(&body)).await?;
        let ct = data
            .get("ciphertext")
            .and_then(Value::as_str)
            .ok_or(TransitSealError::Decode("no ciphertext"))?;
        Ok(ct.as_bytes().to_vec())
    }

    /// `transit/decrypt` of what [`TransitSeal::encrypt`] returned.
    pub async fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransitSealError> {
        let ct = std::str::from_utf8(ciphertext)
            .map_err(|_| TransitSealError::Decode("stored ciphertext is not text"))?;
        let body = json!({ "ciphertext": ct });
        let path = format!("{}/decrypt/{}", self.mount_path, self.key_name);
        let data = self.call(reqwest::Method::PUT, &path, Some(&body)).await?;
        let pt = data
            .get("plaintext")
            .and_then(Value::as_str)
            .ok_or(TransitSealError::Decode("no plaintext"))?;
        let plain = B64
            .decode(pt)
            .map_err(|_| TransitSealError::Decode("plaintext is not base64"))?;
        Ok(Zeroizing::new(plain))
    }

    /// Starts renewing the token in the background (unless `disable_renewal`): it looks the
    /// token up, renews it at two thirds of its TTL, and stops for a token that is not
    /// renewable or has no TTL (a root token).
    pub fn spawn_renewal(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.disable_renewal {
            return None;
        }
        let seal = Arc::clone(self);
        Some(tokio::spawn(async move { seal.renew_loop().await }))
    }

    async fn renew_loop(&self) {
        let mut info = match self
            .call(reqwest::Method::GET, "auth/token/lookup-self", None)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "transit seal: token lookup failed; will try to renew later");
                Map::new()
            }
        };
        loop {
            let renewable = info.get("renewable").and_then(Value::as_bool);
            let ttl = info
                .get("ttl")
                .or_else(|| info.get("lease_duration"))
                .and_then(Value::as_u64);
            let wait = match (renewable, ttl) {
                (Some(false), _) | (_, Some(0)) => {
                    tracing::info!(
                        "transit seal: token is not renewable or never expires; not renewing"
                    );
                    return;
                }
                (_, Some(ttl)) => Duration::from_secs(ttl * 2 / 3).max(MIN_RENEW_WAIT),
                (_, None) => RENEW_RETRY,
            };
            tokio::time::sleep(wait).await;
            match self
                .call(
                    reqwest::Method::PUT,
                    "auth/token/renew-self",
                    Some(&json!({})),
                )
                .await
            {
                Ok(renewed) => {
                    info = renewed;
                    tracing::debug!("transit seal: token renewed");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "transit seal: token renewal failed");
                    info = Map::new();
                }
            }
        }
    }

    /// One request; returns the envelope's `data` (or `auth` for token calls).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Map<String, Value>, TransitSealError> {
        let token = match self.token.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Vault-Request", "true")
            .header("X-Vault-Token", token.as_str());
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TransitSealError::Unreachable(transport_reason(&e)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| TransitSealError::Unreachable(transport_reason(&e)))?;
        let envelope: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| TransitSealError::Decode("not JSON"))?
        };
        if !status.is_success() {
            return Err(status_error(status, &envelope));
        }
        if let Some(Value::Object(auth)) = envelope.get("auth") {
            // renew-self answers under `auth`: normalise to lookup-self's names.
            let mut m = Map::new();
            m.insert(
                "renewable".into(),
                auth.get("renewable").cloned().unwrap_or(Value::Null),
            );
            m.insert(
                "ttl".into(),
                auth.get("lease_duration").cloned().unwrap_or(Value::Null),
            );
            return Ok(m);
        }
        match envelope.get("data") {
            Some(Value::Object(d)) => Ok(d.clone()),
            _ => Err(TransitSealError::Decode("no data in the response")),
        }
    }
}

fn status_error(status: StatusCode, envelope: &Value) -> TransitSealError {
    let message = envelope
        .get("errors")
        .and_then(Value::as_array)
        .map(|errs| {
            errs.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    TransitSealError::Status {
        status: status.as_u16(),
        message,
    }
}

/// The kind of transport failure, without the URL (which carries no secret, but the
/// message stays short and stable).
fn transport_reason(e: &reqwest::Error) -> String {
    // A refused certificate shows only deep in the source chain (rustls under hyper):
    // name it, since a wrong `tls_ca_cert` or `tls_server_name` is the usual cause.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string().contains("certificate") {
            return "TLS handshake failed: the server certificate was not accepted (check tls_ca_cert and tls_server_name)".into();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

fn read_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, TransitSealError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|_| TransitSealError::Config(format!("cannot read {what}")))
}

fn read_pem_certs(path: &Path) -> Result<Vec<Certificate>, TransitSealError> {
    let pem = read_file(path, "tls_ca_cert")?;
    Certificate::from_pem_bundle(&pem)
        .map_err(|_| TransitSealError::Config("invalid CA certificate".into()))
}

#[cfg(test)]
mod tests;
