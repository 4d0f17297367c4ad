//! An async client for Arca and other Vault/OpenBao-compatible servers, shared by the
//! `arca` CLI: configuration from `ARCA_*`/`VAULT_*`/`BAO_*` variables and the token
//! helper file ([`config`], [`token`]), generic logical calls that follow the Go client's
//! rules ([`Client::read`], [`Client::write`], [`Client::list`], [`Client::delete`],
//! [`Client::patch`]), and typed `sys/` calls ([`sys`]) over the shared wire types of
//! `arca-types`.
//!
//! Architecture invariant: this crate depends on `arca-types` and HTTP/TLS client crates
//! only; it knows nothing of the server, storage or crypto crates. Tokens live in
//! [`token::Token`], which never appears in `Debug` output or error messages.

pub mod client;
pub mod config;
pub mod sys;
pub mod token;

use std::fmt;

use arca_types::envelope::ResponseEnvelope;

pub use client::{Body, Client, RawResponse, parse_secret};
pub use config::Config;
pub use reqwest::Method;
pub use token::{Token, TokenHelper};

/// Errors from the client. `Display` of [`Error::Api`] is the Go client's text
/// (`Error making API request. ... Code: 403. Errors: ...`), which scripts and users know.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request did not complete (connection refused, TLS failure, timeout).
    #[error("{method} \"{url}\": {reason}")]
    Transport {
        /// Method as Go prints it (`Get`, `Put`).
        method: String,
        /// Request URL.
        url: String,
        /// Innermost cause.
        reason: String,
    },
    /// The address is not an `http(s)://host[:port]` URL.
    #[error("invalid server address {0:?}")]
    InvalidAddress(String),
    /// An environment variable could not be parsed (the value is not shown).
    #[error("could not parse the {0} environment variable")]
    Env(&'static str),
    /// TLS configuration (CA file, client certificate) could not be loaded.
    #[error("failed to set up TLS: {0}")]
    Tls(String),
    /// A custom header in the reserved `X-Vault-` namespace.
    #[error("headers starting with 'X-Vault-' are for internal use only")]
    ForbiddenHeader,
    /// A setting this client does not implement.
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    /// A response that is not the expected JSON.
    #[error("failed to decode the response: {0}")]
    Decode(String),
    /// Errors reported next to data in a success response (the Go client's `ParseSecret`).
    #[error("{0}")]
    Message(String),
    /// The token helper file could not be read or written.
    #[error("token helper: {0}")]
    TokenHelper(std::io::Error),
}

impl Error {
    /// The HTTP status for [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(a) => Some(a.status),
            _ => None,
        }
    }

    /// The server's error messages for [`Error::Api`].
    pub fn api_errors(&self) -> &[String] {
        match self {
            Error::Api(a) => &a.errors,
            _ => &[],
        }
    }
}

/// An error status from the server.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Request method, upper case.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The `errors` list, or the raw body when it was not an error document.
    pub errors: Vec<String>,
    /// Whether `errors` holds the raw body.
    pub raw: bool,
    /// The namespace the server reported, if not root.
    pub namespace: Option<String>,
    /// For a 404 on a write that still carried data or warnings, the response.
    pub secret: Option<ResponseEnvelope>,
}

impl ApiError {
    /// Builds the error from a response with an error status.
    pub fn from_response(resp: &RawResponse, secret: Option<ResponseEnvelope>) -> ApiError {
        #[derive(serde::Deserialize)]
        struct Errors {
            #[serde(default)]
            errors: Option<Vec<String>>,
        }
        let (errors, raw) = match serde_json::from_slice::<Errors>(&resp.body) {
            Ok(e) => (e.errors.unwrap_or_default(), false),
            Err(_) => (vec![String::from_utf8_lossy(&resp.body).into_owned()], true),
        };
        ApiError {
            method: resp.method.clone(),
            url: resp.url.clone(),
            status: resp.status,
            errors,
            raw,
            namespace: resp.namespace.clone().filter(|n| n != "root/"),
            secret,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.raw { "Raw Message" } else { "Errors" };
        f.write_str("Error making API request.\n\n")?;
        if let Some(ns) = &self.namespace {
            writeln!(f, "Namespace: {ns}")?;
        }
        write!(
            f,
            "URL: {} {}\nCode: {}. {kind}:\n\n",
            self.method, self.url, self.status
        )?;
        if self.raw && self.errors.len() == 1 {
            f.write_str(&self.errors[0])?;
        } else {
            // Go writes the items back to back, without separators.
            for e in &self.errors {
                write!(f, "* {e}")?;
            }
        }
        Ok(())
    }
}
