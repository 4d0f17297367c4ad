//! Named password policies in the database engine, end to end: a connection's
//! `password_policy = "<name>"` makes every issued password (dynamic users, rotate-root)
//! come from `sys/policies/password/<name>`, read through the mount's system view. An
//! unknown name is refused when the connection is written, with a 400 in Vault's shape.

use serde_json::{Value, json};

use crate::database_support::{password_matches, postgres_up, psql, role_exists};
use crate::support::{Server, call, client};

const TOKEN: &str = "database-policies-root";
const LOWER20: &str = "length = 20\nrule \"charset\" {\n  charset = \"abcdefghijklmnopqrstuvwxyz\"\n  min-chars = 20\n}\n";

fn lower20(pw: &str) -> bool {
    pw.len() == 20 && pw.chars().all(|c| c.is_ascii_lowercase())
}

#[tokio::test]
async fn a_named_policy_shapes_issued_passwords() {
    if !postgres_up() {
        return;
    }
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-root-token-id={TOKEN}"),
        ],
        &[],
    );
    let c = client();
    let t = Some(TOKEN);
    let send = |method: &'static str, path: &str, body: Option<Value>| {
        let url = server.url(path);
        let c = c.clone();
        async move { call(&c, method, &url, t, body).await }
    };
    let pid = std::process::id();
    let root_user = format!("arca_pp_root_{pid}");
    psql(&format!(
        "DROP ROLE IF EXISTS \"{root_user}\"; CREATE ROLE \"{root_user}\" LOGIN CREATEROLE PASSWORD 'x'"
    ));

    let (s, b) = send(
        "PUT",
        "sys/policies/password/lower20",
        Some(json!({"policy": LOWER20})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = send(
        "POST",
        "sys/mounts/database",
        Some(json!({"type": "database"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let config = |policy: &str| {
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
            "username": root_user,
            "password": "x",
            "allowed_roles": "*",
            "password_policy": policy,
        })
    };

    // An unknown policy name is a client error at write time, and nothing is stored.
    let (s, b) = send("POST", "database/config/pg", Some(config("no-such-policy"))).await;
    assert_eq!(s, 400, "{b}");
    let msg = b["errors"][0].as_str().unwrap_or_default();
    assert!(msg.contains("password policy not found"), "{b}");
    let (s, _) = send("GET", "database/config/pg", None).await;
    assert_eq!(s, 404);

    let (s, b) = send("POST", "database/config/pg", Some(config("lower20"))).await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let (s, b) = send(
        "POST",
        "database/roles/pp",
        Some(json!({
            "db_name": "pg",
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
            ],
            "default_ttl": "10m",
        })),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let mut users = Vec::new();
    for _ in 0..5 {
        let (s, b) = send("GET", "database/creds/pp", None).await;
        assert_eq!(s, 200, "{b}");
        let user = b["data"]["username"].as_str().unwrap().to_owned();
        let pw = b["data"]["password"].as_str().unwrap().to_owned();
        assert!(lower20(&pw), "password does not follow the policy");
        assert!(role_exists(&user));
        if let Some(py) = arca_test_support::ok_or_skip(arca_test_support::python_env()) {
            assert!(password_matches(&py, &user, &pw));
        }
        users.push(user);
    }

    // rotate-root generates from the same policy (and then only Arca knows it).
    let (s, b) = send("POST", "database/rotate-root/pg", None).await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let (s, b) = send("GET", "database/creds/pp", None).await;
    assert_eq!(s, 200, "Arca still manages users after rotate-root: {b}");
    users.push(b["data"]["username"].as_str().unwrap().to_owned());

    // A policy deleted after the fact: creds fail with a clear client error, no lease.
    let (s, _) = send("DELETE", "sys/policies/password/lower20", None).await;
    assert_eq!(s, 204);
    let (s, b) = send("GET", "database/creds/pp", None).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("password policy not found"),
        "{b}"
    );

    let (s, b) = send("POST", "sys/leases/revoke-prefix/database/creds/pp", None).await;
    assert_eq!(s, 204, "{b}");
    for u in &users {
        assert!(!role_exists(u), "{u} left behind");
    }
    psql(&format!("DROP ROLE IF EXISTS \"{root_user}\""));
}
