use std::time::Duration;

use arca_expiration::{LeaseKind, NEVER_EXPIRES};
use arca_storage::Storage;

use crate::support::*;

#[tokio::test]
async fn lease_id_is_mount_path_and_random() {
    let env = Env::new().await;
    let mut s = secret(0, true);
    env.m
        .register_secret("database/", "creds/ro", "tok1", &mut s, bounds(3600, 7200))
        .await
        .unwrap();
    let (prefix, random) = s.lease_id.rsplit_once('/').unwrap();
    assert_eq!(prefix, "database/creds/ro");
    assert!(random.len() >= 24, "{random}");
    assert!(random.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(s.leased);

    // Mount without a trailing slash and a path with stray slashes give the same shape.
    let mut s2 = secret(0, true);
    env.m
        .register_secret(
            "database",
            "/creds/ro/",
            "tok1",
            &mut s2,
            bounds(3600, 7200),
        )
        .await
        .unwrap();
    assert!(s2.lease_id.starts_with("database/creds/ro/"));
    assert_ne!(s.lease_id, s2.lease_id);

    let le = env.m.lookup(&s.lease_id).await.unwrap().unwrap();
    assert_eq!(le.path, "database/creds/ro");
    assert_eq!(le.mount_point, "database/");
    assert_eq!(le.token_id, "tok1");
    assert_eq!(le.kind, LeaseKind::Secret);
    assert_eq!(le.issue_time, t0());
    assert_eq!(
        le.internal_data.get("username").and_then(|v| v.as_str()),
        Some("v-user")
    );
}

#[tokio::test]
async fn ttl_defaults_and_caps() {
    let env = Env::new().await;
    // 0 → the mount default.
    let mut s = secret(0, true);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(3600, 7200))
        .await
        .unwrap();
    assert_eq!(s.ttl, secs(3600));
    let le = env.m.lookup(&s.lease_id).await.unwrap().unwrap();
    assert_eq!(le.expire_time, t0() + secs(3600));
    assert_eq!(le.max_expire_time, Some(t0() + secs(7200)));

    // Above the mount max → capped.
    let mut s = secret(5 * 3600, true);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(3600, 7200))
        .await
        .unwrap();
    assert_eq!(s.ttl, secs(7200));

    // The backend's own max_ttl is stricter than the mount's.
    let mut s = secret(0, true);
    s.max_ttl = secs(1800);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(3600, 7200))
        .await
        .unwrap();
    assert_eq!(s.ttl, secs(1800));
    let le = env.m.lookup(&s.lease_id).await.unwrap().unwrap();
    assert_eq!(le.max_expire_time, Some(t0() + secs(1800)));
}

#[tokio::test]
async fn registration_is_durable_with_token_index() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "tok", 60).await;
    // Straight from the physical store, under the view's prefix.
    let raw = env
        .physical
        .get(&format!("sys/expire/id/{id}"))
        .await
        .unwrap();
    assert!(raw.is_some());
    let index = env.physical.list("sys/expire/token/").await.unwrap();
    assert_eq!(index.len(), 1);
    let keys = env
        .physical
        .list(&format!("sys/expire/token/{}", index[0]))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);

    // No owner: no index.
    let mut s = secret(60, false);
    env.m
        .register_secret("db/", "creds/b", "", &mut s, bounds(60, 60))
        .await
        .unwrap();
    assert_eq!(
        env.physical.list("sys/expire/token/").await.unwrap().len(),
        1
    );
    assert_eq!(env.m.scheduled_count(), 2);
}

#[tokio::test]
async fn token_leases() {
    let env = Env::new().await;
    let id = env
        .m
        .register_token(
            "auth/userpass/login/alice",
            "habc",
            secs(600),
            true,
            bounds(3600, 3600),
        )
        .await
        .unwrap();
    assert_eq!(id, "auth/userpass/login/alice/habc");
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.kind, LeaseKind::Token);
    assert_eq!(le.mount_point, "auth/userpass/");
    assert_eq!(le.token_id, "habc");
    assert_eq!(le.expire_time, t0() + secs(600));

    // Capped by the mount max.
    let id = env
        .m
        .register_token(
            "auth/token/create",
            "hdef",
            secs(9000),
            true,
            bounds(3600, 3600),
        )
        .await
        .unwrap();
    assert_eq!(
        env.m.lookup(&id).await.unwrap().unwrap().expire_time,
        t0() + secs(3600)
    );

    // Zero TTL: never expires and is not scheduled.
    let before = env.m.scheduled_count();
    let id = env
        .m
        .register_token(
            "auth/token/root",
            "hroot",
            Duration::ZERO,
            false,
            bounds(0, 0),
        )
        .await
        .unwrap();
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.expire_time, NEVER_EXPIRES);
    assert!(!le.expires());
    assert_eq!(env.m.scheduled_count(), before);

    assert!(
        env.m
            .register_token("auth/token/create", "", secs(1), true, bounds(1, 1))
            .await
            .is_err()
    );
}

#[test]
fn debug_hides_internal_data() {
    let le = arca_expiration::LeaseEntry {
        lease_id: "db/creds/a/x".into(),
        path: "db/creds/a".into(),
        mount_point: "db/".into(),
        token_id: "t".into(),
        issue_time: t0(),
        expire_time: t0(),
        last_renewal: None,
        renewable: true,
        max_expire_time: None,
        kind: LeaseKind::Secret,
        internal_data: secret(1, true).internal_data,
        revoke_failures: 0,
        last_error: None,
    };
    let dbg = format!("{le:?}");
    assert!(!dbg.contains("v-user"), "{dbg}");
    assert!(dbg.contains("db/creds/a/x"));
}

#[tokio::test]
async fn stored_record_is_compact_and_round_trips() {
    use arca_storage::Storage;
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "tok", 60).await;
    let raw = env
        .physical
        .get(&format!("sys/expire/id/{id}"))
        .await
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert!(v["issue_time"].is_u64(), "{v}");
    assert!(v.get("last_error").is_none());
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.issue_time, t0());
    assert_eq!(le.max_expire_time, Some(t0() + secs(86400)));
    assert!(raw.len() < 400, "{}", raw.len());
}
