//! Auto-unseal through another Arca's transit engine, with two real processes: the
//! unsealer (Shamir, embedded storage, transit key `autounseal`) and a node configured
//! with `seal "transit"`. The node is initialised with recovery shares, unseals itself
//! after init and after restarts, stays sealed while the unsealer is down, and unseals
//! once it is back. Seal migrations: Shamir → transit, and transit → transit (another
//! server and key) after which the old key can be destroyed. A transit seal over TLS
//! (`tls_ca_cert`, `tls_server_name`, a client certificate), and a wrong CA that keeps the
//! node sealed with the reason in its log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, KeyPair};
use serde_json::{Value, json};

use crate::support::{ARCA, Server, call, client, init, unseal};

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

/// An `arca -dev` unsealer with a transit mount and the key `key`.
async fn dev_unsealer(c: &reqwest::Client, token: &str, key: &str) -> Server {
    let u = Server::start(
        &[
            "-dev",
            "-dev-listen-address",
            "127.0.0.1:0",
            "-dev-root-token-id",
            token,
        ],
        CLEAN_ENV,
    );
    let (s, b) = call(
        c,
        "POST",
        &u.url("sys/mounts/transit"),
        Some(token),
        Some(json!({"type": "transit"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        c,
        "POST",
        &u.url(&format!("transit/keys/{key}")),
        Some(token),
        Some(json!({})),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");
    u
}

fn transit_block(address: &str, token: &str, key: &str, extra: &str) -> String {
    format!(
        "seal \"transit\" {{\n  address = \"{address}\"\n  token = \"{token}\"\n  key_name = \"{key}\"\n  mount_path = \"transit/\"\n{extra}}}\n"
    )
}

/// Runs `arca operator unseal [-migrate] <key>` against `addr`.
fn cli_unseal(addr: &str, key: &str, migrate: bool) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(ARCA);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_ascii_uppercase();
        if ["ARCA_", "VAULT_", "BAO_"].iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home.path()).env("VAULT_ADDR", addr).args([
        "operator",
        "unseal",
        "-format=json",
    ]);
    if migrate {
        cmd.arg("-migrate");
    }
    let out = cmd.arg(key).stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Vault's procedure for moving between two auto-unseal seals: the old `seal "transit"`
/// block stays, with `disabled = "true"`, beside the new one; the operator unseals with
/// the recovery keys and `-migrate`. Afterwards the node unseals through the new seal
/// alone, with the old key destroyed and its server gone.
#[tokio::test]
async fn migrate_between_two_transit_seals() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let t1 = dev_unsealer(&c, "t1-root", "k1").await;
    let t2 = dev_unsealer(&c, "t2-root", "k2").await;
    let old_block = transit_block(&t1.addr, "t1-root", "k1", "");
    let node_cfg = |seals: &str| write_config(dir.path(), "node", "127.0.0.1:0", seals);

    let cfg = node_cfg(&old_block);
    let node = Server::start(&["-config", &cfg], CLEAN_ENV);
    let (s, b) = call(
        &c,
        "PUT",
        &node.url("sys/init"),
        None,
        Some(json!({"recovery_shares": 3, "recovery_threshold": 2})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let recovery: Vec<String> = b["recovery_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let root = b["root_token"].as_str().unwrap().to_owned();
    wait_unsealed(&c, &node, Duration::from_secs(5)).await;
    let (s, _) = call(
        &c,
        "PUT",
        &node.url("sys/raw/t2t/a"),
        Some(&root),
        Some(json!({"value": "kept"})),
    )
    .await;
    assert_eq!(s, 204);
    node.kill9();

    // Old seal disabled, new seal enabled: sealed, in migration, no auto-unseal.
    let both = format!(
        "{}{}",
        transit_block(&t1.addr, "t1-root", "k1", "  disabled = \"true\"\n"),
        transit_block(&t2.addr, "t2-root", "k2", "")
    );
    let cfg = node_cfg(&both);
    let node = Server::start(&["-config", &cfg], CLEAN_ENV);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (
            st["sealed"].clone(),
            st["migration"].clone(),
            st["type"].clone()
        ),
        (json!(true), json!(true), json!("transit"))
    );
    let (code, out) = cli_unseal(&node.addr, &recovery[0], false);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("migrate option not provided and seal migration is pending"),
        "{out}"
    );
    let (code, out) = cli_unseal(&node.addr, &recovery[2], true);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli_unseal(&node.addr, &recovery[0], true);
    assert_eq!(code, 0, "{out}");
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (
            st["sealed"].clone(),
            st["migration"].clone(),
            st["type"].clone(),
            st["t"].clone(),
            st["n"].clone()
        ),
        (
            json!(false),
            json!(false),
            json!("transit"),
            json!(2),
            json!(3)
        )
    );
    node.kill9();

    // The old key is destroyed on T1, then T1 itself goes away.
    let (s, b) = call(
        &c,
        "POST",
        &t1.url("transit/keys/k1/config"),
        Some("t1-root"),
        Some(json!({"deletion_allowed": true})),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let (s, b) = call(
        &c,
        "DELETE",
        &t1.url("transit/keys/k1"),
        Some("t1-root"),
        None,
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = call(&c, "GET", &t1.url("transit/keys/k1"), Some("t1-root"), None).await;
    assert_eq!(s, 404);
    t1.kill9();

    // Only the new seal: the node unseals itself with its data.
    let cfg = node_cfg(&transit_block(&t2.addr, "t2-root", "k2", ""));
    let node = Server::start(&["-config", &cfg], CLEAN_ENV);
    wait_unsealed(&c, &node, Duration::from_secs(10)).await;
    let (s, b) = call(&c, "GET", &node.url("sys/raw/t2t/a"), Some(&root), None).await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));
    // The recovery shares are the same ones.
    let (s, _) = call(&c, "PUT", &node.url("sys/seal"), Some(&root), None).await;
    assert_eq!(s, 204);
    let st = unseal(&c, &node, &recovery[..2]).await;
    assert_eq!(st["sealed"], json!(false));
}

struct Pem {
    cert: String,
    key: String,
}

fn self_signed(names: &[&str]) -> Pem {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// `arca server -config <cfg>` with its log (stderr) in `log`, for the reason it gives.
fn start_logged(cfg: &str, log: &Path) -> Server {
    let mut cmd = Command::new(ARCA);
    cmd.args(["server", "-config", cfg])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in CLEAN_ENV {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(a) = line.trim().strip_prefix("Api Address: ") {
            addr = Some(a.to_owned());
        }
        let started = line.contains("Arca server started");
        lines.push(line);
        if started {
            break;
        }
    }
    Server {
        child,
        addr: addr.unwrap_or_else(|| panic!("server did not start: {lines:#?}")),
        stdout_lines: lines,
    }
}

/// The unsealer serves only HTTPS, with a certificate for `transit.arca.test` (not for
/// 127.0.0.1): the node trusts it through `tls_ca_cert` and checks the name through
/// `tls_server_name`, presenting a client certificate. A node given another CA stays
/// sealed and logs that the certificate was refused.
#[tokio::test]
async fn transit_seal_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server_pem = self_signed(&["transit.arca.test"]);
    let other_ca = self_signed(&["transit.arca.test"]);
    let client_pem = self_signed(&["arca-node"]);
    for (name, text) in [
        ("server.pem", &server_pem.cert),
        ("server-key.pem", &server_pem.key),
        ("other-ca.pem", &other_ca.cert),
        ("client.pem", &client_pem.cert),
        ("client-key.pem", &client_pem.key),
    ] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let path = |n: &str| d.join(n).display().to_string();
    let u_cfg = d.join("unsealer.hcl");
    std::fs::write(
        &u_cfg,
        format!(
            "storage \"inmem\" {{}}\ndisable_mlock = true\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            path("server.pem"),
            path("server-key.pem")
        ),
    )
    .unwrap();
    let unsealer = Server::start(&["-config", u_cfg.to_str().unwrap()], CLEAN_ENV);
    assert!(
        unsealer.addr.starts_with("https://127.0.0.1:"),
        "{}",
        unsealer.addr
    );
    // The test's own client connects by name, resolved to the unsealer's port.
    let port: u16 = unsealer.addr.rsplit(':').next().unwrap().parse().unwrap();
    let tc = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(server_pem.cert.as_bytes()).unwrap()])
        .resolve("transit.arca.test", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let u_url = |p: &str| format!("https://transit.arca.test:{port}/v1/{p}");
    let (s, b) = call(
        &tc,
        "PUT",
        &u_url("sys/init"),
        None,
        Some(json!({"secret_shares": 1, "secret_threshold": 1})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let u_root = b["root_token"].as_str().unwrap().to_owned();
    let (s, b) = call(
        &tc,
        "PUT",
        &u_url("sys/unseal"),
        None,
        Some(json!({"key": b["keys"][0]})),
    )
    .await;
    assert_eq!((s, b["sealed"].clone()), (200, json!(false)), "{b}");
    let (s, b) = call(
        &tc,
        "POST",
        &u_url("sys/mounts/transit"),
        Some(&u_root),
        Some(json!({"type": "transit"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(
        &tc,
        "POST",
        &u_url("transit/keys/autounseal"),
        Some(&u_root),
        Some(json!({})),
    )
    .await;
    assert!(s == 200 || s == 204, "{s} {b}");

    let tls_block = |ca: &str| {
        transit_block(
            &format!("https://127.0.0.1:{port}"),
            &u_root,
            "autounseal",
            &format!(
                "  tls_ca_cert = \"{}\"\n  tls_server_name = \"transit.arca.test\"\n  tls_client_cert = \"{}\"\n  tls_client_key = \"{}\"\n",
                path(ca),
                path("client.pem"),
                path("client-key.pem")
            ),
        )
    };
    let good_cfg = write_config(d, "node", "127.0.0.1:0", &tls_block("server.pem"));
    let node = Server::start(&["-config", &good_cfg], CLEAN_ENV);
    let c = client();
    let (s, b) = call(
        &c,
        "PUT",
        &node.url("sys/init"),
        None,
        Some(json!({"recovery_shares": 1, "recovery_threshold": 1})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let root = b["root_token"].as_str().unwrap().to_owned();
    wait_unsealed(&c, &node, Duration::from_secs(5)).await;
    let (s, _) = call(
        &c,
        "PUT",
        &node.url("sys/raw/tls/a"),
        Some(&root),
        Some(json!({"value": "kept"})),
    )
    .await;
    assert_eq!(s, 204);
    node.kill9();

    // Restarted: unseals itself over TLS.
    let node = Server::start(&["-config", &good_cfg], CLEAN_ENV);
    wait_unsealed(&c, &node, Duration::from_secs(10)).await;
    let (s, b) = call(&c, "GET", &node.url("sys/raw/tls/a"), Some(&root), None).await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));
    node.kill9();

    // Another CA: the handshake fails, the node stays sealed and says why.
    let bad_cfg = write_config(d, "node", "127.0.0.1:0", &tls_block("other-ca.pem"));
    let log = d.join("node.log");
    let node = start_logged(&bad_cfg, &log);
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("auto-unseal failed") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        text.contains("TLS handshake failed: the server certificate was not accepted"),
        "{text}"
    );
    assert!(!text.contains(&u_root), "the token must not be logged");
    let st = seal_status(&c, &node).await;
    assert_eq!(
        (st["initialized"].clone(), st["sealed"].clone()),
        (json!(true), json!(true))
    );
}
