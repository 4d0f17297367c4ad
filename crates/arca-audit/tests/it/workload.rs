//! A concurrent workload: every id gets exactly one request and one response record, the
//! chain verifies, and checkpoints are signed (unit-level equivalent of the end-to-end
//! request-id comparison over ≥ 10,000 requests).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arca_audit::AuditResponse;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_one_record_each() {
    const N: usize = 10_000;
    const TASKS: usize = 64;
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let b = Arc::clone(&b);
        tasks.spawn(async move {
            for i in (t..N).step_by(TASKS) {
                let id = format!("req-{i:05}");
                let mut e = entry(&id, &format!("secret/data/k{}", i % 17));
                match i % 4 {
                    // A failed login, a denial, a write, a read.
                    0 => {
                        e.auth = None;
                        e.client_token = None;
                        b.log_request(&e).await.unwrap();
                        e.response = Some(AuditResponse {
                            status: 400,
                            error: Some("invalid credentials".into()),
                            ..AuditResponse::default()
                        });
                    }
                    1 => {
                        b.log_request(&e).await.unwrap();
                        e.response = Some(AuditResponse {
                            status: 403,
                            error: Some("permission denied".into()),
                            ..AuditResponse::default()
                        });
                    }
                    2 => {
                        e.operation = "update".into();
                        e.request_data = Some(json!({"v": i}).as_object().unwrap().clone());
                        b.log_request(&e).await.unwrap();
                        e = with_response(e, json!({"version": 1}));
                    }
                    _ => {
                        b.log_request(&e).await.unwrap();
                        e = with_response(e, json!({"data": {"v": "secret"}}));
                    }
                }
                b.log_response(&e).await.unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let elapsed = started.elapsed();
    let key = b.public_key().await.unwrap();
    b.shutdown().await;
    let mut requests: HashMap<String, usize> = HashMap::new();
    let mut responses: HashMap<String, usize> = HashMap::new();
    for r in records(&log) {
        let id = r["request"]["id"].as_str().unwrap().to_owned();
        match r["type"].as_str().unwrap() {
            "request" => *requests.entry(id).or_default() += 1,
            "response" => *responses.entry(id).or_default() += 1,
            other => panic!("unexpected record type {other}"),
        }
    }
    assert_eq!(requests.len(), N);
    assert_eq!(responses.len(), N);
    assert!(requests.values().all(|n| *n == 1));
    assert!(responses.values().all(|n| *n == 1));
    let mut ids: Vec<&String> = requests.keys().collect();
    ids.sort();
    let mut rids: Vec<&String> = responses.keys().collect();
    rids.sort();
    assert_eq!(ids, rids);
    let report = arca_audit::verify::verify_file(&[log], Some(&key)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 2 * N as u64);
    // open + one per 1000 records + close.
    assert_eq!(report.checkpoints, 2 + 20);
    println!(
        "{} records in {elapsed:?} ({:.0} records/s)",
        2 * N,
        (2 * N) as f64 / elapsed.as_secs_f64()
    );
}
