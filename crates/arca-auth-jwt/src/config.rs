//! `config`: where verification keys come from, the issuer, the accepted algorithms and
//! the OIDC client.

use arca_logical::{LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::validate::parse_alg;
use crate::{JwtBackend, JwtError, fetch, keys, warnings_only};

const CONFIG_KEY: &str = "config";

/// The OIDC client secret: zeroized on drop, never printed, never rendered on a read.
#[derive(Default)]
pub(crate) struct ClientSecret(Zeroizing<String>);

impl Serialize for ClientSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClientSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ClientSecret(Zeroizing::new(String::deserialize(d)?)))
    }
}

impl ClientSecret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// The stored configuration (field names as in Vault's API).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JwtConfig {
    pub oidc_discovery_url: String,
    pub oidc_discovery_ca_pem: String,
    pub oidc_client_id: String,
    pub oidc_client_secret: ClientSecret,
    pub oidc_response_mode: String,
    pub oidc_response_types: Vec<String>,
    pub jwks_url: String,
    pub jwks_ca_pem: String,
    pub jwt_validation_pubkeys: Vec<String>,
    pub jwt_supported_algs: Vec<String>,
    pub bound_issuer: String,
    pub default_role: String,
    pub namespace_in_state: bool,
    pub override_allowed_server_names: Vec<String>,
}

/// Where verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) enum KeySource {
    /// PEM public keys or certificates from the configuration.
    Static(Vec<String>),
    /// A JWKS document at a URL, with an optional CA bundle for its TLS.
    Jwks { url: String, ca_pem: String },
    /// The `jwks_uri` of an OIDC discovery document.
    Discovery { url: String, ca_pem: String },
}

impl JwtConfig {
    /// The configured key source; a stored configuration always has exactly one.
    pub(crate) fn key_source(&self) -> Option<KeySource> {
        if !self.oidc_discovery_url.is_empty() {
            Some(KeySource::Discovery {
                url: self.oidc_discovery_url.clone(),
                ca_pem: self.oidc_discovery_ca_pem.clone(),
            })
        } else if !self.jwks_url.is_empty() {
            Some(KeySource::Jwks {
                url: self.jwks_url.clone(),
                ca_pem: self.jwks_ca_pem.clone(),
            })
        } else if !self.jwt_validation_pubkeys.is_empty() {
            Some(KeySource::Static(self.jwt_validation_pubkeys.clone()))
        } else {
            None
        }
    }

    /// Whether the browser flow is configured (discovery plus a client).
    pub(crate) fn is_oidc_flow(&self) -> bool {
        !self.oidc_discovery_url.is_empty() && !self.oidc_client_id.is_empty()
    }
}

/// The stored configuration, if any.
pub(crate) async fn load(b: &JwtBackend) -> LogicalResult<Option<JwtConfig>> {
    match b.storage.get(CONFIG_KEY).await? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| JwtError::Corrupt("config").into()),
    }
}

pub(crate) async fn read(b: &JwtBackend) -> LogicalResult<Option<Response>> {
    let Some(c) = load(b).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert("oidc_discovery_url".into(), json!(c.oidc_discovery_url));
    data.insert(
        "oidc_discovery_ca_pem".into(),
        json!(c.oidc_discovery_ca_pem),
    );
    data.insert("oidc_client_id".into(), json!(c.oidc_client_id));
    data.insert("oidc_response_mode".into(), json!(c.oidc_response_mode));
    data.insert("oidc_response_types".into(), json!(c.oidc_response_types));
    data.insert("default_role".into(), json!(c.default_role));
    data.insert(
        "jwt_validation_pubkeys".into(),
        json!(c.jwt_validation_pubkeys),
    );
    data.insert("jwt_supported_algs".into(), json!(c.jwt_supported_algs));
    data.insert("jwks_url".into(), json!(c.jwks_url));
    data.insert("jwks_ca_pem".into(), json!(c.jwks_ca_pem));
    data.insert("bound_issuer".into(), json!(c.bound_issuer));
    data.insert("provider_config".into(), json!({}));
    data.insert(
        "override_allowed_server_names".into(),
        json!(c.override_allowed_server_names),
    );
    data.insert("namespace_in_state".into(), json!(c.namespace_in_state));
    let mut resp = Response::with_data(data);
    // Only static keys can be checked without going to the network.
    let valid = match c.key_source() {
        Some(KeySource::Static(pems)) => pems.iter().all(|p| keys::keys_from_pem(p).is_ok()),
        Some(_) => true,
        None => false,
    };
    if let Some(d) = resp.data.as_mut() {
        d.insert(
            "status".into(),
            json!(if valid { "valid" } else { "invalid" }),
        );
    }
    if !valid {
        resp.warnings
            .push("failed to construct JWK validator".to_owned());
    }
    Ok(Some(resp))
}

fn string(f: &arca_logical::FieldData<'_>, name: &str) -> LogicalResult<String> {
    Ok(f.string(name)?.unwrap_or_default())
}

fn list(f: &arca_logical::FieldData<'_>, name: &str) -> LogicalResult<Vec<String>> {
    Ok(f.comma_list(name)?
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// A write replaces the whole configuration, as in Vault.
pub(crate) async fn write(b: &JwtBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let existing = load(b).await?;
    let mut c = JwtConfig {
        oidc_discovery_url: string(&f, "oidc_discovery_url")?,
        oidc_discovery_ca_pem: string(&f, "oidc_discovery_ca_pem")?,
        oidc_client_id: string(&f, "oidc_client_id")?,
        oidc_client_secret: ClientSecret(Zeroizing::new(string(&f, "oidc_client_secret")?)),
        oidc_response_mode: string(&f, "oidc_response_mode")?,
        oidc_response_types: list(&f, "oidc_response_types")?,
        jwks_url: string(&f, "jwks_url")?,
        jwks_ca_pem: string(&f, "jwks_ca_pem")?,
        jwt_validation_pubkeys: f
            .comma_list("jwt_validation_pubkeys")?
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect(),
        jwt_supported_algs: list(&f, "jwt_supported_algs")?,
        bound_issuer: string(&f, "bound_issuer")?,
        default_role: string(&f, "default_role")?.to_ascii_lowercase(),
        namespace_in_state: true,
        override_allowed_server_names: list(&f, "override_allowed_server_names")?,
    };
    c.namespace_in_state = match f.bool("namespace_in_state")? {
        Some(v) => v,
        None => existing.as_ref().is_none_or(|e| e.namespace_in_state),
    };
    let skip_validation = f.bool("skip_jwks_validation")?.unwrap_or(false);
    match f.raw("provider_config") {
        None => {}
        Some(Value::Object(m)) if m.is_empty() => {}
        Some(_) => {
            return Err(LogicalError::invalid(
                "invalid provider_config: custom providers are not supported",
            ));
        }
    }
    let mut warnings = f.warnings();

    let methods = [
        !c.oidc_discovery_url.is_empty(),
        !c.jwt_validation_pubkeys.is_empty(),
        !c.jwks_url.is_empty(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if methods != 1 {
        return Err(LogicalError::invalid(
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', or 'oidc_discovery_url' must be set",
        ));
    }
    if c.oidc_client_id.is_empty() != c.oidc_client_secret.is_empty() {
        return Err(LogicalError::invalid(
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC",
        ));
    }
    if !c.oidc_client_id.is_empty() && c.oidc_discovery_url.is_empty() {
        return Err(LogicalError::invalid(
            "'oidc_discovery_url' must be set for OIDC",
        ));
    }

    if !c.oidc_discovery_url.is_empty() {
        if c.oidc_discovery_url
            .contains(".well-known/openid-configuration")
        {
            return Err(LogicalError::invalid(
                "'oidc_discovery_url' contains '.well-known' component",
            ));
        }
        let checked = match fetch::client(&c.oidc_discovery_ca_pem) {
            Ok(client) => fetch::discover(&client, &c.oidc_discovery_url)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            if !skip_validation {
                tracing::warn!(error = %e, "error checking oidc discovery URL");
                return Err(LogicalError::invalid(format!(
                    "error checking oidc discovery URL: {e}"
                )));
            }
            warnings.push("error checking oidc discovery URL".to_owned());
        }
    } else if !c.jwks_url.is_empty() {
        let client = fetch::client(&c.jwks_ca_pem)
            .map_err(|_| LogicalError::invalid("error checking jwks_ca_pem"))?;
        let checked = fetch::get_json(&client, &c.jwks_url)
            .await
            .and_then(|doc| keys::keys_from_jwks(&doc).map_err(|_| fetch::FetchError::NotJwks));
        if let Err(e) = checked {
            if !skip_validation {
                tracing::warn!(error = %e, "error checking jwks URL");
                return Err(LogicalError::invalid("error checking jwks URL"));
            }
            warnings.push("error checking jwks URL".to_owned());
        }
    } else {
        for pem in &c.jwt_validation_pubkeys {
            keys::keys_from_pem(pem)
                .map_err(|e| LogicalError::invalid(format!("error parsing public key: {e}")))?;
        }
    }

    if c.jwt_supported_algs.iter().any(|a| parse_alg(a).is_none()) {
        return Err(LogicalError::invalid(
            "invalid jwt_supported_algs: unsupported signing algorithm (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
        ));
    }
    if c.oidc_response_types
        .iter()
        .any(|t| t != "code" && t != "id_token")
    {
        return Err(LogicalError::invalid(
            "invalid response_types. 'code' and 'id_token' are allowed",
        ));
    }
    if c.oidc_response_types.iter().any(|t| t == "id_token") {
        // The implicit flow hands the ID token to the browser; only the code flow with
        // PKCE is implemented.
        return Err(LogicalError::invalid(
            "the 'id_token' response type (implicit flow) is not supported; use 'code'",
        ));
    }
    match c.oidc_response_mode.as_str() {
        "" | "query" => {}
        "form_post" => {
            return Err(LogicalError::invalid(
                "the 'form_post' response mode is not supported",
            ));
        }
        _ => return Err(LogicalError::invalid("invalid response_mode")),
    }

    let bytes = serde_json::to_vec(&c).map_err(|_| JwtError::Encode("config"))?;
    b.storage.put(CONFIG_KEY, &bytes).await?;
    b.keys.reset().await;
    b.pending.clear();
    Ok(warnings_only(warnings))
}
