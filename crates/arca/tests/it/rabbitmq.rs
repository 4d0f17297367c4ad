//! The rabbitmq engine end to end: a real `arca` dev server, enabled with the `arca` CLI and
//! configured over HTTP against the machine's RabbitMQ (management API on 127.0.0.1:15672,
//! AMQP on 5672, guest/guest). An issued user opens a real AMQP connection, declares a
//! queue and publishes to it; after `arca lease revoke`, on lease expiry, and when its
//! parent token is revoked, the user is gone and AMQP refuses it. Skips (prints `SKIP:`)
//! when the management API does not answer, unless `ARCA_TEST_REQUIRE_SERVICES=1`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amqprs::BasicProperties;
use amqprs::channel::{
    BasicGetArguments, BasicPublishArguments, QueueDeclareArguments, QueueDeleteArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use serde_json::{Value, json};

use crate::compat_common::arca_dev;
use crate::support::{ARCA, Server, call, client};

const TOKEN: &str = "rabbitmq-e2e-root";
const MGMT: &str = "http://127.0.0.1:15672";
const VHOSTS: &str = r#"{"/":{"configure":"^arca-e2e-.*","write":"^(arca-e2e-.*|amq\\.default)$","read":"^arca-e2e-.*"}}"#;

fn management_up() -> bool {
    let ok = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], 15672)),
        Duration::from_secs(2),
    )
    .is_ok();
    if !ok {
        arca_test_support::require_or_skip(
            "the RabbitMQ management API is not reachable on 127.0.0.1:15672 (rabbitmq-plugins enable rabbitmq_management)",
        );
    }
    ok
}

/// Runs the `arca` CLI against `server` as root; returns (exit code, stdout + stderr).
fn arca_cli(server: &Server, args: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(ARCA);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_ascii_uppercase();
        if ["ARCA_", "VAULT_", "BAO_"].iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .env("HOME", home.path())
        .env("ARCA_ADDR", &server.addr)
        .env("ARCA_TOKEN", TOKEN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run arca");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Whether the management API knows `user`.
async fn user_exists(http: &reqwest::Client, user: &str) -> bool {
    let status = http
        .get(format!("{MGMT}/api/users/{user}"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert!(status == 200 || status == 404, "GET user: {status}");
    status == 200
}

/// Waits (bounded) until `user` is gone from the management API.
async fn wait_gone(http: &reqwest::Client, user: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !user_exists(http, user).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

async fn open(user: &str, password: &str) -> Result<Connection, String> {
    let args = OpenConnectionArguments::new("127.0.0.1", 5672, user, password);
    tokio::time::timeout(Duration::from_secs(10), Connection::open(&args))
        .await
        .map_err(|_| "AMQP connection timed out".to_owned())?
        .map_err(|e| e.to_string())
}

/// Connects over AMQP to vhost `/`, declares a queue, publishes to it and reads the
/// message back; the error says what failed.
async fn amqp_round_trip(user: &str, password: &str) -> Result<(), String> {
    let conn = open(user, password).await?;
    let ch = conn.open_channel(None).await.map_err(|e| e.to_string())?;
    let queue = format!("arca-e2e-{user}");
    let mut declare = QueueDeclareArguments::new(&queue);
    declare.auto_delete(true);
    ch.queue_declare(declare).await.map_err(|e| e.to_string())?;
    ch.basic_publish(
        BasicProperties::default(),
        b"hello from arca".to_vec(),
        BasicPublishArguments::new("", &queue),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut got = None;
    for _ in 0..50 {
        got = ch
            .basic_get(BasicGetArguments::new(&queue).no_ack(true).finish())
            .await
            .map_err(|e| e.to_string())?;
        if got.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, body) = got.ok_or("the published message never arrived")?;
    if body != b"hello from arca" {
        return Err("the message came back altered".into());
    }
    ch.queue_delete(QueueDeleteArguments::new(&queue))
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// The broker refuses `user` (RabbitMQ drops the socket of a failed login unless the client
/// asked for a `connection.close`), while it still accepts guest: the refusal is about the
/// credentials, not a broken broker.
async fn assert_refused(user: &str, password: &str) {
    let refused = open(user, password).await;
    assert!(refused.is_err(), "a revoked user still connects over AMQP");
    let control = open("guest", "guest")
        .await
        .unwrap_or_else(|e| panic!("the broker refuses guest too: {e}"));
    let _ = control.close().await;
}

/// Enables the engine with the CLI and configures connection and role over HTTP.
async fn setup(http: &reqwest::Client, server: &Server) {
    let (code, out) = arca_cli(server, &["secrets", "enable", "rabbitmq"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rabbitmq"), "{out}");
    let t = Some(TOKEN);
    let (s, b) = call(
        http,
        "PUT",
        &server.url("rabbitmq/config/connection"),
        t,
        Some(json!({"connection_uri": MGMT, "username": "guest", "password": "guest"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        http,
        "PUT",
        &server.url("rabbitmq/roles/app"),
        t,
        Some(json!({"vhosts": VHOSTS, "tags": "management"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
}

fn creds_of(body: &Value) -> (String, String, String) {
    (
        body["lease_id"].as_str().unwrap().to_owned(),
        body["data"]["username"].as_str().unwrap().to_owned(),
        body["data"]["password"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_users_speak_amqp_until_their_lease_is_revoked() {
    if !management_up() {
        return;
    }
    let server = arca_dev(TOKEN);
    let http = client();
    let mgmt = reqwest::Client::new();
    let t = Some(TOKEN);
    setup(&http, &server).await;

    // The role reads back in OpenBao's shape and is listed.
    let (s, b) = call(&http, "GET", &server.url("rabbitmq/roles/app"), t, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["tags"], "management");
    assert_eq!(
        b["data"]["vhosts"],
        serde_json::from_str::<Value>(VHOSTS).unwrap()
    );
    assert_eq!(b["data"]["vhost_topics"], json!({}));
    let (s, b) = call(&http, "LIST", &server.url("rabbitmq/roles"), t, None).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["app"])), "{b}");
    // Bad input is a 400 in Vault's error shape.
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("rabbitmq/roles/bad"),
        t,
        Some(json!({"vhosts": "{nope"})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(b["errors"][0].as_str().unwrap().contains("vhosts"), "{b}");

    let (s, b) = call(&http, "GET", &server.url("rabbitmq/creds/app"), t, None).await;
    assert_eq!(s, 200, "{b}");
    let (lease_id, user, password) = creds_of(&b);
    assert!(lease_id.starts_with("rabbitmq/creds/app/"), "{lease_id}");
    assert_eq!(b["renewable"], true);
    assert!(b["lease_duration"].as_u64().unwrap() > 0, "{b}");
    assert!(user.starts_with("root-"), "{user}");
    assert_eq!(password.len(), 36);
    assert!(user_exists(&mgmt, &user).await);
    amqp_round_trip(&user, &password)
        .await
        .unwrap_or_else(|e| panic!("the issued user could not use AMQP: {e}"));

    // Renewal keeps the user.
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("sys/leases/renew"),
        t,
        Some(json!({"lease_id": lease_id, "increment": "1h"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["lease_id"], lease_id.as_str());
    assert!(user_exists(&mgmt, &user).await);

    // A connection opened before the revocation is closed by it.
    let live = open(&user, &password).await.unwrap();
    let (code, out) = arca_cli(&server, &["lease", "revoke", &lease_id]);
    assert_eq!(code, 0, "{out}");
    // Like `bao lease revoke`, the CLI revokes asynchronously (`-sync` is off): wait.
    assert!(
        wait_gone(&mgmt, &user, Duration::from_secs(15)).await,
        "revocation left the user"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.is_open() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !live.is_open(),
        "the revoked user's open connection survived"
    );
    assert_refused(&user, &password).await;

    // The lease is gone (its record goes right after the user).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, _) = call(
            &http,
            "PUT",
            &server.url("sys/leases/lookup"),
            t,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
        if s == 400 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revoked lease is still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_and_token_revocation_delete_the_user() {
    if !management_up() {
        return;
    }
    let server = arca_dev(TOKEN);
    let http = client();
    let mgmt = reqwest::Client::new();
    let t = Some(TOKEN);
    setup(&http, &server).await;

    // A 2-second lease is revoked on expiry.
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("rabbitmq/config/lease"),
        t,
        Some(json!({"ttl": "2s", "max_ttl": "10s"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(&http, "GET", &server.url("rabbitmq/config/lease"), t, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"], json!({"ttl": 2, "max_ttl": 10}));
    let (s, b) = call(&http, "GET", &server.url("rabbitmq/creds/app"), t, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["lease_duration"], 2, "{b}");
    let (_, user, password) = creds_of(&b);
    amqp_round_trip(&user, &password).await.unwrap();
    assert!(
        wait_gone(&mgmt, &user, Duration::from_secs(20)).await,
        "the expired lease left its user"
    );
    assert_refused(&user, &password).await;

    // Revoking the token that read the creds revokes the user.
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("rabbitmq/config/lease"),
        t,
        Some(json!({"ttl": "1h"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        &http,
        "POST",
        &server.url("auth/token/create"),
        t,
        Some(json!({"policies": ["root"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let child = b["auth"]["client_token"].as_str().unwrap().to_owned();
    let (s, b) = call(
        &http,
        "GET",
        &server.url("rabbitmq/creds/app"),
        Some(&child),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, user, password) = creds_of(&b);
    assert!(user.starts_with("token-"), "{user}");
    amqp_round_trip(&user, &password).await.unwrap();
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("auth/token/revoke"),
        t,
        Some(json!({"token": child})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    assert!(
        wait_gone(&mgmt, &user, Duration::from_secs(20)).await,
        "revoking the token left its user"
    );
    assert_refused(&user, &password).await;
}

/// The same requests against Arca and `bao server -dev` (OpenBao has the engine built in):
/// statuses and bodies match, except where noted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_creds_match_openbao() {
    let Some(py) = crate::compat_common::py() else {
        return;
    };
    if !management_up() {
        return;
    }
    let arca = arca_dev(TOKEN);
    let bao = crate::compat_common::bao_dev(&py, TOKEN);
    let http = client();
    let mgmt = reqwest::Client::new();
    let t = Some(TOKEN);
    let diff = arca_test_support::JsonDiff::new().mask(&[
        "request_id",
        "lease_id",
        "/data/username",
        "/data/password",
    ]);
    let url = |addr: &str, path: &str| format!("{addr}/v1/{path}");
    let addrs = [arca.addr.clone(), bao.addr.clone()];

    // (what, method, path, body, differences known at these pointers)
    type Step = (
        &'static str,
        &'static str,
        &'static str,
        Option<Value>,
        &'static [(&'static str, &'static str)],
    );
    let steps: Vec<Step> = vec![
        (
            "enable",
            "POST",
            "sys/mounts/rabbitmq",
            Some(json!({"type": "rabbitmq"})),
            &[],
        ),
        (
            "configure",
            "PUT",
            "rabbitmq/config/connection",
            Some(json!({"connection_uri": MGMT, "username": "guest", "password": "guest"})),
            &[],
        ),
        (
            "read the connection (write-only)",
            "GET",
            "rabbitmq/config/connection",
            None,
            &[(
                "/errors/0",
                "OpenBao wraps router errors in multierror text (docs/compatibility.md)",
            )],
        ),
        (
            "role without tags or vhosts",
            "PUT",
            "rabbitmq/roles/bad",
            Some(json!({"tags": ""})),
            &[],
        ),
        (
            "role",
            "PUT",
            "rabbitmq/roles/app",
            Some(json!({
                "vhosts": VHOSTS,
                "tags": "management,policymaker",
                "vhost_topics": r#"{"/":{"amq.topic":{"write":"^arca","read":".*"}}}"#,
            })),
            &[],
        ),
        ("read role", "GET", "rabbitmq/roles/app", None, &[]),
        ("list roles", "LIST", "rabbitmq/roles", None, &[]),
        ("read absent role", "GET", "rabbitmq/roles/none", None, &[]),
        (
            "lease config unset",
            "GET",
            "rabbitmq/config/lease",
            None,
            &[],
        ),
        (
            "lease config",
            "PUT",
            "rabbitmq/config/lease",
            Some(json!({"ttl": 600, "max_ttl": "20m"})),
            &[],
        ),
        (
            "read lease config",
            "GET",
            "rabbitmq/config/lease",
            None,
            &[],
        ),
        (
            "creds of an unknown role",
            "GET",
            "rabbitmq/creds/none",
            None,
            &[(
                "/errors/0",
                "Arca does not echo the role name (docs/compatibility.md)",
            )],
        ),
        ("creds", "GET", "rabbitmq/creds/app", None, &[]),
    ];
    let mut creds: Vec<Value> = Vec::new();
    for (what, method, path, body, known) in steps {
        let mut answers = Vec::new();
        for addr in &addrs {
            answers.push(call(&http, method, &url(addr, path), t, body.clone()).await);
        }
        let [(sa, ba), (sb, bb)] = [answers[0].clone(), answers[1].clone()];
        assert_eq!(
            sa, sb,
            "{what}: status arca {sa} ({ba}) vs openbao {sb} ({bb})"
        );
        diff.assert_matches(what, &ba, &bb, known);
        if what == "creds" {
            creds = vec![ba, bb];
        }
    }
    // Both issued users are real and follow the default template; revoking removes them.
    for (addr, c) in addrs.iter().zip(&creds) {
        // `<display name>-<uuid>`; the two servers name their dev root tokens differently.
        let (_, me) = call(&http, "GET", &url(addr, "auth/token/lookup-self"), t, None).await;
        let display = me["data"]["display_name"].as_str().unwrap();
        let user = c["data"]["username"].as_str().unwrap();
        let uuid = user
            .strip_prefix(&format!("{display}-"))
            .unwrap_or_else(|| panic!("{addr}: {user} is not {display}-<uuid>"));
        assert_eq!(uuid.len(), 36, "{user}");
        assert!(user_exists(&mgmt, user).await, "{addr}: {user}");
        let (s, b) = call(
            &http,
            "PUT",
            &url(addr, "sys/leases/revoke"),
            t,
            Some(json!({"lease_id": c["lease_id"]})),
        )
        .await;
        assert_eq!(s, 204, "{addr}: {b}");
        assert!(!user_exists(&mgmt, user).await, "{addr}: {user} survived");
    }
}

/// The management API unreachable when a lease expires: the user stays, the lease stays
/// listed, and the lease manager retries until the API is back, then deletes the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_revocation_is_retried_until_the_api_is_back() {
    if !management_up() {
        return;
    }
    let server = arca_dev(TOKEN);
    let http = client();
    let mgmt = reqwest::Client::new();
    let t = Some(TOKEN);
    setup(&http, &server).await;
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("rabbitmq/config/lease"),
        t,
        Some(json!({"ttl": "2s"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(&http, "GET", &server.url("rabbitmq/creds/app"), t, None).await;
    assert_eq!(s, 200, "{b}");
    let (lease_id, user, _) = creds_of(&b);

    // Point the engine at a closed port: the API is "down" for the engine only.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let configure = |uri: String| {
        let http = http.clone();
        let url = server.url("rabbitmq/config/connection");
        async move {
            call(
                &http,
                "PUT",
                &url,
                Some(TOKEN),
                Some(json!({"connection_uri": uri, "username": "guest",
                            "password": "guest", "verify_connection": false})),
            )
            .await
        }
    };
    let (s, b) = configure(format!("http://127.0.0.1:{closed}")).await;
    assert_eq!(s, 204, "{b}");
    // An explicit revocation fails in Vault's error shape and keeps the lease.
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("sys/leases/revoke"),
        t,
        Some(json!({"lease_id": lease_id})),
    )
    .await;
    assert!(s >= 400, "{s} {b}");
    assert!(b["errors"].is_array(), "{b}");
    // Past expiry, the failing revocation leaves the user and the lease in place.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        user_exists(&mgmt, &user).await,
        "the user vanished while unreachable"
    );
    let (s, b) = call(
        &http,
        "PUT",
        &server.url("sys/leases/lookup"),
        t,
        Some(json!({"lease_id": lease_id})),
    )
    .await;
    assert_eq!(s, 200, "the failing lease was dropped: {b}");

    let (s, b) = configure(MGMT.to_owned()).await;
    assert_eq!(s, 204, "{b}");
    assert!(
        wait_gone(&mgmt, &user, Duration::from_secs(30)).await,
        "the retried revocation never deleted the user"
    );
}
