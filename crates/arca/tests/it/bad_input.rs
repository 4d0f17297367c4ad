//! Bad input over a real socket: requests a well-behaved client library would never send
//! (it would normalise the path), written byte for byte.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::Server;

/// Sends raw request bytes and returns (status, body).
fn raw_request(addr: &str, request: &[u8]) -> (u16, String) {
    let host = addr.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn put(path: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

#[test]
fn hostile_paths_and_bodies_get_4xx_in_the_error_shape() {
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
        ],
        &[],
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dot-dot", put("/v1/sys/rotate/../seal", b"{}")),
        ("encoded dot-dot", put("/v1/sys/rotate/%2e%2e/seal", b"{}")),
        ("mixed-case encoded", put("/v1/sys/%2E%2e/sys/seal", b"{}")),
        ("double slash", put("/v1/sys//seal", b"{}")),
        ("NUL", put("/v1/sys/seal%00", b"{}")),
        ("invalid utf-8 path", put("/v1/sys/%ff%fe", b"{}")),
        ("malformed json", put("/v1/sys/rotate", b"{\"a\":")),
        (
            "duplicate keys",
            put("/v1/sys/rotate", b"{\"a\":1,\"a\":2}"),
        ),
        (
            "invalid utf-8 body",
            put("/v1/sys/rotate", b"{\"a\":\"\xff\"}"),
        ),
    ];
    for (name, req) in cases {
        let (status, body) = raw_request(&server.addr, &req);
        assert!((400..500).contains(&status), "{name}: {status} {body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{name}: body {body}"));
        assert!(v["errors"].is_array(), "{name}: {body}");
    }
    // Still unsealed: none of the traversal attempts reached sys/seal.
    let (status, body) = raw_request(
        &server.addr,
        b"GET /v1/sys/seal-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(body.contains("\"sealed\":false"), "{body}");
}

#[test]
fn oversized_body_is_413_without_reading_it_all() {
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
        ],
        &[],
    );
    let req = format!(
        "PUT /v1/sys/rotate HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        64 * 1024 * 1024
    );
    let (status, body) = raw_request(&server.addr, req.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("errors"));
}
