//! Auto-unseal through another Arca's transit engine, with two real processes: the
//! unsealer (Shamir, embedded storage, transit key `autounseal`) and a node configured
//! with `seal "transit"`. The node is initialised with recovery shares, unseals itself
//! after init and after restarts, stays sealed while the unsealer is down, and unseals
//! once it is back.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, call, client, init, unseal};

/// Seal settings come from the block only: the environment would take precedence.
const CLEAN_ENV: &[(&str, &str)] = &[
    ("BAO_ADDR", ""),
    ("VAULT_ADDR", ""),
    ("BAO_TOKEN", ""),
    ("VAULT_TOKEN", ""),
    ("VAULT_TRANSIT_SEAL_KEY_NAME", ""),
    ("VAULT_TRANSIT_SEAL_MOUNT_PATH", ""),
    ("BAO_NAMESPACE", ""),
    ("VAULT_NAMESPACE", ""),
];

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn write_config(dir: &Path, name: &str, address: &str, extra: &str) -> String {
    let path = dir.join(format!("{name}.hcl"));
    let db = dir.join(format!("{name}.db"));
    let text = format!(
        "storage \"embedded\" {{\n  path = \"{}\"\n}}\nlistener \"tcp\" {{\n  address = \"{address}\"\n  tls_disable = true\n}}\ndisable_mlock = true\nraw_storage_endpoint = true\n{extra}\n",
        db.display()
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn seal_status(c: &reqwest::Client, s: &Server) -> Value {
    let (code, b) = call(c, "GET", &s.url("sys/seal-status"), None, None).await;
    assert_eq!(code, 200, "{b}");
    b
}

/// Polls seal-status until unsealed; returns how long it took.
async fn wait_unsealed(c: &reqwest::Client, s: &Server, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if seal_status(c, s).await["sealed"] == json!(false) {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not unsealed within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn transit_auto_unseal_across_restarts_and_unsealer_outage() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();

    // The unsealer: a Shamir node on a fixed port, so the sealed node can find it again.
    let port = free_port();
    let u_cfg = write_config(dir.path(), "unsealer", &format!("127.0.0.1:{port}"), "");
    let unsealer = Server::start(&["-config", &u_cfg], CLEAN_ENV);
    let (u_keys, u_root) = init(&c, &unsealer, 1, 1).await;
    unseal(&c, &unsealer, &u_keys).await;
    let (s, b) = call(
        &c,
        "POST",
        &unsealer.url("sys/mounts/transit"),
        Some(&u_root),
        Some(json!({"type": "transit"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        &c,
        "POST",
        &unsealer.url("transit/keys/autounseal"),
        Some(&u_root),
        Some(json!({})),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");

    // The node with a transit seal.
    let seal_block = format!(
        "seal \"transit\" {{\n  address = \"http://127.0.0.1:{port}\"\n  token = \"{u_root}\"\n  key_name = \"autounseal\"\n  mount_path = \"transit/\"\n}}"
    );
    let n_cfg = write_config(dir.path(), "node", "127.0.0.1:0", &seal_block);
    let node = Server::start(&["-config", &n_cfg], CLEAN_ENV);
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (
            st["type"].clone(),
            st["recovery_seal"].clone(),
            st["initialized"].clone()
        ),
        (json!("transit"), json!(true), json!(false))
    );

    let (s, b) = call(
        &c,
        "PUT",
        &node.url("sys/init"),
        None,
        Some(json!({"recovery_shares": 3, "recovery_threshold": 2})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["keys"], json!([]));
    assert_eq!(b["keys_base64"], json!([]));
    let recovery: Vec<String> = b["recovery_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 3);
    assert_eq!(b["recovery_keys_base64"].as_array().unwrap().len(), 3);
    let root = b["root_token"].as_str().unwrap().to_owned();

    // Unsealed right after init, through the seal.
    wait_unsealed(&c, &node, Duration::from_secs(5)).await;
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (
            st["type"].clone(),
            st["recovery_seal"].clone(),
            st["recovery_seal_type"].clone(),
            st["t"].clone(),
            st["n"].clone()
        ),
        (
            json!("transit"),
            json!(true),
            json!("shamir"),
            json!(2),
            json!(3)
        )
    );
    let (s, _) = call(
        &c,
        "PUT",
        &node.url("sys/raw/autounseal/a"),
        Some(&root),
        Some(json!({"value": "kept"})),
    )
    .await;
    assert_eq!(s, 204);

    // Killed and restarted: unseals itself.
    node.kill9();
    let node = Server::start(&["-config", &n_cfg], CLEAN_ENV);
    wait_unsealed(&c, &node, Duration::from_secs(10)).await;
    let (s, b) = call(
        &c,
        "GET",
        &node.url("sys/raw/autounseal/a"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));

    // Sealed by an operator: recovery shares reopen it (through the seal).
    let (s, _) = call(&c, "PUT", &node.url("sys/seal"), Some(&root), None).await;
    assert_eq!(s, 204);
    assert_eq!(seal_status(&c, &node).await["sealed"], json!(true));
    // A wrong share set is refused.
    let (s, _) = call(
        &c,
        "PUT",
        &node.url("sys/unseal"),
        None,
        Some(json!({"key": recovery[0]})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &c,
        "PUT",
        &node.url("sys/unseal"),
        None,
        Some(json!({"key": u_keys[0]})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(seal_status(&c, &node).await["sealed"], json!(true));
    let st = unseal(&c, &node, &recovery[1..3]).await;
    assert_eq!(st["sealed"], json!(false));

    // The unsealer goes down, then the node restarts: it serves, sealed, and waits.
    node.kill9();
    unsealer.kill9();
    let node = Server::start(&["-config", &n_cfg], CLEAN_ENV);
    for _ in 0..10 {
        let st = seal_status(&c, &node).await;
        assert_eq!(
            (st["initialized"].clone(), st["sealed"].clone()),
            (json!(true), json!(true))
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (s, b) = call(
        &c,
        "GET",
        &node.url("sys/raw/autounseal/a"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((s, b), (503, json!({"errors": ["Vault is sealed"]})));

    // The unsealer comes back (and is unsealed by its operator): the node follows.
    let unsealer = Server::start(&["-config", &u_cfg], CLEAN_ENV);
    unseal(&c, &unsealer, &u_keys).await;
    let took = wait_unsealed(&c, &node, Duration::from_secs(45)).await;
    eprintln!("node unsealed {took:?} after the unsealer came back");
    let (s, b) = call(
        &c,
        "GET",
        &node.url("sys/raw/autounseal/a"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));
}

/// `arca operator unseal -migrate` over HTTP: a Shamir node moves to the transit seal;
/// its unseal shares become its recovery shares; restarts then unseal by themselves.
#[tokio::test]
async fn migrate_a_shamir_node_to_the_transit_seal() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let unsealer = Server::start(
        &[
            "-dev",
            "-dev-listen-address",
            "127.0.0.1:0",
            "-dev-root-token-id",
            "u-root",
        ],
        CLEAN_ENV,
    );
    let (s, b) = call(
        &c,
        "POST",
        &unsealer.url("sys/mounts/transit"),
        Some("u-root"),
        Some(json!({"type": "transit"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = call(
        &c,
        "POST",
        &unsealer.url("transit/keys/autounseal"),
        Some("u-root"),
        Some(json!({})),
    )
    .await;
    assert!(s == 200 || s == 204);

    // A Shamir node with data.
    let shamir_cfg = write_config(dir.path(), "node", "127.0.0.1:0", "");
    let node = Server::start(&["-config", &shamir_cfg], CLEAN_ENV);
    let (keys, root) = init(&c, &node, 3, 2).await;
    unseal(&c, &node, &keys[..2]).await;
    let (s, _) = call(
        &c,
        "PUT",
        &node.url("sys/raw/migrated/a"),
        Some(&root),
        Some(json!({"value": "kept"})),
    )
    .await;
    assert_eq!(s, 204);
    node.kill9();

    // Restarted with a transit seal: migration pending until unsealed with migrate=true.
    let seal_block = format!(
        "seal \"transit\" {{\n  address = \"{}\"\n  token = \"u-root\"\n  key_name = \"autounseal\"\n  mount_path = \"transit/\"\n}}",
        unsealer.addr
    );
    let transit_cfg = write_config(dir.path(), "node", "127.0.0.1:0", &seal_block);
    let node = Server::start(&["-config", &transit_cfg], CLEAN_ENV);
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (st["sealed"].clone(), st["migration"].clone()),
        (json!(true), json!(true))
    );
    let (s, b) = call(
        &c,
        "PUT",
        &node.url("sys/unseal"),
        None,
        Some(json!({"key": keys[0]})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    for k in &keys[1..3] {
        let (s, b) = call(
            &c,
            "PUT",
            &node.url("sys/unseal"),
            None,
            Some(json!({"key": k, "migrate": true})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (
            st["sealed"].clone(),
            st["type"].clone(),
            st["migration"].clone(),
            st["t"].clone()
        ),
        (json!(false), json!("transit"), json!(false), json!(2))
    );
    node.kill9();

    // From now on the node unseals itself, and the old shares are recovery shares.
    let node = Server::start(&["-config", &transit_cfg], CLEAN_ENV);
    wait_unsealed(&c, &node, Duration::from_secs(10)).await;
    let (s, b) = call(
        &c,
        "GET",
        &node.url("sys/raw/migrated/a"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));
    let (s, _) = call(&c, "PUT", &node.url("sys/seal"), Some(&root), None).await;
    assert_eq!(s, 204);
    let st = unseal(&c, &node, &[keys[2].clone(), keys[0].clone()]).await;
    assert_eq!(st["sealed"], json!(false));
}
