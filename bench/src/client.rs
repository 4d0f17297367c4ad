//! A minimal HTTP/1.1 client: one persistent TCP connection, one request in flight at a time.
//! Deliberately no pool, so each simulated client is exactly one keep-alive connection.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// One request, built once and sent many times (cloning is cheap: the body is shared `Bytes`).
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// Path and query, e.g. `/v1/secret/data/k`. `{c}` is replaced by the client's index in
    /// [`Req::for_client`], so each client can work on its own key.
    pub path: String,
    pub body: Option<Bytes>,
    /// Sent as `X-Vault-Token`.
    pub token: Option<HeaderValue>,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            body: None,
            token: None,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Req::new(Method::GET, path)
    }

    /// A JSON body.
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(Bytes::from(body.to_string()));
        self
    }

    /// Sends `token` as `X-Vault-Token`. A token that is not a valid header value is dropped (the
    /// request then fails with 403, which the report shows as errors).
    pub fn token(mut self, token: &str) -> Self {
        self.token = HeaderValue::from_str(token).ok();
        self
    }

    /// This request as client `c` sends it.
    pub fn for_client(&self, c: usize) -> Req {
        if !self.path.contains("{c}") {
            return self.clone();
        }
        Req {
            path: self.path.replace("{c}", &c.to_string()),
            ..self.clone()
        }
    }
}

pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    host: HeaderValue,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr).await.context("connect")?;
        // Small request/response pairs: without this Nagle adds tens of milliseconds.
        stream.set_nodelay(true).context("set TCP_NODELAY")?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        let driver = tokio::spawn(async move {
            // The connection's own error surfaces again through `send_request`.
            let _ = conn.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).context("host header")?;
        Ok(Conn {
            sender,
            driver,
            host,
        })
    }

    /// Sends `req`, reads the whole response body, and returns status and body.
    pub async fn send(&mut self, req: &Req) -> Result<(StatusCode, Bytes)> {
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(req.path.as_str())
            .header(header::HOST, self.host.clone());
        if let Some(t) = &req.token {
            builder = builder.header("x-vault-token", t.clone());
        }
        let body = match &req.body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                b.clone()
            }
            None => Bytes::new(),
        };
        let request = builder.body(Full::new(body)).context("build request")?;
        self.sender.ready().await.context("connection closed")?;
        let response = self
            .sender
            .send_request(request)
            .await
            .context("send request")?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .context("read body")?
            .to_bytes();
        Ok((status, body))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// One request on a fresh connection (readiness probes, setup steps).
pub async fn one_shot(addr: SocketAddr, req: &Req) -> Result<(StatusCode, Bytes)> {
    Conn::connect(addr).await?.send(req).await
}

/// A setup call: sends `req` (with a generous timeout: setup may revoke thousands of leases) and
/// returns the JSON body (`Null` for an empty one). A non-2xx answer is an error naming the call and
/// the server's `errors`.
pub async fn call(addr: SocketAddr, req: &Req) -> Result<Value> {
    let (status, body) = tokio::time::timeout(Duration::from_secs(300), one_shot(addr, req))
        .await
        .map_err(|_| anyhow!("{} {} timed out", req.method, req.path))??;
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    if !status.is_success() {
        bail!(
            "{} {} answered {status}: {}",
            req.method,
            req.path,
            errors_of(&value, &body)
        );
    }
    Ok(value)
}

/// The `errors` of a Vault error body, or the start of the raw body.
fn errors_of(value: &Value, raw: &[u8]) -> String {
    match value.get("errors") {
        Some(e) => e.to_string(),
        None => String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_index_substitutes_into_the_path_only() {
        let r = Req::new(Method::PUT, "/v1/secret/data/bench-{c}")
            .json(&serde_json::json!({"data": {"v": "{c}"}}));
        let r7 = r.for_client(7);
        assert_eq!(r7.path, "/v1/secret/data/bench-7");
        assert_eq!(r7.body, r.body);
        assert_eq!(Req::get("/v1/x").for_client(3).path, "/v1/x");
    }
}
