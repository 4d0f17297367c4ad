//! The OIDC authorization-code flow for people (`callback_mode = client`, what `bao login
//! -method=oidc` and the UI use): `oidc/auth_url` starts a login with a fresh `state`,
//! `nonce` and PKCE verifier (S256); `oidc/callback` exchanges the code at the provider's
//! token endpoint, verifies the ID token (signature through the discovery key set, issuer,
//! audience = client id, `azp`, times, nonce) and applies the role like a JWT login.
//!
//! Pending logins are kept in memory for ten minutes, each usable once, as in Vault. The
//! `direct` and `device` callback modes and the implicit (`id_token`) flow are not
//! implemented.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use arca_auth_common::cidr::remote_allowed;
use arca_logical::{LogicalError, LogicalResult, Request, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::claims::validate_bound_claims;
use crate::config::{self, JwtConfig};
use crate::login::{build_auth, create_identity, resolve_role};
use crate::validate::{self, Expected, audiences};
use crate::{JwtBackend, fetch};

/// How long a started login stays valid.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Bound on logins in progress: `auth_url` is unauthenticated, so memory must not grow
/// without limit.
const MAX_PENDING: usize = 10_000;

const LOGIN_FAILED: &str = "Login failed.";

/// One login in progress. The PKCE verifier is a secret until the code is exchanged.
struct Pending {
    role: String,
    redirect_uri: String,
    nonce: String,
    verifier: Zeroizing<String>,
    client_nonce: String,
    expires: SystemTime,
}

/// Logins in progress, by `state`.
#[derive(Default)]
pub(crate) struct PendingLogins {
    inner: Mutex<HashMap<String, Pending>>,
}

impl PendingLogins {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Pending>) -> T) -> T {
        match self.inner.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    fn insert(&self, state: String, p: Pending, now: SystemTime) -> bool {
        self.with(|m| {
            m.retain(|_, v| v.expires > now);
            if m.len() >= MAX_PENDING {
                return false;
            }
            m.insert(state, p);
            true
        })
    }

    fn take(&self, state: &str, now: SystemTime) -> Option<Pending> {
        self.with(|m| m.remove(state)).filter(|p| p.expires > now)
    }

    /// Forgets every login in progress (the configuration changed).
    pub(crate) fn clear(&self) {
        self.with(HashMap::clear);
    }
}

/// Vault's redirect check: exact match, except that for loopback hosts the port is
/// ignored (native clients listen on a random port).
fn valid_redirect(uri: &str, allowed: &[String]) -> bool {
    let Ok(mut input) = reqwest::Url::parse(uri) else {
        return false;
    };
    let loopback = matches!(
        input.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if !loopback {
        return allowed.iter().any(|a| a == uri);
    }
    if input.set_port(None).is_err() {
        return false;
    }
    allowed.iter().any(|a| match reqwest::Url::parse(a) {
        Ok(mut a) => a.set_port(None).is_ok() && a == input,
        Err(_) => false,
    })
}

fn random(len: usize) -> LogicalResult<String> {
    arca_crypto::random_base62(len).map_err(|_| {
        tracing::error!("random generator failed");
        LogicalError::internal()
    })
}

fn auth_url_response(url: &str) -> Option<Response> {
    let mut data = Map::new();
    data.insert("auth_url".into(), json!(url));
    Some(Response::with_data(data))
}

pub(crate) async fn auth_url(b: &JwtBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let Some(cfg) = config::load(b).await? else {
        return Err(LogicalError::invalid("could not load configuration"));
    };
    if !cfg.is_oidc_flow() {
        return Err(LogicalError::invalid(
            "OIDC login is not configured for this mount",
        ));
    }
    let (role_name, role) = resolve_role(b, &cfg, f.string("role")?).await?;
    if role.callback_mode == "direct" || role.callback_mode == "device" {
        return Err(LogicalError::invalid(
            "the device and direct OIDC callback modes are not supported",
        ));
    }
    let client_nonce = f.string("client_nonce")?.unwrap_or_default();
    let redirect_uri = f.string("redirect_uri")?.unwrap_or_default();
    if redirect_uri.is_empty() {
        return Err(LogicalError::invalid("missing redirect_uri"));
    }
    if !valid_redirect(&redirect_uri, &role.allowed_redirect_uris) {
        // Vault answers with an empty URL rather than saying why.
        tracing::warn!("unauthorized redirect_uri");
        return Ok(auth_url_response(""));
    }
    let discovery = match b.keys.discovery(&cfg).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "error getting provider for login operation");
            return Ok(auth_url_response(""));
        }
    };
    let Ok(mut url) = reqwest::Url::parse(&discovery.authorization_endpoint) else {
        tracing::warn!("provider has no usable authorization endpoint");
        return Ok(auth_url_response(""));
    };

    let state = random(32)?;
    let nonce = random(32)?;
    let verifier = Zeroizing::new(random(64)?);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(arca_crypto::sha256(verifier.as_bytes()));
    let mut scopes = vec!["openid".to_owned()];
    scopes.extend(role.oidc_scopes.iter().filter(|s| *s != "openid").cloned());
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &cfg.oidc_client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if role.max_age > 0 {
            q.append_pair("max_age", &role.max_age.to_string());
        }
    }
    let now = b.system.now();
    let pending = Pending {
        role: role_name,
        redirect_uri,
        nonce,
        verifier,
        client_nonce,
        expires: now + REQUEST_TIMEOUT,
    };
    if !b.pending.insert(state, pending, now) {
        return Err(LogicalError::invalid(
            "too many OIDC logins in progress; try again later",
        ));
    }
    Ok(auth_url_response(url.as_str()))
}

fn failed(msg: &str) -> LogicalError {
    LogicalError::invalid(format!("{LOGIN_FAILED} {msg}"))
}

pub(crate) async fn callback(b: &JwtBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let Some(cfg) = config::load(b).await? else {
        return Err(failed("Could not load configuration."));
    };
    let state = f.string("state")?.unwrap_or_default();
    let now = b.system.now();
    let Some(pending) = b.pending.take(&state, now) else {
        return Err(failed("Expired or missing OAuth state."));
    };
    let Some(role) = crate::role::load(b, &pending.role).await? else {
        return Err(failed("Role could not be found."));
    };

    let provider_error = f
        .string("error")?
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !provider_error.is_empty() {
        tracing::warn!("OIDC callback received an error from the provider");
        return Err(match provider_error.as_str() {
            e @ ("invalid_request"
            | "unauthorized_client"
            | "access_denied"
            | "unsupported_response_type"
            | "invalid_scope"
            | "server_error"
            | "temporarily_unavailable") => failed(e),
            _ => failed(
                "An unknown error occurred during OIDC authentication. Check server logs for details",
            ),
        });
    }
    let client_nonce = f.string("client_nonce")?.unwrap_or_default();
    if !pending.client_nonce.is_empty()
        && !arca_crypto::constant_time_eq(client_nonce.as_bytes(), pending.client_nonce.as_bytes())
    {
        return Err(LogicalError::invalid("invalid client_nonce"));
    }
    let remote = req.remote_addr.map(|a| a.ip());
    if !remote_allowed(&role.token.token_bound_cidrs, remote) {
        return Err(LogicalError::permission_denied());
    }
    let code = f.string("code")?.unwrap_or_default();
    if code.is_empty() {
        return Err(failed("No code or id_token received."));
    }
    f.mark_used(&["error_description", "error_uri", "id_token"]);

    let tokens = exchange(b, &cfg, &pending, &code).await?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("No id_token in the provider's token response."))?;
    let discovery = b
        .keys
        .discovery(&cfg)
        .await
        .map_err(|_| failed("Could not reach the provider."))?;
    let default_algs = ["RS256".to_owned()];
    let expected = Expected {
        issuer: &discovery.issuer,
        subject: "",
        audiences: std::slice::from_ref(&cfg.oidc_client_id),
        algs: if cfg.jwt_supported_algs.is_empty() {
            &default_algs
        } else {
            &cfg.jwt_supported_algs
        },
        expiration_leeway: role.expiration_leeway,
        not_before_leeway: role.not_before_leeway,
        clock_skew_leeway: role.clock_skew_leeway,
        now,
    };
    let mut claims = validate::validate(&b.keys, &cfg, id_token, &expected)
        .await
        .map_err(|e| LogicalError::invalid(format!("Token verification failed. {e}")))?;

    let aud = audiences(&claims).unwrap_or_default();
    if aud.len() > 1 {
        let azp = claims
            .get("azp")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if azp != cfg.oidc_client_id {
            return Err(LogicalError::invalid(
                "Token verification failed. invalid authorized party (azp) claim",
            ));
        }
    }
    if !role.bound_audiences.is_empty() && !role.bound_audiences.iter().any(|a| aud.contains(a)) {
        return Err(LogicalError::invalid(
            "Token verification failed. invalid audience (aud) claim: audience claim does not match any expected audience",
        ));
    }
    let nonce_ok = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| arca_crypto::constant_time_eq(n.as_bytes(), pending.nonce.as_bytes()));
    if !nonce_ok {
        return Err(failed("invalid ID token nonce."));
    }
    claims.remove("nonce");

    if !role.bound_subject.is_empty()
        && claims.get("sub").and_then(Value::as_str) != Some(role.bound_subject.as_str())
    {
        return Err(failed("sub claim does not match bound subject"));
    }
    let mut oauth2 = BTreeMap::new();
    for name in &role.oauth2_metadata {
        let key = match name.as_str() {
            "id_token" => "id_token",
            "access_token" => "access_token",
            "refresh_token" => "refresh_token",
            _ => continue,
        };
        let value = tokens
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        oauth2.insert(format!("oauth2_{key}"), value);
    }
    let (alias, groups) = create_identity(&claims, &pending.role, &role).map_err(|e| failed(&e))?;
    if let Some(bound) = &role.bound_claims {
        validate_bound_claims(bound, role.glob_claims(), &claims)
            .map_err(|e| failed(&format!("error validating claims: {e}")))?;
    }
    let auth = build_auth(&pending.role, &role, alias, groups, oauth2, remote)?;
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

/// The token request of RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636), the client
/// authenticating with HTTP Basic (`client_secret_basic`).
async fn exchange(
    b: &JwtBackend,
    cfg: &JwtConfig,
    pending: &Pending,
    code: &str,
) -> LogicalResult<Map<String, Value>> {
    let discovery = b
        .keys
        .discovery(cfg)
        .await
        .map_err(|_| failed("Could not reach the provider."))?;
    if discovery.token_endpoint.is_empty() {
        return Err(failed("The provider has no token endpoint."));
    }
    let client = fetch::client(&cfg.oidc_discovery_ca_pem)
        .map_err(|_| failed("Could not reach the provider."))?;
    let resp = fetch::post_form(
        &client,
        &discovery.token_endpoint,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &pending.redirect_uri),
            ("code_verifier", &pending.verifier),
            ("client_id", &cfg.oidc_client_id),
        ],
        Some((&cfg.oidc_client_id, cfg.oidc_client_secret.expose())),
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "oidc code exchange failed");
        failed(&format!("Error exchanging oidc code: {e}."))
    })?;
    match resp {
        Value::Object(m) => Ok(m),
        _ => Err(failed("Error exchanging oidc code: unexpected response.")),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_redirect;

    #[test]
    fn redirect_rules() {
        let allowed = vec![
            "http://localhost:8250/oidc/callback".to_owned(),
            "https://vault.example.com/ui/vault/auth/oidc/oidc/callback".to_owned(),
        ];
        assert!(valid_redirect(
            "http://localhost:8250/oidc/callback",
            &allowed
        ));
        // Loopback: any port.
        assert!(valid_redirect(
            "http://localhost:51234/oidc/callback",
            &allowed
        ));
        assert!(!valid_redirect("http://localhost:8250/other", &allowed));
        assert!(valid_redirect(
            "https://vault.example.com/ui/vault/auth/oidc/oidc/callback",
            &allowed
        ));
        // Non-loopback: exact, port included.
        assert!(!valid_redirect(
            "https://vault.example.com:8443/ui/vault/auth/oidc/oidc/callback",
            &allowed
        ));
        assert!(!valid_redirect("https://evil.example/cb", &allowed));
        assert!(!valid_redirect("not a url", &allowed));
    }
}
