//! The database engine when the database goes away, with the real `arca` process and the
//! machine's PostgreSQL behind a test-owned TCP proxy that is cut and restored:
//!
//! * `creds` during the outage is a 5xx-class error in Vault's shape, leaves no lease and
//!   no database user behind, and works again once the database is back;
//! * a lease that expires during the outage stays, its revocation is retried with backoff
//!   and succeeds once the database is back: the user is dropped and the lease is gone;
//! * nothing the server prints, and no error body, contains a password.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::database_support::{
    LoggedServer, PG, Proxy, postgres_up, role_exists, roles_like, wait_for,
};
use crate::support::{call, client};

const TOKEN: &str = "database-faults-root";
/// The configured root password. The shared cluster trusts loopback, so it is never
/// checked; it only has to never appear in a log or an error.
const ROOT_PASSWORD: &str = "root-pw-Zq8vX3kN7tLm";

/// A role name unique to this process, short enough to survive the username template's
/// truncation, so the test can find its users among other tests'.
fn role_name(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

async fn setup(server: &LoggedServer, proxy: &Proxy, role: &str, ttl: &str) {
    let c = client();
    let t = Some(TOKEN);
    let (s, b) = call(
        &c,
        "POST",
        &server.url("sys/mounts/database"),
        t,
        Some(json!({"type": "database"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        &c,
        "POST",
        &server.url("database/config/pg"),
        t,
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@{}/test?sslmode=disable",
                proxy.addr
            ),
            "username": "postgres",
            "password": ROOT_PASSWORD,
            "allowed_roles": "*",
        })),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let (s, b) = call(
        &c,
        "POST",
        &server.url(&format!("database/roles/{role}")),
        t,
        Some(json!({
            "db_name": "pg",
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
            ],
            "default_ttl": ttl,
            "max_ttl": "1h",
        })),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");
}

/// Lease-id suffixes listed under `sys/leases/lookup/database/creds/<role>/`.
async fn leases(server: &LoggedServer, role: &str) -> Vec<String> {
    let (s, b) = call(
        &client(),
        "LIST",
        &server.url(&format!("sys/leases/lookup/database/creds/{role}/")),
        Some(TOKEN),
        None,
    )
    .await;
    match s {
        404 => Vec::new(),
        200 => b["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect(),
        _ => panic!("listing leases: {s} {b}"),
    }
}

async fn creds(server: &LoggedServer, role: &str) -> (u16, Value) {
    call(
        &client(),
        "GET",
        &server.url(&format!("database/creds/{role}")),
        Some(TOKEN),
        None,
    )
    .await
}

/// Fails naming the offending line, with the password itself replaced.
fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for (i, s) in secrets.iter().enumerate() {
        if let Some(line) = text.lines().find(|l| l.contains(s)) {
            panic!(
                "{what} contains password #{i}: {}",
                line.replace(s, "<PASSWORD>")
            );
        }
    }
}

#[tokio::test]
async fn creds_during_an_outage_fail_cleanly_without_a_lease() {
    if !postgres_up() {
        return;
    }
    let proxy = Proxy::start(SocketAddr::from(PG));
    let server = LoggedServer::dev(TOKEN);
    let role = role_name("fc");
    setup(&server, &proxy, &role, "1h").await;

    // Healthy: a user is issued (the pool now holds connections through the proxy).
    let (s, b) = creds(&server, &role).await;
    assert_eq!(s, 200, "{b}");
    let user1 = b["data"]["username"].as_str().unwrap().to_owned();
    let pw1 = b["data"]["password"].as_str().unwrap().to_owned();
    assert!(role_exists(&user1));
    assert_eq!(leases(&server, &role).await.len(), 1);
    let users_before = roles_like(&role);

    proxy.cut();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let (s, b) = creds(&server, &role).await;
        assert!(
            (500..600).contains(&s),
            "creds with the database down: {s} {b}"
        );
        let errors = b["errors"].as_array().expect("Vault's error shape");
        assert_eq!(errors.len(), 1, "{b}");
        assert!(!errors[0].as_str().unwrap().is_empty());
        eprintln!("creds with the database down: {s} {}", errors[0]);
        assert_no_secret("the error", &b.to_string(), &[ROOT_PASSWORD, &pw1]);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "creds hung for {:?}",
            started.elapsed()
        );
    }
    // No lease and no database user were left behind by the failed attempts.
    assert_eq!(leases(&server, &role).await.len(), 1);
    assert_eq!(roles_like(&role), users_before);

    // Back: the engine reconnects by itself.
    proxy.restore();
    let (s, b) = creds(&server, &role).await;
    assert_eq!(s, 200, "{b}");
    let user2 = b["data"]["username"].as_str().unwrap().to_owned();
    let pw2 = b["data"]["password"].as_str().unwrap().to_owned();
    assert!(role_exists(&user2));
    assert_eq!(leases(&server, &role).await.len(), 2);

    let (s, b) = call(
        &client(),
        "POST",
        &server.url(&format!("sys/leases/revoke-prefix/database/creds/{role}")),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 204, "{b}");
    assert!(wait_for(Duration::from_secs(10), || !role_exists(&user1)
        && !role_exists(&user2)));
    let logs = server.logs();
    assert!(
        logs.contains("database operation failed"),
        "the outage was not logged"
    );
    assert_no_secret("the server log", &logs, &[ROOT_PASSWORD, &pw1, &pw2]);
}

#[tokio::test]
async fn revocation_during_an_outage_is_retried_until_the_database_is_back() {
    if !postgres_up() {
        return;
    }
    let proxy = Proxy::start(SocketAddr::from(PG));
    let server = LoggedServer::dev(TOKEN);
    let role = role_name("fr");
    setup(&server, &proxy, &role, "2s").await;
    let c = client();

    let (s, b) = creds(&server, &role).await;
    assert_eq!(s, 200, "{b}");
    let user = b["data"]["username"].as_str().unwrap().to_owned();
    let pw = b["data"]["password"].as_str().unwrap().to_owned();
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    assert!(role_exists(&user));

    proxy.cut();
    // An explicit revocation fails and keeps the lease (Vault answers 400 here).
    let (s, b) = call(
        &c,
        "POST",
        &server.url("sys/leases/revoke"),
        Some(TOKEN),
        Some(json!({"lease_id": lease_id})),
    )
    .await;
    assert!(s >= 400, "revoke with the database down: {s} {b}");
    assert!(b["errors"].is_array(), "{b}");
    assert_no_secret("the error", &b.to_string(), &[ROOT_PASSWORD, &pw]);

    // The lease expires during the outage: the expiry revocation fails and is retried; the
    // lease stays visible and the user still exists.
    std::thread::sleep(Duration::from_secs(5));
    let logs = server.logs();
    assert!(
        logs.contains("lease revocation failed; will retry"),
        "no retry logged"
    );
    assert!(role_exists(&user));
    let (s, b) = call(
        &c,
        "PUT",
        &server.url("sys/leases/lookup"),
        Some(TOKEN),
        Some(json!({"lease_id": lease_id})),
    )
    .await;
    assert_eq!(s, 200, "the failing lease must stay visible: {b}");
    assert_eq!(leases(&server, &role).await.len(), 1);

    // Back: a later retry (exponential backoff from 1 s) drops the user and the lease.
    proxy.restore();
    let restored = std::time::Instant::now();
    assert!(
        wait_for(Duration::from_secs(40), || !role_exists(&user)),
        "the user was not dropped after the database came back"
    );
    eprintln!(
        "revocation succeeded {:?} after restore",
        restored.elapsed()
    );
    let mut gone = false;
    for _ in 0..50 {
        let (s, _) = call(
            &c,
            "PUT",
            &server.url("sys/leases/lookup"),
            Some(TOKEN),
            Some(json!({"lease_id": lease_id})),
        )
        .await;
        if s != 200 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the lease is still there");
    assert!(leases(&server, &role).await.is_empty());
    assert_no_secret("the server log", &server.logs(), &[ROOT_PASSWORD, &pw]);
}
