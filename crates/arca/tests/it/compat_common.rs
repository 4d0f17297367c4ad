//! Shared plumbing of the compat_* modules: they drive Arca with the real `bao` CLI and hvac
//! (from the pinned venv of `arca-test-support`) and compare it with a real OpenBao server.
//! Every compat test skips (prints `SKIP:`) when the venv cannot be built, and fails instead
//! under `ARCA_TEST_REQUIRE_SERVICES=1`.

use std::time::Duration;

use arca_test_support::{BaoServer, CmdOutput, JsonDiff, PyEnv, ok_or_skip, python_env};
use serde_json::Value;

use crate::support::Server;

/// The venv, or `None` after printing why the calling test skips.
pub fn py() -> Option<PyEnv> {
    ok_or_skip(python_env())
}

/// `arca server -dev` with the given root token.
pub fn arca_dev(token: &str) -> Server {
    Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-root-token-id={token}"),
        ],
        &[],
    )
}

/// `bao server -dev` with the given root token.
pub fn bao_dev(py: &PyEnv, token: &str) -> BaoServer {
    BaoServer::dev(py, token).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the bao CLI; panics only if it could not run at all.
pub fn bao(py: &PyEnv, addr: &str, token: Option<&str>, args: &[&str]) -> CmdOutput {
    py.bao(addr, token, args)
        .unwrap_or_else(|e| panic!("bao {}: {e}", args[0]))
}

/// Runs the bao CLI, asserts its exit code and parses its JSON output.
#[track_caller]
pub fn bao_json(py: &PyEnv, addr: &str, token: Option<&str>, args: &[&str], code: i32) -> Value {
    let out = bao(py, addr, token, args);
    assert_eq!(
        out.code,
        code,
        "bao {} {} against {addr}: exit {} (want {code})\nstdout: {}\nstderr: {}",
        args[0],
        args.get(1).copied().unwrap_or(""),
        out.code,
        out.stdout,
        out.stderr
    );
    out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// Output with the server address replaced by `<addr>`, to compare two servers' messages.
pub fn norm(text: &str, addr: &str) -> String {
    text.replace(addr, "<addr>")
}

/// Fields that differ between any two servers by nature: ids, times, versions, names.
pub const STATUS_MASK: &[&str] = &[
    "version",
    "cluster_name",
    "cluster_id",
    "storage_type",
    "build_date",
    "commit_date",
    "server_time_utc",
    "request_id",
    "install_time",
    // Arca over-counts after a restart by design (docs/compatibility.md, sys/key-status), and
    // the two servers encrypt different numbers of internal records anyway.
    "encryptions",
];

/// [`STATUS_MASK`] plus per-attempt nonces and every key or token value.
pub fn secret_mask() -> JsonDiff {
    JsonDiff::new().mask(STATUS_MASK).mask(&[
        "nonce",
        "otp",
        "encoded_token",
        "encoded_root_token",
        "root_token",
        "token",
        "/unseal_keys_b64/*",
        "/unseal_keys_hex/*",
        "/keys/*",
        "/keys_base64/*",
    ])
}

/// One HTTP exchange: (status, JSON body or `Null`, raw body).
pub async fn http(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value, String) {
    let mut req = client
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .timeout(Duration::from_secs(30));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, text)
}
