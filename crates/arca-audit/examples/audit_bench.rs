//! Cost of auditing one request (its request and response records) through the broker, without
//! HTTP or the core: `cargo run --release -p arca-audit --example audit_bench [DEVICE] [TASKS]
//! [REQUESTS]`, DEVICE being `file` (default, a file under $TMPDIR), `discard` or `none`. Prints
//! requests/s and the process CPU time per request. The server-level figure (KV v2 read with and
//! without a file device, beside OpenBao) is `bench/`'s `kv/get+audit`.

#![allow(clippy::expect_used)] // a benchmark: failing loudly is the right answer

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arca_audit::{AuditAuth, AuditBroker, AuditEntry, AuditResponse};
use arca_logical::SystemView;
use arca_storage::InMemStorage;
use serde_json::json;

struct Clock;

impl SystemView for Clock {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A KV v2 read by a root-like token, as the core records it.
fn entry(i: u64) -> AuditEntry {
    AuditEntry {
        time: SystemTime::now(),
        request_id: format!("00000000-0000-0000-0000-{i:012}"),
        operation: "read".into(),
        path: "secret/data/app".into(),
        mount_point: "secret/".into(),
        mount_type: "kv".into(),
        mount_accessor: "kv_318cfb28".into(),
        remote_address: "127.0.0.1".into(),
        remote_port: 43708,
        client_token: Some("hvs.CAESIJ0123456789abcdefghijklmnop".into()),
        client_token_accessor: "Hd8Xh4Gdk2sWa2Lq0dZpZ7nB".into(),
        auth: Some(AuditAuth {
            accessor: "Hd8Xh4Gdk2sWa2Lq0dZpZ7nB".into(),
            display_name: "root".into(),
            policies: vec!["root".into()],
            token_policies: vec!["root".into()],
            token_type: "service".into(),
            client_token: "hvs.CAESIJ0123456789abcdefghijklmnop".into(),
            policy_results: Some((true, vec!["root".into()])),
            ..AuditAuth::default()
        }),
        ..AuditEntry::default()
    }
}

fn respond(e: &mut AuditEntry) {
    let data = json!({
        "data": {"password": "hunter2", "user": "bob"},
        "metadata": {"created_time": "2026-11-28T08:38:07.79Z", "custom_metadata": null,
                     "deletion_time": "", "destroyed": false, "version": 1}
    });
    let serde_json::Value::Object(data) = data else {
        unreachable!()
    };
    e.time = SystemTime::now();
    e.response = Some(AuditResponse {
        status: 200,
        data: Some(data),
        ..AuditResponse::default()
    });
}

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the command name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let device = args.get(1).map_or("file", String::as_str).to_owned();
    let tasks: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(16);
    let requests: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async move {
        let broker = AuditBroker::new(Arc::new(InMemStorage::new()), Arc::new(Clock))
            .await
            .expect("broker");
        let file_path = match device.as_str() {
            "none" => None,
            "discard" => Some("discard".to_owned()),
            _ => Some(dir.path().join("audit.log").display().to_string()),
        };
        if let Some(p) = file_path {
            let options = BTreeMap::from([("file_path".to_owned(), p)]);
            broker
                .enable("file", "file", "", options, false)
                .await
                .expect("enable");
        }
        let (start, cpu0) = (Instant::now(), cpu_time());
        let per_task = requests / tasks;
        let mut handles = Vec::new();
        for t in 0..tasks {
            let broker = Arc::clone(&broker);
            handles.push(tokio::spawn(async move {
                for i in 0..per_task {
                    let mut e = entry(t * per_task + i);
                    let logged = broker.log_request(&e).await.expect("request record");
                    respond(&mut e);
                    broker
                        .log_response_after(&e, &logged)
                        .await
                        .expect("response record");
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        let (wall, cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu0));
        let n = per_task * tasks;
        println!(
            "device={device} tasks={tasks} requests={n}: {:.0} req/s, CPU {:.1} µs/request",
            n as f64 / wall.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / n as f64
        );
        broker.shutdown().await;
    });
}
