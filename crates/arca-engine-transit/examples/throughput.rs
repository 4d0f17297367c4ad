//! Single-threaded operations per second of the engine through the plug-in SDK (in-memory
//! storage, no HTTP): `cargo run --release -p arca-engine-transit --example throughput`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arca_engine_transit::Transit;
use arca_logical::{Backend, Operation, Request, SystemView};
use arca_storage::{InMemStorage, StorageView};
use serde_json::{Value, json};

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

async fn call(t: &Transit, path: &str, body: Value) -> Value {
    let mut r = Request::new("bench", Operation::Update, path);
    if let Value::Object(m) = body {
        r.data = m;
    }
    let resp = t.handle(&r).await.unwrap().unwrap();
    Value::Object(resp.data.unwrap())
}

async fn rate(what: &str, t: &Transit, path: &str, body: Value) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..100 {
            call(t, path, body.clone()).await;
        }
        n += 100;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{what:<40} {per_sec:>10.0} ops/s");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let storage = Arc::new(StorageView::new(Arc::new(InMemStorage::new()), "t/"));
    let t = Transit::new(storage, Arc::new(Clock)).unwrap();
    for (k, ty) in [
        ("aes", "aes256-gcm96"),
        ("ed", "ed25519"),
        ("ec", "ecdsa-p256"),
        ("rsa", "rsa-2048"),
    ] {
        call(&t, &format!("keys/{k}"), json!({ "type": ty })).await;
    }
    let pt = json!({"plaintext": "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgMTI="});
    let ct = call(&t, "encrypt/aes", pt.clone()).await["ciphertext"].clone();
    rate("encrypt aes256-gcm96 (26 B)", &t, "encrypt/aes", pt.clone()).await;
    rate(
        "decrypt aes256-gcm96 (26 B)",
        &t,
        "decrypt/aes",
        json!({ "ciphertext": ct }),
    )
    .await;
    let batch: Vec<Value> = (0..100).map(|_| pt.clone()).collect();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        call(&t, "encrypt/aes", json!({ "batch_input": batch })).await;
        n += 100;
    }
    println!(
        "{:<40} {:>10.0} items/s",
        "encrypt aes256-gcm96, batches of 100",
        n as f64 / start.elapsed().as_secs_f64()
    );
    let input = json!({"input": "aGVsbG8="});
    rate("sign ed25519", &t, "sign/ed", input.clone()).await;
    rate("sign ecdsa-p256", &t, "sign/ec", input.clone()).await;
    rate("sign rsa-2048 (pss)", &t, "sign/rsa", input.clone()).await;
    rate("hmac sha2-256", &t, "hmac/aes", input).await;
}
