//! Client configuration from the environment, as the Vault/OpenBao CLIs read it.
//!
//! Every setting `X` is read from `ARCA_X`, then `VAULT_X`, then `BAO_X` (the first one
//! set and non-empty wins): `ADDR` (default `https://127.0.0.1:8200`, like Vault),
//! `AGENT_ADDR` (overrides `ADDR`), `TOKEN`, `NAMESPACE`, `CACERT`, `CAPATH`,
//! `CLIENT_CERT`, `CLIENT_KEY`, `SKIP_VERIFY`, `TLS_SERVER_NAME`, `CLIENT_TIMEOUT`,
//! `WRAP_TTL`, `DISABLE_REDIRECTS`. Without a token in the environment,
//! [`Config::resolve_token`] falls back to the token helper file `~/.arca-token`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::token::{Token, TokenHelper};

/// The address used when none is configured (Vault's default).
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// Request timeout when `CLIENT_TIMEOUT` is unset (the Go client's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variable prefixes, in order of precedence.
pub const ENV_PREFIXES: [&str; 3] = ["ARCA_", "VAULT_", "BAO_"];

/// Everything needed to build a [`crate::Client`]. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server address, e.g. `http://127.0.0.1:8200`.
    pub address: String,
    /// The client token, if any.
    pub token: Option<Token>,
    /// Namespace sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// PEM file with the CA certificate(s) to trust instead of the system roots.
    pub ca_cert: Option<PathBuf>,
    /// Directory of PEM CA certificates to trust instead of the system roots.
    pub ca_path: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (needs `client_key`).
    pub client_cert: Option<PathBuf>,
    /// PEM private key for `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Disables server certificate verification (discouraged, as in Vault).
    pub tls_skip_verify: bool,
    /// SNI/verification name override (not supported yet: setting it is an error).
    pub tls_server_name: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Response-wrapping TTL sent as `X-Vault-Wrap-TTL` on every request.
    pub wrap_ttl: Option<String>,
    /// Do not follow redirects (Vault follows one).
    pub disable_redirects: bool,
    /// Extra request headers (never `X-Vault-*`).
    pub headers: Vec<(String, String)>,
    /// Where the CLI keeps its token; `None` without a home directory.
    pub token_helper: Option<TokenHelper>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            address: DEFAULT_ADDRESS.to_owned(),
            token: None,
            namespace: None,
            ca_cert: None,
            ca_path: None,
            client_cert: None,
            client_key: None,
            tls_skip_verify: false,
            tls_server_name: None,
            timeout: DEFAULT_TIMEOUT,
            wrap_ttl: None,
            disable_redirects: false,
            headers: Vec::new(),
            token_helper: None,
        }
    }
}

/// Reads `ARCA_<suffix>`, then `VAULT_<suffix>`, then `BAO_<suffix>` through `lookup`,
/// ignoring empty values.
pub fn read_var(lookup: &dyn Fn(&str) -> Option<String>, suffix: &str) -> Option<String> {
    ENV_PREFIXES
        .iter()
        .find_map(|p| lookup(&format!("{p}{suffix}")).filter(|v| !v.is_empty()))
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Config {
    /// Configuration from the process environment and `$HOME`, with the token taken from
    /// the token helper file when the environment has none.
    pub fn from_env() -> Result<Config, Error> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut config = Config::from_lookup(&|k| std::env::var(k).ok(), home.as_deref())?;
        config.resolve_token()?;
        Ok(config)
    }

    /// Configuration from `lookup` (an environment) and a home directory, without reading
    /// the token helper file.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Config, Error> {
        let var = |s: &str| read_var(lookup, s);
        let mut c = Config::default();
        if let Some(a) = var("ADDR") {
            c.address = a;
        }
        if let Some(a) = var("AGENT_ADDR") {
            c.address = a;
        }
        c.token = var("TOKEN").map(Token::new).filter(|t| !t.is_empty());
        c.namespace = var("NAMESPACE");
        c.ca_cert = var("CACERT").map(PathBuf::from);
        c.ca_path = var("CAPATH").map(PathBuf::from);
        c.client_cert = var("CLIENT_CERT").map(PathBuf::from);
        c.client_key = var("CLIENT_KEY").map(PathBuf::from);
        c.tls_server_name = var("TLS_SERVER_NAME");
        c.wrap_ttl = var("WRAP_TTL");
        if let Some(v) = var("SKIP_VERIFY") {
            c.tls_skip_verify = parse_go_bool(&v).ok_or(Error::Env("SKIP_VERIFY"))?;
        }
        if let Some(v) = var("DISABLE_REDIRECTS") {
            c.disable_redirects = parse_go_bool(&v).ok_or(Error::Env("DISABLE_REDIRECTS"))?;
        }
        if let Some(v) = var("CLIENT_TIMEOUT") {
            c.timeout = arca_types::duration::parse_duration(&v)
                .map_err(|_| Error::Env("CLIENT_TIMEOUT"))?;
        }
        c.token_helper = TokenHelper::default_for_home(home);
        Ok(c)
    }

    /// Fills `token` from the token helper file when it is not set.
    pub fn resolve_token(&mut self) -> Result<(), Error> {
        if self.token.is_none()
            && let Some(helper) = &self.token_helper
        {
            self.token = helper.get()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn defaults_like_vault() {
        let c = Config::from_lookup(&env(&[]), None).unwrap();
        assert_eq!(c.address, "https://127.0.0.1:8200");
        assert!(c.token.is_none());
        assert!(c.token_helper.is_none());
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert!(!c.tls_skip_verify);
    }

    #[test]
    fn arca_then_vault_then_bao() {
        let c = Config::from_lookup(
            &env(&[
                ("VAULT_ADDR", "http://vault:1"),
                ("BAO_ADDR", "http://bao:1"),
                ("BAO_TOKEN", "s.bao"),
                ("VAULT_NAMESPACE", "team"),
                ("BAO_NAMESPACE", "other"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.address, "http://vault:1");
        assert_eq!(c.token.unwrap().expose(), "s.bao");
        assert_eq!(c.namespace.as_deref(), Some("team"));

        let c = Config::from_lookup(
            &env(&[
                ("ARCA_ADDR", "http://arca:1"),
                ("VAULT_ADDR", "http://vault:1"),
                ("ARCA_TOKEN", "s.arca"),
                ("VAULT_TOKEN", "s.vault"),
                ("ARCA_CACERT", "/ca.pem"),
                ("VAULT_SKIP_VERIFY", "true"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.address, "http://arca:1");
        assert_eq!(c.token.unwrap().expose(), "s.arca");
        assert_eq!(c.ca_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert!(c.tls_skip_verify);
    }

    #[test]
    fn empty_values_fall_through() {
        let c = Config::from_lookup(
            &env(&[
                ("ARCA_ADDR", ""),
                ("VAULT_ADDR", "http://v:1"),
                ("ARCA_TOKEN", ""),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.address, "http://v:1");
        assert!(c.token.is_none());
    }

    #[test]
    fn agent_addr_overrides_addr() {
        let c = Config::from_lookup(
            &env(&[
                ("VAULT_ADDR", "http://v:1"),
                ("BAO_AGENT_ADDR", "http://agent:1"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.address, "http://agent:1");
    }

    #[test]
    fn bad_booleans_and_timeouts_name_the_variable_not_the_value() {
        let e = Config::from_lookup(&env(&[("VAULT_SKIP_VERIFY", "sure")]), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse the SKIP_VERIFY environment variable"
        );
        let e = Config::from_lookup(&env(&[("ARCA_CLIENT_TIMEOUT", "soon")]), None).unwrap_err();
        assert!(!e.to_string().contains("soon"));
        let c = Config::from_lookup(&env(&[("ARCA_CLIENT_TIMEOUT", "5")]), None).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(5));
    }

    #[test]
    fn token_helper_used_only_without_env_token() {
        let home = tempfile::tempdir().unwrap();
        let helper = TokenHelper::default_for_home(Some(home.path())).unwrap();
        helper.store(&Token::new("s.fromfile")).unwrap();

        let mut c = Config::from_lookup(&env(&[]), Some(home.path())).unwrap();
        assert!(c.token.is_none(), "from_lookup must not read the file");
        c.resolve_token().unwrap();
        assert_eq!(c.token.as_ref().unwrap().expose(), "s.fromfile");

        let mut c =
            Config::from_lookup(&env(&[("VAULT_TOKEN", "s.env")]), Some(home.path())).unwrap();
        c.resolve_token().unwrap();
        assert_eq!(c.token.as_ref().unwrap().expose(), "s.env");
    }

    #[test]
    fn debug_redacts_the_token() {
        let c = Config::from_lookup(&env(&[("ARCA_TOKEN", "s.topsecret")]), None).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
    }
}
