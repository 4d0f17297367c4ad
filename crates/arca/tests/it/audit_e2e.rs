//! Audit through the real binary: every logical request leaves exactly one request record
//! and one response record, whatever its outcome; values never appear in clear; and with
//! the only device down, requests are refused before they change anything, then served
//! again once it recovers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Server, call, client};

const ROOT: &str = "audit-root";

fn dev() -> Server {
    Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-root-token-id={ROOT}"),
        ],
        &[],
    )
}

/// (request records, response records) per request id.
fn records(path: &std::path::Path) -> BTreeMap<String, (u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut ids: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let Some(id) = v["request"]["id"].as_str() else {
            continue;
        };
        let e = ids.entry(id.to_owned()).or_default();
        match v["type"].as_str() {
            Some("request") => e.0 += 1,
            Some("response") => e.1 += 1,
            _ => {}
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_leaves_one_request_and_one_response_record() {
    let server = dev();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let c = client();
    let (s, b) = call(
        &c,
        "PUT",
        &server.url("sys/audit/file"),
        Some(ROOT),
        Some(json!({"type": "file", "options": {"file_path": log.to_str().unwrap()}})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    // A read-only token for permission denials, and a userpass user for failed logins.
    call(
        &c,
        "PUT",
        &server.url("sys/policies/acl/ro"),
        Some(ROOT),
        Some(json!({"policy": "path \"secret/data/app\" { capabilities = [\"read\"] }"})),
    )
    .await;
    let (_, t) = call(
        &c,
        "POST",
        &server.url("auth/token/create"),
        Some(ROOT),
        Some(json!({"policies": ["ro"]})),
    )
    .await;
    let ro = t["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &c,
        "POST",
        &server.url("sys/auth/userpass"),
        Some(ROOT),
        Some(json!({"type": "userpass"})),
    )
    .await;
    let userpass = s == 204;
    if userpass {
        call(
            &c,
            "POST",
            &server.url("auth/userpass/users/alice"),
            Some(ROOT),
            Some(json!({"password": "correct horse"})),
        )
        .await;
    }

    // A mixed workload of 10,000 requests over 16 clients: writes, reads, denials, bad
    // tokens, unknown paths, failed logins.
    let ro = Arc::new(ro);
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let c = c.clone();
        let base = server.url("");
        let ro = Arc::clone(&ro);
        tasks.push(tokio::spawn(async move {
            let mut codes = BTreeMap::new();
            for i in 0..625u32 {
                let n = w * 625 + i;
                let (method, path, token, body): (&str, String, Option<&str>, Option<Value>) =
                    match n % 6 {
                        0 => (
                            "PUT",
                            format!("secret/data/app{}", n % 50),
                            Some(ROOT),
                            Some(json!({"data": {"v": format!("secret-{n}")}})),
                        ),
                        1 => (
                            "GET",
                            format!("secret/data/app{}", n % 50),
                            Some(ROOT),
                            None,
                        ),
                        2 => (
                            "PUT",
                            "secret/data/app".to_owned(),
                            Some(ro.as_str()),
                            Some(json!({"data": {"v": "x"}})),
                        ),
                        3 => ("GET", "sys/mounts".to_owned(), Some("s.not-a-token"), None),
                        4 => ("GET", format!("nowhere/{n}"), Some(ROOT), None),
                        _ if userpass => (
                            "PUT",
                            "auth/userpass/login/alice".to_owned(),
                            None,
                            Some(json!({"password": "wrong"})),
                        ),
                        _ => ("GET", "secret/data/app".to_owned(), Some(ro.as_str()), None),
                    };
                let url = format!("{base}{path}");
                let (s, _) = call(&c, method, &url, token, body).await;
                *codes.entry(s).or_insert(0u32) += 1;
            }
            codes
        }));
    }
    let mut codes: BTreeMap<u16, u32> = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await.unwrap() {
            *codes.entry(k).or_default() += v;
        }
    }
    assert!(
        codes.contains_key(&403) && codes.contains_key(&404),
        "{codes:?}"
    );

    let ids = records(&log);
    let bad: Vec<_> = ids.iter().filter(|(_, c)| **c != (1, 1)).collect();
    assert!(
        bad.is_empty(),
        "ids without exactly one request and one response record: {bad:?}"
    );
    // The workload plus the setup calls made after the device was enabled.
    assert!(
        ids.len() >= 10_000,
        "only {} request ids recorded",
        ids.len()
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("secret-1\""),
        "a secret value appears in clear"
    );
    assert!(!text.contains(ROOT), "the root token appears in clear");
    assert!(!text.contains("correct horse"));
    println!(
        "audit: {} requests, {:?} status codes, every one recorded twice",
        ids.len(),
        codes
    );
}

/// A TCP collector on a fixed port; dropping it closes the port and every connection.
struct Collector {
    closed: Arc<std::sync::atomic::AtomicBool>,
    streams: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self.streams.lock().unwrap().iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn collect(port: u16) -> Collector {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let streams = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (stop, kept) = (Arc::clone(&closed), Arc::clone(&streams));
    // Polls so that it can stop and drop the listener: the port is then really closed.
    let accept = std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    if let Ok(clone) = stream.try_clone() {
                        kept.lock().unwrap().push(clone);
                    }
                    std::thread::spawn(move || for _ in BufReader::new(stream).lines() {});
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Collector {
        closed,
        streams,
        accept: Some(accept),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_device_refuses_requests_before_they_change_anything() {
    let server = dev();
    let c = client();
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let collector = collect(port);
    let (s, b) = call(
        &c,
        "PUT",
        &server.url("sys/audit/socket"),
        Some(ROOT),
        Some(json!({"type": "socket", "options": {"address": format!("127.0.0.1:{port}"), "socket_type": "tcp"}})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = call(
        &c,
        "PUT",
        &server.url("secret/data/k"),
        Some(ROOT),
        Some(json!({"data": {"v": "before"}})),
    )
    .await;
    assert_eq!(s, 200);

    // The collector goes away. The device may still accept a record or two into the
    // socket's buffer before the peer's reset is seen (a request whose request record was
    // accepted runs; if its response record then fails, the client gets a 5xx). Once the
    // device is known to be down, requests are refused before they run.
    drop(collector);
    let mut down = false;
    for i in 0..20 {
        let v = json!(format!("during-{i}"));
        let (s, _) = call(
            &c,
            "PUT",
            &server.url("secret/data/k"),
            Some(ROOT),
            Some(json!({"data": {"v": v}})),
        )
        .await;
        if s >= 500 {
            down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        down,
        "requests were still served with the only audit device down"
    );
    let refused_value = json!("refused");
    let (s, b) = call(
        &c,
        "PUT",
        &server.url("secret/data/k"),
        Some(ROOT),
        Some(json!({"data": {"v": refused_value}})),
    )
    .await;
    assert_eq!((s, b), (500, json!({"errors": ["internal error"]})));

    // The collector comes back on the same port: service resumes, and the refused write
    // never happened.
    let _collector = collect(port);
    let mut value = Value::Null;
    for _ in 0..50 {
        let (s, b) = call(&c, "GET", &server.url("secret/data/k"), Some(ROOT), None).await;
        if s == 200 {
            value = b["data"]["data"]["v"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !value.is_null(),
        "service did not resume after the device recovered"
    );
    assert_ne!(value, refused_value, "a refused write was applied");
}
