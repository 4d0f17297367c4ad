//! Outbound HTTP: JWKS documents, OIDC discovery and the token endpoint. Bounded in time
//! and size; errors never carry URLs, bodies or secrets.

use std::time::Duration;

use serde_json::Value;

/// Whole-request limit for every outbound call.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read (a JWKS or discovery document is a few KiB).
const MAX_BODY: usize = 1 << 20;

/// Why an outbound call failed. Safe to show to an operator and to the client that
/// configured the URL: no URL, body or secret is included.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// The CA bundle is not valid PEM.
    #[error("could not parse CA PEM value successfully")]
    BadCa,
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Client,
    /// Connection, TLS or protocol failure.
    #[error("request failed: {0}")]
    Request(String),
    /// A non-2xx status.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// More than [`MAX_BODY`] bytes.
    #[error("response body too large")]
    TooLarge,
    /// The body is not JSON.
    #[error("response is not valid JSON")]
    Json,
    /// The document has no usable key set.
    #[error("response is not a JSON Web Key Set")]
    NotJwks,
    /// The discovery document lacks a required field or names another issuer.
    #[error("invalid discovery document: {0}")]
    Discovery(&'static str),
}

/// A client trusting only `ca_pem` when it is set (as Vault replaces the root pool), else
/// the platform's roots.
pub(crate) fn client(ca_pem: &str) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::limited(5));
    if !ca_pem.trim().is_empty() {
        let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())
            .map_err(|_| FetchError::BadCa)?;
        if certs.is_empty() {
            return Err(FetchError::BadCa);
        }
        builder = builder.tls_certs_only(certs);
    }
    builder.build().map_err(|_| FetchError::Client)
}

fn request_error(e: reqwest::Error) -> FetchError {
    FetchError::Request(e.without_url().to_string())
}

async fn json_body(mut resp: reqwest::Response) -> Result<Value, FetchError> {
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|_| FetchError::Json)
}

/// `GET url` and parse the JSON body.
pub(crate) async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, FetchError> {
    let resp = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(request_error)?;
    json_body(resp).await
}

/// `POST url` with a form body, optionally with HTTP Basic client authentication.
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<Value, FetchError> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut rb = client
        .post(url)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((user, pass)) = basic {
        // RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic.
        rb = rb.basic_auth(form_encode(user), Some(form_encode(pass)));
    }
    json_body(rb.send().await.map_err(request_error)?).await
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The parts of an OIDC discovery document we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}

/// Fetches `<issuer>/.well-known/openid-configuration` and checks that it names the same
/// issuer (as go-oidc does, so a document cannot redirect trust elsewhere).
pub(crate) async fn discover(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<Discovery, FetchError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = get_json(client, &url).await?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let d = Discovery {
        issuer: field("issuer"),
        jwks_uri: field("jwks_uri"),
        authorization_endpoint: field("authorization_endpoint"),
        token_endpoint: field("token_endpoint"),
    };
    if d.issuer != issuer {
        return Err(FetchError::Discovery(
            "issuer did not match the issuer returned by provider",
        ));
    }
    if d.jwks_uri.is_empty() {
        return Err(FetchError::Discovery("missing jwks_uri"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::form_encode;

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b+c/=&é"), "a+b%2Bc%2F%3D%26%C3%A9");
        assert_eq!(form_encode("AZaz09-._~"), "AZaz09-._~");
    }
}
