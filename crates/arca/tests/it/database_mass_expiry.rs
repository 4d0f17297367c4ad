//! 1,000 dynamic PostgreSQL users under short leases: every lease expires, every user is
//! dropped by the expiration manager, and nothing is left in `sys/leases`. Prints how long
//! issuance and the revocation of all of them took (a measurement, never asserted).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::database_support::{LoggedServer, postgres_up, roles_like};
use crate::support::{call, client};

const TOKEN: &str = "database-mass-expiry-root";
const LEASES: usize = 1000;
const WORKERS: usize = 16;
const TTL_SECS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_expiring_leases_are_all_revoked() {
    if !postgres_up() {
        return;
    }
    let server = LoggedServer::dev(TOKEN);
    let c = client();
    let t = Some(TOKEN);
    let role = format!("mx{}", std::process::id() % 100_000);
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
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
            "username": "postgres",
            "password": "trusted-anyway",
            "allowed_roles": "*",
            "max_open_connections": WORKERS,
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
            "default_ttl": TTL_SECS,
            "max_ttl": "1h",
        })),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (c, url) = (c.clone(), server.url(&format!("database/creds/{role}")));
        tasks.spawn(async move {
            let mut n = 0;
            for _ in (w..LEASES).step_by(WORKERS) {
                let (s, b) = call(&c, "GET", &url, Some(TOKEN), None).await;
                assert_eq!(s, 200, "{b}");
                n += 1;
            }
            n
        });
    }
    let mut issued = 0;
    while let Some(n) = tasks.join_next().await {
        issued += n.unwrap();
    }
    let issuance = started.elapsed();
    assert_eq!(issued, LEASES);
    assert_eq!(roles_like(&role).len(), LEASES);
    // The last lease expires TTL after the last issue; the first TTL after the start.
    let first_expiry = started + Duration::from_secs(TTL_SECS);
    let last_expiry = Instant::now() + Duration::from_secs(TTL_SECS);

    let deadline = last_expiry + Duration::from_secs(120);
    let mut left = LEASES;
    while Instant::now() < deadline {
        left = roles_like(&role).len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let done = Instant::now();
    assert_eq!(left, 0, "users left after every lease expired");
    let (s, b) = call(
        &c,
        "LIST",
        &server.url(&format!("sys/leases/lookup/database/creds/{role}/")),
        t,
        None,
    )
    .await;
    assert!(
        s == 404 || b["data"]["keys"].as_array().is_some_and(|k| k.is_empty()),
        "leases left: {s} {b}"
    );
    eprintln!(
        "MEASURE: {LEASES} creds issued by {WORKERS} clients in {issuance:?} ({:.0}/s); \
         all users dropped {:?} after the first expiry, {:?} after the last",
        LEASES as f64 / issuance.as_secs_f64(),
        done.saturating_duration_since(first_expiry),
        done.saturating_duration_since(last_expiry),
    );
}
