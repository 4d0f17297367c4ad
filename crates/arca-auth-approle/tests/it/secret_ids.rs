//! Secret IDs: generation, listing, lookup, destroy, custom IDs, tidy, storage.

use std::time::Duration;

use arca_logical::{ErrorKind, ResponseStatus};
use serde_json::{Value, json};

use crate::{Env, assert_invalid, keys, s};

#[tokio::test]
async fn generate_list_lookup_destroy() {
    let env = Env::new().await;
    env.create_role("r", json!({"secret_id_ttl": "1h", "secret_id_num_uses": 5}))
        .await;
    let resp = env
        .write(
            "role/r/secret-id",
            json!({"metadata": "{\"team\":\"blue\",\"env\":\"prod\"}", "cidr_list": "127.0.0.0/8"}),
        )
        .await
        .unwrap()
        .unwrap();
    // Wrap-able: a plain data answer the core can wrap (X-Vault-Wrap-TTL).
    assert_eq!(resp.status, ResponseStatus::Normal);
    assert!(resp.raw.is_none() && resp.auth.is_none() && resp.secret.is_none());
    let data = resp.data.unwrap();
    let mut got: Vec<&str> = data.keys().map(String::as_str).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "secret_id",
            "secret_id_accessor",
            "secret_id_num_uses",
            "secret_id_ttl"
        ]
    );
    assert_eq!(data["secret_id_ttl"], json!(3600));
    assert_eq!(data["secret_id_num_uses"], json!(5));
    let (secret, accessor) = (s(&data, "secret_id"), s(&data, "secret_id_accessor"));
    assert_eq!((secret.len(), accessor.len()), (36, 36));

    assert_eq!(
        keys(&env.list("role/r/secret-id").await.unwrap().unwrap()),
        std::slice::from_ref(&accessor)
    );
    assert_eq!(
        keys(&env.list("role/r/secret-id/").await.unwrap().unwrap()),
        std::slice::from_ref(&accessor)
    );

    let look = env
        .write("role/r/secret-id/lookup", json!({"secret_id": secret}))
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(
        Value::Object(look.clone()),
        json!({
            "secret_id_accessor": accessor, "secret_id_num_uses": 5, "secret_id_ttl": 3600,
            "creation_time": "2026-11-27T23:15:39Z", "expiration_time": "2026-11-28T00:15:39Z",
            "last_updated_time": "2026-11-27T23:15:39Z",
            "metadata": {"env": "prod", "team": "blue"},
            "cidr_list": ["127.0.0.0/8"], "token_bound_cidrs": []
        })
    );
    let by_acc = env
        .write(
            "role/r/secret-id-accessor/lookup",
            json!({"secret_id_accessor": accessor}),
        )
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(by_acc, look);

    // Unknown secret ID: nothing (204); unknown accessor: 404 with a message.
    assert_eq!(
        env.write("role/r/secret-id/lookup", json!({"secret_id": "nope"}))
            .await
            .unwrap(),
        None
    );
    let e = env
        .write(
            "role/r/secret-id-accessor/lookup",
            json!({"secret_id_accessor": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::NotFound,
            "failed to find accessor entry for secret_id_accessor"
        )
    );
    assert_invalid(
        env.write("role/r/secret-id/lookup", json!({})).await,
        "missing secret_id",
    );
    assert_invalid(
        env.write("role/r/secret-id-accessor/lookup", json!({}))
            .await,
        "missing secret_id_accessor",
    );

    assert_eq!(
        env.write("role/r/secret-id/destroy", json!({"secret_id": secret}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(env.list("role/r/secret-id").await.unwrap(), None);
    assert_eq!(
        env.write("role/r/secret-id/destroy", json!({"secret_id": secret}))
            .await
            .unwrap(),
        None,
        "idempotent"
    );

    let d2 = env.secret("r", json!({})).await;
    assert_eq!(
        env.call(
            arca_logical::Operation::Delete,
            "role/r/secret-id-accessor/destroy",
            json!({"secret_id_accessor": s(&d2, "secret_id_accessor")})
        )
        .await
        .unwrap(),
        None
    );
    assert_invalid(
        env.write(
            "role/r/secret-id-accessor/destroy",
            json!({"secret_id_accessor": s(&d2, "secret_id_accessor")}),
        )
        .await,
        "failed to find accessor entry for secret_id_accessor",
    );
    assert_invalid(
        env.login(
            env.data("role/r/role-id").await["role_id"]
                .as_str()
                .unwrap(),
            &s(&d2, "secret_id"),
        )
        .await,
        "invalid role or secret ID",
    );
    let only_salt: Vec<String> = env
        .all_values()
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.starts_with("role") && !k.starts_with("lockout/"))
        .collect();
    assert_eq!(only_salt, ["salt"], "secret IDs and accessors gone");
}

#[tokio::test]
async fn generation_rules() {
    let env = Env::new().await;
    let e = env
        .write("role/none/secret-id", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotFound, "role does not exist")
    );
    env.create_role(
        "r",
        json!({"secret_id_num_uses": 3, "secret_id_ttl": 600, "secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    for (body, msg) in [
        (json!({"num_uses": -1}), "num_uses cannot be negative"),
        (
            json!({"num_uses": 4}),
            "num_uses cannot be higher than the role's secret_id_num_uses",
        ),
        (
            json!({"num_uses": 0}),
            "num_uses cannot be higher than the role's secret_id_num_uses",
        ),
        (
            json!({"ttl": 601}),
            "ttl cannot be longer than the role's secret_id_ttl",
        ),
        (
            json!({"ttl": 0}),
            "ttl cannot be longer than the role's secret_id_ttl",
        ),
        (
            json!({"cidr_list": "bogus"}),
            "failed to validate CIDR blocks",
        ),
        (
            json!({"cidr_list": "11.0.0.0/8"}),
            "failed to verify subset relationship between CIDR blocks on the role and CIDR blocks on the secret ID",
        ),
        (
            json!({"token_bound_cidrs": "bogus"}),
            "failed to validate token CIDR blocks",
        ),
        (
            json!({"token_bound_cidrs": "12.0.0.1"}),
            "failed to verify subset relationship between CIDR blocks on the role and CIDR blocks on the secret ID",
        ),
        (
            json!({"metadata": "no-equals-sign"}),
            "failed to parse metadata",
        ),
    ] {
        assert_invalid(env.write("role/r/secret-id", body).await, msg);
    }
    let d = env
        .secret("r", json!({"num_uses": 2, "ttl": "5m", "cidr_list": "10.1.0.0/16", "token_bound_cidrs": ["10.1.2.3"], "metadata": "a=1,b=2"}))
        .await;
    assert_eq!(
        (d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()),
        (json!(2), json!(300))
    );
    let look = env
        .write(
            "role/r/secret-id/lookup",
            json!({"secret_id": s(&d, "secret_id")}),
        )
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(look["metadata"], json!({"a": "1", "b": "2"}));
    assert_eq!(look["token_bound_cidrs"], json!(["10.1.2.3"]));

    // Metadata as base64 JSON and as an object.
    let b64 = "eyJrIjoidiJ9"; // {"k":"v"}
    let d = env.secret("r", json!({"metadata": b64})).await;
    let look = env
        .write(
            "role/r/secret-id/lookup",
            json!({"secret_id": s(&d, "secret_id")}),
        )
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(look["metadata"], json!({"k": "v"}));
    let d = env.secret("r", json!({"metadata": {"x": "y"}})).await;
    assert!(d.contains_key("secret_id"));

    env.create_role(
        "nobind",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    assert_invalid(
        env.write("role/nobind/secret-id", json!({})).await,
        "bind_secret_id is not set on the role",
    );
}

#[tokio::test]
async fn secret_id_ttl_is_capped_by_the_mount() {
    let env = Env::new().await;
    env.create_role("r", json!({"secret_id_ttl": "99999999s"}))
        .await;
    let d = env.secret("r", json!({})).await;
    assert_eq!(d["secret_id_ttl"], json!(2_764_800), "mount max lease TTL");
}

#[tokio::test]
async fn custom_secret_ids() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let e = env
        .write("role/none/custom-secret-id", json!({"secret_id": "x"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_invalid(
        env.write("role/r/custom-secret-id", json!({})).await,
        "missing secret_id",
    );
    let d = env
        .write(
            "role/r/custom-secret-id",
            json!({"secret_id": "my-custom-secret", "num_uses": 1}),
        )
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(d["secret_id"], json!("my-custom-secret"));
    assert_eq!(d["secret_id_num_uses"], json!(1));
    assert_invalid(
        env.write(
            "role/r/custom-secret-id",
            json!({"secret_id": "my-custom-secret"}),
        )
        .await,
        "SecretID is already registered",
    );
    env.login(&role_id, " my-custom-secret ").await.unwrap();
}

#[tokio::test]
async fn secrets_are_stored_only_as_hmacs() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let d = env.secret("r", json!({})).await;
    let custom = "plain-custom-secret-value";
    env.write("role/r/custom-secret-id", json!({"secret_id": custom}))
        .await
        .unwrap();
    let (secret, accessor) = (s(&d, "secret_id"), s(&d, "secret_id_accessor"));
    for (k, v) in env.all_values().await {
        let text = String::from_utf8_lossy(&v);
        for needle in [secret.as_str(), custom] {
            assert!(
                !k.contains(needle) && !text.contains(needle),
                "{k} holds a secret ID"
            );
        }
        assert!(
            !k.contains(&accessor) && !k.contains(&role_id),
            "{k} names an accessor or role ID"
        );
    }
}

#[tokio::test]
async fn tidy_removes_expired_secret_ids() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let short = env.secret("r", json!({"ttl": "1m"})).await;
    let long = env.secret("r", json!({"ttl": "1h"})).await;
    let forever = env.secret("r", json!({})).await;
    assert_eq!(
        keys(&env.list("role/r/secret-id").await.unwrap().unwrap()).len(),
        3
    );

    env.clock.advance(Duration::from_secs(61));
    // Expired: refused at login even before tidy.
    assert_invalid(
        env.login(&role_id, &s(&short, "secret_id")).await,
        "invalid role or secret ID",
    );
    let short2 = env.secret("r", json!({"ttl": "1m"})).await;
    env.clock.advance(Duration::from_secs(61));

    let resp = env
        .write("tidy/secret-id", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert!(
        resp.warnings[0].starts_with("Tidy operation successfully started"),
        "{resp:?}"
    );
    let mut left = Vec::new();
    for _ in 0..200 {
        left = keys(&env.list("role/r/secret-id").await.unwrap().unwrap());
        if left.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    left.sort();
    let mut want = vec![
        s(&long, "secret_id_accessor"),
        s(&forever, "secret_id_accessor"),
    ];
    want.sort();
    assert_eq!(left, want);
    let e = env
        .write(
            "role/r/secret-id-accessor/lookup",
            json!({"secret_id_accessor": s(&short2, "secret_id_accessor")}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "accessor removed with it");
    env.login(&role_id, &s(&long, "secret_id")).await.unwrap();

    // A pass over the storage directly reports what it did.
    env.clock.advance(Duration::from_secs(3600));
    let report = arca_auth_approle::tidy_secret_ids(env.view.as_ref(), env.clock.as_ref())
        .await
        .unwrap();
    assert_eq!(
        report,
        arca_auth_approle::TidyReport {
            checked: 2,
            expired: 1,
            dangling: 0
        }
    );
}
