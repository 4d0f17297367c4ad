//! `role/`, `role/<r>`, `role/<r>/role-id` and the one-setting endpoints.

use arca_logical::{ErrorKind, Operation};
use serde_json::{Value, json};

use crate::{Env, TOKEN_KEYS, assert_invalid, keys, s};

/// The keys of a role read besides [`TOKEN_KEYS`], as OpenBao 2.7 shows them
/// (vault-api.md §5.3, 5.1).
const ROLE_ONLY_KEYS: &[&str] = &[
    "bind_secret_id",
    "local_secret_ids",
    "secret_id_bound_cidrs",
    "secret_id_num_uses",
    "secret_id_ttl",
];

#[tokio::test]
async fn crud_list_and_defaults() {
    let env = Env::new().await;
    assert_eq!(env.list("role/").await.unwrap(), None);
    let role_id = env.create_role("web", json!({})).await;
    assert_eq!(role_id.len(), 36, "a UUID by default");
    let data = env.data("role/web").await;
    let mut got: Vec<&str> = data.keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = [ROLE_ONLY_KEYS, TOKEN_KEYS].concat();
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(
        Value::Object(data),
        json!({
            "bind_secret_id": true, "local_secret_ids": false, "secret_id_bound_cidrs": null,
            "secret_id_num_uses": 0, "secret_id_ttl": 0, "token_bound_cidrs": [],
            "token_explicit_max_ttl": 0, "token_max_ttl": 0, "token_no_default_policy": false,
            "token_num_uses": 0, "token_period": 0, "token_policies": [],
            "token_strictly_bind_ip": false, "token_ttl": 0, "token_type": "default"
        })
    );

    env.write(
        "role/web",
        json!({
            "secret_id_ttl": "10m", "secret_id_num_uses": 3, "secret_id_bound_cidrs": "10.0.0.0/8",
            "token_policies": "app", "token_ttl": "1h", "token_max_ttl": "2h", "local_secret_ids": null
        }),
    )
    .await
    .unwrap();
    let data = env.data("role/web").await;
    assert_eq!(data["secret_id_ttl"], json!(600));
    assert_eq!(data["secret_id_num_uses"], json!(3));
    assert_eq!(data["secret_id_bound_cidrs"], json!(["10.0.0.0/8"]));
    assert_eq!(data["token_policies"], json!(["app"]));
    assert_eq!(
        env.data("role/web/role-id").await["role_id"],
        json!(role_id),
        "kept"
    );

    env.create_role(
        "Db",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": ["127.0.0.1/32"]}),
    )
    .await;
    assert_eq!(
        keys(&env.list("role").await.unwrap().unwrap()),
        ["db", "web"]
    );
    assert_eq!(env.delete("role/db").await.unwrap(), None);
    assert_eq!(env.read("role/db").await.unwrap(), None);
    assert_eq!(env.delete("role/db").await.unwrap(), None);
    assert_eq!(keys(&env.list("role/").await.unwrap().unwrap()), ["web"]);
}

#[tokio::test]
async fn validation_errors() {
    let env = Env::new().await;
    assert_invalid(
        env.write("role/r", json!({"bind_secret_id": false})).await,
        "at least one constraint should be enabled on the role",
    );
    assert_eq!(env.read("role/r").await.unwrap(), None, "nothing stored");
    assert_invalid(
        env.write("role/r", json!({"secret_id_bound_cidrs": "nope"}))
            .await,
        "invalid CIDR blocks",
    );
    assert_invalid(
        env.write("role/r", json!({"secret_id_num_uses": -1})).await,
        "secret_id_num_uses cannot be negative",
    );
    assert_invalid(
        env.write("role/r", json!({"role_id": "  "})).await,
        "invalid role_id supplied, or failed to generate a role_id",
    );
    assert_invalid(
        env.write("role/r", json!({"period": "999999999s"})).await,
        "period is greater than the backend's maximum lease TTL",
    );
    env.create_role("r", json!({"local_secret_ids": true}))
        .await;
    assert_eq!(env.data("role/r").await["local_secret_ids"], json!(true));
    assert_invalid(
        env.write("role/r", json!({"local_secret_ids": false}))
            .await,
        "local_secret_ids can only be modified during role creation",
    );
    let resp = env
        .write("role/r", json!({"token_max_ttl": "9999h", "colour": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resp.warnings,
        [
            "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
            "Endpoint ignored these unrecognized parameters: [colour]",
        ]
    );
    let resp = env
        .write("role/r", json!({"token_type": "default-service"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resp.warnings,
        [
            "default-service has no useful meaning; adjusting to service",
            "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
        ]
    );
    assert_eq!(env.data("role/r").await["token_type"], json!("service"));
    let long = "a".repeat(4097);
    assert_invalid(
        env.write(&format!("role/{long}"), json!({})).await,
        "role_name is longer than maximum of 4096 bytes",
    );
    assert_invalid(env.read("role/a b").await, "invalid role_name");
}

#[tokio::test]
async fn legacy_fields() {
    let env = Env::new().await;
    env.create_role(
        "r",
        json!({"policies": "p1,P2", "period": "1h", "bound_cidr_list": "10.0.0.0/8"}),
    )
    .await;
    let data = env.data("role/r").await;
    assert_eq!(data["token_policies"], json!(["p1", "p2"]));
    assert_eq!(data["policies"], json!(["p1", "p2"]));
    assert_eq!(
        (data["token_period"].clone(), data["period"].clone()),
        (json!(3600), json!(3600))
    );
    assert_eq!(data["secret_id_bound_cidrs"], json!(["10.0.0.0/8"]));
    assert!(!data.contains_key("bound_cidr_list"));
}

#[tokio::test]
async fn role_id_read_and_custom() {
    let env = Env::new().await;
    assert_eq!(env.read("role/r/role-id").await.unwrap(), None);
    let e = env
        .write("role/r/role-id", json!({"role_id": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotFound, "role does not exist")
    );
    let old = env.create_role("r", json!({})).await;
    assert_invalid(
        env.write("role/r/role-id", json!({})).await,
        "missing role_id",
    );
    assert_eq!(
        env.write("role/r/role-id", json!({"role_id": "custom-id"}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        env.data("role/r/role-id").await["role_id"],
        json!("custom-id")
    );
    let sec = env.secret("r", json!({})).await;
    env.login("custom-id", &s(&sec, "secret_id")).await.unwrap();
    assert_invalid(
        env.login(&old, &s(&sec, "secret_id")).await,
        "invalid role or secret ID",
    );

    // A role ID belongs to one role only.
    env.create_role("other", json!({})).await;
    assert_invalid(
        env.write("role/other/role-id", json!({"role_id": "custom-id"}))
            .await,
        "role_id already in use",
    );
    assert_invalid(
        env.write("role/third", json!({"role_id": "custom-id"}))
            .await,
        "role_id already in use",
    );
    // Set at creation.
    assert_eq!(
        env.create_role("fourth", json!({"role_id": " given "}))
            .await,
        "given"
    );
}

#[tokio::test]
async fn deleting_a_role_removes_its_secret_ids_and_index() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let sec = env.secret("r", json!({})).await;
    env.secret("r", json!({})).await;
    env.delete("role/r").await.unwrap();
    let left: Vec<String> = env
        .all_values()
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k != "salt")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_invalid(
        env.login(&role_id, &s(&sec, "secret_id")).await,
        "invalid role or secret ID",
    );
    // A new role of the same name knows nothing of the old secret IDs.
    let role_id = env.create_role("r", json!({"role_id": role_id})).await;
    assert_invalid(
        env.login(&role_id, &s(&sec, "secret_id")).await,
        "invalid role or secret ID",
    );
}

#[tokio::test]
async fn one_setting_endpoints() {
    let env = Env::new().await;
    env.create_role("r", json!({"token_ttl": 60, "policies": "a"}))
        .await;
    assert_eq!(
        Value::Object(env.data("role/r/policies").await),
        json!({"token_policies": ["a"], "policies": ["a"]})
    );
    assert_eq!(
        Value::Object(env.data("role/r/token-ttl").await),
        json!({"token_ttl": 60})
    );
    env.write("role/r/token-ttl", json!({"token_ttl": "2m"}))
        .await
        .unwrap();
    assert_eq!(env.data("role/r").await["token_ttl"], json!(120));
    assert_invalid(
        env.write("role/r/token-ttl", json!({})).await,
        "missing token_ttl",
    );
    env.write(
        "role/r/secret-id-num-uses",
        json!({"secret_id_num_uses": 4}),
    )
    .await
    .unwrap();
    assert_eq!(env.data("role/r").await["secret_id_num_uses"], json!(4));
    env.delete("role/r/secret-id-num-uses").await.unwrap();
    assert_eq!(env.data("role/r").await["secret_id_num_uses"], json!(0));
    env.write(
        "role/r/bound-cidr-list",
        json!({"bound_cidr_list": "10.0.0.0/8"}),
    )
    .await
    .unwrap();
    assert_eq!(
        Value::Object(env.data("role/r/bound-cidr-list").await),
        json!({"bound_cidr_list": ["10.0.0.0/8"]})
    );
    assert_eq!(
        env.data("role/r/secret-id-bound-cidrs").await["secret_id_bound_cidrs"],
        json!(["10.0.0.0/8"])
    );
    env.write("role/r/period", json!({"token_period": 30}))
        .await
        .unwrap();
    assert_eq!(
        Value::Object(env.data("role/r/period").await),
        json!({"token_period": 30})
    );
    env.write("role/r/bind-secret-id", json!({"bind_secret_id": false}))
        .await
        .unwrap();
    env.delete("role/r/bind-secret-id").await.unwrap();
    assert_eq!(
        env.data("role/r").await["bind_secret_id"],
        json!(true),
        "default restored"
    );
    env.delete("role/r/policies").await.unwrap();
    assert_eq!(
        Value::Object(env.data("role/r/policies").await),
        json!({"token_policies": []})
    );
    assert_eq!(
        Value::Object(env.data("role/r/local-secret-ids").await),
        json!({"local_secret_ids": false})
    );
    let e = env
        .write("role/r/local-secret-ids", json!({"local_secret_ids": true}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
    let e = env.read("role/r/unknown-thing").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    // On a role that does not exist: 404s.
    assert_eq!(env.read("role/nope/token-ttl").await.unwrap(), None);
    let e = env
        .write("role/nope/token-ttl", json!({"token_ttl": 1}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn existence_check_and_special_paths() {
    let env = Env::new().await;
    let req = env.request(Operation::Update, "role/r", json!({}));
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(false));
    env.create_role("r", json!({})).await;
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(true));
    let sp = env.backend.special_paths();
    assert!(sp.is_unauthenticated("login"));
    assert!(!sp.is_unauthenticated("role/r"));
    assert!(!sp.is_unauthenticated("login/x"));
}
