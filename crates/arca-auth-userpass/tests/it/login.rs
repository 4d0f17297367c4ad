//! `login/<u>`: the `auth` handed to the core, CIDR binding, renewal.

use std::time::Duration;

use arca_logical::{Auth, ErrorKind, Request, TokenType};
use serde_json::json;

use crate::{Env, assert_invalid};

#[tokio::test]
async fn login_auth_has_what_the_core_needs() {
    let env = Env::new().await;
    env.create_user(
        "alice",
        "pw",
        json!({
            "token_policies": "app,web",
            "token_ttl": "1h",
            "token_max_ttl": "4h",
            "token_explicit_max_ttl": "8h",
            "token_num_uses": 7,
            "token_no_default_policy": true,
        }),
    )
    .await;
    let resp = env
        .write(
            "login/alice",
            json!({"password": "pw", "username": "alice"}),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(resp.data.is_none(), "login answers with data: null");
    assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
    let a = resp.auth.unwrap();
    assert!(
        a.client_token.is_empty() && a.accessor.is_empty(),
        "the core creates the token"
    );
    assert_eq!(a.policies, ["app", "web"]);
    assert_eq!(a.metadata.len(), 1);
    assert_eq!(a.metadata["username"], "alice");
    assert_eq!(a.display_name, "alice");
    let alias = a.alias.clone().unwrap();
    assert_eq!(alias.name, "alice");
    assert_eq!(a.ttl, Duration::from_secs(3600));
    assert_eq!(a.max_ttl, Duration::from_secs(4 * 3600));
    assert_eq!(a.explicit_max_ttl, Duration::from_secs(8 * 3600));
    assert_eq!(a.period, Duration::ZERO);
    assert_eq!(a.num_uses, 7);
    assert!(a.renewable && a.no_default_policy);
    assert_eq!(a.token_type, TokenType::Service);
    assert!(a.bound_cidrs.is_empty());
    assert_eq!(a.internal_data["username"], "alice");

    env.write(
        "users/alice",
        json!({"token_type": "batch", "token_num_uses": 0}),
    )
    .await
    .unwrap();
    assert_eq!(
        env.login("alice", "pw").await.unwrap().token_type,
        TokenType::Batch
    );
}

#[tokio::test]
async fn failed_logins_are_indistinguishable() {
    let env = Env::with_options(&[("lockout_threshold", "2")]).await;
    env.create_user("alice", "right", json!({})).await;
    env.create_user("locked", "right", json!({})).await;
    for _ in 0..2 {
        let _ = env.login("locked", "wrong").await;
    }
    let unknown = env.login("nobody", "right").await.unwrap_err();
    let wrong = env.login("alice", "wrong").await.unwrap_err();
    let locked = env.login("locked", "right").await.unwrap_err();
    for e in [&unknown, &wrong, &locked] {
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.message, "invalid username or password");
    }
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, locked);
    assert_invalid(
        env.write("login/alice", json!({})).await,
        "missing password",
    );
    assert_invalid(
        env.write("login/alice", json!({"password": ""})).await,
        "missing password",
    );
}

#[tokio::test]
async fn bound_cidrs_restrict_the_login_and_bind_the_token() {
    let mut env = Env::new().await;
    env.create_user(
        "alice",
        "pw",
        json!({"token_bound_cidrs": "10.0.0.0/8,192.168.1.7/32"}),
    )
    .await;
    // Right password from the wrong network: permission denied, as in Vault.
    let e = env.login("alice", "pw").await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::PermissionDenied, "permission denied")
    );
    // A wrong password from there is still the ordinary answer.
    assert_invalid(
        env.login("alice", "nope").await,
        "invalid username or password",
    );

    env.remote = Some("10.2.3.4:40000".parse().unwrap());
    let a = env.login("alice", "pw").await.unwrap();
    assert_eq!(a.bound_cidrs, ["10.0.0.0/8", "192.168.1.7"]);
    env.remote = Some("[::ffff:10.9.9.9]:40000".parse().unwrap());
    env.login("alice", "pw").await.unwrap();

    // No client address at all: refused.
    let mut req = env.request(
        arca_logical::Operation::Update,
        "login/alice",
        json!({"password": "pw"}),
    );
    req.remote_addr = None;
    assert_eq!(
        env.backend.handle(&req).await.unwrap_err().kind,
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn strictly_bind_ip_binds_the_token_to_the_client() {
    let mut env = Env::new().await;
    env.create_user("alice", "pw", json!({"token_strictly_bind_ip": true}))
        .await;
    env.remote = Some("10.20.30.40:1234".parse().unwrap());
    let a = env.login("alice", "pw").await.unwrap();
    assert_eq!(a.bound_cidrs, ["10.20.30.40"]);
}

fn renew_request(env: &Env) -> Request {
    env.request(arca_logical::Operation::Update, "login/alice", json!({}))
}

/// What the core keeps of a login token and hands back on renewal.
fn stored(auth: &Auth) -> Auth {
    Auth {
        policies: auth.policies.clone(),
        token_policies: {
            let mut p = auth.policies.clone();
            p.push("default".to_owned());
            p
        },
        metadata: auth.metadata.clone(),
        ttl: auth.ttl,
        explicit_max_ttl: auth.explicit_max_ttl,
        ..Auth::default()
    }
}

#[tokio::test]
async fn renewal_follows_the_user() {
    let env = Env::new().await;
    env.create_user(
        "alice",
        "pw",
        json!({"token_policies": "app", "token_ttl": 600, "token_explicit_max_ttl": 9000}),
    )
    .await;
    let auth = stored(&env.login("alice", "pw").await.unwrap());

    let r = env
        .backend
        .renew_auth(&renew_request(&env), &auth)
        .await
        .unwrap()
        .unwrap()
        .auth
        .unwrap();
    assert_eq!(r.ttl, Duration::from_secs(600));
    assert_eq!(
        r.explicit_max_ttl,
        Duration::from_secs(9000),
        "kept from the token"
    );

    // New TTLs on the user apply at the next renewal.
    env.write(
        "users/alice",
        json!({"token_ttl": 120, "token_max_ttl": 300, "token_period": 0}),
    )
    .await
    .unwrap();
    let r = env
        .backend
        .renew_auth(&renew_request(&env), &auth)
        .await
        .unwrap()
        .unwrap()
        .auth
        .unwrap();
    assert_eq!(
        (r.ttl, r.max_ttl),
        (Duration::from_secs(120), Duration::from_secs(300))
    );

    // Changed policies refuse renewal (a different case of the same set does not).
    env.write("users/alice/policies", json!({"token_policies": "APP"}))
        .await
        .unwrap();
    assert!(
        env.backend
            .renew_auth(&renew_request(&env), &auth)
            .await
            .is_ok()
    );
    env.write(
        "users/alice/policies",
        json!({"token_policies": "app,admin"}),
    )
    .await
    .unwrap();
    assert_invalid(
        env.backend.renew_auth(&renew_request(&env), &auth).await,
        "policies have changed, not renewing",
    );

    env.delete("users/alice").await.unwrap();
    assert_invalid(
        env.backend.renew_auth(&renew_request(&env), &auth).await,
        "user no longer exists; not renewing",
    );
}
