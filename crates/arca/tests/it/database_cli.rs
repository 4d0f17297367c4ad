//! The database engine end to end: the real `arca` server driven by the real `bao` CLI,
//! against the machine's PostgreSQL (127.0.0.1:5432, database `test`). Dynamic credentials
//! log in, `bao lease revoke` drops the user, and revoking a token revokes the leases it
//! created. Skips (prints `SKIP:`) without the venv or PostgreSQL, unless
//! `ARCA_TEST_REQUIRE_SERVICES=1`.

use std::time::Duration;

use serde_json::Value;

use crate::compat_common::{arca_dev, bao, bao_json, py};

const TOKEN: &str = "database-e2e-root";

fn postgres_up() -> bool {
    let ok = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
        Duration::from_secs(2),
    )
    .is_ok();
    if !ok {
        arca_test_support::require_or_skip("PostgreSQL is not reachable on 127.0.0.1:5432");
    }
    ok
}

/// Runs `psql` as the local superuser; returns stdout.
fn psql(sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-tAc",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn role_exists(user: &str) -> bool {
    psql(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = '{}'",
        user.replace('\'', "''")
    )) == "1"
}

/// Logs in as `user` with `password` and runs a query.
fn can_login(user: &str, password: &str) -> bool {
    std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            user,
            "-d",
            "test",
            "-tAc",
            "SELECT 1",
        ])
        .env("PGPASSWORD", password)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const CREATE: &str = "creation_statements=CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';";

#[test]
fn dynamic_postgres_credentials_through_the_bao_cli() {
    let Some(py) = py() else { return };
    if !postgres_up() {
        return;
    }
    let server = arca_dev(TOKEN);
    let addr = server.addr.as_str();
    let t = Some(TOKEN);

    let out = bao(&py, addr, t, &["secrets", "enable", "database"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = bao(
        &py,
        addr,
        t,
        &[
            "write",
            "database/config/pg",
            "plugin_name=postgresql-database-plugin",
            "connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
            "username=postgres",
            "password=trusted-anyway",
            "allowed_roles=ro",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = bao(
        &py,
        addr,
        t,
        &[
            "write",
            "database/roles/ro",
            "db_name=pg",
            CREATE,
            "default_ttl=1h",
            "max_ttl=24h",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // The config reads back without its password.
    let cfg = bao_json(
        &py,
        addr,
        t,
        &["read", "-format=json", "database/config/pg"],
        0,
    );
    assert_eq!(cfg["data"]["plugin_name"], "postgresql-database-plugin");
    assert!(cfg["data"]["connection_details"].get("password").is_none());

    let creds = bao_json(
        &py,
        addr,
        t,
        &["read", "-format=json", "database/creds/ro"],
        0,
    );
    let lease_id = creds["lease_id"].as_str().unwrap().to_owned();
    assert!(lease_id.starts_with("database/creds/ro/"), "{lease_id}");
    assert_eq!(creds["renewable"], true);
    assert_eq!(creds["lease_duration"], 3600);
    let user = creds["data"]["username"].as_str().unwrap().to_owned();
    let password = creds["data"]["password"].as_str().unwrap().to_owned();
    assert!(role_exists(&user));
    assert!(can_login(&user, &password));

    // Renewal through sys/leases/renew.
    let renewed = bao_json(
        &py,
        addr,
        t,
        &["lease", "renew", "-format=json", "-increment=2h", &lease_id],
        0,
    );
    assert_eq!(renewed["lease_id"], lease_id.as_str());

    let out = bao(&py, addr, t, &["lease", "revoke", &lease_id]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!role_exists(&user), "lease revocation left the role");
    assert!(!can_login(&user, &password));

    // Revoking a token revokes the leases it created.
    let child = bao_json(
        &py,
        addr,
        t,
        &["token", "create", "-format=json", "-policy=root"],
        0,
    );
    let child_token = child["auth"]["client_token"].as_str().unwrap().to_owned();
    let creds = bao_json(
        &py,
        addr,
        Some(&child_token),
        &["read", "-format=json", "database/creds/ro"],
        0,
    );
    let user2 = creds["data"]["username"].as_str().unwrap().to_owned();
    assert!(role_exists(&user2));
    let out = bao(&py, addr, t, &["token", "revoke", &child_token]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Token revocation may finish in the background.
    let mut gone = false;
    for _ in 0..50 {
        if !role_exists(&user2) {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "revoking the token left its database user");

    // The lease listing no longer has them.
    let list = bao(
        &py,
        addr,
        t,
        &[
            "list",
            "-format=json",
            "sys/leases/lookup/database/creds/ro",
        ],
    );
    if list.code == 0 {
        let v: Value = serde_json::from_str(&list.stdout).unwrap_or(Value::Null);
        assert!(v.as_array().is_none_or(|a| a.is_empty()), "{v}");
    }
}

#[test]
fn static_role_through_the_bao_cli() {
    let Some(py) = py() else { return };
    if !postgres_up() {
        return;
    }
    let server = arca_dev(TOKEN);
    let addr = server.addr.as_str();
    let t = Some(TOKEN);
    let account = format!("arca_e2e_static_{}", std::process::id());
    psql(&format!(
        "DROP ROLE IF EXISTS \"{account}\"; CREATE ROLE \"{account}\" LOGIN PASSWORD 'x'"
    ));

    assert_eq!(
        bao(&py, addr, t, &["secrets", "enable", "database"]).code,
        0
    );
    let out = bao(
        &py,
        addr,
        t,
        &[
            "write",
            "database/config/pg",
            "plugin_name=postgresql-database-plugin",
            "connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:5432/test",
            "username=postgres",
            "password=trusted-anyway",
            "allowed_roles=*",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let role_arg = format!("username={account}");
    let out = bao(
        &py,
        addr,
        t,
        &[
            "write",
            "database/static-roles/app",
            "db_name=pg",
            &role_arg,
            "rotation_period=24h",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let c = bao_json(
        &py,
        addr,
        t,
        &["read", "-format=json", "database/static-creds/app"],
        0,
    );
    assert_eq!(c["data"]["username"], account.as_str());
    assert_eq!(c["data"]["rotation_period"], 86400);
    assert_eq!(c["lease_id"], "");
    let ttl = c["data"]["ttl"].as_i64().unwrap();
    assert!((86390..=86400).contains(&ttl), "{ttl}");
    let p1 = c["data"]["password"].as_str().unwrap().to_owned();
    assert_eq!(
        bao(
            &py,
            addr,
            t,
            &["write", "-force", "database/rotate-role/app"]
        )
        .code,
        0
    );
    let c = bao_json(
        &py,
        addr,
        t,
        &["read", "-format=json", "database/static-creds/app"],
        0,
    );
    assert_ne!(c["data"]["password"].as_str().unwrap(), p1);
    let list = bao_json(
        &py,
        addr,
        t,
        &["list", "-format=json", "database/static-roles"],
        0,
    );
    assert_eq!(list, serde_json::json!(["app"]));
    psql(&format!("DROP ROLE IF EXISTS \"{account}\""));
}
