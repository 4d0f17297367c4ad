use std::sync::Arc;
use std::time::Duration;

use arca_expiration::{ExpirationConfig, SystemClock};
use arca_storage::InMemStorage;

use crate::support::*;

#[tokio::test]
async fn expiry_revokes_each_lease_exactly_once() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for ttl in [10, 20, 30] {
        for _ in 0..50 {
            ids.push((ttl, env.secret("db/", "creds/a", "t", ttl).await));
        }
    }
    env.advance(secs(9));
    env.m.tick().await;
    assert!(env.revoker.revoked().is_empty());

    env.advance(secs(1));
    // Two ticks at once: still once per lease.
    tokio::join!(env.m.tick(), env.m.tick());
    assert_eq!(env.revoker.revoked().len(), 50);
    env.advance(secs(25));
    env.m.tick().await;
    env.m.tick().await;
    assert_eq!(env.revoker.revoked().len(), 150);
    for (_, id) in &ids {
        assert_eq!(env.revoker.revoked_count(id), 1);
        assert!(env.m.lookup(id).await.unwrap().is_none());
    }
    assert_eq!(env.m.scheduled_count(), 0);
}

#[tokio::test]
async fn renewal_moves_the_expiry() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 60).await;
    env.advance(secs(50));
    env.m.renew(&id, secs(60)).await.unwrap();
    env.advance(secs(20));
    env.m.tick().await;
    assert!(env.revoker.revoked().is_empty());
    env.advance(secs(40));
    env.m.tick().await;
    assert_eq!(env.revoker.revoked(), vec![id]);
}

#[tokio::test]
async fn expired_token_lease_revokes_the_tokens_secrets() {
    let env = Env::new().await;
    let tok = env
        .m
        .register_token("auth/token/create", "tokA", secs(30), true, bounds(30, 30))
        .await
        .unwrap();
    let s1 = env.secret("db/", "creds/a", "tokA", 600).await;
    env.advance(secs(31));
    env.m.tick().await;
    // The token lease went to the token store, which revoked the token's leases through
    // the manager while the manager held the token lease's lock.
    assert_eq!(env.revoker.revoked(), vec![tok.clone(), s1.clone()]);
    assert!(env.m.lookup(&tok).await.unwrap().is_none());
    assert!(env.m.lookup(&s1).await.unwrap().is_none());
}

#[tokio::test]
async fn failing_revocation_backs_off_is_reported_and_kept() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 10).await;
    env.revoker.set_fail_all(true);

    env.advance(secs(10));
    env.m.tick().await;
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.revoke_failures, 1);
    assert_eq!(le.last_error.as_deref(), Some("backend unreachable"));

    // First retry after about 1 s (0.8–1.2 s with jitter).
    env.advance(Duration::from_millis(700));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 1);
    env.advance(Duration::from_millis(600));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 2);
    // Second retry after about 2 s.
    env.advance(Duration::from_millis(1500));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 2);
    env.advance(Duration::from_millis(1000));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 3);
    assert!(env.m.failing_leases().is_empty());

    for n in 4..=6 {
        env.advance(secs(60));
        env.m.tick().await;
        assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, n);
    }
    // Reported after 6 failures, still stored.
    let failing = env.m.failing_leases();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].lease_id, id);
    assert!(env.m.renew(&id, secs(60)).await.is_err());

    // Then retried at the maximum interval (300 s ± 20%), never dropped.
    env.advance(secs(200));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 6);
    env.advance(secs(200));
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 7);

    // Survives a restart as failing.
    let env = env.restart().await;
    env.revoker.set_fail_all(true);
    assert_eq!(env.m.failing_leases().len(), 1);
    env.m.tick().await;
    assert_eq!(env.m.lookup(&id).await.unwrap().unwrap().revoke_failures, 8);

    // Force removes it although the backend still fails.
    env.m.revoke_prefix("db/", true).await.unwrap();
    assert!(env.m.lookup(&id).await.unwrap().is_none());
    assert!(env.m.failing_leases().is_empty());
    assert_eq!(env.m.scheduled_count(), 0);
}

#[tokio::test]
async fn recovered_backend_clears_the_report() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 10).await;
    env.revoker.set_fail_all(true);
    env.advance(secs(10));
    for _ in 0..6 {
        env.m.tick().await;
        env.advance(secs(60));
    }
    assert_eq!(env.m.failing_leases().len(), 1);
    env.revoker.set_fail_all(false);
    env.advance(secs(400));
    env.m.tick().await;
    assert!(env.m.failing_leases().is_empty());
    assert_eq!(env.revoker.revoked(), vec![id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_worker_revokes_on_time() {
    // Real clock, real worker.
    let view: Arc<dyn arca_storage::Storage> = Arc::new(InMemStorage::new());
    let revoker = Arc::new(FakeRevoker::default());
    let m = arca_expiration::ExpirationManager::start_with(
        view,
        revoker.clone(),
        Arc::new(SystemClock),
        ExpirationConfig::default(),
    )
    .await
    .unwrap();
    let mut s = secret(1, true);
    m.register_secret("db/", "creds/a", "t", &mut s, bounds(1, 1))
        .await
        .unwrap();
    let mut long = secret(3600, true);
    m.register_secret("db/", "creds/a", "t", &mut long, bounds(1, 3600))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while revoker.revoked().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(revoker.revoked(), vec![s.lease_id.clone()]);
    assert!(m.lookup(&long.lease_id).await.unwrap().is_some());
    m.stop().await;
}

/// A revoker that never answers: the revocation times out and counts as a failure.
struct HungRevoker;

#[async_trait::async_trait]
impl arca_expiration::LeaseRevoker for HungRevoker {
    async fn revoke(
        &self,
        _: &arca_expiration::LeaseEntry,
    ) -> Result<(), arca_logical::LogicalError> {
        std::future::pending().await
    }
    async fn renew(
        &self,
        _: &arca_expiration::LeaseEntry,
        _: Duration,
    ) -> Result<Option<arca_logical::Response>, arca_logical::LogicalError> {
        Ok(None)
    }
}

#[tokio::test]
async fn hung_backend_times_out() {
    let clock = Arc::new(arca_expiration::ManualClock::new(t0()));
    let config = ExpirationConfig {
        revoke_timeout: Duration::from_millis(50),
        ..manual_config()
    };
    let m = arca_expiration::ExpirationManager::start_with(
        Arc::new(InMemStorage::new()),
        Arc::new(HungRevoker),
        clock.clone(),
        config,
    )
    .await
    .unwrap();
    let mut s = secret(10, true);
    m.register_secret("db/", "creds/a", "t", &mut s, bounds(10, 10))
        .await
        .unwrap();
    clock.advance(secs(10));
    m.tick().await;
    let le = m.lookup(&s.lease_id).await.unwrap().unwrap();
    assert_eq!(le.revoke_failures, 1);
    assert_eq!(le.last_error.as_deref(), Some("lease revocation timed out"));
}
