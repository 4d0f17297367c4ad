//! Lease scale measurements (issue 3 item 7).
//!
//! `cargo run --release -p arca-expiration --example lease_scale -- [--redb] [--leases N]
//! [--storm N] [--revoke-ms MS]`
//!
//! 1. Registers `--leases` (100 000) leases from 16 concurrent callers: time and rate.
//! 2. RSS with them all tracked (`VmRSS`).
//! 3. Stops the manager and starts a new one over the same storage (a restart): time until
//!    the background load has scheduled every lease, and the RSS added by the new
//!    manager's in-memory index.
//! 4. `--storm` (10 000) leases expiring in the same second, revoked by the background
//!    worker through a revoker that takes `--revoke-ms` (2) per revocation: time to revoke
//!    them all, and the latency of lease lookups and renewals (the API work) during the
//!    storm against the same probe while idle.
//!
//! Storage is the in-memory backend behind a view, or with `--redb` the embedded redb
//! file (every registration fsynced) in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arca_expiration::{ExpirationManager, LeaseEntry, LeaseRevoker, SystemClock, TtlBounds};
use arca_logical::{LogicalError, Response, SecretInfo};
use arca_storage::{InMemStorage, Storage, StorageView};
use async_trait::async_trait;

struct CountingRevoker {
    revoked: AtomicUsize,
    latency: Duration,
}

#[async_trait]
impl LeaseRevoker for CountingRevoker {
    async fn revoke(&self, _lease: &LeaseEntry) -> Result<(), LogicalError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.revoked.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    async fn renew(
        &self,
        _lease: &LeaseEntry,
        _increment: Duration,
    ) -> Result<Option<Response>, LogicalError> {
        Ok(None)
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bounds() -> TtlBounds {
    TtlBounds {
        default_ttl: Duration::from_secs(3600),
        max_ttl: Duration::from_secs(86400),
    }
}

/// Registers `n` leases from `callers` concurrent tasks; each lease expires at `expire_at`
/// if given, else after six hours.
async fn register_many(
    m: &Arc<ExpirationManager>,
    n: usize,
    callers: usize,
    mount: &'static str,
    expire_at: Option<SystemTime>,
) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for c in 0..callers {
        let m = Arc::clone(m);
        set.spawn(async move {
            let mut ids = Vec::new();
            for i in (c..n).step_by(callers) {
                let ttl = match expire_at {
                    Some(at) => at.duration_since(SystemTime::now()).unwrap_or_default(),
                    None => Duration::from_secs(6 * 3600),
                };
                let mut s = SecretInfo {
                    ttl,
                    renewable: true,
                    leased: true,
                    ..SecretInfo::default()
                };
                s.internal_data
                    .insert("username".into(), format!("v-role-{i:08}").into());
                let token = format!("h{:064x}", i % 1000);
                m.register_secret(mount, "creds/readonly", &token, &mut s, bounds())
                    .await
                    .unwrap();
                ids.push(s.lease_id);
            }
            ids
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        ids.extend(r.unwrap());
    }
    ids
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Latencies of lease lookups (reads) and renewals (durable writes), sorted.
struct Probe {
    reads: Vec<Duration>,
    writes: Vec<Duration>,
}

/// Alternates lookups and renewals of `ids`, one call about every millisecond, until
/// `stop` is set.
async fn probe(m: Arc<ExpirationManager>, ids: Vec<String>, stop: Arc<AtomicBool>) -> Probe {
    let mut p = Probe {
        reads: Vec::new(),
        writes: Vec::new(),
    };
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let id = &ids[i % ids.len()];
        let t = Instant::now();
        if i.is_multiple_of(2) {
            m.lookup(id).await.unwrap().unwrap();
            p.reads.push(t.elapsed());
        } else {
            m.renew(id, Duration::from_secs(3600)).await.unwrap();
            p.writes.push(t.elapsed());
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    p.reads.sort();
    p.writes.sort();
    p
}

fn summary(label: &str, lat: &[Duration]) {
    println!(
        "  {label:<11} n={:<5} p50={:>8.1?} p99={:>8.1?} max={:>8.1?}",
        lat.len(),
        percentile(lat, 0.5),
        percentile(lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let use_redb = args.iter().any(|a| a == "--redb");
    let n: usize = arg(&args, "--leases", 100_000);
    let storm: usize = arg(&args, "--storm", 10_000);
    let revoke_ms: u64 = arg(&args, "--revoke-ms", 2);

    let dir = tempfile::tempdir().unwrap();
    let physical: Arc<dyn Storage> = if use_redb {
        Arc::new(arca_storage_redb::RedbStorage::open(&dir.path().join("arca.redb")).unwrap())
    } else {
        Arc::new(InMemStorage::new())
    };
    let view =
        || -> Arc<dyn Storage> { Arc::new(StorageView::new(Arc::clone(&physical), "sys/expire/")) };
    let revoker = Arc::new(CountingRevoker {
        revoked: AtomicUsize::new(0),
        latency: Duration::from_millis(revoke_ms),
    });
    println!(
        "storage: {}, leases: {n}, storm: {storm}, revoke latency: {revoke_ms} ms",
        if use_redb {
            "redb (fsync per registration)"
        } else {
            "in-memory"
        }
    );
    let rss0 = rss_mib();

    // 1. Registration.
    let m = ExpirationManager::start(view(), revoker.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let t = Instant::now();
    let ids = register_many(&m, n, 16, "database/", None).await;
    let took = t.elapsed();
    println!(
        "register {n}: {:.2?} ({:.0} leases/s, 16 callers)",
        took,
        n as f64 / took.as_secs_f64()
    );
    assert_eq!(m.scheduled_count(), n);
    let rss1 = rss_mib();
    println!("RSS: {rss0:.1} MiB before, {rss1:.1} MiB with {n} leases (storage included)");

    // 2. Restart.
    m.stop().await;
    drop(m);
    let rss_before_load = rss_mib();
    let t = Instant::now();
    let m = ExpirationManager::start(view(), revoker.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let started = t.elapsed();
    let loaded = m.wait_loaded().await.unwrap();
    let took = t.elapsed();
    assert_eq!(loaded, n);
    assert_eq!(m.scheduled_count(), n);
    let rss2 = rss_mib();
    println!(
        "restart: start returned in {started:.2?}, all {loaded} leases loaded and scheduled in {took:.2?} ({:.0} leases/s)",
        loaded as f64 / took.as_secs_f64()
    );
    println!(
        "RSS after restart: {rss2:.1} MiB ({:+.1} MiB for the new manager's index, {:.0} bytes/lease upper bound)",
        rss2 - rss_before_load,
        (rss2 - rss_before_load).max(0.0) * 1024.0 * 1024.0 / n as f64
    );
    let sample = ids
        .iter()
        .step_by(n / 100 + 1)
        .take(100)
        .cloned()
        .collect::<Vec<_>>();
    for id in &sample {
        assert!(m.lookup(id).await.unwrap().is_some());
    }

    // 3. Expiry storm: `storm` leases expiring in the same second.
    let probe_ids = sample;
    let target = SystemTime::now() + Duration::from_secs(if use_redb { 60 } else { 6 });
    register_many(&m, storm, 64, "storm/", Some(target)).await;
    let until_target = target.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        until_target > Duration::from_millis(1500),
        "storm registration took too long"
    );
    // Idle probe over one second just before the storm.
    tokio::time::sleep(until_target - Duration::from_millis(1200)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let idle_probe = tokio::spawn(probe(Arc::clone(&m), probe_ids.clone(), Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let idle = idle_probe.await.unwrap();

    // Storm probe from the expiry second until the last revocation.
    let before = revoker.revoked.load(Ordering::Relaxed);
    tokio::time::sleep(target.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let storm_start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let storm_probe = tokio::spawn(probe(Arc::clone(&m), probe_ids, Arc::clone(&stop)));
    while revoker.revoked.load(Ordering::Relaxed) < before + storm {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let storm_took = storm_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = storm_probe.await.unwrap();
    println!(
        "storm: {storm} leases expiring in the same second, all revoked {storm_took:.2?} after their expiry ({:.0} revocations/s, 64 at a time)",
        storm as f64 / storm_took.as_secs_f64()
    );
    println!("API probe (lease lookup = read, lease renew = durable write; one call every ~1 ms):");
    summary("read idle", &idle.reads);
    summary("read storm", &during.reads);
    summary("write idle", &idle.writes);
    summary("write storm", &during.writes);
    let ratio = |a: &[Duration], b: &[Duration], p: f64| {
        percentile(a, p).as_secs_f64() / percentile(b, p).as_secs_f64().max(1e-9)
    };
    println!(
        "  storm/idle: reads p50 {:.2}x p99 {:.2}x; writes p50 {:.2}x p99 {:.2}x",
        ratio(&during.reads, &idle.reads, 0.5),
        ratio(&during.reads, &idle.reads, 0.99),
        ratio(&during.writes, &idle.writes, 0.5),
        ratio(&during.writes, &idle.writes, 0.99)
    );
    println!("final RSS: {:.1} MiB", rss_mib());
    m.stop().await;
}
