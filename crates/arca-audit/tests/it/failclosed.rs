//! Fail closed: with devices enabled, a record no device accepted is an error (the core
//! then refuses the request), and service resumes as soon as a device recovers. Writes
//! are bounded by the device's timeout.

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arca_audit::AuditError;
use serde_json::{Map, Value, json};

use crate::support::*;

#[tokio::test]
async fn no_device_means_nothing_to_refuse() {
    let b = broker().await;
    assert!(!b.is_enabled());
    b.log_request(&entry("a", "p")).await.unwrap();
    b.log_response(&entry("a", "p")).await.unwrap();
}

/// A TCP collector for one connection: stores the lines it receives. New connections are
/// refused once it has accepted (its listener is dropped).
struct Collector {
    lines: Arc<Mutex<Vec<String>>>,
    conn: Arc<Mutex<Option<TcpStream>>>,
}

impl Collector {
    fn start(listener: TcpListener) -> Collector {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let conn = Arc::new(Mutex::new(None));
        let (l2, c2) = (lines.clone(), conn.clone());
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            drop(listener);
            *c2.lock().unwrap() = Some(stream.try_clone().unwrap());
            for l in BufReader::new(stream).lines() {
                let Ok(l) = l else { break };
                l2.lock().unwrap().push(l);
            }
        });
        Collector { lines, conn }
    }

    fn kill(&self) {
        if let Some(c) = self.conn.lock().unwrap().take() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn ids(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] == "request")
            .map(|v| v["request"]["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_device_down_refuses_then_recovers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let collector = Collector::start(listener);
    let b = broker().await;
    b.enable(
        "socket",
        "socket",
        "collector",
        opts(&[("address", &addr.to_string()), ("write_timeout", "1s")]),
        false,
    )
    .await
    .unwrap();
    b.log_request(&entry("up-1", "p")).await.unwrap();
    wait_for(|| collector.ids() == ["up-1"]).await;

    // The collector dies. TCP may take one write to notice the reset; after that every
    // record is refused, because nothing accepted it.
    collector.kill();
    let mut refused = 0;
    for i in 0..5 {
        match b.log_request(&entry(&format!("down-{i}"), "p")).await {
            Ok(_) => assert_eq!(refused, 0, "a record passed after a refusal"),
            Err(AuditError::NoDeviceAccepted) => refused += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(refused >= 4, "only {refused} of 5 refused");

    // The collector comes back on the same address: service resumes on the next record.
    let listener = TcpListener::bind(addr).unwrap();
    let collector = Collector::start(listener);
    b.log_request(&entry("up-2", "p")).await.unwrap();
    wait_for(|| collector.ids() == ["up-2"]).await;
    b.shutdown().await;
}

#[tokio::test]
async fn one_working_device_is_enough() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let collector = Collector::start(listener);
    b.enable("socket", "socket", "", opts(&[("address", &addr)]), false)
        .await
        .unwrap();
    collector.kill();
    for i in 0..5 {
        b.log_request(&entry(&format!("r{i}"), "p")).await.unwrap();
    }
    assert_eq!(records(&log).len(), 5);
    // Enabling a socket device whose collector is down fails at once, naming the problem.
    let err = b
        .enable("socket2", "socket", "", opts(&[("address", &addr)]), false)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("cannot connect to audit socket"), "{msg}");
    assert!(!msg.contains(&addr), "{msg}");
}

fn big_entry(id: &str) -> arca_audit::AuditEntry {
    let mut e = entry(id, "p");
    let mut data = Map::new();
    for i in 0..500 {
        data.insert(format!("k{i}"), json!("v"));
    }
    e.request_data = Some(data);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_collector_cannot_stall_requests_beyond_the_timeout() {
    let dir = tmp();
    let sock = dir.path().join("collector.sock");
    // Accepts connections and never reads: the socket buffer fills, writes block.
    let listener = UnixListener::bind(&sock).unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h2 = held.clone();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(c) = c else { break };
            h2.lock().unwrap().push(c);
        }
    });
    let b = broker().await;
    b.enable(
        "stalled",
        "socket",
        "",
        opts(&[
            ("address", sock.to_str().unwrap()),
            ("socket_type", "unix"),
            ("write_timeout", "300ms"),
        ]),
        false,
    )
    .await
    .unwrap();
    let mut refused_after = None;
    for i in 0..200 {
        let start = Instant::now();
        let r = b.log_request(&big_entry(&format!("big-{i}"))).await;
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "a write took {took:?}");
        if r.is_err() {
            refused_after = Some((i, took));
            break;
        }
    }
    let (i, took) = refused_after.expect("the stalled device never refused");
    assert!(i > 0, "the first record should fit in the socket buffer");
    assert!(
        took >= Duration::from_millis(250),
        "refused too early: {took:?}"
    );
    // While stalled, every record is refused within the timeout, not queued forever.
    let start = Instant::now();
    assert!(b.log_request(&entry("small", "p")).await.is_err());
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(held);
}
