use arca_expiration::ExpirationManager;
use arca_logical::{ErrorKind, Operation};
use serde_json::{Value, json};

use crate::support::*;

fn data(r: &Option<arca_logical::Response>) -> serde_json::Map<String, Value> {
    r.as_ref().and_then(|r| r.data.clone()).unwrap()
}

#[test]
fn sys_paths() {
    for p in [
        "leases",
        "leases/lookup",
        "leases/lookup/",
        "leases/lookup/db/",
        "leases/renew",
        "leases/renew/db/creds/a/x",
        "leases/revoke",
        "leases/revoke/db/x",
        "leases/revoke-prefix/db",
        "leases/revoke-force/db",
        "leases/tidy",
        "leases/count",
        "leases/whatever",
        "renew",
        "renew/db/x",
        "revoke",
        "revoke/db/x",
        "revoke-prefix/db",
        "revoke-force/db",
    ] {
        assert!(ExpirationManager::is_sys_path(p), "{p}");
    }
    for p in [
        "mounts",
        "leasesx",
        "renewal",
        "revoke-prefix",
        "tidy",
        "policy/leases",
    ] {
        assert!(!ExpirationManager::is_sys_path(p), "{p}");
    }
}

#[tokio::test]
async fn lookup_shape_and_errors() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 600).await;
    env.advance(secs(100));
    let r = env
        .sys(Operation::Update, "leases/lookup", json!({"lease_id": id}))
        .await
        .unwrap();
    let d = data(&r);
    let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "expire_time",
            "id",
            "issue_time",
            "last_renewal",
            "path",
            "renewable",
            "ttl"
        ]
    );
    assert_eq!(d["id"], json!(id));
    assert_eq!(d["path"], "db/creds/a");
    assert_eq!(d["ttl"], 500);
    assert_eq!(d["renewable"], true);
    assert_eq!(d["last_renewal"], Value::Null);
    assert_eq!(d["issue_time"], "2027-01-15T08:00:00Z");
    assert_eq!(d["expire_time"], "2027-01-15T08:10:00Z");

    env.sys(
        Operation::Update,
        "leases/renew",
        json!({"lease_id": id, "increment": "1h"}),
    )
    .await
    .unwrap();
    let d = data(
        &env.sys(Operation::Create, "leases/lookup", json!({"lease_id": id}))
            .await
            .unwrap(),
    );
    assert_eq!(d["last_renewal"], "2027-01-15T08:01:40Z");

    let e = env
        .sys(
            Operation::Update,
            "leases/lookup",
            json!({"lease_id": "db/creds/a/nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidRequest, "invalid lease")
    );
    let e = env
        .sys(Operation::Update, "leases/lookup", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidRequest, "lease_id must be specified")
    );
    let e = env
        .sys(Operation::Read, "leases/lookup", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);

    // Unknown fields are reported back.
    let r = env
        .sys(
            Operation::Update,
            "leases/lookup",
            json!({"lease_id": id, "bogus": 1}),
        )
        .await
        .unwrap();
    assert_eq!(
        r.unwrap().warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
}

#[tokio::test]
async fn lookup_list() {
    let env = Env::new().await;
    let a = env.secret("db/", "creds/a", "t", 600).await;
    env.secret("pki/", "issue/web", "t", 600).await;
    env.m
        .register_token("auth/token/create", "tokA", secs(60), true, bounds(60, 60))
        .await
        .unwrap();

    let d = data(
        &env.sys(Operation::List, "leases/lookup/", json!({}))
            .await
            .unwrap(),
    );
    assert_eq!(d["keys"], json!(["auth/", "db/", "pki/"]));
    let d = data(
        &env.sys(Operation::List, "leases/lookup/db/creds/", json!({}))
            .await
            .unwrap(),
    );
    assert_eq!(d["keys"], json!(["a/"]));
    // Without the trailing slash as well (Vault adds it).
    let d = data(
        &env.sys(Operation::List, "leases/lookup/db/creds/a", json!({}))
            .await
            .unwrap(),
    );
    assert_eq!(d["keys"], json!([a.rsplit_once('/').unwrap().1]));
    // Empty: keys [] (the HTTP layer turns it into 404).
    let d = data(
        &env.sys(Operation::List, "leases/lookup/nothing/", json!({}))
            .await
            .unwrap(),
    );
    assert_eq!(d["keys"], json!([]));
    assert_eq!(
        env.sys(Operation::Update, "leases/lookup/db/", json!({}))
            .await
            .unwrap_err()
            .message,
        "cannot write to a path ending in '/'"
    );
}

#[tokio::test]
async fn renew_endpoints() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 600).await;
    let r = env
        .sys(
            Operation::Update,
            "leases/renew",
            json!({"lease_id": id, "increment": 1200}),
        )
        .await
        .unwrap()
        .unwrap();
    let s = r.secret.unwrap();
    assert_eq!(
        (s.lease_id.as_str(), s.ttl, s.renewable, s.leased),
        (id.as_str(), secs(1200), true, true)
    );
    assert!(r.data.is_none());
    assert!(r.warnings.is_empty());

    // Lease id in the path, and Vault's legacy alias.
    for path in [format!("leases/renew/{id}"), format!("renew/{id}")] {
        let r = env
            .sys(Operation::Update, &path, json!({"increment": "30m"}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.secret.unwrap().ttl, secs(1800));
    }
    let r = env
        .sys(Operation::Update, "renew", json!({"lease_id": id}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.secret.unwrap().ttl, secs(1800));

    // Capped, with the warning.
    let r = env
        .sys(
            Operation::Update,
            "leases/renew",
            json!({"lease_id": id, "increment": "48h"}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.secret.unwrap().ttl, secs(86400));
    assert_eq!(
        r.warnings,
        vec![
            r#"TTL of "48h" exceeded the effective max_ttl of "24h"; TTL value is capped accordingly"#
        ]
    );

    let err = |r: Result<_, arca_logical::LogicalError>| {
        let e = r.unwrap_err();
        (e.kind, e.message)
    };
    assert_eq!(
        err(env
            .sys(
                Operation::Update,
                "leases/renew",
                json!({"lease_id": "db/creds/a/nope"})
            )
            .await),
        (ErrorKind::InvalidRequest, "lease not found".to_owned())
    );
    assert_eq!(
        err(env.sys(Operation::Update, "leases/renew", json!({})).await),
        (
            ErrorKind::InvalidRequest,
            "lease_id must be specified".to_owned()
        )
    );
    let mut s = secret(600, false);
    env.m
        .register_secret("db/", "creds/a", "t", &mut s, bounds(600, 600))
        .await
        .unwrap();
    assert_eq!(
        err(env
            .sys(
                Operation::Update,
                "leases/renew",
                json!({"lease_id": s.lease_id})
            )
            .await),
        (
            ErrorKind::InvalidRequest,
            "lease is not renewable".to_owned()
        )
    );
    let tok = env
        .m
        .register_token("auth/token/create", "tokA", secs(60), true, bounds(60, 60))
        .await
        .unwrap();
    assert_eq!(
        err(env
            .sys(Operation::Update, "leases/renew", json!({"lease_id": tok}))
            .await),
        (
            ErrorKind::InvalidRequest,
            "tokens cannot be renewed through this endpoint".to_owned()
        )
    );
    assert_eq!(
        err(env
            .sys(
                Operation::Update,
                "leases/renew",
                json!({"lease_id": id, "increment": "soon"})
            )
            .await)
        .0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        err(env.sys(Operation::Read, "leases/renew", json!({})).await).0,
        ErrorKind::UnsupportedOperation
    );
}

#[tokio::test]
async fn revoke_endpoints() {
    let env = Env::new().await;
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(env.secret("db/", "creds/a", "t", 600).await);
        }
        v
    };
    assert!(
        env.sys(
            Operation::Update,
            "leases/revoke",
            json!({"lease_id": ids[0]})
        )
        .await
        .unwrap()
        .is_none()
    );
    assert!(
        env.sys(
            Operation::Update,
            &format!("leases/revoke/{}", ids[1]),
            json!({})
        )
        .await
        .unwrap()
        .is_none()
    );
    assert!(
        env.sys(Operation::Update, &format!("revoke/{}", ids[2]), json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.revoker.revoked(), ids[..3].to_vec());
    // Unknown lease: 204 as in Vault.
    assert!(
        env.sys(
            Operation::Update,
            "revoke",
            json!({"lease_id": "db/creds/a/nope"})
        )
        .await
        .unwrap()
        .is_none()
    );

    // sync=false: 202, marked expired, revoked by the worker.
    let accepted = env
        .sys(
            Operation::Update,
            "leases/revoke",
            json!({"lease_id": ids[3], "sync": false}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.status, arca_logical::ResponseStatus::Accepted);
    assert_eq!(env.revoker.revoked().len(), 3);
    let le = env.m.lookup(&ids[3]).await.unwrap().unwrap();
    assert_eq!(le.expire_time, t0());
    env.m.tick().await;
    assert_eq!(env.revoker.revoked().len(), 4);

    // A failing backend: 400-class error carried through, lease kept.
    let id = env.secret("db/", "creds/a", "t", 600).await;
    env.revoker.set_fail_all(true);
    let e = env
        .sys(Operation::Update, "leases/revoke", json!({"lease_id": id}))
        .await
        .unwrap_err();
    assert_eq!(e.message, "backend unreachable");
    assert!(env.m.lookup(&id).await.unwrap().is_some());
}

#[tokio::test]
async fn revoke_prefix_and_force_endpoints() {
    let env = Env::new().await;
    let a = env.secret("db/", "creds/a", "t", 600).await;
    let b = env.secret("db/", "creds/b", "t", 600).await;
    let c = env.secret("pki/", "issue/web", "t", 600).await;
    let d = env.secret("aws/", "creds/x", "t", 600).await;

    assert!(
        env.sys(
            Operation::Update,
            "leases/revoke-prefix/db/creds/a",
            json!({})
        )
        .await
        .unwrap()
        .is_none()
    );
    assert_eq!(env.revoker.revoked(), vec![a]);
    assert!(
        env.sys(Operation::Update, "revoke-prefix/db", json!({"sync": true}))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.revoker.revoked().len(), 2);
    assert!(env.m.lookup(&b).await.unwrap().is_none());

    // sync=false leaves it to the worker.
    env.sys(
        Operation::Update,
        "leases/revoke-prefix/aws",
        json!({"sync": false}),
    )
    .await
    .unwrap();
    assert!(env.m.lookup(&d).await.unwrap().is_some());
    env.m.tick().await;
    assert!(env.m.lookup(&d).await.unwrap().is_none());

    let e = env
        .sys(Operation::Update, "leases/revoke-prefix/db/", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::InvalidRequest,
            "cannot write to a path ending in '/'"
        )
    );
    let e = env
        .sys(Operation::Update, "leases/revoke-force/pki/", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.message, "cannot write to a path ending in '/'");

    // Force ignores the backend's failure; plain revoke-prefix does not.
    env.revoker.set_fail_all(true);
    assert!(
        env.sys(Operation::Update, "leases/revoke-prefix/pki", json!({}))
            .await
            .is_err()
    );
    assert!(env.m.lookup(&c).await.unwrap().is_some());
    assert!(
        env.sys(Operation::Update, "leases/revoke-force/pki", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.m.lookup(&c).await.unwrap().is_none());
    // Legacy alias of force.
    let e2 = env.secret("pki/", "issue/web", "t", 600).await;
    assert!(
        env.sys(Operation::Update, "revoke-force/pki", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.m.lookup(&e2).await.unwrap().is_none());
}

#[tokio::test]
async fn tidy_count_irrevocable_and_unknown() {
    let env = Env::new().await;
    let r = env
        .sys(Operation::Update, "leases/tidy", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert!(r.data.is_none());

    let id = env.secret("db/", "creds/a", "t", 10).await;
    env.revoker.set_fail_all(true);
    env.advance(secs(10));
    for _ in 0..6 {
        env.m.tick().await;
        env.advance(secs(60));
    }
    // No type: nothing (404 for a read).
    assert!(
        env.sys(Operation::Read, "leases/count", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    let d = data(
        &env.sys(
            Operation::Read,
            "leases/count",
            json!({"type": "irrevocable"}),
        )
        .await
        .unwrap(),
    );
    assert_eq!(d["lease_count"], 1);
    assert_eq!(d["counts"], json!({"db/": 1}));
    let d = data(
        &env.sys(Operation::Read, "leases", json!({"type": "irrevocable"}))
            .await
            .unwrap(),
    );
    assert_eq!(d["lease_count"], 1);
    assert_eq!(
        d["leases"],
        json!([{"lease_id": id, "mount_id": "db/", "error": "backend unreachable"}])
    );
    assert!(
        env.sys(
            Operation::Read,
            "leases",
            json!({"type": "irrevocable", "limit": 0})
        )
        .await
        .is_err()
    );

    // The failing lease's lookup shows the error and that it cannot be renewed.
    let d = data(
        &env.sys(Operation::Update, "leases/lookup", json!({"lease_id": id}))
            .await
            .unwrap(),
    );
    assert_eq!(d["revoke_error"], "backend unreachable");
    assert_eq!(d["renewable"], false);
    assert!(d["ttl"].as_i64().unwrap() < 0);

    let e = env
        .sys(Operation::Update, "leases/nothing", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotFound, "unsupported path")
    );
    let e = env
        .sys(Operation::Read, "leases/tidy", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
}
