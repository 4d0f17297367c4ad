//! `login`: the `auth` for the core, use counts, CIDR restrictions, lockout, renewal.

use std::time::Duration;

use arca_auth_approle::ApproleFactory;
use arca_logical::{Auth, BackendConfig, ErrorKind, Factory, Operation, TokenType};
use serde_json::json;

use crate::{Env, assert_invalid, keys, s};

const BAD: &str = "invalid role or secret ID";

#[tokio::test]
async fn login_auth_has_what_the_core_needs() {
    let env = Env::new().await;
    let role_id = env
        .create_role(
            "web",
            json!({"token_policies": "app", "token_ttl": "20m", "token_max_ttl": "30m", "token_period": 0, "token_num_uses": 4}),
        )
        .await;
    let d = env
        .secret("web", json!({"metadata": "{\"team\":\"blue\"}"}))
        .await;
    let resp = env
        .write(
            "login",
            json!({"role_id": role_id, "secret_id": s(&d, "secret_id")}),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(resp.data.is_none() && resp.warnings.is_empty());
    let a = resp.auth.unwrap();
    assert!(a.client_token.is_empty());
    assert_eq!(a.policies, ["app"]);
    assert_eq!(a.metadata.len(), 2);
    assert_eq!(
        (
            a.metadata["role_name"].as_str(),
            a.metadata["team"].as_str()
        ),
        ("web", "blue")
    );
    let alias = a.alias.clone().unwrap();
    assert_eq!(alias.name, role_id, "the alias is the role ID");
    assert_eq!(alias.metadata, a.metadata);
    assert_eq!(a.internal_data["role_name"], "web");
    assert_eq!(a.display_name, "", "the core names it after the mount");
    assert_eq!(
        (a.ttl, a.max_ttl),
        (Duration::from_secs(1200), Duration::from_secs(1800))
    );
    assert_eq!(a.num_uses, 4);
    assert!(a.renewable);
    assert_eq!(a.token_type, TokenType::Service);
}

#[tokio::test]
async fn failures_and_messages() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let d = env.secret("r", json!({})).await;
    assert_invalid(env.write("login", json!({})).await, "missing role_id");
    assert_invalid(
        env.write("login", json!({"role_id": role_id})).await,
        "missing secret_id",
    );
    assert_invalid(env.login("not-a-role", &s(&d, "secret_id")).await, BAD);
    assert_invalid(env.login(&role_id, "not-a-secret").await, BAD);
    // Whitespace around either is ignored, as in Vault.
    env.login(
        &format!(" {role_id}\n"),
        &format!(" {} ", s(&d, "secret_id")),
    )
    .await
    .unwrap();
    // A secret ID of another role does not work.
    let other = env.create_role("other", json!({})).await;
    assert_invalid(env.login(&other, &s(&d, "secret_id")).await, BAD);
}

#[tokio::test]
async fn use_counts_are_durable() {
    let mut env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let d = env.secret("r", json!({"num_uses": 3})).await;
    let secret = s(&d, "secret_id");
    env.login(&role_id, &secret).await.unwrap();
    let look = env
        .write("role/r/secret-id/lookup", json!({"secret_id": secret}))
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(look["secret_id_num_uses"], json!(2));

    // A new backend over the same storage (a restart) sees the count.
    env.backend = ApproleFactory
        .create(BackendConfig {
            storage: env.view.clone(),
            system: env.clock.clone(),
            mount_path: "auth/approle/".to_owned(),
            mount_accessor: "auth_approle_5e6f7a8b".to_owned(),
            mount_type: "approle".to_owned(),
            options: Default::default(),
        })
        .unwrap();
    env.login(&role_id, &secret).await.unwrap();
    env.login(&role_id, &secret).await.unwrap();
    assert_invalid(env.login(&role_id, &secret).await, BAD);
    assert_eq!(
        env.list("role/r/secret-id").await.unwrap(),
        None,
        "last use deleted it"
    );
}

#[tokio::test]
async fn a_single_use_secret_id_logs_in_once_under_concurrency() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({})).await;
    let secret = s(&env.secret("r", json!({"num_uses": 1})).await, "secret_id");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let b = env.backend.clone();
        let req = env.request(
            Operation::Update,
            "login",
            json!({"role_id": role_id, "secret_id": secret}),
        );
        tasks.push(tokio::spawn(async move { b.handle(&req).await }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn expired_secret_ids_do_not_log_in() {
    let env = Env::new().await;
    let role_id = env.create_role("r", json!({"secret_id_ttl": "10m"})).await;
    let secret = s(&env.secret("r", json!({})).await, "secret_id");
    env.clock.advance(Duration::from_secs(599));
    env.login(&role_id, &secret).await.unwrap();
    env.clock.advance(Duration::from_secs(1));
    assert_invalid(env.login(&role_id, &secret).await, BAD);
}

#[tokio::test]
async fn cidr_restrictions() {
    let mut env = Env::new().await;
    let role_id = env
        .create_role(
            "r",
            json!({"secret_id_bound_cidrs": "10.0.0.0/8,127.0.0.1/32"}),
        )
        .await;
    // On the secret ID: checked before a use is consumed.
    let d = env
        .secret(
            "r",
            json!({"cidr_list": "10.1.0.0/16", "num_uses": 1, "token_bound_cidrs": "10.1.2.3"}),
        )
        .await;
    assert_invalid(
        env.login(&role_id, &s(&d, "secret_id")).await,
        "source address unauthorized through CIDR restrictions on the secret ID",
    );
    env.remote = Some("10.1.2.3:5555".parse().unwrap());
    let a = env.login(&role_id, &s(&d, "secret_id")).await.unwrap();
    assert_eq!(
        a.bound_cidrs,
        ["10.1.2.3"],
        "the secret ID's token CIDRs win"
    );

    // On the role.
    let d = env.secret("r", json!({})).await;
    env.remote = Some("192.168.0.1:5555".parse().unwrap());
    assert_invalid(
        env.login(&role_id, &s(&d, "secret_id")).await,
        "source address unauthorized by CIDR restrictions on the role",
    );
    env.remote = Some("127.0.0.1:5555".parse().unwrap());
    env.login(&role_id, &s(&d, "secret_id")).await.unwrap();

    // Role token CIDRs bind the token.
    let role2 = env
        .create_role("r2", json!({"token_bound_cidrs": "127.0.0.1/32"}))
        .await;
    let d2 = env.secret("r2", json!({})).await;
    assert_eq!(
        env.login(&role2, &s(&d2, "secret_id"))
            .await
            .unwrap()
            .bound_cidrs,
        ["127.0.0.1"]
    );

    // No secret ID at all: the role's CIDRs are the constraint.
    let nobind = env
        .create_role(
            "nobind",
            json!({"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.0/8"}),
        )
        .await;
    let resp = env
        .write("login", json!({"role_id": nobind}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().metadata["role_name"], "nobind");
    env.remote = Some("10.0.0.1:5555".parse().unwrap());
    assert_invalid(
        env.write("login", json!({"role_id": nobind})).await,
        "source address unauthorized by CIDR restrictions on the role",
    );
}

#[tokio::test]
async fn wrong_secret_ids_lock_the_role() {
    let env = Env::with_options(&[("lockout_threshold", "3")]).await;
    let role_id = env.create_role("r", json!({})).await;
    let secret = s(&env.secret("r", json!({})).await, "secret_id");
    for _ in 0..3 {
        assert_invalid(env.login(&role_id, "guess").await, BAD);
    }
    assert_invalid(env.login(&role_id, &secret).await, BAD);
    assert_eq!(
        keys(&env.list("locked-users").await.unwrap().unwrap()),
        ["r"]
    );
    env.write("locked-users/r/unlock", json!({})).await.unwrap();
    env.login(&role_id, &secret).await.unwrap();
    // Unknown role IDs leave no record.
    for _ in 0..5 {
        let _ = env.login("unknown", "x").await;
    }
    assert_eq!(env.list("locked-users").await.unwrap(), None);
    assert_eq!(
        env.data("config/lockout").await["lockout_threshold"],
        json!(3)
    );
}

#[tokio::test]
async fn renewal_follows_the_role() {
    let env = Env::new().await;
    let role_id = env
        .create_role("r", json!({"token_ttl": 60, "token_period": 0}))
        .await;
    let a = env
        .login(&role_id, &s(&env.secret("r", json!({})).await, "secret_id"))
        .await
        .unwrap();
    // What the core keeps of the token and hands back.
    let kept = Auth {
        metadata: a.metadata.clone(),
        internal_data: a.internal_data.clone(),
        ttl: a.ttl,
        ..Auth::default()
    };
    let req = env.request(Operation::Update, "login", json!({}));
    env.write("role/r", json!({"token_ttl": 90, "token_period": "5m"}))
        .await
        .unwrap();
    let r = env
        .backend
        .renew_auth(&req, &kept)
        .await
        .unwrap()
        .unwrap()
        .auth
        .unwrap();
    assert_eq!(
        (r.ttl, r.period),
        (Duration::from_secs(90), Duration::from_secs(300))
    );
    // Only the metadata survives in the token store: still enough.
    let meta_only = Auth {
        metadata: a.metadata.clone(),
        ..Auth::default()
    };
    assert!(env.backend.renew_auth(&req, &meta_only).await.is_ok());
    env.delete("role/r").await.unwrap();
    assert_invalid(
        env.backend.renew_auth(&req, &kept).await,
        "role no longer exists; not renewing",
    );
    let e = env.read("login").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
}
