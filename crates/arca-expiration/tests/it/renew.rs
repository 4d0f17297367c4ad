use arca_expiration::ExpirationError;
use arca_logical::{Response, SecretInfo};

use crate::support::*;

#[tokio::test]
async fn renew_extends_and_caps_with_warning() {
    let env = Env::new().await;
    let mut s = secret(600, true);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(600, 3600))
        .await
        .unwrap();
    let id = s.lease_id;

    env.advance(secs(300));
    let r = env.m.renew(&id, secs(1200)).await.unwrap();
    assert_eq!(r.ttl, secs(1200));
    assert!(r.warnings.is_empty());
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.expire_time, t0() + secs(1500));
    assert_eq!(le.last_renewal, Some(t0() + secs(300)));
    assert_eq!(
        env.revoker.renewed.lock().unwrap().as_slice(),
        &[(id.clone(), secs(1200))]
    );

    // 2h asked, 50m left before the 1h hard cap.
    env.advance(secs(300));
    let r = env.m.renew(&id, secs(7200)).await.unwrap();
    assert_eq!(r.ttl, secs(3000));
    assert_eq!(
        r.warnings,
        vec![
            r#"TTL of "2h" exceeded the effective max_ttl of "50m"; TTL value is capped accordingly"#
        ]
    );
    assert_eq!(
        env.m.lookup(&id).await.unwrap().unwrap().expire_time,
        t0() + secs(3600)
    );

    // A backend max that is already behind us.
    *env.revoker.renew_response.lock().unwrap() = Some(Response {
        secret: Some(SecretInfo {
            max_ttl: secs(300),
            renewable: true,
            ..SecretInfo::default()
        }),
        ..Response::default()
    });
    assert!(matches!(
        env.m.renew(&id, secs(60)).await,
        Err(ExpirationError::PastMaxTtl)
    ));

    // At the cap the lease has expired.
    env.advance(secs(3000));
    assert!(matches!(
        env.m.renew(&id, secs(60)).await,
        Err(ExpirationError::Expired)
    ));
}

#[tokio::test]
async fn zero_increment_uses_backend_or_previous_period() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 600).await;
    env.advance(secs(100));
    let r = env.m.renew(&id, secs(0)).await.unwrap();
    assert_eq!(r.ttl, secs(600));

    // The backend answers with its own TTL, a stricter max and new internal data.
    let mut internal = serde_json::Map::new();
    internal.insert("username".into(), "v-user-2".into());
    *env.revoker.renew_response.lock().unwrap() = Some(Response {
        secret: Some(SecretInfo {
            ttl: secs(900),
            max_ttl: secs(1000),
            renewable: true,
            internal_data: internal,
            ..SecretInfo::default()
        }),
        ..Response::default()
    });
    let r = env.m.renew(&id, secs(0)).await.unwrap();
    // Issued at t0 with max 1000 s, now t0+100: 900 left.
    assert_eq!(r.ttl, secs(900));
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.internal_data["username"], "v-user-2");
    assert_eq!(le.max_expire_time, Some(t0() + secs(86400)));
}

#[tokio::test]
async fn renew_refusals() {
    let env = Env::new().await;
    let mut s = secret(600, false);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(600, 3600))
        .await
        .unwrap();
    assert!(matches!(
        env.m.renew(&s.lease_id, secs(60)).await,
        Err(ExpirationError::NotRenewable)
    ));
    assert!(matches!(
        env.m.renew("db/creds/a/nope", secs(60)).await,
        Err(ExpirationError::NotFound)
    ));

    let id = env.secret("db/", "creds/a", "t", 60).await;
    env.advance(secs(61));
    assert!(matches!(
        env.m.renew(&id, secs(60)).await,
        Err(ExpirationError::Expired)
    ));
    // The backend was never asked.
    assert!(env.revoker.renewed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn token_lease_renewal_takes_the_token_store_ttl() {
    let env = Env::new().await;
    let id = env
        .m
        .register_token(
            "auth/token/create",
            "htok",
            secs(600),
            true,
            bounds(600, 3600),
        )
        .await
        .unwrap();
    *env.revoker.renew_response.lock().unwrap() = Some(Response {
        auth: Some(arca_logical::Auth {
            ttl: secs(1800),
            renewable: true,
            ..Default::default()
        }),
        ..Response::default()
    });
    env.advance(secs(60));
    let r = env.m.renew(&id, secs(60)).await.unwrap();
    assert_eq!(r.ttl, secs(1800));
}
