//! Dynamic PostgreSQL users against the local server (trust authentication: logging in
//! proves the role exists and may log in; `pg_scram` proves passwords).

use std::time::Duration;

use arca_logical::Operation;
use serde_json::{Value, json};

use crate::support::{Engine, service, unique};

const ADMIN_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(ADMIN_URL, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn valid_until(admin: &tokio_postgres::Client, user: &str) -> Option<i64> {
    let rows = admin
        .query(
            "SELECT extract(epoch from rolvaliduntil)::bigint FROM pg_roles WHERE rolname = $1",
            &[&user],
        )
        .await
        .unwrap();
    rows.first()
        .map(|r| r.get::<_, Option<i64>>(0).unwrap_or(0))
}

pub async fn configure_pg(e: &Engine, name: &str) {
    e.write(
        &format!("config/{name}"),
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
            "username": "postgres",
            "password": "unused-with-trust",
            "allowed_roles": "*",
            "max_open_connections": 2,
        }),
    )
    .await;
}

const CREATE: &str = r#"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";"#;

#[tokio::test]
async fn dynamic_user_login_renew_revoke_kills_session() {
    if !service("PostgreSQL", 5432) {
        return;
    }
    let e = Engine::new().await;
    configure_pg(&e, "pg").await;

    // The config reads back without the password.
    let c = e.read("config/pg").await;
    assert_eq!(c["plugin_name"], "postgresql-database-plugin");
    assert!(c["connection_details"].get("password").is_none());
    assert_eq!(c["connection_details"]["username"], "postgres");
    assert_eq!(c["allowed_roles"], json!(["*"]));

    e.write(
        "roles/ro",
        json!({"db_name": "pg", "creation_statements": CREATE, "default_ttl": "1h", "max_ttl": "24h"}),
    )
    .await;
    let role = e.read("roles/ro").await;
    assert_eq!(role["default_ttl"], 3600);
    assert_eq!(role["max_ttl"], 86400);
    assert_eq!(role["credential_type"], "password");
    assert_eq!(role["revocation_statements"], json!([]));

    let (user, password, secret) = e.creds("ro").await;
    assert!(user.starts_with("v-token-ro-"), "{user}");
    assert_eq!(password.len(), 20);
    assert!(secret.renewable && secret.leased);
    assert_eq!(secret.ttl, Duration::from_secs(3600));

    // The user can log in, and its session stays open.
    let url = format!("host=127.0.0.1 port=5432 user={user} password={password} dbname=test");
    let (session, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn_task = tokio::spawn(conn);
    session.simple_query("SELECT 1").await.unwrap();

    // VALID UNTIL is the lease's end (plus slack); renewal moves it.
    let admin = admin().await;
    let first = valid_until(&admin, &user).await.unwrap();
    let now = e.clock.now_secs();
    assert!((first - (now + 3605)).abs() <= 2, "{first} vs {now}");
    e.clock.advance(Duration::from_secs(600));
    Engine::ok(e.renew(&secret, 7200).await);
    let second = valid_until(&admin, &user).await.unwrap();
    assert!((second - (now + 600 + 7205)).abs() <= 2, "{second}");

    // Without a known increment (the core's renewal today), the safety net goes to the
    // lease's hard limit: issue time + max_ttl.
    let mut from_core = secret.clone();
    from_core.ttl = Duration::ZERO;
    Engine::ok(e.renew(&from_core, 0).await);
    let third = valid_until(&admin, &user).await.unwrap();
    assert!((third - (now + 86400 + 5)).abs() <= 2, "{third}");

    // Revocation drops the role and ends the open session.
    e.revoke(&secret).await.unwrap();
    assert_eq!(valid_until(&admin, &user).await, None, "role still exists");
    let after = session.simple_query("SELECT 1").await;
    assert!(after.is_err(), "the session survived revocation");
    let _ = conn_task.await;
    assert!(
        tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .is_err(),
        "the revoked user can still log in"
    );
    // Revoking again (a retry after a partial failure) succeeds.
    e.revoke(&secret).await.unwrap();
    e.shutdown().await;
}

#[tokio::test]
async fn failed_revocation_is_an_error_and_renewal_is_capped_by_max_ttl() {
    if !service("PostgreSQL", 5432) {
        return;
    }
    let e = Engine::new().await;
    configure_pg(&e, "pg").await;
    let table = unique("owned");
    // A revocation statement that fails: the lease manager must see an error to retry.
    e.write(
        "roles/bad",
        json!({
            "db_name": "pg",
            "creation_statements": [CREATE],
            "revocation_statements": ["DROP ROLE \"{{name}}\"; SELECT * FROM does_not_exist_at_all"],
            "default_ttl": 60,
            "max_ttl": 120,
        }),
    )
    .await;
    let (user, _, secret) = e.creds("bad").await;
    let err = e.revoke(&secret).await.unwrap_err();
    assert!(
        err.message.contains("does_not_exist_at_all"),
        "{}",
        err.message
    );
    let admin = admin().await;
    assert!(
        valid_until(&admin, &user).await.is_some(),
        "the failed transaction was rolled back"
    );

    // max_ttl caps the database-side expiry too.
    e.clock.advance(Duration::from_secs(100));
    Engine::ok(e.renew(&secret, 3600).await);
    let vu = valid_until(&admin, &user).await.unwrap();
    let issued = e.clock.now_secs() - 100;
    assert!(vu <= issued + 120 + 6, "{vu} vs {issued}");

    // With working statements the retry succeeds.
    e.write(
        "roles/bad",
        json!({"revocation_statements": ["DROP ROLE \"{{name}}\""]}),
    )
    .await;
    e.revoke(&secret).await.unwrap();
    assert_eq!(valid_until(&admin, &user).await, None);
    let _ = table;
    e.shutdown().await;
}

#[tokio::test]
async fn config_errors_lists_and_allowed_roles() {
    if !service("PostgreSQL", 5432) {
        return;
    }
    let e = Engine::new().await;
    // Unknown plugin, unreachable server, bad template.
    let bad = e
        .call(
            Operation::Update,
            "config/x",
            json!({"plugin_name": "nope"}),
        )
        .await
        .unwrap_err();
    assert!(
        bad.message.contains("error creating database object"),
        "{}",
        bad.message
    );
    let bad = e
        .call(
            Operation::Update,
            "config/x",
            json!({"plugin_name": "postgresql-database-plugin", "connection_url": "postgresql://postgres@127.0.0.1:1/test"}),
        )
        .await
        .unwrap_err();
    assert!(
        bad.message.contains("error creating database object"),
        "{}",
        bad.message
    );
    // Without verification it is accepted.
    let warned = e
        .write(
        "config/x",
        json!({"plugin_name": "postgresql-database-plugin", "connection_url": "postgresql://postgres:secretpw@127.0.0.1:1/test", "verify_connection": false}),
    )
    .await
    .unwrap();
    assert!(warned.warnings[0].contains("Password found in connection_url"));
    let c = e.read("config/x").await;
    assert_eq!(
        c["connection_details"]["connection_url"],
        "postgresql://postgres:xxxxx@127.0.0.1:1/test"
    );

    configure_pg(&e, "pg").await;
    e.write("config/pg", json!({"allowed_roles": "only-*"}))
        .await;
    e.write(
        "roles/other",
        json!({"db_name": "pg", "creation_statements": CREATE}),
    )
    .await;
    let denied = e
        .call(Operation::Read, "creds/other", Value::Null)
        .await
        .unwrap_err();
    assert!(denied.message.contains("not an allowed role"));
    let keys = Engine::ok(e.call(Operation::List, "config/", Value::Null).await)
        .unwrap()
        .data
        .unwrap();
    assert_eq!(keys["keys"], json!(["pg", "x"]));
    // A static role may not share a dynamic role's name.
    let clash = e
        .call(
            Operation::Update,
            "static-roles/other",
            json!({"db_name": "pg", "username": "x", "rotation_period": 60}),
        )
        .await
        .unwrap_err();
    assert!(clash.message.contains("must be unique"));
    // Inline password policy.
    e.write(
        "config/pg",
        json!({"allowed_roles": "*", "password_policy": "length = 8\nrule \"charset\" {\n charset = \"ab\"\n}\n"}),
    )
    .await;
    let (user, password, secret) = e.creds("other").await;
    assert_eq!(password.len(), 8);
    assert!(password.chars().all(|c| c == 'a' || c == 'b'));
    e.revoke(&secret).await.unwrap();
    let _ = user;
    Engine::ok(e.call(Operation::Delete, "config/x", Value::Null).await);
    assert!(Engine::ok(e.call(Operation::Read, "config/x", Value::Null).await).is_none());
    e.shutdown().await;
}

#[tokio::test]
async fn named_password_policies_from_the_system_view() {
    if !service("PostgreSQL", 5432) {
        return;
    }
    let e = Engine::new().await;
    let charset = |set: &str, n: usize| {
        format!("length = {n}\nrule \"charset\" {{\n  charset = \"{set}\"\n  min-chars = {n}\n}}\n")
    };
    e.clock
        .set_policy("lower", Some(&charset("abcdefghijklmnopqrstuvwxyz", 20)));
    e.clock
        .set_policy("digits", Some(&charset("0123456789", 12)));
    let config = |policy: &str| {
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
            "username": "postgres",
            "password": "unused-with-trust",
            "allowed_roles": "*",
            "password_policy": policy,
        })
    };

    // Unknown names are refused at write time: for the connection and for a role override.
    let err = e
        .call(Operation::Update, "config/pg", config("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.message, "password policy not found");
    e.write("config/pg", config("lower")).await;
    let role = unique("pp");
    e.write(
        &format!("roles/{role}"),
        json!({"db_name": "pg", "creation_statements": CREATE, "default_ttl": "5m"}),
    )
    .await;
    let (_, pw, s1) = e.creds(&role).await;
    assert!(pw.len() == 20 && pw.chars().all(|c| c.is_ascii_lowercase()));

    // A role's credential_config.password_policy wins over the connection's.
    let err = e
        .call(
            Operation::Update,
            &format!("roles/{role}"),
            json!({"credential_config": {"password_policy": "nope"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.message, "password policy not found");
    e.write(
        &format!("roles/{role}"),
        json!({"credential_config": {"password_policy": "digits"}}),
    )
    .await;
    let (_, pw, s2) = e.creds(&role).await;
    assert!(pw.len() == 12 && pw.chars().all(|c| c.is_ascii_digit()));

    // A policy deleted after the fact: a client error at creds time.
    e.clock.set_policy("digits", None);
    let err = e
        .call(Operation::Read, &format!("creds/{role}"), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err.message, "password policy not found");
    e.revoke(&s1).await.unwrap();
    e.revoke(&s2).await.unwrap();
    e.shutdown().await;
}
