//! The HTTP client: request building (path cleaning and escaping, headers), the generic
//! logical calls with the Go client's 404 rules, and response parsing.

use std::fmt;
use std::path::Path;

use arca_types::envelope::ResponseEnvelope;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Certificate, Identity, Method};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::token::Token;
use crate::{ApiError, Error};

/// Characters Go's `url.URL.EscapedPath` leaves alone, besides alphanumerics.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// Characters Go's `url.QueryEscape` leaves alone, besides alphanumerics (space becomes `+`).
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body at all.
    Empty,
    /// A JSON document (`Value::Null` sends the literal `null`, as the Go client does for a
    /// write without data).
    Json(Value),
    /// A JSON merge patch (`Content-Type: application/merge-patch+json`).
    MergePatch(Value),
}

/// An HTTP answer, before any interpretation of its status.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Request method, upper case.
    pub method: String,
    /// Full request URL (with query).
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The `X-Vault-Namespace` response header, if any.
    pub namespace: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Result<Value, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `Err` with the server's error list unless the status is 2xx/3xx (and 429 for
    /// `sys/health`, which uses it for standbys), like the Go client.
    pub fn error_for_status(self) -> Result<RawResponse, Error> {
        let ok = (200..400).contains(&self.status)
            || (self.status == 429 && self.url_path().ends_with("/v1/sys/health"));
        if ok {
            Ok(self)
        } else {
            Err(Error::Api(Box::new(ApiError::from_response(&self, None))))
        }
    }

    fn url_path(&self) -> &str {
        let no_query = self.url.split('?').next().unwrap_or_default();
        no_query
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(no_query)
    }
}

/// An async client for one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    /// Path prefix of the address (usually empty).
    base_path: String,
    address: String,
    token: Option<Token>,
    namespace: Option<String>,
    wrap_ttl: Option<String>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client from `config` (the token is used as given; see
    /// [`Config::resolve_token`]).
    pub fn new(config: &Config) -> Result<Client, Error> {
        let url = reqwest::Url::parse(&config.address)
            .map_err(|_| Error::InvalidAddress(config.address.clone()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::InvalidAddress(config.address.clone()));
        }
        let origin = url.origin().ascii_serialization();
        let base_path = url.path().trim_end_matches('/').to_owned();

        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("arca-client/", env!("CARGO_PKG_VERSION")))
            .redirect(if config.disable_redirects {
                reqwest::redirect::Policy::none()
            } else {
                // The Go client follows a single redirect.
                reqwest::redirect::Policy::limited(1)
            });
        if config.tls_server_name.is_some() {
            return Err(Error::Unsupported("TLS server name override"));
        }
        let mut roots = Vec::new();
        if let Some(ca) = &config.ca_cert {
            roots.extend(read_pem_certs(ca)?);
        } else if let Some(dir) = &config.ca_path {
            let entries = std::fs::read_dir(dir).map_err(|e| Error::Tls(e.to_string()))?;
            let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files.iter().filter(|f| f.is_file()) {
                roots.extend(read_pem_certs(f)?);
            }
        }
        if !roots.is_empty() {
            // Like Vault: a configured CA replaces the system roots.
            builder = builder.tls_certs_only(roots);
        }
        match (&config.client_cert, &config.client_key) {
            (Some(cert), Some(key)) => {
                let mut pem = std::fs::read(cert).map_err(|e| Error::Tls(e.to_string()))?;
                pem.push(b'\n');
                pem.extend(std::fs::read(key).map_err(|e| Error::Tls(e.to_string()))?);
                let id = Identity::from_pem(&pem)
                    .map_err(|_| Error::Tls("invalid client certificate or key".into()))?;
                builder = builder.identity(id);
            }
            (None, None) => {}
            _ => {
                return Err(Error::Tls(
                    "client certificate and key must be given together".into(),
                ));
            }
        }
        if config.tls_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        for (k, _) in &config.headers {
            if k.to_ascii_lowercase().starts_with("x-vault-") {
                return Err(Error::ForbiddenHeader);
            }
        }
        let http = builder.build().map_err(|e| Error::Tls(error_chain(&e)))?;
        Ok(Client {
            http,
            origin,
            base_path,
            address: config.address.clone(),
            token: config.token.clone().filter(|t| !t.is_empty()),
            namespace: config.namespace.clone().filter(|n| !n.is_empty()),
            wrap_ttl: config.wrap_ttl.clone().filter(|w| !w.is_empty()),
            headers: config.headers.clone(),
        })
    }

    /// The configured server address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The token sent with requests, if any.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// Replaces the token (`None` sends no `X-Vault-Token`).
    pub fn set_token(&mut self, token: Option<Token>) {
        self.token = token.filter(|t| !t.is_empty());
    }

    /// The namespace sent as `X-Vault-Namespace`, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Replaces the namespace.
    pub fn set_namespace(&mut self, namespace: Option<String>) {
        self.namespace = namespace.filter(|n| !n.is_empty());
    }

    /// Replaces the response-wrapping TTL sent with every request.
    pub fn set_wrap_ttl(&mut self, wrap_ttl: Option<String>) {
        self.wrap_ttl = wrap_ttl.filter(|w| !w.is_empty());
    }

    /// The URL of `path` (relative to `/v1/`), cleaned like Go's `path.Join` (so `a//b/`
    /// becomes `a/b` and `..` is resolved) and escaped like Go's `url.URL`; `query` is
    /// sorted by key and form-encoded like Go's `url.Values.Encode`.
    pub fn url(&self, path: &str, query: &[(String, String)]) -> String {
        let joined = clean_path(&format!("{}/v1/{path}", self.base_path));
        let mut url = format!("{}{}", self.origin, utf8_percent_encode(&joined, PATH_KEEP));
        if !query.is_empty() {
            let mut pairs: Vec<&(String, String)> = query.iter().collect();
            // Stable: values of one key keep their order, as in url.Values.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let encoded: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
                .collect();
            url.push('?');
            url.push_str(&encoded.join("&"));
        }
        url
    }

    /// Sends one request and returns the answer whatever its status. Every request carries
    /// `X-Vault-Request: true`, and the token, namespace and wrap TTL when set.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Body,
    ) -> Result<RawResponse, Error> {
        let url = self.url(path, query);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header("X-Vault-Request", "true");
        if let Some(t) = &self.token {
            req = req.header("X-Vault-Token", t.expose());
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(w) = &self.wrap_ttl {
            req = req.header("X-Vault-Wrap-TTL", w);
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        req = match body {
            Body::Empty => req,
            Body::Json(v) => req
                .header("Content-Type", "application/json")
                .body(to_json_bytes(&v)?),
            Body::MergePatch(v) => req
                .header("Content-Type", "application/merge-patch+json")
                .body(to_json_bytes(&v)?),
        };
        let transport = |e: reqwest::Error| Error::Transport {
            method: go_method_name(method.as_str()),
            url: url.clone(),
            reason: error_chain(&e),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let namespace = resp
            .headers()
            .get("X-Vault-Namespace")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        Ok(RawResponse {
            method: method.as_str().to_owned(),
            url,
            status,
            namespace,
            body,
        })
    }

    /// `GET path?query`. `None` for an empty answer and for a 404 without data or warnings
    /// (a 404 with data, such as a deleted KV v2 version, is returned).
    pub async fn read(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<ResponseEnvelope>, Error> {
        let resp = self.send(Method::GET, path, query, Body::Empty).await?;
        read_semantics(resp)
    }

    /// `GET path?list=true` (the Go client's LIST), with the 404 rules of [`Client::read`].
    pub async fn list(&self, path: &str) -> Result<Option<ResponseEnvelope>, Error> {
        self.list_with(path, &[]).await
    }

    /// A list with extra query parameters (`after`, `limit`).
    pub async fn list_with(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<ResponseEnvelope>, Error> {
        let mut q = query.to_vec();
        q.push(("list".to_owned(), "true".to_owned()));
        let resp = self.send(Method::GET, path, &q, Body::Empty).await?;
        read_semantics(resp)
    }

    /// `PUT path` with `data` as the JSON body (`None` sends `null`). `None` for 204.
    pub async fn write(
        &self,
        path: &str,
        data: Option<&Value>,
    ) -> Result<Option<ResponseEnvelope>, Error> {
        let body = Body::Json(data.cloned().unwrap_or(Value::Null));
        let resp = self.send(Method::PUT, path, &[], body).await?;
        write_semantics(resp)
    }

    /// `PATCH path` with a JSON merge patch. `None` for 204.
    pub async fn patch(
        &self,
        path: &str,
        data: Option<&Value>,
    ) -> Result<Option<ResponseEnvelope>, Error> {
        let body = Body::MergePatch(data.cloned().unwrap_or(Value::Null));
        let resp = self.send(Method::PATCH, path, &[], body).await?;
        write_semantics(resp)
    }

    /// `DELETE path?query`. `None` for 204.
    pub async fn delete(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<ResponseEnvelope>, Error> {
        let resp = self.send(Method::DELETE, path, query, Body::Empty).await?;
        write_semantics(resp)
    }

    /// A call to a non-logical endpoint: `Err` for error statuses, otherwise the body as
    /// JSON (`Null` when empty).
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Body,
    ) -> Result<Value, Error> {
        self.send(method, path, query, body)
            .await?
            .error_for_status()?
            .json()
    }
}

/// The Go client's read rules (used by `read` and `list`).
fn read_semantics(resp: RawResponse) -> Result<Option<ResponseEnvelope>, Error> {
    if resp.status == 404 {
        return match parse_secret(&resp.body)? {
            Some(s) if has_data_or_warnings(&s) => Ok(Some(s)),
            _ => Ok(None),
        };
    }
    let resp = resp.error_for_status()?;
    parse_secret(&resp.body)
}

/// The Go client's write rules (used by `write`, `patch`, `delete`): a 404 is an error,
/// which carries the response when it had data or warnings.
fn write_semantics(resp: RawResponse) -> Result<Option<ResponseEnvelope>, Error> {
    if resp.status == 404 {
        let secret = parse_secret(&resp.body)?.filter(has_data_or_warnings);
        return Err(Error::Api(Box::new(ApiError::from_response(&resp, secret))));
    }
    let resp = resp.error_for_status()?;
    parse_secret(&resp.body)
}

fn has_data_or_warnings(s: &ResponseEnvelope) -> bool {
    let data = match &s.data {
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    data || s.warnings.as_ref().is_some_and(|w| !w.is_empty())
}

/// Parses a response body like the Go client's `ParseSecret`: `None` for an empty body; an
/// envelope when the body has any envelope field set; otherwise a body that is not an
/// envelope (such as `sys/seal-status`) becomes the `data` of an empty envelope, except
/// that a body holding only `errors` is `None`, and `errors` next to other keys is an error.
pub fn parse_secret(body: &[u8]) -> Result<Option<ResponseEnvelope>, Error> {
    if body.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(Error::Decode("response is not a JSON object".into()));
    };
    let env = envelope_from_object(&obj)?;
    if !is_zero(&env) {
        return Ok(Some(env));
    }
    if let Some(errors) = obj.get("errors") {
        if obj.len() == 1 {
            return Ok(None);
        }
        let list: Vec<String> = match errors {
            Value::Array(a) => a
                .iter()
                .map(|e| e.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Decode("errors is not a list of strings".into()))?,
            Value::Null => Vec::new(),
            _ => return Err(Error::Decode("errors is not a list of strings".into())),
        };
        return Err(Error::Message(list.join(" ")));
    }
    let mut env = env;
    if !obj.is_empty() {
        env.data = Some(Value::Object(obj));
    }
    Ok(Some(env))
}

fn is_zero(e: &ResponseEnvelope) -> bool {
    e.request_id.is_empty()
        && e.lease_id.is_empty()
        && e.lease_duration == 0
        && !e.renewable
        && e.data.is_none()
        && e.warnings.is_none()
        && e.auth.is_none()
        && e.wrap_info.is_none()
}

/// Decodes the envelope fields leniently (missing means zero), failing only on wrong types,
/// as Go's decoder does.
fn envelope_from_object(obj: &Map<String, Value>) -> Result<ResponseEnvelope, Error> {
    fn bad(field: &str) -> Error {
        Error::Decode(format!("field {field} has the wrong type"))
    }
    let string = |k: &str| -> Result<String, Error> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(bad(k)),
        }
    };
    let lease_duration = match obj.get("lease_duration") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad("lease_duration"))?,
        Some(_) => return Err(bad("lease_duration")),
    };
    let renewable = match obj.get("renewable") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("renewable")),
    };
    let data = match obj.get("data") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(bad("data")),
    };
    let warnings = match obj.get("warnings") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|w| w.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("warnings"))?,
        ),
        Some(_) => return Err(bad("warnings")),
    };
    let object_or_null = |k: &str| -> Result<Option<Value>, Error> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(bad(k)),
        }
    };
    Ok(ResponseEnvelope {
        request_id: string("request_id")?,
        lease_id: string("lease_id")?,
        renewable,
        lease_duration,
        data,
        wrap_info: object_or_null("wrap_info")?,
        warnings,
        auth: object_or_null("auth")?,
    })
}

fn to_json_bytes(v: &Value) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(v).map_err(|e| Error::Decode(e.to_string()))
}

fn read_pem_certs(path: &Path) -> Result<Vec<Certificate>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::Tls(e.to_string()))?;
    Certificate::from_pem_bundle(&pem).map_err(|_| Error::Tls("invalid CA certificate".into()))
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    utf8_percent_encode(s, QUERY_KEEP)
        .to_string()
        .replace("%20", "+")
}

/// Go prints the method of a failed request as `Get`, `Put`, ...
fn go_method_name(m: &str) -> String {
    let mut out = String::with_capacity(m.len());
    for (i, c) in m.chars().enumerate() {
        out.push(if i == 0 {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
    }
    out
}

/// The innermost cause of a transport error, which is the informative part
/// ("Connection refused (os error 111)", "invalid peer certificate: ...").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Go's `path.Clean` for an absolute path.
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn client(addr: &str) -> Client {
        Client::new(&Config {
            address: addr.to_owned(),
            ..Config::default()
        })
        .unwrap()
    }

    #[test]
    fn urls_are_cleaned_and_escaped_like_go() {
        let c = client("http://127.0.0.1:8200");
        assert_eq!(
            c.url("sys/mounts/kvx/", &[]),
            "http://127.0.0.1:8200/v1/sys/mounts/kvx"
        );
        assert_eq!(
            c.url("sys/mounts//auth/up//tune", &[]),
            "http://127.0.0.1:8200/v1/sys/mounts/auth/up/tune"
        );
        assert_eq!(
            c.url("secret/a b?c#d%e!", &[]),
            "http://127.0.0.1:8200/v1/secret/a%20b%3Fc%23d%25e%21"
        );
        assert_eq!(
            c.url(
                "secret",
                &[
                    ("list".into(), "true".into()),
                    ("b".into(), "x y&z".into()),
                    ("a".into(), "1".into())
                ]
            ),
            "http://127.0.0.1:8200/v1/secret?a=1&b=x+y%26z&list=true"
        );
        let c = client("https://vault.example:8200/prefix/");
        assert_eq!(
            c.url("sys/health", &[]),
            "https://vault.example:8200/prefix/v1/sys/health"
        );
    }

    #[test]
    fn bad_addresses_are_rejected() {
        for a in ["", "127.0.0.1:8200", "ftp://x", "http://"] {
            let e = Client::new(&Config {
                address: a.to_owned(),
                ..Config::default()
            })
            .unwrap_err();
            assert!(matches!(e, Error::InvalidAddress(_)), "{a}: {e:?}");
        }
    }

    #[test]
    fn forbidden_headers() {
        let e = Client::new(&Config {
            address: "http://x:1".into(),
            headers: vec![("X-Vault-Token".into(), "t".into())],
            ..Config::default()
        })
        .unwrap_err();
        assert!(matches!(e, Error::ForbiddenHeader));
    }

    #[test]
    fn client_debug_redacts_token() {
        let c = Client::new(&Config {
            address: "http://x:1".into(),
            token: Some(Token::new("s.sekrit")),
            ..Config::default()
        })
        .unwrap();
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn parse_secret_follows_go() {
        assert!(parse_secret(b"").unwrap().is_none());
        let s = parse_secret(br#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"a":1},"wrap_info":null,"warnings":null,"auth":null}"#)
            .unwrap()
            .unwrap();
        assert_eq!(s.request_id, "r");
        assert_eq!(s.data, Some(json!({"a": 1})));
        // A bare object becomes data.
        let s = parse_secret(br#"{"sealed":false,"t":1}"#).unwrap().unwrap();
        assert_eq!(s.data, Some(json!({"sealed": false, "t": 1})));
        assert_eq!(s.request_id, "");
        // Only errors: nothing.
        assert!(parse_secret(br#"{"errors":[]}"#).unwrap().is_none());
        // Errors next to data: an error.
        let e = parse_secret(br#"{"errors":["a","b"],"x":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "a b");
        // Wrong types fail.
        assert!(parse_secret(br#"{"lease_duration":"x"}"#).is_err());
        assert!(parse_secret(b"[1]").is_err());
        // An empty object is an empty envelope.
        let s = parse_secret(b"{}").unwrap().unwrap();
        assert_eq!(s, ResponseEnvelope::default());
    }

    fn resp(status: u16, body: &str) -> RawResponse {
        RawResponse {
            method: "GET".into(),
            url: "http://h:1/v1/secret/x".into(),
            status,
            namespace: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn read_404_rules() {
        assert!(read_semantics(resp(404, "")).unwrap().is_none());
        assert!(
            read_semantics(resp(404, r#"{"errors":[]}"#))
                .unwrap()
                .is_none()
        );
        let deleted = r#"{"request_id":"r","data":{"data":null,"metadata":{"version":2}}}"#;
        assert!(read_semantics(resp(404, deleted)).unwrap().is_some());
        let warned = r#"{"request_id":"r","data":null,"warnings":["w"]}"#;
        assert!(read_semantics(resp(404, warned)).unwrap().is_some());
        let e = read_semantics(resp(403, r#"{"errors":["permission denied"]}"#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error making API request.\n\nURL: GET http://h:1/v1/secret/x\nCode: 403. Errors:\n\n* permission denied"
        );
        assert!(read_semantics(resp(204, "")).unwrap().is_none());
    }

    #[test]
    fn write_404_is_an_error_carrying_data() {
        let e = write_semantics(resp(404, "")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error making API request.\n\nURL: GET http://h:1/v1/secret/x\nCode: 404. Raw Message:\n\n"
        );
        let warned = r#"{"request_id":"r","data":null,"warnings":["w"]}"#;
        match write_semantics(resp(404, warned)).unwrap_err() {
            Error::Api(a) => {
                assert_eq!(a.status, 404);
                assert!(a.secret.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(write_semantics(resp(204, "")).unwrap().is_none());
    }

    #[test]
    fn health_429_is_not_an_error() {
        let mut r = resp(429, "{}");
        r.url = "http://h:1/v1/sys/health?standbycode=429".into();
        assert!(r.error_for_status().is_ok());
        assert!(resp(429, "{}").error_for_status().is_err());
    }

    #[test]
    fn path_clean() {
        assert_eq!(clean_path("/v1/a/../b/./c//"), "/v1/b/c");
        assert_eq!(clean_path("/v1/../../x"), "/x");
        assert_eq!(clean_path("/v1/"), "/v1");
    }
}
