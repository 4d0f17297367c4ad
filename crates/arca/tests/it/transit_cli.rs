//! The transit engine through the real `arca` process: the CLI's generic write
//! (`arca write transit/encrypt/k plaintext=$(base64 <<< x)`), and the HTTP envelope of a
//! partly failed batch (400 with the normal envelope).

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{ARCA, Server, call, client};

const TOKEN: &str = "transit-cli-root";

fn dev() -> Server {
    Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-root-token-id={TOKEN}"),
        ],
        &[],
    )
}

/// Runs `arca <args>` against `addr` with the root token and a private `HOME`.
fn arca(home: &Path, addr: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(ARCA);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_ascii_uppercase();
        if ["ARCA_", "VAULT_", "BAO_"].iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .env("HOME", home)
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", TOKEN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run arca");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn arca_json(home: &Path, addr: &str, args: &[&str]) -> Value {
    let (code, out, err) = arca(home, addr, args);
    assert_eq!(code, 0, "arca {args:?}: {out} {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn generic_write_encrypts_and_decrypts() {
    let server = dev();
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = arca(home.path(), &server.addr, &["secrets", "enable", "transit"]);
    assert_eq!(code, 0, "{out} {err}");
    let key = arca_json(
        home.path(),
        &server.addr,
        &["write", "-format=json", "-f", "transit/keys/k"],
    );
    assert_eq!(key["data"]["type"], "aes256-gcm96");

    // What `$(base64 <<< x)` expands to: "x\n" in base64.
    let plaintext = STANDARD.encode(b"x\n");
    assert_eq!(plaintext, "eAo=");
    let enc = arca_json(
        home.path(),
        &server.addr,
        &[
            "write",
            "-format=json",
            "transit/encrypt/k",
            &format!("plaintext={plaintext}"),
        ],
    );
    let ct = enc["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert!(ct.starts_with("vault:v1:"), "{ct}");
    assert_eq!(enc["data"]["key_version"], 1);

    // The table output, as a person sees it.
    let (code, table, _) = arca(
        home.path(),
        &server.addr,
        &[
            "write",
            "transit/encrypt/k",
            &format!("plaintext={plaintext}"),
        ],
    );
    assert_eq!(code, 0);
    assert!(
        table.contains("ciphertext") && table.contains("vault:v1:"),
        "{table}"
    );

    let dec = arca_json(
        home.path(),
        &server.addr,
        &[
            "write",
            "-format=json",
            "transit/decrypt/k",
            &format!("ciphertext={ct}"),
        ],
    );
    assert_eq!(dec["data"]["plaintext"], plaintext);

    // Rotation through the CLI, then rewrap moves the ciphertext to v2.
    arca_json(
        home.path(),
        &server.addr,
        &["write", "-format=json", "-f", "transit/keys/k/rotate"],
    );
    let re = arca_json(
        home.path(),
        &server.addr,
        &[
            "write",
            "-format=json",
            "transit/rewrap/k",
            &format!("ciphertext={ct}"),
        ],
    );
    assert!(
        re["data"]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v2:")
    );

    // A bad plaintext is a 400, exit code 2 with Vault's message.
    let (code, _, err) = arca(
        home.path(),
        &server.addr,
        &["write", "transit/encrypt/k", "plaintext=!!"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("illegal base64 data at input byte 0"), "{err}");
}

#[tokio::test]
async fn batch_partial_failure_is_a_400_with_the_envelope() {
    let server = dev();
    let c = client();
    let (s, b) = call(
        &c,
        "POST",
        &server.url("sys/mounts/transit"),
        Some(TOKEN),
        Some(json!({"type": "transit"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    // Upsert: the first encrypt creates the key.
    let (s, b) = call(
        &c,
        "POST",
        &server.url("transit/encrypt/k"),
        Some(TOKEN),
        Some(json!({"batch_input": [{"plaintext": "aGVsbG8="}, {"plaintext": "!!", "reference": "r"}]})),
    )
    .await;
    assert_eq!(s, 400);
    for field in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
    ] {
        assert!(b.get(field).is_some(), "{field} missing: {b}");
    }
    assert!(b.get("errors").is_none());
    let res = b["data"]["batch_results"].as_array().unwrap();
    assert!(
        res[0]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v1:")
    );
    assert_eq!(
        res[1],
        json!({"error": "illegal base64 data at input byte 0", "reference": "r"})
    );
    // Verify failures are 200 {"valid": false}.
    let (s, _) = call(
        &c,
        "POST",
        &server.url("transit/keys/ed"),
        Some(TOKEN),
        Some(json!({"type": "ed25519"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &c,
        "POST",
        &server.url("transit/verify/ed"),
        Some(TOKEN),
        Some(json!({"input": "aGVsbG8=", "signature": "vault:v1:AAAA"})),
    )
    .await;
    assert_eq!((s, &b["data"]), (200, &json!({"valid": false})));
    // Non-canonical versions are refused over HTTP too.
    let ct = res[0]["ciphertext"]
        .as_str()
        .unwrap()
        .replace("vault:v1:", "vault:v01:");
    let (s, b) = call(
        &c,
        "POST",
        &server.url("transit/decrypt/k"),
        Some(TOKEN),
        Some(json!({"ciphertext": ct})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["errors"][0],
        "invalid ciphertext: version number could not be decoded"
    );
}
