//! A minimal HTTP/1.1 client: one persistent TCP connection, one request in flight at a time.
//! Deliberately no pool, so each simulated client is exactly one keep-alive connection.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::scenarios::{ROOT_TOKEN, Req};

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
            .method(req.verb.method())
            .uri(req.path)
            .header(header::HOST, self.host.clone());
        if req.token {
            builder = builder.header("x-vault-token", ROOT_TOKEN);
        }
        let body = match req.body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Bytes::from_static(b.as_bytes())
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
