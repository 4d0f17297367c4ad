use std::sync::Arc;
use std::time::Instant;

use arca_expiration::{ExpirationManager, LeaseRevoker};
use arca_storage::{Storage, StorageView};

use crate::support::*;

#[tokio::test]
async fn restart_tracks_everything() {
    let env = Env::new().await;
    let a = env.secret("db/", "creds/a", "t", 60).await;
    let b = env.secret("pki/", "issue/web", "t", 600).await;
    let tok = env
        .m
        .register_token(
            "auth/token/create",
            "tokA",
            secs(120),
            true,
            bounds(120, 120),
        )
        .await
        .unwrap();
    let root = env
        .m
        .register_token("auth/token/root", "root", secs(0), false, bounds(0, 0))
        .await
        .unwrap();
    env.advance(secs(30));
    env.m.renew(&a, secs(300)).await.unwrap();

    let env = env.restart().await;
    assert_eq!(env.m.wait_loaded().await.unwrap(), 4);
    // Root's lease never expires: stored, not scheduled.
    assert_eq!(env.m.scheduled_count(), 3);
    let le = env.m.lookup(&a).await.unwrap().unwrap();
    assert_eq!(le.expire_time, t0() + secs(330));
    assert!(env.m.lookup(&root).await.unwrap().is_some());

    env.advance(secs(100));
    env.m.tick().await;
    assert_eq!(env.revoker.revoked(), vec![tok.clone()]);
    env.advance(secs(500));
    env.m.tick().await;
    let mut got = env.revoker.revoked();
    got.sort();
    let mut want = vec![a, b, tok];
    want.sort();
    assert_eq!(got, want);
    // revoke_by_token still finds the lease through the stored index.
    let env = env.restart().await;
    let c = env.secret("db/", "creds/a", "tokZ", 600).await;
    let env = env.restart().await;
    env.m.revoke_by_token("tokZ").await.unwrap();
    assert_eq!(env.revoker.revoked(), vec![c]);
}

/// The scale test: 100 000 leases created, the server restarted, all still
/// tracked, and all revoked when they expire. Timings and RSS: `examples/lease_scale.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_leases_survive_a_restart() {
    const N: usize = 100_000;
    let env = Env::new().await;
    let started = Instant::now();
    for i in 0..N {
        let mount = ["db/", "pki/", "aws/"][i % 3];
        env.secret(
            mount,
            "creds/role",
            &format!("tok{}", i % 100),
            600 + (i % 600) as u64,
        )
        .await;
    }
    let registered = started.elapsed();
    assert_eq!(env.m.scheduled_count(), N);

    let started = Instant::now();
    let env = env.restart().await;
    assert_eq!(env.m.wait_loaded().await.unwrap(), N);
    assert_eq!(env.m.scheduled_count(), N);
    eprintln!(
        "100k: register {registered:?}, restart+load {:?}",
        started.elapsed()
    );

    env.advance(secs(1200));
    env.m.tick().await;
    assert_eq!(env.revoker.revoked().len(), N);
    assert_eq!(env.m.scheduled_count(), 0);
}

/// A storage view whose reads are slow, so the load takes a while.
struct SlowStorage(StorageView);

#[async_trait::async_trait]
impl Storage for SlowStorage {
    async fn get(&self, key: &str) -> arca_storage::Result<Option<Vec<u8>>> {
        if key.starts_with("id/") {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: &[u8]) -> arca_storage::Result<()> {
        self.0.put(key, value).await
    }
    async fn delete(&self, key: &str) -> arca_storage::Result<()> {
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str) -> arca_storage::Result<Vec<String>> {
        self.0.list(prefix).await
    }
    async fn transaction(&self, ops: Vec<arca_storage::TxnOp>) -> arca_storage::Result<()> {
        self.0.transaction(ops).await
    }
    fn backend_name(&self) -> &'static str {
        "slow"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_served_while_loading() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for _ in 0..2000 {
        ids.push(env.secret("db/", "creds/a", "t", 600).await);
    }
    env.m.stop().await;

    let view = StorageView::new(env.physical.clone() as Arc<dyn Storage>, "sys/expire/");
    let revoker = Arc::new(FakeRevoker::default());
    let config = arca_expiration::ExpirationConfig {
        load_concurrency: 2,
        ..manual_config()
    };
    let m = ExpirationManager::start_with(
        Arc::new(SlowStorage(view)),
        revoker.clone() as Arc<dyn LeaseRevoker>,
        env.clock.clone(),
        config,
    )
    .await
    .unwrap();
    // 2000 reads at 2 ms over 2 loaders: about 2 s. Meanwhile requests work.
    assert!(!m.is_loaded());
    let last = ids.last().unwrap();
    assert!(m.lookup(last).await.unwrap().is_some());
    let r = m.renew(last, secs(900)).await.unwrap();
    assert_eq!(r.ttl, secs(900));
    m.revoke(&ids[0]).await.unwrap();
    let mut s = secret(60, true);
    m.register_secret("db/", "creds/a", "t", &mut s, bounds(60, 60))
        .await
        .unwrap();
    assert!(
        !m.is_loaded(),
        "the load finished too fast to prove anything"
    );

    // The lease revoked meanwhile is not loaded; the new one may or may not be listed.
    let loaded = m.wait_loaded().await.unwrap();
    assert!((1999..=2000).contains(&loaded), "{loaded}");
    // The renewal made during the load was not overwritten by the loader's older copy.
    env.advance(secs(700));
    m.tick().await;
    assert_eq!(
        m.lookup(last).await.unwrap().map(|le| le.expire_time),
        Some(t0() + secs(900))
    );
    assert!(m.lookup(&s.lease_id).await.unwrap().is_none());
    // 1998 expired + the new one + the one revoked by hand.
    let revoked = revoker.revoked();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|i| !revoked.contains(i) && *i != last)
        .collect();
    assert!(missing.is_empty(), "{missing:?} {}", m.scheduled_count());
    assert_eq!(revoked.len(), 2000);
    m.stop().await;
}
