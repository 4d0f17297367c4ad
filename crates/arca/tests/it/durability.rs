//! An acknowledged write survives `kill -9`.
//!
//! Writers store numbered KV v2 secrets while the server is killed with
//! SIGKILL at random moments; after each restart and unseal every acknowledged value
//! must be present and intact. The negative control runs the same harness with the
//! test-only switch that acknowledges before the commit, and must see losses: proof that
//! the harness can detect them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::Mutex;

use crate::support::{Server, call, client, embedded_config, init, unseal};

const WRITERS: usize = 4;

/// A value that proves it is intact: derived from its number.
fn value_of(n: u64) -> String {
    let mut s = format!("value-{n}-");
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while s.len() < 200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(char::from(b'a' + (x % 26) as u8));
    }
    s
}

/// A cheap deterministic pseudo-random sequence for kill timing (no RNG dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

struct Outcome {
    acknowledged: usize,
    lost: Vec<u64>,
    corrupt: Vec<u64>,
}

/// Runs `cycles` kill/restart cycles; stops early once a loss is seen if `stop_on_loss`.
async fn run(cycles: usize, envs: &[(&str, &str)], stop_on_loss: bool, seed: u64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "raw_storage_endpoint = true");
    let cfg = cfg.to_str().unwrap().to_owned();
    let c = client();
    let mut rng = Lcg(seed);
    let acked: Arc<Mutex<BTreeMap<u64, ()>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let next = Arc::new(AtomicU64::new(0));
    let mut keys = Vec::new();
    let mut root = String::new();
    let mut outcome = Outcome {
        acknowledged: 0,
        lost: Vec::new(),
        corrupt: Vec::new(),
    };

    for cycle in 0..cycles {
        let server = Server::start(&["-config", &cfg], envs);
        if cycle == 0 {
            (keys, root) = init(&c, &server, 1, 1).await;
        }
        let st = unseal(&c, &server, &keys).await;
        assert_eq!(st["sealed"], false);
        if cycle == 0 {
            let (s, b) = call(
                &c,
                "POST",
                &server.url("sys/mounts/secret"),
                Some(&root),
                Some(json!({"type": "kv", "options": {"version": "2"}})),
            )
            .await;
            assert_eq!(s, 204, "{b}");
        }

        // Verify everything acknowledged so far.
        let snapshot: Vec<u64> = acked.lock().await.keys().copied().collect();
        for chunk in snapshot.chunks(64) {
            let mut set = tokio::task::JoinSet::new();
            for &n in chunk {
                let c = c.clone();
                let url = server.url(&format!("secret/data/dur/{n:08}"));
                let root = root.clone();
                set.spawn(async move { (n, call(&c, "GET", &url, Some(&root), None).await) });
            }
            while let Some(res) = set.join_next().await {
                let (n, (status, body)) = res.unwrap();
                match status {
                    200 if body["data"]["data"]["value"] == json!(value_of(n)) => {}
                    200 => outcome.corrupt.push(n),
                    404 => outcome.lost.push(n),
                    other => panic!("unexpected status {other} reading {n}: {body}"),
                }
            }
        }
        if stop_on_loss && (!outcome.lost.is_empty() || !outcome.corrupt.is_empty()) {
            break;
        }
        if cycle + 1 == cycles {
            break;
        }

        // Write concurrently, then kill at a random moment while writes are in flight.
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            let c = c.clone();
            let base = server.url("secret/data/dur/");
            let root = root.clone();
            let acked = Arc::clone(&acked);
            let next = Arc::clone(&next);
            writers.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let resp = c
                        .put(format!("{base}{n:08}"))
                        .header("X-Vault-Token", &root)
                        .json(&json!({"data": {"value": value_of(n)}}))
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status().as_u16() == 200 => {
                            acked.lock().await.insert(n, ());
                        }
                        // The server died mid-request: this write was never acknowledged.
                        _ => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.next(400))).await;
        server.kill9();
        for w in writers {
            let _ = w.await;
        }
    }
    outcome.acknowledged = acked.lock().await.len();
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let out = run(21, &[], false, 0x5eed).await;
    assert!(
        out.acknowledged > 100,
        "too few writes to mean anything: {}",
        out.acknowledged
    );
    assert!(
        out.lost.is_empty(),
        "lost acknowledged writes: {:?}",
        out.lost
    );
    assert!(out.corrupt.is_empty(), "corrupt values: {:?}", out.corrupt);
    println!(
        "durability: {} acknowledged writes over 20 SIGKILL cycles, none lost",
        out.acknowledged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn harness_detects_losses_when_acks_precede_commits() {
    let out = run(
        12,
        &[("ARCA_UNSAFE_ACK_BEFORE_COMMIT", "1")],
        true,
        0xc0ffee,
    )
    .await;
    assert!(
        !out.lost.is_empty(),
        "the negative control lost nothing over {} acknowledged writes: the harness cannot see losses",
        out.acknowledged
    );
    println!(
        "negative control: {} of {} acknowledged writes lost",
        out.lost.len(),
        out.acknowledged
    );
}
