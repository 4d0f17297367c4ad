//! A running `arca` process, started from the test binary's build of the real binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ARCA: &str = env!("CARGO_BIN_EXE_arca");

/// A server process; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stdout_lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `arca server <args>` and waits for its "server started" line.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(ARCA);
        cmd.arg("server")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn arca");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            // Drain stderr so the server never blocks on a full pipe.
            for _ in BufReader::new(stderr).lines() {}
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut lines = Vec::new();
        let mut addr = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => panic!("server did not start; output so far: {lines:#?}"),
            };
            if let Some(a) = line.trim().strip_prefix("Api Address: ") {
                addr = Some(a.to_owned());
            }
            let started = line.contains("Arca server started");
            lines.push(line);
            if started {
                break;
            }
        }
        Server {
            child,
            addr: addr.expect("api address printed"),
            stdout_lines: lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path.trim_start_matches('/'))
    }

    /// The value printed after `label` (dev mode's unseal key and root token).
    pub fn printed(&self, label: &str) -> String {
        self.stdout_lines
            .iter()
            .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("{label} not printed"))
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a config file for an embedded-storage server on an ephemeral port.
pub fn embedded_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("arca.hcl");
    let db = dir.join("arca.db");
    let text = format!(
        "storage \"embedded\" {{\n  path = \"{}\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}}\ndisable_mlock = true\n{extra}\n",
        db.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Sends a request and returns (status, JSON body or Null).
pub async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, body)
}

/// Initialises with `n`/`t` and returns (hex shares, root token).
pub async fn init(
    client: &reqwest::Client,
    server: &Server,
    n: u64,
    t: u64,
) -> (Vec<String>, String) {
    let (s, b) = call(
        client,
        "PUT",
        &server.url("sys/init"),
        None,
        Some(json!({"secret_shares": n, "secret_threshold": t})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let keys = b["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    (keys, b["root_token"].as_str().unwrap().to_owned())
}

/// Submits shares until unsealed; returns the final status body.
pub async fn unseal(client: &reqwest::Client, server: &Server, keys: &[String]) -> Value {
    let mut last = Value::Null;
    for k in keys {
        let (s, b) = call(
            client,
            "PUT",
            &server.url("sys/unseal"),
            None,
            Some(json!({"key": k})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        last = b;
    }
    last
}
